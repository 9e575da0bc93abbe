//! `whm-migrate rehearse`: the migration played on an embedded simulator built from the
//! observed state, never touching the real destination beyond the plan's reads.

use crate::support::{self, Case, Out, SimContext};
use std::collections::BTreeMap;
use std::path::Path;
use whm_migrate::journal::Journal;
use whm_migrate::sim::{Persisted, World};

const PASSWORD: &str = support::SRC_PASSWORD;

fn manifest(url: &str) -> String {
    format!(
        r#"version = 1
name = "rehearse-test"

[destination]
url = "{url}"
token = {{ env = "WHM_TEST_TOKEN" }}

[[sources]]
name = "old1"
host = "src.example.com"
kind = "root"
password = {{ env = "SRC_PW" }}

[sources.session]
transfer_threads = 2
restore_threads = 2

[[sources.feature_lists]]
name = "gold features"

[[sources.packages]]
name = "gold"

[[sources.accounts]]
user = "alice"
domain = "alice.example"

[[sources.accounts]]
user = "bob"
domain = "bob.example"

[[sources.accounts]]
user = "carol"
domain = "carol.example"
"#
    )
}

/// `whm-migrate ARGS…` in the case's folder (`--progress plain` last for `apply` and
/// `rehearse`); no output holds the source's password.
async fn run(case: &Case, args: &[&str]) -> Out {
    let out = case
        .bin()
        .args(args)
        .args(if matches!(args[0], "apply" | "rehearse") {
            &["--progress", "plain"][..]
        } else {
            &[]
        })
        .run()
        .await;
    assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
    out
}

/// The manifest for the `apply` world at `sim`, as `m.toml`.
fn case(sim: &SimContext) -> Case {
    Case::file("m.toml", &manifest(&sim.sim.base_url()))
}

/// The destination as a rehearsal (or the demo) left it: accounts with their domain and
/// owner; packages; feature lists. Creation times and IPs are left out, and so is an
/// account's plan: the analysis does not report it, so the rehearsal cannot know it.
fn destination(world: &World) -> Vec<String> {
    let d = &world.destination;
    let mut out: Vec<String> = d
        .accounts
        .iter()
        .map(|a| format!("account {} {} {}", a.user, a.domain, a.owner))
        .chain(d.packages.iter().map(|p| format!("package {}", p.name)))
        .chain(d.featurelists.iter().map(|f| format!("featurelist {f}")))
        .collect();
    out.sort();
    out
}

fn persisted(path: &Path) -> Persisted {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Item → its final state (and failure text) in the rehearsal's journal.
fn outcomes(state: &Path, name: &str) -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(state.join("rehearse").join(format!("{name}.json"))).unwrap();
    let journal: Journal = serde_json::from_str(&text).unwrap();
    journal
        .sources
        .iter()
        .flat_map(|(source, r)| {
            r.items.iter().map(move |(key, item)| {
                (
                    format!("{source} {key}"),
                    format!(
                        "{} {}",
                        item.state,
                        item.failure.clone().unwrap_or_default()
                    ),
                )
            })
        })
        .collect()
}

/// Reads `overall: …` from the makespan lines, in seconds.
fn overall_secs(stdout: &str) -> u64 {
    let text = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("overall: "))
        .unwrap_or_else(|| panic!("no overall makespan in {stdout}"));
    let text = text.split_whitespace().next().unwrap();
    let mut secs = 0;
    let mut number = 0;
    for c in text.chars() {
        match c {
            '0'..='9' => number = number * 10 + u64::from(c.to_digit(10).unwrap()),
            'h' => (secs, number) = (secs + number * 3600, 0),
            'm' => (secs, number) = (secs + number * 60, 0),
            's' => (secs, number) = (secs + number, 0),
            _ => panic!("unexpected duration {text}"),
        }
    }
    secs
}

