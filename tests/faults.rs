//! The fault matrix (issue 6, item 1): `whm-migrate apply` against a simulator that
//! misbehaves on purpose. Every test ends with the migration complete (possibly after a
//! re-run) or a clear error, and proves "never twice" on the simulator's counters.

use crate::support::apply_world::{
    ACCOUNTS, ITEMS, apply_case, apply_world as world, assert_world_complete, slow, the_session,
};
use crate::support::wait::until;
use crate::support::{self, Bin, Case, Out, SimContext, SimHttp, Watched, calls, finish, wait_for};
use whm_migrate::sim::{Faults, SimOptions, SimStats, Simulator, World};

const PASSWORD: &str = support::SRC_PASSWORD;

/// How many runs a faulty destination may take before apply must have completed.
const MAX_RUNS: usize = 6;

fn with_faults(faults: Faults, seed: u64) -> SimOptions {
    SimOptions {
        faults,
        seed,
        ..SimOptions::default()
    }
}

/// The `apply` world's manifest, its state dir and a scratch dir.
fn case(sim: &SimContext) -> Case {
    apply_case(sim, "faults-test")
}

/// Runs apply until it succeeds. A failed run must exit 1 (an error before or during
/// the run) or 3 (items failed), say what went wrong, never leak a secret, and never
/// transfer anything twice.
async fn converge(case: &Case, sim: &SimContext, what: &str) -> (usize, Out) {
    for run in 1..=MAX_RUNS {
        let out = case.run("apply", &[]).await;
        assert_no_secret(&out);
        assert_never_twice(&sim.sim.stats(), what);
        if out.code == Some(0) {
            return (run, out);
        }
        assert!(
            matches!(out.code, Some(1 | 3)),
            "{what}: run {run} ended with {out:#?}"
        );
        assert!(
            out.stderr.contains("error") || out.stdout.contains("FAILED"),
            "{what}: run {run} failed without saying why: {out:#?}"
        );
        // A broken connection says how to go on.
        if out.stderr.contains("connection") && out.stderr.contains("broke") {
            assert!(out.stderr.contains("re-run"), "{what}: {out:#?}");
        }
        eprintln!(
            "{what}: run {run} exited {:?}; re-running\n{}",
            out.code, out.stderr
        );
    }
    panic!("{what}: apply did not complete in {MAX_RUNS} runs");
}

fn fault_count(s: &SimStats, kind: &str) -> u64 {
    s.faults.get(kind).copied().unwrap_or(0)
}

fn assert_no_secret(out: &Out) {
    for secret in [PASSWORD, support::TOKEN] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "a secret leaked: {out:#?}"
        );
    }
}

/// Nothing transferred, restored or queued twice so far.
fn assert_never_twice(s: &SimStats, what: &str) {
    assert!(s.transfers.values().all(|n| *n <= 1), "{what}: {s:#?}");
    assert!(s.restores.values().all(|n| *n <= 1), "{what}: {s:#?}");
    assert!(s.item_restores.values().all(|n| *n <= 1), "{what}: {s:#?}");
    for item in ITEMS {
        assert!(s.enqueue_count(item) <= 1, "{what}: {item}: {s:#?}");
    }
}

/// Every account transferred and restored exactly once, every item restored and
/// queued once, and the destination holds them all.
fn assert_exactly_once(sim: &SimContext, what: &str) {
    support::apply_world::assert_exactly_once(sim, what);
    let s = sim.sim.stats();
    for item in ITEMS {
        assert_eq!(
            s.enqueue_count(item),
            1,
            "{what}: {item}: {:#?}",
            s.enqueues
        );
    }
}

/// Acts on a session "from outside" through the simulator's admin endpoint.
async fn admin(sim: &SimContext, session: &str, action: &str) -> serde_json::Value {
    SimHttp::new(&sim.sim.base_url())
        .session(session, action)
        .await
}

