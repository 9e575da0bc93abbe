//! Following a running session: state polls in one place, master-log fetches in a
//! separate task (a log fetch may block until the log is finished, REFERENCE §4.12,
//! and must never stall the state poll), each parsed as it arrives and only past the
//! bytes already parsed (`apply::logfeed`), and item-log excerpts for failed items at
//! the end.

use crate::apply::eta::{EndEstimate, Work};
use crate::apply::forecast::{Forecast, SessionShape};
use crate::apply::logfeed::{Fold, LogFollower};
use crate::apply::poll::{LogSignals, PollPolicy, follow_state_with};
use crate::domain::SessionState;
use crate::journal::StepPace;
use crate::translog::{
    Event, Excerpt, ExcerptLevel, ExcerptLine, ItemKey, ItemState, SessionOutcome, SessionProgress,
    failure_excerpt, parse_item_log,
};
use crate::whm::clock::{SharedClock, Span};
use crate::whm::{WhmClient, WhmError};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

/// How long a master-log fetch may take before the follower says per-item progress
/// will only arrive when the log is finished.
const SLOW_LOG_FETCH: Duration = Duration::from_secs(10);

/// The wait between two master-log fetches is at least this many times as long as
/// the last fetch took.
const LOG_FETCH_SPACING: u32 = 4;

/// The progress is shown at most this often (showing scans every item).
const SHOW_EVERY: Duration = Duration::from_millis(100);

/// The time left is passed on at least this often (bars count down by it).
const TIME_LEFT_EVERY: Duration = Duration::from_secs(1);

/// Between two log folds, the estimate is replayed again at most this often (the steps
/// under way age; the replay scans every item).
const REPLAY_EVERY: Duration = Duration::from_secs(5);

/// How long to wait for the finished master log once the session has ended.
const FINAL_LOG_WAIT: Duration = Duration::from_secs(120);

/// Receives what the monitor learns, to show it.
pub trait Watcher {
    /// The session's state changed.
    fn state(&mut self, state: &SessionState);
    /// New master-log events were folded into `progress`.
    fn progress(&mut self, progress: &SessionProgress);
    /// A remark for the user.
    fn note(&mut self, text: &str);
    /// The server answers log fetches only once the log is finished: per-item events
    /// will come at the end, so show session-level progress until then.
    fn logs_deferred(&mut self);
    /// The session's expected time left (`None` while no estimate exists): on every
    /// new fold and at least every second.
    fn time_left(&mut self, _left: Option<Duration>) {}
    /// Following `session` (holding `planned` items) begins; `estimate` is the plan's
    /// for the whole session.
    fn started(&mut self, _session: &str, _planned: &[ItemKey], _estimate: Option<Duration>) {}
    /// Following the session ended in `state`.
    fn finished(&mut self, _state: &SessionState) {}
}

/// What following a session found.
#[derive(Debug)]
pub struct Followed {
    /// The final (confirmed) session state.
    pub state: SessionState,
    /// Every item's progress from the master log.
    pub progress: SessionProgress,
    /// Whether the master log's end record was seen.
    pub log_complete: bool,
    /// Failed items' item-log excerpts.
    pub excerpts: BTreeMap<ItemKey, Excerpt>,
    /// Warning lines from the item logs of items restored with warnings whose master-log
    /// record carried no text (servers often log the texts only in the item log).
    pub warnings: BTreeMap<ItemKey, Vec<String>>,
    /// What its steps cost, as the live estimate fitted them at the end (a session
    /// that completed, followed with the plan's shape).
    pub pace: Option<StepPace>,
}

/// The master log's fold, shared by the log follower (which folds events in as they
/// are parsed, so none pile up between the two) and the monitor (which shows it).
struct Shared {
    progress: Mutex<SessionProgress>,
    /// The plan's items, expected again after a reset.
    planned: Vec<ItemKey>,
    /// Woken when the fold changed or the follower has news.
    changed: Notify,
    /// The server answers log fetches only once the log is finished.
    slow: AtomicBool,
    /// Between which reads of the log the records being folded were written.
    read: Mutex<ReadWindow>,
}

/// The records a fetch brings that the one before did not were written between the
/// two reads.
#[derive(Debug, Clone, Copy)]
struct ReadWindow {
    /// When the fetch before began.
    since: Instant,
    /// When the fetch being folded began: the server read the log no earlier, so the
    /// fold shows the session as it was then.
    as_of: Instant,
}

