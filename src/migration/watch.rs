//! Connects the apply monitor to the progress display, one watcher per source.

use crate::apply::monitor::Watcher;
use crate::domain::SessionState;
use crate::report::Progress;
use crate::translog::{ItemKey, SessionProgress};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shows one source's session on the shared progress display.
pub struct SourceWatcher {
    progress: Arc<Progress>,
    source: String,
    started: Instant,
    session_level: bool,
}

impl SourceWatcher {
    /// A watcher for `source`.
    pub fn new(progress: Arc<Progress>, source: &str) -> Self {
        Self {
            progress,
            source: source.to_owned(),
            started: Instant::now(),
            session_level: false,
        }
    }
}

impl Watcher for SourceWatcher {
    fn state(&mut self, state: &SessionState) {
        self.progress.session_state(&self.source, state);
        if self.session_level {
            self.progress
                .session_level(&self.source, self.started.elapsed());
        }
    }

    fn progress(&mut self, progress: &SessionProgress) {
        self.session_level = false;
        self.progress.update(&self.source, progress);
    }

    fn note(&mut self, text: &str) {
        self.progress.note(&self.source, text);
    }

    fn logs_deferred(&mut self) {
        self.session_level = true;
        self.progress.note(
            &self.source,
            "this server answers log fetches only when the log is finished: showing session progress until then",
        );
        self.progress
            .session_level(&self.source, self.started.elapsed());
    }

    fn time_left(&mut self, left: Option<Duration>) {
        self.progress.time_left(&self.source, left);
    }

    fn started(&mut self, session: &str, planned: &[ItemKey], estimate: Option<Duration>) {
        self.started = Instant::now();
        self.progress
            .source_started(&self.source, session, planned, estimate);
    }

    fn finished(&mut self, state: &SessionState) {
        self.progress.source_finished(&self.source, state);
    }
}
