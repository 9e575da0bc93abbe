//! Resolved settings: a loaded manifest turned into what the commands need — a client
//! for the destination (a real server or the embedded simulator), the desired state,
//! the credentials per source, and the state directory.

use crate::apply::execute::UserAccess;
use crate::domain::{RootSessionRequest, SourceLogin, UserSessionRequest};
use crate::manifest::{Manifest, Secret};
use crate::modules::{ItemValue, ModuleCatalog, SessionKind, names};
use crate::plan::observe::SourceAccess;
use crate::plan::{Desired, DesiredItem, DesiredSource, SourceKind};
use crate::sim::{SimHandle, SimOptions, Simulator, World};
use crate::whm::{ClientOptions, RetryPolicy, Timeouts, TlsMode, WhmClient};
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The destination as the commands talk to it.
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
            let _ = sim.shutdown().await;
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

/// Opens the destination: the embedded simulator (its world persisted in the state
/// dir, so a second run sees the first one's effects) or the real server.
pub async fn destination(manifest: &Manifest, state: &Path) -> Result<Destination, String> {
    let d = &manifest.destination;
    let timeouts = Timeouts {
        connect: d
            .timeouts
            .connect_secs
            .map_or(Timeouts::default().connect, Duration::from_secs),
        default: d
            .timeouts
            .request_secs
            .map_or(Timeouts::default().default, Duration::from_secs),
        create_session: d
            .timeouts
            .long_request_secs
            .map_or(Timeouts::default().create_session, Duration::from_secs),
        fetch_log: d
            .timeouts
            .long_request_secs
            .map_or(Timeouts::default().fetch_log, Duration::from_secs),
    };
    if let Some(sim) = &d.simulator {
        let world = World::load(&sim.world).map_err(|e| {
            format!(
                "cannot load the simulator world {}: {e}",
                sim.world.display()
            )
        })?;
        std::fs::create_dir_all(state)
            .map_err(|e| format!("cannot create {}: {e}", state.display()))?;
        let token = random_token();
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
            .map_err(|e| format!("cannot start the embedded simulator: {e}"))?;
        let client = WhmClient::new(ClientOptions {
            base_url: handle.base_url(),
            user: d.user.clone(),
            token: SecretString::from(token),
            tls: TlsMode::SystemRoots,
            timeouts,
            retry: RetryPolicy::default(),
        })
        .map_err(|e| e.to_string())?;
        return Ok(Destination {
            client,
            simulator: Some(handle),
        });
    }
    let url = d
        .url
        .clone()
        .ok_or("the manifest names no destination url")?;
    let tls = if d.insecure {
        TlsMode::Insecure
    } else if let Some(pin) = d.pin_sha256_bytes() {
        TlsMode::Pinned(pin)
    } else if let Some(ca) = &d.ca_file {
        TlsMode::CaFile(ca.clone())
    } else {
        TlsMode::SystemRoots
    };
    let token = secret(d.token.as_ref()).ok_or("the destination token is not available")?;
    let client = WhmClient::new(ClientOptions {
        base_url: url,
        user: d.user.clone(),
        token,
        tls,
        timeouts,
        retry: RetryPolicy::default(),
    })
    .map_err(|e| e.to_string())?;
    Ok(Destination {
        client,
        simulator: None,
    })
}

fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[rng.random_range(0..32)]))
        .collect()
}

/// The desired state of the manifest, item by item, with the exact enqueue keys.
pub fn desired(manifest: &Manifest, catalog: &ModuleCatalog) -> Desired {
    let sources = manifest
        .sources
        .iter()
        .enumerate()
        .map(|(i, source)| {
            let items = manifest
                .queue_items(i, catalog)
                .into_iter()
                .map(|q| {
                    let key = q.key().to_owned();
                    let is_account = q.module != names::FEATURE_LIST && q.module != names::PACKAGE;
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
                        localuser: is_account
                            .then(|| str_of("localuser").unwrap_or_else(|| key.clone())),
                        domain: str_of("domain"),
                        force: flag("force"),
                        overwrite_dbs: [
                            "overwrite_all_dbs",
                            "overwrite_all_dbusers",
                            "overwrite_sameowner_dbs",
                            "overwrite_sameowner_dbusers",
                            "overwrite_with_delete",
                        ]
                        .iter()
                        .any(|k| flag(k)),
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
                })
                .collect();
            DesiredSource {
                name: source.name.clone(),
                host: source.host.clone(),
                kind: match source.kind {
                    SessionKind::Root => SourceKind::Root,
                    SessionKind::User => SourceKind::User,
                },
                items,
                waive: source.waive.clone(),
            }
        })
        .collect();
    Desired {
        migration: manifest.name.clone(),
        sources,
    }
}

/// The credentials of every source, as create requests (secrets must be resolved).
pub fn access(manifest: &Manifest) -> (Vec<SourceAccess>, Vec<UserAccess>) {
    let mut roots = Vec::new();
    let mut users = Vec::new();
    for s in &manifest.sources {
        match s.kind {
            SessionKind::Root => {
                roots.push(SourceAccess {
                    name: s.name.clone(),
                    root: Some(RootSessionRequest {
                        login: SourceLogin {
                            host: s.host.clone(),
                            user: s.user.clone().unwrap_or_else(|| "root".to_owned()),
                            password: secret(s.password.as_ref()),
                            port: s.port,
                            root_escalation_method: s
                                .root_escalation_method
                                .as_ref()
                                .map(serde_plain),
                            root_password: secret(s.root_password.as_ref()),
                            sshkey_name: s.sshkey_name.clone(),
                            sshkey_passphrase: secret(s.sshkey_passphrase.as_ref()),
                        },
                        comm_transport: s.comm_transport.as_ref().map(serde_plain),
                        options: s.session.to_request(),
                    }),
                });
            }
            SessionKind::User => {
                if let Some(password) = secret(s.password.as_ref()) {
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

/// The string a serde enum serializes to (the manifest's spelling, which is WHM's).
fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
