//! Session creation and source checks: `create_remote_root_transfer_session`,
//! `create_remote_user_transfer_session`, `remote_basic_credential_check`,
//! `analyze_transfer_session_remote` and `retrieve_transfer_session_remote_analysis`
//! (REFERENCE §4.3–4.7). Credentials are checked against the world's sources.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::analysis;
use super::envelope::{Reply, api_failure};
use super::params::Params;
use crate::sim::queue::QueueIndex;
use crate::sim::session::{Session, SessionKind, SessionOptions, SessionState, build_id};
use crate::sim::state::Inner;
use crate::sim::world::{Source, World};

/// Why a login to a source failed.
enum LoginError {
    /// Argument shape (result 0 with the exception text).
    Shape(String),
    /// The host is unknown or local.
    Host(String),
    /// The remote side refused (its message).
    Denied(String),
}

const DENIED: &str = "Permission denied, please try again.";

fn resolve<'w>(
    world: &'w World,
    host: &str,
    wording: &str,
) -> Result<(&'w str, &'w Source), LoginError> {
    let d = &world.destination;
    let local = [
        "localhost",
        "127.0.0.1",
        "::1",
        d.hostname.as_str(),
        d.shared_ip.as_str(),
    ];
    if local.iter().any(|l| l.eq_ignore_ascii_case(host)) {
        return Err(LoginError::Host(format!(
            "“{host}” resolves to the local server. Provide a remote hostname or IP address instead."
        )));
    }
    world.find_source(host).ok_or_else(|| {
        LoginError::Host(format!(
            "The system was unable to resolve the {wording}, “{host}”, to an IP address."
        ))
    })
}

/// The SSH-style login of create-root and the credential check. Returns the source key
/// and the escalation method used.
fn login<'w>(
    world: &'w World,
    p: &Params,
    host: &str,
) -> Result<(&'w str, Option<String>), LoginError> {
    let user = p.non_empty("user").unwrap_or("root");
    let password = p.non_empty("password");
    let key = p.non_empty("sshkey_name");
    if p.non_empty("sshkey_passphrase").is_some() && key.is_none() {
        return Err(LoginError::Shape(
            "The “sshkey_passphrase” argument is only valid with the “sshkey_name” argument."
                .into(),
        ));
    }
    if password.is_none() && key.is_none() {
        return Err(LoginError::Shape(
            "You must provide the “sshkey_name” or “password” argument.".into(),
        ));
    }
    if let Some(port) = p
        .get("port")
        .filter(|v| !v.is_empty() && !v.parse::<u16>().is_ok_and(|n| n > 0))
    {
        return Err(LoginError::Shape(format!("Invalid “port” ({port}).")));
    }
    let method = p.non_empty("root_escalation_method");
    if user != "root" {
        match method {
            None => {
                return Err(LoginError::Shape(
                    "You must provide the “root_escalation_method” argument to connect as an unprivileged user."
                        .into(),
                ));
            }
            Some("su" | "sudo" | "none") => {}
            Some(other) => {
                return Err(LoginError::Shape(format!(
                    "Invalid “root_escalation_method” ({other})."
                )));
            }
        }
    }
    let (source_key, src) = resolve(world, host, "host")?;
    let creds = &src.credentials;
    if let Some(k) = key {
        let Some(pass) = creds.sshkeys.get(k) else {
            return Err(LoginError::Denied(format!(
                "The SSH key “{k}” was not accepted: {DENIED}"
            )));
        };
        if pass != p.get("sshkey_passphrase").unwrap_or("") {
            return Err(LoginError::Shape(format!(
                "The passphrase for the key “{k}” is incorrect."
            )));
        }
    } else {
        let expected = if user == "root" {
            Some(&creds.root_password)
        } else {
            creds.logins.get(user)
        };
        if expected.map(String::as_str) != password {
            return Err(LoginError::Denied(DENIED.into()));
        }
    }
    let used = (user != "root").then(|| method.unwrap_or("sudo").to_owned());
    if used.as_deref() == Some("su") {
        let rootpw = p.non_empty("root_password").or(password);
        if rootpw != Some(creds.root_password.as_str()) {
            return Err(LoginError::Denied("su: Authentication failure".into()));
        }
    }
    Ok((source_key, used))
}

