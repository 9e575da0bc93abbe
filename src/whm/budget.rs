//! One polling budget per server: no more state reads and log fetches than the guide's
//! step-by-step script would send.
//!
//! The script reads each running session's state and its whole master log once a
//! second. Every session followed on a server earns that allowance, two polls a second,
//! from when its following begins until it ends; every poll spends one. Of what the
//! followers save while the logs show the sessions going (the state is then only a
//! safety net), at most half is spent on extra polls when an end is due, whichever
//! session of the server ends first: the other half stays saved, so the runner stays
//! lighter than the script even where the script's own loop is slower than a second
//! (many sessions polled one after another).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Polls a second the script sends per running session: one state read, one log fetch.
const SCRIPT_POLLS_PER_SECOND: f64 = 2.0;

/// A server's polling budget, shared by the client's clones.
#[derive(Debug, Clone)]
pub struct PollBudget(Arc<Mutex<Allowance>>);

#[derive(Debug)]
struct Allowance {
    /// Sessions being followed now.
    following: u32,
    /// Polls earned up to `at`.
    earned: f64,
    at: Instant,
    /// Every poll sent.
    spent: u64,
    /// The extra polls among them.
    extra: u64,
}

impl Allowance {
    fn earn_until(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.earned += elapsed * SCRIPT_POLLS_PER_SECOND * f64::from(self.following);
        self.at = self.at.max(now);
    }
}

impl Default for PollBudget {
    fn default() -> Self {
        Self::new(Instant::now())
    }
}

impl PollBudget {
    /// A budget with nothing earned, as of `now`.
    pub fn new(now: Instant) -> Self {
        Self(Arc::new(Mutex::new(Allowance {
            following: 0,
            earned: 0.0,
            at: now,
            spent: 0,
            extra: 0,
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Allowance> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A session's following begins at `now`: it earns its allowance until the
    /// returned guard is dropped.
    #[must_use]
    pub fn follow(&self, now: Instant) -> Following {
        let mut a = self.lock();
        a.earn_until(now);
        a.following += 1;
        Following(self.clone())
    }

    /// One poll was sent.
    pub fn spend(&self) {
        self.lock().spent += 1;
    }

    /// Takes (and spends) one extra poll if half of what the followers saved against
    /// the script by `now` covers every extra poll so far and this one.
    pub fn take_extra(&self, now: Instant) -> bool {
        let mut a = self.lock();
        a.earn_until(now);
        let saved = a.earned - spent_polls(a.spent - a.extra);
        let ok = spent_polls(a.extra + 1) * 2.0 <= saved;
        a.extra += u64::from(ok);
        a.spent += u64::from(ok);
        ok
    }

    /// Polls earned and spent so far.
    pub fn totals(&self, now: Instant) -> (f64, u64) {
        let mut a = self.lock();
        a.earn_until(now);
        (a.earned, a.spent)
    }
}

#[allow(clippy::cast_precision_loss)] // exact below 2^52 polls
fn spent_polls(spent: u64) -> f64 {
    spent as f64
}

/// A followed session earning its allowance; it stops when dropped.
#[derive(Debug)]
pub struct Following(PollBudget);

impl Drop for Following {
    fn drop(&mut self) {
        let mut a = self.0.lock();
        a.earn_until(Instant::now());
        a.following = a.following.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::{PollBudget, SCRIPT_POLLS_PER_SECOND};
    use std::time::{Duration, Instant};

    /// How long one session must be followed to earn `polls`.
    fn earning(polls: u32) -> Duration {
        Duration::from_secs_f64(f64::from(polls) / SCRIPT_POLLS_PER_SECOND)
    }

    #[test]
    fn half_of_what_the_followers_saved_goes_to_extra_polls() {
        let t0 = Instant::now();
        let idle = PollBudget::new(t0);
        assert!(!idle.take_extra(t0 + earning(10)), "nothing followed");
        let budget = PollBudget::new(t0);
        let following = budget.follow(t0);
        assert!(
            !budget.take_extra(t0 + earning(1)),
            "1 saved: half is not a poll"
        );
        // 10 earned, 4 needed: 6 saved, 3 extra polls.
        for _ in 0..4 {
            budget.spend();
        }
        let at = t0 + earning(10);
        let taken = (0..10).take_while(|_| budget.take_extra(at)).count();
        assert_eq!(taken, 3);
        assert!(!budget.take_extra(at));
        // 2 more earned, 2 saved: one more extra.
        assert!(budget.take_extra(t0 + earning(12)));
        let (earned, spent) = budget.totals(t0 + earning(12));
        assert!((earned - 12.0).abs() < 1e-6, "{earned}");
        assert_eq!(spent, 4 + 4, "extras are spent when taken");
        drop(following);
    }

    #[test]
    fn sessions_share_what_they_saved_and_an_ended_one_earns_no_more() {
        let t0 = Instant::now();
        let budget = PollBudget::new(t0);
        let a = budget.follow(t0);
        let b = budget.clone().follow(t0);
        // Two sessions for 5 s earn 20 polls: with 16 needed, 2 extra for either.
        for _ in 0..16 {
            budget.spend();
        }
        let at = t0 + earning(10);
        assert!(budget.take_extra(at) && budget.take_extra(at));
        assert!(!budget.take_extra(at));
        drop((a, b));
        let (earned, _) = budget.totals(Instant::now() + earning(100));
        let (again, _) = budget.totals(Instant::now() + earning(200));
        assert!(
            (again - earned).abs() < 1e-6,
            "no session followed: {earned} → {again}"
        );
    }
}
