//! Item logs and the failure excerpt.

use std::fmt::Write as _;

use crate::translog::{
    ExcerptLevel, ItemLogKind, ItemLogParser, MAX_LINE_CHARS, OUT_TAIL, failure_excerpt,
    parse_item_log,
};

const RESTORE_LOG: &str = concat!(
    r#"{"type":"start","pid":77,"contents":{"msg":["Starting “RESTORE” for “Account” “bob” → “bob2”."],"time":1700000100}}"#,
    "\n",
    r#"{"type":"control","contents":{"action":"percentage","percentage":10,"time":1700000101}}"#,
    "\n",
    r#"{"type":"header","contents":{"msg":["Restoring files"]}}"#,
    "\n",
    r#"{"type":"out","contents":{"msg":["line one\n","line two"]}}"#,
    "\n",
    r#"{"type":"control","contents":{"action":"percentage","percentage":"55"}}"#,
    "\n",
    r#"{"type":"warn","contents":{"msg":"disk is “tight”"}}"#,
    "\n",
    r#"{"type":"debug","contents":{"msg":["x"]}}"#,
    "\n",
    r#"{"type":"error","contents":{"msg":["mysql said no"]}}"#,
    "\n",
    r#"{"type":"control","contents":{"action":"summary","warnings":"3","skipped_items":1,"dangerous_items":[[["Mysql","f",1],"grants skipped",null]],"altered_items":null}}"#,
    "\n",
    r#"{"type":"control","contents":{"action":"percentage","percentage":250}}"#,
    "\n",
    "{broken\n",
    r#"{"type":"mystery","contents":{"msg":"?"}}"#,
    "\n",
    r#"{"type":"failed","contents":{"msg":["Failed: The restore of “bob” failed."]}}"#,
);

#[test]
fn item_log_records_become_events() {
    let events = parse_item_log(RESTORE_LOG.as_bytes());
    assert_eq!(events.len(), 13);
    assert_eq!(
        events[0].kind,
        ItemLogKind::Start("Starting “RESTORE” for “Account” “bob” → “bob2”.".into())
    );
    assert_eq!(events[0].time, Some(1_700_000_100));
    assert_eq!(events[1].kind, ItemLogKind::Percentage(10));
    assert_eq!(
        events[2].kind,
        ItemLogKind::Header("Restoring files".into())
    );
    assert_eq!(
        events[3].kind,
        ItemLogKind::Out("line one\nline two".into())
    );
    assert_eq!(events[4].kind, ItemLogKind::Percentage(55));
    assert_eq!(events[5].kind, ItemLogKind::Warn("disk is “tight”".into()));
    assert_eq!(events[6].kind, ItemLogKind::Debug("x".into()));
    assert_eq!(events[7].kind, ItemLogKind::Error("mysql said no".into()));
    let ItemLogKind::Summary(summary) = &events[8].kind else {
        panic!("expected summary, got {:?}", events[8].kind);
    };
    assert_eq!(summary.counts.warnings, 3);
    assert_eq!(summary.counts.skipped_items, 1);
    assert_eq!(summary.counts.dangerous_items, 1);
    assert_eq!(summary.counts.altered_items, 0);
    assert_eq!(summary.dangerous, vec!["grants skipped".to_owned()]);
    assert_eq!(events[9].kind, ItemLogKind::Percentage(100));
    assert!(matches!(events[10].kind, ItemLogKind::Malformed { .. }));
    assert!(matches!(
        &events[11].kind,
        ItemLogKind::Other { kind: Some(k), .. } if k == "mystery"
    ));
    assert_eq!(
        events[12].kind,
        ItemLogKind::Failed("Failed: The restore of “bob” failed.".into())
    );
}

