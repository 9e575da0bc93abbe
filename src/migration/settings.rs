//! A loaded manifest turned into what the migration needs: a client for the destination
//! (a real server or the embedded simulator), the desired state, and the credentials
//! per source. Written once; every command opens its migration through it.

use crate::apply::execute::UserAccess;
use crate::domain::{RootSessionRequest, SessionOptions, SourceLogin, UserSessionRequest};
use crate::manifest::{Manifest, Secret, Source};
use crate::modules::{ItemValue, ModuleCatalog, ModuleKind, SessionKind};
use crate::plan::observe::SourceAccess;
use crate::plan::{Desired, DesiredItem, DesiredSource};
use crate::sim::{SimHandle, SimOptions, Simulator, World};
use crate::whm::{ClientOptions, RetryPolicy, Timeouts, TlsMode, WhmClient, WhmError};
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the destination could not be opened.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DestinationError {
    /// The embedded simulator's world file could not be read.
    #[error("cannot load the simulator world {}: {detail}", path.display())]
    #[diagnostic(
        code(destination::world),
        help("check `destination.simulator.world` in the manifest")
    )]
    World {
        /// The world file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The embedded simulator could not start.
    #[error("cannot start the embedded simulator: {0}")]
    #[diagnostic(code(destination::simulator))]
    Simulator(String),
    /// The manifest names neither a url nor a simulator.
    #[error("the manifest names no destination url")]
    #[diagnostic(
        code(destination::no_url),
        help("set `destination.url`, for example \"https://new1.example.com:2087\"")
    )]
    NoUrl,
    /// The destination's API token was not resolved.
    #[error("the destination token is not available")]
    #[diagnostic(
        code(destination::no_token),
        help("set `destination.token` to `{{ env = \"WHM_API_TOKEN\" }}` or `{{ file = \"…\" }}`")
    )]
    NoToken,
    /// The client could not be built (TLS settings, url).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Client(#[from] WhmError),
}

/// The destination as the migration talks to it.
pub struct Destination {
    /// The client.
    pub client: WhmClient,
    /// The embedded simulator, when the manifest names one (kept alive while in use).
    pub simulator: Option<SimHandle>,
}

impl Destination {
    /// Stops the embedded simulator (persisting its world), if any.
    pub async fn close(self) {
        if let Some(sim) = self.simulator {
            // What it persists is in its state file; the returned copy is not needed.
            drop(sim.shutdown().await);
        }
    }
}

/// The state directory: `--state-dir`, else `.whm-migrate` beside the manifest.
pub fn state_dir(flag: Option<&Path>, manifest: &Path) -> PathBuf {
    flag.map_or_else(
        || {
            manifest
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .join(".whm-migrate")
        },
        Path::to_path_buf,
    )
}

fn secret(s: Option<&Secret>) -> Option<SecretString> {
    s.and_then(Secret::value).cloned()
}

fn timeouts(manifest: &Manifest) -> Timeouts {
    let t = &manifest.destination.timeouts;
    let or = |secs: Option<u64>, default: Duration| secs.map_or(default, Duration::from_secs);
    let d = Timeouts::default();
    Timeouts {
        connect: or(t.connect_secs, d.connect),
        default: or(t.request_secs, d.default),
        create_session: or(t.long_request_secs, d.create_session),
        fetch_log: or(t.long_request_secs, d.fetch_log),
    }
}

/// Opens the destination: the embedded simulator (its world persisted in the state
/// dir, so a second run sees the first one's effects) or the real server.
pub async fn destination(
    manifest: &Manifest,
    state: &Path,
) -> Result<Destination, DestinationError> {
    let d = &manifest.destination;
    if d.simulator.is_some() {
        return simulated(manifest, state).await;
    }
    let url = d.url.clone().ok_or(DestinationError::NoUrl)?;
    let tls = if d.insecure {
        TlsMode::Insecure
    } else if let Some(pin) = d.pin_sha256_bytes() {
        TlsMode::Pinned(pin)
    } else if let Some(ca) = &d.ca_file {
        TlsMode::CaFile(ca.clone())
    } else {
        TlsMode::SystemRoots
    };
    let token = secret(d.token.as_ref()).ok_or(DestinationError::NoToken)?;
    let client = WhmClient::new(ClientOptions {
        base_url: url,
        user: d.user.clone(),
        token,
        tls,
        timeouts: timeouts(manifest),
        retry: RetryPolicy::default(),
    })?;
    Ok(Destination {
        client,
        simulator: None,
    })
}

