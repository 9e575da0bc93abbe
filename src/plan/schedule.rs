//! Scheduling: the order a session's items run in, and how long the session takes.
//!
//! WHM decides the order itself (REFERENCE §5.4): each queue works one module type at a
//! time in ascending type id (feature lists, packages, then accounts), lower `priority`
//! first and then key name within a type, and an item with a `prerequisite_user` waits
//! until that item has finished the same step. All a client chooses is `priority` and
//! `prerequisite_user`, so that is what the schedule sets:
//!
//! - an account owned by a reseller that moves in the same session waits for it
//!   (`prerequisite_user`), so the reseller exists when its accounts are restored;
//! - accounts go longest chain of work first: for an independent account that is simply
//!   largest first (LPT list scheduling), for a reseller its own work plus its longest
//!   owned account, so a reseller never holds back a large account at the end.
//!
//! Largest first keeps the small items for the end, where they fill the threads evenly:
//! the makespan lands close to the lower bound max(total work / threads, largest item).
//! [`estimate_ms`] replays the server's rules over the transfer and restore pools.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use crate::plan::input::{Desired, DesiredItem, Observed};
use crate::plan::live::Unsent;
use crate::plan::model::{
    Action, ItemPlan, Plan, PlanEstimate, SetBy, SourceEstimate, SourcePlan, Throughput,
    ThroughputSource,
};

/// What the estimate assumes until an apply of this migration has been measured: one
/// TRANSFER worker moves 20 MB/s (a busy gigabit link shared by a few workers), one
/// RESTORE worker 40 MB/s, and every item step costs 10 s of fixed work (packaging,
/// account creation). Deliberately round numbers: the plan says when it uses them.
pub const DEFAULT_THROUGHPUT: Throughput = Throughput {
    transfer_bytes_per_second: 20_000_000,
    restore_bytes_per_second: Some(40_000_000),
    step_overhead_ms: 10_000,
    from: ThroughputSource::Default,
};

/// WHM's worker count when the create call does not set one (REFERENCE §4.3).
pub const WHM_DEFAULT_THREADS: u32 = 1;

/// The most workers WHM runs per queue (REFERENCE §5.4).
pub const WHM_MAX_THREADS: u32 = 9;

/// The first priority the schedule hands out (WHM's default is 255: anything the
/// schedule orders runs before items left at the default).
pub const FIRST_PRIORITY: i64 = 1;

/// The workers of one session, as requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pools {
    /// TRANSFER workers.
    pub transfer: u32,
    /// RESTORE workers.
    pub restore: u32,
}

impl Default for Pools {
    fn default() -> Self {
        Self::new(None, None)
    }
}

impl Pools {
    /// The pools a create call with these options gets: WHM's default when unset,
    /// limited to 1..=9.
    pub fn new(transfer: Option<u32>, restore: Option<u32>) -> Self {
        let clamp = |n: Option<u32>| n.unwrap_or(WHM_DEFAULT_THREADS).clamp(1, WHM_MAX_THREADS);
        Self {
            transfer: clamp(transfer),
            restore: clamp(restore),
        }
    }

    /// WHM also limits each pool to the number of items.
    fn capped(self, items: usize) -> Self {
        let cap = u32::try_from(items).unwrap_or(u32::MAX).max(1);
        Self {
            transfer: self.transfer.min(cap),
            restore: self.restore.min(cap),
        }
    }
}

impl Throughput {
    /// A throughput given by the caller: `speed` bytes per second per TRANSFER worker,
    /// restores twice as fast (as the simulator's default time scale), no fixed cost.
    pub fn given(speed: u64) -> Self {
        Self {
            transfer_bytes_per_second: speed.max(1),
            restore_bytes_per_second: Some(speed.max(1).saturating_mul(2)),
            step_overhead_ms: 0,
            from: ThroughputSource::Given,
        }
    }

