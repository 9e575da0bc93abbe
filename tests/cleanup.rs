//! No plan leaves a source password on the server: `plan --no-keep` discards the PENDING
//! session it created or reused, `cleanup` discards the ones the journal records, and a
//! plain `plan` then `apply` still shares one session.

use crate::support::{self, Bin, Case, Out, SimContext};
use std::path::Path;
use whm_migrate::sim::Faults;

/// The `apply` world's root password.
const PASSWORD: &str = support::SRC_PASSWORD;
/// The migration's name (its journal's).
const NAME: &str = "cleanup-test";

/// A manifest for the `apply` world (its package and alice) and its state directory.
fn case(cx: &SimContext) -> Case {
    Case::new(&format!(
        r#"version = 1
name = "{NAME}"

[destination]
url = "{url}"
token = {{ env = "WHM_TEST_TOKEN" }}

[[sources]]
name = "old1"
host = "src.example.com"
kind = "root"
password = {{ env = "SRC_PW" }}

[[sources.packages]]
name = "gold"

[[sources.accounts]]
user = "alice"
domain = "alice.example"
"#,
        url = cx.sim.base_url()
    ))
}

/// Every session id the journal ever recorded for `old1`.
fn recorded_sessions(case: &Case) -> Vec<String> {
    let journal = case.journal(NAME);
    let source = &journal["sources"]["old1"];
    let mut ids: Vec<String> = source["previous_sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    ids.extend(source["session"]["id"].as_str().map(str::to_owned));
    ids
}

/// `whm-migrate COMMAND MANIFEST --state-dir DIR ARGS… --color never`.
fn command(case: &Case, command: &str, args: &[&str]) -> Bin {
    case.command(command, args).args(["--color", "never"])
}

/// [`command`] run to its end.
async fn run_cli(case: &Case, command: &str, args: &[&str]) -> Out {
    self::command(case, command, args).run().await
}

async fn sim() -> SimContext {
    SimContext::start(support::world("apply")).await
}

#[tokio::test]
async fn ten_no_keep_plans_leave_no_pending_session() {
    let cx = sim().await;
    let case = case(&cx);
    for _ in 0..10 {
        let run = run_cli(&case, "plan", &["--no-keep"]).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert!(run.stderr.contains("discarded session"), "{}", run.stderr);
        assert!(!run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD));
    }
    assert_eq!(cx.sim.stats().sessions_created, 10);
    let ids = recorded_sessions(&case);
    assert_eq!(ids.len(), 10, "{:#}", case.journal(NAME));
    for id in &ids {
        assert_ne!(cx.sim.session_state(id).as_deref(), Some("PENDING"), "{id}");
    }
    assert!(case.journal(NAME)["sources"]["old1"]["session"].is_null());
}

