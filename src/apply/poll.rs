//! Following a session's state: cheap `get_transfer_session_state` polls that back off
//! while nothing changes, ride out a destination that is briefly unreachable, and
//! confirm a `COMPLETED` (it can flicker before `FAILED`/`ABORTED`, REFERENCE §5.2)
//! unless the master log's end record has already said how the session ended. Near the
//! end the live estimate predicts, the state poll stops backing off: it reads every
//! `min - confirm` (less when the log's end record, fetched at once, settles a
//! `COMPLETED`) while the server's polling budget ([`PollBudget`]) has polls to spare,
//! so a `COMPLETED` and what settles it come within `min` of the session's end, and
//! more sparsely across a wide margin once it has none.

use crate::domain::SessionState;
use crate::whm::budget::PollBudget;
use crate::whm::{WhmClient, WhmError};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// What the master-log follower and the state poll tell each other.
#[derive(Debug, Default)]
pub struct LogSignals {
    /// The log has shown the session's end: poll the state now, not at the next
    /// backed-off interval.
    pub poll_now: Notify,
    /// The state poll has seen the session end: fetch the log now for its end record.
    pub fetch_now: Notify,
    /// How the log's end record says the session ended, once it has been read. It is
    /// written before the state settles, so a terminal state needs no confirming
    /// second read.
    ended: Mutex<Option<SessionState>>,
    /// When the session should end, and how far either way it may.
    expected_end: Mutex<Option<(Instant, Duration)>>,
    /// The expected end came closer: a state poll sleeping towards the old one
    /// recomputes its wake-up.
    end_moved: Notify,
    /// Whether the master log is answering promptly.
    log: Mutex<LogAnswers>,
    /// The server's polling budget: across the margin of an expected end, the state is
    /// read at the near-end pace while it has polls to spare.
    budget: PollBudget,
    /// Extra polls taken from the budget and not sent yet.
    prepaid: AtomicU32,
    /// The live estimate has measured a step: until then it is the plan's guess, and
    /// the log is read at least every `PollPolicy::unmeasured_log_max`.
    measured: AtomicBool,
}

/// How the master log's fetches have been answering.
#[derive(Debug, Default, Clone, Copy)]
struct LogAnswers {
    /// When a fetch last came back promptly (within [`PROMPT_LOG`]), and how long it
    /// took.
    prompt_at: Option<Instant>,
    prompt_took: Duration,
    /// Since when a fetch has been under way.
    fetching_since: Option<Instant>,
}

/// A master-log fetch answered within this is the live log (a server that holds the
/// answer until the log is finished, REFERENCE §4.12, takes far longer).
const PROMPT_LOG: Duration = Duration::from_secs(2);

impl LogSignals {
    /// Signals whose polls spend from `budget`.
    pub fn with_budget(budget: PollBudget) -> Self {
        Self {
            budget,
            ..Self::default()
        }
    }

    /// A state read or log fetch is sent: it spends from the budget, unless it is an
    /// extra poll taken (and spent) already.
    pub fn polled(&self) {
        let prepaid = self
            .prepaid
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if !prepaid {
            self.budget.spend();
        }
    }

    /// A state read asked at `asked` was answered (or failed) now.
    fn state_answered(&self, asked: Instant) {
        self.budget.answered(asked.elapsed(), Instant::now());
    }

    /// Whether the live estimate has measured a step.
    pub fn has_measured(&self) -> bool {
        self.measured.load(Ordering::SeqCst)
    }

    /// The live estimate has measured a step.
    pub fn step_measured(&self) {
        self.measured.store(true, Ordering::SeqCst);
    }

    /// How long the master log's fetches wait after one that brought no news, given the
    /// `backed_off` interval: no longer than `unmeasured_log_max` until the live
    /// estimate has measured a step, while the server's budget has that poll to spare
    /// (it is taken, as an extra poll, when the wait is shortened).
    pub fn log_wait(&self, policy: &PollPolicy, backed_off: Duration) -> Duration {
        let cap = policy.unmeasured_log_max;
        if backed_off <= cap || self.has_measured() || !self.budget.take_extra(Instant::now()) {
            return backed_off;
        }
        self.prepaid.fetch_add(1, Ordering::SeqCst);
        cap
    }

    /// Records the outcome the log's end record gave and wakes the state poll.
    pub fn log_ended(&self, outcome: SessionState) {
        *self.ended.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        self.poll_now.notify_one();
    }