    /// A throughput measured over whole sessions: `speed` bytes per second per TRANSFER
    /// worker, with restores and fixed costs already inside that figure.
    pub fn measured(speed: u64) -> Self {
        Self {
            transfer_bytes_per_second: speed.max(1),
            restore_bytes_per_second: None,
            step_overhead_ms: 0,
            from: ThroughputSource::Measured,
        }
    }

    /// A throughput measured step by step: the fixed cost and both rates earlier
    /// sessions' steps were fitted to (`journal::measured_pace`).
    pub fn paced(pace: crate::journal::StepPace) -> Self {
        Self {
            transfer_bytes_per_second: pace.transfer_bytes_per_second.max(1),
            restore_bytes_per_second: Some(pace.restore_bytes_per_second.max(1)),
            step_overhead_ms: pace.step_ms,
            from: ThroughputSource::Measured,
        }
    }

    fn step_us(&self, size: u64, rate: Option<u64>) -> u64 {
        let data = rate.map_or(0, |r| {
            u64::try_from(u128::from(size) * 1_000_000 / u128::from(r.max(1))).unwrap_or(u64::MAX)
        });
        self.step_overhead_ms
            .saturating_mul(1000)
            .saturating_add(data)
    }

    /// Microseconds one TRANSFER step over `size` bytes takes.
    pub fn transfer_us(&self, size: u64) -> u64 {
        self.step_us(size, Some(self.transfer_bytes_per_second))
    }

    /// Microseconds one RESTORE step over `size` bytes takes (only the fixed cost when
    /// restores are folded into the transfer rate).
    pub fn restore_us(&self, size: u64) -> u64 {
        self.step_us(size, self.restore_bytes_per_second)
    }
}

/// How long each step of an item takes, in microseconds: the plan's [`Throughput`], or
/// what a running session has shown so far (`apply`'s live estimate).
pub trait StepCost {
    /// One TRANSFER step over `size` bytes.
    fn transfer_us(&self, size: u64) -> u64;
    /// One RESTORE step over `size` bytes.
    fn restore_us(&self, size: u64) -> u64;
}

impl StepCost for Throughput {
    fn transfer_us(&self, size: u64) -> u64 {
        Throughput::transfer_us(self, size)
    }
    fn restore_us(&self, size: u64) -> u64 {
        Throughput::restore_us(self, size)
    }
}

/// One queued item, as the server's scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The module type id (the processing order of types).
    pub type_id: u64,
    /// The primary-key value (the tie-break after `priority`).
    pub key: String,
    /// Bytes to move.
    pub size: u64,
    /// `priority` (255 when unset).
    pub priority: i64,
    /// The key of the item of the same type that must finish each step first.
    pub prerequisite: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Queue {
    Transfer,
    Restore,
}

/// The makespan, in milliseconds (rounded up), of `jobs` on `pools` at `throughput`,
/// following REFERENCE §5.4 exactly as the server schedules: per queue one type at a
/// time, the lowest (priority, key) ready item to the next free worker, prerequisites
/// waited for per step, restores overlapping transfers.
pub fn estimate_ms(jobs: &[Job], pools: Pools, throughput: &Throughput) -> u64 {
    if jobs.is_empty() {
        return 0;
    }
    Replay::new(jobs, pools.capped(jobs.len()), throughput).run_to_end()
}

/// The server's scheduler replayed over one session's jobs, in microseconds. Queue
/// `0` is TRANSFER, `1` RESTORE.
struct Replay<'a> {
    jobs: &'a [Job],
    throughput: &'a dyn StepCost,
    /// Job indexes in the server's order of preference: (type, priority, key).
    order: Vec<usize>,
    /// Each job's position in `order`.
    rank: Vec<usize>,
    /// The job each job waits for at both steps.
    prereq: Vec<Option<usize>>,
    /// The jobs waiting for each job.
    dependents: Vec<Vec<usize>>,
    /// Jobs left per type, per queue: a queue works only its lowest type left.
    left: [BTreeMap<u64, usize>; 2],
    /// Ready jobs per queue, by (type, rank) so the first is the server's pick.
    ready: [BTreeSet<(u64, usize)>; 2],
    transferred: Vec<bool>,
    restored: Vec<bool>,
    /// Jobs whose step began, per queue: a job is handed out once per step, whatever
    /// order a resumed replay's finished steps come in.
    began: [Vec<bool>; 2],
    /// Idle workers per queue.
    free: [u32; 2],
    /// Steps under way: (when it ends, queue, job), the first to end on top.
    running: BinaryHeap<Reverse<(u64, Queue, usize)>>,
    now: u64,
}

