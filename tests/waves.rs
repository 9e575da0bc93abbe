//! Waves (issue 11): one manifest moved over several runs with `--wave`. The binary runs
//! against the in-process simulator; every effect is read from the simulator's counters.

use crate::support::apply_world::apply_manifest;
use crate::support::{self, Case, SimContext};
use whm_migrate::sim::SimStats;

const NIGHT_1: [&str; 1] = ["alice"];
const NIGHT_2: [&str; 2] = ["bob", "carol"];
/// The migration's name (its journal's).
const NAME: &str = "waves-test";

/// The `apply` world's manifest, alice in wave night-1, bob and carol in night-2; the
/// feature list and the package name no wave.
fn case(sim: &SimContext) -> Case {
    Case::new(&apply_manifest(
        NAME,
        &sim.sim.base_url(),
        &[
            ("alice", "wave = \"night-1\""),
            ("bob", "wave = \"night-2\""),
            ("carol", "wave = \"night-2\""),
        ],
    ))
}

/// Whether the simulator saw `user` enqueued, transferred or restored at all.
fn touched(s: &SimStats, user: &str) -> bool {
    s.enqueue_count(&format!("AccountRemoteRoot/{user}")) > 0
        || s.transfers.contains_key(&format!("src.example.com/{user}"))
        || s.restores.contains_key(user)
}

fn once(s: &SimStats, user: &str) {
    assert_eq!(
        s.enqueue_count(&format!("AccountRemoteRoot/{user}")),
        1,
        "{user}: {:#?}",
        s.enqueues
    );
    assert_eq!(
        s.transfers.get(&format!("src.example.com/{user}")),
        Some(&1),
        "{user}: {:#?}",
        s.transfers
    );
    assert_eq!(s.restores.get(user), Some(&1), "{user}: {:#?}", s.restores);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_waves_in_turn_then_nothing_left() {
    let sim = SimContext::start(support::world("apply")).await;
    let case = case(&sim);

    // Wave 1: alice, with the feature list and the package it may need.
    let first = case.run("apply", &["--wave", "night-1"]).await;
    first.assert_code(0);
    let s = sim.sim.stats();
    for user in NIGHT_1 {
        once(&s, user);
    }
    for user in NIGHT_2 {
        assert!(!touched(&s, user), "{user} was touched by wave 1: {s:#?}");
        assert!(
            !first.stdout.contains(user),
            "{user} in wave 1's report:\n{}",
            first.stdout
        );
    }
    assert_eq!(s.enqueue_count("PackageRemoteRoot/gold"), 1);
    assert_eq!(s.enqueue_count("FeatureListRemoteRoot/gold features"), 1);
    let journal = case.journal(NAME);
    let items = &journal["sources"]["old1"]["items"];
    assert_eq!(items["AccountRemoteRoot/alice"]["wave"], "night-1");
    assert!(items.get("AccountRemoteRoot/bob").is_none(), "{items:#}");
    assert_eq!(items["PackageRemoteRoot/gold"].get("wave"), None);

    // Wave 2's plan lists only its own accounts (the package is already there).
    let plan = case
        .run(
            "plan",
            &["--wave", "night-2", "--format", "json", "--no-keep"],
        )
        .await;
    plan.assert_code(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["wave"], "night-2");
    // Wave 1's apply was measured: the estimate now assumes that throughput.
    assert_eq!(plan["estimate"]["throughput"]["from"], "measured");
    let listed: Vec<(&str, &str)> = plan["sources"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap(), i["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("gold features", "already-present"),
            ("gold", "already-present"),
            ("bob", "transfer"),
            ("carol", "transfer"),
        ]
    );

    // Wave 2: bob and carol move; alice and the package are not touched again.
    let second = case.run("apply", &["--wave", "night-2"]).await;
    second.assert_code(0);
    let s = sim.sim.stats();
    for user in NIGHT_1.iter().chain(&NIGHT_2) {
        once(&s, user);
    }
    assert!(
        !second.stdout.contains("alice"),
        "wave 1's account re-reported:\n{}",
        second.stdout
    );
    assert_eq!(s.enqueue_count("PackageRemoteRoot/gold"), 1);
    let journal = case.journal(NAME);
    let items = &journal["sources"]["old1"]["items"];
    assert_eq!(items["AccountRemoteRoot/alice"]["wave"], "night-1");
    assert_eq!(items["AccountRemoteRoot/bob"]["wave"], "night-2");
    assert_eq!(items["AccountRemoteRoot/carol"]["state"], "done");

    // A run without --wave covers the whole manifest: nothing is left to do.
    let enqueues = support::calls(&s, "enqueue_transfer_item");
    let third = case.run("apply", &[]).await;
    third.assert_code(0);
    let after = sim.sim.stats();
    assert_eq!(support::calls(&after, "enqueue_transfer_item"), enqueues);
    assert_eq!(support::calls(&after, "start_transfer_session"), 2);
    assert_eq!(after.transfers, s.transfers);
    assert_eq!(after.restores, s.restores);
    assert!(third.stderr.contains("No changes"), "{third:#?}");

    // `status` keeps the waves apart, across their sessions.
    let status = case.run("status", &[]).await;
    status.assert_code(0);
    assert!(
        status.stdout.contains("  wave night-1: 1 done\n")
            && status
                .stdout
                .contains("  wave night-2: 1 done, 1 warnings\n"),
        "{status:#?}"
    );
    let status = case.run("status", &["--format", "json"]).await;
    let rows: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(rows[0]["waves"]["night-2"]["warnings"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_wave_is_refused_with_the_known_ones() {
    let sim = SimContext::start(support::world("apply")).await;
    let case = case(&sim);
    for command in ["plan", "apply"] {
        let out = case.run(command, &["--wave", "night-3"]).await;
        out.assert_code(1);
        assert!(
            out.stderr.contains("no wave “night-3”") && out.stderr.contains("night-1, night-2"),
            "{out:#?}"
        );
    }
    // Refused before any call to the destination.
    assert_eq!(sim.sim.stats().calls.values().sum::<u64>(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wave_cannot_be_a_default() {
    let case = Case::new(
        r#"version = 1
name = "m"

[destination]
simulator = { world = "w.toml" }

[defaults.accounts]
wave = "night-1"

[[sources]]
name = "old1"
host = "h.example.com"
kind = "root"
password = { env = "PW" }

[[sources.accounts]]
user = "alice"
wave = ""
"#,
    );
    let out = case.run("validate", &[]).await;
    out.assert_code(1);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("`wave` is set per account"), "{all}");
    assert!(all.contains("`wave` must not be empty"), "{all}");
}
