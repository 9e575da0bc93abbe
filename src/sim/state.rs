//! The simulator's shared state (world, sessions, stats, faults, RNG), change
//! notification, and atomic persistence to the optional state file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::faults::Faults;
use super::index::WorldIndex;
use super::options::{LogLayout, ResultStyle, SimOptions, StateNames, TimeScale};
use super::session::Session;
use super::stats::SimStats;
use super::world::World;

/// The per-instance settings handlers need (the options minus TLS and listen address).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub api_user: String,
    pub api_token: String,
    pub result_style: ResultStyle,
    pub state_names: StateNames,
    pub blocking_logs: bool,
    pub time_scale: TimeScale,
    pub state_file: Option<PathBuf>,
}

/// What a state file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Persisted {
    /// The world as it is now.
    pub world: World,
    /// Every session with its items and logs.
    pub sessions: BTreeMap<String, Session>,
}

/// Mutable state, behind one mutex that is never held across an await.
pub(crate) struct Inner {
    pub world: World,
    /// Indexed lookups into `world` for the item steps.
    pub index: WorldIndex,
    pub sessions: BTreeMap<String, Session>,
    pub stats: SimStats,
    pub faults: Faults,
    pub rng: StdRng,
    /// Given to each new session, which writes all its logs in it.
    pub log_layout: LogLayout,
    /// Keys left out of every module's schema and refused on enqueue (an older server).
    pub schema_lacks: Vec<String>,
}

/// A running master process of a session.
pub(crate) struct Runner {
    pub cancel: watch::Sender<bool>,
    pub task: JoinHandle<()>,
}

/// Shared by the server, the handlers and the runners.
pub(crate) struct Shared {
    pub config: Config,
    inner: Mutex<Inner>,
    /// Bumped after every change; log waiters, workers and the persister watch it.
    pub changed: watch::Sender<u64>,
    pub runners: Mutex<HashMap<String, Runner>>,
}

impl Shared {
    /// Builds the state; loads the state file instead of `world` when it exists.
    pub fn new(world: World, opts: &SimOptions) -> std::io::Result<Arc<Self>> {
        let (world, sessions) = match &opts.state_file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path)?;
                let p: Persisted = serde_json::from_str(&text)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                (p.world, p.sessions)
            }
            _ => (world, BTreeMap::new()),
        };
        Ok(Arc::new(Self {
            config: Config {
                api_user: opts.api_user.clone(),
                api_token: opts.api_token.clone(),
                result_style: opts.result_style,
                state_names: opts.state_names,
                blocking_logs: opts.blocking_logs,
                time_scale: opts.time_scale,
                state_file: opts.state_file.clone(),
            },
            inner: Mutex::new(Inner {
                index: WorldIndex::build(&world),
                world,
                sessions,
                stats: SimStats::default(),
                faults: opts.faults.clone(),
                rng: StdRng::seed_from_u64(opts.seed),
                log_layout: opts.log_layout,
                schema_lacks: opts.schema_lacks.clone(),
            }),
            changed: watch::channel(0).0,
            runners: Mutex::new(HashMap::new()),
        }))
    }

    /// Locks the state.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Signals a change.
    pub fn touch(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Whether a master process is alive for the session.
    pub fn alive(&self, id: &str) -> bool {
        self.runners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .is_some_and(|r| !r.task.is_finished())
    }

    /// Stops a master process at once (its workers die with it).
    pub fn kill(&self, id: &str) {
        let runner = self
            .runners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
        if let Some(r) = runner {
            r.task.abort();
        }
    }

    /// Signals a session's workers to stop at once (abort).
    pub fn cancel(&self, id: &str) {
        if let Some(r) = self
            .runners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
        {
            r.cancel.send_replace(true);
        }
    }

    /// A snapshot for persistence.
    pub fn snapshot(&self) -> Persisted {
        let inner = self.lock();
        Persisted {
            world: inner.world.clone(),
            sessions: inner.sessions.clone(),
        }
    }

    /// Writes the state file now (atomically: temp file + rename), if one is configured.
    pub fn persist(&self) -> std::io::Result<()> {
        let Some(path) = &self.config.state_file else {
            return Ok(());
        };
        write_atomic(path, &serde_json::to_vec(&self.snapshot())?)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Persists shortly after changes until the sender side is dropped.
pub(crate) async fn persister(shared: Arc<Shared>) {
    if shared.config.state_file.is_none() {
        return;
    }
    let mut rx = shared.changed.subscribe();
    while rx.changed().await.is_ok() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        rx.mark_unchanged();
        if let Err(e) = shared.persist() {
            tracing::warn!(error = %e, "simulator: cannot write the state file");
        }
    }
}
