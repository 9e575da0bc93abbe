//! Following a session's state: cheap `get_transfer_session_state` polls that back off
//! while nothing changes, ride out a destination that is briefly unreachable, and
//! confirm a `COMPLETED` (it can flicker before `FAILED`/`ABORTED`, REFERENCE §5.2).

use crate::whm::{SessionState, WhmClient, WhmError};
use std::time::{Duration, Instant};

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
        &tokio::sync::Notify::new(),
        &mut on_change,
    )
    .await
}

/// Like [`follow_state`], but `wake` cuts a wait short (the master log has shown the
/// session's end, so the next poll should not wait out a backed-off interval).
pub async fn follow_state_with(
    client: &WhmClient,
    session: &str,
    policy: PollPolicy,
    wake: &tokio::sync::Notify,
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
                    tokio::time::sleep(policy.min).await;
                    let confirmed = client
                        .get_transfer_session_state(session)
                        .await
                        .unwrap_or_else(|_| state.clone());
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
                    interval = (interval * 2).min(policy.max);
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
            () = wake.notified() => interval = policy.min,
        }
    }
}
