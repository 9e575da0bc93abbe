//! `--faults SEED`: the hardening issue's fault matrix, injected at stated rates and
//! chosen from the seed.
//!
//! What the seed decides, independently of timing:
//! * per account (a hash of seed, source host and user, never the request order):
//!   whether its TRANSFER or RESTORE step fails, or its worker dies once and is retried;
//! * one session-level event and the point it strikes, counted in completed restores:
//!   none, a pause from outside, an abort from outside, or a destination restart.
//!
//! Request-level faults (HTTP 500, answers lost after the server acted) are drawn from
//! the simulator's RNG, seeded too, but which request they hit depends on how many polls
//! the timing allowed. They are outcome-neutral by design: the client retries reads and
//! reconciles writes, and a run they stop is re-run like an operator would.

use crate::plan::Desired;
use crate::sim::Faults;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Share of requests answered HTTP 500 before the server acts.
pub const HTTP_500_RATE: f64 = 0.05;
/// Share of requests whose answer is lost after the server acted.
pub const LOST_ANSWER_RATE: f64 = 0.05;
/// Share of accounts whose TRANSFER step fails.
pub const TRANSFER_FAILURE_RATE: f64 = 0.05;
/// Share of accounts whose RESTORE step fails.
pub const RESTORE_FAILURE_RATE: f64 = 0.05;
/// Share of accounts whose worker dies once (retried by the server: slower, not failed).
pub const WORKER_CRASH_RATE: f64 = 0.05;

/// A session-level fault from outside the migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// Someone pauses the session in WHM.
    Pause,
    /// Someone aborts the session in WHM.
    Abort,
    /// The destination restarts (its state kept).
    Restart,
}

impl SessionEvent {
    /// How the report names it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Pause => "a pause from outside",
            Self::Abort => "an abort from outside",
            Self::Restart => "a destination restart",
        }
    }
}

/// What to inject, decided once from the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// The seed.
    pub seed: u64,
    /// The simulator's faults (request rates and the per-account failures).
    pub faults: Faults,
    /// The session-level event, and after how many completed restores it strikes.
    pub event: Option<(SessionEvent, u64)>,
}

impl FaultPlan {
    /// The plan for `seed` over the desired accounts.
    pub fn new(seed: u64, desired: &Desired) -> Self {
        let mut faults = Faults {
            http_500: HTTP_500_RATE,
            drop_after: LOST_ANSWER_RATE,
            ..Faults::default()
        };
        let mut items = 0_u64;
        for source in &desired.sources {
            for item in &source.items {
                items += 1;
                if !item.is_account() {
                    continue;
                }
                let draw = unit(seed, &[&source.host, &item.key]);
                let text = |step: &str| format!("rehearsal: injected {step} failure (seed {seed})");
                if draw < TRANSFER_FAILURE_RATE {
                    faults
                        .fail_transfer
                        .insert(item.key.clone(), text("transfer"));
                } else if draw < TRANSFER_FAILURE_RATE + RESTORE_FAILURE_RATE {
                    faults
                        .fail_restore
                        .insert(item.key.clone(), text("restore"));
                } else if draw < TRANSFER_FAILURE_RATE + RESTORE_FAILURE_RATE + WORKER_CRASH_RATE {
                    faults.worker_crash.insert(item.key.clone(), 1);
                }
            }
        }
        let pick = hash(seed, &["session-event"]);
        let event = match pick % 4 {
            1 => Some(SessionEvent::Pause),
            2 => Some(SessionEvent::Abort),
            3 => Some(SessionEvent::Restart),
            _ => None,
        }
        .map(|e| (e, (pick >> 8) % items.max(1)));
        Self {
            seed,
            faults,
            event,
        }
    }

    /// The injected per-account failures and crashes, `user → what`, for the report.
    pub fn per_item(&self) -> BTreeMap<String, &'static str> {
        let mut out = BTreeMap::new();
        for user in self.faults.fail_transfer.keys() {
            out.insert(user.clone(), "TRANSFER step fails");
        }
        for user in self.faults.fail_restore.keys() {
            out.insert(user.clone(), "RESTORE step fails");
        }
        for user in self.faults.worker_crash.keys() {
            out.insert(user.clone(), "worker dies once (retried)");
        }
        out
    }
}

fn hash(seed: u64, parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_be_bytes());
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().unwrap_or_default())
}

/// A draw in `0.0..1.0` from the seed and the parts.
fn unit(seed: u64, parts: &[&str]) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let x = (hash(seed, parts) >> 11) as f64 / (1_u64 << 53) as f64;
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{DesiredItem, DesiredSource, SessionKind};

    fn desired(users: usize) -> Desired {
        Desired {
            migration: "m".into(),
            sources: vec![DesiredSource {
                name: "old1".into(),
                host: "old1.example.com".into(),
                kind: SessionKind::Root,
                waive: Vec::new(),
                items: (0..users)
                    .map(|i| DesiredItem {
                        module: "AccountRemoteRoot".into(),
                        type_id: 3,
                        key: format!("user{i}"),
                        localuser: Some(format!("user{i}")),
                        domain: None,
                        force: false,
                        overwrite_dbs: false,
                        params: Vec::new(),
                        problems: Vec::new(),
                        waive: Vec::new(),
                        acknowledge: Vec::new(),
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn the_same_seed_picks_the_same_faults_and_rates_hold() {
        let d = desired(2000);
        let a = FaultPlan::new(7, &d);
        assert_eq!(a, FaultPlan::new(7, &d));
        assert_ne!(a.faults, FaultPlan::new(8, &d).faults);
        let share = |n: usize| {
            #[allow(clippy::cast_precision_loss)]
            let s = n as f64 / 2000.0;
            s
        };
        for (n, rate) in [
            (a.faults.fail_transfer.len(), TRANSFER_FAILURE_RATE),
            (a.faults.fail_restore.len(), RESTORE_FAILURE_RATE),
            (a.faults.worker_crash.len(), WORKER_CRASH_RATE),
        ] {
            assert!((share(n) - rate).abs() < 0.02, "{n} of 2000 for {rate}");
        }
    }

    #[test]
    fn an_accounts_fate_does_not_depend_on_the_others() {
        let small = FaultPlan::new(3, &desired(50));
        let big = FaultPlan::new(3, &desired(500));
        for (user, what) in small.per_item() {
            assert_eq!(big.per_item().get(&user), Some(&what), "{user}");
        }
    }
}
