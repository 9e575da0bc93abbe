//! A hand-written current-format log exercising the awkward records.

use super::count;
use crate::translog::{
    EventKind, ItemKey, ItemState, LogPhase, MasterLogParser, Queue, SessionOutcome,
    SessionProgress, WorkerEnd, parse_master_log,
};

/// A session that warns on bob, fails alice, loses a worker, pauses, resumes and is
/// aborted; with garbage lines in the middle.
pub(super) const LOG: &str = concat!(
    r#"{"type":"control","pid":900,"indent":0,"partial":0,"contents":{"action":"start","child_number":0,"time":1700000000}}"#,
    "\n",
    r#"{"type":"control","pid":900,"contents":{"action":"initiator","child_number":0,"time":1700000000,"msg":"copyacct"}}"#,
    "\n",
    r#"{"type":"control","pid":900,"contents":{"action":"version","child_number":0,"msg":2.3}}"#,
    "\n",
    r#"{"type":"control","pid":"900","contents":{"action":"queue_count","queue":"TRANSFER","child_number":"0","msg":"2"}}"#,
    "\n",
    r#"{"type":"control","pid":900,"contents":{"action":"remotehost","child_number":0,"msg":"old.example.com"}}"#,
    "\n",
    "\n",
    r#"{"type":"control","pid":901,"contents":{"action":"start","child_number":1,"queue":"TRANSFER","item":"bob","local_item":"bob2","item_type":"AccountRemoteRoot","item_name":"Account","logfile":"item-TRANSFER_AccountRemoteRoot_bob","time":1700000001}}"#,
    "\r\n",
    r#"{"type":"control","pid":901,"contents":{"action":"start-item","child_number":1,"queue":"TRANSFER","item":"bob","item_type":"AccountRemoteRoot","msg":{"size":"1234"}}}"#,
    "\n",
    r#"{"type":"control","pid":901,"contents":{"action":"warning-item","child_number":1,"queue":"TRANSFER","item":"bob","item_type":"AccountRemoteRoot","msg":{"size":1234,"warnings":"1","skipped_items":null,"dangerous_items":[[["Mysql","_restore",104],"Danger “grants”",null]],"altered_items":[[["Mysql","_rename",437],"db “a” restored as “b”",["Rename","x",{"new":"b"}]]],"message":"careful","contents":{"dangerous_items":null,"altered_items":null}}}}"#,
    "\n",
    r#"{"type":"control","pid":901,"contents":{"action":"#,
    "\n",
    "not json at all\n",
    "[1,2,3]\n",
    r#"{"type":"control","pid":900,"contents":{"action":"child-failed","child_number":0,"msg":"1/3"}}"#,
    "\n",
    r#"{"type":"control","pid":900,"contents":{"action":"pausing","child_number":0}}"#,
    "\n",
    r#"{"type":"control","pid":900,"contents":{"action":"pause","child_number":0}}"#,
    "\n",
    r#"{"type":"control","pid":950,"contents":{"action":"resume","child_number":0,"msg":null}}"#,
    "\n",
    r#"{"type":"control","pid":902,"contents":{"action":"start-item","child_number":2,"queue":"TRANSFER","item":"alice","item_type":"AccountRemoteRoot","msg":{"size":10}}}"#,
    "\n",
    r#"{"type":"control","pid":902,"contents":{"action":"failed-item","child_number":2,"queue":"TRANSFER","item":"alice","item_type":"AccountRemoteRoot","msg":{"size":10,"failure":"The account “alice” already exists on “new.example.com”.","warnings":2}}}"#,
    "\n",
    r#"{"type":"control","pid":902,"contents":{"action":"failed-item","child_number":2,"queue":"RESTORE","item":"alice","item_type":"AccountRemoteRoot","msg":"second text"}}"#,
    "\n",
    r#"{"type":"control","pid":900,"contents":{"action":"frobnicate","child_number":0,"msg":{"x":[1]}}}"#,
    "\n",
    r#"{"type":"out","pid":900,"contents":"plain text"}"#,
    "\n",
    r#"{"type":"control","pid":902,"contents":{"action":"success-item","child_number":2,"queue":"TRANSFER"}}"#,
    "\n",
    r#"{"type":"control","pid":902,"contents":{"action":"abort","queue":"TRANSFER","child_number":2}}"#,
    "\n",
    r#"{"type":"control","pid":901,"contents":{"action":"complete","queue":"TRANSFER","child_number":1}}"#,
    "\n",
    r#"{"type":"control","pid":950,"contents":{"action":"aborting","child_number":0}}"#,
    "\n",
    r#"{"type":"control","pid":950,"contents":{"action":"abort"}}"#,
);