impl<'a> Replay<'a> {
    /// Runs every job that can run and returns when the last ends, in milliseconds.
    /// What is left waits on a prerequisite that never runs (a cycle the manifest
    /// wrote): the server would wait forever too.
    pub(crate) fn run_to_end(mut self) -> u64 {
        self.start_ready();
        while let Some(Reverse((at, queue, i))) = self.running.pop() {
            self.finish(at, queue, i);
            self.start_ready();
        }
        self.now.div_ceil(1000)
    }

    fn new(jobs: &'a [Job], pools: Pools, throughput: &'a dyn StepCost) -> Self {
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&jobs[a], &jobs[b]);
            (x.type_id, x.priority, &x.key).cmp(&(y.type_id, y.priority, &y.key))
        });
        let mut rank = vec![0; jobs.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        let (prereq, dependents) = prerequisites(jobs);
        let mut left: [BTreeMap<u64, usize>; 2] = [BTreeMap::new(), BTreeMap::new()];
        for j in jobs {
            for l in &mut left {
                *l.entry(j.type_id).or_default() += 1;
            }
        }
        let mut ready: [BTreeSet<(u64, usize)>; 2] = [BTreeSet::new(), BTreeSet::new()];
        for (i, j) in jobs.iter().enumerate() {
            if prereq[i].is_none() {
                ready[0].insert((j.type_id, rank[i]));
            }
        }
        Self {
            jobs,
            throughput,
            order,
            rank,
            prereq,
            dependents,
            left,
            ready,
            transferred: vec![false; jobs.len()],
            restored: vec![false; jobs.len()],
            began: [vec![false; jobs.len()], vec![false; jobs.len()]],
            free: [pools.transfer, pools.restore],
            running: BinaryHeap::new(),
            now: 0,
        }
    }

    /// Hands each free worker the first ready job of its queue's current type.
    fn start_ready(&mut self) {
        for (q, queue) in [(0, Queue::Transfer), (1, Queue::Restore)] {
            let Some(&current) = self.left[q].keys().next() else {
                continue;
            };
            while self.free[q] > 0 {
                let Some(&(ty, r)) = self.ready[q].first() else {
                    break;
                };
                if ty != current {
                    break;
                }
                self.ready[q].remove(&(ty, r));
                let i = self.order[r];
                if std::mem::replace(&mut self.began[q][i], true) {
                    continue;
                }
                let took = match queue {
                    Queue::Transfer => self.throughput.transfer_us(self.jobs[i].size),
                    Queue::Restore => self.throughput.restore_us(self.jobs[i].size),
                };
                self.free[q] -= 1;
                self.running
                    .push(Reverse((self.now.saturating_add(took), queue, i)));
            }
        }
    }

    /// Job `i` ends its step on `queue` at `at`: its worker is free, and what waited on
    /// it becomes ready (a transferred job for its restore once its prerequisite is
    /// restored).
    fn finish(&mut self, at: u64, queue: Queue, i: usize) {
        self.now = at;
        let q = usize::from(queue == Queue::Restore);
        self.free[q] += 1;
        let ty = self.jobs[i].type_id;
        if let Some(n) = self.left[q].get_mut(&ty) {
            *n -= 1;
            if *n == 0 {
                self.left[q].remove(&ty);
            }
        }
        match queue {
            Queue::Transfer => {
                self.transferred[i] = true;
                if self.prereq[i].is_none_or(|p| self.restored[p]) {
                    self.ready[1].insert((ty, self.rank[i]));
                }
                for &d in &self.dependents[i] {
                    self.ready[0].insert((self.jobs[d].type_id, self.rank[d]));
                }
            }
            Queue::Restore => {
                self.restored[i] = true;
                for &d in &self.dependents[i] {
                    if self.transferred[d] {
                        self.ready[1].insert((self.jobs[d].type_id, self.rank[d]));
                    }
                }
            }
        }
    }
}