/// A faulty destination under a few seeds: apply converges, each item exactly once.
async fn converges_under(faults: Faults, kinds: &[&str], what: &str) {
    let mut injected = 0;
    for seed in [1, 2, 3] {
        let sim = SimContext::with(world(), with_faults(faults.clone(), seed)).await;
        let case = case(&sim);
        let what = format!("{what} (seed {seed})");
        let (_, out) = converge(&case, &sim, &what).await;
        assert!(out.stdout.contains("COMPLETED"), "{what}: {out:#?}");
        let s = sim.sim.stats();
        injected += kinds.iter().map(|k| fault_count(&s, k)).sum::<u64>();
        assert_exactly_once(&sim, &what);
    }
    assert!(injected > 0, "{what}: no fault was injected");
}

// 1. result-0 answers on reads: retried at most twice per read, otherwise an error
// that names the call; nothing is doubled.
#[tokio::test(flavor = "multi_thread")]
async fn result_zero_reads_complete_without_duplicates() {
    converges_under(
        Faults {
            result_zero: 0.2,
            ..Faults::default()
        },
        &["result_zero"],
        "result_zero",
    )
    .await;
}

// 2. HTML pages (a proxy's error page, a login page) and truncated JSON.
#[tokio::test(flavor = "multi_thread")]
async fn html_pages_and_truncated_json_complete_without_duplicates() {
    converges_under(
        Faults {
            html_page: 0.15,
            truncated_json: 0.15,
            ..Faults::default()
        },
        &["html_page", "truncated_json"],
        "html+truncated",
    )
    .await;
}

// 3. Responses lost after the server acted: on enqueue and start the dangerous case.
#[tokio::test(flavor = "multi_thread")]
async fn answers_lost_after_the_server_acted_never_double_anything() {
    converges_under(
        Faults {
            drop_after: 0.2,
            ..Faults::default()
        },
        &["drop_after"],
        "drop_after",
    )
    .await;
}

// 3b. Every enqueue and start answer lost once the server acted, on one session: the
// enqueue asked again into the same session (a refusal leaves it queued, unconfirmed, for
// the master log to decide) and the start's state read reconcile them.
#[tokio::test(flavor = "multi_thread")]
async fn every_write_answer_lost_after_the_fact_is_reconciled() {
    let sim = SimContext::start(world()).await;
    let case = case(&sim);
    let mut child = case.command("apply", &[]).spawn();
    // Lose every answer once the session exists (enqueues, start and reads alike).
    assert!(wait_for(&sim, &mut child, |s| s.sessions_created >= 1).await);
    sim.sim.set_faults(Faults {
        drop_after: 0.5,
        ..Faults::default()
    });
    let out = finish(child).await;
    sim.sim.set_faults(Faults::default());
    assert_never_twice(&sim.sim.stats(), "drop_after 0.5");
    if out.code != Some(0) {
        assert!(out.stderr.contains("error"), "{out:#?}");
        converge(&case, &sim, "after drop_after 0.5").await;
    }
    let s = sim.sim.stats();
    assert!(fault_count(&s, "drop_after") > 0, "{s:#?}");
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert_exactly_once(&sim, "drop_after 0.5");
}

