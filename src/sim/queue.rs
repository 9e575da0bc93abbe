//! A session's queues, indexed so a worker's pick costs O(log n) rather than a scan of
//! every item (REFERENCE §5.4): per queue, the open items counted per module type (the
//! lowest open type is the one being worked) and the ready items ordered by
//! (type id, priority, key); plus the items by module and key, for prerequisites and
//! enqueue's duplicate check.
//!
//! The index is derived from `Session::items` and never persisted; every change of an
//! item's state goes through [`super::session::Session::set_state`] to keep it exact.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::session::{Item, ItemState};

/// The two queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queue {
    Transfer,
    Restore,
}

impl Queue {
    /// The name the logs use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Transfer => "TRANSFER",
            Self::Restore => "RESTORE",
        }
    }

    /// Whether an item in `state` still has this queue's step to do or in progress.
    pub(crate) fn open(self, state: ItemState) -> bool {
        match self {
            Self::Transfer => state.transfer_open(),
            Self::Restore => state.restore_open(),
        }
    }

    /// Whether an item in `state` waits for a worker of this queue.
    fn ready(self, state: ItemState) -> bool {
        state
            == match self {
                Self::Transfer => ItemState::TransferPending,
                Self::Restore => ItemState::RestorePending,
            }
    }

    fn slot(self) -> usize {
        match self {
            Self::Transfer => 0,
            Self::Restore => 1,
        }
    }
}

/// What a worker may do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// Nothing is left open in the queue.
    Done,
    /// Items are open but none may start now.
    Wait,
    /// Take the item at this position.
    Item(usize),
}

/// One queue's view.
#[derive(Debug, Clone, Default)]
struct Lane {
    /// Open items per type id.
    open: BTreeMap<u32, usize>,
    /// Ready items: (type id, priority, key, position).
    ready: BTreeSet<(u32, u64, String, usize)>,
}

/// The index over a session's items.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueueIndex {
    /// How many items are indexed (a mismatch with `items.len()` means "stale").
    len: usize,
    /// Module → key → position.
    by_key: HashMap<String, HashMap<String, usize>>,
    lanes: [Lane; 2],
}

impl QueueIndex {
    /// Builds the index of `items`.
    pub(crate) fn build(items: &[Item]) -> Self {
        let mut ix = Self::default();
        for (idx, item) in items.iter().enumerate() {
            ix.add(idx, item);
        }
        ix
    }

    /// Whether the index covers exactly `items` (it is empty after deserialization).
    pub(crate) fn covers(&self, items: &[Item]) -> bool {
        self.len == items.len()
    }

    /// Indexes the item just pushed at `idx`.
    pub(crate) fn add(&mut self, idx: usize, item: &Item) {
        self.len += 1;
        self.by_key
            .entry(item.module.clone())
            .or_default()
            .entry(item.key.clone())
            .or_insert(idx);
        for q in [Queue::Transfer, Queue::Restore] {
            self.enter(q, idx, item, item.state);
        }
    }

    /// The position of the item with this module and key.
    pub(crate) fn find(&self, module: &str, key: &str) -> Option<usize> {
        self.by_key.get(module)?.get(key).copied()
    }

    /// Moves the item at `idx` from its current state to `to`.
    pub(crate) fn change(&mut self, idx: usize, item: &Item, to: ItemState) {
        for q in [Queue::Transfer, Queue::Restore] {
            self.leave(q, idx, item, item.state);
            self.enter(q, idx, item, to);
        }
    }

    fn enter(&mut self, q: Queue, idx: usize, item: &Item, state: ItemState) {
        let lane = &mut self.lanes[q.slot()];
        if q.open(state) {
            *lane.open.entry(item.type_id).or_default() += 1;
        }
        if q.ready(state) {
            lane.ready
                .insert((item.type_id, item.priority, item.key.clone(), idx));
        }
    }

    fn leave(&mut self, q: Queue, idx: usize, item: &Item, state: ItemState) {
        let lane = &mut self.lanes[q.slot()];
        if q.open(state)
            && let Some(n) = lane.open.get_mut(&item.type_id)
        {
            *n -= 1;
            if *n == 0 {
                lane.open.remove(&item.type_id);
            }
        }
        if q.ready(state) {
            lane.ready
                .remove(&(item.type_id, item.priority, item.key.clone(), idx));
        }
    }

    /// The next item for a worker of `q` (REFERENCE §5.4): only the lowest open module
    /// type is worked; within it, lower priority then key first; an item whose
    /// `prerequisite_user` is still open in this queue is passed over.
    pub(crate) fn pick(&self, items: &[Item], q: Queue) -> Pick {
        let lane = &self.lanes[q.slot()];
        let Some(&cur) = lane.open.keys().next() else {
            return Pick::Done;
        };
        let prereq_done = |item: &Item| match item.prerequisite.as_deref().filter(|k| !k.is_empty())
        {
            None => true,
            Some(k) => self
                .find(&item.module, k)
                .is_none_or(|p| !q.open(items[p].state)),
        };
        lane.ready
            .range((cur, 0, String::new(), 0)..)
            .take_while(|(t, ..)| *t == cur)
            .find(|(.., idx)| prereq_done(&items[*idx]))
            .map_or(Pick::Wait, |(.., idx)| Pick::Item(*idx))
    }
}