    /// Records when the session should end, as the log's rate of work predicts, and
    /// wakes a state poll sleeping past an end that came closer.
    pub fn expect_end(&self, at: Option<Instant>) {
        self.set_end(at.map(|at| (at, Duration::ZERO)));
    }

    /// Records that the session should end at `at`, give or take `margin`: the state
    /// poll reads at its near-end pace from `at - margin` to `at + margin`, and seldom
    /// before.
    pub fn expect_end_within(&self, at: Instant, margin: Duration) {
        self.set_end(Some((at, margin)));
    }

    fn set_end(&self, end: Option<(Instant, Duration)>) {
        let before = std::mem::replace(
            &mut *self
                .expected_end
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            end,
        );
        let from = |(at, margin): (Instant, Duration)| at.checked_sub(margin).unwrap_or(at);
        if let Some(end) = end
            && before.is_none_or(|before| from(end) < from(before))
        {
            self.end_moved.notify_one();
        }
    }

    /// A master-log fetch begins.
    pub fn log_fetch_began(&self, at: Instant) {
        self.answers().fetching_since = Some(at);
    }

    /// The master-log fetch that began at `began` came back (with the log or not) at
    /// `at`.
    pub fn log_fetch_ended(&self, began: Instant, at: Instant, answered: bool) {
        let mut answers = self.answers();
        answers.fetching_since = None;
        let took = at.saturating_duration_since(began);
        self.budget.answered(took, at);
        if answered && took <= PROMPT_LOG {
            (answers.prompt_at, answers.prompt_took) = (Some(at), took);
        }
    }

    /// A fetch of the master log is under way and not yet held long: what has been
    /// folded of it is part of the log, the rest is still arriving.
    pub fn fetch_under_way(&self, now: Instant) -> bool {
        self.fetching_for(now).is_some_and(|d| d <= PROMPT_LOG)
    }

    /// How long the fetch under way has been, if one is.
    fn fetching_for(&self, now: Instant) -> Option<Duration> {
        self.answers()
            .fetching_since
            .map(|since| now.saturating_duration_since(since))
    }

    fn answers(&self) -> std::sync::MutexGuard<'_, LogAnswers> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The master log shows the session as it goes: it answered promptly within the
    /// last `recent`, and no fetch has been held longer than [`PROMPT_LOG`] since. Its
    /// records show every start, pause, abort and end a state read would, so the state
    /// is then read only as a safety net and near the end.
    fn log_live(&self, now: Instant, recent: Duration) -> bool {
        self.fetching_for(now).is_none_or(|d| d <= PROMPT_LOG)
            && self
                .answers()
                .prompt_at
                .is_some_and(|at| now.saturating_duration_since(at) <= recent)
    }

    /// The near-end pace: a `COMPLETED` read and what settles it come within `min` of
    /// the session's end. While the log answers promptly its end record settles it (the
    /// state poll fetches it at once) within [`SETTLE_ANSWERS`] times its last answer's
    /// time (a log answering slowly under load is given more); else a
    /// second read does, `confirm` later.
    fn near_pace(&self, policy: &PollPolicy, now: Instant) -> Duration {
        if !self.log_live(now, policy.live_max) {
            return policy.near_end();
        }
        let settle =
            (self.answers().prompt_took * SETTLE_ANSWERS).clamp(LOG_SETTLES, policy.confirm);
        policy.min.saturating_sub(settle).max(policy.near_end())
    }

