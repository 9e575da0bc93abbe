//! The [`Progress`] object the apply executor drives, and the choice of display mode.
//!
//! [`Progress`] keeps, per source, the state it last showed for each item and turns
//! each new [`SessionProgress`] into the few [`ProgressEvent`]s that differ; the mode's
//! renderer ([`ProgressMode`]) draws them. Methods take `&self` (a mutex inside), so one
//! `Arc<Progress>` serves all concurrently followed sources. Drawing never fails the
//! apply: write errors on the progress stream are ignored.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal as _, Write};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::bars::BarsRenderer;
use super::event::{ItemChange, ProgressEvent, SourceTotals, Tally};
use super::json::JsonRenderer;
use super::plain::PlainRenderer;
use crate::domain;
use crate::translog::{ItemKey, ItemState, SessionProgress};

/// Where progress is written: stderr, stdout, or a test's buffer.
pub type Sink = Box<dyn Write + Send>;

/// The time source for timestamps (injectable so tests are deterministic).
pub type Clock = Box<dyn FnMut() -> DateTime<Utc> + Send>;

/// How progress is shown (`--progress auto|bars|plain|json`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum ProgressMode {
    /// Bars when stderr is a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// Progress bars on stderr (indicatif), finished items printed above them.
    Bars,
    /// One timestamped line per change on stderr, for CI logs.
    Plain,
    /// NDJSON events on stdout (see the module docs for the schema).
    Json,
}

impl ProgressMode {
    /// Resolves `Auto` for a stream that is (or is not) a terminal.
    #[must_use]
    pub fn resolve(self, stderr_is_terminal: bool) -> Self {
        match self {
            Self::Auto if stderr_is_terminal => Self::Bars,
            Self::Auto => Self::Plain,
            other => other,
        }
    }
}

/// Draws events; one implementation per mode.
pub(crate) trait Render: Send {
    /// Draws one event of `source` at `time`.
    fn event(&mut self, time: DateTime<Utc>, source: &str, event: &ProgressEvent);
    /// Ends the display (clears bars, flushes); called once.
    fn finish(&mut self, time: DateTime<Utc>);
    /// Writes out what the events drawn so far left buffered.
    fn flush(&mut self) {}
}

/// Rate limit for session-level lines in plain and JSON modes: the first one, one per
/// state change, then one per interval of elapsed time.
#[derive(Debug, Default)]
pub(crate) struct Heartbeat {
    last: HashMap<String, (Option<domain::SessionState>, Duration)>,
}

impl Heartbeat {
    /// How often a session-level line repeats while nothing else changes.
    pub(crate) const INTERVAL: Duration = Duration::from_secs(300);

    /// Whether a session-level line for `source` is due.
    pub(crate) fn due(
        &mut self,
        source: &str,
        state: Option<&domain::SessionState>,
        elapsed: Duration,
    ) -> bool {
        let due = match self.last.get(source) {
            None => true,
            Some((last_state, last)) => {
                last_state.as_ref() != state || elapsed >= *last + Self::INTERVAL
            }
        };
        if due {
            self.last
                .insert(source.to_owned(), (state.cloned(), elapsed));
        }
        due
    }
}

/// What was last shown for one source.
#[derive(Debug, Default)]
struct SourceView {
    shown: BTreeMap<ItemKey, ItemState>,
    planned: usize,
    state: Option<domain::SessionState>,
    totals: Option<SourceTotals>,
    /// The session's expected time left, as last told; `None` once it ended.
    left: Option<Duration>,
    /// Following has ended.
    ended: bool,
}

impl SourceView {
    fn tally(&self) -> Tally {
        Tally {
            finished: self.totals.map_or(0, |t| t.finished()),
            total: self.totals.map_or(self.planned, |t| t.total),
            left: self.left,
        }
    }
}

struct Inner {
    render: Box<dyn Render>,
    clock: Clock,
    sources: HashMap<String, SourceView>,
    finished: bool,
}

impl Inner {
    fn emit(&mut self, source: &str, event: &ProgressEvent) {
        let now = (self.clock)();
        self.render.event(now, source, event);
    }

    fn view(&mut self, source: &str) -> &mut SourceView {
        self.sources.entry(source.to_owned()).or_default()
    }
}

/// [`Progress`]'s state while one call draws; flushes the renderer when dropped.
struct Drawing<'a>(std::sync::MutexGuard<'a, Inner>);

