//! The guide's state names (issue 20, item 2): a destination whose
//! `get_transfer_session_state` answers `TRANSFER_INPROGRESS`, `RESTORE_PENDING` … while
//! a session runs (the simulator's `state_names = docs`) is followed to its end, never
//! started again, never taken for a never-started `PENDING` session (queued into,
//! discarded, replaced), and paused, resumed and aborted like any other.

use crate::support::apply_world::{
    ACCOUNTS, ITEMS, apply_case, apply_world, assert_exactly_once, assert_world_complete, slow,
    the_session,
};
use crate::support::{Case, Out, SimContext, calls, finish, wait_for};
use whm_migrate::sim::{SimOptions, SimStats, StateNames};

/// The per-item names the guide lists for a session at work.
const AT_WORK: [&str; 4] = [
    "TRANSFER_PENDING",
    "TRANSFER_INPROGRESS",
    "RESTORE_PENDING",
    "RESTORE_INPROGRESS",
];

/// The `slow` simulator answering the guide's names, its transfers at `bytes_per_second`.
fn docs(bytes_per_second: u64) -> SimOptions {
    let mut opts = slow();
    opts.state_names = StateNames::Docs;
    opts.time_scale.bytes_per_second = bytes_per_second;
    opts
}

/// Slow enough (about seven seconds a session) that a session killed or paused early
/// is still at work while the next few commands run, however loaded the machine.
const SLOW_RATE: u64 = 1_000_000;

/// How many per-item names the simulator has answered.
fn at_work_answers(s: &SimStats) -> u64 {
    AT_WORK.iter().filter_map(|n| s.state_answers.get(*n)).sum()
}

/// The server's own running state was never answered.
fn assert_never_running(s: &SimStats) {
    assert!(
        !s.state_answers.contains_key("RUNNING"),
        "{:?}",
        s.state_answers
    );
}

/// Runs a control command (`pause`, `resume`, `abort`, `status`) as a second process,
/// without the source's password.
async fn control(case: &Case, verb: &str) -> Out {
    case.command(verb, &[]).env_remove("SRC_PW").run().await
}

/// The `apply` world on a simulator with `opts`, and case `name`'s apply running until
/// the simulator has answered the state name `state` `times` times (the run must not
/// end before that).
async fn apply_until_answered(
    opts: SimOptions,
    name: &str,
    state: &str,
    times: u64,
) -> (SimContext, Case, tokio::process::Child) {
    let sim = SimContext::with(apply_world(), opts).await;
    let case = apply_case(&sim, name);
    let mut child = case.command("apply", &[]).spawn();
    assert!(
        wait_for(&sim, &mut child, |s| s
            .state_answers
            .get(state)
            .is_some_and(|n| *n >= times))
        .await,
        "the run ended before its session answered {state} {times} time(s)"
    );
    (sim, case, child)
}

/// Whether `text` names one of the per-item states right after `prefix`.
fn names_at_work(text: &str, prefix: &str) -> bool {
    AT_WORK
        .iter()
        .any(|n| text.contains(&format!("{prefix}{n}")))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_apply_under_the_guides_names_moves_every_item_once() {
    let sim = SimContext::with(apply_world(), docs(slow().time_scale.bytes_per_second)).await;
    let case = apply_case(&sim, "guide-whole");
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1);
    assert_eq!(calls(&s, "start_transfer_session"), 1);
    for item in ITEMS {
        assert_eq!(s.enqueue_count(item), 1, "{item}: {:#?}", s.enqueues);
    }
    assert_exactly_once(&sim, "guide names");
    assert!(at_work_answers(&s) >= 1, "{:?}", s.state_answers);
    assert_never_running(&s);
    // The progress names the state as answered, the report the end.
    assert!(
        names_at_work(&out.stderr, "old1: session "),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("COMPLETED"), "{}", out.stdout);
    assert!(
        out.stdout.contains("5 items: 4 done, 1 done with warnings"),
        "{}",
        out.stdout
    );
    // Nothing left to do.
    let again = case.run("apply", &[]).await;
    again.assert_code(0);
    assert!(again.stderr.contains("No changes"), "{again:#?}");
    assert_eq!(calls(&sim.sim.stats(), "start_transfer_session"), 1);
}

