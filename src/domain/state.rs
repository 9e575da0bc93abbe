//! Transfer session states as `get_transfer_session_state` names them (REFERENCE §4.11,
//! §5.2), including the names only the docs use and names nobody documented.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The state of a transfer session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Created, never started.
    Pending,
    /// The master process is working the queues.
    Running,
    /// A pause was requested; workers finish their current item.
    Pausing,
    /// An abort was requested; workers are being stopped.
    Aborting,
    /// Stopped after a pause; starting it again resumes it.
    Paused,
    /// All queues drained (items may still have failed individually).
    Completed,
    /// Stopped by an abort; cannot be restarted.
    Aborted,
    /// The session as a whole failed.
    Failed,
    /// A worker hit its memory cap (not expected as a session state).
    ReachedMaxMem,
    /// A per-item queue state the docs list for this call.
    TransferPending,
    /// A per-item queue state the docs list (and use as their example).
    TransferInProgress,
    /// A per-item queue state the docs list for this call.
    RestorePending,
    /// A per-item queue state the docs list for this call.
    RestoreInProgress,
    /// A name this client does not know; kept verbatim.
    Unknown(String),
}

impl SessionState {
    /// Parses a state name; unknown names are kept, never rejected.
    pub fn from_name(name: &str) -> Self {
        match name.trim().to_ascii_uppercase().as_str() {
            "PENDING" => Self::Pending,
            "RUNNING" => Self::Running,
            "PAUSING" => Self::Pausing,
            "ABORTING" => Self::Aborting,
            "PAUSED" => Self::Paused,
            "COMPLETED" => Self::Completed,
            "ABORTED" => Self::Aborted,
            "FAILED" => Self::Failed,
            "REACHEDMAXMEM" => Self::ReachedMaxMem,
            "TRANSFER_PENDING" => Self::TransferPending,
            "TRANSFER_INPROGRESS" => Self::TransferInProgress,
            "RESTORE_PENDING" => Self::RestorePending,
            "RESTORE_INPROGRESS" => Self::RestoreInProgress,
            _ => Self::Unknown(name.to_owned()),
        }
    }

    /// The name as WHM writes it.
    pub fn name(&self) -> &str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Pausing => "PAUSING",
            Self::Aborting => "ABORTING",
            Self::Paused => "PAUSED",
            Self::Completed => "COMPLETED",
            Self::Aborted => "ABORTED",
            Self::Failed => "FAILED",
            Self::ReachedMaxMem => "REACHEDMAXMEM",
            Self::TransferPending => "TRANSFER_PENDING",
            Self::TransferInProgress => "TRANSFER_INPROGRESS",
            Self::RestorePending => "RESTORE_PENDING",
            Self::RestoreInProgress => "RESTORE_INPROGRESS",
            Self::Unknown(name) => name,
        }
    }

    /// Whether the session will not change any more by itself.
    ///
    /// `COMPLETED` is terminal here, but a poller may see it for an instant before
    /// `FAILED` or `ABORTED` (REFERENCE §5.2): confirm it with a second read.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Completed | Self::Aborted | Self::Failed)
    }

    /// Whether the session is working (or about to): the per-item names count as
    /// running, since the docs return them for a session in progress.
    pub fn is_active(&self) -> bool {
        self.names_a_queue()
            || matches!(
                self,
                Self::Running | Self::Pausing | Self::Aborting | Self::ReachedMaxMem
            )
    }

    /// Whether this is one of the per-item queue names the docs list for this call
    /// (`TRANSFER_PENDING` … `RESTORE_INPROGRESS`): a session at work, named after where
    /// its items stand, so the name moves as items do while the session stays running.
    pub fn names_a_queue(&self) -> bool {
        matches!(
            self,
            Self::TransferPending
                | Self::TransferInProgress
                | Self::RestorePending
                | Self::RestoreInProgress
        )
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for SessionState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for SessionState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = crate::domain::lenient::string(d)?;
        Ok(Self::from_name(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::SessionState;

    #[test]
    fn every_documented_name_round_trips_and_unknown_names_are_kept() {
        for name in [
            "PENDING",
            "RUNNING",
            "PAUSING",
            "ABORTING",
            "PAUSED",
            "COMPLETED",
            "ABORTED",
            "FAILED",
            "REACHEDMAXMEM",
            "TRANSFER_PENDING",
            "TRANSFER_INPROGRESS",
            "RESTORE_PENDING",
            "RESTORE_INPROGRESS",
        ] {
            let state = SessionState::from_name(name);
            assert!(!matches!(state, SessionState::Unknown(_)), "{name}");
            assert_eq!(state.name(), name);
        }
        let odd = SessionState::from_name("HIBERNATING");
        assert_eq!(odd, SessionState::Unknown("HIBERNATING".to_owned()));
        assert!(!odd.is_terminal() && !odd.is_active());
        assert!(SessionState::from_name("TRANSFER_INPROGRESS").is_active());
        assert!(SessionState::RestorePending.names_a_queue());
        assert!(!SessionState::Running.names_a_queue() && !SessionState::Pending.names_a_queue());
    }
}
