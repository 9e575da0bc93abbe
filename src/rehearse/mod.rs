//! Rehearsal: tomorrow's migration played tonight on an embedded simulator whose world
//! is built from the real observed state, through the same observe, diff and executor
//! code `apply` uses, with faults on request and a predicted makespan in real time.
//!
//! Nothing here talks to the real destination: the caller observes it (as `plan` does)
//! and hands over the [`Observed`] state. The rehearsal keeps its own journal in a
//! separate state directory, so a later real `apply` never sees it.

pub mod faults;
pub mod narrate;
pub mod scale;
pub mod world;

use crate::apply::execute::{Context, SourceRun, UserAccess, execute};
use crate::apply::monitor::Watcher;
use crate::apply::poll::PollPolicy;
use crate::journal::{Journal, JournalError, JournalHandle, StateDir};
use crate::plan::observe::{ObserveError, SourceAccess, observe};
use crate::plan::{Desired, Observed, Plan, diff};
use crate::sim::{Persisted, SimHandle, SimOptions, Simulator};
use crate::whm::{ClientOptions, RetryPolicy, Timeouts, TlsMode, WhmClient};
use faults::{FaultPlan, SessionEvent};
use scale::Scale;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Errors setting a rehearsal up.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RehearseError {
    /// The embedded simulator could not start.
    #[error("cannot start the rehearsal's simulator: {0}")]
    Simulator(String),
    /// The rehearsal's own state could not be written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Journal(#[from] JournalError),
    /// Observing the simulated world failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Observe(#[from] ObserveError),
}

/// How to rehearse.
#[derive(Debug, Clone)]
pub struct Options {
    /// The rehearsal's own state directory (never the real migration's).
    pub state: StateDir,
    /// The time scale.
    pub scale: Scale,
    /// The faults to inject, if any.
    pub faults: Option<FaultPlan>,
    /// The root sources' session requests, with the rehearsal's password.
    pub roots: Vec<SourceAccess>,
    /// The user sources' session requests, with the rehearsal's password.
    pub users: Vec<UserAccess>,
    /// Enqueue calls in flight per session, as apply would send them.
    pub enqueues_per_session: usize,
}

/// One run of the executor against the simulated world (a rehearsal re-runs after a
/// fault stopped a run, like an operator would).
#[derive(Debug)]
pub struct Round {
    /// The plan the round executed (made against the simulated world).
    pub plan: Plan,
    /// What happened per source, as `apply` reports it.
    pub runs: Vec<SourceRun>,
    /// Per source: how long its session(s) ran, in simulated time.
    pub simulated: Vec<Option<Duration>>,
    /// From the first session running to the last one ending, in simulated time.
    pub simulated_overall: Option<Duration>,
    /// The session-level fault that struck during this round, if any.
    pub event: Option<SessionEvent>,
}

impl Round {
    /// Whether a fault stopped the round before it ran to the end, so an operator would
    /// run `apply` again.
    pub fn needs_rerun(&self) -> bool {
        self.runs.iter().any(|r| {
            r.error.is_some()
                || r.followed.as_ref().is_some_and(|f| {
                    matches!(
                        f.state,
                        crate::domain::SessionState::Aborted | crate::domain::SessionState::Failed
                    )
                })
        })
    }
}

/// The simulator, replaceable while the executor runs (a destination restart).
struct Slot {
    handle: tokio::sync::Mutex<Option<SimHandle>>,
    options: SimOptions,
}

/// A rehearsal in progress: the simulator, a client for it and the rehearsal's journal.
pub struct Rehearsal {
    slot: Arc<Slot>,
    client: WhmClient,
    journal: Arc<JournalHandle>,
    roots: Vec<SourceAccess>,
    users: Vec<UserAccess>,
    faults: Option<FaultPlan>,
    event_pending: bool,
    enqueues_per_session: usize,
}