async fn simulated(manifest: &Manifest, state: &Path) -> Result<Destination, DestinationError> {
    let d = &manifest.destination;
    let Some(sim) = &d.simulator else {
        return Err(DestinationError::NoUrl);
    };
    let world = World::load(&sim.world).map_err(|e| DestinationError::World {
        path: sim.world.clone(),
        detail: e.to_string(),
    })?;
    std::fs::create_dir_all(state)
        .map_err(|e| DestinationError::Simulator(format!("{}: {e}", state.display())))?;
    let token = crate::sim::random_token();
    let mut opts = SimOptions {
        api_token: token.clone(),
        state_file: Some(state.join(format!("{}.sim-world.json", manifest.name))),
        ..SimOptions::default()
    };
    if let Some(mb_s) = sim.transfer_mb_s {
        opts.time_scale.bytes_per_second = mb_s.saturating_mul(1_000_000);
        opts.time_scale.restore_bytes_per_second = mb_s.saturating_mul(2_000_000);
    }
    let handle = Simulator::start(world, opts)
        .await
        .map_err(|e| DestinationError::Simulator(e.to_string()))?;
    let client = WhmClient::new(ClientOptions {
        base_url: handle.base_url(),
        user: d.user.clone(),
        token: SecretString::from(token),
        tls: TlsMode::SystemRoots,
        timeouts: timeouts(manifest),
        retry: RetryPolicy::default(),
    })?;
    Ok(Destination {
        client,
        simulator: Some(handle),
    })
}

/// The desired state of the manifest, item by item, with the exact enqueue keys.
pub fn desired(manifest: &Manifest, catalog: &ModuleCatalog) -> Desired {
    let sources = manifest
        .sources
        .iter()
        .enumerate()
        .map(|(i, source)| DesiredSource {
            name: source.name.clone(),
            host: source.host.clone(),
            kind: source.kind,
            items: manifest
                .queue_items(i, catalog)
                .into_iter()
                .map(|q| desired_item(&q, catalog))
                .collect(),
            waive: source.waive.clone(),
        })
        .collect();
    Desired {
        migration: manifest.name.clone(),
        sources,
    }
}

/// The keys whose overwrite of existing databases makes a conflict acceptable.
const OVERWRITE_DB_KEYS: [&str; 5] = [
    "overwrite_all_dbs",
    "overwrite_all_dbusers",
    "overwrite_sameowner_dbs",
    "overwrite_sameowner_dbusers",
    "overwrite_with_delete",
];

fn desired_item(q: &crate::manifest::QueueItem, catalog: &ModuleCatalog) -> DesiredItem {
    let key = q.key().to_owned();
    let str_of = |k: &str| {
        q.values
            .get(k)
            .and_then(ItemValue::as_str)
            .map(str::to_owned)
    };
    let flag = |k: &str| q.values.get(k).is_some_and(ItemValue::is_true);
    DesiredItem {
        module: q.module.to_owned(),
        type_id: catalog
            .get(q.module)
            .map_or(u64::MAX, |m| u64::from(m.type_id)),
        localuser: (ModuleKind::of(q.module) == ModuleKind::Account)
            .then(|| str_of("localuser").unwrap_or_else(|| key.clone())),
        domain: str_of("domain"),
        force: flag("force"),
        overwrite_dbs: OVERWRITE_DB_KEYS.iter().any(|k| flag(k)),
        params: q
            .enqueue_params()
            .into_iter()
            .filter(|(k, _)| k != "module")
            .collect(),
        problems: Vec::new(),
        waive: q.waive.clone(),
        acknowledge: q.acknowledge.clone(),
        key,
    }
}

/// Which credentials to hand the session create calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// The manifest's (secrets must be resolved).
    Manifest,
    /// A rehearsal's simulated sources: the manifest's hosts and session options with
    /// the rehearsal's password, never the real one.
    Rehearsal,
}

/// The credentials of every source, as create requests.
pub fn access(manifest: &Manifest, which: Credentials) -> (Vec<SourceAccess>, Vec<UserAccess>) {
    let mut roots = Vec::new();
    let mut users = Vec::new();
    for s in &manifest.sources {
        let password = match which {
            Credentials::Manifest => secret(s.password.as_ref()),
            Credentials::Rehearsal => Some(SecretString::from(
                crate::rehearse::world::REHEARSAL_PASSWORD,
            )),
        };
        match s.kind {
            SessionKind::Root => roots.push(SourceAccess {
                name: s.name.clone(),
                root: Some(root_request(s, password, which)),
            }),
            SessionKind::User => {
                if let Some(password) = password {
                    users.push(UserAccess {
                        name: s.name.clone(),
                        request: UserSessionRequest {
                            host: s.host.clone(),
                            password,
                            unrestricted_restore: s.session.unrestricted_restore.unwrap_or(false),
                        },
                    });
                }
            }
        }
    }
    (roots, users)
}

fn root_request(
    s: &Source,
    password: Option<SecretString>,
    which: Credentials,
) -> RootSessionRequest {
    let options: SessionOptions = s.session.to_request();
    if which == Credentials::Rehearsal {
        return RootSessionRequest {
            login: SourceLogin {
                host: s.host.clone(),
                user: "root".to_owned(),
                password,
                ..SourceLogin::default()
            },
            comm_transport: None,
            options,
        };
    }
    RootSessionRequest {
        login: SourceLogin {
            host: s.host.clone(),
            user: s.user.clone().unwrap_or_else(|| "root".to_owned()),
            password,
            port: s.port,
            root_escalation_method: s.root_escalation_method.as_ref().map(serde_plain),
            root_password: secret(s.root_password.as_ref()),
            sshkey_name: s.sshkey_name.clone(),
            sshkey_passphrase: secret(s.sshkey_passphrase.as_ref()),
        },
        comm_transport: s.comm_transport.as_ref().map(serde_plain),
        options,
    }
}

/// The string a serde enum serializes to (the manifest's spelling, which is WHM's).
fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