    fn expected_end(&self) -> Option<(Instant, Duration)> {
        *self
            .expected_end
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How long to wait before reading an unchanged state again, given the backed-off
    /// `interval` and how long the session has been followed.
    ///
    /// With an end known give or take a margin (the replay of what is left): the
    /// backed-off interval until the margin begins, the near-end pace through it, then
    /// backing off again by a quarter of how far past it the end is. With an end known
    /// only from the rate of work (no margin): before it, never past half the time left
    /// (the prediction sharpens as the log goes on); once it has come, the near-end
    /// pace, backing off again by a quarter of how overdue the end is (a prediction can
    /// be early: the restores left once every item is transferred, or an item the log
    /// has not sized yet). Past the end, never longer than 1/40 of the time followed,
    /// so the end costs at most 2.5% of a session on top.
    fn wait(
        &self,
        policy: &PollPolicy,
        interval: Duration,
        now: Instant,
        followed: Duration,
    ) -> Duration {
        let near = self.near_pace(policy, now);
        let Some((end, margin)) = self.expected_end() else {
            return interval;
        };
        let from = end.checked_sub(margin).unwrap_or(end);
        let to = end + margin;
        if now < from {
            let ahead = from - now;
            let ahead = if margin.is_zero() { ahead / 2 } else { ahead };
            return interval.min(ahead).max(near);
        }
        if now <= to && !margin.is_zero() {
            // At the near-end pace while the server's budget has polls to spare (an
            // extra poll, paid for when taken) and the margin is narrow; else at most
            // END_READS reads across the margin: a wide one (an estimate the log dates
            // loosely) is read more sparsely, not more often.
            if margin <= policy.dense_margin() && self.budget.take_extra(now) {
                self.prepaid.fetch_add(1, Ordering::SeqCst);
                return near;
            }
            return near.max(margin * 2 / END_READS);
        }
        ((now - to) / 4)
            .min(followed / 40)
            .clamp(near, interval.max(near))
    }

    /// A terminal `state` as the log's end record settles it: a `COMPLETED` that the
    /// log calls failed or aborted is the flicker of REFERENCE §5.2.
    fn settled(&self, state: &SessionState) -> Option<SessionState> {
        let ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        match (state, ended.as_ref()) {
            (_, None) => None,
            (SessionState::Completed, Some(outcome)) => Some(outcome.clone()),
            (state, Some(_)) => Some(state.clone()),
        }
    }
}

/// The least time allowed for the log's end record to settle a `COMPLETED` read.
const LOG_SETTLES: Duration = Duration::from_millis(50);

/// How many of the log's last answer times are allowed for its end record to settle a
/// `COMPLETED` read: the read's answer, the fetch, its fold, and room for a slower one.
const SETTLE_ANSWERS: u32 = 4;

/// How many state reads at most the poll spends across the margin of an expected end.
const END_READS: u32 = 8;

/// The state is read at the near-end pace only across a margin it covers in at most
/// this many reads (±1.8 s at 150 ms): a wider one is an end known too loosely for
/// reads that dense to pay.
const DENSE_READS: u32 = 24;

/// Polling intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// The interval right after a change.
    pub min: Duration,
    /// How long after a `COMPLETED` it is read again to confirm it (REFERENCE §5.2:
    /// a session marked FAILED or ABORTED passes through COMPLETED for an instant),
    /// unless the master log's end record settles it first.
    pub confirm: Duration,
    /// The longest interval while nothing changes.
    pub max: Duration,
    /// The longest interval while nothing changes and the master log shows the session
    /// as it goes (then the state is only a safety net, and read densely near the end).
    pub live_max: Duration,
    /// The master log is fetched again this long after a fetch that brought new records
    /// (backing off to `max` while none come).
    pub log_min: Duration,
    /// The longest the log's fetches back off to before the live estimate has measured
    /// a step: the first measured step replaces a guessed throughput (it may be several
    /// times off), so it is seen early.
    pub unmeasured_log_max: Duration,
    /// How long the destination may stay unreachable before giving up.
    pub outage: Duration,
}

impl PollPolicy {
    /// The interval near the end: a `COMPLETED` read and its confirmation then come
    /// within `min` of the session's end.
    fn near_end(&self) -> Duration {
        self.min.saturating_sub(self.confirm).max(self.min / 4)
    }

    /// The widest margin either way of an expected end that is read at the near-end
    /// pace (in [`DENSE_READS`] reads).
    pub(crate) fn dense_margin(&self) -> Duration {
        self.near_end() * DENSE_READS / 2
    }
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(250),
            confirm: Duration::from_millis(100),
            max: Duration::from_secs(5),
            live_max: Duration::from_secs(10),
            log_min: Duration::from_secs(1),
            unmeasured_log_max: Duration::from_secs(2),
            outage: Duration::from_secs(15 * 60),
        }
    }
}

/// Polls until the session reaches a terminal state (confirmed) or is paused, calling
/// `on_change` with every new state. Returns the final state.
pub async fn follow_state(
    client: &WhmClient,
    session: &str,
    policy: PollPolicy,
    mut on_change: impl FnMut(&SessionState),
) -> Result<SessionState, WhmError> {
    follow_state_with(
        client,
        session,
        policy,
        &LogSignals::default(),
        None,
        &mut on_change,
    )
    .await
}

