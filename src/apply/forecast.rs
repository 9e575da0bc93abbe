//! The live time-left estimate of a running session: the plan's own schedule
//! ([`remaining_ms`]) replayed from where the session stands, each step costing what
//! the run has shown so far.
//!
//! The master log says when each item starts and ends its TRANSFER and RESTORE steps;
//! this keeps when each was first seen, so every finished step is a measured duration,
//! known to within how precisely its two ends were dated. Per kind of worker (transfer
//! and restore apart) the finished steps are fitted as a fixed cost plus a time per
//! byte, each weighted by its precision, the fixed cost held toward a prior until steps
//! of varied sizes tell it apart from the rate (the plan's when its split was measured
//! or given, none when it is the default guess). Restores start from what transfers
//! showed: their fixed cost, and their time per byte at the plan's ratio of rates,
//! which restores precisely dated then correct. Restores are fitted over every session
//! followed on the same destination (its disks do them, whichever source sent the
//! account). Each fit is held to what its workers
//! can have done since the steps counted began (thousands of steps shorter than the
//! log's one-second stamps are otherwise measured as if each took most of a second),
//! and to Little's law: the mean number under way at the log's reads over the rate
//! they finish at (which binds when those workers are never all busy).
//! A step running longer than the fit
//! says so before it ends. The steps under way keep what they still need after their
//! age. Before any step has finished, the plan's figures stand; before the log shows
//! anything, so does the plan's estimate.
//!
//! Not a linear extrapolation of the bytes done: with a few large accounts, the last of
//! them still transferring alone is what the end waits for, which the replay sees.

use crate::journal::StepPace;
use crate::plan::model::{Throughput, ThroughputSource};
use crate::plan::schedule::{Job, JobState, Pools, StepCost, remaining_ms};
use crate::translog::{ItemKey, ItemState, SessionProgress, StepTimes};
use crate::whm::clock::{SharedClock, Span};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
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
    /// The restores every session followed on the same destination has seen finish.
    pub destination: DestinationRestores,
}

/// The restores finished on one destination, per session followed there. WHM restores
/// on the destination's own disks and CPUs, whichever source an account came from, so
/// each session's restores tell the others' pace: a session of two accounts has one
/// loosely dated restore of its own to go by when its last one begins, while the
/// sessions beside it have shown dozens. (Transfers are not pooled: each source's link
/// and machine set their pace, and a migration's first transfers to finish are its
/// smallest, which tell a large one's time poorly.)
#[derive(Debug, Clone, Default)]
pub struct DestinationRestores(Arc<Mutex<HashMap<String, Scale>>>);

impl DestinationRestores {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Scale>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `own`, the restores `session` has seen finish so far.
    fn record(&self, session: &str, own: Scale) {
        self.lock().insert(session.to_owned(), own);
    }

    /// Every session's finished restores together.
    fn all(&self) -> Scale {
        self.lock().values().fold(Scale::default(), Scale::with)
    }
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
    /// The step began after this: a read of the log that still showed the item
    /// before it.
    after: Option<Instant>,
    from: Option<Instant>,
    /// The span the start was dated to.
    from_span: Option<Span>,
    took: Option<Duration>,
    /// The step ended no later than this.
    ended_by: Option<Instant>,
    /// How far either way the measured duration may be off: its two ends' spreads
    /// together.
    spread: Duration,
}

impl StepSeen {
    fn start(&mut self, at: Span) {
        if self.from.is_none() {
            self.from = Some(at.mid());
            self.from_span = Some(at);
        }
    }

    /// Adds what the step took, if it is over, to `scale`.
    fn measure(&self, scale: &mut Scale, planned_us: u64, size: u64) {
        if let Some(took) = self.took {
            scale.add(took, self.spread, planned_us, size);
        }
    }

    fn end(&mut self, at: Span) {
        if let (Some(from), None) = (self.from_span, self.took) {
            self.took = Some(from.gap_to(at));
            self.ended_by = Some(at.to);
            let (a, b) = (from.spread().as_secs_f64(), at.spread().as_secs_f64());
            self.spread = Duration::from_secs_f64(a.hypot(b));
        }
    }
}

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
                // Both steps may have ended since the last look: every new record
                // was written within the span.
                self.transfer.end(step.transfer_ended);
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
    /// When the last fold observed was read: the steps it showed under way were under
    /// way until then (give or take the read's own time, a fraction of a second against
    /// the seconds between reads), and are not known to be since.
    read: Option<Instant>,
    /// The session's id, under which its restores join its destination's.
    session: String,
    /// How many steps each read of the log showed under way, for Little's law.
    flow: Flow,
}

