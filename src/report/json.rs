//! JSON mode: one NDJSON object per event (schema in the [module docs](super)).

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::ser::{SerializeMap, Serializer as _};

use super::event::{ItemChange, ProgressEvent};
use super::format::timestamp;
use super::progress::{Heartbeat, Render, Sink};
use crate::domain;
use crate::translog::{ItemState, Queue};

/// Writes NDJSON events to a sink.
pub(crate) struct JsonRenderer {
    sink: Sink,
    heartbeat: Heartbeat,
}

impl JsonRenderer {
    pub(crate) fn new(sink: Sink) -> Self {
        Self {
            sink,
            heartbeat: Heartbeat::default(),
        }
    }
}

/// The `state` value of an `item` event.
pub(crate) fn state_name(state: ItemState) -> &'static str {
    match state {
        ItemState::Pending => "pending",
        ItemState::Transferring => "transferring",
        ItemState::AwaitingRestore => "awaiting_restore",
        ItemState::Restoring => "restoring",
        ItemState::Done => "done",
        ItemState::DoneWithWarnings => "done_with_warnings",
        ItemState::Failed => "failed",
    }
}

/// The `type` of an event's object; `None` for the time left passed on every second
/// (`totals` carries it).
fn kind(event: &ProgressEvent) -> Option<&'static str> {
    Some(match event {
        ProgressEvent::SourceStarted { .. } => "source_started",
        ProgressEvent::SessionState(_) => "session_state",
        ProgressEvent::Item(_) => "item",
        ProgressEvent::Totals { .. } => "totals",
        ProgressEvent::TimeLeft { .. } => return None,
        ProgressEvent::Note(_) => "note",
        ProgressEvent::SessionLevel { .. } => "session_level",
        ProgressEvent::SourceFinished { .. } => "source_finished",
    })
}

fn item_fields<M: SerializeMap>(change: &ItemChange, m: &mut M) -> Result<(), M::Error> {
    m.serialize_entry("module", &change.key.item_type)?;
    m.serialize_entry("key", &change.key.item)?;
    if let Some(local) = &change.local_item {
        m.serialize_entry("localuser", local)?;
    }
    m.serialize_entry("state", state_name(change.state))?;
    if let Some(size) = change.size {
        m.serialize_entry("size", &size)?;
    }
    if matches!(
        change.state,
        ItemState::Done | ItemState::DoneWithWarnings | ItemState::Failed
    ) {
        let c = &change.counts;
        m.serialize_entry("warnings", &c.warnings)?;
        m.serialize_entry("skipped", &c.skipped_items)?;
        m.serialize_entry("dangerous", &c.dangerous_items)?;
        m.serialize_entry("altered", &c.altered_items)?;
    }
    if change.state == ItemState::Failed {
        m.serialize_entry("failure", &change.failure)?;
        m.serialize_entry(
            "failed_step",
            &change.failed_step.as_ref().map(Queue::as_str),
        )?;
    }
    Ok(())
}

/// Whole seconds (rounded), or null.
fn secs(d: Option<std::time::Duration>) -> Option<u64> {
    d.map(|d| (d + std::time::Duration::from_millis(500)).as_secs())
}

/// Writes the event as one line of JSON: `type`, `time`, `source`, then its fields,
/// serialized straight into `out` (thousands of item events a second at the end of a
/// large session: no object is built for each). Writes nothing for the time left passed
/// on every second (`totals` carries it).
pub(crate) fn write_event(
    out: &mut dyn Write,
    time: DateTime<Utc>,
    source: &str,
    event: &ProgressEvent,
) -> serde_json::Result<()> {
    let Some(kind) = kind(event) else {
        return Ok(());
    };
    let mut ser = serde_json::Serializer::new(&mut *out);
    let mut m = ser.serialize_map(None)?;
    m.serialize_entry("type", kind)?;
    m.serialize_entry("time", &timestamp(time))?;
    m.serialize_entry("source", source)?;
    match event {
        ProgressEvent::SourceStarted {
            session_id,
            planned,
            estimate,
        } => {
            m.serialize_entry("session_id", session_id)?;
            m.serialize_entry("planned", planned)?;
            m.serialize_entry("estimate_secs", &secs(*estimate))?;
        }
        ProgressEvent::SessionState(state) => m.serialize_entry("state", state.name())?,
        ProgressEvent::Item(change) => item_fields(change, &mut m)?,
        ProgressEvent::Totals { totals, left } => {
            m.serialize_entry("totals", totals)?;
            m.serialize_entry("eta_secs", &secs(*left))?;
        }
        ProgressEvent::TimeLeft { .. } => {}
        ProgressEvent::Note(text) => m.serialize_entry("text", text)?,
        ProgressEvent::SessionLevel { state, elapsed } => {
            m.serialize_entry("state", &state.as_ref().map(domain::SessionState::name))?;
            m.serialize_entry("elapsed_secs", &elapsed.as_secs())?;
        }
        ProgressEvent::SourceFinished { state, totals } => {
            m.serialize_entry("state", state.name())?;
            m.serialize_entry("totals", totals)?;
        }
    }
    SerializeMap::end(m)?;
    out.write_all(b"\n").map_err(serde_json::Error::io)
}

impl Render for JsonRenderer {
    fn event(&mut self, time: DateTime<Utc>, source: &str, event: &ProgressEvent) {
        if let ProgressEvent::SessionLevel { state, elapsed } = event
            && !self.heartbeat.due(source, state.as_ref(), *elapsed)
        {
            return;
        }
        // Progress is best-effort: a closed or full terminal must not stop the migration.
        let _ = write_event(&mut self.sink, time, source, event);
    }

    fn finish(&mut self, time: DateTime<Utc>) {
        let line = serde_json::json!({"type": "finished", "time": timestamp(time)});
        // Progress is best-effort, as above.
        let _ = writeln!(self.sink, "{line}");
        self.flush();
    }

    fn flush(&mut self) {
        // Progress is best-effort: a closed or full terminal must not stop the migration.
        let _ = self.sink.flush();
    }
}