/// Like [`follow_state`], with a master-log follower beside it: its `poll_now` cuts a
/// wait short, and once it has read the log's end record a terminal state is final at
/// once (the caller takes the outcome from that record). A `known` state (`RUNNING`
/// right after the caller's start succeeded, REFERENCE §4.10) stands for the first
/// read.
pub async fn follow_state_with(
    client: &WhmClient,
    session: &str,
    policy: PollPolicy,
    log: &LogSignals,
    mut known: Option<SessionState>,
    mut on_change: impl FnMut(&SessionState),
) -> Result<SessionState, WhmError> {
    let mut poll = StatePoll::new(client, session, policy, log);
    loop {
        let answer = if let Some(state) = known.take() {
            Ok(state)
        } else {
            log.polled();
            let asked = Instant::now();
            let answer = client.get_transfer_session_state(session).await;
            log.state_answered(asked);
            answer
        };
        let wait = match answer {
            Ok(state) => {
                poll.failing_since = None;
                match poll.read(state, &mut on_change).await {
                    Next::Return(state) => return Ok(state),
                    Next::ReadAgain => continue,
                    Next::Sleep(wait) => wait,
                }
            }
            // A result-0 answer other than "no such session" is a server that cannot
            // answer now (busy, restarting): ridden out like an outage, never taken
            // for the session's end.
            Err(e) if e.is_transient() || !e.is_final_for_session(session) => {
                poll.unreachable(e)?
            }
            Err(e) => return Err(e),
        };
        poll.sleep(wait).await;
    }
}

/// One session's state poll: what it last saw and how long it waits.
struct StatePoll<'a> {
    client: &'a WhmClient,
    session: &'a str,
    policy: PollPolicy,
    log: &'a LogSignals,
    last: Option<SessionState>,
    /// Backs off while nothing changes; the sleep it leads to (a [`Wait`]) is shorter
    /// near the end.
    interval: Duration,
    began: Instant,
    /// Since when reads have failed in a row.
    failing_since: Option<Instant>,
}

/// What the poll does after a state read.
enum Next {
    /// Stop following: the session ended (confirmed) or was paused.
    Return(SessionState),
    /// Read again at once: a `COMPLETED` was not confirmed.
    ReadAgain,
    /// Sleep, then read again.
    Sleep(Wait),
}

impl<'a> StatePoll<'a> {
    /// A poll that has read nothing yet.
    fn new(
        client: &'a WhmClient,
        session: &'a str,
        policy: PollPolicy,
        log: &'a LogSignals,
    ) -> Self {
        Self {
            client,
            session,
            policy,
            log,
            last: None,
            interval: policy.min,
            began: Instant::now(),
            failing_since: None,
        }
    }

    /// Handles a state read: a terminal state once confirmed, or a pause, ends the
    /// poll; a change resets the interval, an unchanged state (or a move between the
    /// docs' per-item names) backs it off.
    async fn read(
        &mut self,
        mut state: SessionState,
        on_change: &mut impl FnMut(&SessionState),
    ) -> Next {
        if state.is_terminal() {
            state = self.confirm(state).await;
            if !state.is_terminal() {
                return Next::ReadAgain;
            }
        }
        // Paused by someone else (WHM's UI, `whm-migrate pause`): it stays so until
        // started again, so following it further would never end.
        if state.is_terminal() || state == SessionState::Paused {
            if self.last.as_ref() != Some(&state) {
                on_change(&state);
            }
            return Next::Return(state);
        }
        if self.last.as_ref() == Some(&state) {
            return self.back_off();
        }
        on_change(&state);
        // The docs' per-item names move with the items (TRANSFER_INPROGRESS, then
        // RESTORE_PENDING …) while the session simply runs on; the master log follows
        // the items. Only a change of phase (started, pausing, aborting) is read again
        // soon.
        let same_phase =
            self.last.as_ref().is_some_and(SessionState::names_a_queue) && state.names_a_queue();
        self.last = Some(state);
        if same_phase {
            return self.back_off();
        }
        self.interval = self.policy.min;
        Next::Sleep(Wait::Changed)
    }

    /// Nothing changed that matters: the next read waits longer; while the master log
    /// shows the session as it goes, as long as the policy lets a safety net wait.
    fn back_off(&mut self) -> Next {
        self.interval = if self.log.log_live(Instant::now(), self.policy.live_max) {
            self.policy.live_max
        } else {
            (self.interval * 2).min(self.policy.max)
        };
        Next::Sleep(Wait::Unchanged)
    }

