//! The live time-left estimate of a running session: the plan's own schedule
//! ([`remaining_ms`]) replayed from where the session stands, each step costing what
//! the run has shown so far.
//!
//! The master log says when each item starts and ends its TRANSFER and RESTORE steps;
//! this keeps when each was first seen, so every finished step is a measured duration
//! beside the plan's figure for it. Per kind of worker (transfer and restore apart) the
//! measured time over the planned time scales every step still to come; a step running
//! longer than that says so before it ends. The steps under way keep what they still
//! need after their age. Before any restore has finished, restores keep the pace the
//! transfers showed against the plan; before any step has finished, the plan's figures
//! stand; before the log shows anything, so does the plan's estimate.
//!
//! Not a linear extrapolation of the bytes done: with a few large accounts, the last of
//! them still transferring alone is what the end waits for, which the replay sees.

use crate::plan::model::{Throughput, ThroughputSource};
use crate::plan::schedule::{Job, JobState, Pools, StepCost, remaining_ms};
use crate::translog::{ItemKey, ItemState, SessionProgress, StepTimes};
use crate::whm::clock::{SharedClock, Span};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A step that has run longer than expected still needs this share of what it was
/// expected to take.
const OVERDUE_SHARE: f64 = 0.1;

/// What the plan says of a session: its jobs, workers, throughput and estimate.
#[derive(Debug, Clone)]
pub struct SessionShape {
    /// The session's items, as the schedule set them.
    pub jobs: Vec<(ItemKey, Job)>,
    /// Its workers.
    pub pools: Pools,
    /// The throughput the plan assumed.
    pub throughput: Throughput,
    /// The plan's estimate of the whole session.
    pub estimate: Option<Duration>,
}

/// When one item was first seen at each step, and what its finished steps took.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    state: Option<ItemState>,
    /// The stamps of its step records seen so far.
    stamps: StepTimes,
    transfer: StepSeen,
    restore: StepSeen,
}

/// One step of an item: when it started and, once over, what it took.
#[derive(Debug, Clone, Copy, Default)]
struct StepSeen {
    from: Option<Instant>,
    /// How far either way the start was dated.
    from_spread: Duration,
    took: Option<Duration>,
    /// The measured duration is well above how precisely its ends were dated: a
    /// step shorter than the log's dating says little about the pace.
    sure: bool,
}

impl StepSeen {
    fn start(&mut self, at: Span) {
        if self.from.is_none() {
            self.from = Some(at.mid());
            self.from_spread = at.spread();
        }
    }

    /// Adds what the step took, if it is over, to the `sure` or the `unsure` scale.
    fn measure(&self, sure: &mut Scale, unsure: &mut Scale, planned_us: u64, size: u64) {
        if let Some(took) = self.took {
            let scale = if self.sure { sure } else { unsure };
            scale.add(took, planned_us, size);
        }
    }

    fn end(&mut self, at: Span) {
        if let (Some(from), None) = (self.from, self.took) {
            let took = at.mid().saturating_duration_since(from);
            self.took = Some(took);
            self.sure = took >= (self.from_spread + at.spread()) * SURE_OVER_SPREAD;
        }
    }
}

/// A measured step counts as sure when it took at least this many times the sum of how
/// far either way its start and end were dated.
const SURE_OVER_SPREAD: u32 = 2;

impl Seen {
    /// The item moved to `state`; `step` dates its steps' records. A step first seen
    /// already over is measured only when both its records are stamped (else it took
    /// some part of the span it was seen in, unknown).
    fn move_to(&mut self, state: ItemState, step: &Dated) {
        self.state = Some(state);
        let t = &step.stamped;
        match state {
            ItemState::Pending => {}
            ItemState::Transferring => self.transfer.start(step.transfer_started),
            ItemState::AwaitingRestore | ItemState::Restoring => {
                if t.transfer_started.is_some() {
                    self.transfer.start(step.transfer_started);
                }
                self.transfer.end(step.transfer_ended);
                if state == ItemState::Restoring {
                    self.restore.start(step.restore_started);
                }
            }
            ItemState::Done | ItemState::DoneWithWarnings | ItemState::Failed => {
                if t.restore_started.is_some() {
                    self.restore.start(step.restore_started);
                }
                self.restore.end(step.restore_ended);
            }
        }
    }
}

/// The stamps in `now` that `before` did not have.
fn fresh(before: &StepTimes, now: &StepTimes) -> impl Iterator<Item = i64> {
    [
        (before.transfer_started, now.transfer_started),
        (before.transfer_ended, now.transfer_ended),
        (before.restore_started, now.restore_started),
        (before.restore_ended, now.restore_ended),
    ]
    .into_iter()
    .filter_map(|(was, is)| if was.is_none() { is } else { None })
}