// 4. Latency spikes are only a slowdown.
#[tokio::test(flavor = "multi_thread")]
async fn latency_spikes_only_slow_apply_down() {
    let sim = SimContext::with(
        world(),
        with_faults(
            Faults {
                latency_probability: 0.3,
                latency_ms: 300,
                ..Faults::default()
            },
            7,
        ),
    )
    .await;
    let case = case(&sim);
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert!(fault_count(&s, "latency") > 0, "{s:#?}");
    assert_eq!(s.sessions_created, 1);
    assert_exactly_once(&sim, "latency");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_five_second_latency_spike_while_following_only_delays_apply() {
    let sim = SimContext::with(world(), slow()).await;
    let case = case(&sim);
    let (mut run, _session) = running(&sim, &case).await;
    // Every answer takes 5 s for a while: polls and log fetches wait, nothing fails. The
    // while lasts until an answer the spike held back has gone out: more calls reached
    // their handler since the spike began than had arrived unhandled before it.
    sim.sim.set_faults(Faults {
        latency_probability: 1.0,
        latency_ms: 5_000,
        ..Faults::default()
    });
    let at = sim.sim.stats();
    let unhandled = at.http_requests - handled(&at);
    assert!(
        wait_for(&sim, &mut run.child, |s| handled(s)
            > handled(&at) + unhandled)
        .await,
        "apply ended during the spike"
    );
    sim.sim.set_faults(Faults::default());
    let out = run.finish().await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert!(fault_count(&s, "latency") > 0, "{s:#?}");
    assert_eq!(s.sessions_created, 1);
    assert_exactly_once(&sim, "a 5 s latency spike");
}

/// WHM calls that reached their handler (after any latency the simulator added).
fn handled(s: &SimStats) -> u64 {
    s.calls.values().sum()
}

/// Starts apply on a slow simulator and returns once the session is running and
/// polled, with its id.
async fn running(sim: &SimContext, case: &Case) -> (Watched, String) {
    running_with(sim, case.command("apply", &[])).await
}

/// [`running`] for the invocation `apply`.
async fn running_with(sim: &SimContext, apply: Bin) -> (Watched, String) {
    let mut run = apply.watched();
    assert!(
        wait_for(sim, &mut run.child, |s| calls(s, "start_transfer_session")
            >= 1
            && calls(s, "get_transfer_session_state") >= 2)
        .await
    );
    let session = the_session(&sim.sim.stats());
    (run, session)
}

/// After a session ended early from outside: a re-run finishes the rest in a new
/// session, and nothing was transferred or restored twice.
async fn rerun_finishes_the_rest(sim: &SimContext, case: &Case, what: &str) {
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 2, "{what}: {s:#?}");
    for user in ACCOUNTS {
        assert_eq!(
            s.restores.get(user),
            Some(&1),
            "{what}: {user}: {:#?}",
            s.restores
        );
    }
    for item in ITEMS {
        assert_eq!(
            s.item_restores.get(item),
            Some(&1),
            "{what}: {item}: {s:#?}"
        );
    }
    assert!(s.transfers.values().all(|n| *n <= 2), "{what}: {s:#?}");
    assert_world_complete(&sim.sim.world());
    let again = case.run("apply", &[]).await;
    again.assert_code(0);
    assert_eq!(sim.sim.stats().sessions_created, 2, "{what}: nothing left");
}

// 5a. A session failed from outside: apply says FAILED (non-zero), a re-run completes.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_failed_from_outside_is_reported_failed_and_a_rerun_completes() {
    let sim = SimContext::with(world(), slow()).await;
    let case = case(&sim);
    let (run, session) = running(&sim, &case).await;
    let r = admin(&sim, &session, "fail").await;
    assert_eq!(r["ok"], true, "{r}");
    let out = run.finish().await;
    assert_ne!(out.code, Some(0), "{out:#?}");
    assert!(out.stdout.contains("FAILED"), "{out:#?}");
    assert!(!out.stdout.contains("COMPLETED"), "{out:#?}");
    assert_eq!(sim.sim.session_state(&session).as_deref(), Some("FAILED"));
    rerun_finishes_the_rest(&sim, &case, "failed from outside").await;
}

// 5b. A session aborted from outside: apply says ABORTED (non-zero), a re-run completes.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_aborted_from_outside_is_reported_aborted_and_a_rerun_completes() {
    let sim = SimContext::with(world(), slow()).await;
    let case = case(&sim);
    let (run, session) = running(&sim, &case).await;
    let r = admin(&sim, &session, "abort").await;
    assert_eq!(r["ok"], true, "{r}");
    let out = run.finish().await;
    assert_ne!(out.code, Some(0), "{out:#?}");
    assert!(out.stdout.contains("ABORTED"), "{out:#?}");
    assert!(!out.stdout.contains("COMPLETED"), "{out:#?}");
    assert_eq!(sim.sim.session_state(&session).as_deref(), Some("ABORTED"));
    rerun_finishes_the_rest(&sim, &case, "aborted from outside").await;
}