// (1) The real destination sees only the plan's reads, and the session observing
// created is released; a real apply afterwards is not confused by the rehearsal.
#[tokio::test(flavor = "multi_thread")]
async fn the_real_destination_only_sees_the_plans_reads() {
    let sim = SimContext::start(support::world("apply")).await;
    let before = sim.sim.world();
    let case = case(&sim);
    let out = run(&case, &["rehearse", "m.toml", "--state-dir", "state"]).await;
    out.assert_code(0);
    assert!(out.stdout.contains("5 done"), "{out:#?}");
    assert!(out.stdout.contains("Predicted makespan"), "{out:#?}");
    assert!(out.stdout.contains("Fault seed: none"), "{out:#?}");
    let s = sim.sim.stats();
    let allowed = [
        "listaccts",
        "listpkgs",
        "get_featurelists",
        "create_remote_root_transfer_session",
        "retrieve_transfer_session_remote_analysis",
        "transfer_module_schema",
        "abort_transfer_session",
        "get_transfer_session_state",
    ];
    for function in s.calls.keys() {
        assert!(allowed.contains(&function.as_str()), "{function}: {s:#?}");
    }
    assert_eq!(support::calls(&s, "create_remote_root_transfer_session"), 1);
    assert_eq!(support::calls(&s, "abort_transfer_session"), 1, "released");
    assert!(s.enqueues.is_empty(), "{s:#?}");
    assert!(s.restores.is_empty() && s.transfers.is_empty(), "{s:#?}");
    assert_eq!(sim.sim.world().destination, before.destination);
    // The rehearsal kept its own journal; the real one knows no item.
    let state = &case.state;
    assert!(!outcomes(state, "rehearse-test").is_empty());
    let real: Journal =
        serde_json::from_str(&std::fs::read_to_string(state.join("rehearse-test.json")).unwrap())
            .unwrap();
    assert!(
        real.sources.values().all(|r| r.items.is_empty()),
        "{real:#?}"
    );
    // A real apply afterwards moves everything exactly once.
    let out = run(&case, &["apply", "m.toml", "--state-dir", "state"]).await;
    out.assert_code(0);
    let s = sim.sim.stats();
    for user in ["alice", "bob", "carol"] {
        assert_eq!(s.restores.get(user), Some(&1), "{s:#?}");
    }
}

// (2) The demo under a fault seed, twice: the same per-item outcome and the same final
// world; and, for a seed that fails no item, the world of a clean apply. Sessions that
// a fault stops are run again inside the rehearsal, as an operator would.
#[tokio::test(flavor = "multi_thread")]
async fn a_fault_seed_replays_the_same_outcome() {
    let clean = Case::demo();
    run(&clean, &["apply", clean.manifest.to_str().unwrap()])
        .await
        .assert_code(0);
    let clean_world = persisted(&clean.state.join("demo.sim-world.json")).world;
    // Seed 1: bob's restore fails, a pause strikes; seed 4: no item fails, an abort
    // strikes. (The seeds' choices are printed, so this reads them back.)
    for (seed, code, failed) in [("1", 3, Some("bob")), ("4", 0, None)] {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let demo = Case::demo();
            let out = run(
                &demo,
                &[
                    "rehearse",
                    demo.manifest.to_str().unwrap(),
                    "--faults",
                    seed,
                ],
            )
            .await;
            out.assert_code(code);
            assert!(
                out.stdout
                    .contains(&format!("Fault seed: {seed} (`--faults {seed}`")),
                "{out:#?}"
            );
            assert!(out.stderr.contains("struck during run 1"), "{out:#?}");
            let world = persisted(&demo.state.join("rehearse/demo.sim-world.json")).world;
            seen.push((outcomes(&demo.state, "demo"), destination(&world)));
        }
        assert_eq!(seen[0], seen[1], "seed {seed}");
        let (items, world) = &seen[0];
        assert_eq!(items.len(), 6, "{items:#?}");
        if let Some(user) = failed {
            let failed: Vec<_> = items
                .iter()
                .filter(|(_, s)| s.starts_with("failed"))
                .collect();
            assert_eq!(failed.len(), 1, "{items:#?}");
            assert!(failed[0].0.ends_with(user), "{items:#?}");
            let mut want = destination(&clean_world);
            want.retain(|l| !l.starts_with("account bob2 "));
            assert_eq!(world, &want);
        } else {
            assert!(items.values().all(|s| s.starts_with("done")), "{items:#?}");
            assert_eq!(world, &destination(&clean_world));
        }
    }
}

// (3) The predicted makespan is real-world time at the given speed: never below the
// longest chain the work forces (carol's 10 GiB transferred, then restored), and the
// real demo world is untouched. The comparison with a real apply at the same speed is
// a benchmark (docs/benchmarks.md, "Rehearsal"), not a timed assertion.
#[tokio::test(flavor = "multi_thread")]
async fn the_predicted_makespan_is_in_real_time_at_the_given_speed() {
    let demo = Case::demo();
    let out = run(
        &demo,
        &[
            "rehearse",
            demo.manifest.to_str().unwrap(),
            "--speed",
            "100",
            "--markdown",
            demo.path("rehearsal.md").to_str().unwrap(),
        ],
    )
    .await;
    out.assert_code(0);
    assert!(out.stdout.contains("at 100 MB/s"), "{out:#?}");
    // The Markdown report of the rehearsal's run, headed as a rehearsal.
    let md = std::fs::read_to_string(demo.path("rehearsal.md")).unwrap();
    assert!(
        md.starts_with(
            "<!-- whm-migrate rehearse: demo -->\n### whm-migrate rehearse: `demo` — done"
        ),
        "{md}"
    );
    // 10 GiB at 100 MB/s, restored at twice that, plus 5 s per step.
    let carol = 10_737_418_240_u64;
    let chain = carol / 100_000_000 + carol / 200_000_000 + 10;
    let overall = overall_secs(&out.stdout);
    assert!(overall >= chain, "{overall} s < {chain} s: {out:#?}");
    // The demo's own (persisted) world got no account from the rehearsal.
    let world = persisted(&demo.state.join("demo.sim-world.json"));
    assert!(world.world.destination.account("alice").is_none());
}