fn denied_text(msg: &str) -> String {
    format!("The remote basic credential check failed due to an error ({msg}) and response: {msg}")
}

fn bool_flag(p: &Params, name: &str) -> bool {
    p.get(name).is_some_and(|v| v.trim() == "1")
}

fn threads(inner: &mut Inner, p: &Params, name: &str) -> Result<u64, Reply> {
    match p.non_empty(name) {
        None => Ok(1),
        Some(v) => v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            Reply::fail(api_failure(
                &mut inner.rng,
                &format!("The “{name}” parameter must be a positive integer."),
            ))
        }),
    }
}

/// Creates a PENDING session and returns its id (REFERENCE §5.1).
pub(crate) fn new_session(
    inner: &mut Inner,
    kind: SessionKind,
    host: &str,
    key: &str,
    creator: &str,
    opts: SessionOptions,
) -> String {
    let initiator = match kind {
        SessionKind::RemoteRoot => "copyacct",
        SessionKind::RemoteUser => "norootcopy",
        SessionKind::Local => "start_local_cpmove_restore",
    };
    let mut id = build_id(host, initiator, chrono::Utc::now(), &mut inner.rng);
    while inner.sessions.contains_key(&id) {
        id = build_id(host, initiator, chrono::Utc::now(), &mut inner.rng);
    }
    let analysis =
        (kind == SessionKind::RemoteRoot).then(|| analysis::build(&inner.world, host, key, &opts));
    inner.sessions.insert(
        id.clone(),
        Session {
            id: id.clone(),
            kind,
            initiator: initiator.into(),
            creator: creator.into(),
            host: host.into(),
            source_key: key.into(),
            password: None,
            options: opts,
            state: SessionState::Pending,
            pid: None,
            items: Vec::new(),
            logs: BTreeMap::new(),
            log_layout: inner.log_layout,
            analysis,
            started_once: false,
            index: QueueIndex::default(),
        },
    );
    inner.stats.sessions_created += 1;
    id
}

