//! Transfer sessions: ids (REFERENCE §5.1), session states and their transitions
//! (§5.2), per-item queue states (§5.3) and the queued items themselves.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::logs::LogFile;
use super::options::{LogLayout, StateNames};
use super::queue::{Pick, Queue, QueueIndex};

/// A session's overall state, as `get_transfer_session_state` names it: the server's
/// closed state machine (§5.2, with its transitions below). The client reads states
/// into `domain::SessionState` instead, which also keeps names the docs list and names
/// nobody documented: the simulator is the server, and must not know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionState {
    /// Created, never started.
    Pending,
    /// The master process is working the queues.
    Running,
    /// A pause was requested.
    Pausing,
    /// An abort was requested.
    Aborting,
    /// Stopped after a pause.
    Paused,
    /// All queues drained.
    Completed,
    /// Stopped by an abort; cannot restart.
    Aborted,
    /// Failed as a whole.
    Failed,
}

impl SessionState {
    /// The name the API returns.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Pausing => "PAUSING",
            Self::Aborting => "ABORTING",
            Self::Paused => "PAUSED",
            Self::Completed => "COMPLETED",
            Self::Aborted => "ABORTED",
            Self::Failed => "FAILED",
        }
    }

    /// Whether the session is finished for good.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Aborted | Self::Failed)
    }

    /// Whether §5.2 allows moving from `self` to `to`.
    pub fn can_become(self, to: Self) -> bool {
        use SessionState::{
            Aborted, Aborting, Completed, Failed, Paused, Pausing, Pending, Running,
        };
        self == to
            || to == Failed
            || matches!(
                (self, to),
                (Pending | Paused, Running)
                    | (Running, Pausing | Completed)
                    | (Pausing, Paused)
                    | (Pending | Running | Pausing | Paused, Aborting)
                    | (Aborting, Aborted)
            )
    }
}

/// Who created the session and how it authenticates to the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionKind {
    /// `create_remote_root_transfer_session` (initiator `copyacct`).
    RemoteRoot,
    /// `create_remote_user_transfer_session` (initiator `norootcopy`).
    RemoteUser,
    /// `start_local_cpmove_restore` (initiator `start_local_cpmove_restore`).
    Local,
}

/// An item's place in the two queues (REFERENCE §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ItemState {
    /// Waiting for its TRANSFER step.
    TransferPending,
    /// In its TRANSFER step.
    TransferInprogress,
    /// Transferred, waiting for its RESTORE step.
    RestorePending,
    /// In its RESTORE step.
    RestoreInprogress,
    /// Restored.
    Completed,
    /// Failed in either step.
    Failed,
}

impl ItemState {
    /// The name the queues give it (REFERENCE §5.3).
    pub fn name(self) -> &'static str {
        match self {
            Self::TransferPending => "TRANSFER_PENDING",
            Self::TransferInprogress => "TRANSFER_INPROGRESS",
            Self::RestorePending => "RESTORE_PENDING",
            Self::RestoreInprogress => "RESTORE_INPROGRESS",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }

    /// Whether the TRANSFER step is still to do or in progress.
    pub fn transfer_open(self) -> bool {
        matches!(self, Self::TransferPending | Self::TransferInprogress)
    }

    /// Whether the RESTORE step is still to do or in progress (including not yet transferred).
    pub fn restore_open(self) -> bool {
        !matches!(self, Self::Completed | Self::Failed)
    }
}

/// One enqueued item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Module name.
    pub module: String,
    /// Module type id.
    pub type_id: u32,
    /// Primary-key value (source user, package or feature-list name).
    pub key: String,
    /// The local name (`localuser` for accounts, else the key).
    pub local: String,
    /// Declared size in bytes (`size`, default 1).
    pub size: u64,
    /// Processing priority (lower first; default 255).
    pub priority: u64,
    /// Key of an item that must finish each step first.
    pub prerequisite: Option<String>,
    /// All module parameters as given.
    pub params: BTreeMap<String, String>,
    /// Queue state.
    pub state: ItemState,
    /// Failure text, once failed.
    pub failure: Option<String>,
    /// Worker crashes suffered so far (fault injection).
    #[serde(default)]
    pub crashes: u32,
    /// When its TRANSFER step was due to end (simulated time; a RESTORE step starts no
    /// earlier). Not persisted: a restarted simulator starts its steps afresh.
    #[serde(skip)]
    pub(crate) transferred_at: Option<tokio::time::Instant>,
}

