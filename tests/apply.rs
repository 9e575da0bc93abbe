//! `whm-migrate apply` end to end: the binary against the in-process simulator over
//! loopback HTTP (issue 5). Every effect is checked on the simulator's counters and
//! world, not on what apply says about itself.

use crate::support::apply_world::{
    ACCOUNTS, ITEMS, apply_case, apply_world as world, assert_world_complete, slow, the_session,
};
use crate::support::{self, Case, Out, SimContext, calls, finish, wait_for};
use std::collections::BTreeMap;
use std::path::Path;
use whm_migrate::sim::{Faults, SimOptions, SimStats};

/// The world's root password: must never appear in anything apply writes.
const PASSWORD: &str = support::SRC_PASSWORD;
/// The migration's name (its journal's).
const NAME: &str = "apply-test";

/// The `apply` world's manifest, its state dir and a scratch dir.
fn case(sim: &SimContext) -> Case {
    apply_case(sim, NAME)
}

fn total(map: &BTreeMap<String, u64>) -> u64 {
    map.values().sum()
}

/// Every account transferred and restored exactly once, every item restored once, and
/// the destination holds them all.
fn assert_exactly_once(sim: &SimContext) {
    support::apply_world::assert_exactly_once(sim, "apply");
}

// 1.
#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_apply_transfers_every_item_once() {
    let sim = SimContext::start(world()).await;
    let case = case(&sim);
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert_exactly_once(&sim);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1);
    let session = the_session(&s);
    for item in ITEMS {
        assert_eq!(s.enqueue_count(item), 1, "{item}: {:#?}", s.enqueues);
    }
    // The report: the session, its end, the counts, and the item with warnings named.
    assert!(out.stdout.contains(&session), "{}", out.stdout);
    assert!(out.stdout.contains("COMPLETED"), "{}", out.stdout);
    assert!(
        out.stdout.contains("5 items: 4 done, 1 done with warnings"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("warnings bob"), "{}", out.stdout);
    // The plain progress names every item as it is restored.
    for name in [
        "alice",
        "bob",
        "carol",
        "package gold",
        "feature list gold features",
    ] {
        assert!(
            out.stderr.contains(&format!("{name}: restored")),
            "{name}: {}",
            out.stderr
        );
    }
}

// 2.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_apply_changes_nothing() {
    let sim = SimContext::start(world()).await;
    let case = case(&sim);
    case.run("apply", &[]).await.assert_code(0);
    let before = sim.sim.stats();
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let after = sim.sim.stats();
    assert_eq!(after.enqueues, before.enqueues);
    assert_eq!(after.sessions_created, before.sessions_created);
    assert_eq!(after.transfers, before.transfers);
    assert_eq!(calls(&after, "start_transfer_session"), 1);
    assert!(out.stderr.contains("No changes"), "{out:#?}");
    assert_exactly_once(&sim);
}

fn fail_carol() -> Faults {
    Faults {
        fail_restore: [(
            "carol".to_owned(),
            "The system failed to restore the home directory: Disk quota exceeded.".to_owned(),
        )]
        .into(),
        ..Faults::default()
    }
}