/// The steps under way at each whole read of the log, and those finished since the
/// first: by Little's law, a kind of step's mean time is the mean number under way over
/// the rate at which they finish. Neither depends on how precisely a step's start and
/// end are dated, so it bounds the fit when steps are far shorter than the log's
/// whole-second stamps and too few to fill their workers (the workers' bound then does
/// not hold them).
#[derive(Debug, Default)]
struct Flow {
    /// The read last sampled (when it began): one read is one sample, however often
    /// its fold is observed.
    read: Option<Instant>,
    /// When the first and the last samples were read.
    first: Option<Instant>,
    last: Option<Instant>,
    samples: u32,
    /// Per kind (transfer, restore), the steps under way summed over the samples.
    under_way: [u64; 2],
    /// Per item, whether it was past each step at the first sample.
    past_at_first: Vec<[bool; 2]>,
    /// Per kind, the steps under way at the last sample, and the worker time they
    /// have all taken since the first (seconds: the steps under way summed over time).
    last_under_way: [u64; 2],
    busy: [f64; 2],
    /// Per kind, over the samples: the worker time since the first against the steps
    /// and MB finished since (what a fixed cost and a rate must add up to).
    worked: [WorkerTime; 2],
}

/// The sums a least-squares fit of worker time `c` over steps `n` and MB `b` finished
/// needs, over the samples: Σn², Σnb, Σb², Σcn, Σcb.
#[derive(Debug, Default, Clone, Copy)]
struct WorkerTime {
    nn: f64,
    nb: f64,
    bb: f64,
    cn: f64,
    cb: f64,
}

impl WorkerTime {
    /// A sample: `c` worker-seconds spent while `n` steps of `b` MB finished.
    fn add(&mut self, c: f64, n: f64, b: f64) {
        (self.nn, self.nb, self.bb) = (self.nn + n * n, self.nb + n * b, self.bb + b * b);
        (self.cn, self.cb) = (self.cn + c * n, self.cb + c * b);
    }

    /// The fixed cost (s) and time per MB (s) that make the steps finished since the
    /// first sample add up to the worker time spent meanwhile, at every sample: a least
    /// squares fit over the samples, or `None` when the sizes finished kept one mix
    /// (then fixed cost and rate cannot be told apart) or it says nothing sound. With
    /// a `fixed` cost known, only the rate is fitted.
    fn fit(&self, fixed: Option<f64>) -> Option<(f64, f64)> {
        let Self { nn, nb, bb, cn, cb } = *self;
        if let Some(fixed) = fixed {
            let per_mb = (cb - fixed * nb) / bb;
            return (bb > 0.0 && per_mb > 0.0 && per_mb.is_finite()).then_some((fixed, per_mb));
        }
        let det = nn * bb - nb * nb;
        // Sizes finished in one mix throughout: the two columns are one.
        if nn <= 0.0 || bb <= 0.0 || det <= BUSY_FIT_CONDITION * nn * bb {
            return None;
        }
        let (fixed, per_mb) = ((cn * bb - nb * cb) / det, (nn * cb - nb * cn) / det);
        // No time per MB at all is noise, not a server; no fixed cost is one.
        let fit = match (fixed >= 0.0, per_mb > 0.0) {
            (_, false) => return None,
            (true, true) => (fixed, per_mb),
            (false, true) => (0.0, cb / bb),
        };
        (fit.0.is_finite() && fit.1.is_finite()).then_some(fit)
    }
}

/// Steps whose mean time is under this many times their datings' mean spread are
/// fitted from the worker time they took together ([`WorkerTime::fit`]).
const SHORT_STEPS: f64 = 2.0;

/// How far from one the mixes of sizes finished must have moved for the worker time to
/// tell fixed cost from rate: 1 - r² of the steps and MB finished across the samples.
const BUSY_FIT_CONDITION: f64 = 1e-3;

