//! The two documented `fetch_transfer_session_log` examples.

use super::{count, fixture_log};
use crate::translog::{
    Event, EventKind, ItemKey, ItemState, LogPhase, MasterLogParser, Queue, SessionOutcome,
    SessionProgress, WorkerEnd, parse_master_log, session_outcome,
};

/// The old guide's example log (numbers written as strings), parsed whole.
fn old_guide_events() -> Vec<Event> {
    parse_master_log(fixture_log(1).as_bytes())
}

#[test]
fn old_guide_log_has_one_known_event_per_line() {
    let log = fixture_log(1);
    let events = parse_master_log(log.as_bytes());
    assert_eq!(events.len(), log.lines().filter(|l| !l.is_empty()).count());
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::Malformed { .. })),
        0
    );
    assert_eq!(count(&events, |k| matches!(k, EventKind::Other { .. })), 0);
}

#[test]
fn old_guide_log_parses_with_strings_as_numbers() {
    let events = old_guide_events();
    let first = &events[0];
    assert_eq!(first.kind, EventKind::SessionStarted);
    assert_eq!(
        (first.pid, first.time, first.child),
        (Some(14358), None, Some(0))
    );
    assert_eq!(
        events[1].kind,
        EventKind::Initiator(Some("copyacct".into()))
    );
    assert_eq!(events[2].kind, EventKind::Version(Some("1.6".into())));
    assert_eq!(
        events[3].kind,
        EventKind::QueueCount {
            queue: Some(Queue::Transfer),
            count: Some(3)
        }
    );
    assert_eq!(
        events[4].kind,
        EventKind::QueueCount {
            queue: Some(Queue::Restore),
            count: Some(3)
        }
    );
    assert_eq!(
        events[5].kind,
        EventKind::RemoteHost(Some("vm5.docs.cpanel.net".into()))
    );
}

#[test]
fn old_guide_log_shows_every_step_of_three_items() {
    let events = old_guide_events();
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::ItemPickedUp(_))),
        6
    );
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::ItemProcessing(_))),
        6
    );
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::ItemSucceeded { .. })),
        6
    );
    assert_eq!(
        count(&events, |k| matches!(
            k,
            EventKind::WorkerFinished {
                end: WorkerEnd::Completed,
                ..
            }
        )),
        5
    );
}

#[test]
fn old_guide_log_item_fields_sit_inside_contents() {
    let events = old_guide_events();
    let picked = events[6].item().expect("worker start names an item");
    assert_eq!(picked.item, "fredfred");
    assert_eq!(picked.queue, Some(Queue::Transfer));
    assert_eq!(picked.item_type.as_deref(), Some("AccountRemoteRoot"));
    assert_eq!(picked.item_name.as_deref(), Some("Account"));
    assert_eq!(events[6].child, Some(1));
    assert_eq!(
        events[7].item().and_then(|i| i.logfile.as_deref()),
        Some("item-TRANSFER_AccountRemoteRoot_fredfred")
    );
}

#[test]
fn old_guide_log_restore_report_lists_dangerous_and_altered_texts() {
    let events = old_guide_events();
    // colin's restore lists one dangerous and two altered items with their texts.
    let colin = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ItemSucceeded { item, report }
                if item.item == "colin" && item.queue == Some(Queue::Restore) =>
            {
                Some(report)
            }
            _ => None,
        })
        .expect("colin restored");
    assert_eq!(colin.counts.warnings, 4);
    assert_eq!(colin.counts.skipped_items, 10);
    assert_eq!(colin.counts.dangerous_items, 1);
    assert_eq!(colin.counts.altered_items, 2);
    assert!(colin.dangerous[0].contains("Skipping grants"));
    assert!(colin.altered[0].contains("“colin_testdatabase”"));
    assert_eq!(colin.message, None);
}

