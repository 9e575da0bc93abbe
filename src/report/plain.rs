//! Plain mode: one timestamped line per change, for CI logs and other non-terminals.
//!
//! ```text
//! 2026-11-27T01:02:03Z old1: following session old1abc (3 items)
//! 2026-11-27T01:02:04Z old1 bob: transferring (1.21 KiB)
//! 2026-11-27T01:02:09Z old1 bob: restored (2 warnings)
//! ```
//!
//! Nothing is written per poll: a line appears only when something changed. Items
//! waiting for a restore worker and new totals are not shown (the next line says it);
//! session-level progress repeats at most every [`Heartbeat::INTERVAL`].

use std::collections::HashMap;
use std::io::Write as _;

use chrono::{DateTime, Utc};

use super::event::ProgressEvent;
use super::format::{duration, timestamp};
use super::progress::{Heartbeat, Render, Sink};
use crate::text::for_terminal;
use crate::translog::ItemState;

/// Writes plain lines to a sink.
pub(crate) struct PlainRenderer {
    sink: Sink,
    heartbeat: Heartbeat,
    /// When each source's last line was written: the time left is said when nothing
    /// else was for [`Heartbeat::INTERVAL`], so a CI log never looks dead.
    last_line: HashMap<String, DateTime<Utc>>,
}

impl PlainRenderer {
    pub(crate) fn new(sink: Sink) -> Self {
        Self {
            sink,
            heartbeat: Heartbeat::default(),
            last_line: HashMap::new(),
        }
    }

    /// Whether `event` is drawn now: session-level progress and the time left are
    /// rate-limited, everything else is.
    fn due(&mut self, time: DateTime<Utc>, source: &str, event: &ProgressEvent) -> bool {
        match event {
            ProgressEvent::SessionLevel { state, elapsed } => {
                self.heartbeat.due(source, state.as_ref(), *elapsed)
            }
            ProgressEvent::TimeLeft { .. } => {
                let quiet = Heartbeat::INTERVAL.as_secs();
                let last = *self.last_line.entry(source.to_owned()).or_insert(time);
                (time - last).num_seconds() >= i64::try_from(quiet).unwrap_or(i64::MAX)
            }
            _ => true,
        }
    }
}

/// The line for an event, without the timestamp; `None` for events plain mode skips.
pub(crate) fn line(source: &str, event: &ProgressEvent) -> Option<String> {
    Some(match event {
        ProgressEvent::SourceStarted {
            session_id,
            planned,
            estimate,
        } => format!(
            "{source}: following session {session_id} ({}{})",
            super::format::plural(*planned as u64, "item", "items"),
            estimate
                .map(|e| format!(", planned to take {}", duration(e)))
                .unwrap_or_default()
        ),
        ProgressEvent::SessionState(state) => format!("{source}: session {state}"),
        ProgressEvent::Item(change) => {
            if change.state == ItemState::AwaitingRestore {
                return None;
            }
            format!("{source} {}", change.line())
        }
        ProgressEvent::Totals { .. } => return None,
        ProgressEvent::TimeLeft {
            tally, in_progress, ..
        } => format!(
            "{source}: still running, {} in progress ({})",
            super::format::plural(*in_progress as u64, "item", "items"),
            tally.phrase()
        ),
        ProgressEvent::Note(text) => format!("{source}: {text}"),
        ProgressEvent::SessionLevel { state, elapsed } => {
            let state = state.as_ref().map_or("state unknown", |s| s.name());
            format!(
                "{source}: session {state}, {} elapsed (per-item progress when the log is available)",
                duration(*elapsed)
            )
        }
        ProgressEvent::SourceFinished { state, totals } => {
            let mut line = if state.is_terminal() {
                format!("{source}: session ended {state}")
            } else {
                format!("{source}: stopped following the session ({state})")
            };
            if let Some(totals) = totals {
                line.push_str(": ");
                line.push_str(&totals.phrase());
            }
            line
        }
    })
}

impl Render for PlainRenderer {
    fn event(&mut self, time: DateTime<Utc>, source: &str, event: &ProgressEvent) {
        if !self.due(time, source, event) {
            return;
        }
        if let Some(line) = line(source, event) {
            self.last_line.insert(source.to_owned(), time);
            // Progress is best-effort: a closed or full terminal must not stop the
            // migration.
            let _ = writeln!(self.sink, "{} {}", timestamp(time), for_terminal(&line));
            let _ = self.sink.flush();
        }
    }

    fn finish(&mut self, _time: DateTime<Utc>) {
        // Best-effort, as every progress line.
        let _ = self.sink.flush();
    }
}