// 3. and 7.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_restore_exits_3_and_a_rerun_retries_only_it() {
    let sim = SimContext::with(
        world(),
        SimOptions {
            faults: fail_carol(),
            ..SimOptions::default()
        },
    )
    .await;
    let case = case(&sim);
    let junit = case.dir.path().join("junit.xml");
    let out = case
        .run("apply", &["--junit", junit.to_str().unwrap()])
        .await;
    out.assert_code(3);
    assert!(out.stdout.contains("FAILED carol"), "{}", out.stdout);
    // The item log's excerpt, not just the master log's one-liner.
    assert!(out.stdout.contains("      | "), "{}", out.stdout);
    assert!(out.stdout.contains("Disk quota exceeded"), "{}", out.stdout);
    let first = sim.sim.stats();
    let first_session = the_session(&first);
    assert_eq!(first.restores.get("carol"), None);
    assert_eq!(first.restores.get("alice"), Some(&1));

    // JUnit: one test case per item, one failure (carol's).
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase").count(), ITEMS.len(), "{xml}");
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
    let carol = xml
        .split("<testcase")
        .find(|t| t.contains("<failure"))
        .unwrap();
    assert!(carol.contains("carol"), "{xml}");
    assert!(carol.contains("Disk quota exceeded"), "{xml}");
    assert!(!xml.contains(PASSWORD) && !xml.contains(support::TOKEN));

    // The journal remembers the failure.
    let journal = case.journal(NAME);
    let item = &journal["sources"]["old1"]["items"]["AccountRemoteRoot/carol"];
    assert_eq!(item["state"], "failed", "{journal:#}");

    sim.sim.set_faults(Faults::default());
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 2, "a new session for the retry");
    assert_eq!(s.enqueues.len(), 2);
    let retry = s.enqueues.keys().find(|k| **k != first_session).unwrap();
    assert_eq!(
        s.enqueues[retry].keys().collect::<Vec<_>>(),
        ["AccountRemoteRoot/carol"],
        "only the failed item is retried"
    );
    for item in ITEMS {
        let want = if item.ends_with("carol") { 2 } else { 1 };
        assert_eq!(s.enqueue_count(item), want, "{item}");
    }
    assert_eq!(s.restores.get("carol"), Some(&1));
    for user in ["alice", "bob"] {
        assert_eq!(s.transfers[&format!("src.example.com/{user}")], 1);
        assert_eq!(s.restores[user], 1);
    }
    assert_world_complete(&sim.sim.world());
}

/// A point in a run, from the counters before it and now.
type Milestone = Box<dyn Fn(&SimStats, &SimStats) -> bool>;

// 4.
#[tokio::test(flavor = "multi_thread")]
async fn killed_at_any_point_a_rerun_transfers_everything_exactly_once() {
    // Every request takes a while, so the kill points below land where they are named.
    let mut opts = slow();
    opts.faults = Faults {
        latency_probability: 1.0,
        latency_ms: 60,
        ..Faults::default()
    };
    let sim = SimContext::with(world(), opts).await;
    let case = case(&sim);
    let points: [(&str, Milestone); 4] = [
        (
            "session created, nothing queued",
            Box::new(|_, s| s.sessions_created >= 1),
        ),
        (
            "while enqueueing",
            Box::new(|b, s| {
                calls(s, "enqueue_transfer_item") >= calls(b, "enqueue_transfer_item") + 2
            }),
        ),
        (
            "after enqueueing, at the start",
            Box::new(|b, s| {
                calls(s, "start_transfer_session") > calls(b, "start_transfer_session")
            }),
        ),
        (
            "while monitoring",
            Box::new(|b, s| total(&s.transfers) > total(&b.transfers)),
        ),
    ];
    let mut killed = 0;
    for (name, milestone) in points {
        let before = sim.sim.stats();
        let mut child = case.command("apply", &[]).spawn();
        let reached = wait_for(&sim, &mut child, |s| milestone(&before, s)).await;
        if reached && child.try_wait().unwrap().is_none() {
            child.kill().await.unwrap(); // SIGKILL
            killed += 1;
        } else {
            eprintln!("{name}: the run ended before the kill point");
        }
        let out = finish(child).await;
        assert!(
            out.code.is_none() || out.code == Some(0),
            "{name}: {out:#?}"
        );
        // No duplicate at any point.
        let s = sim.sim.stats();
        assert!(s.transfers.values().all(|n| *n == 1), "{name}: {s:#?}");
        assert!(s.item_restores.values().all(|n| *n == 1), "{name}: {s:#?}");
    }
    assert!(killed >= 3, "only {killed} kill(s) landed");
    sim.sim.set_faults(Faults::default());
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert_exactly_once(&sim);
    // The report counts each of the manifest's items once, however the runs split them.
    assert!(
        out.stdout.contains("Total over 1 source: 5 items"),
        "{}",
        out.stdout
    );
    // Still nothing to do afterwards.
    let before = sim.sim.stats();
    case.run("apply", &[]).await.assert_code(0);
    assert_eq!(sim.sim.stats().enqueues, before.enqueues);
}

