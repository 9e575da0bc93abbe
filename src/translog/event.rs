//! Typed events of the master log (`master.log`, `control` records; REFERENCE §7.3).

use std::fmt;

use serde_json::Value;

/// The queue a worker or an item step belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Queue {
    /// `TRANSFER`: copying the item from the source.
    Transfer,
    /// `RESTORE`: restoring the copied item on this server.
    Restore,
    /// Any other queue name, kept as written.
    Other(String),
}

impl Queue {
    /// Reads a queue name; `TRANSFER` and `RESTORE` are matched without regard to case.
    pub fn parse(name: &str) -> Self {
        if name.eq_ignore_ascii_case("TRANSFER") {
            Queue::Transfer
        } else if name.eq_ignore_ascii_case("RESTORE") {
            Queue::Restore
        } else {
            Queue::Other(name.to_owned())
        }
    }

    /// The name as WHM writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Queue::Transfer => "TRANSFER",
            Queue::Restore => "RESTORE",
            Queue::Other(name) => name,
        }
    }
}

impl fmt::Display for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which item (and which step of it) a record is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemRef {
    /// The step: `None` when the record names no queue.
    pub queue: Option<Queue>,
    /// The item's primary key on the source (user name, package name, …).
    pub item: String,
    /// The local name when it differs from `item` (current logs only).
    pub local_item: Option<String>,
    /// The module name, e.g. `AccountRemoteRoot`.
    pub item_type: Option<String>,
    /// The human kind, e.g. `Account`.
    pub item_name: Option<String>,
    /// The item log's name, for `fetch_transfer_session_log`.
    pub logfile: Option<String>,
}

/// The four counts of an item's result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemCounts {
    /// Warnings.
    pub warnings: u64,
    /// Skipped items.
    pub skipped_items: u64,
    /// Dangerous items.
    pub dangerous_items: u64,
    /// Altered items (e.g. a database restored under another name).
    pub altered_items: u64,
}

impl ItemCounts {
    /// True when every count is zero.
    pub fn is_clean(&self) -> bool {
        *self == ItemCounts::default()
    }
}

/// The result details of `success-item`, `warning-item` and `failed-item`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemReport {
    /// The item's size, when given.
    pub size: Option<u64>,
    /// The counts: a missing count is 0; where a list is also given, the larger of the
    /// count and the list's length.
    pub counts: ItemCounts,
    /// Warning texts, when the log lists them.
    pub warnings: Vec<String>,
    /// Skipped-item texts, when the log lists them.
    pub skipped: Vec<String>,
    /// Dangerous-item texts (the text of each `[[module, function, line], text, detail]`).
    pub dangerous: Vec<String>,
    /// Altered-item texts.
    pub altered: Vec<String>,
    /// The free `message`, when not null.
    pub message: Option<String>,
}

/// How a worker's queue run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerEnd {
    /// `complete`: the worker's queue is drained.
    Completed,
    /// `abort` written by a worker.
    Aborted,
    /// `fail` written by a worker.
    Failed,
}

/// The terminal outcome of a whole session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOutcome {
    /// All queues drained (items may still have failed individually).
    Completed,
    /// Stopped by an abort.
    Aborted,
    /// The session as a whole failed.
    Failed,
}

