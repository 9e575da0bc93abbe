//! Crash loop (issue 6 item 2): `apply` over 50 accounts, a package and a feature list,
//! killed with SIGKILL at 25 pseudo-random moments (before, during and after enqueueing,
//! while monitoring) and re-run each time, then run to completion. The destination ends
//! equal to the manifest, and the simulator's counters show every item moved once.

use crate::support::{Case, SimContext, calls, finish};
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use whm_migrate::sim::{SimOptions, SimStats, TimeScale, World};

const PASSWORD: &str = "CRASHLOOP-ROOTPW-1b9e";
const SOURCE: &str = "src.example.com";
const ACCOUNTS: usize = 50;
const KILLS: usize = 25;
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

/// Slowed so a full run lasts a few seconds.
fn slow() -> SimOptions {
    SimOptions {
        time_scale: TimeScale {
            bytes_per_second: 20_000_000,
            restore_bytes_per_second: 40_000_000,
            item_overhead_ms: 15,
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

    /// A delay in `0..max_ms` milliseconds.
    fn delay(&mut self, max_ms: u64) -> Duration {
        Duration::from_millis(self.next() % max_ms)
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
        // Short delays: each run restarts from the journal while the destination's
        // session moves on, so 25 of them spread over the whole migration. The first
        // A re-run after a kill while enqueueing re-enqueues every item the journal had
        // not saved yet (WHM refuses those already queued), so only a run given longer
        // than that reaches the start. The range widens round by round, so the first
        // kills land before and during enqueueing and the later ones while monitoring.
        let delay = rng.delay(40 + 16 * round as u64);
        let mut child = case.command("apply", &[]).spawn();
        tokio::time::sleep(delay).await;
        let when = format!("round {round} (killed after {delay:?})");
        if child.try_wait().unwrap().is_none() {
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
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "the crash loop took {:?}",
        started.elapsed()
    );
}