#[test]
fn item_log_success_and_chunked_feed() {
    let log = concat!(
        r#"{"type":"start","contents":{"msg":"Starting."}}"#,
        "\n",
        r#"{"type":"success","contents":{"msg":["Success."]}}"#,
        "\n"
    );
    let mut parser = ItemLogParser::new();
    let mut events = Vec::new();
    for chunk in log.as_bytes().chunks(7) {
        events.extend(parser.feed(chunk));
    }
    assert_eq!(parser.finish(), None);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].kind, ItemLogKind::Success("Success.".into()));
    assert!(parser.feed_whole(b"{}\n").is_err());
    parser.reset();
    assert_eq!(parser.feed_whole(log.as_bytes()).unwrap(), events);
}

#[test]
fn excerpt_keeps_failure_errors_warnings_and_output_tail() {
    let events = parse_item_log(RESTORE_LOG.as_bytes());
    let excerpt = failure_excerpt(&events, 20);
    let got: Vec<(ExcerptLevel, &str)> = excerpt
        .lines
        .iter()
        .map(|l| (l.level, l.text.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (ExcerptLevel::Out, "line one"),
            (ExcerptLevel::Out, "line two"),
            (ExcerptLevel::Warn, "disk is “tight”"),
            (ExcerptLevel::Error, "mysql said no"),
            (ExcerptLevel::Failed, "Failed: The restore of “bob” failed."),
        ]
    );
    assert_eq!(excerpt.omitted, 0);
    assert_eq!(excerpt.lines[4].line, 13);
}

#[test]
fn excerpt_is_bounded_and_prefers_important_lines() {
    let mut log = String::new();
    for i in 0..30 {
        writeln!(
            log,
            "{{\"type\":\"out\",\"contents\":{{\"msg\":[\"out {i}\"]}}}}"
        )
        .unwrap();
    }
    for i in 0..25 {
        writeln!(
            log,
            "{{\"type\":\"error\",\"contents\":{{\"msg\":\"err {i}\"}}}}"
        )
        .unwrap();
    }
    let long = "x".repeat(MAX_LINE_CHARS + 50);
    writeln!(
        log,
        "{{\"type\":\"failed\",\"contents\":{{\"msg\":\"{long}\"}}}}"
    )
    .unwrap();
    let events = parse_item_log(log.as_bytes());

    let excerpt = failure_excerpt(&events, 20);
    assert_eq!(excerpt.lines.len(), 20);
    assert_eq!(excerpt.omitted, 25 + OUT_TAIL + 1 - 20);
    // No output survives against errors; the latest errors and the failure do.
    assert!(excerpt.lines.iter().all(|l| l.level != ExcerptLevel::Out));
    assert_eq!(excerpt.lines[0].text, "err 6");
    let last = excerpt.lines.last().unwrap();
    assert_eq!(last.level, ExcerptLevel::Failed);
    assert_eq!(last.text.chars().count(), MAX_LINE_CHARS + 1);
    assert!(last.text.ends_with('…'));

    // Only the output tail is a candidate.
    let outs_only = failure_excerpt(&events[..30], 20);
    assert_eq!(outs_only.lines.len(), OUT_TAIL);
    assert_eq!(outs_only.lines[0].text, format!("out {}", 30 - OUT_TAIL));
}

#[test]
fn item_log_records_read_with_type_nested_or_absent() {
    // The guide's layout (REFERENCE §7.2) applied to an item log.
    let log = concat!(
        r#"{"pid":"77","contents":{"type":"start","msg":["Starting “TRANSFER” for “Account” “bob”."]}}"#,
        "\n",
        r#"{"pid":"77","contents":{"action":"percentage","percentage":"40"}}"#,
        "\n",
        r#"{"pid":"77","contents":{"type":"out","msg":["copied"]}}"#,
        "\n",
        r#"{"pid":"77","contents":{"msg":["Success."],"type":"success"}}"#,
        "\n",
    );
    let kinds: Vec<ItemLogKind> = parse_item_log(log.as_bytes())
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            ItemLogKind::Start("Starting “TRANSFER” for “Account” “bob”.".into()),
            ItemLogKind::Percentage(40),
            ItemLogKind::Out("copied".into()),
            ItemLogKind::Success("Success.".into()),
        ]
    );
}
