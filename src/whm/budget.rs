//! One polling budget per server: no more state reads and log fetches than the guide's
//! step-by-step script would send.
//!
//! The script reads each running session's state and its whole master log, one session
//! after another, then sleeps a second: a pass over its sessions takes a second plus
//! the time their answers take. Every session followed on a server earns what the script
//! would send it, two polls a pass, from when its following begins until it ends, at the
//! pace this server answers; every poll spends one. Of what the followers save while the
//! logs show the sessions going (the state is then only a safety net), at most half is
//! spent on extra polls when an end is due, whichever session of the server ends first;
//! the other half stays saved.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Polls the script sends per running session in each pass: a state read, a log fetch.
const SCRIPT_POLLS_PER_PASS: f64 = 2.0;

/// What the script sleeps between passes.
const SCRIPT_SLEEP: f64 = 1.0;

/// How much a new answer time moves the running mean.
const ANSWER_WEIGHT: f64 = 0.1;

/// An answer time counts as at most this (a log held until it is finished would say
/// the script never polls again).
const LONGEST_ANSWER: Duration = Duration::from_secs(2);

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
    /// The running mean of how long a poll takes to answer, in seconds.
    answer: f64,
}

impl Allowance {
    fn earn_until(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        let following = f64::from(self.following);
        let pass = SCRIPT_SLEEP + following * SCRIPT_POLLS_PER_PASS * self.answer;
        self.earned += elapsed / pass * SCRIPT_POLLS_PER_PASS * following;
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
            answer: 0.0,
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

    /// A poll took `took` to answer (the script's passes take as long).
    pub fn answered(&self, took: Duration, now: Instant) {
        let mut a = self.lock();
        a.earn_until(now);
        let took = took.min(LONGEST_ANSWER).as_secs_f64();
        a.answer += (took - a.answer) * ANSWER_WEIGHT;
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
    #[cfg(test)]
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
        tracing::trace!(
            following = a.following,
            earned = a.earned,
            spent = a.spent,
            extra = a.extra,
            "poll budget"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{PollBudget, SCRIPT_POLLS_PER_PASS};
    use std::time::{Duration, Instant};

    /// How long one session must be followed to earn `polls` from a server that
    /// answers at once.
    fn earning(polls: u32) -> Duration {
        Duration::from_secs_f64(f64::from(polls) / SCRIPT_POLLS_PER_PASS)
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
    fn a_server_slow_to_answer_slows_the_script_and_what_it_earns() {
        let t0 = Instant::now();
        let budget = PollBudget::new(t0);
        let sessions: Vec<_> = (0..50).map(|_| budget.follow(t0)).collect();
        // Every poll answered in 5 ms: a pass over 50 sessions is 1 s of sleep plus
        // 100 answers (0.5 s), so 10 s earn 2 × 50 polls a pass over 6.67 passes.
        for _ in 0..200 {
            budget.answered(Duration::from_millis(5), t0);
        }
        let (earned, _) = budget.totals(t0 + Duration::from_secs(10));
        assert!((earned - 10.0 / 1.5 * 100.0).abs() < 5.0, "{earned}");
        drop(sessions);
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