// 5.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_concurrent_apply_fails_fast_naming_the_holder() {
    let sim = SimContext::with(world(), slow()).await;
    let case = case(&sim);
    let mut first = case.command("apply", &[]).spawn();
    let pid = first.id().unwrap();
    // The first holds the lock once it talks to the destination.
    assert!(wait_for(&sim, &mut first, |s| s.sessions_created >= 1).await);
    let second = case.run("apply", &[]).await;
    second.assert_code(1);
    assert!(
        second.stderr.contains(&format!("pid {pid}")),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("apply"), "{}", second.stderr);
    let out = finish(first).await;
    out.assert_code(0);
    assert_exactly_once(&sim);
    assert_eq!(sim.sim.stats().sessions_created, 1);
}

// 6.
#[tokio::test(flavor = "multi_thread")]
async fn the_journal_is_private_records_sessions_and_items_and_holds_no_secret() {
    let sim = SimContext::start(world()).await;
    let case = case(&sim);
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let session = the_session(&sim.sim.stats());
    let path = case.journal_path(NAME);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&session), "{text}");
    let journal = case.journal(NAME);
    let items = journal["sources"]["old1"]["items"].as_object().unwrap();
    assert_eq!(items.len(), ITEMS.len(), "{text}");
    for item in ITEMS {
        assert_eq!(items[item]["session"], session.as_str(), "{text}");
        let state = items[item]["state"].as_str().unwrap();
        assert!(state == "done" || state == "warnings", "{item}: {text}");
    }
    for secret in [PASSWORD, support::TOKEN] {
        for (what, text) in [
            ("journal", &text),
            ("stdout", &out.stdout),
            ("stderr", &out.stderr),
        ] {
            assert!(!text.contains(secret), "{what} holds a secret: {text}");
        }
        for entry in std::fs::read_dir(&case.state).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!String::from_utf8_lossy(&bytes).contains(secret));
        }
    }
}