/// When an item's step records were written, each as precisely as known.
struct Dated {
    transfer_started: Span,
    transfer_ended: Span,
    restore_started: Span,
    restore_ended: Span,
    stamped: StepTimes,
}

impl Dated {
    /// The record that moved the item to `state`.
    fn latest(&self, state: ItemState) -> Span {
        match state {
            ItemState::Pending | ItemState::Transferring => self.transfer_started,
            ItemState::AwaitingRestore => self.transfer_ended,
            ItemState::Restoring => self.restore_started,
            _ => self.restore_ended,
        }
    }
}

/// The live estimate of one session.
#[derive(Debug)]
pub struct Forecast {
    shape: SessionShape,
    index: HashMap<ItemKey, usize>,
    seen: Vec<Seen>,
    /// When following began.
    began: Instant,
    /// The server's clock against ours, from the records' stamps.
    clock: SharedClock,
    /// The span the last step start or end seen was dated to.
    last_dated: Option<Span>,
}

impl Forecast {
    /// An estimate of `shape`'s session, followed from `began`.
    pub fn new(shape: SessionShape, began: Instant) -> Self {
        let index = shape
            .jobs
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (key.clone(), i))
            .collect();
        let seen = vec![Seen::default(); shape.jobs.len()];
        Self {
            shape,
            index,
            seen,
            began,
            clock: SharedClock::new(),
            last_dated: None,
        }
    }

    /// Dates the log's records on `clock`, shared with the other sessions of the same
    /// server (each narrows what its clock is ahead of ours).
    #[must_use]
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The plan's estimate of the whole session.
    pub fn planned(&self) -> Option<Duration> {
        self.shape.estimate
    }

    /// Takes the log's fold, whose records new since the last look were written within
    /// `seen` (between two reads of the log): each step's start and end are dated by
    /// their records' own stamps on the server's clock where they have them.
    pub fn observe(&mut self, seen: Span, progress: &SessionProgress) {
        let mut changed = Vec::new();
        for (key, item) in progress.items() {
            let Some(&i) = self.index.get(key) else {
                continue;
            };
            if self.seen[i].state != Some(item.state()) {
                changed.push((i, item.state(), item.times));
            }
        }
        // Only the records new in this fold were written within `seen`.
        for &(i, _, times) in &changed {
            for stamp in fresh(&self.seen[i].stamps, &times) {
                self.clock.lock().learn(stamp, seen);
            }
        }
        for (i, state, times) in changed {
            let clock = *self.clock.lock();
            let dated = |stamp: Option<i64>| clock.date(stamp, seen);
            self.seen[i].stamps = times;
            let step = Dated {
                transfer_started: dated(times.transfer_started),
                transfer_ended: dated(times.transfer_ended),
                restore_started: dated(times.restore_started),
                restore_ended: dated(times.restore_ended),
                stamped: times,
            };
            self.last_dated = Some(step.latest(state));
            self.seen[i].move_to(state, &step);
        }
    }

    /// Whether a step has been measured: until then the estimate is the plan's, whose
    /// throughput may be a guess several times off.
    pub fn measured(&self) -> bool {
        self.seen
            .iter()
            .any(|s| s.transfer.took.is_some() || s.restore.took.is_some())
    }

    /// How precisely the last step the log showed starting or ending is dated, and
    /// when it was seen.
    pub fn last_dated(&self) -> Option<Span> {
        self.last_dated
    }

    /// When the session should end, as of `now`; `None` without an estimate (a plan
    /// without one and a log that has shown nothing yet).
    pub fn end(&self, now: Instant) -> Option<Instant> {
        if self
            .seen
            .iter()
            .all(|s| s.state.is_none_or(|s| s == ItemState::Pending))
        {
            let planned = self.began + self.shape.estimate?;
            return Some(planned.max(now));
        }
        let cost = self.calibrated(now);
        let states: Vec<JobState> = self
            .seen
            .iter()
            .zip(&self.shape.jobs)
            .map(|(seen, (_, job))| cost.state(seen, job.size, now))
            .collect();
        let jobs: Vec<Job> = self.shape.jobs.iter().map(|(_, j)| j.clone()).collect();
        let left = remaining_ms(&jobs, &states, self.shape.pools, &cost);
        Some(now + Duration::from_millis(left))
    }

    /// The step costs the run has shown, as of `now`.
    fn calibrated(&self, now: Instant) -> Calibrated {
        let mut cost = Calibrated {
            plan: self.shape.throughput,
            transfer: Scale::default(),
            restore: Scale::default(),
        };
        // Sure measurements only, once there are any of a kind.
        let (mut unsure_t, mut unsure_r) = (Scale::default(), Scale::default());
        for (seen, (_, job)) in self.seen.iter().zip(&self.shape.jobs) {
            let plan_t = self.shape.throughput.transfer_us(job.size);
            let plan_r = self.shape.throughput.restore_us(job.size);
            seen.transfer
                .measure(&mut cost.transfer, &mut unsure_t, plan_t, job.size);
            seen.restore
                .measure(&mut cost.restore, &mut unsure_r, plan_r, job.size);
        }
        // Restores without a sure measurement follow the transfers' sure pace rather
        // than an unsure restore of their own.
        if cost.restore.count == 0.0 && cost.transfer.count == 0.0 {
            cost.restore = unsure_r;
        }
        if cost.transfer.count == 0.0 {
            cost.transfer = unsure_t;
        }
        // A step under way longer than its expected time is a measurement too: it
        // took at least that long.
        let (mut over_t, mut over_r) = (Scale::default(), Scale::default());
        for (seen, (_, job)) in self.seen.iter().zip(&self.shape.jobs) {
            let size = job.size;
            match (seen.state, seen.transfer.from, seen.restore.from) {
                (Some(ItemState::Transferring), Some(from), _) => {
                    let age = now.saturating_duration_since(from);
                    if duration_us(age) > cost.transfer_us(size) {
                        over_t.add(age, self.shape.throughput.transfer_us(size), size);
                    }
                }
                (Some(ItemState::Restoring), _, Some(from)) => {
                    let age = now.saturating_duration_since(from);
                    if duration_us(age) > cost.restore_us(size) {
                        over_r.add(age, self.shape.throughput.restore_us(size), size);
                    }
                }
                _ => {}
            }
        }
        cost.transfer.merge(over_t);
        cost.restore.merge(over_r);
        cost
    }
}

fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Measured time against the plan's, for one kind of step.
#[derive(Debug, Clone, Copy, Default)]
struct Scale {
    took_us: f64,
    planned_us: f64,
    bytes: f64,
    /// For the fit of the time over the size: the count, Σ size², Σ size × time.
    count: f64,
    bytes_sq: f64,
    bytes_took: f64,
}

/// Steps of this many sizes at least, spread by a tenth of their mean or more, are fitted
/// as a fixed cost plus a rate (the plan's split of the two may be far off: its fixed
/// cost is a guess); fewer scale the plan's figures.
const FIT_FROM: f64 = 3.0;

impl Scale {
    #[allow(clippy::cast_precision_loss)] // an estimate: 52 bits are plenty
    fn add(&mut self, took: Duration, planned_us: u64, size: u64) {
        let (t, s) = (took.as_secs_f64() * 1e6, size as f64);
        self.took_us += t;
        self.planned_us += planned_us as f64;
        self.bytes += s;
        self.count += 1.0;
        self.bytes_sq += s * s;
        self.bytes_took += s * t;
    }

    fn merge(&mut self, other: Scale) {
        self.took_us += other.took_us;
        self.planned_us += other.planned_us;
        self.bytes += other.bytes;
        self.count += other.count;
        self.bytes_sq += other.bytes_sq;
        self.bytes_took += other.bytes_took;
    }

    /// The least-squares fixed cost and time per byte, when the sizes vary enough.
    fn fit(&self) -> Option<(f64, f64)> {
        if self.count < FIT_FROM {
            return None;
        }
        let n = self.count;
        let (mean_s, mean_t) = (self.bytes / n, self.took_us / n);
        let var = self.bytes_sq / n - mean_s * mean_s;
        // Sizes too alike say nothing of the split between fixed cost and rate.
        if var.is_nan() || var <= 0.0 || var.sqrt() < 0.1 * mean_s {
            return None;
        }
        let per_byte = (self.bytes_took / n - mean_s * mean_t) / var;
        let fixed = mean_t - per_byte * mean_s;
        Some(match (fixed >= 0.0, per_byte >= 0.0) {
            (true, true) => (fixed, per_byte),
            (false, _) => (0.0, self.took_us / self.bytes.max(1.0)),
            (true, false) => (mean_t, 0.0),
        })
    }