#[test]
fn awkward_records_become_typed_events() {
    let events = parse_master_log(LOG.as_bytes());
    assert_eq!(events.len(), 25);
    // Line numbers count the blank line.
    assert_eq!(events[5].line, 7);

    assert_eq!(events[3].pid, Some(900));
    assert_eq!(events[3].child, Some(0));
    assert_eq!(
        events[3].kind,
        EventKind::QueueCount {
            queue: Some(Queue::Transfer),
            count: Some(2)
        }
    );
    assert_eq!(events[2].kind, EventKind::Version(Some("2.3".into())));
}

#[test]
fn a_warned_item_keeps_its_counts_and_texts() {
    let events = parse_master_log(LOG.as_bytes());
    let EventKind::ItemWarned { item, report } = &events[7].kind else {
        panic!("expected warning-item, got {:?}", events[7].kind);
    };
    assert_eq!(item.item, "bob");
    assert_eq!(report.size, Some(1234));
    assert_eq!(report.counts.warnings, 1);
    assert_eq!(report.counts.skipped_items, 0);
    assert_eq!(report.counts.dangerous_items, 1);
    assert_eq!(report.counts.altered_items, 1);
    assert_eq!(report.dangerous, vec!["Danger “grants”".to_owned()]);
    assert_eq!(report.altered, vec!["db “a” restored as “b”".to_owned()]);
    assert_eq!(report.message.as_deref(), Some("careful"));
}

#[test]
fn garbage_lines_are_malformed_and_session_controls_typed() {
    let events = parse_master_log(LOG.as_bytes());
    let malformed: Vec<usize> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Malformed { .. }))
        .map(|e| e.line)
        .collect();
    assert_eq!(malformed, vec![10, 11, 12]);
    assert!(matches!(
        &events[10].kind,
        EventKind::Malformed { error } if error.contains("not an object")
    ));

    assert_eq!(
        events[11].kind,
        EventKind::ChildFailed {
            attempt: Some(1),
            max: Some(3),
            text: Some("1/3".into())
        }
    );
    assert_eq!(events[12].kind, EventKind::Pausing);
    assert_eq!(events[13].kind, EventKind::Paused);
    assert_eq!(events[14].kind, EventKind::SessionResumed);
}

#[test]
fn a_failed_item_keeps_its_failure_text_and_counts() {
    let events = parse_master_log(LOG.as_bytes());
    let EventKind::ItemFailed {
        failure, report, ..
    } = &events[16].kind
    else {
        panic!("expected failed-item, got {:?}", events[16].kind);
    };
    assert_eq!(
        failure.as_deref(),
        Some("The account “alice” already exists on “new.example.com”.")
    );
    assert_eq!(report.counts.warnings, 2);
    assert!(matches!(
        &events[17].kind,
        EventKind::ItemFailed { failure: Some(t), .. } if t == "second text"
    ));
}

#[test]
fn unknown_records_are_kept_whole_and_the_abort_ends_the_session() {
    let events = parse_master_log(LOG.as_bytes());
    let EventKind::Other { action, record } = &events[18].kind else {
        panic!("expected Other, got {:?}", events[18].kind);
    };
    assert_eq!(action.as_deref(), Some("frobnicate"));
    assert_eq!(record["contents"]["msg"]["x"][0], 1);
    assert!(matches!(
        &events[19].kind,
        EventKind::Other { action: None, .. }
    ));
    // An item action naming no item is kept whole.
    assert!(matches!(
        &events[20].kind,
        EventKind::Other { action: Some(a), .. } if a == "success-item"
    ));
    assert_eq!(
        events[21].kind,
        EventKind::WorkerFinished {
            queue: Some(Queue::Transfer),
            end: WorkerEnd::Aborted
        }
    );
    assert!(!events[21].is_session_end());
    assert_eq!(events[23].kind, EventKind::Aborting);
    // The last line has no `\n` and no child_number: it ends the session.
    assert_eq!(events[24].outcome(), Some(SessionOutcome::Aborted));
    assert_eq!(
        count(&events, |k| matches!(k, EventKind::SessionEnded(_))),
        1
    );
}