#[test]
fn old_guide_log_ends_completed_once() {
    let events = old_guide_events();
    let last = events.last().unwrap();
    assert!(last.is_session_end());
    assert_eq!(last.outcome(), Some(SessionOutcome::Completed));
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::SessionEnded(_))),
        1
    );
}

#[test]
fn old_guide_log_folds_into_three_items_done_with_warnings() {
    let events = old_guide_events();
    let mut progress = SessionProgress::new();
    progress.apply_all(&events);
    let totals = progress.totals();
    assert_eq!(totals.expected, Some(3));
    assert_eq!(totals.known, 3);
    assert_eq!(totals.done_with_warnings, 3);
    assert_eq!(totals.finished(), 3);
    assert_eq!(totals.transfer_finished, 3);
    assert_eq!(progress.state(), LogPhase::Ended(SessionOutcome::Completed));
    assert_eq!(progress.version(), Some("1.6"));
    let stacy = progress
        .item(&ItemKey::new("AccountRemoteRoot", "stacy"))
        .unwrap();
    assert_eq!(stacy.state(), ItemState::DoneWithWarnings);
    assert_eq!(
        stacy.restore_log.as_deref(),
        Some("item-RESTORE_AccountRemoteRoot_stacy")
    );
}

#[test]
fn current_docs_log_parses_with_times_and_failure() {
    let log = fixture_log(2);
    let events = parse_master_log(log.as_bytes());
    assert_eq!(events.len(), 17);
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::Malformed { .. })),
        0
    );
    assert_eq!(events[0].time, Some(1_598_991_042));
    assert_eq!(events[0].pid, Some(12789));
    assert_eq!(events[2].kind, EventKind::Version(Some("2.3".into())));
    assert_eq!(
        events[4].kind,
        EventKind::QueueSize {
            queue: Some(Queue::Transfer),
            size: Some(1)
        }
    );
    let EventKind::ItemPickedUp(root) = &events[8].kind else {
        panic!("expected a pick-up, got {:?}", events[8].kind);
    };
    assert_eq!(root.local_item.as_deref(), Some("root"));
    assert_eq!(root.item_type.as_deref(), Some("AccountRemoteUser"));
    assert!(matches!(
        &events[10].kind,
        EventKind::ItemStarted { size: Some(1), .. }
    ));

    let failures: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ItemFailed {
                item,
                failure,
                report,
            } => Some((item.queue.clone(), failure.clone(), report.counts)),
            _ => None,
        })
        .collect();
    let text = "The account “root” already exists on “control.box.new”.";
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].0, Some(Queue::Transfer));
    assert_eq!(failures[1].0, Some(Queue::Restore));
    assert!(failures.iter().all(|f| f.1.as_deref() == Some(text)));
    assert!(failures[0].2.is_clean());

    assert_eq!(session_outcome(&events), Some(SessionOutcome::Completed));
    assert_eq!(events.last().unwrap().time, Some(1_598_991_043));

    let mut progress = SessionProgress::new();
    progress.apply_all(&events);
    let root = progress
        .item(&ItemKey::new("AccountRemoteUser", "root"))
        .unwrap();
    assert_eq!(root.state(), ItemState::Failed);
    assert_eq!(root.failed_step, Some(Queue::Transfer));
    assert_eq!(root.failure.as_deref(), Some(text));
    assert_eq!(progress.totals().failed, 1);
    assert_eq!(progress.queue_count(), Some(1));
}

#[test]
fn whole_file_feeds_match_one_parse() {
    let log = fixture_log(2);
    let bytes = log.as_bytes();
    let mut parser = MasterLogParser::new();
    let mut events = parser.feed_whole(&bytes[..300]).unwrap();
    events.extend(parser.feed_whole(&bytes[..1000]).unwrap());
    events.extend(parser.feed_whole(bytes).unwrap());
    events.extend(parser.feed_whole(bytes).unwrap());
    assert_eq!(events, parse_master_log(bytes));
    assert!(parser.feed_whole(&bytes[..10]).is_err());
}
