//! One master-log line to one [`Event`].

use std::borrow::Cow;

use serde_json::Value;

use super::counts::CountOrList;
use super::event::{
    Event, EventKind, ItemCounts, ItemRef, ItemReport, Queue, SessionOutcome, WorkerEnd,
};
use super::loose::float_to_u64;
use super::record::{Contents, Fields, Msg, MsgObject, RawRecord};

/// A line read as a record, or why it could not be.
pub(crate) enum Parsed<'a> {
    /// Read with the typed shapes.
    Record(RawRecord<'a>),
    /// Valid JSON object the typed shapes refused (e.g. a duplicate key): kept whole.
    Value(Value),
    /// Not a JSON object.
    Malformed(String),
}

/// Reads one non-blank line.
pub(crate) fn parse_line(line: &[u8]) -> Parsed<'_> {
    if line.first() != Some(&b'{') {
        return Parsed::Malformed(not_an_object(line));
    }
    match serde_json::from_slice::<RawRecord<'_>>(line) {
        Ok(record) => Parsed::Record(record),
        Err(typed) => match serde_json::from_slice::<Value>(line) {
            Ok(value @ Value::Object(_)) => Parsed::Value(value),
            _ => Parsed::Malformed(typed.to_string()),
        },
    }
}

/// Says what a line that does not start with `{` is.
fn not_an_object(line: &[u8]) -> String {
    match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        Ok(_) => "valid JSON but not an object".to_owned(),
        Err(e) => e.to_string(),
    }
}

/// The whole line as a `Value`, for [`EventKind::Other`].
pub(crate) fn raw_value(line: &[u8]) -> Value {
    serde_json::from_slice(line).unwrap_or(Value::Null)
}

/// Decodes one non-blank master-log line (already trimmed) numbered `line_no`.
pub(crate) fn decode_master(line_no: usize, line: &[u8]) -> Event {
    let mut event = Event {
        line: line_no,
        time: None,
        pid: None,
        child: None,
        kind: EventKind::SessionStarted,
    };
    let record = match parse_line(line) {
        Parsed::Record(record) => record,
        Parsed::Value(record) => {
            event.kind = EventKind::Other {
                action: None,
                record,
            };
            return event;
        }
        Parsed::Malformed(error) => {
            // A record is worth more than its invalid bytes: retry with U+FFFD.
            if let Cow::Owned(fixed) = String::from_utf8_lossy(line) {
                return decode_master(line_no, fixed.as_bytes());
            }
            event.kind = EventKind::Malformed { error };
            return event;
        }
    };
    event.pid = record.pid.0;
    event.time = record.time.0;
    let is_control = record.kind() == Some("control");
    let fields = match record.contents {
        Contents::Object(fields) if is_control => fields,
        _ => {
            event.kind = other(None, line);
            return event;
        }
    };
    event.time = fields.time.0.or(event.time);
    event.child = fields.child_number.0.and_then(|n| u32::try_from(n).ok());
    event.kind = control_kind(&fields, event.child, line);
    event
}

/// [`EventKind::Other`] for `line`.
fn other(action: Option<&str>, line: &[u8]) -> EventKind {
    EventKind::Other {
        action: action.map(str::to_owned),
        record: raw_value(line),
    }
}

/// The event kind of a `control` record.
fn control_kind(f: &Fields<'_>, child: Option<u32>, line: &[u8]) -> EventKind {
    let Some(action) = f.action.as_deref() else {
        return other(None, line);
    };
    let is_worker = child.is_some_and(|c| c >= 1);
    let queue = || f.queue.as_deref().map(Queue::parse);
    let text = || f.msg.text().map(str::to_owned);
    let number = || f.msg.text().and_then(parse_u64);
    let end = |end: WorkerEnd, outcome: SessionOutcome| {
        if is_worker {
            EventKind::WorkerFinished {
                queue: queue(),
                end,
            }
        } else {
            EventKind::SessionEnded(outcome)
        }
    };
    match action {
        "start" => match item_ref(f) {
            Some(item) => EventKind::ItemPickedUp(item),
            None if is_worker => EventKind::WorkerStarted { queue: queue() },
            None => EventKind::SessionStarted,
        },
        "resume" => EventKind::SessionResumed,
        "initiator" => EventKind::Initiator(text()),
        "version" => EventKind::Version(text()),
        "queue_count" => EventKind::QueueCount {
            queue: queue(),
            count: number(),
        },
        "queue_size" => EventKind::QueueSize {
            queue: queue(),
            size: number(),
        },
        "remotehost" => EventKind::RemoteHost(text()),
        "pausing" => EventKind::Pausing,
        "pause" => EventKind::Paused,
        "aborting" => EventKind::Aborting,
        "complete" => end(WorkerEnd::Completed, SessionOutcome::Completed),
        "abort" => end(WorkerEnd::Aborted, SessionOutcome::Aborted),
        "fail" => end(WorkerEnd::Failed, SessionOutcome::Failed),
        "child-failed" => {
            let (attempt, max) = f.msg.text().map_or((None, None), parse_ratio);
            EventKind::ChildFailed {
                attempt,
                max,
                text: text(),
            }
        }
        "process-item" | "start-item" | "success-item" | "warning-item" | "failed-item" => {
            item_kind(action, f).unwrap_or_else(|| other(Some(action), line))
        }
        _ => other(Some(action), line),
    }
}

