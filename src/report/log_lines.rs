//! One line of text per transfer-log event, as `whm-migrate logs` prints them.

use crate::translog::{Event, EventKind, ItemLogEvent, ItemLogKind, ItemRef};

/// A master-log event as one line (empty for events not worth a line).
pub fn master_line(e: &Event) -> String {
    let time = e
        .time
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ ").to_string())
        .unwrap_or_default();
    let text = match &e.kind {
        EventKind::SessionStarted => "session started".to_owned(),
        EventKind::SessionResumed => "session resumed".to_owned(),
        EventKind::ItemStarted { item: i, size } => format!(
            "{}: started{}",
            item(i),
            size.map(|s| format!(" ({s} bytes)")).unwrap_or_default()
        ),
        EventKind::ItemSucceeded { item: i, .. } => format!("{}: done", item(i)),
        EventKind::ItemWarned { item: i, report } => format!(
            "{}: done with warnings: {}",
            item(i),
            report.warnings.join("; ")
        ),
        EventKind::ItemFailed {
            item: i, failure, ..
        } => format!(
            "{}: FAILED: {}",
            item(i),
            failure.as_deref().unwrap_or("(no text)")
        ),
        EventKind::ChildFailed { text, .. } => format!(
            "a worker died and was restarted ({})",
            text.as_deref().unwrap_or("?")
        ),
        EventKind::Pausing => "pausing".to_owned(),
        EventKind::Paused => "paused".to_owned(),
        EventKind::Aborting => "aborting".to_owned(),
        EventKind::SessionEnded(outcome) => format!("session ended: {outcome:?}"),
        EventKind::Malformed { error } => format!("(unreadable log line: {error})"),
        _ => return String::new(),
    };
    format!("{time}{text}")
}

fn item(i: &ItemRef) -> String {
    format!(
        "{} {} {}",
        i.queue.as_ref().map_or("", |q| q.as_str()),
        i.item_type.as_deref().unwrap_or(""),
        i.item
    )
}

/// An item-log event as one line.
pub fn item_line(e: &ItemLogEvent) -> String {
    match &e.kind {
        ItemLogKind::Start(t)
        | ItemLogKind::Out(t)
        | ItemLogKind::Header(t)
        | ItemLogKind::Debug(t) => t.clone(),
        ItemLogKind::Warn(t) => format!("warning: {t}"),
        ItemLogKind::Error(t) => format!("error: {t}"),
        ItemLogKind::Success(t) => format!("success: {t}"),
        ItemLogKind::Failed(t) => format!("FAILED: {t}"),
        ItemLogKind::Percentage(p) => format!("{p}%"),
        ItemLogKind::Summary(r) => format!(
            "summary: {} warnings, {} skipped, {} dangerous, {} altered",
            r.counts.warnings,
            r.counts.skipped_items,
            r.counts.dangerous_items,
            r.counts.altered_items
        ),
        ItemLogKind::Other { kind, .. } => format!("({})", kind.as_deref().unwrap_or("record")),
        ItemLogKind::Malformed { error } => format!("(unreadable log line: {error})"),
    }
}