#[tokio::test]
async fn a_no_keep_plan_saved_with_out_is_still_applied() {
    let cx = sim().await;
    let case = case(&cx);
    let out = case.dir.path().join("plan.json");
    let out = out.to_str().unwrap();
    let run = run_cli(&case, "plan", &["--no-keep", "--out", out]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let apply = case
        .command_on("apply", Path::new(out), &["--color", "never"])
        .run()
        .await;
    let stderr = &apply.stderr;
    assert_eq!(apply.code, Some(0), "{stderr}");
    assert!(!stderr.contains("stale"), "{stderr}");
    assert_eq!(cx.sim.stats().sessions_created, 2);
}

#[tokio::test]
async fn plan_then_apply_share_one_session() {
    let cx = sim().await;
    let case = case(&cx);
    let plan = run_cli(&case, "plan", &[]).await;
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    let apply = run_cli(&case, "apply", &[]).await;
    assert_eq!(apply.code, Some(0), "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(cx.sim.stats().sessions_created, 1);
}

#[tokio::test]
async fn cleanup_discards_the_session_of_a_plain_plan() {
    let cx = sim().await;
    let case = case(&cx);
    let plan = run_cli(&case, "plan", &[]).await;
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    let ids = recorded_sessions(&case);
    assert_eq!(ids.len(), 1);
    assert_eq!(cx.sim.session_state(&ids[0]).as_deref(), Some("PENDING"));

    let cleanup = run_cli(&case, "cleanup", &[]).await;
    assert_eq!(cleanup.code, Some(0), "{}", cleanup.stderr);
    assert!(
        cleanup.stdout.contains("old1: discarded session"),
        "{}",
        cleanup.stdout
    );
    assert_eq!(cx.sim.session_state(&ids[0]).as_deref(), Some("FAILED"));
    let journal = case.journal(NAME);
    assert!(journal["sources"]["old1"]["session"].is_null());
    assert_eq!(
        journal["sources"]["old1"]["previous_sessions"][0]["state"],
        "FAILED"
    );

    let again = run_cli(&case, "plan", &[]).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(cx.sim.stats().sessions_created, 2);
    let now = recorded_sessions(&case);
    assert_eq!(now.len(), 2);
    assert_ne!(now[1], ids[0]);
    assert_eq!(cx.sim.session_state(&now[1]).as_deref(), Some("PENDING"));
}

#[tokio::test]
async fn cleanup_keeps_the_session_a_saved_plan_needs() {
    let cx = sim().await;
    let case = case(&cx);
    let out = case.dir.path().join("plan.json");
    let out = out.to_str().unwrap();
    let plan = run_cli(&case, "plan", &["--out", out]).await;
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    let ids = recorded_sessions(&case);
    let cleanup = run_cli(&case, "cleanup", &["--keep-plan", out]).await;
    assert_eq!(cleanup.code, Some(0), "{}", cleanup.stderr);
    assert!(
        cleanup.stdout.contains("kept session"),
        "{}",
        cleanup.stdout
    );
    assert_eq!(cx.sim.session_state(&ids[0]).as_deref(), Some("PENDING"));
}

#[tokio::test]
async fn cleanup_with_nothing_to_clean_exits_0() {
    let cx = sim().await;
    let case = case(&cx);
    let run = run_cli(&case, "cleanup", &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("nothing to clean"), "{}", run.stdout);
    let run = run_cli(&case, "cleanup", &["--source", "old1"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let run = run_cli(&case, "cleanup", &["--source", "nope"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(cx.sim.stats().sessions_created, 0);
}

/// SIGKILL after the destination created a session but before its id reached the
/// journal: the session exists, holds the source password, and nobody recorded it.
/// `status`, then every later run, report it until `cleanup --forget-unrecorded`.
#[tokio::test]
async fn a_crash_between_create_and_record_is_reported_until_forgotten() {
    let cx = sim().await;
    cx.sim.set_faults(Faults {
        answer_delay_ms: [("create_remote_root_transfer_session".to_owned(), 30_000)].into(),
        ..Faults::default()
    });
    let case = case(&cx);
    let mut child = command(&case, "plan", &[]).spawn();
    assert!(
        support::wait_for(&cx, &mut child, |s| s.sessions_created == 1).await,
        "the plan never asked for a session"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    cx.sim.set_faults(Faults::default());

    let journal = case.journal(NAME);
    let source = &journal["sources"]["old1"];
    assert!(source["session"].is_null(), "{journal:#}");
    let started = source["create_started"].as_str().unwrap().to_owned();

    let status = run_cli(&case, "status", &[]).await;
    assert_eq!(status.code, Some(0), "{}", status.stderr);
    assert!(
        status.stdout.contains(&format!(
            "source “old1”: a session creation started at {started} was never recorded"
        )) && status.stdout.contains("Review Transfers and Restores"),
        "{}",
        status.stdout
    );
    let json = run_cli(&case, "status", &["--format", "json"]).await;
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        rows[0]["unrecorded_sessions_started_at"],
        serde_json::json!([started])
    );

    // The next runs create a fresh session, and keep warning about the lost one.
    for _ in 0..2 {
        let plan = run_cli(&case, "plan", &[]).await;
        assert_eq!(plan.code, Some(0), "{}", plan.stderr);
        assert!(
            plan.stderr
                .contains(&format!("started at {started} was never recorded")),
            "{}",
            plan.stderr
        );
    }
    assert_eq!(cx.sim.stats().sessions_created, 2);
    let source = case.journal(NAME)["sources"]["old1"].clone();
    assert!(source["session"]["id"].is_string());
    assert!(source["create_started"].is_null());
    assert_eq!(source["unrecorded_sessions"], serde_json::json!([started]));

    // `cleanup` alone still warns; with the flag, the admin says it is dealt with.
    let cleanup = run_cli(&case, "cleanup", &[]).await;
    assert!(
        cleanup.stderr.contains("never recorded"),
        "{}",
        cleanup.stderr
    );
    let forget = run_cli(&case, "cleanup", &["--forget-unrecorded"]).await;
    assert_eq!(forget.code, Some(0), "{}", forget.stderr);
    assert!(
        forget.stdout.contains(&format!(
            "old1: forgot 1 unrecorded session creation(s) started at {started}"
        )),
        "{}",
        forget.stdout
    );
    let status = run_cli(&case, "status", &[]).await;
    assert!(
        !status.stdout.contains("never recorded"),
        "{}",
        status.stdout
    );
}
