//! Following a session's state: cheap `get_transfer_session_state` polls that back off
//! while nothing changes, ride out a destination that is briefly unreachable, and
//! confirm a `COMPLETED` (it can flicker before `FAILED`/`ABORTED`, REFERENCE §5.2)
//! unless the master log's end record has already said how the session ended. Near the
//! end (every item taken by a worker, as the log shows) the state poll stops backing
//! off, so the end is noticed within one shortest interval.

use crate::whm::{SessionState, WhmClient, WhmError};
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// The log shows every item past its wait for a TRANSFER worker: the session's end
    /// is only the running items away, so the state poll keeps its shortest interval
    /// instead of backing off (the end is then noticed within one interval).
    near_end: AtomicBool,
}

impl LogSignals {
    /// Records the outcome the log's end record gave and wakes the state poll.
    pub fn log_ended(&self, outcome: SessionState) {
        *self.ended.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        self.poll_now.notify_one();
    }

    /// Marks the session as near its end (once) and wakes a backed-off state poll.
    pub fn near_end(&self) {
        if !self.near_end.swap(true, Ordering::SeqCst) {
            self.poll_now.notify_one();
        }
    }

    fn is_near_end(&self) -> bool {
        self.near_end.load(Ordering::SeqCst)
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

/// Polling intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// The interval right after a change.
    pub min: Duration,
    /// The longest interval while nothing changes.
    pub max: Duration,
    /// How long the destination may stay unreachable before giving up.
    pub outage: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(250),
            max: Duration::from_secs(5),
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
        &mut on_change,
    )
    .await
}

/// Like [`follow_state`], with a master-log follower beside it: its `poll_now` cuts a
/// wait short, and once it has read the log's end record a terminal state is final at
/// once (the caller takes the outcome from that record).
pub async fn follow_state_with(
    client: &WhmClient,
    session: &str,
    policy: PollPolicy,
    log: &LogSignals,
    mut on_change: impl FnMut(&SessionState),
) -> Result<SessionState, WhmError> {
    let mut last: Option<SessionState> = None;
    let mut interval = policy.min;
    let mut failing_since: Option<Instant> = None;
    loop {
        match client.get_transfer_session_state(session).await {
            Ok(state) => {
                failing_since = None;
                if state.is_terminal() {
                    // Confirm: a failing or aborted session passes through COMPLETED.
                    // The log's end record settles it as well as a second read after
                    // `min` does, so ask the follower for it and take whichever is first.
                    let confirmed = if let Some(settled) = log.settled(&state) {
                        settled
                    } else {
                        log.fetch_now.notify_one();
                        tokio::select! {
                            () = tokio::time::sleep(policy.min) => {}
                            () = log.poll_now.notified() => {}
                        }
                        match log.settled(&state) {
                            Some(settled) => settled,
                            None => client
                                .get_transfer_session_state(session)
                                .await
                                .unwrap_or_else(|_| state.clone()),
                        }
                    };
                    if confirmed.is_terminal() {
                        if last.as_ref() != Some(&confirmed) {
                            on_change(&confirmed);
                        }
                        return Ok(confirmed);
                    }
                    continue;
                }
                // Paused by someone else (WHM's UI, `whm-migrate pause`): it stays so
                // until started again, so following it further would never end.
                if state == SessionState::Paused {
                    if last.as_ref() != Some(&state) {
                        on_change(&state);
                    }
                    return Ok(state);
                }
                if last.as_ref() == Some(&state) {
                    interval = if log.is_near_end() {
                        policy.min
                    } else {
                        (interval * 2).min(policy.max)
                    };
                } else {
                    on_change(&state);
                    last = Some(state);
                    interval = policy.min;
                }
            }
            Err(e) if e.is_transient() => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() > policy.outage {
                    return Err(e);
                }
                tracing::debug!(
                    session,
                    "state poll failed ({e}); the destination may be restarting"
                );
                interval = (interval * 2).min(policy.max);
            }
            Err(e) => return Err(e),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = log.poll_now.notified() => interval = policy.min,
        }
    }
}