impl ReadWindow {
    fn at(now: Instant) -> Self {
        Self {
            since: now,
            as_of: now,
        }
    }
}

impl Shared {
    fn window(&self) -> ReadWindow {
        *self.read.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SessionProgress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A reset forgets the log's events but keeps the plan's items expected.
fn expecting(planned: &[ItemKey]) -> SessionProgress {
    let mut progress = SessionProgress::new();
    for key in planned {
        progress.expect(key.clone());
    }
    progress
}

impl Fold for &Shared {
    fn reset(&mut self) {
        *self.lock() = expecting(&self.planned);
        self.changed.notify_one();
    }

    fn fold(&mut self, events: &[Event]) {
        self.lock().apply_all(events);
        self.changed.notify_one();
    }
}

/// Follows `session` until it ends, reporting to `watcher`; with the plan's `shape` of
/// the session, with the time left; from a `known` state instead of a first read.
pub async fn follow(
    client: &WhmClient,
    session: &str,
    planned: &[ItemKey],
    policy: PollPolicy,
    shape: Option<SessionShape>,
    known: Option<SessionState>,
    watcher: &mut dyn Watcher,
) -> Result<Followed, WhmError> {
    let shared = Arc::new(Shared {
        progress: Mutex::new(expecting(planned)),
        planned: planned.to_vec(),
        changed: Notify::new(),
        slow: AtomicBool::new(false),
        read: Mutex::new(ReadWindow::at(Instant::now())),
    });
    let signals = Arc::new(LogSignals::with_budget(client.poll_budget().clone()));
    // Earns this session's share of the server's polling budget while it is followed.
    let _following = client.poll_budget().follow(Instant::now());
    // The follower is a task of its own: a log fetch may block until the log is
    // finished (REFERENCE §4.12), and decoding a long log takes a while; neither may
    // hold up the state poll.
    let mut follower = tokio::spawn(follow_log(
        client.clone(),
        session.to_owned(),
        policy,
        shared.clone(),
        signals.clone(),
    ));
    let mut follower_done = false;
    let (state_tx, mut state_rx) = mpsc::unbounded_channel();
    let poll = follow_state_with(client, session, policy, &signals, known, move |s| {
        // The receiver lives until the poll ends: a send cannot outlive it.
        let _ = state_tx.send(s.clone());
    });
    tokio::pin!(poll);
    let shape = shape.map(|shape| (shape, client.server_clock().clone()));
    let mut showing = Showing::new(session, &shared, &signals, shape, policy.dense_margin());
    showing.tick(watcher);
    let final_state = loop {
        tokio::select! {
            result = &mut poll => break result,
            Some(state) = state_rx.recv() => watcher.state(&state),
            _ = &mut follower, if !follower_done => follower_done = true,
            () = shared.changed.notified() => showing.changed(watcher),
            () = tokio::time::sleep_until(showing.next_showing().into()), if showing.unshown => {
                showing.show(watcher);
            }
            () = tokio::time::sleep_until(showing.next_tick.into()) => showing.tick(watcher),
        }
    };
    while let Ok(state) = state_rx.try_recv() {
        watcher.state(&state);
    }
    let final_state = final_state?;
    // The session has ended: its master log is (or is about to be) finished. A paused
    // session's log is not: take what has arrived.
    if !follower_done && final_state.is_terminal() {
        tokio::select! {
            _ = &mut follower => follower_done = true,
            () = tokio::time::sleep(FINAL_LOG_WAIT) => {
                watcher.note("the finished master log did not arrive in time; item outcomes may be incomplete");
            }
        }
    }
    follower.abort();
    tell(&shared, &signals, &mut showing.told, watcher);
    showing.show(watcher);
    let progress = std::mem::take(&mut *shared.lock());
    let log_complete = follower_done && progress.outcome().is_some();
    let pace = showing
        .forecast
        .as_ref()
        .filter(|_| log_complete)
        .and_then(|f| f.pace(Instant::now()));
    let mut followed = ended(client, session, final_state, progress, log_complete).await;
    followed.pace = pace.filter(|_| followed.state == SessionState::Completed);
    Ok(followed)
}

/// The monitor's result once the session has ended: its state as the log's end record
/// settles it, and the failure excerpts and warnings read from the item logs.
async fn ended(
    client: &WhmClient,
    session: &str,
    state: SessionState,
    progress: SessionProgress,
    log_complete: bool,
) -> Followed {
    // A session failed or aborted from outside can show COMPLETED for longer than the
    // state poll's confirmation (REFERENCE §5.2): the master log's end record, written
    // before the state settles, says how it really ended.
    let state = match (&state, progress.outcome()) {
        (SessionState::Completed, Some(SessionOutcome::Failed)) => SessionState::Failed,
        (SessionState::Completed, Some(SessionOutcome::Aborted)) => SessionState::Aborted,
        _ => state,
    };
    let excerpts = failed_excerpts(client, session, &progress).await;
    let warnings = warning_lines(client, session, &progress).await;
    Followed {
        state,
        progress,
        log_complete,
        excerpts,
        warnings,
        pace: None,
    }
}

/// What the monitor passes on to the watcher as the fold changes, and when.
struct Showing<'a> {
    session: &'a str,
    shared: &'a Shared,
    signals: &'a LogSignals,
    told: Told,
    eta: EndEstimate,
    /// The live time-left estimate, when the plan gave the session's shape.
    forecast: Option<Forecast>,
    /// The end it last gave, and when it was replayed.
    end: Option<Instant>,
    /// The earliest end the estimate's fit allows, once the end is near.
    early: Option<Instant>,
    replayed_at: Instant,
    /// When the time left is passed on next.
    next_tick: Instant,
    /// Showing scans every item; at most every SHOW_EVERY, however often the fold moves.
    shown_at: Instant,
    /// The fold changed since it was last shown.
    unshown: bool,
    /// The widest margin the state poll reads densely: the fit's earliest end widens
    /// the poll's margin up to it (a fit looser than that is left to the spread).
    dense_margin: Duration,
}

impl<'a> Showing<'a> {
    fn new(
        session: &'a str,
        shared: &'a Shared,
        signals: &'a LogSignals,
        shape: Option<(SessionShape, SharedClock)>,
        dense_margin: Duration,
    ) -> Self {
        let now = Instant::now();
        Self {
            session,
            shared,
            signals,
            told: Told::default(),
            eta: EndEstimate::new(),
            forecast: shape.map(|(shape, clock)| {
                Forecast::new(shape, now)
                    .with_clock(clock)
                    .of_session(session)
            }),
            end: None,
            early: None,
            replayed_at: now,
            next_tick: now,
            shown_at: Instant::now(),
            unshown: false,
            dense_margin,
        }
    }