/// Each job's prerequisite among `jobs` (of its own type, not itself), and the jobs
/// waiting for each job.
fn prerequisites(jobs: &[Job]) -> (Vec<Option<usize>>, Vec<Vec<usize>>) {
    let index: HashMap<(u64, &str), usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| ((j.type_id, j.key.as_str()), i))
        .collect();
    let prereq: Vec<Option<usize>> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            j.prerequisite
                .as_deref()
                .and_then(|k| index.get(&(j.type_id, k)).copied())
                .filter(|p| *p != i)
        })
        .collect();
    let mut dependents = vec![Vec::new(); jobs.len()];
    for (i, p) in prereq.iter().enumerate() {
        if let Some(p) = p {
            dependents[*p].push(i);
        }
    }
    (prereq, dependents)
}

/// The lower bound no order can beat on `pools`: the busier pool's total work spread
/// evenly (plus the shortest step of the other pool, which must precede or follow it),
/// or the longest single item through both steps, in milliseconds.
pub fn lower_bound_ms(sizes: &[u64], pools: Pools, throughput: &Throughput) -> u64 {
    if sizes.is_empty() {
        return 0;
    }
    let pools = pools.capped(sizes.len());
    let t: Vec<u64> = sizes.iter().map(|s| throughput.transfer_us(*s)).collect();
    let r: Vec<u64> = sizes.iter().map(|s| throughput.restore_us(*s)).collect();
    let min_t = t.iter().copied().min().unwrap_or(0);
    let min_r = r.iter().copied().min().unwrap_or(0);
    let total = |steps: &[u64]| steps.iter().copied().fold(0, u64::saturating_add);
    let spread_t = total(&t)
        .div_ceil(u64::from(pools.transfer))
        .saturating_add(min_r);
    let spread_r = total(&r)
        .div_ceil(u64::from(pools.restore))
        .saturating_add(min_t);
    let longest = t
        .iter()
        .zip(&r)
        .map(|(a, b)| a.saturating_add(*b))
        .max()
        .unwrap_or(0);
    spread_t.max(spread_r).max(longest).div_ceil(1000)
}

/// One account the schedule orders.
struct Account {
    /// Index in the source plan's items.
    item: usize,
    key: String,
    size: u64,
    explicit_priority: Option<i64>,
    prerequisite: Option<(String, SetBy)>,
}

/// Sets `priority` and `prerequisite_user` on every account the plan queues (unless the
/// manifest sets them: it wins) and the estimates. `pools[i]` are the workers source `i`
/// asks for; a missing entry means WHM's defaults.
pub fn schedule(
    plan: &mut Plan,
    desired: &Desired,
    observed: &Observed,
    pools: &[Pools],
    throughput: Throughput,
) {
    schedule_paced(plan, desired, observed, pools, throughput, &[]);
}

