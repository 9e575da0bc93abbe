//! The live estimate kept in the journal, so `status` in another process can say how
//! long a running session has left: a [`Watcher`] that passes everything on and
//! records the expected end on the session's record when it moves.

use crate::apply::monitor::Watcher;
use crate::domain::SessionState;
use crate::journal::JournalHandle;
use crate::translog::{ItemKey, SessionProgress};
use chrono::{DateTime, SecondsFormat, Utc};
use std::time::Duration;

/// The expected end is recorded again once it moved by this much (or by a tenth of the
/// time left, when that is more): a steady estimate costs no journal saves.
const MOVED: Duration = Duration::from_secs(30);

/// Passes everything on to `inner`; records the expected end of `session` on `source`'s
/// journal record.
pub struct Recording<'a> {
    /// The watcher shown to.
    pub inner: &'a mut (dyn Watcher + Send),
    /// The journal.
    pub journal: &'a JournalHandle,
    /// The manifest's name for the source.
    pub source: &'a str,
    /// The session followed.
    pub session: &'a str,
    /// The end last recorded.
    pub recorded: Option<DateTime<Utc>>,
}

impl Recording<'_> {
    fn record(&mut self, end: Option<DateTime<Utc>>) {
        let moved = match (self.recorded, end) {
            (None, None) => false,
            (Some(a), Some(b)) => {
                let by = (a - b).abs().to_std().unwrap_or_default();
                let left = (b - Utc::now()).to_std().unwrap_or_default();
                by >= MOVED.max(left / 10)
            }
            _ => true,
        };
        if !moved {
            return;
        }
        self.recorded = end;
        let text = end.map(|e| e.to_rfc3339_opts(SecondsFormat::Secs, true));
        let (source, session) = (self.source, self.session);
        self.journal.change(|j| {
            if let Some(rec) = j
                .sources
                .get_mut(source)
                .and_then(|s| s.session.as_mut())
                .filter(|r| r.id == session)
            {
                rec.expected_end = text;
            }
        });
    }
}

impl Watcher for Recording<'_> {
    fn state(&mut self, state: &SessionState) {
        self.inner.state(state);
    }
    fn progress(&mut self, progress: &SessionProgress) {
        self.inner.progress(progress);
    }
    fn note(&mut self, text: &str) {
        self.inner.note(text);
    }
    fn logs_deferred(&mut self) {
        self.inner.logs_deferred();
    }
    fn time_left(&mut self, left: Option<Duration>) {
        let end = left.and_then(|l| chrono::Duration::from_std(l).ok().map(|l| Utc::now() + l));
        self.record(end);
        self.inner.time_left(left);
    }
    fn started(&mut self, session: &str, planned: &[ItemKey], estimate: Option<Duration>) {
        self.inner.started(session, planned, estimate);
    }
    fn finished(&mut self, state: &SessionState) {
        self.record(None);
        self.inner.finished(state);
    }
}
