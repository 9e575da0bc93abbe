//! The simulator's own endpoints under `/__sim/` (the API token's authorization, never
//! faulted):
//!
//! * `GET /__sim/stats`: [`super::SimStats`] as JSON;
//! * `GET /__sim/faults`, `POST /__sim/faults` (a JSON [`super::Faults`] body): read or
//!   replace the faults;
//! * `GET /__sim/world`: the current world as JSON, every password and passphrase
//!   replaced by `***`;
//! * `POST /__sim/sessions/<id>/fail|abort|pause|kill`: act on a session "from outside".
//!   `fail` marks it FAILED with a `fail` record; `abort` and `pause` behave as the API
//!   calls do; `kill` ends its master process without touching the state, leaving a stale
//!   RUNNING session (so a later pause or abort turns it FAILED, REFERENCE §5.2).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api::control;
use super::api::params::Params;
use super::faults::{Faults, kind};
use super::state::Shared;
use super::stats::SimStats;

/// `GET /__sim/stats`.
pub async fn stats(State(shared): State<Arc<Shared>>) -> Json<SimStats> {
    Json(shared.lock().stats.clone())
}

/// `GET /__sim/faults`.
pub async fn get_faults(State(shared): State<Arc<Shared>>) -> Json<Faults> {
    Json(shared.lock().faults.clone())
}

/// `POST /__sim/faults`.
pub async fn set_faults(
    State(shared): State<Arc<Shared>>,
    Json(faults): Json<Faults>,
) -> Json<Faults> {
    shared.lock().faults = faults.clone();
    Json(faults)
}

/// `GET /__sim/world`.
pub async fn world(State(shared): State<Arc<Shared>>) -> Response {
    let mut world = shared.lock().world.clone();
    for source in world.sources.values_mut() {
        let c = &mut source.credentials;
        "***".clone_into(&mut c.root_password);
        for secret in c
            .logins
            .values_mut()
            .chain(c.cpanel.values_mut())
            .chain(c.sshkeys.values_mut())
        {
            "***".clone_into(secret);
        }
    }
    Json(serde_json::to_value(&world).unwrap_or_default()).into_response()
}

/// `POST /__sim/sessions/{id}/{action}`.
pub async fn session_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    if !shared.lock().sessions.contains_key(&id) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "ok": false, "reason": "no such session" })),
        )
            .into_response();
    }
    let p = Params::parse(&format!("transfer_session_id={id}"), "");
    let (ok, reason) = match action.as_str() {
        "fail" => {
            if control::fail_now(&shared, &id) {
                (true, "OK".to_owned())
            } else {
                (false, "The session has already ended.".to_owned())
            }
        }
        "abort" => reply(&control::abort(&shared, &p, "root")),
        "pause" => reply(&control::pause(&shared, &p, "root")),
        "kill" => {
            shared.kill(&id);
            (true, "OK".to_owned())
        }
        _ => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "ok": false, "reason": "unknown action" })),
            )
                .into_response();
        }
    };
    let state = {
        let mut inner = shared.lock();
        SimStats::bump(&mut inner.stats.faults, kind::ADMIN);
        inner.sessions.get(&id).map(|s| s.state.name())
    };
    shared.touch();
    Json(json!({ "ok": ok, "reason": reason, "state": state })).into_response()
}

fn reply(r: &super::api::envelope::Reply) -> (bool, String) {
    (r.ok, r.reason.clone())
}
