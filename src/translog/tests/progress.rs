//! The progress fold on its own: step order, unnamed queues, totals.

use crate::translog::{
    Event, EventKind, ItemKey, ItemRef, ItemReport, ItemState, LogPhase, Queue, SessionOutcome,
    SessionProgress, StepState,
};

fn event(kind: EventKind) -> Event {
    Event {
        line: 0,
        time: None,
        pid: None,
        child: Some(1),
        kind,
    }
}

fn item(queue: Option<Queue>) -> ItemRef {
    ItemRef {
        queue,
        item: "pkg1".into(),
        local_item: None,
        item_type: Some("PackageRemoteRoot".into()),
        item_name: Some("Package".into()),
        logfile: None,
    }
}

#[test]
fn steps_only_move_forward_and_unnamed_queues_mean_the_current_step() {
    let key = ItemKey::new("PackageRemoteRoot", "pkg1");
    let mut p = SessionProgress::new();
    p.apply(&event(EventKind::ItemStarted {
        item: item(Some(Queue::Transfer)),
        size: Some(5),
    }));
    assert_eq!(p.item(&key).unwrap().state(), ItemState::Transferring);
    p.apply(&event(EventKind::ItemSucceeded {
        item: item(Some(Queue::Transfer)),
        report: ItemReport::default(),
    }));
    // A late pick-up record for the finished step does not move it back.
    p.apply(&event(EventKind::ItemPickedUp(item(Some(Queue::Transfer)))));
    let state = p.item(&key).unwrap();
    assert_eq!(state.transfer, StepState::Succeeded);
    assert_eq!(state.state(), ItemState::AwaitingRestore);
    assert_eq!(state.size, Some(5));
    assert_eq!(p.totals().transfer_finished, 1);
    assert_eq!(p.totals().restore_finished, 0);

    // A failure naming no queue (written by the master after a crash) hits RESTORE.
    p.apply(&event(EventKind::ItemFailed {
        item: item(None),
        failure: Some("worker died".into()),
        report: ItemReport::default(),
    }));
    let state = p.item(&key).unwrap();
    assert_eq!(state.state(), ItemState::Failed);
    assert_eq!(state.failed_step, Some(Queue::Restore));
    assert_eq!(state.restore, StepState::Failed);
    assert_eq!(p.totals().failed, 1);
    assert_eq!(p.totals().restore_finished, 1);
}

#[test]
fn restore_success_with_counts_is_done_with_warnings() {
    let key = ItemKey::new("PackageRemoteRoot", "pkg1");
    let mut p = SessionProgress::new();
    let mut report = ItemReport::default();
    report.counts.altered_items = 1;
    report.altered.push("renamed".into());
    p.apply(&event(EventKind::ItemSucceeded {
        item: item(Some(Queue::Transfer)),
        report: ItemReport::default(),
    }));
    p.apply(&event(EventKind::ItemWarned {
        item: item(Some(Queue::Restore)),
        report,
    }));
    let state = p.item(&key).unwrap();
    assert_eq!(state.state(), ItemState::DoneWithWarnings);
    assert_eq!(state.messages, vec!["renamed".to_owned()]);
    assert_eq!(p.totals().done_with_warnings, 1);
    assert_eq!(p.totals().done, 0);
}

#[test]
fn session_state_follows_pause_resume_and_end() {
    let mut p = SessionProgress::new();
    assert_eq!(p.state(), LogPhase::NotStarted);
    for (kind, want) in [
        (EventKind::SessionStarted, LogPhase::Running),
        (EventKind::Pausing, LogPhase::Pausing),
        (EventKind::Paused, LogPhase::Paused),
        (EventKind::SessionResumed, LogPhase::Running),
        (EventKind::Aborting, LogPhase::Aborting),
        (
            EventKind::SessionEnded(SessionOutcome::Failed),
            LogPhase::Ended(SessionOutcome::Failed),
        ),
    ] {
        p.apply(&event(kind));
        assert_eq!(p.state(), want);
    }
    assert_eq!(p.outcome(), Some(SessionOutcome::Failed));
}
