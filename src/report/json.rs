//! JSON mode: one NDJSON object per event (schema in the [module docs](super)).

use std::io::Write as _;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

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

    /// Flushed by [`Render::flush`] after the call that drew it.
    fn write(&mut self, value: &Value) {
        // Progress is best-effort: a closed or full terminal must not stop the migration.
        let _ = writeln!(self.sink, "{value}");
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

fn item_fields(change: &ItemChange, fields: &mut Map<String, Value>) {
    fields.insert("module".into(), json!(change.key.item_type));
    fields.insert("key".into(), json!(change.key.item));
    if let Some(local) = &change.local_item {
        fields.insert("localuser".into(), json!(local));
    }
    fields.insert("state".into(), json!(state_name(change.state)));
    if let Some(size) = change.size {
        fields.insert("size".into(), json!(size));
    }
    if matches!(
        change.state,
        ItemState::Done | ItemState::DoneWithWarnings | ItemState::Failed
    ) {
        let c = &change.counts;
        fields.insert("warnings".into(), json!(c.warnings));
        fields.insert("skipped".into(), json!(c.skipped_items));
        fields.insert("dangerous".into(), json!(c.dangerous_items));
        fields.insert("altered".into(), json!(c.altered_items));
    }
    if change.state == ItemState::Failed {
        fields.insert("failure".into(), json!(change.failure));
        fields.insert(
            "failed_step".into(),
            json!(change.failed_step.as_ref().map(Queue::as_str)),
        );
    }
}

/// Whole seconds (rounded), or null.
fn secs(d: Option<std::time::Duration>) -> Value {
    json!(d.map(|d| (d + std::time::Duration::from_millis(500)).as_secs()))
}

/// The event as one JSON object: `type`, `time`, `source`, then its fields; `None` for
/// the time left passed on every second (`totals` carries it).
pub(crate) fn to_json(time: DateTime<Utc>, source: &str, event: &ProgressEvent) -> Option<Value> {
    let mut fields = Map::new();
    let kind = match event {
        ProgressEvent::SourceStarted {
            session_id,
            planned,
            estimate,
        } => {
            fields.insert("session_id".into(), json!(session_id));
            fields.insert("planned".into(), json!(planned));
            fields.insert("estimate_secs".into(), secs(*estimate));
            "source_started"
        }
        ProgressEvent::SessionState(state) => {
            fields.insert("state".into(), json!(state.name()));
            "session_state"
        }
        ProgressEvent::Item(change) => {
            item_fields(change, &mut fields);
            "item"
        }
        ProgressEvent::Totals { totals, left } => {
            fields.insert("totals".into(), json!(totals));
            fields.insert("eta_secs".into(), secs(*left));
            "totals"
        }
        ProgressEvent::TimeLeft { .. } => return None,
        ProgressEvent::Note(text) => {
            fields.insert("text".into(), json!(text));
            "note"
        }
        ProgressEvent::SessionLevel { state, elapsed } => {
            fields.insert(
                "state".into(),
                json!(state.as_ref().map(domain::SessionState::name)),
            );
            fields.insert("elapsed_secs".into(), json!(elapsed.as_secs()));
            "session_level"
        }
        ProgressEvent::SourceFinished { state, totals } => {
            fields.insert("state".into(), json!(state.name()));
            fields.insert("totals".into(), json!(totals));
            "source_finished"
        }
    };
    let mut object = Map::new();
    object.insert("type".into(), json!(kind));
    object.insert("time".into(), json!(timestamp(time)));
    object.insert("source".into(), json!(source));
    object.extend(fields);
    Some(Value::Object(object))
}

impl Render for JsonRenderer {
    fn event(&mut self, time: DateTime<Utc>, source: &str, event: &ProgressEvent) {
        if let ProgressEvent::SessionLevel { state, elapsed } = event
            && !self.heartbeat.due(source, state.as_ref(), *elapsed)
        {
            return;
        }
        if let Some(value) = to_json(time, source, event) {
            self.write(&value);
        }
    }

    fn finish(&mut self, time: DateTime<Utc>) {
        self.write(&json!({"type": "finished", "time": timestamp(time)}));
        self.flush();
    }

    fn flush(&mut self) {
        // Progress is best-effort: a closed or full terminal must not stop the migration.
        let _ = self.sink.flush();
    }
}
