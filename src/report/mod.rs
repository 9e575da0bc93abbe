//! What `apply` shows: live progress while sessions run, and the final report.
//!
//! * [`Progress`] is driven by the apply executor. It diffs each new
//!   [`SessionProgress`](crate::translog::SessionProgress) against what it last showed
//!   and draws only the changes, in one of three modes ([`ProgressMode`]):
//!   - **bars** (stderr, on a terminal): one overall bar per source, a spinner line per
//!     item being transferred or restored, finished items printed above the bars;
//!   - **plain** (stderr, the default off a terminal): one timestamped line per change,
//!     e.g. `2026-11-27T01:02:03Z old1 bob: restored (2 warnings)`; nothing per poll;
//!   - **json** (stdout): NDJSON events, described below. They go to stdout because in
//!     this mode they are the data the user asked for; messages stay on stderr.
//! * [`ApplyReport`] is the final report: [`ApplyReport::render_text`] for people,
//!   serde JSON for machines, [`write_junit`] for CI test reporters,
//!   [`ApplyReport::render_markdown`] for a CI job summary or a pull-request comment, and
//!   [`ApplyReport::exit_code`].
//!
//! Meaning never depends on colour: failures say `FAILED` in words, and no mode
//! colours anything.
//!
//! # NDJSON progress events (`--progress json`)
//!
//! One JSON object per line. Every object has `type`, `time` (UTC, RFC 3339 to the
//! second) and, except `finished`, `source` (the manifest's source name). By `type`:
//!
//! | `type` | further fields |
//! |---|---|
//! | `source_started` | `session_id`, `planned` (item count), `estimate_secs` (the plan's estimate of the session, or null) |
//! | `session_state` | `state`: the WHM state name (`RUNNING`, `PAUSED`, any unknown name verbatim) |
//! | `item` | `module`, `key`, `localuser` (only when it differs), `state` (`transferring`, `awaiting_restore`, `restoring`, `done`, `done_with_warnings`, `failed`), `size` (bytes, when known); once finished also `warnings`, `skipped`, `dangerous`, `altered`; when failed also `failure` and `failed_step` (`TRANSFER`/`RESTORE`, or null) |
//! | `totals` | `totals`: `{total, done, done_with_warnings, failed, in_progress, bytes_done?, bytes_total?}`, after an update that changed them; `eta_secs`: the seconds until the session is expected to end (live estimate, see docs/operations.md, "How long is left"), or null while none exists |
//! | `note` | `text` |
//! | `session_level` | `state` (or null), `elapsed_secs`; while per-item events are unavailable, at most every 5 minutes or on a state change |
//! | `source_finished` | `state`, `totals` (as above, or null) |
//! | `finished` | none: the last line |
//!
//! An item appears once per state it was seen in; an item that moved through several
//! states between two log reads appears only in the last one. Consumers should ignore
//! unknown `type`s and fields: new ones may be added.

mod bars;
mod event;
pub mod format;
mod from_log;
mod json;
mod junit;
pub mod log_lines;
mod markdown;
mod plain;
mod progress;
pub mod status;
mod summary;
mod text;

#[cfg(test)]
mod junit_tests;
#[cfg(test)]
mod markdown_tests;
#[cfg(test)]
mod progress_tests;
#[cfg(test)]
mod summary_tests;
#[cfg(test)]
mod testlog;

pub use event::{ItemChange, ProgressEvent, SourceTotals, Tally};
pub use junit::{escape_xml, write_junit};
pub use progress::{Clock, Progress, ProgressMode, Sink};
pub use summary::{
    ApplyReport, FIRST_MESSAGES, FlaggedItem, ItemOutcome, Outcome, OutcomeCounts, SourceReport,
};
