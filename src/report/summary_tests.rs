//! The final report from a replayed session: outcomes, text, JSON and exit codes.

use std::time::Duration;

use super::summary::{ApplyReport, ItemOutcome, Outcome, SourceReport};
use super::testlog::{alice_excerpt, planned, replay};
use crate::domain::SessionState;
use crate::translog::{ItemKey, SessionProgress};

/// old1 from the replayed log (alice failed, carol never ran), plus an item the plan
/// found already present; old2 aborted before its only item started.
pub(super) fn sample() -> ApplyReport {
    let folds = replay();
    let last = folds.last().expect("polls");
    let mut old1 = SourceReport::from_progress(
        "old1",
        Some("old1abc20261127010203wxyz"),
        Some(&SessionState::Completed),
        &planned(),
        last,
    );
    assert_eq!(
        old1.failed_keys(),
        vec![ItemKey::new("AccountRemoteRoot", "alice")]
    );
    assert!(old1.attach_excerpt(
        &ItemKey::new("AccountRemoteRoot", "alice"),
        &alice_excerpt()
    ));
    assert!(!old1.attach_excerpt(&ItemKey::new("AccountRemoteRoot", "bob"), &alice_excerpt()));
    old1.items.push(ItemOutcome::already_present(&ItemKey::new(
        "AccountRemoteRoot",
        "dave",
    )));
    old1.elapsed = Some(Duration::from_secs(421));
    old1.estimate = Some(Duration::from_secs(600));
    old1.duration = Some(Duration::from_secs(683));
    let old2 = SourceReport::from_progress(
        "old2",
        Some("old2def20261127010205abcd"),
        Some(&SessionState::Aborted),
        &[ItemKey::new("AccountRemoteRoot", "erin")],
        &SessionProgress::new(),
    );
    ApplyReport {
        migration: "old-to-new1".into(),
        elapsed: Duration::from_millis(723_456),
        sources: vec![old1, old2],
    }
}

#[test]
fn outcomes_follow_the_log() {
    let report = sample();
    let old1 = &report.sources[0];
    let outcome = |key: &str| {
        &old1
            .items
            .iter()
            .find(|i| i.key == key)
            .expect("item")
            .outcome
    };
    assert_eq!(*outcome("package1"), Outcome::Done);
    let Outcome::DoneWithWarnings {
        warnings,
        dangerous,
        altered,
        first_messages,
        ..
    } = outcome("bob")
    else {
        panic!("bob: {:?}", outcome("bob"));
    };
    assert_eq!((*warnings, *dangerous, *altered), (2, 1, 1));
    assert_eq!(first_messages.len(), 3);
    let Outcome::Failed { failure, excerpt } = outcome("alice") else {
        panic!("alice: {:?}", outcome("alice"));
    };
    assert!(failure.starts_with("Disk quota exceeded"));
    assert!(excerpt.iter().any(|l| l.contains("Cannot write")));
    assert!(matches!(outcome("carol"), Outcome::NotRun { reason } if reason.contains("COMPLETED")));
    assert_eq!(old1.items[1].localuser.as_deref(), Some("bob2"));
    assert_eq!(old1.dangerous.len(), 1);
    assert_eq!(old1.altered.len(), 1);
    // Each list carries its own texts, not the item's ordinary warnings.
    assert_eq!(
        old1.dangerous[0].messages,
        ["Grants for “bob_wp” allow access from any host."]
    );
    assert_eq!(
        old1.altered[0].messages,
        ["Database “bob_wp” restored as “bob2_wp”."]
    );
    assert!(matches!(
        &report.sources[1].items[0].outcome,
        Outcome::NotRun { reason } if reason == "the session ended ABORTED before it started"
    ));
    let c = report.counts();
    assert_eq!(
        (
            c.items,
            c.done,
            c.done_with_warnings,
            c.failed,
            c.not_run,
            c.already_present
        ),
        (6, 1, 1, 1, 2, 1)
    );
}

#[test]
fn text_report_names_failures_with_their_excerpt_and_the_next_step() {
    let text = sample().render_text("migrate.toml");
    insta::assert_snapshot!("text_report", text);
    assert!(text.ends_with(
        "Next: re-run `whm-migrate apply migrate.toml` to retry only the 1 failed item and the 2 items not run in a new session.\nFull item logs: `whm-migrate logs migrate.toml --source SOURCE --item KEY`.\n"
    ));
}

#[test]
fn json_report_is_versioned_and_tagged() {
    let value = sample().to_json();
    insta::assert_json_snapshot!("json_report", value);
    assert_eq!(value["version"], 1);
    assert_eq!(value["exit_code"], 3);
    assert_eq!(value["sources"][0]["items"][2]["outcome"], "failed");
    assert_eq!(value["sources"][0]["estimate_secs"], 600.0);
    assert_eq!(value["sources"][0]["duration_secs"], 683.0);
    let text = sample().render_text("m.toml");
    assert!(
        text.contains("\n  ran 11m23s (estimated 10m00s at the start)\n"),
        "{text}"
    );
}

#[test]
fn exit_codes() {
    let mut report = sample();
    assert_eq!(report.exit_code(), 3);

    // Only done, done with warnings and already present: 0.
    for source in &mut report.sources {
        source.items.retain(|i| i.outcome.is_success());
    }
    assert_eq!(report.exit_code(), 0);
    let text = report.render_text("m.toml");
    assert!(text.ends_with(
        "Next: nothing to retry; review the 1 item restored with warnings listed above.\n"
    ));

    report.sources[0]
        .items
        .retain(|i| matches!(i.outcome, Outcome::Done | Outcome::AlreadyPresent));
    assert!(report.render_text("m.toml").ends_with(
        "Next: nothing left to do; re-running `whm-migrate apply m.toml` will find no changes.\n"
    ));

    // A source that stopped with an error: 1, whatever its items.
    report.sources.push(SourceReport::failed(
        "old3",
        None,
        &[ItemKey::new("AccountRemoteRoot", "frank")],
        "could not create a session: Access denied",
    ));
    assert_eq!(report.exit_code(), 1);
    assert!(
        report
            .render_text("m.toml")
            .contains("  ERROR: could not create a session")
    );

    // No sources at all: nothing failed.
    let empty = ApplyReport {
        migration: "m".into(),
        elapsed: Duration::ZERO,
        sources: Vec::new(),
    };
    assert_eq!(empty.exit_code(), 0);
}

#[test]
fn items_in_progress_when_following_stopped_are_not_run() {
    // The fold after the second poll: bob transferred, alice transferring.
    let folds = replay();
    let report = SourceReport::from_progress(
        "old1",
        None,
        Some(&SessionState::Running),
        &planned(),
        &folds[1],
    );
    let reasons: Vec<String> = report
        .items
        .iter()
        .filter_map(|i| match &i.outcome {
            Outcome::NotRun { reason } => Some(format!("{}: {reason}", i.key)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "bob: still waiting for restore when apply stopped following the session (RUNNING)",
            "alice: still transferring when apply stopped following the session (RUNNING)",
            "carol: not started when apply stopped following the session (RUNNING)",
        ]
    );
    // Without a state poll, the log's own ending decides.
    let report =
        SourceReport::from_progress("old1", None, None, &planned(), folds.last().expect("polls"));
    assert_eq!(
        report.final_state.as_ref().map(SessionState::name),
        Some("COMPLETED")
    );
}