/// Whether an item in `state` is at each step (transfer, restore), and past it.
fn at_and_past(state: Option<ItemState>) -> [(bool, bool); 2] {
    use ItemState::{AwaitingRestore, Done, DoneWithWarnings, Restoring, Transferring};
    [
        (
            state == Some(Transferring),
            matches!(
                state,
                Some(AwaitingRestore | Restoring | Done | DoneWithWarnings)
            ),
        ),
        (
            state == Some(Restoring),
            matches!(state, Some(Done | DoneWithWarnings)),
        ),
    ]
}

/// Little's law bounds a fit once this many samples over at least [`FLOW_WINDOW`]
/// have seen this many steps of its kind finish.
const FLOW_SAMPLES: u32 = 4;
const FLOW_STEPS: usize = 40;
const FLOW_WINDOW: Duration = Duration::from_secs(2);

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
            read: None,
            session: String::new(),
            flow: Flow::default(),
        }
    }

    /// Names the session, whose finished restores join those of the other sessions on
    /// its destination ([`SessionShape::destination`]).
    #[must_use]
    pub fn of_session(mut self, session: &str) -> Self {
        session.clone_into(&mut self.session);
        self
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
            // Not at a step yet as of this read (and never seen past it: a fold read
            // again from the log's start shows every item pending for a moment): the
            // step begins after the read began.
            let before = &mut self.seen[i];
            let ahead_of_restore = |s: ItemState| {
                matches!(
                    s,
                    ItemState::Pending | ItemState::Transferring | ItemState::AwaitingRestore
                )
            };
            if state == ItemState::Pending && before.state.is_none_or(|s| s == state) {
                before.transfer.after.get_or_insert(seen.from);
            }
            if ahead_of_restore(state) && before.state.is_none_or(ahead_of_restore) {
                before.restore.after.get_or_insert(seen.from);
            }
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
        self.read = Some(seen.to);
        self.sample_flow(seen);
        // The sessions beside it on the destination learn from its restores at once.
        self.shape
            .destination
            .record(&self.session, self.own_restores());
    }

    /// Counts the steps under way as of the read that began at `seen.from`.
    #[allow(clippy::cast_precision_loss)] // counts and sizes: 52 bits are plenty
    fn sample_flow(&mut self, seen: Span) {
        let flow = &mut self.flow;
        if flow.read == Some(seen.from) {
            return;
        }
        flow.read = Some(seen.from);
        if flow.first.is_none() {
            flow.first = Some(seen.to);
            flow.past_at_first = self
                .seen
                .iter()
                .map(|s| at_and_past(s.state).map(|(_, past)| past))
                .collect();
        }
        let since = flow
            .last
            .replace(seen.to)
            .map(|last| seen.to.saturating_duration_since(last));
        flow.samples += 1;
        let (mut under_way, mut finished, mut mb) = ([0_u64; 2], [0_u64; 2], [0.0_f64; 2]);
        for ((s, (_, job)), was) in self
            .seen
            .iter()
            .zip(&self.shape.jobs)
            .zip(&flow.past_at_first)
        {
            for (kind, (at, past)) in at_and_past(s.state).into_iter().enumerate() {
                under_way[kind] += u64::from(at);
                if past && !was[kind] {
                    finished[kind] += 1;
                    mb[kind] += job.size as f64 / 1e6;
                }
            }
        }
        for kind in 0..2 {
            flow.under_way[kind] += under_way[kind];
            if let Some(since) = since {
                // Between two samples, as many under way as at either, on average.
                let mean = (flow.last_under_way[kind] + under_way[kind]) as f64 / 2.0;
                flow.busy[kind] += mean * since.as_secs_f64();
                flow.worked[kind].add(flow.busy[kind], finished[kind] as f64, mb[kind]);
            }
            flow.last_under_way[kind] = under_way[kind];
        }
    }

    /// Holds each kind's fit to Little's law ([`Flow`]): the steps finished since the
    /// first sample cannot have taken, on average, longer than the mean number under
    /// way over the rate they finished at. Steps that short against their datings are
    /// fitted instead from the worker time they took together ([`WorkerTime::fit`]),
    /// which tells a fixed cost from a rate as the mix of sizes finishing moves.
    #[allow(clippy::cast_precision_loss)]
    fn bound_by_flow(&self, cost: &mut Calibrated) {
        let flow = &self.flow;
        let (Some(first), Some(last)) = (flow.first, flow.last) else {
            return;
        };
        let window = last.saturating_duration_since(first);
        if flow.samples < FLOW_SAMPLES || window < FLOW_WINDOW {
            return;
        }
        // Restores pay the transfers' fixed cost (as in `Calibrated::new`): with it
        // known, their worker time, noisier (their workers are seldom all busy), only
        // has their rate to tell.
        let mut transfer_fixed = None;
        for (kind, fit) in [&mut cost.transfer, &mut cost.restore]
            .into_iter()
            .enumerate()
        {
            let Some(fit) = fit.as_mut() else { continue };
            let (mut finished, mut fitted_us) = (0_usize, 0.0);
            let (mut dated, mut spread) = (0_u32, 0.0);
            for ((seen, (_, job)), was) in self
                .seen
                .iter()
                .zip(&self.shape.jobs)
                .zip(&flow.past_at_first)
            {
                if at_and_past(seen.state)[kind].1 && !was[kind] {
                    finished += 1;
                    fitted_us += fit.us(job.size, 0.0) as f64;
                }
                let step = if kind == 0 {
                    &seen.transfer
                } else {
                    &seen.restore
                };
                if step.took.is_some() {
                    dated += 1;
                    spread += step.spread.as_secs_f64();
                }
            }
            if finished < FLOW_STEPS {
                continue;
            }
            let rate = finished as f64 / window.as_secs_f64();
            let under_way = flow.under_way[kind] as f64 / f64::from(flow.samples);
            let mean_s = under_way / rate;
            // Steps about as short as their datings are loose: what each was dated to
            // says next to nothing of its size's cost, while the worker time the steps
            // took together does.
            let short = dated > 0 && mean_s < SHORT_STEPS * spread / f64::from(dated);
            if short && let Some((fixed, per_mb)) = flow.worked[kind].fit(transfer_fixed) {
                tracing::trace!(
                    session = self.session,
                    kind,
                    fixed,
                    per_mb,
                    "fitted from worker time"
                );
                transfer_fixed = Some(fixed);
                fit.fixed_us = fixed * 1e6;
                fit.per_byte = per_mb;
                continue;
            }
            let k = mean_s * 1e6 / (fitted_us / finished as f64);
            tracing::trace!(
                session = self.session,
                kind,
                short,
                k,
                fixed = fit.fixed_us / 1e6,
                per_mb = fit.per_byte,
                "fit held to Little's law"
            );
            // Scaled as a whole: the mean tells nothing of fixed cost against rate (a
            // fit of both from the sizes under way was tried, and was noisier).
            if k < 1.0 {
                fit.fixed_us *= k;
                fit.per_byte *= k;
                fit.var = fit.var.map(|v| v * k * k);
            }
        }
    }

    /// The restores of this session that have finished.
    fn own_restores(&self) -> Scale {
        let plan = self.shape.throughput;
        let mut restore = Scale::default();
        for (seen, (_, job)) in self.seen.iter().zip(&self.shape.jobs) {
            seen.restore
                .measure(&mut restore, plan.restore_us(job.size), job.size);
        }
        restore
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
        self.end_with(now, 0.0)
    }

    /// The end if every step the run has measured costs one standard deviation of its
    /// fit less (how far the fit may be off, from how many steps of which sizes it
    /// saw and how precisely each was dated): the earliest the session is likely to
    /// end, which the state poll's margin covers.
    pub fn early_end(&self, now: Instant) -> Option<Instant> {
        self.end_with(now, -1.0)
    }

    /// What the steps cost as fitted `now`, for later plans to start from: the
    /// transfers' fixed cost and both kinds' rates. None until both kinds have a fit
    /// with a rate.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn pace(&self, now: Instant) -> Option<StepPace> {
        let cost = self.calibrated(now);
        // µs per byte: bytes per second is its inverse, in millions.
        let rate = |fit: Fit| {
            (fit.per_byte > 0.0 && fit.per_byte.is_finite())
                .then(|| (1e6 / fit.per_byte).round().min(1e15) as u64)
                .filter(|r| *r > 0)
        };
        let (transfer, restore) = (cost.transfer?, cost.restore?);
        Some(StepPace {
            step_ms: (transfer.fixed_us / 1e3).round().clamp(0.0, 1e12) as u64,
            transfer_bytes_per_second: rate(transfer)?,
            restore_bytes_per_second: rate(restore)?,
        })
    }

    fn end_with(&self, now: Instant, sigma: f64) -> Option<Instant> {
        if self
            .seen
            .iter()
            .all(|s| s.state.is_none_or(|s| s == ItemState::Pending))
        {
            let planned = self.began + self.shape.estimate?;
            return Some(planned.max(now));
        }
        let mut cost = self.calibrated(now);
        cost.sigma = sigma;
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
        let plan = self.shape.throughput;
        let mut transfer = Scale::default();
        for (seen, (_, job)) in self.seen.iter().zip(&self.shape.jobs) {
            seen.transfer
                .measure(&mut transfer, plan.transfer_us(job.size), job.size);
        }
        // Its own restores were recorded when last observed.
        let mut restore = self.shape.destination.all();
        let measured = Calibrated::new(plan, &transfer, &restore);
        // A step under way longer than its expected time is a measurement too: it
        // took at least as long as it was last seen under way (since then it may have
        // ended unseen: the log is read seconds apart when nothing happens).
        let seen_until = self.read.map_or(now, |read| read.min(now));
        for (seen, (_, job)) in self.seen.iter().zip(&self.shape.jobs) {
            let size = job.size;
            let (scale, expected, planned, from) = match seen.state {
                Some(ItemState::Transferring) => (
                    &mut transfer,
                    measured.transfer_us(size),
                    plan.transfer_us(size),
                    seen.transfer.from,
                ),
                Some(ItemState::Restoring) => (
                    &mut restore,
                    measured.restore_us(size),
                    plan.restore_us(size),
                    seen.restore.from,
                ),
                _ => continue,
            };
            if let Some(from) = from {
                let age = seen_until.saturating_duration_since(from);
                if duration_us(age) > expected {
                    scale.add(age, Duration::ZERO, planned, size);
                }
            }
        }
        let mut cost = Calibrated::new(plan, &transfer, &restore);
        self.bound_by_pools(&mut cost, now);
        self.bound_by_flow(&mut cost);
        cost
    }

    /// Holds each kind's fit to what its workers can have done: W workers have had at
    /// most W times as long as since the first of the steps counted began, so those
    /// steps, finished (at their fitted cost) or under way (at their least age), cannot
    /// have taken more. It binds when steps are far shorter than their records' stamps
    /// are precise (whole seconds): the steps then measured are dated as if each took
    /// a good part of a second, while hundreds more finished between two reads, a fit
    /// that alone would put the end hours away. Counted are the steps known to have
    /// begun since following began, finished or not.
    ///
    /// A fit beyond the bound is brought within it, and the further beyond, the more
    /// its shape (fixed cost against rate, which those datings blur alike for every
    /// size) gives way to the plan's, scaled to what the workers did.
    #[allow(clippy::cast_precision_loss)] // an estimate: 52 bits are plenty
    fn bound_by_pools(&self, cost: &mut Calibrated, now: Instant) {
        let (pools, plan) = (self.shape.pools, self.shape.throughput);
        let fixed_us = if plan.from == ThroughputSource::Default {
            0.0
        } else {
            plan.step_overhead_ms as f64 * 1e3
        };
        let shape = |rate: Option<u64>| Fit {
            fixed_us,
            per_byte: rate.map_or(0.0, |r| 1e6 / r.max(1) as f64),
            var: [0.0; 3],
        };
        let (transfer_shape, restore_shape) = (
            shape(Some(plan.transfer_bytes_per_second)),
            shape(plan.restore_bytes_per_second),
        );
        let transfer = self.pool_bound(cost.transfer, &transfer_shape, pools.transfer, now, |s| {
            let (at, past) = at_and_past(s.state)[0];
            (&s.transfer, at, past)
        });
        let restore = self.pool_bound(cost.restore, &restore_shape, pools.restore, now, |s| {
            let (at, past) = at_and_past(s.state)[1];
            (&s.restore, at, past)
        });
        // Restores none of which has finished yet are believed from the transfers' fit:
        // scaled as it is.
        let restore = restore.or(transfer.map(|b| Bound { planned: None, ..b }));
        for (fit, bound, shape) in [
            (&mut cost.transfer, transfer, &transfer_shape),
            (&mut cost.restore, restore, &restore_shape),
        ] {
            if let (Some(f), Some(b)) = (fit.as_mut(), bound) {
                b.apply(f, shape);
            }
        }
    }

    /// How `fit` stands against what `workers` can have done at the step `step` picks
    /// (with whether the item is at it, and past it), or `None` while no counted step
    /// of that kind has finished.
    #[allow(clippy::cast_precision_loss)]
    fn pool_bound(
        &self,
        fit: Option<Fit>,
        shape: &Fit,
        workers: u32,
        now: Instant,
        step: fn(&Seen) -> (&StepSeen, bool, bool),
    ) -> Option<Bound> {
        let fit = fit?;
        let mut first: Option<Instant> = None;
        let (mut fitted_us, mut planned_us, mut running_us) = (0.0, 0.0, 0.0);
        for (seen, (_, job)) in self.seen.iter().zip(&self.shape.jobs) {
            let (step, at, past) = step(seen);
            let finished = past || step.took.is_some();
            // The latest instant the step surely began after.
            let Some(began) = [step.after, step.from_span.map(|s| s.from)]
                .into_iter()
                .flatten()
                .max()
            else {
                continue;
            };
            if finished {
                // No step took longer than from the latest it surely began after to
                // the latest it can have ended.
                let longest = step
                    .ended_by
                    .unwrap_or(now)
                    .saturating_duration_since(began);
                fitted_us += fit.us(job.size, 0.0).min(duration_us(longest)) as f64;
                planned_us += shape.us(job.size, 0.0) as f64;
            } else if at {
                let least = step.from_span.map_or(began, |s| s.to);
                running_us += duration_us(now.saturating_duration_since(least)) as f64;
            } else {
                continue;
            }
            first = Some(first.map_or(began, |f| f.min(began)));
        }
        let elapsed = now.saturating_duration_since(first?);
        let room_us =
            (f64::from(workers.max(1)) * duration_us(elapsed) as f64 - running_us).max(1.0);
        (fitted_us > 0.0).then(|| Bound {
            k: (room_us / fitted_us).min(1.0),
            planned: (planned_us > 0.0).then(|| room_us / planned_us),
        })
    }
}

