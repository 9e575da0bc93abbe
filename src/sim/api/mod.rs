//! WHM API 1 over HTTP: `/json-api/<function>` (also under a `/cpsess…/` prefix), by
//! GET or POST with query and form arguments merged, token authentication, and the
//! dispatch to each function's handler.

// Handlers pass `Reply` values around as their error type; their size does not matter.
#![allow(clippy::result_large_err)]

pub mod analysis;
pub mod catalog;
pub mod control;
pub mod create;
pub mod enqueue;
pub mod envelope;
pub mod local;
pub mod params;
pub mod pattern;
pub mod restore;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use self::envelope::{Reply, envelope, xid};
use self::params::Params;
use super::faults::{RequestFaults, kind};
use super::state::Shared;
use super::stats::SimStats;

/// Functions that change nothing; only these get the result-0 fault.
pub const READ_ONLY: [&str; 12] = [
    "available_transfer_modules",
    "transfer_module_schema",
    "retrieve_transfer_session_remote_analysis",
    "validate_system_user",
    "get_transfer_session_state",
    "fetch_transfer_session_log",
    "restore_modules_summary",
    "listaccts",
    "listpkgs",
    "get_featurelists",
    "accountsummary",
    "list_pops_for",
];

/// Runs one function.
pub async fn call(shared: &Arc<Shared>, function: &str, p: &Params, caller: &str) -> Reply {
    let reply = match function {
        "available_transfer_modules" => catalog::available_transfer_modules(),
        "transfer_module_schema" => catalog::transfer_module_schema(&mut shared.lock(), p),
        "restore_modules_summary" => catalog::restore_modules_summary(),
        "create_remote_root_transfer_session" => create::create_root(&mut shared.lock(), p, caller),
        "create_remote_user_transfer_session" => create::create_user(&mut shared.lock(), p, caller),
        "remote_basic_credential_check" => create::credential_check(&mut shared.lock(), p),
        "analyze_transfer_session_remote" => create::analyze(&mut shared.lock(), p, caller),
        "retrieve_transfer_session_remote_analysis" => {
            create::retrieve(&mut shared.lock(), p, caller)
        }
        "validate_system_user" => local::validate_system_user(&shared.lock(), p),
        "enqueue_transfer_item" => enqueue::enqueue(&mut shared.lock(), p, caller),
        "start_transfer_session" => control::start(shared, p, caller),
        "get_transfer_session_state" => control::state(shared, p, caller),
        "fetch_transfer_session_log" => control::fetch_log(shared, p, caller).await,
        "pause_transfer_session" => control::pause(shared, p, caller),
        "abort_transfer_session" => control::abort(shared, p, caller),
        "start_local_cpmove_restore" => restore::start_local_cpmove_restore(shared, p, caller),
        "delete_account_archives" => local::delete_account_archives(&mut shared.lock(), p),
        "listaccts" => local::listaccts(&shared.lock(), p),
        "listpkgs" => local::listpkgs(&shared.lock()),
        "get_featurelists" => local::get_featurelists(&shared.lock()),
        "accountsummary" => local::accountsummary(&shared.lock(), p),
        "list_pops_for" => local::list_pops_for(&shared.lock(), p),
        // Unconfirmed: the wording WHM uses for a function it does not know.
        other => Reply::fail(format!(
            "Unknown app (“{other}”) requested for this version (1) of the API."
        )),
    };
    if !READ_ONLY.contains(&function) {
        shared.touch();
    }
    reply
}

/// A short HTML error page, as WHM serves for failed authentication.
pub fn html_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>\n"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks `Authorization: whm USER:TOKEN` (scheme word case-insensitive). Returns the user.
pub(crate) fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<String, Response> {
    let denied = || html_page(StatusCode::FORBIDDEN, "Access denied", "Access denied.");
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(denied());
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("whm") {
        return Err(denied());
    }
    let Some((user, token)) = rest.trim().split_once(':') else {
        return Err(denied());
    };
    let cfg = &shared.config;
    if user.is_empty()
        || token.is_empty()
        || !user.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(denied());
    }
    if user != cfg.api_user || !same(token.as_bytes(), cfg.api_token.as_bytes()) {
        return Err(html_page(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The API token is not valid for this user.",
        ));
    }
    Ok(user.to_owned())
}

/// Handler for `/json-api/{function}`.
pub async fn json_api(
    State(shared): State<Arc<Shared>>,
    Path(function): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    faults: Option<axum::Extension<RequestFaults>>,
    body: Bytes,
) -> Response {
    let caller = match authenticate(&shared, &headers) {
        Ok(u) => u,
        Err(resp) => return resp,
    };
    let p = Params::parse(uri.query().unwrap_or(""), &String::from_utf8_lossy(&body));
    SimStats::bump(&mut shared.lock().stats.calls, &function);
    let faults = faults.map(|f| f.0).unwrap_or_default();
    let is_log_fetch = function == "fetch_transfer_session_log";
    let reply = if p.api_version.as_deref() != Some("1") {
        // Unconfirmed: a real server answers in the legacy API 0 format instead.
        Reply::fail("The simulator only speaks WHM API 1: add “api.version=1” to the call.")
    } else if faults.result_zero && (faults.forced || READ_ONLY.contains(&function.as_str())) {
        let mut inner = shared.lock();
        SimStats::bump(&mut inner.stats.faults, kind::RESULT_ZERO);
        Reply::fail(format!(
            "{}The system is temporarily unable to answer (simulated fault).",
            xid(&mut inner.rng)
        ))
    } else {
        call(&shared, &function, &p, &caller).await
    };
    let style = shared.config.result_style;
    let to_bytes =
        move || serde_json::to_vec(&envelope(&function, reply, style)).unwrap_or_default();
    // Straight to bytes. A log fetch answers with megabytes of escaped text: escaping
    // them on a runtime thread would stall the session workers' timers beside it (a
    // real server's transfer processes do not wait on its API handler), so it is done
    // on the blocking pool.
    let body = if is_log_fetch {
        tokio::task::spawn_blocking(to_bytes)
            .await
            .unwrap_or_default()
    } else {
        to_bytes()
    };
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// Handler for `/cpsess…/json-api/{function}`: the session-token path form.
pub async fn json_api_cpsess(
    state: State<Arc<Shared>>,
    Path((prefix, function)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    faults: Option<axum::Extension<RequestFaults>>,
    body: Bytes,
) -> Response {
    if !prefix.starts_with("cpsess") {
        return StatusCode::NOT_FOUND.into_response();
    }
    json_api(state, Path(function), uri, headers, faults, body).await
}