fn term(child: &tokio::process::Child) {
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

// 8.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_following_leaves_the_session_running_and_says_how_to_resume() {
    // Slower still: the session must outlive the interrupted run and the re-run's plan.
    let mut opts = slow();
    opts.time_scale.bytes_per_second = 3_000_000;
    let sim = SimContext::with(world(), opts).await;
    let case = case(&sim);
    let mut child = case.command("apply", &[]).spawn();
    // Following: started, its state read and its log fetched a few times (the state
    // is only a safety net while the log answers).
    assert!(
        wait_for(&sim, &mut child, |s| calls(s, "start_transfer_session")
            >= 1
            && calls(s, "get_transfer_session_state") >= 1
            && calls(s, "fetch_transfer_session_log") >= 3)
        .await
    );
    term(&child);
    let out = finish(child).await;
    out.assert_code(130);
    let resume = format!(
        "resume with: whm-migrate apply {} --state-dir {}",
        case.manifest.display(),
        case.state.display()
    );
    assert!(out.stderr.contains(&resume), "{}", out.stderr);
    let s = sim.sim.stats();
    let session = the_session(&s);
    assert!(
        out.stderr.contains(&format!(
            "still running on the destination: old1 (session {session})"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(sim.sim.session_state(&session).as_deref(), Some("RUNNING"));
    assert_eq!(calls(&s, "abort_transfer_session"), 0);
    assert_eq!(calls(&s, "pause_transfer_session"), 0);
    let journal = case.journal(NAME);
    assert_eq!(
        journal["sources"]["old1"]["session"]["id"],
        session.as_str()
    );
    assert_eq!(journal["sources"]["old1"]["session"]["state"], "RUNNING");

    // The re-run follows that session to its end: nothing is queued again.
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!("following session {session}")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("No changes"), "{}", out.stderr);
    assert!(
        out.stdout.contains("Total over 1 source: 5 items"),
        "{}",
        out.stdout
    );
    let after = sim.sim.stats();
    assert_eq!(after.enqueues, s.enqueues);
    assert_eq!(after.sessions_created, 1);
    assert_exactly_once(&sim);
    // Its step costs are kept for later plans, though this run did not see it start.
    let journal = case.journal(NAME);
    let runs = journal["sources"]["old1"]["runs"].as_array().expect("runs");
    let run = runs
        .iter()
        .find(|r| r["session"] == session.as_str())
        .unwrap_or_else(|| panic!("the resumed session's run: {runs:?}"));
    assert_eq!(run["elapsed_ms"], 0, "{run}");
    assert!(
        run["pace"]["transfer_bytes_per_second"].as_u64() > Some(0),
        "{run}"
    );
    assert!(
        run["pace"]["restore_bytes_per_second"].as_u64() > Some(0),
        "{run}"
    );
}

// 8, before the session starts: nothing runs until the next apply, and it says so.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_enqueueing_says_the_session_waits_and_a_rerun_finishes() {
    let mut opts = slow();
    opts.faults = Faults {
        latency_probability: 1.0,
        latency_ms: 100,
        ..Faults::default()
    };
    let sim = SimContext::with(world(), opts).await;
    let case = case(&sim);
    let mut child = case.command("apply", &[]).spawn();
    assert!(wait_for(&sim, &mut child, |s| calls(s, "enqueue_transfer_item") >= 2).await);
    term(&child);
    let out = finish(child).await;
    out.assert_code(130);
    let s = sim.sim.stats();
    let session = the_session(&s);
    assert_eq!(sim.sim.session_state(&session).as_deref(), Some("PENDING"));
    assert!(
        out.stderr.contains(&format!(
            "not started yet (their queued items wait for the next apply): old1 (session {session})"
        )),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("still running"), "{}", out.stderr);
    sim.sim.set_faults(Faults::default());
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert_eq!(sim.sim.stats().sessions_created, 1);
    assert_exactly_once(&sim);
    for item in ITEMS {
        assert_eq!(
            sim.sim.stats().enqueues[&session].get(item),
            Some(&1),
            "{item}"
        );
    }
}

// 8b, while planning (the analysis answer is slow): nothing is queued, and it says how to
// go on.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_planning_queues_nothing_and_says_how_to_resume() {
    let mut opts = slow();
    opts.faults = Faults {
        answer_delay_ms: [(
            "retrieve_transfer_session_remote_analysis".to_owned(),
            30_000,
        )]
        .into(),
        ..Faults::default()
    };
    let sim = SimContext::with(world(), opts).await;
    let case = case(&sim);
    let mut child = case.command("apply", &[]).spawn();
    assert!(
        wait_for(&sim, &mut child, |s| calls(
            s,
            "retrieve_transfer_session_remote_analysis"
        ) >= 1)
        .await
    );
    term(&child);
    let out = finish(child).await;
    out.assert_code(130);
    let resume = format!(
        "resume with: whm-migrate apply {} --state-dir {}",
        case.manifest.display(),
        case.state.display()
    );
    assert!(
        out.stderr
            .contains("interrupted while planning: nothing was queued or started")
            && out.stderr.contains(&resume),
        "{}",
        out.stderr
    );
    let s = sim.sim.stats();
    assert_eq!(calls(&s, "enqueue_transfer_item"), 0);
    assert_eq!(calls(&s, "start_transfer_session"), 0);
    // The session created before the signal was recorded: the re-run reuses it.
    sim.sim.set_faults(Faults::default());
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert_eq!(sim.sim.stats().sessions_created, 1);
    assert_exactly_once(&sim);
}

// 9.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_applies_then_finds_no_changes() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/demo.toml");
    let run = || {
        support::bin()
            .arg("apply")
            .arg(&manifest)
            .arg("--state-dir")
            .arg(dir.path())
            .args(["--progress", "plain"])
            .run()
    };
    let first = run().await;
    first.assert_code(0);
    assert!(first.stdout.contains("6 items"), "{first:#?}");
    assert!(dir.path().join("demo.sim-world.json").exists());
    let second = run().await;
    second.assert_code(0);
    assert!(second.stderr.contains("No changes"), "{second:#?}");
    assert!(!second.stderr.contains("session"), "{second:#?}");
}