// 6. COMPLETED shown for a while before FAILED: apply reports FAILED, not COMPLETED.
#[tokio::test(flavor = "multi_thread")]
async fn a_completed_flicker_before_failed_is_reported_failed() {
    for flicker_ms in [100, 1_500] {
        let mut opts = slow();
        opts.faults.flicker_ms = flicker_ms;
        let sim = SimContext::with(world(), opts).await;
        let case = case(&sim);
        let (run, session) = running(&sim, &case).await;
        let r = admin(&sim, &session, "fail").await;
        assert_eq!(r["ok"], true, "{r}");
        let out = run.finish().await;
        let s = sim.sim.stats();
        assert_eq!(fault_count(&s, "flicker"), 1, "{s:#?}");
        assert_ne!(out.code, Some(0), "flicker {flicker_ms} ms: {out:#?}");
        assert!(
            out.stdout.contains("FAILED"),
            "flicker {flicker_ms} ms: {out:#?}"
        );
        assert!(
            !out.stdout.contains("COMPLETED"),
            "flicker {flicker_ms} ms: {out:#?}"
        );
        // apply may have ended before the flicker did: wait it out.
        until("the session to end FAILED", || {
            sim.sim.session_state(&session).as_deref() == Some("FAILED")
        })
        .await;
        rerun_finishes_the_rest(&sim, &case, &format!("flicker {flicker_ms} ms")).await;
    }
}

// 7. The destination restarts mid-run (same state file, same port): apply rides out the
// outage and every item lands exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn a_destination_restarting_mid_run_is_ridden_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = slow();
    opts.state_file = Some(dir.path().join("sim-state.json"));
    let sim = SimContext::with(world(), opts.clone()).await;
    let addr = sim.sim.addr();
    let case = case(&sim);
    // At debug level apply says on stderr when a read fails and is retried.
    let apply = case
        .command("apply", &[])
        .env("WHM_MIGRATE_LOG", "whm_migrate=debug");
    let (mut run, session) = running_with(&sim, apply).await;
    let before = sim.sim.stats();
    let last = sim.sim.shutdown().await;
    assert_eq!(
        last.sessions.get(&session).map(|s| s.state.name()),
        Some("RUNNING"),
        "the restart must land mid-run"
    );
    // Restored before the restart, as the state file says.
    let restored_before: Vec<&str> = ACCOUNTS
        .into_iter()
        .filter(|u| last.world.destination.account(u).is_some())
        .collect();
    // The outage lasts until apply has met it: a read failed, and is tried again.
    assert!(
        run.wait_for_stderr("retrying a read").await,
        "apply ended during the outage"
    );
    assert!(
        run.child.try_wait().unwrap().is_none(),
        "apply gave up during the outage"
    );
    opts.listen = addr;
    support::TOKEN.clone_into(&mut opts.api_token);
    let restarted = Simulator::start(World::default(), opts)
        .await
        .expect("the simulator could not come back on the same port");
    let sim = SimContext::from(restarted);
    let out = run.finish().await;
    out.assert_code(0);
    assert!(out.stdout.contains("COMPLETED"), "{out:#?}");
    let after = sim.sim.stats();
    assert_eq!(
        before.sessions_created + after.sessions_created,
        1,
        "{after:#?}"
    );
    assert_eq!(after.enqueues.len(), 0, "nothing queued after the restart");
    for user in ACCOUNTS {
        let again = after.restores.get(user).copied().unwrap_or(0);
        let want = u64::from(!restored_before.contains(&user));
        assert_eq!(
            again, want,
            "{user}: before {restored_before:?}, {after:#?}"
        );
    }
    assert!(after.transfers.values().all(|n| *n <= 1), "{after:#?}");
    assert_world_complete(&sim.sim.world());
    // Nothing left to do.
    let before = sim.sim.stats();
    let again = case.run("apply", &[]).await;
    again.assert_code(0);
    assert_eq!(sim.sim.stats().enqueues, before.enqueues);
}
