//! What `status` shows per source: its session, the session's live state, and the
//! journal's item counts (per session and per wave), as text or JSON.

use crate::domain::SessionState;
use crate::journal::unrecorded_warning;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// One source's status.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    /// The manifest's name for the source.
    pub source: String,
    /// Its current (or last) session.
    pub session: Option<String>,
    /// When that session was created.
    pub created_at: Option<String>,
    /// Its state as the destination answers now.
    pub state: Option<LiveState>,
    /// The journal's items of that session, by status name.
    pub items: BTreeMap<&'static str, usize>,
    /// Every item the journal knows, by wave and status name (waves span sessions).
    pub waves: BTreeMap<String, BTreeMap<&'static str, usize>>,
    /// Session creations that may have left an unrecorded session.
    pub unrecorded_sessions_started_at: Vec<String>,
}

/// A session's state as the destination answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveState {
    /// Its state.
    Known(SessionState),
    /// The destination does not know it (its reason).
    UnknownToServer(String),
}

impl fmt::Display for LiveState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Known(state) => f.write_str(state.name()),
            Self::UnknownToServer(reason) => write!(f, "unknown to the server ({reason})"),
        }
    }
}

impl Serialize for LiveState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The status as JSON (an array, one object per source).
pub fn json(rows: &[SourceStatus]) -> String {
    let mut out = serde_json::to_string_pretty(rows).unwrap_or_default();
    out.push('\n');
    out
}

/// The status for people: one line per source, then its waves and warnings.
pub fn text(rows: &[SourceStatus]) -> String {
    let mut out = String::new();
    for row in rows {
        let source = &row.source;
        match &row.session {
            Some(id) => {
                let items = counts(&row.items);
                putln!(
                    out,
                    "{source}: session {id} {} (created {}){}",
                    row.state
                        .as_ref()
                        .map_or_else(|| "?".to_owned(), ToString::to_string),
                    row.created_at.as_deref().unwrap_or("?"),
                    if items.is_empty() {
                        String::new()
                    } else {
                        format!(": {items}")
                    }
                );
            }
            None => {
                putln!(out, "{source}: no session recorded");
            }
        }
        for (wave, states) in &row.waves {
            putln!(out, "  wave {wave}: {}", counts(states));
        }
        for at in &row.unrecorded_sessions_started_at {
            putln!(out, "  warning: {}", unrecorded_warning(source, at));
        }
    }
    out
}

fn counts(by_state: &BTreeMap<&str, usize>) -> String {
    by_state
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}