/// `create_remote_root_transfer_session`.
pub fn create_root(inner: &mut Inner, p: &Params, caller: &str) -> Reply {
    let Some(host) = p.non_empty("host").map(str::to_owned) else {
        return Reply::fail("You must specify a source host.");
    };
    let transport = p.non_empty("comm_transport").unwrap_or("ssh");
    if !matches!(transport, "ssh" | "whostmgr" | "whostmgr_insecure") {
        return Reply::fail(format!("Invalid “comm_transport” ({transport})."));
    }
    let (transfer_threads, restore_threads) = match (
        threads(inner, p, "transfer_threads"),
        threads(inner, p, "restore_threads"),
    ) {
        (Ok(t), Ok(r)) => (t, r),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let key = match login(&inner.world, p, &host) {
        Ok((key, _)) => key.to_owned(),
        Err(LoginError::Shape(t) | LoginError::Host(t)) => return Reply::fail(t),
        Err(LoginError::Denied(m)) => return Reply::fail(denied_text(&m)),
    };
    let src = &inner.world.sources[&key];
    let minor: u32 = src
        .version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if src.version.starts_with("11.") && minor <= 18 {
        return Reply::fail(format!(
            "The remote server does not appear to be running a supported version of cPanel. It reports version “{}”.",
            src.version
        ));
    }
    let server_type = src.server_type();
    let opts = SessionOptions {
        transfer_threads,
        restore_threads,
        unrestricted: bool_flag(p, "unrestricted_restore"),
        copy_reseller_privs: bool_flag(p, "copy_reseller_privs"),
    };
    let id = new_session(inner, SessionKind::RemoteRoot, &host, &key, caller, opts);
    let fetch = format!("Fetching information from remote host: “{host}” … …\nDone\n");
    Reply::ok(json!({
        "transfer_session_id": id,
        "create_rawout": format!(
            "Basic credential check … …\nDone\n{fetch}Fetching WHM Version …\nDone\nTesting “{host}” for transfer streaming support with password authentication....<strong>Streaming Supported</strong>\nRemote Server Type: “{server_type}”\n"
        ),
        "analyze_rawout": format!("{fetch}{fetch}"),
    }))
}

/// `create_remote_user_transfer_session`.
pub fn create_user(inner: &mut Inner, p: &Params, caller: &str) -> Reply {
    let Some(host) = p.non_empty("host").map(str::to_owned) else {
        return Reply::fail("You must specify a “host” argument.");
    };
    let Some(password) = p.non_empty("password").map(str::to_owned) else {
        return Reply::fail("You must specify a “password” argument.");
    };
    let key = match resolve(&inner.world, &host, "hostname") {
        Ok((key, src)) if src.credentials.cpanel.values().any(|v| *v == password) => key.to_owned(),
        Ok(_) => return Reply::fail(denied_text(DENIED)),
        Err(LoginError::Host(t) | LoginError::Shape(t) | LoginError::Denied(t)) => {
            return Reply::fail(t);
        }
    };
    let opts = SessionOptions {
        transfer_threads: 1,
        restore_threads: 1,
        unrestricted: bool_flag(p, "unrestricted_restore"),
        copy_reseller_privs: false,
    };
    let id = new_session(inner, SessionKind::RemoteUser, &host, &key, caller, opts);
    if let Some(s) = inner.sessions.get_mut(&id) {
        s.password = Some(password);
    }
    Reply::ok(json!({ "transfer_session_id": id }))
}

/// `remote_basic_credential_check`: reason is the remote layer's message.
pub fn credential_check(inner: &mut Inner, p: &Params) -> Reply {
    let host = match p.required(&mut inner.rng, "host", "remote_basic_credential_check") {
        Ok(h) => h.to_owned(),
        Err(r) => return r,
    };
    if let Err(r) = p.required(&mut inner.rng, "user", "remote_basic_credential_check") {
        return r;
    }
    if let Some(t) = p
        .get("timeout")
        .filter(|t| !t.bytes().all(|b| b.is_ascii_digit()) || t.is_empty())
    {
        return Reply::fail(format!("Invalid “timeout” ({t})."));
    }
    match login(&inner.world, p, &host) {
        Ok((_, used)) => Reply {
            ok: true,
            reason: "Success".into(),
            data: Some(json!({
                "output": "Basic credential check…\nDone\n",
                "response": "basic credential check\n",
                "escalation_method_used": used,
            })),
            output: None,
        },
        Err(LoginError::Shape(t) | LoginError::Host(t) | LoginError::Denied(t)) => Reply::fail(t),
    }
}

const NOT_ROOT: &str = "The supplied session ID has an invalid session type. You must provide a session ID with a session type of “RemoteRoot”.";

/// `analyze_transfer_session_remote`: re-runs and stores the analysis.
pub fn analyze(inner: &mut Inner, p: &Params, caller: &str) -> Reply {
    let id = match p.session(inner, "analyze_transfer_session_remote", caller) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let s = &inner.sessions[&id];
    if s.kind != SessionKind::RemoteRoot {
        return Reply::fail(NOT_ROOT);
    }
    let fresh = analysis::build(&inner.world, &s.host, &s.source_key, &s.options);
    if let Some(s) = inner.sessions.get_mut(&id) {
        s.analysis = Some(fresh);
    }
    Reply::ok_empty()
}

/// `retrieve_transfer_session_remote_analysis`.
pub fn retrieve(inner: &mut Inner, p: &Params, caller: &str) -> Reply {
    let Some(id) = p.non_empty("transfer_session_id").map(str::to_owned) else {
        return Reply::fail(
            "A valid transfer_session_id is required to analyze a remote transfer source.",
        );
    };
    let id = match super::params::session_lookup(inner, &id, caller) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let s = &inner.sessions[&id];
    match (&s.kind, &s.analysis) {
        (SessionKind::RemoteRoot, Some(Value::Object(a))) => {
            let mut data = serde_json::Map::new();
            data.insert("transfer_session_id".into(), json!(id));
            data.extend(a.clone());
            Reply::ok(Value::Object(data))
        }
        _ => Reply::fail(NOT_ROOT),
    }
}
