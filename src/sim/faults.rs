//! Fault injection: what can go wrong on purpose, and the per-request draw.
//!
//! Faults are set in [`super::SimOptions`], at runtime with
//! [`super::SimHandle::set_faults`], or over HTTP with `POST /__sim/faults` (a JSON
//! [`Faults`] body; missing fields take their defaults, i.e. off). They never apply to
//! `/__sim/*`. Probabilities are drawn from the simulator's seeded RNG.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// The fault configuration. Every probability is in `0.0..=1.0`; all default to off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Probability of delaying a request by `latency_ms`.
    pub latency_probability: f64,
    /// The delay, in milliseconds.
    pub latency_ms: u64,
    /// Probability of answering HTTP 500 before the function runs.
    pub http_500: f64,
    /// Probability of closing the connection before the function runs.
    pub drop_before: f64,
    /// Probability of running the function, then closing the connection unanswered.
    pub drop_after: f64,
    /// Probability of a result-0 answer on read-only calls (the function does not run).
    pub result_zero: f64,
    /// Probability of answering an HTML page (HTTP 200) instead of JSON.
    pub html_page: f64,
    /// Probability of cutting the JSON body in half.
    pub truncated_json: f64,
    /// Source user → failure text for its TRANSFER step.
    pub fail_transfer: BTreeMap<String, String>,
    /// Source user → failure text for its RESTORE step.
    pub fail_restore: BTreeMap<String, String>,
    /// Source user → how many times the worker handling it dies (`child-failed`) before
    /// the retry succeeds.
    pub worker_crash: BTreeMap<String, u32>,
    /// When a session ends FAILED or ABORTED, show COMPLETED for this many milliseconds
    /// first (REFERENCE §5.2's rare flicker). 0 = off.
    pub flicker_ms: u64,
    /// WHM function → how many of its next calls answer result 0 without running (a
    /// busy or restarting cpsrvd), counted down per call.
    #[serde(default)]
    pub result_zero_calls: BTreeMap<String, u32>,
    /// WHM function → hold its answer this many milliseconds after it ran (a slow
    /// network on the way back: the window in which a client can die after the server
    /// acted but before it learned the result).
    pub answer_delay_ms: BTreeMap<String, u64>,
    /// WHM function → what its next calls suffer, one entry per call in arrival order
    /// (`ok` for none), instead of the random draw: a lost answer on exactly the call a
    /// test means.
    pub call_script: BTreeMap<String, Vec<CallFault>>,
    /// The refusal text of a duplicate `enqueue_transfer_item` (after the `(XID …)`),
    /// instead of WHM's English sentence: another server's wording or language, which a
    /// client must not need to read (REFERENCE §8).
    pub duplicate_wording: Option<String>,
}

/// What one scripted call suffers ([`Faults::call_script`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallFault {
    /// Nothing.
    Ok,
    /// The connection is closed before the function runs.
    DropBefore,
    /// The function runs, then the connection is closed unanswered.
    DropAfter,
    /// A result-0 answer; the function does not run.
    ResultZero,
}

/// What a single request suffers, decided up front.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFaults {
    /// Sleep this long first.
    pub latency_ms: u64,
    /// Answer 500.
    pub http_500: bool,
    /// Drop before acting.
    pub drop_before: bool,
    /// Drop after acting.
    pub drop_after: bool,
    /// Answer result 0 if the call is read-only.
    pub result_zero: bool,
    /// `result_zero` was asked for this very call (`result_zero_calls`): it applies to
    /// any function.
    pub forced: bool,
    /// Answer an HTML page.
    pub html_page: bool,
    /// Truncate the body.
    pub truncated_json: bool,
}

/// Fault kinds as counted in the stats.
pub mod kind {
    /// Latency added.
    pub const LATENCY: &str = "latency";
    /// HTTP 500 answered.
    pub const HTTP_500: &str = "http_500";
    /// Connection dropped before acting.
    pub const DROP_BEFORE: &str = "drop_before";
    /// Connection dropped after acting.
    pub const DROP_AFTER: &str = "drop_after";
    /// Result-0 answer.
    pub const RESULT_ZERO: &str = "result_zero";
    /// HTML page answered.
    pub const HTML_PAGE: &str = "html_page";
    /// JSON cut short.
    pub const TRUNCATED_JSON: &str = "truncated_json";
    /// Scripted transfer failure.
    pub const FAIL_TRANSFER: &str = "fail_transfer";
    /// Scripted restore failure.
    pub const FAIL_RESTORE: &str = "fail_restore";
    /// Worker crash.
    pub const WORKER_CRASH: &str = "worker_crash";
    /// COMPLETED flicker.
    pub const FLICKER: &str = "flicker";
    /// An answer held back after the function ran.
    pub const ANSWER_DELAY: &str = "answer_delay";
    /// Session acted on through `/__sim/sessions/…`.
    pub const ADMIN: &str = "admin";
}

impl Faults {
    /// Draws this request's faults. At most one of the "answer" faults is chosen.
    pub fn draw(&self, rng: &mut impl Rng) -> RequestFaults {
        let mut hit = |p: f64| p > 0.0 && rng.random::<f64>() < p;
        let mut f = RequestFaults {
            latency_ms: if hit(self.latency_probability) {
                self.latency_ms
            } else {
                0
            },
            ..RequestFaults::default()
        };
        if hit(self.http_500) {
            f.http_500 = true;
        } else if hit(self.drop_before) {
            f.drop_before = true;
        } else if hit(self.result_zero) {
            f.result_zero = true;
        } else if hit(self.drop_after) {
            f.drop_after = true;
        } else if hit(self.html_page) {
            f.html_page = true;
        } else if hit(self.truncated_json) {
            f.truncated_json = true;
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn certain_and_impossible_faults() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert_eq!(Faults::default().draw(&mut rng), RequestFaults::default());
        let f = Faults {
            drop_after: 1.0,
            latency_probability: 1.0,
            latency_ms: 3,
            ..Faults::default()
        };
        let d = f.draw(&mut rng);
        assert!(d.drop_after && !d.drop_before && d.latency_ms == 3);
    }
}
