//! The schedule resumed mid-session: the server's rules replayed from where a running
//! session stands (steps done, steps under way and the time they still need), for the
//! time it has left. `apply`'s live estimate feeds it what the run has shown.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::{Job, Pools, Queue, Replay, StepCost};
use crate::plan::input::DesiredSource;
use crate::plan::model::{Action, SourcePlan};

/// The jobs of `source`'s session as the schedule set them (the items it transfers or
/// already queued), each with its module: what a live estimate replays.
pub fn session_jobs(desired: &DesiredSource, source: &SourcePlan) -> Vec<(String, Job)> {
    let type_ids: std::collections::HashMap<(&str, &str), u64> = desired
        .items
        .iter()
        .map(|d| ((d.module.as_str(), d.key.as_str()), d.type_id))
        .collect();
    source
        .items
        .iter()
        .filter(|i| matches!(i.action, Action::Transfer | Action::AlreadyQueued))
        .map(|item| {
            let job = Job {
                type_id: type_ids
                    .get(&(item.module.as_str(), item.key.as_str()))
                    .copied()
                    .unwrap_or(u64::MAX),
                key: item.key.clone(),
                size: item.size.unwrap_or(1).max(1),
                priority: item.priority.unwrap_or(255),
                prerequisite: item.prerequisite_user.clone(),
            };
            (item.module.clone(), job)
        })
        .collect()
}

/// Where one job of a running session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Not started.
    Pending,
    /// Its TRANSFER step runs and needs this many more microseconds.
    Transferring(u64),
    /// Transferred, waiting for a RESTORE worker.
    AwaitingRestore,
    /// Its RESTORE step runs and needs this many more microseconds.
    Restoring(u64),
    /// Finished, restored or failed: it needs no worker again.
    Finished,
}

impl JobState {
    fn transferred(self) -> bool {
        matches!(
            self,
            Self::AwaitingRestore | Self::Restoring(_) | Self::Finished
        )
    }
}

/// The milliseconds (rounded up) `jobs` still need on `pools` when each stands at
/// `states[i]` (a missing entry is pending), the steps left costing what `cost` says:
/// the replay of [`estimate_ms`](super::estimate_ms), started from the session's present.
/// More steps under way than a pool has workers (a log read between two workers'
/// hand-overs) widens that pool.
pub fn remaining_ms(jobs: &[Job], states: &[JobState], pools: Pools, cost: &dyn StepCost) -> u64 {
    if jobs.is_empty() {
        return 0;
    }
    let state = |i: usize| states.get(i).copied().unwrap_or(JobState::Pending);
    let running = |f: fn(JobState) -> bool| {
        let n = (0..jobs.len()).filter(|&i| f(state(i))).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    let in_transfer = running(|s| matches!(s, JobState::Transferring(_)));
    let in_restore = running(|s| matches!(s, JobState::Restoring(_)));
    let capped = pools.capped(jobs.len());
    let pools = Pools {
        transfer: capped.transfer.max(in_transfer),
        restore: capped.restore.max(in_restore),
    };
    let mut replay = Replay::new(jobs, pools, cost);
    replay.resume_at(&(0..jobs.len()).map(state).collect::<Vec<_>>());
    replay.run_to_end()
}

impl Replay<'_> {
    /// Sets the replay to where `states` say the session stands, at time 0.
    fn resume_at(&mut self, states: &[JobState]) {
        let mut left: [BTreeMap<u64, usize>; 2] = [BTreeMap::new(), BTreeMap::new()];
        for (i, s) in states.iter().enumerate() {
            let ty = self.jobs[i].type_id;
            self.transferred[i] = s.transferred();
            self.restored[i] = *s == JobState::Finished;
            self.began[0][i] = !matches!(s, JobState::Pending);
            self.began[1][i] = matches!(s, JobState::Restoring(_) | JobState::Finished);
            if !self.transferred[i] {
                *left[0].entry(ty).or_default() += 1;
            }
            if !self.restored[i] {
                *left[1].entry(ty).or_default() += 1;
            }
        }
        self.left = left;
        let mut ready: [BTreeSet<(u64, usize)>; 2] = [BTreeSet::new(), BTreeSet::new()];
        for (i, s) in states.iter().enumerate() {
            let key = (self.jobs[i].type_id, self.rank[i]);
            let prereq = self.prereq[i];
            match *s {
                JobState::Pending if prereq.is_none_or(|p| self.transferred[p]) => {
                    ready[0].insert(key);
                }
                JobState::AwaitingRestore if prereq.is_none_or(|p| self.restored[p]) => {
                    ready[1].insert(key);
                }
                JobState::Transferring(us) => {
                    self.free[0] = self.free[0].saturating_sub(1);
                    self.running.push(Reverse((us, Queue::Transfer, i)));
                }
                JobState::Restoring(us) => {
                    self.free[1] = self.free[1].saturating_sub(1);
                    self.running.push(Reverse((us, Queue::Restore, i)));
                }
                _ => {}
            }
        }
        self.ready = ready;
    }
}

#[cfg(test)]
mod tests {
    use super::{JobState, remaining_ms};
    use crate::plan::model::Throughput;
    use crate::plan::schedule::{Job, Pools, estimate_ms};

    fn job(key: &str, size: u64) -> Job {
        Job {
            type_id: 1,
            key: key.into(),
            size,
            priority: 255,
            prerequisite: None,
        }
    }

    /// 1 byte per µs moved, restores twice as fast, no fixed cost.
    fn rate() -> Throughput {
        Throughput::given(1_000_000)
    }

    #[test]
    fn nothing_started_is_the_plans_estimate() {
        let jobs = [
            job("a", 4_000_000),
            job("b", 2_000_000),
            job("c", 1_000_000),
        ];
        let pools = Pools::new(Some(2), Some(1));
        assert_eq!(
            remaining_ms(&jobs, &[], pools, &rate()),
            estimate_ms(&jobs, pools, &rate())
        );
    }

    #[test]
    fn steps_under_way_count_what_they_still_need_and_finished_ones_nothing() {
        let jobs = [job("a", 4_000_000), job("b", 2_000_000)];
        let pools = Pools::new(Some(1), Some(1));
        // a: restored. b: 500 ms of transfer left, then a 1 s restore.
        let states = [JobState::Finished, JobState::Transferring(500_000)];
        assert_eq!(remaining_ms(&jobs, &states, pools, &rate()), 1_500);
        // Both waiting for the one restore worker: 2 s + 1 s.
        let states = [JobState::AwaitingRestore, JobState::AwaitingRestore];
        assert_eq!(remaining_ms(&jobs, &states, pools, &rate()), 3_000);
        let states = [JobState::Finished, JobState::Finished];
        assert_eq!(remaining_ms(&jobs, &states, pools, &rate()), 0);
    }

    #[test]
    fn more_steps_under_way_than_workers_widen_the_pool_and_a_prerequisite_still_waits() {
        let mut dependent = job("b", 1_000_000);
        dependent.prerequisite = Some("a".into());
        let jobs = [job("a", 1_000_000), dependent, job("c", 1_000_000)];
        let pools = Pools::new(Some(1), Some(1));
        // a and c both transferring (seen between hand-overs): both end at 200 ms; b
        // then transfers 1 s; restores 0.5 s each on one worker, b's after a's.
        let states = [
            JobState::Transferring(200_000),
            JobState::Pending,
            JobState::Transferring(200_000),
        ];
        assert_eq!(remaining_ms(&jobs, &states, pools, &rate()), 1_700);
    }
}
