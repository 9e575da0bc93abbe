//! The time left of a real run (issue 24): `apply --progress json` read from the binary's
//! stdout, every event type of the documented table included, and the report's
//! estimate against the actual duration, in the text and the Markdown report.

use crate::support::apply_world::{apply_case, apply_world as world, slow};
use crate::support::{self, Case, Out, SimContext, calls, finish, wait_for};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use whm_migrate::sim::{Faults, SimOptions, TimeScale};

/// `apply --progress json` of `case`'s manifest.
async fn apply_json(case: &Case) -> Out {
    case.bin()
        .arg("apply")
        .arg(&case.manifest)
        .arg("--state-dir")
        .arg(&case.state)
        .args(["--progress", "json"])
        .run()
        .await
}

/// The NDJSON events on stdout (the report's text lines are not JSON).
fn events(out: &Out) -> Vec<serde_json::Value> {
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("type").is_some())
        .collect()
}

fn of_type<'a>(events: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// The table of `src/report/mod.rs`, which the docs show.
const DOCUMENTED: [&str; 8] = [
    "source_started",
    "session_state",
    "item",
    "totals",
    "note",
    "session_level",
    "source_finished",
    "finished",
];

#[test]
fn the_documented_table_is_the_one_this_test_checks() {
    let table = include_str!("../src/report/mod.rs");
    for kind in DOCUMENTED {
        assert!(table.contains(&format!("//! | `{kind}` |")), "{kind}");
    }
}

// A server that answers log fetches only once the log is finished, and a session
// longer than the follower waits for a log (10 s): session-level progress, then every
// item at the end. Every event type of the table appears.
#[tokio::test(flavor = "multi_thread")]
async fn every_documented_event_appears_in_a_real_run() {
    let options = SimOptions {
        blocking_logs: true,
        time_scale: TimeScale {
            bytes_per_second: 10_000_000,
            restore_bytes_per_second: 20_000_000,
            item_overhead_ms: 2_500,
        },
        ..SimOptions::default()
    };
    let sim = SimContext::with(world(), options).await;
    let case = apply_case(&sim, "eta-events");
    let out = apply_json(&case).await;
    out.assert_code(0);
    let events = events(&out);
    let seen: BTreeSet<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for kind in DOCUMENTED {
        assert!(seen.contains(kind), "no {kind} event: {}", out.stdout);
    }
    let started = of_type(&events, "source_started");
    assert_eq!(started.len(), 1, "{}", out.stdout);
    assert!(started[0]["estimate_secs"].is_u64(), "{}", started[0]);
    assert_eq!(started[0]["planned"], 5);
    let finished = of_type(&events, "source_finished");
    assert_eq!(finished[0]["state"], "COMPLETED");
    assert_eq!(
        finished[0]["totals"]["done"].as_u64().unwrap_or(0)
            + finished[0]["totals"]["done_with_warnings"]
                .as_u64()
                .unwrap_or(0),
        5
    );
    for totals in of_type(&events, "totals") {
        let eta = &totals["eta_secs"];
        assert!(eta.is_u64() || eta.is_null(), "{totals}");
    }
    assert_eq!(events.last().map(|e| &e["type"]), Some(&"finished".into()));
}

// A run whose log comes as it goes: `totals` carry the time left as a number, it
// shrinks towards the end, and the report sets the plan's estimate against the run.
#[tokio::test(flavor = "multi_thread")]
async fn totals_carry_the_time_left_and_the_report_the_estimate_against_the_run() {
    let sim = SimContext::with(world(), slow()).await;
    let case = apply_case(&sim, "eta-totals");
    let out = apply_json(&case).await;
    out.assert_code(0);
    let events = events(&out);
    let etas: Vec<u64> = of_type(&events, "totals")
        .iter()
        .filter_map(|t| t["eta_secs"].as_u64())
        .collect();
    assert!(!etas.is_empty(), "{}", out.stdout);
    assert!(
        etas.first() >= etas.last(),
        "the time left shrinks: {etas:?}"
    );
    assert!(
        out.stdout.contains("  ran ") && out.stdout.contains(" at the start)"),
        "{}",
        out.stdout
    );
}