/// Like [`schedule`], source `i` at `own[i]` when it has one (what its own earlier
/// sessions measured), else at `throughput`.
pub fn schedule_paced(
    plan: &mut Plan,
    desired: &Desired,
    observed: &Observed,
    pools: &[Pools],
    throughput: Throughput,
    own: &[Option<Throughput>],
) {
    let mut bytes: u64 = 0;
    let mut longest = 0;
    for (i, source) in plan.sources.iter_mut().enumerate() {
        let own = own.get(i).copied().flatten().filter(|t| *t != throughput);
        let throughput = own.unwrap_or(throughput);
        let known = Known::of(desired, observed, i);
        let runs: Vec<usize> = (0..source.items.len())
            .filter(|&k| {
                matches!(
                    source.items[k].action,
                    Action::Transfer | Action::AlreadyQueued
                )
            })
            .collect();
        let accounts = known.accounts(source, &runs);
        let priorities = order_accounts(&accounts, &throughput);
        // What the server's live schema lacks is neither sent nor assumed by the
        // estimate: the server orders those items by name alone.
        let mut unsent = Unsent::default();
        for (account, (priority, by)) in accounts.into_iter().zip(priorities) {
            let item = &mut source.items[account.item];
            let lacks = |key: &str| {
                observed
                    .server_keys
                    .as_ref()
                    .is_some_and(|s| s.lacks(&item.module, key))
            };
            if lacks("priority") {
                unsent.add(&item.module, "priority", by, &item.key);
            } else {
                item.priority = Some(priority);
                item.priority_by = Some(by);
            }
            if let Some((user, by)) = account.prerequisite {
                if lacks("prerequisite_user") {
                    unsent.add(&item.module, "prerequisite_user", by, &item.key);
                } else {
                    item.prerequisite_user = Some(user);
                    item.prerequisite_by = Some(by);
                }
            }
        }
        source.unsent.extend(unsent.into_list());
        let requested = pools.get(i).copied().unwrap_or_default();
        let estimate = known.estimate(source, &runs, requested, &throughput, own.is_some());
        bytes = bytes.saturating_add(estimate.bytes);
        longest = longest.max(estimate.duration_ms);
        source.estimate = Some(estimate);
    }
    plan.estimate = Some(PlanEstimate {
        bytes,
        duration_ms: longest,
        throughput,
    });
}

/// What the schedule knows of one source besides its plan: the manifest's items by
/// (module, key), and each account's owner on the source.
struct Known<'a> {
    wanted: HashMap<(&'a str, &'a str), &'a DesiredItem>,
    owners: HashMap<&'a str, &'a str>,
}

impl<'a> Known<'a> {
    fn of(desired: &'a Desired, observed: &'a Observed, i: usize) -> Self {
        let wanted = desired
            .sources
            .get(i)
            .map(|d| {
                d.items
                    .iter()
                    .map(|x| ((x.module.as_str(), x.key.as_str()), x))
                    .collect()
            })
            .unwrap_or_default();
        let owners = observed
            .sources
            .get(i)
            .and_then(|o| o.analysis.as_ref())
            .map(|a| {
                a.items
                    .accounts
                    .iter()
                    .filter_map(|x| x.owner.as_deref().map(|o| (x.user.as_str(), o)))
                    .collect()
            })
            .unwrap_or_default();
        Self { wanted, owners }
    }

    fn wanted(&self, item: &ItemPlan) -> Option<&'a DesiredItem> {
        self.wanted
            .get(&(item.module.as_str(), item.key.as_str()))
            .copied()
    }

    /// The accounts among the items that run (`runs`), with the priority the manifest
    /// gives and the prerequisite: the manifest's, else the owner when the owner moves
    /// in the same session.
    fn accounts(&self, source: &SourcePlan, runs: &[usize]) -> Vec<Account> {
        let moving: BTreeSet<&str> = runs
            .iter()
            .map(|&k| &source.items[k])
            .filter(|x| x.is_account())
            .map(|x| x.key.as_str())
            .collect();
        let param = |x: &DesiredItem, name: &str| {
            x.params
                .iter()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        let mut accounts = Vec::new();
        for &k in runs {
            let item = &source.items[k];
            if !item.is_account() {
                continue;
            }
            let d = self.wanted(item);
            let explicit_priority = d
                .and_then(|d| param(d, "priority"))
                .and_then(|v| v.trim().parse().ok());
            let prerequisite = match d.and_then(|d| param(d, "prerequisite_user")) {
                Some(p) => Some((p, SetBy::Manifest)),
                None => self
                    .owners
                    .get(item.key.as_str())
                    .filter(|o| **o != item.key && moving.contains(**o))
                    .map(|o| ((*o).to_owned(), SetBy::Schedule)),
            };
            accounts.push(Account {
                item: k,
                key: item.key.clone(),
                size: item.size.unwrap_or(0),
                explicit_priority,
                prerequisite,
            });
        }
        accounts
    }

    /// The session's schedule once priorities are set: the items that run, their bytes,
    /// the workers WHM gives it and how long it takes at `throughput`, named when it is
    /// the source's `own` (not the plan's).
    fn estimate(
        &self,
        source: &SourcePlan,
        runs: &[usize],
        requested: Pools,
        throughput: &Throughput,
        own: bool,
    ) -> SourceEstimate {
        let jobs: Vec<Job> = runs
            .iter()
            .map(|&k| {
                let item = &source.items[k];
                Job {
                    type_id: self.wanted(item).map_or(u64::MAX, |d| d.type_id),
                    key: item.key.clone(),
                    size: item.size.unwrap_or(1).max(1),
                    priority: item.priority.unwrap_or(255),
                    prerequisite: item.prerequisite_user.clone(),
                }
            })
            .collect();
        let capped = requested.capped(jobs.len());
        SourceEstimate {
            items: jobs.len(),
            bytes: runs
                .iter()
                .map(|&k| source.items[k].size.unwrap_or(0))
                .fold(0, u64::saturating_add),
            transfer_threads: capped.transfer,
            restore_threads: capped.restore,
            duration_ms: estimate_ms(&jobs, requested, throughput),
            throughput: own.then_some(*throughput),
        }
    }
}