    /// The fold changed: tells at once what must not wait, and shows the fold unless it
    /// was shown less than SHOW_EVERY ago (then it is shown at [`Self::next_showing`]).
    fn changed(&mut self, watcher: &mut dyn Watcher) {
        tell(self.shared, self.signals, &mut self.told, watcher);
        if self.shown_at.elapsed() >= SHOW_EVERY {
            self.show(watcher);
        } else {
            self.unshown = true;
        }
    }

    fn next_showing(&self) -> Instant {
        self.shown_at + SHOW_EVERY
    }

    fn show(&mut self, watcher: &mut dyn Watcher) {
        let by_rate = show(self.shared, &mut self.eta, watcher);
        (self.shown_at, self.unshown) = (Instant::now(), false);
        // Replayed on whole reads of the log: part of one (a long log is folded as it
        // arrives) shows fewer steps over than there are, and an end too late, for an
        // instant. A fetch held long (a server that sends the log when finished) is
        // not waited for.
        let whole = !self.signals.fetch_under_way(Instant::now());
        if let Some(forecast) = self.forecast.as_mut().filter(|_| whole) {
            // What this fold shows new was written after the read before began, and
            // before now.
            let seen = Span {
                from: self.shared.window().since,
                to: Instant::now(),
            };
            let ended = {
                let progress = self.shared.lock();
                forecast.observe(seen, &progress);
                progress.outcome().is_some()
            };
            // Scans every item: only until the first step is measured.
            if !self.signals.has_measured() && forecast.measured() {
                self.signals.step_measured();
            }
            self.replayed_at = Instant::now();
            // Once the log's end record is in, nothing is left to replay (at 10,000
            // items, two replays the exit would wait for).
            (self.end, self.early) = if ended {
                (Some(self.replayed_at), None)
            } else {
                let end = forecast.end(self.replayed_at);
                (end, early_end(forecast, end, self.replayed_at))
            };
        }
        // The replay of what is left knows which steps the end waits for; the rate of
        // work only how fast items went so far.
        self.expect_end(by_rate);
        self.tick(watcher);
    }

