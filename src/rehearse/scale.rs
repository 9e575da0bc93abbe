//! Speed and time: the throughput a rehearsal assumes, and the time scale that lets the
//! simulator play hours of transfers in seconds while the predicted makespan is given in
//! real-world time.

use crate::journal::StepPace;
use crate::sim::TimeScale;
use std::time::Duration;

/// The transfer throughput assumed when none is given and none was measured: 50 MB/s
/// (about 400 Mbit/s, a common sustained rate between two hosting servers).
pub const DEFAULT_SPEED_MB_S: f64 = 50.0;

/// One megabyte, as `--speed` counts it.
pub const MB: f64 = 1_000_000.0;

/// Restores run this many times faster than transfers (the simulator's default ratio:
/// unpacking on the destination is local, the transfer crosses the network).
pub const RESTORE_SPEEDUP: f64 = 2.0;

/// The fixed real-world cost of every item step (SSH set-up, packaging, restore
/// bookkeeping) that does not depend on its size.
pub const STEP_OVERHEAD: Duration = Duration::from_secs(5);

/// The shortest wall time a rehearsal's sessions aim to run: long enough that the
/// simulator's timer granularity stays small against the played time.
const TARGET_WALL: Duration = Duration::from_secs(2);

/// The shortest wall time one simulated item step may take.
const MIN_STEP_WALL: Duration = Duration::from_millis(20);

/// The speed to assume when `--speed` is not given, and where it comes from: the
/// transfer throughput per worker this migration's earlier applies measured (`measured`,
/// read from its journal, local or shared), else [`DEFAULT_SPEED_MB_S`].
pub fn default_speed(measured: Option<u64>) -> (f64, &'static str) {
    // Precision loss is irrelevant at these magnitudes.
    #[allow(clippy::cast_precision_loss)]
    match measured {
        Some(bytes_per_second) => (
            bytes_per_second as f64 / MB,
            "measured from this migration's earlier applies",
        ),
        None => (
            DEFAULT_SPEED_MB_S,
            "the default: no apply of this migration has been measured yet",
        ),
    }
}

/// How simulated time maps to real time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// The assumed transfer throughput, MB/s.
    pub speed_mb_s: f64,
    /// The assumed restore throughput, MB/s.
    pub restore_mb_s: f64,
    /// The assumed fixed cost of every item step.
    pub step: Duration,
    /// Real seconds per simulated second (≥ 1).
    pub factor: f64,
}

impl Scale {
    /// A scale for `speed_mb_s` (restores [`RESTORE_SPEEDUP`] times as fast, every step
    /// [`STEP_OVERHEAD`] besides) that plays `work` (per source: its bytes, its item
    /// count and its transfer threads) in a few seconds of wall time.
    pub fn new(speed_mb_s: f64, work: &[SourceWork]) -> Self {
        let speed = speed_mb_s.max(0.001);
        Self::sized(speed, speed * RESTORE_SPEEDUP, STEP_OVERHEAD, work)
    }

    /// A scale for the step costs earlier applies' sessions were fitted to: their
    /// transfer and restore rates and fixed cost per step, none of them folded into
    /// another (`journal::measured_pace`).
    #[allow(clippy::cast_precision_loss)]
    pub fn paced(pace: StepPace, work: &[SourceWork]) -> Self {
        Self::sized(
            (pace.transfer_bytes_per_second as f64 / MB).max(0.001),
            (pace.restore_bytes_per_second as f64 / MB).max(0.001),
            Duration::from_millis(pace.step_ms),
            work,
        )
    }

    fn sized(speed: f64, restore: f64, step: Duration, work: &[SourceWork]) -> Self {
        let mut estimate = 0.0_f64;
        let mut steps = 0.0_f64;
        for w in work {
            let threads = f64::from(w.threads.max(1));
            #[allow(clippy::cast_precision_loss)]
            let (bytes, items) = (w.bytes as f64, w.items as f64);
            let serial = bytes / (speed * MB) + items * step.as_secs_f64();
            estimate = estimate.max(serial / threads);
            steps = steps.max(items / threads);
        }
        let wall = TARGET_WALL
            .as_secs_f64()
            .max(steps * MIN_STEP_WALL.as_secs_f64());
        Self {
            speed_mb_s: speed,
            restore_mb_s: restore,
            step,
            factor: (estimate / wall).max(1.0),
        }
    }

    /// The simulator's time scale.
    pub fn time_scale(&self) -> TimeScale {
        let bytes = |mb_s: f64| mb_s * MB * self.factor;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        TimeScale {
            bytes_per_second: (bytes(self.speed_mb_s).round() as u64).max(1),
            restore_bytes_per_second: (bytes(self.restore_mb_s).round() as u64).max(1),
            item_overhead_ms: (self.step.as_secs_f64() * 1000.0 / self.factor).round() as u64,
        }
    }

    /// A simulated duration in real-world time.
    pub fn real(&self, simulated: Duration) -> Duration {
        simulated.mul_f64(self.factor)
    }
}

/// What one source has to move, for sizing the time scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceWork {
    /// Bytes to transfer.
    pub bytes: u64,
    /// Items to transfer.
    pub items: usize,
    /// Transfer threads of its session.
    pub threads: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_migration_is_compressed_and_small_work_is_not() {
        let big = Scale::new(
            100.0,
            &[SourceWork {
                bytes: 1_000_000_000_000,
                items: 10,
                threads: 2,
            }],
        );
        // 10,000 s of transfer + 50 s overhead over 2 threads, played in 2 s.
        assert!((big.factor - 5025.0 / 2.0).abs() < 1.0, "{big:?}");
        assert_eq!(big.time_scale().bytes_per_second, 251_250_000_000);
        assert_eq!(big.real(Duration::from_secs(2)), Duration::from_secs(5025));
        let small = Scale::new(100.0, &[SourceWork::default()]);
        assert!((small.factor - 1.0).abs() < f64::EPSILON);
        assert_eq!(small.time_scale().item_overhead_ms, 5000);
    }

    #[test]
    fn measured_step_costs_are_played_as_measured() {
        let pace = StepPace {
            step_ms: 700,
            transfer_bytes_per_second: 40_000_000,
            restore_bytes_per_second: 70_000_000,
        };
        let work = [SourceWork {
            bytes: 4_000_000_000,
            items: 10,
            threads: 2,
        }];
        let scale = Scale::paced(pace, &work);
        // 100 s of transfer + 7 s of fixed cost over 2 threads, played in 2 s.
        assert!((scale.factor - 107.0 / 2.0 / 2.0).abs() < 1e-9, "{scale:?}");
        let t = scale.time_scale();
        // No restore speed-up and no 5 s per step on top of what was measured.
        assert_eq!(t.bytes_per_second, 1_070_000_000);
        assert_eq!(t.restore_bytes_per_second, 1_872_500_000);
        assert_eq!(t.item_overhead_ms, 26);
    }
}