/// An apply killed (SIGKILL) while its session answers the guide's names leaves a
/// session at work: `plan --no-keep` and `cleanup` leave it alone (it is not PENDING),
/// `status` names its state, and the next apply follows it to the end without creating,
/// queueing into or starting anything.
#[tokio::test(flavor = "multi_thread")]
async fn an_apply_killed_mid_run_is_followed_to_the_end_by_the_next() {
    // One answer at work is enough: once the master log answers, the state is only a
    // safety net and is not read again soon.
    let sim = SimContext::with(apply_world(), docs(SLOW_RATE)).await;
    let case = apply_case(&sim, "guide-killed");
    let mut run = case.command("apply", &[]).watched();
    // Killed once its progress has named the state as answered (after the answer, not
    // at it: a kill right at the answer may come before the line is printed).
    assert!(
        run.wait_for_stderr("old1: session TRANSFER_INPROGRESS")
            .await,
        "the run ended before its session answered TRANSFER_INPROGRESS"
    );
    run.child.kill().await.unwrap(); // SIGKILL
    run.finish().await;
    let killed = sim.sim.stats();
    let session = the_session(&killed);
    assert_eq!(killed.sessions_created, 1);
    assert_eq!(calls(&killed, "start_transfer_session"), 1);

    // A plan sees the session at work: nothing to transfer, nothing discarded.
    let plan = case.run("plan", &["--no-keep", "--format", "json"]).await;
    plan.assert_code(0);
    assert_eq!(
        calls(&sim.sim.stats(), "abort_transfer_session"),
        0,
        "plan --no-keep discarded a session at work"
    );
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let source = &plan["sources"][0];
    assert_eq!(source["session"]["id"], session.as_str(), "{source:#}");
    let state = source["session"]["state"].as_str().unwrap_or_default();
    assert!(AT_WORK.contains(&state), "{state}");
    let items = source["items"].as_array().unwrap();
    assert!(
        items.iter().all(|i| i["action"] != "transfer")
            && items.iter().any(|i| i["action"] == "already-queued"),
        "{items:#?}"
    );
    // cleanup discards only PENDING sessions: this one is left alone.
    let cleanup = case.run("cleanup", &[]).await;
    cleanup.assert_code(0);
    assert!(
        cleanup
            .stdout
            .contains(&format!("old1: left session {session} alone (")),
        "{cleanup:#?}"
    );
    assert!(
        names_at_work(&cleanup.stdout, "alone ("),
        "{}",
        cleanup.stdout
    );
    assert_eq!(calls(&sim.sim.stats(), "abort_transfer_session"), 0);
    // status names the state as answered.
    let status = control(&case, "status").await;
    status.assert_code(0);
    assert!(
        names_at_work(&status.stdout, &format!("session {session} ")),
        "{}",
        status.stdout
    );

    let before = sim.sim.stats();
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!("following session {session}")),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("COMPLETED"), "{}", out.stdout);
    let s = sim.sim.stats();
    assert!(
        at_work_answers(&s) > at_work_answers(&before),
        "the re-run never read a state at work: {:?}",
        s.state_answers
    );
    assert_never_running(&s);
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert_eq!(calls(&s, "start_transfer_session"), 1, "started again");
    assert_eq!(calls(&s, "abort_transfer_session"), 0);
    assert_eq!(s.enqueues, killed.enqueues, "queued again");
    for item in ITEMS {
        assert_eq!(s.enqueue_count(item), 1, "{item}: {:#?}", s.enqueues);
    }
    assert_exactly_once(&sim, "killed, then followed");
    let journal = case.journal("guide-killed");
    let old1 = &journal["sources"]["old1"];
    assert!(old1["session"].is_null(), "{old1:#}");
    assert_eq!(old1["previous_sessions"][0]["state"], "COMPLETED");
}