impl Rehearsal {
    /// Builds the world from `observed`, starts the simulator and opens a fresh journal
    /// in the rehearsal's state directory (an earlier rehearsal's is discarded).
    pub async fn start(
        desired: &Desired,
        observed: &Observed,
        options: Options,
    ) -> Result<Self, RehearseError> {
        let world = world::world_from_observed(desired, observed);
        options.state.ensure()?;
        let state_file = options
            .state
            .dir()
            .join(format!("{}.sim-world.json", desired.migration));
        // An earlier rehearsal's world, if any: absent is as good as removed.
        let _ = std::fs::remove_file(&state_file);
        let token = crate::sim::random_token();
        let sim_options = SimOptions {
            api_token: token.clone(),
            time_scale: options.scale.time_scale(),
            faults: options
                .faults
                .as_ref()
                .map(|f| f.faults.clone())
                .unwrap_or_default(),
            seed: options.faults.as_ref().map_or(0, |f| f.seed),
            state_file: Some(state_file),
            ..SimOptions::default()
        };
        let handle = Simulator::start(world, sim_options.clone())
            .await
            .map_err(|e| RehearseError::Simulator(e.to_string()))?;
        let addr = handle.addr();
        let client = WhmClient::new(ClientOptions {
            base_url: handle.base_url(),
            user: "root".to_owned(),
            token: SecretString::from(token),
            tls: TlsMode::SystemRoots,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
        })
        .map_err(|e| RehearseError::Simulator(e.to_string()))?;
        let journal = JournalHandle::with(options.state, Journal::default());
        journal.commit(|_| ())?;
        let event_pending = options.faults.as_ref().is_some_and(|f| f.event.is_some());
        Ok(Self {
            slot: Arc::new(Slot {
                handle: tokio::sync::Mutex::new(Some(handle)),
                options: SimOptions {
                    listen: addr,
                    ..sim_options
                },
            }),
            client,
            journal: Arc::new(journal),
            roots: options.roots,
            users: options.users,
            faults: options.faults,
            enqueues_per_session: options.enqueues_per_session,
            event_pending,
        })
    }

    /// Observes the simulated world exactly as `plan` observes a real one, and diffs.
    pub async fn plan(&self, desired: &Desired) -> Result<Plan, RehearseError> {
        let observed = observe(
            &self.client,
            desired,
            &self.roots,
            &self.journal,
            "rehearse",
            false,
        )
        .await?;
        Ok(diff(desired, &observed))
    }

    /// Runs `apply`'s executor over `plan`, measuring each session's run on the
    /// simulator and striking the seeded session-level fault when its moment comes.
    pub async fn execute(
        &mut self,
        desired: &Desired,
        plan: Plan,
        watchers: Vec<Box<dyn Watcher + Send>>,
    ) -> Round {
        let (stop_tx, stop_rx) = watch::channel(false);
        let event = self
            .faults
            .as_ref()
            .and_then(|f| f.event)
            .filter(|_| self.event_pending);
        let driver = tokio::spawn(drive(
            self.slot.clone(),
            self.client.clone(),
            self.journal.clone(),
            desired.sources.iter().map(|s| s.name.clone()).collect(),
            event,
            stop_rx,
        ));
        let cx = Context {
            client: &self.client,
            journal: &self.journal,
            policy: PollPolicy::default(),
            enqueues_per_session: self.enqueues_per_session,
        };
        let runs = execute(cx, desired, &plan, &self.users, watchers).await;
        stop_tx.send_replace(true);
        let measured = driver.await.unwrap_or_default();
        if measured.fired.is_some() {
            self.event_pending = false;
        }
        Round {
            simulated: measured.per_source,
            simulated_overall: measured.overall,
            event: measured.fired,
            plan,
            runs,
        }
    }

    /// Stops the simulator and returns the world as the rehearsal left it (also kept in
    /// the rehearsal's state directory).
    pub async fn finish(self) -> Option<Persisted> {
        let handle = self.slot.handle.lock().await.take()?;
        Some(handle.shutdown().await)
    }
}

#[derive(Debug, Default)]
struct Measured {
    per_source: Vec<Option<Duration>>,
    overall: Option<Duration>,
    fired: Option<SessionEvent>,
}

/// How often the driver looks at the simulator (in-process, no HTTP).
const SAMPLE: Duration = Duration::from_millis(1);

/// When the driver saw a session run: its source, first seen running, first seen ended.
type Seen = BTreeMap<String, (usize, Option<Instant>, Option<Instant>)>;

