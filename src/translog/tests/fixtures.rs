//! The three documented `fetch_transfer_session_log` examples.

use super::{count, fixture_log};
use crate::translog::{
    Event, EventKind, ItemKey, ItemProgress, ItemState, LogPhase, MasterLogParser, Queue,
    SessionOutcome, SessionProgress, WorkerEnd, parse_master_log, session_outcome,
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

/// The guide's other printing of the monitor page, as printed: `type` inside
/// `contents` or missing, `pid` a string, records between `" \n "`.
fn guide_printing_events() -> Vec<Event> {
    parse_master_log(fixture_log(3).as_bytes())
}

#[test]
fn guide_printing_log_types_every_record() {
    let log = fixture_log(3);
    let events = guide_printing_events();
    // Blanks around records are not records.
    assert_eq!(
        events.len(),
        log.lines().filter(|l| !l.trim().is_empty()).count()
    );
    assert_eq!(events.len(), 13);
    // Before REFERENCE §7.2's rule, every one of these was `Other`: none may be now.
    assert_eq!(
        count(&events, |k| matches!(
            k,
            EventKind::Malformed { .. } | EventKind::Other { .. }
        )),
        0
    );
    let first = &events[0];
    assert_eq!(first.kind, EventKind::SessionStarted);
    assert_eq!((first.pid, first.child), (Some(14358), Some(0)));
    assert_eq!(
        events[1].kind,
        EventKind::Initiator(Some("copyacct".into()))
    );
    assert_eq!(events[2].kind, EventKind::Version(Some("1.6".into())));
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
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::ItemPickedUp(_))),
        3
    );
    // The records printed with no `type` at all: `process-item` and `success-item`.
    let processing: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ItemProcessing(item) => Some((e.pid, item.logfile.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        processing,
        [
            (
                Some(14360),
                Some("item-TRANSFER_AccountRemoteRoot_fredfred".into())
            ),
            (
                Some(14361),
                Some("item-TRANSFER_AccountRemoteRoot_colin".into())
            ),
            (
                Some(14362),
                Some("item-TRANSFER_AccountRemoteRoot_stacy".into())
            ),
        ]
    );
    let EventKind::ItemSucceeded { item, report } = &events[12].kind else {
        panic!("expected success-item, got {:?}", events[12].kind);
    };
    assert_eq!(
        (item.item.as_str(), item.queue.clone()),
        ("stacy", Some(Queue::Transfer))
    );
    assert!(report.counts.is_clean());
}

#[test]
fn guide_printing_log_folds_items_as_the_log_says() {
    let mut progress = SessionProgress::new();
    progress.apply_all(&guide_printing_events());
    let state = |user: &str| {
        progress
            .item(&ItemKey::new("AccountRemoteRoot", user))
            .map(ItemProgress::state)
    };
    assert_eq!(state("fredfred"), Some(ItemState::Transferring));
    assert_eq!(state("colin"), Some(ItemState::Transferring));
    assert_eq!(state("stacy"), Some(ItemState::AwaitingRestore));
    let totals = progress.totals();
    assert_eq!(totals.expected, Some(3));
    assert_eq!((totals.known, totals.transfer_finished), (3, 1));
    assert_eq!(totals.finished(), 0);
    // The printing stops after stacy's TRANSFER: no end record, so no end is claimed.
    assert_eq!(progress.state(), LogPhase::Running);
    assert_eq!(progress.outcome(), None);
}

/// The rest of a session in the printing's layout (hand-written: the guide stops
/// earlier): stacy restored, fredfred failed, colin restored with a warning, the
/// workers' and the master's `complete`.
const GUIDE_PRINTING_REST: &str = concat!(
    r#"{"pid": "14362", "contents": {"item_type": "AccountRemoteRoot", "item": "stacy", "action": "start", "queue": "RESTORE", "item_name": "Account", "child_number": 1, "type": "control"}} "#,
    "\n ",
    r#"{"pid": "14362", "contents": {"msg": {"warnings": "0", "message": null}, "item_type": "AccountRemoteRoot", "item": "stacy", "action": "success-item", "queue": "RESTORE", "child_number": 1}} "#,
    "\n ",
    r#"{"pid": "14360", "contents": {"msg": {"failure": "The account “fredfred” already exists."}, "item_type": "AccountRemoteRoot", "item": "fredfred", "action": "failed-item", "queue": "TRANSFER", "child_number": 1}} "#,
    "\n ",
    r#"{"pid": "14361", "contents": {"msg": {"warnings": 0}, "item_type": "AccountRemoteRoot", "item": "colin", "action": "success-item", "queue": "TRANSFER", "child_number": 2}} "#,
    "\n ",
    r#"{"pid": "14361", "contents": {"msg": {"warnings": "1"}, "item_type": "AccountRemoteRoot", "item": "colin", "action": "warning-item", "queue": "RESTORE", "child_number": 2}} "#,
    "\n ",
    r#"{"pid": "14361", "contents": {"action": "complete", "queue": "TRANSFER", "child_number": 2, "type": "control"}} "#,
    "\n ",
    r#"{"pid": "14358", "contents": {"action": "complete", "child_number": 0, "type": "control"}} "#,
    "\n ",
);

#[test]
fn guide_printing_continued_ends_the_session_with_each_item_as_logged() {
    let printed = fixture_log(3);
    let whole = printed.clone() + GUIDE_PRINTING_REST;
    // As `apply` reads it: the whole log again each time, longer.
    let mut parser = MasterLogParser::new();
    let mut events = parser.feed_whole(printed.as_bytes()).unwrap();
    events.extend(parser.feed_whole(whole.as_bytes()).unwrap());
    events.extend(parser.finish());
    assert_eq!(events, parse_master_log(whole.as_bytes()));
    assert_eq!(
        count(&events, |k| matches!(
            k,
            EventKind::Malformed { .. } | EventKind::Other { .. }
        )),
        0
    );
    assert_eq!(session_outcome(&events), Some(SessionOutcome::Completed));

    let mut progress = SessionProgress::new();
    progress.apply_all(&events);
    let item = |user: &str| {
        progress
            .item(&ItemKey::new("AccountRemoteRoot", user))
            .expect("item seen")
    };
    assert_eq!(item("stacy").state(), ItemState::Done);
    assert_eq!(item("colin").state(), ItemState::DoneWithWarnings);
    let fredfred = item("fredfred");
    assert_eq!(fredfred.state(), ItemState::Failed);
    assert_eq!(
        fredfred.failure.as_deref(),
        Some("The account “fredfred” already exists.")
    );
    assert_eq!(progress.state(), LogPhase::Ended(SessionOutcome::Completed));
    assert_eq!(progress.totals().finished(), 3);
}
