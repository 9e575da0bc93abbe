//! Item logs (`item-TRANSFER_AccountRemoteRoot_bob`, …; REFERENCE §7.4).
//!
//! One log per item per queue: a `start` line, `percentage` and `summary` control
//! records, captured command output (`out`, `warn`, `error`), and a final `success` or
//! `failed` line.

use std::borrow::Cow;

use serde_json::Value;

use super::counts::CountOrList;
use super::decode::{Parsed, count, parse_line, raw_value, report_of, texts};
use super::event::{ItemCounts, ItemReport};
use super::lines::{LineSplitter, LogReplaced};
use super::record::{Contents, Fields, Msg, RawRecord};

/// What an item-log record says.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemLogKind {
    /// `start`: e.g. `Starting “TRANSFER” for “Account” “bob”.`
    Start(String),
    /// `control`/`percentage`: progress, 0..=100.
    Percentage(u8),
    /// `out`: captured output.
    Out(String),
    /// `warn`: a warning.
    Warn(String),
    /// `error`: an error line (the step may still succeed).
    Error(String),
    /// `control`/`summary`: the counts (account restores only).
    Summary(ItemReport),
    /// `success`: the step succeeded.
    Success(String),
    /// `failed` (or the guide's `failure`): the step failed, e.g. `Failed: TEXT`.
    Failed(String),
    /// `header`: a section header.
    Header(String),
    /// `debug`: debug output.
    Debug(String),
    /// Any other record: its `type` (or `control` action) and the whole record.
    Other {
        /// The record's `type`, or for `control` records the `action`.
        kind: Option<String>,
        /// The parsed line.
        record: Value,
    },
    /// A line that is not a JSON object.
    Malformed {
        /// What was wrong with it.
        error: String,
    },
}

/// One item-log record.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemLogEvent {
    /// The 1-based line number in the log.
    pub line: usize,
    /// `contents.time` (epoch seconds), when present.
    pub time: Option<i64>,
    /// What the record says.
    pub kind: ItemLogKind,
}

/// Parses an item log incrementally; the same feeding rules as
/// [`MasterLogParser`](super::MasterLogParser).
#[derive(Debug, Default, Clone)]
pub struct ItemLogParser {
    lines: LineSplitter,
}

impl ItemLogParser {
    /// A parser at the start of a log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the complete lines of the next chunk, keeping an unfinished last line.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<ItemLogEvent> {
        let mut out = Vec::new();
        self.lines
            .feed(bytes, |n, line| out.push(decode_item(n, line)));
        out
    }

    /// Takes the whole log again and parses only the bytes past those already taken.
    pub fn feed_whole(&mut self, whole_file: &[u8]) -> Result<Vec<ItemLogEvent>, LogReplaced> {
        let mut out = Vec::new();
        self.lines
            .feed_whole(whole_file, |n, line| out.push(decode_item(n, line)))?;
        Ok(out)
    }

    /// Parses an unfinished last line, for a finished log that lacks the final `\n`.
    pub fn finish(&mut self) -> Option<ItemLogEvent> {
        let mut out = None;
        self.lines
            .finish(|n, line| out = Some(decode_item(n, line)));
        out
    }

    /// Forgets everything, to parse a new or replaced log from its start.
    pub fn reset(&mut self) {
        self.lines.reset();
    }
}

/// Parses a complete item log at once (including a last line without `\n`).
pub fn parse_item_log(log: &[u8]) -> Vec<ItemLogEvent> {
    let mut parser = ItemLogParser::new();
    let mut events = parser.feed(log);
    events.extend(parser.finish());
    events
}

/// Decodes one non-blank item-log line numbered `line_no`.
fn decode_item(line_no: usize, line: &[u8]) -> ItemLogEvent {
    let mut event = ItemLogEvent {
        line: line_no,
        time: None,
        kind: ItemLogKind::Percentage(0),
    };
    event.kind = match parse_line(line) {
        Parsed::Record(record) => {
            event.time = record_time(&record);
            record_kind(&record, line)
        }
        Parsed::Value(record) => ItemLogKind::Other { kind: None, record },
        Parsed::Malformed(error) => match String::from_utf8_lossy(line) {
            // A record is worth more than its invalid bytes: retry with U+FFFD.
            Cow::Owned(fixed) => return decode_item(line_no, fixed.as_bytes()),
            Cow::Borrowed(_) => ItemLogKind::Malformed { error },
        },
    };
    event
}

/// `contents.time`, else a top-level `time`.
fn record_time(record: &RawRecord<'_>) -> Option<i64> {
    match &record.contents {
        Contents::Object(f) => f.time.0.or(record.time.0),
        _ => record.time.0,
    }
}

/// The text of a record: `contents` itself when text, else `contents.msg`.
fn record_text(record: &RawRecord<'_>) -> String {
    let text: Option<&str> = match &record.contents {
        Contents::Text(t) => Some(t),
        Contents::Object(f) => f.msg.text(),
        Contents::Missing | Contents::Scalar => None,
    };
    text.unwrap_or_default().to_owned()
}

/// The event kind of an item-log record.
fn record_kind(record: &RawRecord<'_>, line: &[u8]) -> ItemLogKind {
    let other = |kind: Option<&str>| ItemLogKind::Other {
        kind: kind.map(str::to_owned),
        record: raw_value(line),
    };
    let kind = record.kind();
    match kind {
        Some("start") => ItemLogKind::Start(record_text(record)),
        Some("out") => ItemLogKind::Out(record_text(record)),
        Some("warn") => ItemLogKind::Warn(record_text(record)),
        Some("error") => ItemLogKind::Error(record_text(record)),
        Some("success") => ItemLogKind::Success(record_text(record)),
        Some("failed" | "failure") => ItemLogKind::Failed(record_text(record)),
        Some("header") => ItemLogKind::Header(record_text(record)),
        Some("debug") => ItemLogKind::Debug(record_text(record)),
        Some("control") => {
            let Contents::Object(f) = &record.contents else {
                return other(kind);
            };
            match f.action.as_deref() {
                Some("percentage") => {
                    percentage(f).map_or_else(|| other(Some("percentage")), ItemLogKind::Percentage)
                }
                Some("summary") => ItemLogKind::Summary(summary(f)),
                action => other(action),
            }
        }
        _ => other(kind),
    }
}

/// `percentage` (or a numeric `msg`), capped at 100.
fn percentage(f: &Fields<'_>) -> Option<u8> {
    let n = f
        .percentage
        .0
        .or_else(|| f.msg.text().and_then(|t| t.trim().parse().ok()))?;
    Some(u8::try_from(n.min(100)).unwrap_or(100))
}

/// The counts of a `summary` record, at `contents` level or inside `msg`.
fn summary(f: &Fields<'_>) -> ItemReport {
    let none = CountOrList::default();
    let mut report = ItemReport {
        counts: ItemCounts {
            warnings: count(&f.warnings, &none),
            skipped_items: count(&f.skipped_items, &none),
            dangerous_items: count(&f.dangerous_items, &none),
            altered_items: count(&f.altered_items, &none),
        },
        warnings: texts(&f.warnings, &none),
        skipped: texts(&f.skipped_items, &none),
        dangerous: texts(&f.dangerous_items, &none),
        altered: texts(&f.altered_items, &none),
        ..ItemReport::default()
    };
    if report.counts.is_clean()
        && let Msg::Object(o) = &f.msg
    {
        report = report_of(o);
    }
    report
}