    /// Tells the state poll when the session should end: the replay's end give or take
    /// its margin when there is one (it knows which steps the end waits for), else
    /// `by_rate`, the rate of work so far.
    fn expect_end(&self, by_rate: Option<Instant>) {
        let dated = self.forecast.as_ref().and_then(Forecast::last_dated);
        match (self.end, dated) {
            (Some(end), Some(last)) => {
                // Wide enough for the earliest end the fit allows, where the poll
                // reads densely: an end earlier than the margin would be noticed only
                // at the log's next fetch.
                let margin = end_margin(last, end);
                let early = self.early.map(|e| end.saturating_duration_since(e));
                let margin = match early {
                    Some(early) if early > margin && early <= self.dense_margin => early,
                    _ => margin,
                };
                tracing::trace!(
                    session = self.session,
                    left_ms = end.saturating_duration_since(Instant::now()).as_millis(),
                    margin_ms = margin.as_millis(),
                    "session end expected"
                );
                self.signals.expect_end_within(end, margin);
            }
            (Some(end), None) => self.signals.expect_end(Some(end)),
            (None, _) => self.signals.expect_end(by_rate),
        }
    }

    /// Passes on the time left: the last replay's end, replayed again when it is
    /// [`REPLAY_EVERY`] old.
    fn tick(&mut self, watcher: &mut dyn Watcher) {
        let now = Instant::now();
        if let Some(forecast) = &self.forecast
            && (self.end.is_none() || now >= self.replayed_at + REPLAY_EVERY)
        {
            self.replayed_at = now;
            self.end = forecast.end(now);
            self.early = early_end(forecast, self.end, now);
            if self.end.is_some() {
                self.expect_end(None);
            }
        }
        watcher.time_left(self.end.map(|end| end.saturating_duration_since(now)));
        self.next_tick = now + TIME_LEFT_EVERY;
    }
}

/// How far either way of the replay's `end` the session may end, given the span the
/// `last` step start or end the log showed was dated to: the replay's clock is set by
/// it, and the further the replay looks ahead of it, the more its step costs may be
/// off.
fn end_margin(last: Span, end: Instant) -> Duration {
    END_MARGIN_FLOOR + last.spread() / 2 + end.saturating_duration_since(last.to) / 8
}

/// The least margin the state poll keeps around the replay's end.
const END_MARGIN_FLOOR: Duration = Duration::from_millis(250);

/// How near the end must be for its earliest to be replayed (a second replay).
const EARLY_END_WITHIN: Duration = Duration::from_secs(10);

/// The earliest end `forecast`'s fit allows, when its `end` is near `now`.
fn early_end(forecast: &Forecast, end: Option<Instant>, now: Instant) -> Option<Instant> {
    end.filter(|end| end.saturating_duration_since(now) <= EARLY_END_WITHIN)
        .and_then(|_| forecast.early_end(now))
}

/// What the monitor has already passed on.
#[derive(Debug, Default)]
struct Told {
    slow: bool,
    ended: bool,
}

/// Passes on at once what must not wait for the next showing: a server that sends
/// logs only when finished, and the end record (the state poll may finish now, not at
/// its next backed-off poll).
fn tell(shared: &Shared, signals: &LogSignals, told: &mut Told, watcher: &mut dyn Watcher) {
    if !told.slow && shared.slow.load(Ordering::Relaxed) {
        told.slow = true;
        watcher.logs_deferred();
    }
    if !told.ended
        && let Some(outcome) = shared.lock().outcome()
    {
        told.ended = true;
        signals.log_ended(match outcome {
            SessionOutcome::Failed => SessionState::Failed,
            SessionOutcome::Aborted => SessionState::Aborted,
            SessionOutcome::Completed => SessionState::Completed,
        });
    }
}

/// Shows the fold; returns when the rate of work so far says the session will end.
fn show(shared: &Shared, eta: &mut EndEstimate, watcher: &mut dyn Watcher) -> Option<Instant> {
    let progress = shared.lock();
    watcher.progress(&progress);
    let work = Work::of(&progress);
    drop(progress);
    // Dated when the log was read, not now: a long log arrives and folds a while later.
    let end = eta.update(shared.window().as_of, work);
    tracing::trace!(
        done = work.done,
        total = work.total,
        left_ms = end.map(|e| e.saturating_duration_since(Instant::now()).as_millis()),
        "session end estimated"
    );
    end
}

/// Fetches the master log again and again, folding what is new, until its end
/// record has been parsed.
async fn follow_log(
    client: WhmClient,
    session: String,
    policy: PollPolicy,
    shared: Arc<Shared>,
    signals: Arc<LogSignals>,
) {
    let mut follower = LogFollower::new();
    let mut interval = policy.log_min;
    let mut told_slow = false;
    loop {
        // The answer is parsed as it arrives; only bytes past those already parsed
        // become events, folded in batches while it is still arriving.
        let mut fold = &*shared;
        let mut fetch = follower.fetch(&mut fold);
        let began = Instant::now();
        {
            let mut read = shared.read.lock().unwrap_or_else(PoisonError::into_inner);
            read.since = read.as_of;
            read.as_of = began;
        }
        signals.log_fetch_began(began);
        signals.polled();
        let result = {
            let stream = client.stream_transfer_session_log(&session, "master.log", &mut fetch);
            tokio::pin!(stream);
            tokio::select! {
                r = &mut stream => r,
                () = tokio::time::sleep(SLOW_LOG_FETCH), if !told_slow => {
                    told_slow = true;
                    shared.slow.store(true, Ordering::Relaxed);
                    shared.changed.notify_one();
                    stream.await
                }
            }
        };
        signals.log_fetch_ended(began, Instant::now(), result.is_ok());
        if let Err(e) = &result {
            // Before the session starts its log may not exist yet; network trouble is
            // the state poll's business. Either way, try again later.
            tracing::debug!(session, "master log fetch failed: {e}");
        }
        let end = fetch.end(result.as_ref().ok().copied());
        // The read is whole: the estimate takes it.
        shared.changed.notify_one();
        if end.ended {
            return;
        }
        if end.replaced || end.resync {
            // Start over from the first byte of the new file, or read this one again
            // in full, at once.
            continue;
        }
        interval = if end.new_events {
            policy.log_min
        } else {
            signals.log_wait(&policy, (interval * 2).min(policy.max))
        };
        // Every fetch sends the whole log: once it takes long (tens of MB at 10,000
        // items), space fetches so they take at most a fifth of the time, for the
        // server's sake and ours. The state poll still notices the end, and asks for
        // the log at once when it does.
        interval = interval.max(began.elapsed() * LOG_FETCH_SPACING);
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = signals.fetch_now.notified() => {}
        }
    }
}

