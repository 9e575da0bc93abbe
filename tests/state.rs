//! Exactly-once that survives what happens to the state: a session is never forgotten
//! on a failed read (issue 19).

use crate::support::apply_world::{
    apply_case, apply_world, assert_exactly_once, slow, the_session,
};
use crate::support::{SimContext, finish, wait_for};
use serde_json::Value;
use whm_migrate::sim::Faults;

#[tokio::test(flavor = "multi_thread")]
async fn a_session_whose_state_cannot_be_read_is_followed_never_replaced() {
    let sim = SimContext::with(apply_world(), slow()).await;
    let case = apply_case(&sim, "unconfirmed");
    // An apply dies while its session runs (one account transferred).
    let mut child = case.command("apply", &[]).spawn();
    let reached = wait_for(&sim, &mut child, |s| s.transfers.values().sum::<u64>() >= 1).await;
    assert!(reached, "the session never transferred an account");
    child.kill().await.unwrap();
    finish(child).await;
    // The destination answers every state read with result 0 for a while (a busy or
    // restarting cpsrvd): eight in a row, so plan's read (tried three times) fails,
    // apply's first read too, and apply's state poll meets the rest.
    sim.sim.set_faults(Faults {
        result_zero_calls: [("get_transfer_session_state".to_owned(), 8)].into(),
        ..Faults::default()
    });
    let out = case.run("plan", &["--format", "json"]).await;
    out.assert_code(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let source = &plan["sources"][0];
    assert!(
        source["session"]["unconfirmed"].is_string(),
        "{:#}",
        source["session"]
    );
    let items = source["items"].as_array().unwrap();
    assert!(
        items.iter().all(|i| i["action"] != "transfer"),
        "nothing of an unconfirmed session is planned again: {items:#?}"
    );
    assert!(
        items.iter().any(|i| i["action"] == "already-queued"
            && i["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("unconfirmed")),
        "{items:#?}"
    );
    // apply rides the failed reads out and follows the same session to its end.
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert!(
        s.faults.get("result_zero").copied().unwrap_or(0) >= 4,
        "{:?}",
        s.faults
    );
    assert_exactly_once(&sim, "an unconfirmed session");
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_forget_retires_a_recorded_session_by_hand() {
    let sim = SimContext::start(apply_world()).await;
    let case = apply_case(&sim, "forget");
    case.run("plan", &[]).await.assert_code(0);
    let id = case.journal("forget")["sources"]["old1"]["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = case.run("cleanup", &["--forget", "no-such-session"]).await;
    wrong.assert_code(1);
    assert!(wrong.stderr.contains("no-such-session"), "{}", wrong.stderr);
    let out = case.run("cleanup", &["--forget", &id]).await;
    out.assert_code(0);
    assert!(
        out.stdout.contains(&format!("old1: forgot session {id}")),
        "{}",
        out.stdout
    );
    let journal = case.journal("forget");
    let old1 = &journal["sources"]["old1"];
    assert!(old1["session"].is_null(), "{old1:#}");
    assert_eq!(old1["previous_sessions"][0]["id"], id);
    assert_eq!(old1["previous_sessions"][0]["retired"], "forgotten");
    // WHM was not asked to do anything to it.
    assert_eq!(sim.sim.session_state(&id).as_deref(), Some("PENDING"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_journal_is_recovered_by_adopting_the_running_session() {
    let sim = SimContext::with(apply_world(), slow()).await;
    let case = apply_case(&sim, "adopt");
    let mut child = case.command("apply", &[]).spawn();
    let reached = wait_for(&sim, &mut child, |s| s.transfers.values().sum::<u64>() >= 1).await;
    assert!(reached, "the session never transferred an account");
    child.kill().await.unwrap();
    finish(child).await;
    // The journal is lost; WHM's list of sessions still shows the one running.
    let journal = case.journal_path("adopt");
    std::fs::rename(&journal, journal.with_extension("lost")).unwrap();
    let session = the_session(&sim.sim.stats());
    let wrong = case.run("adopt", &["--source", "nosuch", &session]).await;
    wrong.assert_code(1);
    let out = case.run("adopt", &["--source", "old1", &session]).await;
    out.assert_code(0);
    assert!(
        out.stdout
            .contains(&format!("old1: adopted session {session} (RUNNING)")),
        "{}",
        out.stdout
    );
    let recorded = case.journal("adopt");
    assert_eq!(recorded["sources"]["old1"]["session"]["id"], session);
    assert_eq!(
        recorded["sources"]["old1"]["session"]["created_by"],
        "adopt"
    );
    // The next apply follows the adopted session to its end.
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!("following session {session}"))
            || out.stdout.contains(&session),
        "{out:#?}"
    );
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert_exactly_once(&sim, "an adopted session");
}

#[tokio::test(flavor = "multi_thread")]
async fn adopting_over_a_recorded_session_is_refused() {
    let sim = SimContext::start(apply_world()).await;
    let case = apply_case(&sim, "adopt-twice");
    case.run("plan", &[]).await.assert_code(0);
    let out = case
        .run("adopt", &["--source", "old1", "another-session"])
        .await;
    out.assert_code(1);
    assert!(out.stderr.contains("cleanup"), "{}", out.stderr);
    assert!(out.stderr.contains("--forget"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_waits_for_the_local_lock_with_lock_timeout() {
    let sim = SimContext::with(apply_world(), slow()).await;
    let case = apply_case(&sim, "waits");
    let mut first = case.command("apply", &[]).spawn();
    let running = wait_for(&sim, &mut first, |s| s.sessions_created >= 1).await;
    assert!(running, "the first apply never created its session");
    let refused = case.run("plan", &[]).await;
    refused.assert_code(1);
    assert!(
        refused.stderr.contains("another whm-migrate"),
        "{}",
        refused.stderr
    );
    let waited = case.run("apply", &["--lock-timeout", "5m"]).await;
    finish(first).await.assert_code(0);
    waited.assert_code(0);
    assert!(waited.stderr.contains("No changes"), "{}", waited.stderr);
    assert_eq!(sim.sim.stats().sessions_created, 1);
    assert_exactly_once(&sim, "a run that waited for the lock");
}
