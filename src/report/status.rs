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
    /// While an apply follows the running session: the seconds its live estimate
    /// expects it still to run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_left_secs: Option<u64>,
}

/// The seconds left until `expected_end` (RFC 3339) at `now`, for a session in `state`
/// that is still at work; 0 once the end is past.
pub fn time_left(
    state: Option<&LiveState>,
    expected_end: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<u64> {
    let at_work = matches!(state, Some(LiveState::Known(s)) if !s.is_terminal() && *s != SessionState::Paused && *s != SessionState::Pending);
    let end = chrono::DateTime::parse_from_rfc3339(expected_end?).ok()?;
    at_work.then(|| u64::try_from((end.to_utc() - now).num_seconds().max(0)).unwrap_or(0))
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
                    "{source}: session {id} {} (created {}){}{}",
                    row.state
                        .as_ref()
                        .map_or_else(|| "?".to_owned(), ToString::to_string),
                    row.created_at.as_deref().unwrap_or("?"),
                    if items.is_empty() {
                        String::new()
                    } else {
                        format!(": {items}")
                    },
                    row.time_left_secs
                        .map(|s| format!(
                            ", {}",
                            super::format::left_words(std::time::Duration::from_secs(s))
                        ))
                        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::{LiveState, time_left};
    use crate::domain::SessionState;

    #[test]
    fn time_left_is_shown_only_for_a_session_at_work_and_never_below_zero() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T20:00:00Z")
            .unwrap()
            .to_utc();
        let running = LiveState::Known(SessionState::Running);
        let end = Some("2026-12-06T20:12:00Z");
        assert_eq!(time_left(Some(&running), end, now), Some(720));
        assert_eq!(
            time_left(Some(&running), Some("2026-12-06T19:00:00Z"), now),
            Some(0)
        );
        let done = LiveState::Known(SessionState::Completed);
        assert_eq!(time_left(Some(&done), end, now), None);
        assert_eq!(time_left(Some(&running), None, now), None);
        assert_eq!(time_left(None, end, now), None);
    }
}
