//! A pure fold of master-log events into per-item and session progress.
//!
//! [`SessionProgress::apply`] takes events in log order and tracks each item, keyed by
//! its primary key `(item_type, item)`, through its two steps (the TRANSFER and RESTORE
//! queues, REFERENCE §5.3), plus the session's state and totals. It does no I/O, so the
//! `apply` monitor can drive progress bars from it and tests can replay logs into it.

use std::collections::BTreeMap;

use super::event::{Event, EventKind, ItemCounts, ItemRef, ItemReport, Queue, SessionOutcome};

/// An item's primary key: its module name and its key on the source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    /// The module name, e.g. `AccountRemoteRoot` (empty when the log names none).
    pub item_type: String,
    /// The item's key on the source, e.g. the user name.
    pub item: String,
}

impl ItemKey {
    /// A key from its parts.
    pub fn new(item_type: impl Into<String>, item: impl Into<String>) -> Self {
        Self {
            item_type: item_type.into(),
            item: item.into(),
        }
    }

    fn of(item: &ItemRef) -> Self {
        Self::new(
            item.item_type.clone().unwrap_or_default(),
            item.item.clone(),
        )
    }
}

/// The state of one step (queue) of an item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepState {
    /// Not picked up yet.
    #[default]
    Pending,
    /// A worker is on it.
    Running,
    /// It succeeded (possibly with warnings).
    Succeeded,
    /// It failed.
    Failed,
}

/// An item's overall state, derived from its two steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemState {
    /// Nothing started yet.
    Pending,
    /// The TRANSFER step is running.
    Transferring,
    /// Transferred, waiting for a RESTORE worker (`RESTORE_PENDING`).
    AwaitingRestore,
    /// The RESTORE step is running.
    Restoring,
    /// Restored with all counts zero.
    Done,
    /// Restored, with warnings, skipped, dangerous or altered items.
    DoneWithWarnings,
    /// A step failed.
    Failed,
}

impl ItemState {
    /// True for `Done`, `DoneWithWarnings` and `Failed`.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            ItemState::Done | ItemState::DoneWithWarnings | ItemState::Failed
        )
    }
}

/// What is known about one item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemProgress {
    /// The TRANSFER step.
    pub transfer: StepState,
    /// The RESTORE step.
    pub restore: StepState,
    /// The human kind, e.g. `Account`.
    pub item_name: Option<String>,
    /// The local name when it differs.
    pub local_item: Option<String>,
    /// The item's size, from `start-item` or the result.
    pub size: Option<u64>,
    /// Counts summed over both steps.
    pub counts: ItemCounts,
    /// Warning, skipped, dangerous and altered texts, and free messages, in log order.
    pub messages: Vec<String>,
    /// The dangerous texts alone (also in `messages`).
    pub dangerous: Vec<String>,
    /// The altered texts alone (also in `messages`).
    pub altered: Vec<String>,
    /// The first failure text.
    pub failure: Option<String>,
    /// The step that failed first.
    pub failed_step: Option<Queue>,
    /// The TRANSFER step's item log.
    pub transfer_log: Option<String>,
    /// The RESTORE step's item log.
    pub restore_log: Option<String>,
    /// When (the server's `time`, epoch seconds) each step was seen to start and end.
    pub times: StepTimes,
}

/// When an item's steps started and ended, by the records' `time` (epoch seconds on
/// the server's clock; missing in old logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepTimes {
    /// The TRANSFER step's first `start-item`/`process-item` record.
    pub transfer_started: Option<i64>,
    /// Its `success-item`/`failed-item` record.
    pub transfer_ended: Option<i64>,
    /// The RESTORE step's first record.
    pub restore_started: Option<i64>,
    /// Its end record.
    pub restore_ended: Option<i64>,
}

impl ItemProgress {
    /// The overall state.
    pub fn state(&self) -> ItemState {
        match (self.transfer, self.restore) {
            (StepState::Failed, _) | (_, StepState::Failed) => ItemState::Failed,
            (_, StepState::Succeeded) if self.counts.is_clean() => ItemState::Done,
            (_, StepState::Succeeded) => ItemState::DoneWithWarnings,
            (_, StepState::Running) => ItemState::Restoring,
            (StepState::Succeeded, _) => ItemState::AwaitingRestore,
            (StepState::Running, _) => ItemState::Transferring,
            (StepState::Pending, StepState::Pending) => ItemState::Pending,
        }
    }