    /// A step the plan says takes `planned_us` over `size` bytes, as the run has shown:
    /// scaled by measured over planned; per byte measured when the plan gives this kind
    /// no time (a measured throughput folds restores into transfers); else the plan's.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn apply(&self, planned_us: u64, size: u64, split_known: bool) -> u64 {
        let us = if self.took_us <= 0.0 && self.planned_us <= 0.0 {
            return planned_us;
        } else if let Some((fixed, per_byte)) = self.fit() {
            fixed + per_byte * size as f64
        } else if !split_known && self.bytes > 0.0 {
            // The plan's fixed cost per step is the default guess: scaling it with the
            // rest would make a large step as short as a small one's ratio says.
            size as f64 * self.took_us / self.bytes
        } else if self.planned_us > 0.0 {
            planned_us as f64 * self.took_us / self.planned_us
        } else if self.bytes > 0.0 {
            size as f64 * self.took_us / self.bytes
        } else {
            return planned_us;
        };
        // `as` saturates; a NaN becomes 0.
        us.min(1e15) as u64
    }
}

/// Step costs: the plan's throughput scaled per kind by what the run has shown.
#[derive(Debug, Clone, Copy)]
struct Calibrated {
    plan: Throughput,
    transfer: Scale,
    restore: Scale,
}

impl StepCost for Calibrated {
    fn transfer_us(&self, size: u64) -> u64 {
        self.transfer
            .apply(self.plan.transfer_us(size), size, self.split_known())
    }
    fn restore_us(&self, size: u64) -> u64 {
        let planned = self.plan.restore_us(size);
        let r = &self.restore;
        if r.fit().is_some() {
            return r.apply(planned, size, true);
        }
        if let Some(us) = self.restore_by_transfer_fit(size) {
            return us;
        }
        if r.count > 0.0 {
            return r.apply(planned, size, self.split_known());
        }
        // Before any restore has finished, restores are taken to keep the pace the
        // transfers showed against the plan (one machine, one set of disks).
        let t = &self.transfer;
        if t.planned_us <= 0.0 || t.took_us <= 0.0 {
            return planned;
        }
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let us = (planned as f64 * t.took_us / t.planned_us).min(1e15) as u64;
        us
    }
}

impl Calibrated {
    /// Whether the plan's split of a step into a fixed cost and a rate was measured
    /// (or given), not the default guess.
    fn split_known(&self) -> bool {
        self.plan.from != ThroughputSource::Default
    }

    /// A restore while too few have finished to fit their own figures: the fixed cost
    /// per step the transfers' fit shows (WHM pays it at both steps), plus the time per
    /// byte the restores so far show beyond it, or before any, the transfers' time per
    /// byte at the plan's ratio of restore to transfer rate.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn restore_by_transfer_fit(&self, size: u64) -> Option<u64> {
        let t = &self.transfer;
        let (fixed, per_byte_t) = match t.fit() {
            Some(fit) => fit,
            // A guessed split: the transfers' time per byte, no fixed cost.
            None if !self.split_known() && t.bytes > 0.0 => (0.0, t.took_us / t.bytes),
            None => return None,
        };
        let r = &self.restore;
        let per_byte = if r.count > 0.0 && r.bytes > 0.0 {
            ((r.took_us - r.count * fixed) / r.bytes).max(0.0)
        } else {
            let restore_rate = self.plan.restore_bytes_per_second? as f64;
            per_byte_t * self.plan.transfer_bytes_per_second as f64 / restore_rate.max(1.0)
        };
        Some((fixed + per_byte * size as f64).min(1e15) as u64)
    }
}

impl Calibrated {
    /// Where an item stands for the replay: a step under way needs what it is expected
    /// to take less its age, and a share of that once overdue.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn state(&self, seen: &Seen, size: u64, now: Instant) -> JobState {
        let left = |expected: u64, from: Option<Instant>| {
            let age = from.map_or(0, |f| duration_us(now.saturating_duration_since(f)));
            expected
                .saturating_sub(age)
                .max((expected as f64 * OVERDUE_SHARE) as u64)
        };
        match seen.state {
            None | Some(ItemState::Pending) => JobState::Pending,
            Some(ItemState::Transferring) => {
                JobState::Transferring(left(self.transfer_us(size), seen.transfer.from))
            }
            Some(ItemState::AwaitingRestore) => JobState::AwaitingRestore,
            Some(ItemState::Restoring) => {
                JobState::Restoring(left(self.restore_us(size), seen.restore.from))
            }
            Some(_) => JobState::Finished,
        }
    }
}

#[cfg(test)]
#[path = "forecast_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "forecast_world_tests.rs"]
mod world_tests;