    /// Confirms a terminal state: a failing or aborted session passes through
    /// COMPLETED. The log's end record settles it as well as a second read after
    /// `confirm` does, so this asks the follower for it and takes whichever is first.
    async fn confirm(&self, state: SessionState) -> SessionState {
        if let Some(settled) = self.log.settled(&state) {
            return settled;
        }
        self.log.fetch_now.notify_one();
        tokio::select! {
            () = tokio::time::sleep(self.policy.confirm) => {}
            () = self.log.poll_now.notified() => {}
        }
        if let Some(settled) = self.log.settled(&state) {
            return settled;
        }
        self.log.polled();
        self.client
            .get_transfer_session_state(self.session)
            .await
            .unwrap_or(state)
    }

    /// A read failed transiently: back off, or give up with `e` once the destination
    /// has been unreachable for longer than the policy's `outage`.
    fn unreachable(&mut self, e: WhmError) -> Result<Wait, WhmError> {
        let since = *self.failing_since.get_or_insert_with(Instant::now);
        if since.elapsed() > self.policy.outage {
            return Err(e);
        }
        tracing::debug!(
            session = self.session,
            "state poll failed ({e}); the destination may be restarting"
        );
        self.interval = (self.interval * 2).min(self.policy.max);
        Ok(Wait::For(self.interval))
    }

    /// After the session started running, the state is read again soon for what the
    /// log does not show yet; once the log answers promptly it shows the rest (item
    /// steps and the end), so the poll backs off instead, as when nothing changed.
    /// A pause or abort under way is still read again soon: its outcome ends the poll.
    /// Whether the log took over.
    fn log_took_over(&mut self, wait: &mut Wait) -> bool {
        let running = self
            .last
            .as_ref()
            .is_some_and(|s| *s == SessionState::Running || s.names_a_queue());
        if *wait != Wait::Changed
            || !running
            || !self.log.log_live(Instant::now(), self.policy.live_max)
        {
            return false;
        }
        self.interval = self.policy.live_max;
        *wait = Wait::Unchanged;
        true
    }

    /// Sleeps before the next read; the log's `poll_now` cuts it short, and an expected
    /// end that came closer recomputes an unchanged state's wake-up (from when the sleep
    /// began).
    async fn sleep(&mut self, mut wait: Wait) {
        let mut asleep = Instant::now();
        loop {
            let until = asleep
                + match wait {
                    Wait::For(d) => d,
                    Wait::Changed => self.policy.min,
                    Wait::Unchanged => {
                        self.log
                            .wait(&self.policy, self.interval, asleep, asleep - self.began)
                    }
                };
            tokio::select! {
                () = tokio::time::sleep_until(until.into()) => {
                    if !self.log_took_over(&mut wait) {
                        break;
                    }
                    asleep = Instant::now();
                }
                () = self.log.poll_now.notified() => {
                    self.interval = self.policy.min;
                    break;
                }
                () = self.log.end_moved.notified(), if wait == Wait::Unchanged => {}
            }
        }
    }
}

/// How long the state poll sleeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// This long.
    For(Duration),
    /// The phase changed (the session started, is pausing or aborting): `min`, unless
    /// the master log answers by then and shows what comes next.
    Changed,
    /// The state did not change: backed off, and shortened near the end (which the
    /// log may move while the poll sleeps).
    Unchanged,
}

#[cfg(test)]
mod tests {
    use super::{LogSignals, Next, PollPolicy, StatePoll, Wait};
    use crate::domain::SessionState;
    use crate::whm::{ClientOptions, RetryPolicy, Timeouts, TlsMode, WhmClient};
    use std::time::{Duration, Instant};

    #[test]
    fn a_fetch_under_way_is_one_until_it_ends_or_is_held_long() {
        let signals = LogSignals::default();
        let t0 = Instant::now();
        assert!(!signals.fetch_under_way(t0));
        signals.log_fetch_began(t0);
        assert!(signals.fetch_under_way(t0 + Duration::from_secs(1)));
        // Held past a prompt answer: a server sending the log when finished is not
        // waited for.
        assert!(!signals.fetch_under_way(t0 + Duration::from_secs(3)));
        signals.log_fetch_ended(t0, t0 + Duration::from_millis(100), true);
        assert!(!signals.fetch_under_way(t0 + Duration::from_millis(200)));
    }

    /// A client the tests never call (the poll reads are fed by hand).
    fn unused_client() -> WhmClient {
        WhmClient::new(ClientOptions {
            base_url: "http://127.0.0.1:9".into(),
            user: "root".into(),
            token: "unused".to_owned().into(),
            tls: TlsMode::SystemRoots,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
        })
        .unwrap()
    }