#[test]
fn progress_folds_the_awkward_session() {
    let events = parse_master_log(LOG.as_bytes());
    let mut progress = SessionProgress::new();
    progress.expect(ItemKey::new("AccountRemoteRoot", "carol"));
    progress.apply_all(&events[..15]);
    assert_eq!(progress.state(), LogPhase::Running);
    progress.apply_all(&events[15..]);
    assert_eq!(progress.state(), LogPhase::Ended(SessionOutcome::Aborted));
    assert_eq!(progress.outcome(), Some(SessionOutcome::Aborted));
    assert_eq!(progress.child_failures(), 1);
    assert_eq!(progress.malformed_lines(), 3);
    assert_eq!(progress.remote_host(), Some("old.example.com"));

    let bob = progress
        .item(&ItemKey::new("AccountRemoteRoot", "bob"))
        .unwrap();
    assert_eq!(bob.state(), ItemState::AwaitingRestore);
    assert_eq!(bob.local_item.as_deref(), Some("bob2"));
    assert_eq!(bob.counts.dangerous_items, 1);
    assert!(bob.messages.iter().any(|m| m == "careful"));

    let alice = progress
        .item(&ItemKey::new("AccountRemoteRoot", "alice"))
        .unwrap();
    assert_eq!(alice.state(), ItemState::Failed);
    assert_eq!(alice.failed_step, Some(Queue::Transfer));
    assert!(alice.failure.as_deref().unwrap().contains("“alice”"));

    let carol = progress
        .item(&ItemKey::new("AccountRemoteRoot", "carol"))
        .unwrap();
    assert_eq!(carol.state(), ItemState::Pending);

    let totals = progress.totals();
    assert_eq!(
        (
            totals.known,
            totals.pending,
            totals.in_progress,
            totals.failed
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(totals.expected, Some(2));
}

#[test]
fn partial_line_waits_for_its_newline_or_finish() {
    let mut parser = MasterLogParser::new();
    let line = br#"{"type":"control","contents":{"action":"complete","child_number":0}}"#;
    assert!(parser.feed(&line[..20]).is_empty());
    assert!(parser.has_partial_line());
    assert!(parser.feed(&line[20..]).is_empty());
    let end = parser.finish().expect("flushed");
    assert_eq!(end.outcome(), Some(SessionOutcome::Completed));
    assert_eq!(parser.finish(), None);
    assert_eq!(parser.consumed(), line.len());
}

#[test]
fn invalid_utf8_inside_a_record_is_replaced_not_dropped() {
    let mut line = br#"{"type":"control","contents":{"action":"failed-item","item":"bob","queue":"RESTORE","msg":{"failure":"bad "#.to_vec();
    line.push(0xE9);
    line.extend_from_slice(b"\"}}}\n");
    let events = parse_master_log(&line);
    assert_eq!(events.len(), 1);
    assert!(matches!(
        &events[0].kind,
        EventKind::ItemFailed { failure: Some(f), .. } if f == "bad \u{FFFD}"
    ));
}

#[test]
fn a_record_reads_alike_wherever_its_type_sits() {
    // REFERENCE §7.2: `type` at the top level, else inside `contents`, else what
    // `action` says (only `control` records have one).
    let fields = r#""action":"success-item","child_number":1,"queue":"TRANSFER","item":"bob","item_type":"AccountRemoteRoot","msg":{"warnings":0}"#;
    let layouts = [
        format!(r#"{{"type":"control","pid":7,"contents":{{{fields}}}}}"#),
        format!(r#"{{"pid":"7","contents":{{{fields},"type":"control"}}}}"#),
        format!(r#"{{"contents":{{"type":"control",{fields}}},"pid":"7"}}"#),
        format!(r#"{{"pid":"7","contents":{{{fields}}}}}"#),
    ];
    let events: Vec<_> = layouts
        .iter()
        .map(|line| parse_master_log(line.as_bytes()).remove(0))
        .collect();
    assert!(
        matches!(&events[0].kind, EventKind::ItemSucceeded { item, .. } if item.item == "bob"),
        "{:?}",
        events[0]
    );
    assert!(events.iter().all(|e| *e == events[0]), "{events:#?}");
}

#[test]
fn a_record_whose_type_says_otherwise_is_not_control() {
    for line in [
        // A top-level `type` wins over a nested one.
        r#"{"type":"out","contents":{"type":"control","action":"complete","child_number":0}}"#,
        r#"{"contents":{"type":"out","action":"complete","child_number":0}}"#,
        // No `type` and no `action`: nothing says what it is.
        r#"{"pid":"7","contents":{"child_number":0}}"#,
        r#"{"pid":"7","contents":"complete"}"#,
    ] {
        let events = parse_master_log(line.as_bytes());
        assert!(
            matches!(events[0].kind, EventKind::Other { .. }),
            "{line}: {:?}",
            events[0]
        );
    }
}