    /// The step an event for `queue` applies to; an unknown queue means the current one.
    fn step(&mut self, queue: Option<&Queue>) -> (&mut StepState, &mut Option<String>) {
        if self.is_restore(queue) {
            (&mut self.restore, &mut self.restore_log)
        } else {
            (&mut self.transfer, &mut self.transfer_log)
        }
    }

    fn is_restore(&self, queue: Option<&Queue>) -> bool {
        match queue {
            Some(Queue::Transfer) => false,
            Some(Queue::Restore) => true,
            Some(Queue::Other(_)) | None => self.transfer >= StepState::Succeeded,
        }
    }

    fn note(&mut self, item: &ItemRef) {
        if item.item_name.is_some() {
            self.item_name.clone_from(&item.item_name);
        }
        if item.local_item.is_some() {
            self.local_item.clone_from(&item.local_item);
        }
        let (_, log) = self.step(item.queue.as_ref());
        if item.logfile.is_some() {
            log.clone_from(&item.logfile);
        }
    }

    fn advance(&mut self, queue: Option<&Queue>, to: StepState, time: Option<i64>) {
        let restore = self.is_restore(queue);
        let (step, _) = self.step(queue);
        // Steps only move forward; a failure is never undone.
        if to <= *step {
            return;
        }
        let from = std::mem::replace(step, to);
        let t = &mut self.times;
        let (started, ended) = if restore {
            (&mut t.restore_started, &mut t.restore_ended)
        } else {
            (&mut t.transfer_started, &mut t.transfer_ended)
        };
        if from == StepState::Pending && to == StepState::Running {
            *started = started.or(time);
        } else if to >= StepState::Succeeded {
            *ended = ended.or(time);
        }
    }

    fn add_report(&mut self, report: &ItemReport) {
        self.size = report.size.or(self.size);
        let c = &mut self.counts;
        c.warnings += report.counts.warnings;
        c.skipped_items += report.counts.skipped_items;
        c.dangerous_items += report.counts.dangerous_items;
        c.altered_items += report.counts.altered_items;
        for list in [
            &report.warnings,
            &report.skipped,
            &report.dangerous,
            &report.altered,
        ] {
            self.messages.extend(list.iter().cloned());
        }
        self.messages.extend(report.message.iter().cloned());
        self.dangerous.extend(report.dangerous.iter().cloned());
        self.altered.extend(report.altered.iter().cloned());
    }
}

/// The session's state as the master log tells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogPhase {
    /// No `start` seen yet.
    #[default]
    NotStarted,
    /// Started or resumed.
    Running,
    /// A pause was requested.
    Pausing,
    /// Paused.
    Paused,
    /// An abort was requested.
    Aborting,
    /// The session ended.
    Ended(SessionOutcome),
}

/// Counts over all items, for progress bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// The session's total item count (`queue_count`), when logged.
    pub expected: Option<u64>,
    /// Items seen in the log or registered with [`SessionProgress::expect`].
    pub known: usize,
    /// Items not started.
    pub pending: usize,
    /// Items transferring, awaiting restore or restoring.
    pub in_progress: usize,
    /// Items done cleanly.
    pub done: usize,
    /// Items done with warnings.
    pub done_with_warnings: usize,
    /// Items failed.
    pub failed: usize,
    /// Items whose TRANSFER step has finished (succeeded or failed).
    pub transfer_finished: usize,
    /// Items whose RESTORE step has finished (succeeded or failed).
    pub restore_finished: usize,
}

impl Totals {
    /// Items finished in any way.
    pub fn finished(&self) -> usize {
        self.done + self.done_with_warnings + self.failed
    }
}

/// The fold of a session's master-log events.
#[derive(Debug, Clone, Default)]
pub struct SessionProgress {
    items: BTreeMap<ItemKey, ItemProgress>,
    state: LogPhase,
    queue_count: Option<u64>,
    queue_size: Option<u64>,
    initiator: Option<String>,
    version: Option<String>,
    remote_host: Option<String>,
    child_failures: usize,
    malformed_lines: usize,
}

impl SessionProgress {
    /// An empty fold.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an item as pending before the log mentions it (e.g. from the plan).
    pub fn expect(&mut self, key: ItemKey) {
        self.items.entry(key).or_default();
    }

