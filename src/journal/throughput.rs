//! What this migration's earlier applies measured: bytes and elapsed time per finished
//! session, and the throughput they add up to (the plan's estimate and a rehearsal's
//! default speed use it).

use serde::{Deserialize, Serialize};

use super::store::Journal;

/// Runs kept per source: recent figures follow changes in the network or the servers.
pub const MAX_RUNS: usize = 10;

/// One session that ran to completion under an apply.
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
    /// From the start call to the end being noticed, in milliseconds.
    pub elapsed_ms: u64,
    /// TRANSFER workers the session ran (capped as WHM caps them).
    pub transfer_threads: u32,
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