/// `pause` from a second process stops the apply; `resume` starts the same session
/// again; the next apply follows it (the guide's names again) without a third start.
#[tokio::test(flavor = "multi_thread")]
async fn pause_then_resume_then_apply_finishes_the_same_session() {
    let (sim, case, child) =
        apply_until_answered(docs(SLOW_RATE), "guide-pause", "TRANSFER_INPROGRESS", 1).await;
    let session = the_session(&sim.sim.stats());
    let paused = control(&case, "pause").await;
    paused.assert_code(0);
    assert!(paused.stdout.contains("asked to pause"), "{paused:#?}");
    let out = finish(child).await;
    out.assert_code(1);
    assert!(out.stdout.contains("PAUSED"), "{out:#?}");
    // Items were still waiting when the pause came: the session paused, not completed.
    assert_eq!(sim.sim.session_state(&session).as_deref(), Some("PAUSED"));
    let status = control(&case, "status").await;
    assert!(
        status.stdout.contains(&format!("session {session} PAUSED")),
        "{}",
        status.stdout
    );

    let resumed = control(&case, "resume").await;
    resumed.assert_code(0);
    assert_eq!(calls(&sim.sim.stats(), "start_transfer_session"), 2);

    let before = sim.sim.stats();
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!("following session {session}")),
        "{}",
        out.stderr
    );
    let s = sim.sim.stats();
    assert!(
        at_work_answers(&s) > at_work_answers(&before),
        "{:?}",
        s.state_answers
    );
    assert_never_running(&s);
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert_eq!(
        calls(&s, "start_transfer_session"),
        2,
        "apply started the resumed session again"
    );
    for item in ITEMS {
        assert_eq!(s.enqueue_count(item), 1, "{item}: {:#?}", s.enqueues);
    }
    assert_exactly_once(&sim, "paused, resumed, followed");
    // `resume` said what the session does now, as answered.
    assert!(
        names_at_work(&resumed.stdout, "(now "),
        "{}",
        resumed.stdout
    );
}

/// `abort` from a second process ends the session ABORTED and the apply with an
/// error; the next apply moves what is left in a new session.
#[tokio::test(flavor = "multi_thread")]
async fn abort_stops_the_session_and_the_next_apply_moves_the_rest() {
    let sim = SimContext::with(apply_world(), docs(SLOW_RATE)).await;
    let case = apply_case(&sim, "guide-abort");
    let mut child = case.command("apply", &[]).spawn();
    assert!(
        wait_for(&sim, &mut child, |s| at_work_answers(s) >= 1).await,
        "the run ended before its session was at work"
    );
    let session = the_session(&sim.sim.stats());
    let aborted = control(&case, "abort").await;
    aborted.assert_code(0);
    assert!(aborted.stdout.contains("aborted"), "{aborted:#?}");
    let out = finish(child).await;
    assert_ne!(
        out.code,
        Some(0),
        "an aborted run is not a success: {out:#?}"
    );
    assert!(out.stdout.contains("ABORTED"), "{out:#?}");
    assert_eq!(sim.sim.session_state(&session).as_deref(), Some("ABORTED"));

    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 2, "{s:#?}");
    assert_never_running(&s);
    for user in ACCOUNTS {
        assert_eq!(s.restores.get(user), Some(&1), "{:#?}", s.restores);
    }
    assert_world_complete(&sim.sim.world());
}

/// A destination that answers a state name no document lists (`WORKING`, a newer
/// server's) while a session runs: an apply killed mid-run is followed to the end by
/// the next, never replaced by a second session.
#[tokio::test(flavor = "multi_thread")]
async fn an_undocumented_state_name_is_followed_never_replaced() {
    let mut opts = docs(SLOW_RATE);
    opts.state_names = StateNames::Undocumented;
    let (sim, case, mut child) = apply_until_answered(opts, "undocumented", "WORKING", 2).await;
    child.kill().await.unwrap(); // SIGKILL
    finish(child).await;
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert_eq!(calls(&s, "start_transfer_session"), 1, "started again");
    assert_exactly_once(&sim, "an undocumented state name");
}
