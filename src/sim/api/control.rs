//! Session control and monitoring: `start_transfer_session`, `pause_transfer_session`,
//! `abort_transfer_session`, `get_transfer_session_state` and
//! `fetch_transfer_session_log` (REFERENCE §4.10–4.14, §5.2).

use std::sync::Arc;

use rand::Rng;
use serde_json::{Map, json};

use super::envelope::{Reply, api_failure, xid};
use super::params::Params;
use crate::sim::logs::{self, MASTER};
use crate::sim::runner;
use crate::sim::session::SessionState;
use crate::sim::state::Shared;
use crate::sim::stats::SimStats;

/// `start_transfer_session`.
pub fn start(shared: &Arc<Shared>, p: &Params, caller: &str) -> Reply {
    let mut inner = shared.lock();
    let id = match p.session(&mut inner, "start_transfer_session", caller) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let alive = shared.alive(&id);
    let new_pid = inner.rng.random_range(2000..60000);
    let s = inner.sessions.get_mut(&id).expect("looked up");
    let refuse = |detail: String| {
        Reply::fail(format!(
            "The system failed to start the transfer session “{id}” because of an error: {detail}"
        ))
    };
    match s.state {
        SessionState::Running if alive => {
            return Reply::ok(json!({ "pid": s.pid.unwrap_or(new_pid) }));
        }
        SessionState::Pausing => {
            return refuse("The session is pausing. Wait until it has paused.".into());
        }
        SessionState::Aborting | SessionState::Aborted => {
            return refuse(format!(
                "The session “{id}” was aborted and cannot be restarted."
            ));
        }
        SessionState::Completed | SessionState::Failed => {
            return refuse(format!(
                "The session has already ended with the state “{}”.",
                s.state.name()
            ));
        }
        SessionState::Pending | SessionState::Paused | SessionState::Running => {}
    }
    let resume = s.started_once;
    s.state = SessionState::Running;
    s.pid = Some(new_pid);
    runner::write_opening(s, new_pid, resume);
    drop(inner);
    runner::spawn(shared, &id, new_pid);
    shared.touch();
    Reply::ok(json!({ "pid": new_pid }))
}

/// Marks a session FAILED with a `fail` record (no process alive, or failed from
/// outside). Returns false when the session is missing or already finished.
pub fn fail_now(shared: &Arc<Shared>, id: &str) -> bool {
    shared.kill(id);
    let pid = {
        let mut inner = shared.lock();
        let fallback = inner.rng.random_range(2000..60000);
        match inner.sessions.get(id) {
            Some(s) if !matches!(s.state, SessionState::Completed | SessionState::Aborted) => {
                if s.logs.get(MASTER).is_some_and(|f| f.finished) {
                    return false;
                }
                s.pid.unwrap_or(fallback)
            }
            _ => return false,
        }
    };
    runner::finish_detached(shared, id, pid, SessionState::Failed, "fail");
    true
}

/// `pause_transfer_session` (reason "OK", as the 11.120 source sets it).
pub fn pause(shared: &Arc<Shared>, p: &Params, caller: &str) -> Reply {
    let mut inner = shared.lock();
    let id = match p.session(&mut inner, "pause_transfer_session", caller) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let s = inner.sessions.get_mut(&id).expect("looked up");
    if s.state != SessionState::Running {
        return Reply::fail("The system failed to “pause” the transfer session.");
    }
    if !shared.alive(&id) {
        s.state = SessionState::Failed;
        drop(inner);
        fail_now(shared, &id);
        return Reply::ok_empty();
    }
    s.state = SessionState::Pausing;
    let pid = s.pid.unwrap_or_default();
    logs::append(
        &mut s.logs,
        s.log_layout,
        MASTER,
        &logs::control(pid, 0, "pausing", Map::new()),
    );
    drop(inner);
    shared.touch();
    Reply::ok_empty()
}