/// How a fit stands against its workers' bound.
#[derive(Debug, Clone, Copy)]
struct Bound {
    /// What brings the fit within the bound (1 when it is).
    k: f64,
    /// What scales the plan's shape of the step to the bound, when it has one.
    planned: Option<f64>,
}

impl Bound {
    /// Brings `fit` within the bound: scaled by `k`, and blended, as much as it was
    /// beyond, with the plan's `shape` scaled to the bound.
    fn apply(self, fit: &mut Fit, shape: &Fit) {
        let k = self.k;
        if k >= 1.0 {
            return;
        }
        let (fixed, per_byte) = match self.planned {
            Some(c) => (c * shape.fixed_us, c * shape.per_byte),
            None => (k * fit.fixed_us, k * fit.per_byte),
        };
        fit.fixed_us = k * (k * fit.fixed_us) + (1.0 - k) * fixed;
        fit.per_byte = k * (k * fit.per_byte) + (1.0 - k) * per_byte;
        fit.var = fit.var.map(|v| v * k * k);
    }
}

fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The finished steps of one kind: their time against the plan's, and what their fit
/// needs.
#[derive(Debug, Clone, Copy, Default)]
struct Scale {
    took_us: f64,
    planned_us: f64,
    /// For the fit of the time over the size, each step weighted by how precisely it
    /// was dated (1 / variance): Σw, Σw·size, Σw·size², Σw·time, Σw·size·time, with
    /// sizes in MB and times in seconds.
    w: f64,
    w_s: f64,
    w_ss: f64,
    w_t: f64,
    w_st: f64,
}