// Fault matrix: 20% of requests fail (HTTP 500, dropped before or after acting).
// Reads are retried, enqueue and start are reconciled with the server; a session
// create whose answer is lost is not retried (it may have happened): apply stops with
// exit 1 naming it, and a re-run completes. Seed 6 loses the first create's answer.
#[tokio::test(flavor = "multi_thread")]
async fn with_a_fifth_of_requests_failing_apply_completes_without_duplicates() {
    for seed in [0x5eed, 6] {
        let sim = SimContext::with(
            world(),
            SimOptions {
                faults: Faults {
                    http_500: 0.1,
                    drop_before: 0.05,
                    drop_after: 0.05,
                    ..Faults::default()
                },
                seed,
                ..SimOptions::default()
            },
        )
        .await;
        let case = case(&sim);
        let mut runs = 0;
        loop {
            runs += 1;
            let out = case.run("apply", &[]).await;
            if out.code == Some(0) {
                break;
            }
            out.assert_code(1);
            assert!(
                out.stderr.contains("create_remote_root_transfer_session"),
                "seed {seed}: {out:#?}"
            );
            assert!(runs < 5, "seed {seed}: no success in {runs} runs");
        }
        let s = sim.sim.stats();
        assert!(total(&s.faults) > 0, "seed {seed}: no fault was injected");
        for item in ITEMS {
            assert_eq!(s.enqueue_count(item), 1, "{item}: {:#?}", s.enqueues);
        }
        assert_exactly_once(&sim);
    }
}

// Fault matrix: log fetches block until the log is finished.
#[tokio::test(flavor = "multi_thread")]
async fn blocking_log_fetches_do_not_stall_apply() {
    let mut opts = slow();
    opts.blocking_logs = true;
    let sim = SimContext::with(world(), opts).await;
    let case = case(&sim);
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert!(out.stdout.contains("COMPLETED"), "{}", out.stdout);
    assert!(
        out.stdout.contains("5 items: 4 done, 1 done with warnings"),
        "{}",
        out.stdout
    );
    assert_exactly_once(&sim);
}

// Someone pauses the session (WHM's UI, `whm-migrate pause`) while apply follows it:
// apply stops following and says so instead of polling a PAUSED session forever; a
// re-run resumes the same session.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_paused_on_the_destination_stops_apply_and_a_rerun_resumes_it() {
    let sim = SimContext::with(world(), slow()).await;
    let case = case(&sim);
    let mut child = case.command("apply", &[]).spawn();
    assert!(
        wait_for(&sim, &mut child, |s| calls(s, "start_transfer_session")
            >= 1
            && calls(s, "get_transfer_session_state") >= 2)
        .await
    );
    let session = the_session(&sim.sim.stats());
    sim.client.pause_transfer_session(&session).await.unwrap();
    let out = finish(child).await;
    out.assert_code(1);
    assert!(out.stdout.contains("PAUSED"), "{out:#?}");
    assert!(
        out.stdout
            .contains(&format!("whm-migrate apply {}", case.manifest.display())),
        "{out:#?}"
    );
    assert_eq!(sim.sim.session_state(&session).as_deref(), Some("PAUSED"));

    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1);
    assert_eq!(s.enqueues.len(), 1);
    for item in ITEMS {
        assert_eq!(s.enqueue_count(item), 1, "{item}");
    }
    assert_exactly_once(&sim);
}

/// Runs a control command (`pause`, `resume`, `abort`, `status`) as a second process,
/// without the source's password.
async fn control(case: &Case, verb: &str) -> Out {
    case.command(verb, &[]).env_remove("SRC_PW").run().await
}

