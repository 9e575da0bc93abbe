//! The progress modes over a replayed session: plain and JSON output are snapshots;
//! bars run against a hidden target and still print finished items.

use std::time::Duration;

use super::progress::{Progress, ProgressMode};
use super::testlog::{SharedBuf, planned, replay, ticking_clock};
use crate::domain::SessionState;

/// Drives a display the way the executor does: one source with per-item events, one
/// whose log is unavailable until the end (session-level progress only).
fn drive(mode: ProgressMode) -> String {
    let buf = SharedBuf::default();
    let progress = Progress::with_sink(mode, Box::new(buf.clone()), ticking_clock());
    let planned = planned();
    progress.source_started(
        "old1",
        "old1abc20261127010203wxyz",
        &planned,
        Some(Duration::from_secs(600)),
    );
    progress.note("old1", "enqueued 4 items (1 already queued)");
    progress.session_state("old1", &SessionState::Running);
    for (i, fold) in replay().iter().enumerate() {
        progress.update("old1", fold);
        progress.time_left("old1", Some(Duration::from_secs(720 - 60 * i as u64)));
        // The state poll repeats itself; only changes are shown.
        progress.session_state("old1", &SessionState::Running);
        if i == 1 {
            progress.source_started("old2", "old2def20261127010205abcd", &planned[..1], None);
            progress.time_left("old2", None);
            progress.session_state("old2", &SessionState::Running);
            progress.note(
                "old2",
                "log not available until the session ends: showing session progress",
            );
        }
        // A poll every 100 s for old2: shown at 1 s, 301 s and 401 s (state change).
        if i >= 1 {
            progress.session_level("old2", Duration::from_secs(1 + 100 * (i as u64 - 1)));
        }
    }
    progress.session_state("old2", &SessionState::Paused);
    progress.session_level("old2", Duration::from_secs(401));
    progress.source_finished("old1", &SessionState::Completed);
    progress.source_finished("old2", &SessionState::Paused);
    progress.finish();
    drop(progress);
    buf.text()
}

#[test]
fn plain_progress_is_one_timestamped_line_per_change() {
    let out = drive(ProgressMode::Plain);
    insta::assert_snapshot!("plain", out);
    // Every line is timestamped; no line repeats (no per-poll noise).
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.iter().all(|l| l.starts_with("2026-11-27T")));
    let bodies: Vec<&str> = lines.iter().map(|l| &l[21..]).collect();
    let mut unique = bodies.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), bodies.len(), "{out}");
}