    /// Applies one event.
    pub fn apply(&mut self, event: &Event) {
        match &event.kind {
            EventKind::SessionStarted | EventKind::SessionResumed => {
                self.state = LogPhase::Running;
            }
            EventKind::Pausing => self.state = LogPhase::Pausing,
            EventKind::Paused => self.state = LogPhase::Paused,
            EventKind::Aborting => self.state = LogPhase::Aborting,
            EventKind::SessionEnded(outcome) => self.state = LogPhase::Ended(*outcome),
            EventKind::Initiator(v) => self.initiator.clone_from(v),
            EventKind::Version(v) => self.version.clone_from(v),
            EventKind::RemoteHost(v) => self.remote_host.clone_from(v),
            EventKind::QueueCount { count, .. } => self.queue_count = count.or(self.queue_count),
            EventKind::QueueSize { size, .. } => self.queue_size = size.or(self.queue_size),
            EventKind::ChildFailed { .. } => self.child_failures += 1,
            EventKind::Malformed { .. } => self.malformed_lines += 1,
            EventKind::ItemPickedUp(item) | EventKind::ItemProcessing(item) => {
                self.item_mut(item)
                    .advance(item.queue.as_ref(), StepState::Running, event.time);
            }
            EventKind::ItemStarted { item, size } => {
                let p = self.item_mut(item);
                p.size = size.or(p.size);
                p.advance(item.queue.as_ref(), StepState::Running, event.time);
            }
            EventKind::ItemSucceeded { item, report } | EventKind::ItemWarned { item, report } => {
                let p = self.item_mut(item);
                p.add_report(report);
                p.advance(item.queue.as_ref(), StepState::Succeeded, event.time);
            }
            EventKind::ItemFailed {
                item,
                failure,
                report,
            } => {
                let p = self.item_mut(item);
                p.add_report(report);
                if p.failure.is_none() {
                    p.failure.clone_from(failure);
                }
                if p.failed_step.is_none() {
                    p.failed_step = Some(item.queue.clone().unwrap_or_else(|| {
                        if p.transfer >= StepState::Succeeded {
                            Queue::Restore
                        } else {
                            Queue::Transfer
                        }
                    }));
                }
                p.advance(item.queue.as_ref(), StepState::Failed, event.time);
            }
            EventKind::WorkerStarted { .. }
            | EventKind::WorkerFinished { .. }
            | EventKind::Other { .. } => {}
        }
    }

    /// Applies events in order.
    pub fn apply_all<'e>(&mut self, events: impl IntoIterator<Item = &'e Event>) {
        for event in events {
            self.apply(event);
        }
    }

    fn item_mut(&mut self, item: &ItemRef) -> &mut ItemProgress {
        let p = self.items.entry(ItemKey::of(item)).or_default();
        p.note(item);
        p
    }

    /// One item's progress.
    pub fn item(&self, key: &ItemKey) -> Option<&ItemProgress> {
        self.items.get(key)
    }

    /// All items, ordered by key.
    pub fn items(&self) -> impl Iterator<Item = (&ItemKey, &ItemProgress)> {
        self.items.iter()
    }

    /// The session state.
    pub fn state(&self) -> LogPhase {
        self.state
    }

    /// The terminal outcome, once the session has ended.
    pub fn outcome(&self) -> Option<SessionOutcome> {
        match self.state {
            LogPhase::Ended(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// The session's total item count (`queue_count`), as a number.
    pub fn queue_count(&self) -> Option<u64> {
        self.queue_count
    }

    /// The total size of all items (`queue_size`).
    pub fn queue_size(&self) -> Option<u64> {
        self.queue_size
    }

    /// `initiator`: `copyacct`, `norootcopy`, …
    pub fn initiator(&self) -> Option<&str> {
        self.initiator.as_deref()
    }

    /// The session format version.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The source host.
    pub fn remote_host(&self) -> Option<&str> {
        self.remote_host.as_deref()
    }

    /// How many `child-failed` records (worker deaths) were seen.
    pub fn child_failures(&self) -> usize {
        self.child_failures
    }

    /// How many lines were not JSON objects.
    pub fn malformed_lines(&self) -> usize {
        self.malformed_lines
    }

    /// Counts over all items.
    pub fn totals(&self) -> Totals {
        let mut t = Totals {
            expected: self.queue_count,
            known: self.items.len(),
            ..Totals::default()
        };
        for p in self.items.values() {
            match p.state() {
                ItemState::Pending => t.pending += 1,
                ItemState::Transferring | ItemState::AwaitingRestore | ItemState::Restoring => {
                    t.in_progress += 1;
                }
                ItemState::Done => t.done += 1,
                ItemState::DoneWithWarnings => t.done_with_warnings += 1,
                ItemState::Failed => t.failed += 1,
            }
            t.transfer_finished += usize::from(p.transfer >= StepState::Succeeded);
            t.restore_finished += usize::from(p.restore >= StepState::Succeeded);
        }
        t
    }
}