/// Samples every source's session state on the simulator until told to stop, and
/// strikes `event` once enough restores completed.
async fn drive(
    slot: Arc<Slot>,
    client: WhmClient,
    journal: Arc<JournalHandle>,
    sources: Vec<String>,
    event: Option<(SessionEvent, u64)>,
    mut stop: watch::Receiver<bool>,
) -> Measured {
    let mut seen = Seen::new();
    let mut pending = event;
    let mut fired = None;
    loop {
        journal.read(|j| {
            for (i, name) in sources.iter().enumerate() {
                if let Some(s) = j.sources.get(name).and_then(|r| r.session.as_ref()) {
                    seen.entry(s.id.clone()).or_insert((i, None, None));
                }
            }
        });
        let restores = sample(&slot, &mut seen, pending.is_some()).await;
        if let Some((what, after)) = pending
            && restores >= after.max(1)
            && let Some(id) = seen
                .iter()
                .find(|(_, (_, r, e))| r.is_some() && e.is_none())
                .map(|(id, _)| id.clone())
        {
            strike(&slot, &client, &id, what).await;
            pending = None;
            fired = Some(what);
        }
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(SAMPLE) => {}
            _ = stop.changed() => {}
        }
    }
    measured(&seen, sources.len(), fired)
}

/// Notes when each seen session first runs and first ends; returns the restores done
/// so far when `count_restores`.
async fn sample(slot: &Slot, seen: &mut Seen, count_restores: bool) -> u64 {
    use crate::sim::session::SessionState as S;
    let handle = slot.handle.lock().await;
    let Some(h) = handle.as_ref() else {
        return 0;
    };
    let now = Instant::now();
    for (id, (_, running, ended)) in seen.iter_mut() {
        match h.session(id) {
            Some(S::Running | S::Pausing | S::Aborting) if running.is_none() => {
                *running = Some(now);
            }
            Some(S::Completed | S::Aborted | S::Failed | S::Paused)
                if running.is_some() && ended.is_none() =>
            {
                *ended = Some(now);
            }
            _ => {}
        }
    }
    if count_restores {
        h.stats().item_restores.values().sum::<u64>()
    } else {
        0
    }
}

/// Per source, how long its sessions ran; overall, from the first running to the last
/// ended.
fn measured(seen: &Seen, sources: usize, fired: Option<SessionEvent>) -> Measured {
    let mut per_source = vec![None; sources];
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    for (i, running, ended) in seen.values() {
        if let (Some(r), Some(e)) = (running, ended) {
            let d = e.saturating_duration_since(*r);
            let slot: &mut Option<Duration> = &mut per_source[*i];
            *slot = Some(slot.unwrap_or_default() + d);
            first = Some(first.map_or(*r, |f| f.min(*r)));
            last = Some(last.map_or(*e, |l| l.max(*e)));
        }
    }
    Measured {
        per_source,
        overall: first.zip(last).map(|(f, l)| l.saturating_duration_since(f)),
        fired,
    }
}

/// Acts on the running session `id` from outside the migration: as someone in WHM's
/// interface would, through the same API functions.
async fn strike(slot: &Slot, client: &WhmClient, id: &str, what: SessionEvent) {
    match what {
        SessionEvent::Pause => {
            // A fault the rehearsal injects; if it misses, the run simply goes on.
            let _ = client.pause_transfer_session(id).await;
        }
        SessionEvent::Abort => {
            // A fault the rehearsal injects; if it misses, the run simply goes on.
            let _ = client.abort_transfer_session(id).await;
        }
        SessionEvent::Restart => {
            let mut handle = slot.handle.lock().await;
            if let Some(h) = handle.take() {
                // The restart: the state file keeps what matters; the returned copy is not needed.
                let _ = h.shutdown().await;
            }
            // The persisted state file brings the world and its sessions back.
            *handle = Simulator::start(crate::sim::World::default(), slot.options.clone())
                .await
                .ok();
        }
    }
}

/// Where `plan --out PLAN.json` keeps the observed state: `PLAN.observed.json`.
pub fn observed_path(plan: &std::path::Path) -> std::path::PathBuf {
    let stem = plan
        .file_stem()
        .map_or_else(|| "plan".into(), |s| s.to_string_lossy().into_owned());
    plan.with_file_name(format!("{stem}.observed.json"))
}

/// The observed state as saved beside a plan (no secrets: inventories and analyses).
pub fn observed_json(observed: &Observed) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(observed).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
