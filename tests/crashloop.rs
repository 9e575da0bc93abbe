//! Crash loop (issue 6 item 2): `apply` over 50 accounts, a package and a feature list,
//! killed with SIGKILL at 25 pseudo-random moments (before, during and after enqueueing,
//! while monitoring) and re-run each time, then run to completion. The destination ends
//! equal to the manifest, and the simulator's counters show every item moved once.
//!
//! A moment is an event, never a length of time: so many calls into a run, or so many
//! more item steps done on the destination, as the simulator counts them. The same
//! kills land wherever the machine's speed puts the run in time.

use crate::support::{Case, SimContext, calls, finish, wait_for};
use std::fmt::Write as _;
use std::time::Instant;
use whm_migrate::sim::{SimOptions, SimStats, TimeScale, World};

const PASSWORD: &str = "CRASHLOOP-ROOTPW-1b9e";
const SOURCE: &str = "src.example.com";
const ACCOUNTS: usize = 50;
const KILLS: usize = 25;
/// The first kills land by calls into a run (before, during and after enqueueing); the
/// later ones by item steps done (while monitoring).
const KILLS_BY_CALLS: usize = 8;
fn user(i: usize) -> String {
    format!("acct{i:02}")
}

/// The source: a feature list, a package using it, and 50 accounts (every other one on
/// the package).
fn world() -> World {
    let mut text = format!(
        r#"[destination]
hostname = "dest.example.com"

[sources."{SOURCE}"]
featurelists = ["default", "gold features"]

[sources."{SOURCE}".credentials]
root_password = "{PASSWORD}"

[[sources."{SOURCE}".packages]]
name = "gold"
featurelist = "gold features"
"#
    );
    for i in 0..ACCOUNTS {
        let plan = if i % 2 == 0 { "gold" } else { "default" };
        write!(
            text,
            r#"
[[sources."{SOURCE}".accounts]]
user = "{u}"
domain = "{u}.example"
plan = "{plan}"
bytesused = {bytes}
"#,
            u = user(i),
            bytes = 500_000 + (i as u64 % 7) * 100_000,
        )
        .unwrap();
    }
    World::from_toml_str(&text).unwrap()
}

/// Slowed so the destination's session outlasts the loop, so the final run finds the
/// rest to do (its report must show every item). The session moves on between runs;
/// while monitoring, a run is killed only after the session made a step or more, so a
/// round costs the session about the larger of those steps and the steps it makes while
/// the next run starts. A step takes a quarter second here, a start about a tenth: the
/// seventeen monitoring rounds use about a third of the session's 102 steps, on an idle
/// machine as on a loaded one. Only starts taking most of a second would use them all.
fn slow() -> SimOptions {
    SimOptions {
        time_scale: TimeScale {
            bytes_per_second: 20_000_000,
            restore_bytes_per_second: 40_000_000,
            item_overhead_ms: 250,
        },
        ..SimOptions::default()
    }
}

/// The manifest: every item of the world, each account on its domain.
fn case(sim: &SimContext) -> Case {
    let mut text = format!(
        r#"version = 1
name = "crashloop"

[destination]
url = "{url}"
token = {{ env = "WHM_TEST_TOKEN" }}

[[sources]]
name = "old1"
host = "{SOURCE}"
kind = "root"
password = {{ env = "SRC_PW" }}

[[sources.feature_lists]]
name = "gold features"

[[sources.packages]]
name = "gold"
"#,
        url = sim.sim.base_url()
    );
    for i in 0..ACCOUNTS {
        write!(
            text,
            "\n[[sources.accounts]]\nuser = \"{u}\"\ndomain = \"{u}.example\"\n",
            u = user(i)
        )
        .unwrap();
    }
    Case::new(&text).with_env("SRC_PW", PASSWORD)
}

/// A point in a run, from the simulator's counters.
type Milestone = Box<dyn Fn(&SimStats) -> bool>;

/// A fixed-seed linear congruential generator (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A number in `1..=max`.
    fn upto(&mut self, max: u64) -> u64 {
        1 + self.next() % max
    }
}

/// Where a run was when it was killed, from the counters.
fn phase(s: &SimStats) -> &'static str {
    let items = ACCOUNTS as u64 + 2;
    let queued: u64 = s.enqueues.values().flat_map(|m| m.values()).sum();
    if s.sessions_created == 0 {
        "before the session"
    } else if queued == 0 {
        "session created, nothing queued"
    } else if queued < items && calls(s, "start_transfer_session") == 0 {
        "while enqueueing"
    } else if calls(s, "start_transfer_session") == 0 {
        "after enqueueing, before the start"
    } else {
        "while monitoring"
    }
}

/// Calls the simulator answered, all functions together.
fn total_calls(s: &SimStats) -> u64 {
    s.calls.values().sum()
}

/// Item steps the destination finished: account transfers and item restores.
fn steps(s: &SimStats) -> u64 {
    s.transfers.values().sum::<u64>() + s.item_restores.values().sum::<u64>()
}