/// What a step's measured duration may be off by beyond its dating: the server's own
/// jitter, in seconds.
const JITTER_SECS: f64 = 0.3;

/// What a fit believes before its steps tell: a fixed cost per step, and for restores
/// a time per byte.
#[derive(Debug, Clone, Copy)]
struct Prior {
    /// The fixed cost per step, in µs.
    fixed_us: f64,
    /// How far off the fixed cost may be, as a share of the steps' mean time.
    fixed_share: f64,
    /// The time per byte in µs (within its own size either way), if believed.
    per_byte: Option<f64>,
}

/// A fixed cost of its own kind of step is believed within this share of the steps'
/// mean time: steps of varied sizes, precisely dated, soon tell it from the rate.
const FIXED_PRIOR_SHARE: f64 = 0.25;

/// A restore's fixed cost is the transfers' (WHM pays it at both steps) within this
/// share of the restores' mean time: what restores show beyond the transfers' pace is
/// their rate, so a large restore is not made as short as a small one.
const SHARED_FIXED_SHARE: f64 = 0.05;

impl Scale {
    /// Adds a step of `size` bytes that took `took`, dated within `spread` either way
    /// at each of its two ends together (the root of the sum of their squares).
    #[allow(clippy::cast_precision_loss)] // an estimate: 52 bits are plenty
    fn add(&mut self, took: Duration, spread: Duration, planned_us: u64, size: u64) {
        let (t, bytes) = (took.as_secs_f64(), size as f64);
        self.took_us += t * 1e6;
        self.planned_us += planned_us as f64;
        // A uniform error of ±h has a variance of h²/3.
        let var = spread.as_secs_f64().powi(2) / 3.0 + JITTER_SECS * JITTER_SECS;
        let (w, mb) = (1.0 / var, bytes / 1e6);
        self.w += w;
        self.w_s += w * mb;
        self.w_ss += w * mb * mb;
        self.w_t += w * t;
        self.w_st += w * mb * t;
    }