/// `abort_transfer_session`.
pub fn abort(shared: &Arc<Shared>, p: &Params, caller: &str) -> Reply {
    let mut inner = shared.lock();
    let id = match p.session(&mut inner, "abort_transfer_session", caller) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let alive = shared.alive(&id);
    let s = inner.sessions.get_mut(&id).expect("looked up");
    let pid = s.pid.unwrap_or_default();
    match s.state {
        SessionState::Completed | SessionState::Aborted | SessionState::Failed => {
            Reply::fail("The system failed to “abort” the transfer session.")
        }
        SessionState::Aborting => Reply::ok_empty(),
        // Never started, or no process alive: FAILED with a `fail` record.
        SessionState::Pending => {
            drop(inner);
            fail_now(shared, &id);
            Reply::ok_empty()
        }
        SessionState::Running | SessionState::Pausing if !alive => {
            drop(inner);
            fail_now(shared, &id);
            Reply::ok_empty()
        }
        SessionState::Running | SessionState::Pausing => {
            s.state = SessionState::Aborting;
            logs::append(
                &mut s.logs,
                s.log_layout,
                MASTER,
                &logs::control(pid, 0, "aborting", Map::new()),
            );
            drop(inner);
            shared.cancel(&id);
            shared.touch();
            Reply::ok_empty()
        }
        SessionState::Paused => {
            // Passes through ABORTING at once.
            s.state = SessionState::Aborting;
            let pid = inner.rng.random_range(2000..60000);
            drop(inner);
            runner::finish_detached(shared, &id, pid, SessionState::Aborted, "abort");
            shared.touch();
            Reply::ok_empty()
        }
    }
}

/// `get_transfer_session_state`: the session states, or while it runs the guide's
/// per-item names (as the simulator's `state_names` option says), counted per name.
pub fn state(shared: &Arc<Shared>, p: &Params, caller: &str) -> Reply {
    let mut inner = shared.lock();
    match p.session(&mut inner, "get_transfer_session_state", caller) {
        Ok(id) => {
            let name = inner.sessions[&id].answered_state(shared.config.state_names);
            SimStats::bump(&mut inner.stats.state_answers, name);
            Reply::ok(json!({ "state_name": name }))
        }
        Err(r) => r,
    }
}

/// `fetch_transfer_session_log`: the whole file; waits for it to finish in blocking mode.
pub async fn fetch_log(shared: &Arc<Shared>, p: &Params, caller: &str) -> Reply {
    let mut changed = shared.changed.subscribe();
    loop {
        let text = {
            let mut inner = shared.lock();
            let id = match p.session(&mut inner, "fetch_transfer_session_log", caller) {
                Ok(id) => id,
                Err(r) => return r,
            };
            let name = match p.required(&mut inner.rng, "logfile", "fetch_transfer_session_log") {
                Ok(n) => n.to_owned(),
                Err(r) => return r,
            };
            if name.contains('/') {
                let text = format!(
                    "fetch_transfer_session_log only accepts relative file paths: “{name}”"
                );
                return Reply::fail(api_failure(&mut inner.rng, &text));
            }
            let s = &inner.sessions[&id];
            let Some(file) = logs::find(&s.logs, &name) else {
                let dir = format!("/var/cpanel/transfer_sessions/{id}");
                let text = format!(
                    "{}The system failed to locate either the file “{dir}/.{name}” or the file “{dir}/{name}”.",
                    xid(&mut inner.rng)
                );
                return Reply::fail(format!("API failure: {text}\n"));
            };
            if file.finished || !shared.config.blocking_logs || s.state.is_terminal() {
                // Copied out under the lock (cheaply: sealed chunks), joined outside it.
                Some(file.text.clone())
            } else {
                changed.mark_unchanged();
                None
            }
        };
        if let Some(text) = text {
            return Reply::ok(json!({ "log": String::from(text) }));
        }
        if changed.changed().await.is_err() {
            return Reply::fail("The simulator is shutting down.");
        }
    }
}
