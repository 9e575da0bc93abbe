//! What this migration's earlier applies measured: bytes and elapsed time per finished
//! session, and the throughput they add up to (the plan's estimate and a rehearsal's
//! default speed use it).

use serde::{Deserialize, Serialize};

use super::store::Journal;

/// Runs kept per source: recent figures follow changes in the network or the servers.
pub const MAX_RUNS: usize = 10;

/// One session that ran to completion under an apply (started by it, or by an earlier
/// apply it resumed following).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The session id.
    pub session: String,
    /// When it finished (RFC 3339, UTC).
    pub finished_at: String,
    /// The wave the run covered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    /// Items the session processed.
    pub items: usize,
    /// Bytes they moved (the analysis' sizes).
    pub bytes: u64,
    /// From the start call to the end being noticed, in milliseconds; 0 for a session
    /// an earlier apply started (its start was not seen): only its `pace` counts.
    pub elapsed_ms: u64,
    /// TRANSFER workers the session ran (capped as WHM caps them).
    pub transfer_threads: u32,
    /// Its steps' fixed cost and rates, as the live estimate fitted them at its end;
    /// absent in runs recorded before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pace: Option<StepPace>,
}

/// What one session's steps cost: a fixed time per step and a rate per kind of step,
/// fitted to every step the session finished (sizes that differ tell the fixed cost
/// from the rate, which a whole session's bytes over its time cannot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepPace {
    /// Fixed time every step takes, in milliseconds.
    pub step_ms: u64,
    /// Bytes per second one TRANSFER worker moves.
    pub transfer_bytes_per_second: u64,
    /// Bytes per second one RESTORE worker processes.
    pub restore_bytes_per_second: u64,
}

impl Journal {
    /// Records a finished run of `source`, keeping the newest [`MAX_RUNS`].
    pub fn record_run(&mut self, source: &str, run: RunRecord) {
        let runs = &mut self.sources.entry(source.to_owned()).or_default().runs;
        runs.retain(|r| r.session != run.session);
        runs.push(run);
        let extra = runs.len().saturating_sub(MAX_RUNS);
        runs.drain(..extra);
    }
}

/// Bytes per second per TRANSFER worker over every recorded run of every source: all
/// bytes over all worker-time (elapsed × workers). Restores and fixed per-item costs are
/// inside that figure. None until a run that moved data has been recorded.
pub fn measured_throughput(journal: &Journal) -> Option<u64> {
    let (bytes, worker_ms) = journal
        .sources
        .values()
        .flat_map(|s| &s.runs)
        .filter(|r| r.bytes > 0 && r.elapsed_ms > 0)
        .fold((0u128, 0u128), |(b, t), r| {
            (
                b + u128::from(r.bytes),
                t + u128::from(r.elapsed_ms) * u128::from(r.transfer_threads.max(1)),
            )
        });
    if worker_ms == 0 {
        return None;
    }
    u64::try_from(bytes * 1000 / worker_ms)
        .ok()
        .filter(|s| *s > 0)
}

/// The step costs of every recorded run that kept them, together: the fixed cost
/// weighted by items, each rate by the bytes it moved (time per byte averaged). None
/// until such a run has been recorded.
pub fn measured_pace(journal: &Journal) -> Option<StepPace> {
    pace_of(journal.sources.values().flat_map(|s| &s.runs))
}

/// The step costs `source`'s own runs measured: its transfers' fixed cost and rate (its
/// server, its link), and restores at the rate every source's runs measured together
/// (they all restore on the one destination). None until that source has such a run.
pub fn source_pace(journal: &Journal, source: &str) -> Option<StepPace> {
    let own = pace_of(journal.sources.get(source)?.runs.iter())?;
    let all = measured_pace(journal)?;
    Some(StepPace {
        restore_bytes_per_second: all.restore_bytes_per_second,
        ..own
    })
}

