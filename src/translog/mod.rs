//! The transfer log: WHM's line-delimited JSON logs parsed into typed events.
//!
//! A transfer session writes a master log (`master.log`, one `control` record per line:
//! session start, queue sizes, each item's pick-up, start, success, warnings or failure,
//! worker deaths, pause, abort and the end) and one item log per item per queue
//! (REFERENCE §7). This module turns those bytes into events, incrementally:
//!
//! * [`MasterLogParser`] takes chunks ([`MasterLogParser::feed`]) or the whole file
//!   again and again, as `fetch_transfer_session_log` returns it
//!   ([`MasterLogParser::feed_whole`]), and gives one [`Event`] per line;
//! * [`ItemLogParser`] does the same for item logs, giving [`ItemLogEvent`]s, and
//!   [`failure_excerpt`] picks the few lines that explain a failure;
//! * [`SessionProgress`] folds master events into per-item state and session totals.
//!
//! Every quirk of REFERENCE §8 "Log text" is tolerated: numbers written as strings,
//! missing `time`/`indent`/`partial`, `msg` of any shape, lists where counts are
//! expected, typographic quotes, and `type` inside `contents` or missing altogether (the
//! guide's printing; a record's `action` then says it is a `control` record, §7.2). A line that is not a JSON object becomes
//! [`EventKind::Malformed`] and the stream goes on; nothing here panics on input.
//!
//! ```
//! use whm_migrate::translog::{LogReplaced, MasterLogParser, SessionOutcome, SessionProgress};
//!
//! // What `fetch_transfer_session_log` returned, once and then again, longer.
//! let first = b"{\"type\":\"control\",\"pid\":\"7\",\"contents\":{\"action\":\"start\",\"child_number\":0}}\n";
//! let mut second = first.to_vec();
//! second.extend_from_slice(b"{\"type\":\"control\",\"contents\":{\"action\":\"complete\"}}\n");
//!
//! let mut parser = MasterLogParser::new();
//! let mut progress = SessionProgress::new();
//! for whole in [&first[..], &second[..]] {
//!     for event in parser.feed_whole(whole)? {
//!         progress.apply(&event);
//!     }
//! }
//! assert_eq!(progress.outcome(), Some(SessionOutcome::Completed));
//! # Ok::<(), LogReplaced>(())
//! ```
//!
//! Parsing is one pass per line: lines are found with `memchr` and deserialized into
//! borrowed serde shapes that skip what they do not need; a `serde_json::Value` is built
//! only for records kept whole ([`EventKind::Other`]).

mod counts;
mod decode;
mod event;
mod excerpt;
mod item;
mod lines;
mod loose;
mod master;
mod progress;
mod record;

#[cfg(test)]
mod tests;

pub use event::{
    Event, EventKind, ItemCounts, ItemRef, ItemReport, Queue, SessionOutcome, WorkerEnd,
    session_outcome,
};
pub use excerpt::{Excerpt, ExcerptLevel, ExcerptLine, MAX_LINE_CHARS, OUT_TAIL, failure_excerpt};
pub use item::{ItemLogEvent, ItemLogKind, ItemLogParser, parse_item_log};
pub use lines::{HEAD_LEN as LOG_HEAD_LEN, LogReplaced};
pub use master::{MasterLogParser, parse_master_log};
pub use progress::{
    ItemKey, ItemProgress, ItemState, LogPhase, SessionProgress, StepState, StepTimes, Totals,
};