    /// Reads `states` in turn (none terminal: the client is never called); the interval
    /// after each.
    async fn intervals(states: &[SessionState]) -> Vec<Duration> {
        let client = unused_client();
        let signals = LogSignals::default();
        let mut poll = StatePoll::new(&client, "s", PollPolicy::default(), &signals);
        let mut out = Vec::new();
        for state in states {
            let next = poll.read(state.clone(), &mut |_| {}).await;
            assert!(matches!(next, Next::Sleep(Wait::Changed | Wait::Unchanged)));
            out.push(poll.interval);
        }
        out
    }

    #[tokio::test]
    async fn the_docs_per_item_names_back_off_like_an_unchanged_running_state() {
        use SessionState::{Pausing, RestorePending, Running, TransferInProgress};
        let ms = |n| Duration::from_millis(n);
        assert_eq!(
            intervals(&[Running, Running, Running]).await,
            [ms(250), ms(500), ms(1000)]
        );
        assert_eq!(
            intervals(&[TransferInProgress, RestorePending, TransferInProgress]).await,
            [ms(250), ms(500), ms(1000)],
            "items moving between queues are no change of phase"
        );
        assert_eq!(
            intervals(&[TransferInProgress, RestorePending, Pausing]).await,
            [ms(250), ms(500), ms(250)],
            "a pause is"
        );
    }

    const MS: Duration = Duration::from_millis(1);
    /// Followed long enough that 1/40 of it bounds nothing.
    const LONG: Duration = Duration::from_secs(3_600);