/// Each account's priority and who set it: the manifest's value when it has one, else
/// ascending from [`FIRST_PRIORITY`] by descending chain of work (own transfer and
/// restore plus the longest chain of the accounts waiting on it), then size, then key.
fn order_accounts(accounts: &[Account], throughput: &Throughput) -> Vec<(i64, SetBy)> {
    let by_key: HashMap<&str, usize> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.key.as_str(), i))
        .collect();
    let mut children = vec![Vec::new(); accounts.len()];
    for (i, a) in accounts.iter().enumerate() {
        if let Some(p) = a
            .prerequisite
            .as_ref()
            .and_then(|(k, _)| by_key.get(k.as_str()))
            .filter(|p| **p != i)
        {
            children[*p].push(i);
        }
    }
    let work: Vec<u64> = accounts
        .iter()
        .map(|a| {
            throughput
                .transfer_us(a.size)
                .saturating_add(throughput.restore_us(a.size))
        })
        .collect();
    let mut chain: Vec<Option<u64>> = vec![None; accounts.len()];
    for i in 0..accounts.len() {
        chain_of(i, &children, &work, &mut chain, &mut vec![false; 0]);
    }
    let mut order: Vec<usize> = (0..accounts.len())
        .filter(|&i| accounts[i].explicit_priority.is_none())
        .collect();
    order.sort_by_key(|&i| {
        (
            Reverse(chain[i].unwrap_or(0)),
            Reverse(accounts[i].size),
            accounts[i].key.clone(),
        )
    });
    let mut out: Vec<(i64, SetBy)> = accounts
        .iter()
        .map(|a| (a.explicit_priority.unwrap_or(0), SetBy::Manifest))
        .collect();
    for (priority, i) in (FIRST_PRIORITY..).zip(order) {
        out[i] = (priority, SetBy::Schedule);
    }
    out
}

/// The longest chain of work from account `i` (memoised; a cycle counts once).
fn chain_of(
    i: usize,
    children: &[Vec<usize>],
    work: &[u64],
    memo: &mut Vec<Option<u64>>,
    visiting: &mut Vec<bool>,
) -> u64 {
    if let Some(v) = memo[i] {
        return v;
    }
    if visiting.len() < memo.len() {
        visiting.resize(memo.len(), false);
    }
    if visiting[i] {
        return 0;
    }
    visiting[i] = true;
    let tail = children[i]
        .iter()
        .map(|&c| chain_of(c, children, work, memo, visiting))
        .max()
        .unwrap_or(0);
    visiting[i] = false;
    let chain = work[i].saturating_add(tail);
    memo[i] = Some(chain);
    chain
}

#[path = "schedule_resume.rs"]
mod resume;
pub use resume::{JobState, remaining_ms, session_jobs};

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