impl Item {
    /// A parameter as an integer flag (`1` → true).
    pub fn flag(&self, name: &str) -> bool {
        self.params.get(name).is_some_and(|v| v.trim() == "1")
    }
}

/// Options given at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOptions {
    /// Requested TRANSFER workers.
    pub transfer_threads: u64,
    /// Requested RESTORE workers.
    pub restore_threads: u64,
    /// `unrestricted_restore`.
    pub unrestricted: bool,
    /// `copy_reseller_privs`.
    pub copy_reseller_privs: bool,
}

/// A transfer session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The id.
    pub id: String,
    /// Root or user session.
    pub kind: SessionKind,
    /// `copyacct`, `norootcopy` or `start_local_cpmove_restore`.
    pub initiator: String,
    /// The API user that created it.
    pub creator: String,
    /// The host as given at creation.
    pub host: String,
    /// The matching key in the world's `sources`.
    pub source_key: String,
    /// The cPanel password of a user session (blanked on completion).
    pub password: Option<String>,
    /// Creation options.
    pub options: SessionOptions,
    /// Overall state.
    pub state: SessionState,
    /// The master process id, once started.
    pub pid: Option<u32>,
    /// Queued items in enqueue order.
    pub items: Vec<Item>,
    /// Log files by plain name.
    pub logs: BTreeMap<String, LogFile>,
    /// How its log records are laid out (from [`SimOptions::log_layout`](super::SimOptions)
    /// at creation); state files written before the option read as the reference layout.
    #[serde(default)]
    pub log_layout: LogLayout,
    /// The stored remote analysis (root sessions).
    pub analysis: Option<serde_json::Value>,
    /// Whether the master has written its opening records.
    pub started_once: bool,
    /// The queues' index over `items`; rebuilt when stale (e.g. after loading).
    #[serde(skip)]
    pub(crate) index: QueueIndex,
}

impl Session {
    /// The name `get_transfer_session_state` answers for this session.
    ///
    /// Under [`StateNames::Docs`] a running session is named after its queues (the
    /// guide's per-item names): a step in progress before one waiting, TRANSFER before
    /// RESTORE. Once every item is done while the master is still writing its end, the
    /// last step is still under way: `RESTORE_INPROGRESS`. The guide's list has no name
    /// for a pause or an abort, so `PAUSING`, `PAUSED`, `ABORTING` and `ABORTED` are
    /// answered as the server names them.
    pub fn answered_state(&self, names: StateNames) -> &'static str {
        if names == StateNames::Reference || self.state != SessionState::Running {
            return self.state.name();
        }
        if names == StateNames::Undocumented {
            return "WORKING";
        }
        let any = |state: ItemState| self.items.iter().any(|i| i.state == state);
        [
            ItemState::TransferInprogress,
            ItemState::RestoreInprogress,
            ItemState::TransferPending,
            ItemState::RestorePending,
        ]
        .into_iter()
        .find(|&state| any(state))
        .unwrap_or(ItemState::RestoreInprogress)
        .name()
    }

    /// The item with this module and key.
    pub fn item(&self, module: &str, key: &str) -> Option<&Item> {
        if self.index.covers(&self.items) {
            return self.index.find(module, key).map(|i| &self.items[i]);
        }
        self.items
            .iter()
            .find(|i| i.module == module && i.key == key)
    }

    /// Rebuilds the index if `items` was filled or changed without it.
    pub(crate) fn reindex(&mut self) {
        if !self.index.covers(&self.items) {
            self.index = QueueIndex::build(&self.items);
        }
    }

    /// Appends an item to the queues.
    pub(crate) fn push_item(&mut self, item: Item) {
        self.reindex();
        self.index.add(self.items.len(), &item);
        self.items.push(item);
    }

    /// Sets the queue state of the item at `idx`, keeping the index exact.
    pub(crate) fn set_state(&mut self, idx: usize, to: ItemState) {
        self.reindex();
        self.index.change(idx, &self.items[idx], to);
        self.items[idx].state = to;
    }

    /// What a worker of `queue` may do next (REFERENCE §5.4).
    pub(crate) fn pick(&mut self, queue: Queue) -> Pick {
        self.reindex();
        self.index.pick(&self.items, queue)
    }
}

