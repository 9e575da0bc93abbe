//! The `apply` world (`tests/fixtures/worlds/apply.toml`: a feature list, a package and
//! the accounts alice, bob and carol on `src.example.com`) and the checks the apply,
//! faults and waves tests make on it.

use super::{Case, SimContext, world};
use std::fmt::Write as _;
use whm_migrate::sim::{SimOptions, SimStats, TimeScale, World};

/// The accounts of the manifest.
pub const ACCOUNTS: [&str; 3] = ["alice", "bob", "carol"];

/// Every item of the manifest, as the simulator's counters key them.
pub const ITEMS: [&str; 5] = [
    "FeatureListRemoteRoot/gold features",
    "PackageRemoteRoot/gold",
    "AccountRemoteRoot/alice",
    "AccountRemoteRoot/bob",
    "AccountRemoteRoot/carol",
];

pub fn apply_world() -> World {
    world("apply")
}

/// Transfers slow enough (a few hundred ms per account) to act during a run.
pub fn slow() -> SimOptions {
    SimOptions {
        time_scale: TimeScale {
            bytes_per_second: 10_000_000,
            restore_bytes_per_second: 20_000_000,
            item_overhead_ms: 150,
        },
        ..SimOptions::default()
    }
}

/// A manifest named `name` for the `apply` world at `url`: its feature list, its
/// package, and the accounts alice, bob and carol, each followed by its own extra lines
/// (`accounts` gives them per user, e.g. `("alice", "wave = \"night-1\"")`).
pub fn apply_manifest(name: &str, url: &str, accounts: &[(&str, &str)]) -> String {
    let mut text = format!(
        r#"version = 1
name = "{name}"

[destination]
url = "{url}"
token = {{ env = "WHM_TEST_TOKEN" }}

[[sources]]
name = "old1"
host = "src.example.com"
kind = "root"
password = {{ env = "SRC_PW" }}

[[sources.feature_lists]]
name = "gold features"

[[sources.packages]]
name = "gold"
"#
    );
    for (user, extra) in accounts {
        let _ = write!(text, "\n[[sources.accounts]]\nuser = \"{user}\"\n{extra}\n");
    }
    text
}

/// The manifest `name` moving every item of the `apply` world at `url`, each account
/// on its domain.
pub fn every_item_manifest(name: &str, url: &str) -> String {
    apply_manifest(
        name,
        url,
        &[
            ("alice", "domain = \"alice.example\""),
            ("bob", "domain = \"bob.example\""),
            ("carol", "domain = \"carol.example\""),
        ],
    )
}

/// [`every_item_manifest`] for the simulator `sim`, as a case.
pub fn apply_case(sim: &SimContext, name: &str) -> Case {
    Case::new(&every_item_manifest(name, &sim.sim.base_url()))
}

/// Every account transferred and restored exactly once, every item restored once, and
/// the destination holds them all.
pub fn assert_exactly_once(sim: &SimContext, what: &str) {
    let s = sim.sim.stats();
    for user in ACCOUNTS {
        assert_eq!(
            s.transfers.get(&format!("src.example.com/{user}")),
            Some(&1),
            "{what}: transfers of {user}: {:#?}",
            s.transfers
        );
        assert_eq!(
            s.restores.get(user),
            Some(&1),
            "{what}: restores: {:#?}",
            s.restores
        );
    }
    assert_eq!(
        s.transfers.len(),
        ACCOUNTS.len(),
        "{what}: {:#?}",
        s.transfers
    );
    for item in ITEMS {
        assert_eq!(
            s.item_restores.get(item),
            Some(&1),
            "{what}: restores of {item}: {:#?}",
            s.item_restores
        );
    }
    assert_world_complete(&sim.sim.world());
}

/// The destination holds every account, the package and the feature list.
pub fn assert_world_complete(world: &World) {
    for user in ACCOUNTS {
        assert!(
            world.destination.account(user).is_some(),
            "{user} missing on the destination"
        );
    }
    assert!(world.destination.packages.iter().any(|p| p.name == "gold"));
    assert!(
        world
            .destination
            .featurelists
            .iter()
            .any(|f| f == "gold features")
    );
}

/// The one session anything was queued in.
pub fn the_session(s: &SimStats) -> String {
    assert_eq!(s.enqueues.len(), 1, "{:#?}", s.enqueues);
    s.enqueues.keys().next().unwrap().clone()
}