    /// The fixed cost (µs) and time per byte (µs) these steps show: their least
    /// squares, each step weighted by how precisely it was dated, held toward `prior`.
    /// One step, or steps of one size, keep the prior's fixed cost and give the rest to
    /// the rate (or, with a prior rate, share it by how sure each is); many steps of
    /// varied sizes, precisely dated, decide both themselves.
    fn fit(&self, prior: Prior) -> Option<Fit> {
        // No step, no weight.
        if self.w <= 0.0 {
            return None;
        }
        let mean_t = self.w_t / self.w;
        let mu = prior.fixed_us / 1e6;
        let lambda = 1.0 / (prior.fixed_share * mean_t).max(1e-3).powi(2);
        // A prior rate (s per MB = µs per byte) within itself either way.
        let (nu, kappa) = match prior.per_byte {
            Some(r) if r > 0.0 && r.is_finite() => (r, 1.0 / (r * r)),
            _ => (0.0, 0.0),
        };
        // The normal equations [[n, x], [x, xx]] · [fixed, per_mb] = [y, xy], each
        // sum with its prior's weight.
        let (n, x, xx) = (self.w + lambda, self.w_s, self.w_ss + kappa);
        let (y, xy) = (self.w_t + lambda * mu, self.w_st + kappa * nu);
        let det = n * xx - x * x;
        let (mut fixed, mut per_mb) = if det > 0.0 {
            ((y * xx - x * xy) / det, (n * xy - x * y) / det)
        } else {
            (mu, 0.0)
        };
        if per_mb < 0.0 {
            (fixed, per_mb) = (y / n, 0.0);
        }
        if fixed < 0.0 {
            (fixed, per_mb) = (0.0, if xx > 0.0 { xy / xx } else { 0.0 });
        }
        if !fixed.is_finite() || !per_mb.is_finite() {
            return None;
        }
        Some(Fit {
            fixed_us: fixed * 1e6,
            per_byte: per_mb,
            // The inverse of the normal equations' matrix: the fit's covariance.
            var: if det > 0.0 {
                [xx / det, -x / det, n / det]
            } else {
                [0.0; 3]
            },
        })
    }