async fn failed_excerpts(
    client: &WhmClient,
    session: &str,
    progress: &SessionProgress,
) -> BTreeMap<ItemKey, Excerpt> {
    let mut out = BTreeMap::new();
    for (key, item) in progress.items() {
        if item.failure.is_none() {
            continue;
        }
        let log = match item.failed_step {
            Some(crate::translog::Queue::Transfer) => item.transfer_log.as_ref(),
            _ => item.restore_log.as_ref().or(item.transfer_log.as_ref()),
        };
        let Some(log) = log else { continue };
        match client.fetch_transfer_session_log(session, log).await {
            Ok(text) => {
                let events = parse_item_log(text.as_bytes());
                out.insert(key.clone(), failure_excerpt(&events, 20));
            }
            Err(e) => {
                let line = ExcerptLine {
                    line: 0,
                    level: ExcerptLevel::Error,
                    text: format!("(item log {log} unavailable: {e})"),
                };
                out.insert(
                    key.clone(),
                    Excerpt {
                        lines: vec![line],
                        omitted: 0,
                    },
                );
            }
        }
    }
    out
}

/// How many warned items' logs are read for their texts; the rest keep their counts.
const WARNING_LOGS_MAX: usize = 50;

async fn warning_lines(
    client: &WhmClient,
    session: &str,
    progress: &SessionProgress,
) -> BTreeMap<ItemKey, Vec<String>> {
    let mut out = BTreeMap::new();
    let warned = progress.items().filter(|(_, item)| {
        item.state() == ItemState::DoneWithWarnings && item.messages.is_empty()
    });
    for (key, item) in warned.take(WARNING_LOGS_MAX) {
        let Some(log) = item.restore_log.as_ref().or(item.transfer_log.as_ref()) else {
            continue;
        };
        if let Ok(text) = client.fetch_transfer_session_log(session, log).await {
            let lines: Vec<String> = parse_item_log(text.as_bytes())
                .into_iter()
                .filter_map(|e| match e.kind {
                    crate::translog::ItemLogKind::Warn(t) => Some(t),
                    _ => None,
                })
                .collect();
            if !lines.is_empty() {
                out.insert(key.clone(), lines);
            }
        }
    }
    out
}