const ID_PAD: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Builds a session id per REFERENCE §5.1: 15 chars of host + 5 of initiator + UTC
/// `YYYYMMDDhhmmss`, stripped to `[0-9A-Za-z_]`, random-padded to 36.
pub fn build_id(host: &str, initiator: &str, now: DateTime<Utc>, rng: &mut impl Rng) -> String {
    let raw: String = host
        .chars()
        .take(15)
        .chain(initiator.chars().take(5))
        .chain(now.format("%Y%m%d%H%M%S").to_string().chars())
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let mut id = raw;
    while id.len() < 36 {
        id.push(char::from(ID_PAD[rng.random_range(0..ID_PAD.len())]));
    }
    id
}

/// Whether an id has only the characters ids may have.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;

    #[test]
    fn id_follows_the_documented_recipe() {
        let now = Utc.with_ymd_and_hms(2014, 2, 11, 21, 17, 19).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let id = build_id("remote.example.com", "copyacct", now, &mut rng);
        assert_eq!(id.len(), 36);
        assert!(id.starts_with("remoteexamplecopya20140211211719"), "{id}");
        assert!(valid_id(&id) && !valid_id("a-b"));
    }

    /// A running session whose items stand in `states`, in order.
    fn running(states: &[ItemState]) -> Session {
        let items = states
            .iter()
            .enumerate()
            .map(|(n, &state)| Item {
                module: "AccountRemoteRoot".into(),
                type_id: 3000,
                key: format!("u{n}"),
                local: format!("u{n}"),
                size: 1,
                priority: 255,
                prerequisite: None,
                params: BTreeMap::new(),
                state,
                failure: None,
                crashes: 0,
                transferred_at: None,
            })
            .collect();
        Session {
            id: "t".into(),
            kind: SessionKind::RemoteRoot,
            initiator: "copyacct".into(),
            creator: "root".into(),
            host: "h".into(),
            source_key: "h".into(),
            password: None,
            options: SessionOptions {
                transfer_threads: 1,
                restore_threads: 1,
                unrestricted: false,
                copy_reseller_privs: false,
            },
            state: SessionState::Running,
            pid: Some(2000),
            items,
            logs: BTreeMap::new(),
            analysis: None,
            started_once: true,
            index: QueueIndex::default(),
            log_layout: LogLayout::default(),
        }
    }

    #[test]
    fn docs_names_follow_the_queues_and_reference_names_the_session() {
        use ItemState::{
            Completed, RestoreInprogress, RestorePending, TransferInprogress, TransferPending,
        };
        let cases: [(&[ItemState], &str); 6] = [
            (&[TransferPending, TransferPending], "TRANSFER_PENDING"),
            (&[RestorePending, TransferInprogress], "TRANSFER_INPROGRESS"),
            (&[RestoreInprogress, TransferPending], "RESTORE_INPROGRESS"),
            (&[RestorePending, TransferPending], "TRANSFER_PENDING"),
            (&[Completed, RestorePending], "RESTORE_PENDING"),
            (&[Completed, Completed], "RESTORE_INPROGRESS"),
        ];
        for (states, want) in cases {
            let s = running(states);
            assert_eq!(s.answered_state(StateNames::Docs), want, "{states:?}");
            assert_eq!(s.answered_state(StateNames::Reference), "RUNNING");
        }
        let mut s = running(&[TransferInprogress]);
        for state in [
            SessionState::Pending,
            SessionState::Pausing,
            SessionState::Paused,
            SessionState::Aborting,
            SessionState::Aborted,
            SessionState::Completed,
            SessionState::Failed,
        ] {
            s.state = state;
            assert_eq!(s.answered_state(StateNames::Docs), state.name());
        }
    }

    #[test]
    fn transitions() {
        use SessionState::*;
        assert!(Pending.can_become(Running) && Paused.can_become(Running));
        assert!(!Aborted.can_become(Running) && !Completed.can_become(Running));
        assert!(Completed.can_become(Failed) && !Pending.can_become(Paused));
    }
}