    /// These steps and `other`'s together.
    fn with(self, other: &Self) -> Self {
        Self {
            took_us: self.took_us + other.took_us,
            planned_us: self.planned_us + other.planned_us,
            w: self.w + other.w,
            w_s: self.w_s + other.w_s,
            w_ss: self.w_ss + other.w_ss,
            w_t: self.w_t + other.w_t,
            w_st: self.w_st + other.w_st,
        }
    }

    /// The mean measured over planned time, when both are known.
    fn ratio(&self) -> Option<f64> {
        (self.planned_us > 0.0 && self.took_us > 0.0).then(|| self.took_us / self.planned_us)
    }
}

/// A fit of one kind of step: a fixed cost and a time per byte, and how far off they
/// may be.
#[derive(Debug, Clone, Copy)]
struct Fit {
    fixed_us: f64,
    /// µs per byte (= s per MB).
    per_byte: f64,
    /// Their covariance, in s², s²/MB and s²/MB².
    var: [f64; 3],
}

impl Fit {
    /// A step of `size` bytes, `sigma` standard deviations off the fit (never below
    /// nothing).
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn us(&self, size: u64, sigma: f64) -> u64 {
        let mb = size as f64 / 1e6;
        let [aa, ab, bb] = self.var;
        let sd = (aa + 2.0 * ab * mb + bb * mb * mb).max(0.0).sqrt() * 1e6;
        let us = self.fixed_us + self.per_byte * size as f64 + sigma * sd;
        us.clamp(0.0, 1e15) as u64
    }
}