    #[test]
    fn the_wait_backs_off_until_the_predicted_end_nears() {
        let policy = PollPolicy::default();
        let signals = LogSignals::default();
        let now = Instant::now() + 60_000 * MS;
        let backed_off = 4_000 * MS;
        assert_eq!(
            signals.wait(&policy, backed_off, now, LONG),
            backed_off,
            "no prediction yet"
        );
        signals.expect_end(Some(now + 10_000 * MS));
        assert_eq!(
            signals.wait(&policy, backed_off, now, LONG),
            backed_off,
            "far off"
        );
        signals.expect_end(Some(now + 3_000 * MS));
        assert_eq!(
            signals.wait(&policy, backed_off, now, LONG),
            1_500 * MS,
            "half the time left"
        );
        signals.expect_end(Some(now + 200 * MS));
        assert_eq!(
            signals.wait(&policy, backed_off, now, LONG),
            150 * MS,
            "the near-end pace"
        );
        // Overdue: a poll every 150 ms, backing off again by how late the end is.
        signals.expect_end(now.checked_sub(100 * MS));
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), 150 * MS);
        signals.expect_end(now.checked_sub(2_000 * MS));
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), 500 * MS);
        signals.expect_end(now.checked_sub(60_000 * MS));
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), backed_off);
    }

    #[test]
    fn an_overdue_end_is_polled_for_at_least_every_fortieth_of_the_time_followed() {
        let policy = PollPolicy::default();
        let signals = LogSignals::default();
        let now = Instant::now() + 60_000 * MS;
        signals.expect_end(now.checked_sub(4_000 * MS));
        let backed_off = 4_000 * MS;
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), 1_000 * MS);
        // Ten seconds into a session: a quarter of a second at most.
        assert_eq!(
            signals.wait(&policy, backed_off, now, 10_000 * MS),
            250 * MS
        );
        // Never faster than the near-end pace.
        assert_eq!(signals.wait(&policy, backed_off, now, 1_000 * MS), 150 * MS);
    }

    #[test]
    fn an_end_known_within_a_margin_is_read_across_it_at_most_eight_times() {
        let policy = PollPolicy::default();
        let signals = LogSignals::default();
        let now = Instant::now() + 60_000 * MS;
        let backed_off = 10_000 * MS;
        // The end in 5 s, give or take 400 ms: sleep to the margin, not past it.
        signals.expect_end_within(now + 5_000 * MS, 400 * MS);
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), 4_600 * MS);
        // Inside a narrow margin: the near-end pace.
        signals.expect_end_within(now + 100 * MS, 400 * MS);
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), 150 * MS);
        // Inside a wide one: 8 reads across it, not one every 150 ms.
        signals.expect_end_within(now + 100 * MS, 2_000 * MS);
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), 500 * MS);
        // Past the margin: backing off by a quarter of how far past it.
        signals.expect_end_within(now.checked_sub(6_000 * MS).unwrap(), 2_000 * MS);
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), 1_000 * MS);
    }

    #[test]
    fn across_a_narrow_margin_the_state_is_read_densely_while_the_server_budget_has_polls_to_spare()
    {
        let policy = PollPolicy::default();
        let t0 = Instant::now();
        let budget = crate::whm::budget::PollBudget::new(t0);
        let _following = budget.follow(t0);
        let signals = LogSignals::with_budget(budget.clone());
        // 10 s followed: 20 polls earned. 14 sent: 6 saved, half of it (3) extra.
        for _ in 0..14 {
            signals.polled();
        }
        let now = t0 + 10_000 * MS;
        let backed_off = 10_000 * MS;
        // ±2 s would take 27 reads at 150 ms: too loose an end for dense reads.
        signals.expect_end_within(now + 100 * MS, 2_000 * MS);
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), 500 * MS);
        signals.expect_end_within(now + 100 * MS, 1_500 * MS);
        for _ in 0..3 {
            assert_eq!(signals.wait(&policy, backed_off, now, LONG), 150 * MS);
            // The read of an extra poll was paid for when it was taken.
            signals.polled();
        }
        assert_eq!(budget.totals(now).1, 17);
        // None to spare: 8 reads across the margin.
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), 375 * MS);
        signals.polled();
        assert_eq!(budget.totals(now).1, 18);
    }

    #[tokio::test]
    async fn after_the_start_the_log_takes_over_once_it_answers_but_not_from_a_pause_under_way() {
        let client = unused_client();
        let signals = LogSignals::default();
        let policy = PollPolicy::default();
        let mut poll = StatePoll::new(&client, "s", PollPolicy::default(), &signals);
        let next = poll.read(SessionState::Running, &mut |_| {}).await;
        assert!(matches!(next, Next::Sleep(Wait::Changed)));
        let mut wait = Wait::Changed;
        assert!(
            !poll.log_took_over(&mut wait),
            "no log answer yet: read again soon"
        );
        let t = Instant::now();
        signals.log_fetch_began(t);
        signals.log_fetch_ended(t, t + 20 * MS, true);
        assert!(poll.log_took_over(&mut wait));
        assert_eq!((wait, poll.interval), (Wait::Unchanged, policy.live_max));
        // A pause under way ends the poll when it is paused: read soon, log or not.
        let next = poll.read(SessionState::Pausing, &mut |_| {}).await;
        assert!(matches!(next, Next::Sleep(Wait::Changed)));
        let mut wait = Wait::Changed;
        assert!(!poll.log_took_over(&mut wait));
        assert_eq!(wait, Wait::Changed);
    }

    #[test]
    fn the_log_backs_off_to_2_s_until_the_estimate_has_measured_a_step_while_the_budget_allows() {
        let policy = PollPolicy::default();
        let unfunded = LogSignals::default();
        assert_eq!(
            unfunded.log_wait(&policy, 4_000 * MS),
            4_000 * MS,
            "nothing saved"
        );
        let t0 = Instant::now().checked_sub(10_000 * MS).unwrap();
        let budget = crate::whm::budget::PollBudget::new(t0);
        let _following = budget.follow(t0);
        let signals = LogSignals::with_budget(budget.clone());
        assert_eq!(signals.log_wait(&policy, 4_000 * MS), 2_000 * MS);
        assert_eq!(signals.log_wait(&policy, 1_000 * MS), 1_000 * MS);
        // The shortened wait's fetch was paid for when it was taken.
        signals.polled();
        assert_eq!(budget.totals(Instant::now()).1, 1);
        signals.step_measured();
        assert_eq!(signals.log_wait(&policy, 4_000 * MS), 4_000 * MS);
    }

    #[tokio::test]
    async fn while_the_log_answers_promptly_the_state_is_only_a_safety_net() {
        let client = unused_client();
        let signals = LogSignals::default();
        let policy = PollPolicy::default();
        let mut poll = StatePoll::new(&client, "s", PollPolicy::default(), &signals);
        poll.read(SessionState::Running, &mut |_| {}).await;
        poll.read(SessionState::Running, &mut |_| {}).await;
        assert_eq!(poll.interval, 500 * MS, "no log yet: backing off as before");
        let t = Instant::now();
        signals.log_fetch_began(t);
        signals.log_fetch_ended(t, t + 20 * MS, true);
        poll.read(SessionState::Running, &mut |_| {}).await;
        assert_eq!(poll.interval, policy.live_max);
        // A fetch held past PROMPT_LOG: the log no longer shows the session as it goes.
        signals.log_fetch_began(Instant::now().checked_sub(3_000 * MS).unwrap());
        poll.interval = policy.min;
        poll.read(SessionState::Running, &mut |_| {}).await;
        assert_eq!(poll.interval, 500 * MS);
        // A slow answer does not count as live either.
        let t = Instant::now();
        let fresh = LogSignals::default();
        fresh.log_fetch_began(t);
        fresh.log_fetch_ended(t, t + 3_000 * MS, true);
        assert!(!fresh.log_live(t + 3_000 * MS, policy.live_max));
    }

    #[test]
    fn a_completed_read_at_the_near_end_pace_is_confirmed_within_one_shortest_interval() {
        let policy = PollPolicy::default();
        assert_eq!(policy.near_end(), 150 * MS);
        assert_eq!(policy.near_end() + policy.confirm, policy.min);
        // The margin read at that pace, as operations.md states it: ±1.8 s.
        assert_eq!(policy.dense_margin(), 1_800 * MS);
    }

    #[test]
    fn while_the_log_settles_the_end_the_near_end_pace_leaves_it_four_times_its_answer_time() {
        let policy = PollPolicy::default();
        let signals = LogSignals::default();
        let now = Instant::now() + 60_000 * MS;
        let backed_off = 4_000 * MS;
        signals.expect_end(Some(now + 100 * MS));
        assert_eq!(
            signals.wait(&policy, backed_off, now, LONG),
            150 * MS,
            "no log: a second read, 100 ms later, confirms"
        );
        let answered_in = |took: Duration| {
            let at = now.checked_sub(10 * MS).unwrap();
            signals.log_fetch_began(at.checked_sub(took).unwrap());
            signals.log_fetch_ended(at.checked_sub(took).unwrap(), at, true);
            signals.wait(&policy, backed_off, now, LONG)
        };
        assert_eq!(answered_in(10 * MS), 200 * MS, "at least 50 ms for the log");
        assert_eq!(answered_in(20 * MS), 170 * MS);
        assert_eq!(
            answered_in(30 * MS),
            150 * MS,
            "never less than a second read"
        );
        // A narrow margin is read at that pace too.
        answered_in(10 * MS);
        signals.expect_end_within(now + 100 * MS, 400 * MS);
        assert_eq!(signals.wait(&policy, backed_off, now, LONG), 200 * MS);
    }

    #[tokio::test(start_paused = true)]
    async fn a_known_state_stands_for_the_first_read() {
        // Within the shortest interval after following begins: how many polls were
        // spent, and which states were passed on.
        async fn first_moment(known: Option<SessionState>) -> (u64, Vec<SessionState>) {
            let client = unused_client();
            let budget = crate::whm::budget::PollBudget::new(Instant::now());
            let signals = LogSignals::with_budget(budget.clone());
            let mut seen = Vec::new();
            let follow = super::follow_state_with(
                &client,
                "s",
                PollPolicy::default(),
                &signals,
                known,
                |s| seen.push(s.clone()),
            );
            let _ = tokio::time::timeout(200 * MS, follow).await;
            (budget.totals(Instant::now()).1, seen)
        }
        assert_eq!(
            first_moment(Some(SessionState::Running)).await,
            (0, vec![SessionState::Running]),
            "started by the caller: RUNNING, passed on without a read"
        );
        assert_eq!(first_moment(None).await.0, 1, "else read");
    }

    #[tokio::test(start_paused = true)]
    async fn an_end_that_comes_closer_wakes_the_sleeping_poll() {
        let signals = LogSignals::default();
        let now = Instant::now();
        let woken = |signals: &LogSignals| {
            futures::FutureExt::now_or_never(signals.end_moved.notified()).is_some()
        };
        signals.expect_end(Some(now + 5_000 * MS));
        assert!(woken(&signals), "a first estimate");
        signals.expect_end(Some(now + 6_000 * MS));
        assert!(
            !woken(&signals),
            "a later end: the poll wakes early enough anyway"
        );
        signals.expect_end(Some(now + 1_000 * MS));
        assert!(woken(&signals), "an earlier end");
        signals.expect_end(None);
        assert!(!woken(&signals), "no estimate");
    }
}