// `status` in a second process, while apply follows a running session: the time left
// the apply's live estimate expects, from the journal.
#[tokio::test(flavor = "multi_thread")]
async fn status_on_a_running_migration_shows_the_time_left() {
    let options = SimOptions {
        time_scale: TimeScale {
            bytes_per_second: 10_000_000,
            restore_bytes_per_second: 20_000_000,
            item_overhead_ms: 2_000,
        },
        ..SimOptions::default()
    };
    let sim = SimContext::with(world(), options).await;
    let case = apply_case(&sim, "eta-status");
    let mut child = case.command("apply", &[]).spawn();
    assert!(
        wait_for(&sim, &mut child, |s| calls(s, "start_transfer_session")
            >= 1)
        .await
    );
    let mut shown = None;
    for _ in 0..100 {
        let status = case.command("status", &[]).env_remove("SRC_PW").run().await;
        status.assert_code(0);
        if status.stdout.contains(" left") {
            shown = Some(status.stdout);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let shown = shown.expect("status never showed the time left");
    assert!(
        shown.contains("RUNNING")
            && (shown.contains("min left") || shown.contains("less than a minute left")),
        "{shown}"
    );
    let json = case
        .command("status", &["--format", "json"])
        .env_remove("SRC_PW")
        .run()
        .await;
    finish(child).await.assert_code(0);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap_or_default();
    let left = &rows[0]["time_left_secs"];
    assert!(
        left.is_u64() || json.stdout.contains("COMPLETED"),
        "{}",
        json.stdout
    );
}

// `apply --markdown FILE` against a run where carol's restore fails with a text that
// tries to break out of the report: the file sets the plan's estimate against the
// actual duration in the source's row, counts the outcomes, and shows the failure
// collapsed and escaped.
#[tokio::test(flavor = "multi_thread")]
async fn the_markdown_report_sets_the_estimate_against_the_actual_duration() {
    let failure = "Disk quota exceeded | `du` said <script>alert(1)</script>";
    let options = SimOptions {
        faults: Faults {
            fail_restore: [("carol".to_owned(), failure.to_owned())].into(),
            ..Faults::default()
        },
        ..slow()
    };
    let sim = SimContext::with(world(), options).await;
    let case = apply_case(&sim, "eta-markdown");
    let path = case.path("report.md");
    let out = case
        .run("apply", &["--markdown", path.to_str().unwrap()])
        .await;
    out.assert_code(3);
    let md = std::fs::read_to_string(&path).unwrap();
    assert!(
        md.starts_with(
            "<!-- whm-migrate apply: eta-markdown -->\n### whm-migrate apply: `eta-markdown` — some items failed\n"
        ),
        "{md}"
    );
    assert!(
        md.contains("**1 source, 5 items: 3 done, 1 done with warnings, 1 failed.**"),
        "{md}"
    );
    // The source's row: session, state, counts, then the estimate at the start, the
    // actual duration (both measured, so neither is `—`) and the signed error.
    let row = md
        .lines()
        .find(|l| l.starts_with("| old1 | `"))
        .unwrap_or_else(|| panic!("no row for old1: {md}"));
    let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
    assert_eq!(cells.len(), 7, "{row}");
    assert_eq!(
        &cells[2..4],
        [
            "COMPLETED",
            "5 items: 3 done, 1 done with warnings, 1 failed"
        ],
        "{row}"
    );
    for (cell, what) in [(cells[4], "estimate"), (cells[5], "actual")] {
        assert!(
            cell.ends_with('s') && cell.starts_with(|c: char| c.is_ascii_digit()),
            "{what}: {row}"
        );
    }
    assert!(
        cells[6].ends_with('%') && cells[6].starts_with(['+', '-', '0']),
        "{row}"
    );
    // carol's failure, its HTML escaped, collapsed, with the item log's excerpt.
    assert!(md.contains("#### Failed items (1)"), "{md}");
    assert!(
        md.contains(
            "<details><summary>old1 / carol: Disk quota exceeded | `du` said &lt;script&gt;"
        ),
        "{md}"
    );
    // The failure's lines in a code block, where `<script>` is text.
    assert!(
        md.contains(&format!("\n```text\nFailed: {failure}\n```\n")),
        "{md}"
    );
    assert_eq!(md.matches("<script>").count(), 1, "{md}");
    assert!(!md.contains(support::SRC_PASSWORD) && !md.contains(support::TOKEN));
}

/// The account sizes, in MB, of every source of the step-cost tests: sizes that
/// differ enough for a session's steps to tell a fixed cost from a rate.
const VARIED_MB: [u64; 4] = [10, 40, 80, 160];

/// The step-cost tests' server: bytes per second per transfer and per restore worker.
const PACED_BPS: (u64, u64) = (40_000_000, 80_000_000);

/// A simulator at 40 MB/s per transfer, 80 MB/s per restore and 1 s per step, whose
/// `sources` (host, user prefix) each have [`VARIED_MB`] accounts (`u10` … `u160`),
/// and a manifest of migration `name` moving them all, two workers per queue.
async fn paced_server(name: &str, sources: &[(&str, char)]) -> (SimContext, String) {
    let mut world = String::from("[destination]\nhostname = \"dest.example.com\"\n");
    for (host, prefix) in sources {
        let _ = write!(
            world,
            "\n[sources.\"{host}\".credentials]\nroot_password = \"pw-7f3a\"\n"
        );
        for mb in VARIED_MB {
            let _ = write!(
                world,
                "\n[[sources.\"{host}\".accounts]]\nuser = \"{prefix}{mb}\"\ndomain = \"{prefix}{mb}.example\"\nbytesused = {mb}_000_000\n"
            );
        }
    }
    let options = SimOptions {
        time_scale: TimeScale {
            bytes_per_second: PACED_BPS.0,
            restore_bytes_per_second: PACED_BPS.1,
            item_overhead_ms: 1_000,
        },
        ..SimOptions::default()
    };
    let world = whm_migrate::sim::World::from_toml_str(&world).unwrap();
    let sim = SimContext::with(world, options).await;
    let mut manifest = format!(
        "version = 1\nname = \"{name}\"\n\n[destination]\nurl = \"{}\"\ntoken = {{ env = \"WHM_TEST_TOKEN\" }}\n",
        sim.sim.base_url()
    );
    for (i, (host, prefix)) in sources.iter().enumerate() {
        let _ = write!(
            manifest,
            "\n[[sources]]\nname = \"old{}\"\nhost = \"{host}\"\nkind = \"root\"\npassword = {{ env = \"SRC_PW\" }}\n[sources.session]\ntransfer_threads = 2\nrestore_threads = 2\n",
            i + 1
        );
        for mb in VARIED_MB {
            let _ = write!(
                manifest,
                "\n[[sources.accounts]]\nuser = \"{prefix}{mb}\"\n"
            );
        }
    }
    (sim, manifest)
}

// An apply records what its session's steps cost (the live estimate's fits at the
// end), and the next plan assumes them: a fixed cost per step and a rate per kind of
// step, where a whole session's bytes over its time would fold them into one figure.
#[tokio::test(flavor = "multi_thread")]
async fn the_next_plan_assumes_the_step_costs_an_apply_measured() {
    let (transfer, restore) = PACED_BPS;
    let (_sim, manifest) = paced_server("eta-pace", &[("src.example.com", 'u')]).await;
    let case = Case::new(&manifest).with_env("SRC_PW", "pw-7f3a");
    case.run("apply", &[]).await.assert_code(0);

    let pace = case.first_run_pace("eta-pace", "old1");
    let (step_ms, transfer_bps, restore_bps) = (
        pace.step_ms,
        pace.transfer_bytes_per_second,
        pace.restore_bytes_per_second,
    );
    // Eight steps of 1.1–5 s dated by whole-second stamps: near the server's pace, not
    // on it (0.68 s, 38.8 and 71.7 MB/s here), the fixed cost held toward none.
    assert!(
        (200..=2_000).contains(&step_ms),
        "fixed cost {step_ms} ms: {pace:?}"
    );
    for (fitted, truth) in [(transfer_bps, transfer), (restore_bps, restore)] {
        assert!(
            fitted >= truth * 7 / 10 && fitted <= truth * 13 / 10,
            "fitted {fitted} B/s against {truth}: {pace:?}"
        );
    }

    let plan = case.run("plan", &["--format", "json"]).await;
    plan.assert_code(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let assumed = &plan["estimate"]["throughput"];
    assert_eq!(assumed["from"], "measured", "{assumed}");
    assert_eq!(assumed["step_overhead_ms"], step_ms, "{assumed}");
    assert_eq!(
        assumed["transfer_bytes_per_second"], transfer_bps,
        "{assumed}"
    );
    assert_eq!(
        assumed["restore_bytes_per_second"], restore_bps,
        "{assumed}"
    );
    // One source: its own pace is the plan's, not repeated.
    let source = &plan["sources"][0]["estimate"];
    assert!(source.get("throughput").is_none(), "{source}");
}

// Each source of the next plan is estimated at the step costs its own sessions were
// fitted to (its server, its link), restores at every source's together (one
// destination); the plan's overall figure is every source's together. How close a fit
// comes to the server is the test above's.
#[tokio::test(flavor = "multi_thread")]
async fn each_source_is_planned_at_its_own_measured_pace() {
    let (_sim, manifest) = paced_server(
        "eta-own-pace",
        &[("src.example.com", 'u'), ("src2.example.com", 'v')],
    )
    .await;
    let case = Case::new(&manifest).with_env("SRC_PW", "pw-7f3a");
    case.run("apply", &[]).await.assert_code(0);

    let paces = ["old1", "old2"].map(|source| case.first_run_pace("eta-own-pace", source));
    let plan = case.run("plan", &["--format", "json"]).await;
    plan.assert_code(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let assumed = &plan["estimate"]["throughput"];
    assert_eq!(assumed["from"], "measured", "{assumed}");
    // Over both sources: the fixed cost weighted by items (four each), the rates by
    // bytes (time per byte averaged).
    let journal = case.journal("eta-own-pace");
    #[allow(clippy::cast_precision_loss)]
    let bytes = ["old1", "old2"].map(|source| {
        journal["sources"][source]["runs"][0]["bytes"]
            .as_u64()
            .unwrap() as f64
    });
    #[allow(clippy::cast_precision_loss)]
    let together = |rate: fn(&whm_migrate::journal::StepPace) -> u64| {
        let time: f64 = paces
            .iter()
            .zip(bytes)
            .map(|(p, b)| b / rate(p) as f64)
            .sum();
        (bytes.iter().sum::<f64>() / time).round()
    };
    let restore_together = together(|p| p.restore_bytes_per_second);
    assert_eq!(
        assumed["step_overhead_ms"],
        (paces[0].step_ms + paces[1].step_ms).div_ceil(2),
        "{assumed}"
    );
    assert_eq!(
        assumed["transfer_bytes_per_second"].as_f64(),
        Some(together(|p| p.transfer_bytes_per_second)),
        "{assumed}"
    );
    assert_eq!(
        assumed["restore_bytes_per_second"].as_f64(),
        Some(restore_together),
        "{assumed}"
    );
    for (i, pace) in paces.iter().enumerate() {
        let own = &plan["sources"][i]["estimate"]["throughput"];
        assert_eq!(own["from"], "measured", "{own}");
        assert_eq!(own["step_overhead_ms"], pace.step_ms, "{own}");
        assert_eq!(
            own["transfer_bytes_per_second"], pace.transfer_bytes_per_second,
            "{own}"
        );
        assert_eq!(
            own["restore_bytes_per_second"].as_f64(),
            Some(restore_together),
            "{own}"
        );
    }
}