/// Step costs: per kind, what the run has shown (the plan's throughput until then).
#[derive(Debug, Clone, Copy)]
struct Calibrated {
    plan: Throughput,
    /// The transfers' fit, once any has finished.
    transfer: Option<Fit>,
    /// The restores' fit, or before any has finished, what the transfers showed.
    restore: Option<Fit>,
    /// The transfers' measured time over the plan's.
    transfer_ratio: Option<f64>,
    /// Measured steps cost their fit plus this many of its standard deviations.
    sigma: f64,
}

impl Calibrated {
    /// The fits of the `transfer` and `restore` steps measured, once per replay (the
    /// replay asks every item's cost).
    ///
    /// Transfers are believed, before they tell, to cost the plan's fixed cost, scaled
    /// as their times scale the plan's, when the plan's split was measured or given;
    /// none when it is the default guess (a guessed 10 s would make every step look
    /// alike). Restores are believed to cost the transfers' fixed cost and their time
    /// per byte at the plan's ratio of rates (one machine, one set of disks), once
    /// transfers have shown them; else as transfers are.
    #[allow(clippy::cast_precision_loss)]
    fn new(plan: Throughput, transfer: &Scale, restore: &Scale) -> Self {
        let split_known = plan.from != ThroughputSource::Default;
        let planned_fixed_us = |scale: &Scale| {
            if split_known {
                plan.step_overhead_ms as f64 * 1e3 * scale.ratio().unwrap_or(1.0)
            } else {
                0.0
            }
        };
        let transfer_fit = transfer.fit(Prior {
            fixed_us: planned_fixed_us(transfer),
            fixed_share: FIXED_PRIOR_SHARE,
            per_byte: None,
        });
        let restore_prior = match transfer_fit {
            Some(fit) => Prior {
                fixed_us: fit.fixed_us,
                fixed_share: SHARED_FIXED_SHARE,
                per_byte: plan.restore_bytes_per_second.map(|rate| {
                    fit.per_byte * plan.transfer_bytes_per_second as f64 / rate.max(1) as f64
                }),
            },
            None => Prior {
                fixed_us: planned_fixed_us(restore),
                fixed_share: FIXED_PRIOR_SHARE,
                per_byte: None,
            },
        };
        let restore_fit = restore.fit(restore_prior).or_else(|| {
            restore_prior.per_byte.map(|per_byte| Fit {
                fixed_us: restore_prior.fixed_us,
                per_byte,
                var: [0.0; 3],
            })
        });
        Self {
            plan,
            transfer: transfer_fit,
            restore: restore_fit,
            transfer_ratio: transfer.ratio(),
            sigma: 0.0,
        }
    }
}

impl StepCost for Calibrated {
    fn transfer_us(&self, size: u64) -> u64 {
        match self.transfer {
            Some(fit) => fit.us(size, self.sigma),
            None => self.plan.transfer_us(size),
        }
    }

    fn restore_us(&self, size: u64) -> u64 {
        let planned = self.plan.restore_us(size);
        match (self.restore, self.transfer_ratio) {
            (Some(fit), _) => fit.us(size, self.sigma),
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            (None, Some(ratio)) => (planned as f64 * ratio).min(1e15) as u64,
            (None, None) => planned,
        }
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