/// No effect happened twice, and no session got an item twice.
fn assert_no_duplicate(s: &SimStats, when: &str) {
    assert!(
        s.transfers.values().all(|n| *n == 1),
        "{when}: {:#?}",
        s.transfers
    );
    assert!(
        s.restores.values().all(|n| *n == 1),
        "{when}: {:#?}",
        s.restores
    );
    assert!(
        s.item_restores.values().all(|n| *n == 1),
        "{when}: {:#?}",
        s.item_restores
    );
    for (session, items) in &s.enqueues {
        assert!(
            items.values().all(|n| *n == 1),
            "{when}: an item enqueued twice in session {session}: {items:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_25_times_at_random_moments_apply_still_moves_everything_exactly_once() {
    let started = Instant::now();
    let sim = SimContext::with(world(), slow()).await;
    let case = case(&sim);
    let mut rng = Lcg(0x00c0_ffee_2024);
    let mut killed = 0;
    let mut phases = std::collections::BTreeMap::<&str, u32>::new();
    for round in 0..KILLS {
        // The moment, drawn before the run starts, counted from what the simulator has
        // seen so far.
        let (calls0, steps0) = {
            let s = sim.sim.stats();
            (total_calls(&s), steps(&s))
        };
        let (when, milestone): (String, Milestone) = if round < KILLS_BY_CALLS {
            // So many calls into the run (the first run's first three are the plan's
            // reads, before any session). A re-run after a kill while enqueueing
            // re-enqueues every item the journal had not saved yet (WHM refuses
            // those already queued), so only a run given more calls than that
            // reaches the start. The range widens round by round, so the first
            // kills land before and during enqueueing and the later ones past it.
            let k = rng.upto(3 + 8 * round as u64);
            (
                format!("round {round} (killed after {k} calls)"),
                Box::new(move |s| total_calls(s) >= calls0 + k),
            )
        } else {
            // While monitoring: a few calls into the run (its plan, its first
            // polls) and a few more item steps done by the destination's session,
            // which moves on between runs, so these spread over the rest of it.
            let (k, j) = (rng.upto(4), rng.upto(3));
            (
                format!("round {round} (killed after {k} calls and {j} item steps)"),
                Box::new(move |s| total_calls(s) >= calls0 + k && steps(s) >= steps0 + j),
            )
        };
        let mut child = case.command("apply", &[]).spawn();
        let reached = wait_for(&sim, &mut child, milestone).await;
        if reached && child.try_wait().unwrap().is_none() {
            child.kill().await.unwrap(); // SIGKILL
            killed += 1;
            let s = sim.sim.stats();
            eprintln!(
                "{when}: {} at {:?}, {} queued, {} transferred",
                phase(&s),
                started.elapsed(),
                s.enqueues.values().flat_map(|m| m.values()).sum::<u64>(),
                s.transfers.len()
            );
            *phases.entry(phase(&s)).or_default() += 1;
        }
        let out = finish(child).await;
        assert!(
            out.code.is_none() || out.code == Some(0),
            "{when}: {out:#?}"
        );
        assert_no_duplicate(&sim.sim.stats(), &when);
    }
    eprintln!("{killed} kills landed: {phases:#?}");
    // Guards that the loop tested something, loosely enough for a loaded machine: the
    // exactly-once checks above and below are the point.
    assert!(killed >= 10, "only {killed} kill(s) landed: {phases:#?}");
    assert!(
        phases.len() >= 2,
        "the kills did not spread over the run: {phases:#?}"
    );

    let out = case.run("apply", &[]).await;
    assert_eq!(out.code, Some(0), "{out:#?}");

    // The destination equals the manifest.
    let world = sim.sim.world();
    for i in 0..ACCOUNTS {
        let u = user(i);
        let account = world
            .destination
            .account(&u)
            .unwrap_or_else(|| panic!("{u} missing on the destination"));
        assert_eq!(account.domain, format!("{u}.example"));
    }
    assert!(world.destination.packages.iter().any(|p| p.name == "gold"));
    assert!(
        world
            .destination
            .featurelists
            .iter()
            .any(|f| f == "gold features")
    );

    // Every item transferred and restored exactly once.
    let s = sim.sim.stats();
    assert_no_duplicate(&s, "at the end");
    assert_eq!(s.transfers.len(), ACCOUNTS, "{:#?}", s.transfers);
    assert_eq!(s.restores.len(), ACCOUNTS, "{:#?}", s.restores);
    for i in 0..ACCOUNTS {
        let u = user(i);
        assert_eq!(s.transfers.get(&format!("{SOURCE}/{u}")), Some(&1), "{u}");
        assert_eq!(s.restores.get(&u), Some(&1), "{u}");
        assert_eq!(
            s.item_restores.get(&format!("AccountRemoteRoot/{u}")),
            Some(&1),
            "{u}"
        );
    }
    for item in [
        "PackageRemoteRoot/gold",
        "FeatureListRemoteRoot/gold features",
    ] {
        assert_eq!(s.item_restores.get(item), Some(&1), "{item}");
    }
    assert_eq!(
        s.item_restores.len(),
        ACCOUNTS + 2,
        "{:#?}",
        s.item_restores
    );
    assert!(
        out.stdout
            .contains(&format!("Total over 1 source: {} items", ACCOUNTS + 2)),
        "{out:#?}"
    );
}