/// What a master-log record says happened.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// `start` by the master: the session began.
    SessionStarted,
    /// `resume`: a paused session was started again.
    SessionResumed,
    /// `initiator`: `copyacct`, `norootcopy`, … (`None` when `msg` is missing).
    Initiator(Option<String>),
    /// `version`: the session format version as text (`2.3`, `1.6`).
    Version(Option<String>),
    /// `queue_count`: the total number of items in the session (repeated per queue).
    QueueCount {
        /// The queue the record was written for.
        queue: Option<Queue>,
        /// The count, whether written as a number or a string.
        count: Option<u64>,
    },
    /// `queue_size`: the total size of all items (repeated per queue).
    QueueSize {
        /// The queue the record was written for.
        queue: Option<Queue>,
        /// The size.
        size: Option<u64>,
    },
    /// `remotehost`: the source host.
    RemoteHost(Option<String>),
    /// `start` by a worker with no item fields.
    WorkerStarted {
        /// The worker's queue.
        queue: Option<Queue>,
    },
    /// `start` by a worker naming an item: the worker picked the item up.
    ItemPickedUp(ItemRef),
    /// `process-item`: the worker processes the item (its log is `item.logfile`).
    ItemProcessing(ItemRef),
    /// `start-item`: the step began.
    ItemStarted {
        /// The item.
        item: ItemRef,
        /// `msg.size`.
        size: Option<u64>,
    },
    /// `success-item`: the step succeeded with all counts zero.
    ItemSucceeded {
        /// The item.
        item: ItemRef,
        /// The counts and texts.
        report: ItemReport,
    },
    /// `warning-item`: the step succeeded with non-zero counts.
    ItemWarned {
        /// The item.
        item: ItemRef,
        /// The counts and texts.
        report: ItemReport,
    },
    /// `failed-item`: the step failed.
    ItemFailed {
        /// The item.
        item: ItemRef,
        /// `msg.failure` (or `msg` itself when it is text).
        failure: Option<String>,
        /// The counts, when the record has them.
        report: ItemReport,
    },
    /// `child-failed`: a worker died; `msg` is `"n/m"`.
    ChildFailed {
        /// `n`: the retry count.
        attempt: Option<u32>,
        /// `m`: the allowed maximum.
        max: Option<u32>,
        /// `msg` as written.
        text: Option<String>,
    },
    /// `pausing`: a pause was requested.
    Pausing,
    /// `pause`: the session is paused.
    Paused,
    /// `aborting`: an abort was requested.
    Aborting,
    /// `complete`, `abort` or `fail` with `child_number` ≥ 1: one worker stopped.
    WorkerFinished {
        /// The worker's queue.
        queue: Option<Queue>,
        /// Which of the three records it was.
        end: WorkerEnd,
    },
    /// `complete`, `abort` or `fail` with `child_number` 0 or missing: the session ended.
    SessionEnded(SessionOutcome),
    /// Any other record, or an item action without an `item`: the whole record.
    Other {
        /// The `action`, if the record is a `control` record with one.
        action: Option<String>,
        /// The parsed line.
        record: Value,
    },
    /// A line that is not a JSON object.
    Malformed {
        /// What was wrong with it.
        error: String,
    },
}

/// One master-log record with the fields every record shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The 1-based line number in the log.
    pub line: usize,
    /// `contents.time` (epoch seconds); missing in old logs.
    pub time: Option<i64>,
    /// The writing process.
    pub pid: Option<u64>,
    /// `child_number`: 0 for the master, N for worker N.
    pub child: Option<u32>,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// True for the record that ends the whole session (REFERENCE §7.3 "End of session").
    pub fn is_session_end(&self) -> bool {
        self.outcome().is_some()
    }

    /// The session's terminal outcome, if this record ends the session.
    pub fn outcome(&self) -> Option<SessionOutcome> {
        match self.kind {
            EventKind::SessionEnded(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// The item this record is about, if any.
    pub fn item(&self) -> Option<&ItemRef> {
        match &self.kind {
            EventKind::ItemPickedUp(item)
            | EventKind::ItemProcessing(item)
            | EventKind::ItemStarted { item, .. }
            | EventKind::ItemSucceeded { item, .. }
            | EventKind::ItemWarned { item, .. }
            | EventKind::ItemFailed { item, .. } => Some(item),
            _ => None,
        }
    }
}

/// The terminal outcome of a session from its events: the first session-end record.
pub fn session_outcome<'e>(events: impl IntoIterator<Item = &'e Event>) -> Option<SessionOutcome> {
    events.into_iter().find_map(Event::outcome)
}

#[cfg(test)]
mod tests {
    use super::{Queue, SessionOutcome, WorkerEnd};

    #[test]
    fn queue_names_round_trip() {
        assert_eq!(Queue::parse("TRANSFER"), Queue::Transfer);
        assert_eq!(Queue::parse("restore"), Queue::Restore);
        assert_eq!(Queue::parse("X").as_str(), "X");
        assert_eq!(Queue::Restore.to_string(), "RESTORE");
        assert_ne!(WorkerEnd::Aborted, WorkerEnd::Failed);
        assert_ne!(SessionOutcome::Completed, SessionOutcome::Failed);
    }
}