// (4) A saved plan rehearses with no server reachable.
#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_rehearses_offline() {
    let sim = SimContext::start(support::world("apply")).await;
    let case = case(&sim);
    let out = run(
        &case,
        &[
            "plan",
            "m.toml",
            "--out",
            "p.json",
            "--no-keep",
            "--state-dir",
            "state",
        ],
    )
    .await;
    out.assert_code(0);
    let sidecar = case.path("p.observed.json");
    let text = std::fs::read_to_string(&sidecar).unwrap();
    assert!(!text.contains(PASSWORD) && !text.contains(support::TOKEN));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sidecar).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let _ = sim.sim.shutdown().await;
    let out = case
        .bin()
        .args(["rehearse", "p.json", "--offline", "--state-dir", "state"])
        .args(["--progress", "plain"])
        // No secrets: offline needs none.
        .env_remove("WHM_TEST_TOKEN")
        .env_remove("SRC_PW")
        .run()
        .await;
    out.assert_code(0);
    assert!(out.stdout.contains("5 done"), "{out:#?}");
    assert!(out.stdout.contains("Predicted makespan"), "{out:#?}");
    // A changed manifest makes the saved plan stale, offline too.
    let m = std::fs::read_to_string(&case.manifest).unwrap();
    std::fs::write(
        &case.manifest,
        m.replace("name = \"gold\"", "name = \"silver\""),
    )
    .unwrap();
    let out = run(
        &case,
        &["rehearse", "p.json", "--offline", "--state-dir", "state"],
    )
    .await;
    out.assert_code(1);
    assert!(out.stderr.contains("does not match"), "{out:#?}");
    assert!(out.stderr.contains("whm-migrate plan"), "{out:#?}");
}

// Without --speed, a rehearsal assumes what this migration's earlier applies measured,
// and says which it used.
#[tokio::test(flavor = "multi_thread")]
async fn a_rehearsal_assumes_the_speed_earlier_applies_measured() {
    let sim = SimContext::start(support::world("apply")).await;
    let text = manifest(&sim.sim.base_url())
        .replace("user = \"alice\"\n", "user = \"alice\"\nwave = \"first\"\n")
        .replace("user = \"bob\"\n", "user = \"bob\"\nwave = \"second\"\n")
        .replace(
            "user = \"carol\"\n",
            "user = \"carol\"\nwave = \"second\"\n",
        );
    let case = Case::file("m.toml", &text);
    let rehearse = ["rehearse", "m.toml", "--state-dir", "state"];
    let out = run(&case, &rehearse).await;
    out.assert_code(0);
    assert!(
        out.stderr
            .contains("the default: no apply of this migration has been measured yet"),
        "{out:#?}"
    );
    let out = run(
        &case,
        &["apply", "m.toml", "--wave", "first", "--state-dir", "state"],
    )
    .await;
    out.assert_code(0);
    let out = run(&case, &rehearse).await;
    out.assert_code(0);
    // The apply kept what its session's steps cost: the rehearsal plays them as they
    // were fitted, not the bytes over time with restores and 5 s per step added again.
    let pace = case.first_run_pace("rehearse-test", "old1");
    #[allow(clippy::cast_precision_loss)]
    let opening = format!(
        "at {:.1} MB/s per transfer worker (measured from this migration's earlier applies, step by step; restores at {:.1} MB/s, {} per item step;",
        pace.transfer_bytes_per_second as f64 / 1e6,
        pace.restore_bytes_per_second as f64 / 1e6,
        whm_migrate::units::duration(std::time::Duration::from_millis(pace.step_ms)),
    );
    assert!(out.stderr.contains(&opening), "{opening}\n{out:#?}");
    let out = run(&case, &[&rehearse[..], &["--speed", "7"]].concat()).await;
    out.assert_code(0);
    assert!(
        out.stderr
            .contains("at 7.0 MB/s per transfer worker (given with --speed; restores at 14.0 MB/s, 5s per item step;"),
        "{out:#?}"
    );
}