#[tokio::test(flavor = "multi_thread")]
async fn pause_resume_and_abort_from_a_second_process_during_a_run() {
    let sim = SimContext::with(world(), slow()).await;
    let case = case(&sim);
    let mut child = case.command("apply", &[]).spawn();
    assert!(
        wait_for(&sim, &mut child, |s| calls(s, "start_transfer_session")
            >= 1)
        .await
    );
    let session = the_session(&sim.sim.stats());

    // status works beside the running apply (no lock), and names the session.
    let status = control(&case, "status").await;
    status.assert_code(0);
    assert!(status.stdout.contains(&session), "{status:#?}");

    // pause from a second process: the session pauses, apply stops and says so.
    let paused = control(&case, "pause").await;
    paused.assert_code(0);
    assert!(paused.stdout.contains("asked to pause"), "{paused:#?}");
    let out = finish(child).await;
    out.assert_code(1);
    let state = sim.sim.session_state(&session);
    assert!(
        matches!(state.as_deref(), Some("PAUSED" | "COMPLETED")),
        "{state:?}"
    );

    // resume from a second process: the same session runs again.
    if state.as_deref() == Some("PAUSED") {
        let resumed = control(&case, "resume").await;
        resumed.assert_code(0);
        assert_ne!(sim.sim.session_state(&session).as_deref(), Some("PAUSED"));
    }
    // apply follows it to the end without a second session or a second enqueue.
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1);
    for item in ITEMS {
        assert_eq!(s.enqueue_count(item), 1, "{item}");
    }
    assert_exactly_once(&sim);
}

#[tokio::test(flavor = "multi_thread")]
async fn abort_from_a_second_process_stops_the_run_and_the_next_apply_moves_the_rest() {
    let sim = SimContext::with(world(), slow()).await;
    let case = case(&sim);
    let mut child = case.command("apply", &[]).spawn();
    assert!(
        wait_for(&sim, &mut child, |s| calls(s, "start_transfer_session")
            >= 1)
        .await
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
    assert_eq!(sim.sim.session_state(&session).as_deref(), Some("ABORTED"));
    // A second abort is refused: the session is over.
    control(&case, "abort").await.assert_code(1);

    // The next apply moves what the abort left, in a new session, each item once.
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 2, "{s:#?}");
    for user in ACCOUNTS {
        assert_eq!(s.restores.get(user), Some(&1), "{:#?}", s.restores);
    }
    assert_world_complete(&sim.sim.world());
}

/// A failure text from the server carrying terminal control sequences (a clipboard
/// write, a screen clear) reaches the terminal escaped, in the report and in the
/// progress lines (issue 20 item 7).
#[tokio::test(flavor = "multi_thread")]
async fn control_sequences_from_the_server_reach_the_terminal_escaped() {
    let sim = SimContext::with(
        world(),
        SimOptions {
            faults: Faults {
                fail_restore: [(
                    "carol".to_owned(),
                    "Disk full\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J here".to_owned(),
                )]
                .into(),
                ..Faults::default()
            },
            ..SimOptions::default()
        },
    )
    .await;
    let case = case(&sim);
    let out = case.run("apply", &["--color", "never"]).await;
    out.assert_code(3);
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{stream}: {text:?}"
        );
    }
    assert!(
        out.stdout
            .contains(r"Disk full\x1b]52;c;ZXZpbA==\x07\x1b[2J here"),
        "{}",
        out.stdout
    );
}

/// Every simulator option issue 20 added, at once: the guide's state names, mixed log
/// layouts, an older server's schema, a lost enqueue answer refused again in other
/// words. A whole apply still moves every item exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn a_whole_apply_passes_with_every_new_simulator_option_on() {
    use whm_migrate::sim::{CallFault, LogLayout, StateNames};
    let opts = SimOptions {
        state_names: StateNames::Docs,
        log_layout: LogLayout::Mixed,
        schema_lacks: vec![
            "priority".to_owned(),
            "prerequisite_user".to_owned(),
            "keep_local_cpuser_values".to_owned(),
        ],
        faults: Faults {
            duplicate_wording: Some("L'élément figure déjà dans la file.".to_owned()),
            call_script: [(
                "enqueue_transfer_item".to_owned(),
                vec![CallFault::Ok, CallFault::DropAfter],
            )]
            .into(),
            ..Faults::default()
        },
        ..slow()
    };
    let sim = SimContext::with(world(), opts).await;
    let case = case(&sim);
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert_exactly_once(&sim);
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert_eq!(s.faults.get("drop_after"), Some(&1), "{:?}", s.faults);
    let again = case.run("apply", &[]).await;
    again.assert_code(0);
    assert!(again.stderr.contains("No changes"), "{again:#?}");
}