#[test]
fn json_progress_is_one_object_per_line_with_type_time_and_source() {
    let out = drive(ProgressMode::Json);
    insta::assert_snapshot!("json", out);
    let mut types = Vec::new();
    for line in out.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("one object per line");
        let kind = value["type"].as_str().expect("type").to_owned();
        assert!(value["time"].is_string(), "{line}");
        assert!(kind == "finished" || value["source"].is_string(), "{line}");
        types.push(kind);
    }
    assert_eq!(types.last().map(String::as_str), Some("finished"));
    let failed: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(r#""state":"failed""#))
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains(r#""failed_step":"RESTORE""#));
}

#[test]
fn bars_on_a_hidden_target_print_finished_items_and_clean_up() {
    let out = drive(ProgressMode::Bars);
    insta::assert_snapshot!("bars", out);
    assert!(out.contains("old1 bob → bob2: restored (2 warnings, 1 dangerous, 1 altered)"));
    assert!(out.contains("old1 alice: FAILED in RESTORE"));
    // In-progress states are bars, not lines.
    assert!(!out.contains("transferring"));
}

#[test]
fn dropping_a_display_without_finish_is_clean() {
    let buf = SharedBuf::default();
    {
        let progress =
            Progress::with_sink(ProgressMode::Bars, Box::new(buf.clone()), ticking_clock());
        progress.source_started("old1", "s1", &planned(), None);
        progress.update("old1", &replay()[1]);
    }
    let buf2 = SharedBuf::default();
    {
        let progress =
            Progress::with_sink(ProgressMode::Json, Box::new(buf2.clone()), ticking_clock());
        progress.note("old1", "x");
    }
    assert!(
        buf2.text()
            .ends_with("\"type\":\"finished\",\"time\":\"2026-11-27T01:02:04Z\"}\n")
    );
    assert!(buf.text().contains("old1 package package1: restored"));
}

#[test]
fn auto_with_a_sink_is_plain() {
    let progress = Progress::with_sink(
        ProgressMode::Auto,
        Box::new(SharedBuf::default()),
        ticking_clock(),
    );
    assert_eq!(progress.mode(), ProgressMode::Plain);
}

#[test]
fn ten_thousand_items_give_one_line_per_change_and_nothing_per_idle_poll() {
    use crate::translog::{MasterLogParser, SessionProgress};

    let mut log = String::new();
    for i in 0..10_000 {
        putln!(
            log,
            r#"{{"type":"control","contents":{{"action":"success-item","child_number":1,"queue":"RESTORE","item":"u{i}","item_type":"AccountRemoteRoot","msg":{{"size":1}}}}}}"#
        );
    }
    let mut fold = SessionProgress::new();
    fold.apply_all(&MasterLogParser::new().feed(log.as_bytes()));
    let buf = SharedBuf::default();
    let progress = Progress::with_sink(ProgressMode::Plain, Box::new(buf.clone()), ticking_clock());
    progress.update("old1", &fold);
    assert_eq!(buf.text().lines().count(), 10_000);
    for _ in 0..3 {
        progress.update("old1", &fold);
        progress.session_state("old1", &SessionState::Running);
    }
    assert_eq!(buf.text().lines().count(), 10_001);
}

#[test]
fn items_new_to_the_display_between_known_ones_are_shown_once_each_change() {
    use crate::translog::{ItemKey, MasterLogParser, SessionProgress};

    let record = |action: &str, queue: &str, user: &str| {
        format!(
            r#"{{"type":"control","contents":{{"action":"{action}","child_number":1,"queue":"{queue}","item":"{user}","item_type":"AccountRemoteRoot","item_name":"Account"}}}}"#
        ) + "\n"
    };
    let fold = |lines: &[String]| {
        let mut fold = SessionProgress::new();
        fold.apply_all(&MasterLogParser::new().feed(lines.concat().as_bytes()));
        fold
    };
    let shown = |buf: &SharedBuf, from: usize| -> Vec<String> {
        buf.text()
            .lines()
            .skip(from)
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["type"] == "item")
            .map(|v| {
                format!(
                    "{} {}",
                    v["key"].as_str().unwrap(),
                    v["state"].as_str().unwrap()
                )
            })
            .collect()
    };
    let buf = SharedBuf::default();
    let progress = Progress::with_sink(ProgressMode::Json, Box::new(buf.clone()), ticking_clock());
    // "b" and "d" are planned; the log also names "a", "c" and "e", around them.
    let planned = [
        ItemKey::new("AccountRemoteRoot", "b"),
        ItemKey::new("AccountRemoteRoot", "d"),
    ];
    progress.source_started("old1", "s1", &planned, None);
    let mut lines = vec![
        record("start-item", "TRANSFER", "c"),
        record("start-item", "TRANSFER", "e"),
    ];
    progress.update("old1", &fold(&lines));
    let seen = buf.text().lines().count();
    lines.push(record("start-item", "TRANSFER", "b"));
    lines.push(record("start-item", "TRANSFER", "a"));
    progress.update("old1", &fold(&lines));
    let seen2 = buf.text().lines().count();
    progress.update("old1", &fold(&lines));
    let seen3 = buf.text().lines().count();
    lines.push(record("success-item", "TRANSFER", "e"));
    progress.update("old1", &fold(&lines));
    assert_eq!(shown(&buf, 0)[..2], ["c transferring", "e transferring"]);
    assert_eq!(
        shown(&buf, seen),
        ["a transferring", "b transferring", "e awaiting_restore"]
    );
    assert_eq!(seen3, seen2, "an unchanged fold shows nothing");
    assert_eq!(shown(&buf, seen3), ["e awaiting_restore"]);
}

#[test]
fn plain_mode_says_the_time_left_after_five_quiet_minutes_and_not_before() {
    use chrono::Utc;
    use std::sync::{Arc, Mutex};
    let now = Arc::new(Mutex::new(super::testlog::start_time()));
    let clock_now = now.clone();
    let clock: super::progress::Clock = Box::new(move || *clock_now.lock().unwrap());
    let advance = |secs: i64| *now.lock().unwrap() += chrono::Duration::seconds(secs);
    let buf = SharedBuf::default();
    let progress = Progress::with_sink(ProgressMode::Plain, Box::new(buf.clone()), clock);
    progress.source_started("old1", "s1", &planned(), Some(Duration::from_secs(3_600)));
    progress.update("old1", &replay()[1]);
    let said = buf.text().lines().count();
    // The time left is passed on every second; 299 s of it say nothing.
    for left in (3_300..3_599).rev() {
        advance(1);
        progress.time_left("old1", Some(Duration::from_secs(left)));
    }
    assert_eq!(buf.text().lines().count(), said, "{}", buf.text());
    advance(1);
    progress.time_left("old1", Some(Duration::from_secs(720)));
    let text = buf.text();
    let last = text.lines().last().unwrap();
    assert!(
        last.ends_with("old1: still running, 2 items in progress (1/4, about 12 min left)"),
        "{text}"
    );
    // The next one is five minutes after that line.
    advance(1);
    progress.time_left("old1", Some(Duration::from_secs(719)));
    assert_eq!(buf.text().lines().count(), said + 1);
    let _ = Utc::now;
}
