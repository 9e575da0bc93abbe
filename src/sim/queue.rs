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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::sim::options::LogLayout;
    use crate::sim::session::{Session, SessionKind, SessionOptions, SessionState};

    /// The scan the index replaces, kept as the specification of §5.4.
    fn scan(items: &[Item], q: Queue) -> Pick {
        let Some(cur) = items
            .iter()
            .filter(|i| q.open(i.state))
            .map(|i| i.type_id)
            .min()
        else {
            return Pick::Done;
        };
        let prereq_done = |i: &Item| match i.prerequisite.as_deref().filter(|k| !k.is_empty()) {
            None => true,
            Some(k) => items
                .iter()
                .find(|p| p.module == i.module && p.key == k)
                .is_none_or(|p| !q.open(p.state)),
        };
        items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.type_id == cur && q.ready(i.state) && prereq_done(i))
            .min_by(|(_, a), (_, b)| (a.priority, &a.key).cmp(&(b.priority, &b.key)))
            .map_or(Pick::Wait, |(idx, _)| Pick::Item(idx))
    }

    fn item(module: &str, type_id: u32, key: String, priority: u64, pre: Option<String>) -> Item {
        Item {
            module: module.into(),
            type_id,
            local: key.clone(),
            key,
            size: 1,
            priority,
            prerequisite: pre,
            params: BTreeMap::new(),
            state: ItemState::TransferPending,
            failure: None,
            crashes: 0,
            transferred_at: None,
        }
    }

    fn session() -> Session {
        Session {
            id: "t".into(),
            kind: SessionKind::RemoteRoot,
            initiator: "copyacct".into(),
            creator: "root".into(),
            host: "h".into(),
            source_key: "h".into(),
            password: None,
            options: SessionOptions {
                transfer_threads: 3,
                restore_threads: 3,
                unrestricted: false,
                copy_reseller_privs: false,
            },
            state: SessionState::Running,
            pid: None,
            items: Vec::new(),
            logs: BTreeMap::new(),
            log_layout: LogLayout::Reference,
            analysis: None,
            started_once: true,
            index: QueueIndex::default(),
        }
    }

    /// 5 feature lists, 20 packages and 300 accounts, with random priorities and
    /// prerequisites (present, missing, empty, chained, cyclic).
    fn random_session(rng: &mut StdRng) -> Session {
        let mut s = session();
        for n in 0..5 {
            s.push_item(item(
                "FeatureListRemoteRoot",
                1000,
                format!("fl{n}"),
                255,
                None,
            ));
        }
        for n in 0..20 {
            let prio = [1, 7, 255][rng.random_range(0..3)];
            s.push_item(item(
                "PackageRemoteRoot",
                2000,
                format!("pkg{n:02}"),
                prio,
                None,
            ));
        }
        for n in 0..300 {
            let prio = [0, 3, 255, 255][rng.random_range(0..4)];
            let pre = match rng.random_range(0..10) {
                0 => Some(format!("u{:03}", rng.random_range(0..300))),
                1 => Some("nobody".into()),
                2 => Some(String::new()),
                _ => None,
            };
            s.push_item(item(
                "AccountRemoteRoot",
                3000,
                format!("u{n:03}"),
                prio,
                pre,
            ));
        }
        s
    }

    /// A session worked by random steps, with up to 3 items running per queue.
    struct Worked {
        s: Session,
        busy: Vec<(Queue, usize)>,
        picks: usize,
    }

    impl Worked {
        /// One random step: a queue's pick, checked against the scan, starts when the
        /// queue has a free worker; else a running item ends (done, failed or crashed).
        /// False once nothing runs and neither queue can start anything (all done, or
        /// only cyclic prerequisites left).
        fn step(&mut self, rng: &mut StdRng, seed: u64) -> bool {
            let s = &mut self.s;
            let q = if rng.random_bool(0.5) {
                Queue::Transfer
            } else {
                Queue::Restore
            };
            let want = scan(&s.items, q);
            assert_eq!(s.pick(q), want, "seed {seed}, {q:?}");
            let can_pick = self.busy.iter().filter(|(bq, _)| *bq == q).count() < 3;
            match want {
                Pick::Item(idx) if can_pick => {
                    self.picks += 1;
                    let to = match q {
                        Queue::Transfer => ItemState::TransferInprogress,
                        Queue::Restore => ItemState::RestoreInprogress,
                    };
                    s.set_state(idx, to);
                    self.busy.push((q, idx));
                }
                _ if !self.busy.is_empty() => {
                    let (bq, idx) = self.busy.swap_remove(rng.random_range(0..self.busy.len()));
                    let to = match (bq, rng.random_range(0..20)) {
                        (_, 0) => ItemState::Failed,
                        (Queue::Transfer, 1) => ItemState::TransferPending, // a crash
                        (Queue::Transfer, _) => ItemState::RestorePending,
                        (Queue::Restore, _) => ItemState::Completed,
                    };
                    s.set_state(idx, to);
                }
                _ => {
                    return [Queue::Transfer, Queue::Restore]
                        .iter()
                        .any(|&q| matches!(scan(&s.items, q), Pick::Item(_)));
                }
            }
            true
        }
    }

    /// Many items of three module types, mixed priorities and prerequisites, worked by
    /// random steps: every pick of the index equals the scan's, from the first to the
    /// last.
    #[test]
    fn picks_match_the_scan_through_whole_random_sessions() {
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut run = Worked {
                s: random_session(&mut rng),
                busy: Vec::new(),
                picks: 0,
            };
            while run.step(&mut rng, seed) {}
            let picks = run.picks;
            assert!(picks > 300, "seed {seed}: only {picks} picks");
            // An index rebuilt from the items (as after loading a state file) agrees.
            let rebuilt = QueueIndex::build(&run.s.items);
            for q in [Queue::Transfer, Queue::Restore] {
                assert_eq!(rebuilt.pick(&run.s.items, q), scan(&run.s.items, q));
            }
        }
    }

    #[test]
    fn one_type_at_a_time_then_priority_then_key() {
        let mut s = session();
        s.push_item(item("AccountRemoteRoot", 3000, "a".into(), 1, None));
        s.push_item(item("PackageRemoteRoot", 2000, "p2".into(), 255, None));
        s.push_item(item("PackageRemoteRoot", 2000, "p1".into(), 255, None));
        s.push_item(item(
            "AccountRemoteRoot",
            3000,
            "c".into(),
            0,
            Some("b".into()),
        ));
        s.push_item(item("AccountRemoteRoot", 3000, "b".into(), 9, None));
        let mut order = Vec::new();
        while let Pick::Item(idx) = s.pick(Queue::Transfer) {
            order.push(s.items[idx].key.clone());
            s.set_state(idx, ItemState::RestorePending);
        }
        // c has the lowest priority but waits for b.
        assert_eq!(order, ["p1", "p2", "a", "b", "c"]);
        assert_eq!(s.pick(Queue::Transfer), Pick::Done);
    }
}