impl std::ops::Deref for Drawing<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl std::ops::DerefMut for Drawing<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        &mut self.0
    }
}

impl Drop for Drawing<'_> {
    fn drop(&mut self) {
        self.0.render.flush();
    }
}

/// The progress display of `apply`.
pub struct Progress {
    mode: ProgressMode,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Progress {
    /// A display on the real streams: bars and plain lines on stderr, JSON on stdout.
    /// `Auto` becomes `Bars` when stderr is a terminal, `Plain` otherwise.
    pub fn new(mode: ProgressMode) -> Self {
        let mode = mode.resolve(std::io::stderr().is_terminal());
        let render: Box<dyn Render> = match mode {
            // Buffered: the renderer is flushed after each call, not after each line.
            ProgressMode::Json => Box::new(JsonRenderer::new(Box::new(std::io::BufWriter::new(
                std::io::stdout(),
            )))),
            ProgressMode::Bars => Box::new(BarsRenderer::stderr()),
            ProgressMode::Plain | ProgressMode::Auto => {
                Box::new(PlainRenderer::new(Box::new(std::io::stderr())))
            }
        };
        Self::with_render(mode, render, Box::new(Utc::now))
    }

    /// A display writing to `sink` with timestamps from `clock` (for tests and for
    /// callers that own the streams). `Auto` means `Plain` here; `Bars` draws its bars
    /// to a hidden target and writes only the lines printed above them to `sink`.
    pub fn with_sink(mode: ProgressMode, sink: Sink, clock: Clock) -> Self {
        let mode = mode.resolve(false);
        let render: Box<dyn Render> = match mode {
            ProgressMode::Json => Box::new(JsonRenderer::new(sink)),
            ProgressMode::Bars => Box::new(BarsRenderer::hidden(sink)),
            ProgressMode::Plain | ProgressMode::Auto => Box::new(PlainRenderer::new(sink)),
        };
        Self::with_render(mode, render, clock)
    }

    fn with_render(mode: ProgressMode, render: Box<dyn Render>, clock: Clock) -> Self {
        Self {
            mode,
            inner: Mutex::new(Inner {
                render,
                clock,
                sources: HashMap::new(),
                finished: false,
            }),
        }
    }

    /// The resolved mode (never `Auto`).
    pub fn mode(&self) -> ProgressMode {
        self.mode
    }

    /// The display, held for one call: what the call drew is written out when it ends
    /// (one write for a fold's thousands of item events, not one each).
    fn lock(&self) -> Drawing<'_> {
        Drawing(self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The executor began following `session_id` for `source`, holding `planned` items,
    /// which the plan expected to take `estimate`.
    pub fn source_started(
        &self,
        source: &str,
        session_id: &str,
        planned: &[ItemKey],
        estimate: Option<Duration>,
    ) {
        let mut inner = self.lock();
        let view = inner.view(source);
        view.planned = planned.len();
        view.left = estimate;
        view.ended = false;
        for key in planned {
            view.shown.entry(key.clone()).or_insert(ItemState::Pending);
        }
        inner.emit(
            source,
            &ProgressEvent::SourceStarted {
                session_id: session_id.to_owned(),
                planned: planned.len(),
                estimate,
            },
        );
    }

    /// The session's state as `get_transfer_session_state` returned it; shown only
    /// when it differs from the last one.
    pub fn session_state(&self, source: &str, state: &domain::SessionState) {
        let mut inner = self.lock();
        let view = inner.view(source);
        if view.state.as_ref() == Some(state) {
            return;
        }
        view.state = Some(state.clone());
        inner.emit(source, &ProgressEvent::SessionState(state.clone()));
    }

    /// A new fold of the master log: shows the items whose state changed since the last
    /// call, then the new totals if anything changed.
    pub fn update(&self, source: &str, progress: &SessionProgress) {
        let mut inner = self.lock();
        let view = inner.view(source);
        let mut changes = Vec::new();
        let mut unseen = Vec::new();
        // Both maps are ordered by key: walked together, each item costs a comparison or
        // two, not a search (this runs up to ten times a second over every item).
        let mut shown = view.shown.iter_mut().peekable();
        for (key, item) in progress.items() {
            let state = item.state();
            while shown.next_if(|(k, _)| *k < key).is_some() {}
            // No allocation for the (usual) unchanged, already known item.
            let changed = match shown.next_if(|(k, _)| *k == key) {
                Some((_, shown)) if *shown == state => false,
                Some((_, shown)) => {
                    *shown = state;
                    true
                }
                None => {
                    unseen.push((key.clone(), state));
                    state != ItemState::Pending
                }
            };
            if changed {
                changes.push(ItemChange::of(key, item));
            }
        }
        view.shown.extend(unseen);
        let totals = SourceTotals::of(progress, view.planned);
        let totals_changed = view.totals != Some(totals);
        view.totals = Some(totals);
        let left = view.left;
        // Each finished item's line counts up to the totals, in the order shown.
        let mut finished = totals.finished()
            - changes
                .iter()
                .filter(|c| c.state.is_finished())
                .count()
                .min(totals.finished());
        for mut change in changes {
            if change.state.is_finished() {
                finished += 1;
                change.tally = Some(Tally {
                    finished,
                    total: totals.total,
                    left,
                });
            }
            inner.emit(source, &ProgressEvent::Item(change));
        }
        if totals_changed {
            inner.emit(source, &ProgressEvent::Totals { totals, left });
        }
    }

    /// `source`'s session is expected to end in `left` (`None`: no estimate yet); the
    /// bars count down by it, plain mode says it when nothing else was said for a while.
    pub fn time_left(&self, source: &str, left: Option<Duration>) {
        let mut inner = self.lock();
        let view = inner.view(source);
        if view.ended {
            return;
        }
        view.left = left;
        let tally = view.tally();
        let in_progress = view.totals.map_or(0, |t| t.in_progress);
        let overall = inner
            .sources
            .values()
            .filter(|v| !v.ended)
            .filter_map(|v| v.left)
            .max();
        inner.emit(
            source,
            &ProgressEvent::TimeLeft {
                tally,
                in_progress,
                overall,
            },
        );
    }

    /// A free message, e.g. `enqueued 3 items (1 already queued)`.
    pub fn note(&self, source: &str, text: &str) {
        self.lock()
            .emit(source, &ProgressEvent::Note(text.to_owned()));
    }

    /// Session-level progress, for when per-item events are unavailable until the
    /// session ends: the last state and the time since the start. Call it on every
    /// poll; plain and JSON modes rate-limit it themselves.
    pub fn session_level(&self, source: &str, elapsed: Duration) {
        let mut inner = self.lock();
        let state = inner.view(source).state.clone();
        inner.emit(source, &ProgressEvent::SessionLevel { state, elapsed });
    }

    /// The executor stopped following `source`'s session, which is in `state`.
    pub fn source_finished(&self, source: &str, state: &domain::SessionState) {
        let mut inner = self.lock();
        let view = inner.view(source);
        view.state = Some(state.clone());
        view.ended = true;
        view.left = None;
        let totals = view.totals;
        inner.emit(
            source,
            &ProgressEvent::SourceFinished {
                state: state.clone(),
                totals,
            },
        );
    }

    /// Ends the display: removes any bars and flushes. Also done on drop.
    pub fn finish(&self) {
        let mut inner = self.lock();
        if !inner.finished {
            inner.finished = true;
            let now = (inner.clock)();
            inner.render.finish(now);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Heartbeat, ProgressMode};
    use crate::domain::SessionState;

    #[test]
    fn auto_resolves_by_terminal() {
        assert_eq!(ProgressMode::Auto.resolve(true), ProgressMode::Bars);
        assert_eq!(ProgressMode::Auto.resolve(false), ProgressMode::Plain);
        assert_eq!(ProgressMode::Json.resolve(true), ProgressMode::Json);
    }

    #[test]
    fn heartbeat_fires_first_on_state_change_and_per_interval() {
        let mut h = Heartbeat::default();
        let running = SessionState::Running;
        let s = |n| Duration::from_secs(n);
        assert!(h.due("a", Some(&running), s(1)));
        assert!(!h.due("a", Some(&running), s(2)));
        assert!(h.due("b", Some(&running), s(2)));
        assert!(h.due("a", Some(&SessionState::Paused), s(3)));
        assert!(!h.due("a", Some(&SessionState::Paused), s(302)));
        assert!(h.due("a", Some(&SessionState::Paused), s(303)));
    }
}