/// The step costs of `runs` together (those that kept them).
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn pace_of<'a>(runs: impl Iterator<Item = &'a RunRecord>) -> Option<StepPace> {
    let (mut items, mut step_ms, mut bytes, mut transfer_s, mut restore_s) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    for (run, pace) in runs.filter_map(|r| Some((r, r.pace?))).filter(|(r, p)| {
        r.items > 0
            && r.bytes > 0
            && p.transfer_bytes_per_second > 0
            && p.restore_bytes_per_second > 0
    }) {
        let (n, b) = (run.items as f64, run.bytes as f64);
        items += n;
        step_ms += n * pace.step_ms as f64;
        bytes += b;
        transfer_s += b / pace.transfer_bytes_per_second as f64;
        restore_s += b / pace.restore_bytes_per_second as f64;
    }
    (items > 0.0 && transfer_s > 0.0 && restore_s > 0.0).then(|| StepPace {
        step_ms: (step_ms / items).round() as u64,
        transfer_bytes_per_second: ((bytes / transfer_s).round() as u64).max(1),
        restore_bytes_per_second: ((bytes / restore_s).round() as u64).max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(session: &str, bytes: u64, elapsed_ms: u64, threads: u32) -> RunRecord {
        RunRecord {
            session: session.to_owned(),
            finished_at: super::super::now(),
            wave: None,
            items: 3,
            bytes,
            elapsed_ms,
            transfer_threads: threads,
            pace: None,
        }
    }

    #[test]
    fn throughput_is_bytes_over_worker_time() {
        let mut j = Journal::default();
        assert_eq!(measured_throughput(&j), None);
        // 100 MB in 5 s on 2 workers, and 60 MB in 6 s on 1: 160 MB / 16 worker-s.
        j.record_run("old1", run("s1", 100_000_000, 5_000, 2));
        j.record_run("old2", run("s2", 60_000_000, 6_000, 1));
        assert_eq!(measured_throughput(&j), Some(10_000_000));
        // A session recorded twice counts once.
        j.record_run("old2", run("s2", 60_000_000, 6_000, 1));
        assert_eq!(j.sources["old2"].runs.len(), 1);
        // Empty runs measure nothing.
        let mut idle = Journal::default();
        idle.record_run("old1", run("s3", 0, 4_000, 1));
        assert_eq!(measured_throughput(&idle), None);
    }

    #[test]
    fn runs_that_kept_their_step_costs_give_them_together() {
        let mut j = Journal::default();
        j.record_run("old1", run("s1", 100_000_000, 5_000, 2));
        assert_eq!(measured_pace(&j), None, "no run kept its step costs");
        let paced = |session, bytes, step_ms, transfer, restore| RunRecord {
            pace: Some(StepPace {
                step_ms,
                transfer_bytes_per_second: transfer,
                restore_bytes_per_second: restore,
            }),
            ..run(session, bytes, 10_000, 3)
        };
        // 3 items each: fixed costs of 1 s and 2 s give 1.5 s. 100 MB at 10 MB/s and
        // 300 MB at 30 MB/s: 20 s for 400 MB, 20 MB/s.
        j.record_run(
            "old1",
            paced("s2", 100_000_000, 1_000, 10_000_000, 20_000_000),
        );
        j.record_run(
            "old2",
            paced("s3", 300_000_000, 2_000, 30_000_000, 60_000_000),
        );
        assert_eq!(
            measured_pace(&j),
            Some(StepPace {
                step_ms: 1_500,
                transfer_bytes_per_second: 20_000_000,
                restore_bytes_per_second: 40_000_000,
            })
        );
        // Each source's own: its transfers' fixed cost and rate, with the restore rate
        // of both together (one destination).
        assert_eq!(
            source_pace(&j, "old2"),
            Some(StepPace {
                step_ms: 2_000,
                transfer_bytes_per_second: 30_000_000,
                restore_bytes_per_second: 40_000_000,
            })
        );
        assert_eq!(source_pace(&j, "old3"), None, "no run of its own");
        // A run recorded before step costs were kept reads as one without them.
        let old: RunRecord = serde_json::from_value(serde_json::json!({
            "session": "s0", "finished_at": "2026-12-01T00:00:00Z", "items": 1,
            "bytes": 1, "elapsed_ms": 1, "transfer_threads": 1
        }))
        .unwrap();
        assert_eq!(old.pace, None);
    }

    #[test]
    fn only_the_newest_runs_are_kept() {
        let mut j = Journal::default();
        for i in 0..(MAX_RUNS + 3) {
            j.record_run("old1", run(&format!("s{i}"), 1, 1, 1));
        }
        let runs = &j.sources["old1"].runs;
        assert_eq!(runs.len(), MAX_RUNS);
        assert_eq!(runs[0].session, "s3");
    }
}