/// The event kind of an item action, or `None` when the record names no item.
fn item_kind(action: &str, f: &Fields<'_>) -> Option<EventKind> {
    let mut item = item_ref(f)?;
    let obj = match &f.msg {
        Msg::Object(obj) => Some(&**obj),
        _ => None,
    };
    Some(match action {
        "process-item" => {
            if item.logfile.is_none() {
                item.logfile = f.msg.text().map(str::to_owned);
            }
            EventKind::ItemProcessing(item)
        }
        "start-item" => EventKind::ItemStarted {
            item,
            size: obj.and_then(|o| o.size.0),
        },
        "success-item" => EventKind::ItemSucceeded {
            item,
            report: obj.map(report_of).unwrap_or_default(),
        },
        "warning-item" => EventKind::ItemWarned {
            item,
            report: obj.map(report_of).unwrap_or_default(),
        },
        _ => EventKind::ItemFailed {
            item,
            failure: match obj {
                Some(o) => o.failure.0.clone().map(Cow::into_owned),
                None => f.msg.text().map(str::to_owned),
            },
            report: obj.map(report_of).unwrap_or_default(),
        },
    })
}

/// The item fields of a record, when it has an `item`.
fn item_ref(f: &Fields<'_>) -> Option<ItemRef> {
    Some(ItemRef {
        item: f.item.0.clone()?.into_owned(),
        queue: f.queue.as_deref().map(Queue::parse),
        local_item: f.local_item.clone().owned(),
        item_type: f.item_type.clone().owned(),
        item_name: f.item_name.clone().owned(),
        logfile: f.logfile.clone().owned(),
    })
}

/// The report of an item result object.
pub(crate) fn report_of(o: &MsgObject<'_>) -> ItemReport {
    let details = &o.contents.0;
    ItemReport {
        size: o.size.0,
        counts: ItemCounts {
            warnings: count(&o.warnings, &details.warnings),
            skipped_items: count(&o.skipped_items, &details.skipped_items),
            dangerous_items: count(&o.dangerous_items, &details.dangerous_items),
            altered_items: count(&o.altered_items, &details.altered_items),
        },
        warnings: texts(&o.warnings, &details.warnings),
        skipped: texts(&o.skipped_items, &details.skipped_items),
        dangerous: texts(&o.dangerous_items, &details.dangerous_items),
        altered: texts(&o.altered_items, &details.altered_items),
        message: o.message.0.clone().map(Cow::into_owned),
    }
}

/// The count: the larger of the top-level count and the length of the list behind it.
///
/// The guide's example writes `altered_items: 0` beside a list of two altered items;
/// the list is the better witness.
pub(crate) fn count(top: &CountOrList<'_>, detail: &CountOrList<'_>) -> u64 {
    top.count.unwrap_or(0).max(detail.count.unwrap_or(0))
}

/// The texts of both places, top level first.
pub(crate) fn texts(top: &CountOrList<'_>, detail: &CountOrList<'_>) -> Vec<String> {
    top.texts
        .iter()
        .chain(&detail.texts)
        .map(|t| t.clone().into_owned())
        .collect()
}

/// Reads a count written as text (`"3"`, `3`, `3.0`).
fn parse_u64(text: &str) -> Option<u64> {
    let text = text.trim();
    text.parse()
        .ok()
        .or_else(|| text.parse().ok().and_then(float_to_u64))
}

/// Reads `"n/m"`.
fn parse_ratio(text: &str) -> (Option<u32>, Option<u32>) {
    let (n, m) = text.split_once('/').unwrap_or((text, ""));
    (n.trim().parse().ok(), m.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::{parse_ratio, parse_u64};

    #[test]
    fn ratios_and_counts() {
        assert_eq!(parse_ratio("1/3"), (Some(1), Some(3)));
        assert_eq!(parse_ratio(" 2 / 9 "), (Some(2), Some(9)));
        assert_eq!(parse_ratio("x"), (None, None));
        assert_eq!(parse_u64("3"), Some(3));
        assert_eq!(parse_u64("3.0"), Some(3));
        assert_eq!(parse_u64("-3"), None);
    }
}
