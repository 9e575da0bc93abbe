//! Scheduling through the real path (issue 11): `plan` chooses `priority` and
//! `prerequisite_user`, `apply` sends them, and the simulator (which follows REFERENCE
//! §5.4) processes a reseller before the accounts it owns.

use crate::support::{Case, SimContext};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use whm_migrate::sim::{SimOptions, TimeScale, World};

const PASSWORD: &str = "ROOTPW-SENTINEL-5c1d";

/// A reseller `res` (small) owning `big` and `small`; `mid` and `pinned` belong to root.
fn world() -> World {
    World::from_toml_str(&format!(
        r#"
[destination]
hostname = "dest.example.com"

[sources."src.example.com"]
resellers = ["res"]

[sources."src.example.com".credentials]
root_password = "{PASSWORD}"

[[sources."src.example.com".accounts]]
user = "res"
domain = "res.example"
bytesused = 1_000_000

[[sources."src.example.com".accounts]]
user = "big"
domain = "big.example"
owner = "res"
bytesused = 40_000_000

[[sources."src.example.com".accounts]]
user = "small"
domain = "small.example"
owner = "res"
bytesused = 2_000_000

[[sources."src.example.com".accounts]]
user = "mid"
domain = "mid.example"
bytesused = 20_000_000

[[sources."src.example.com".accounts]]
user = "pinned"
domain = "pinned.example"
bytesused = 30_000_000
"#
    ))
    .unwrap()
}

fn case(url: &str) -> Case {
    let mut text = format!(
        r#"version = 1
name = "schedule-test"

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
"#
    );
    for user in ["small", "mid", "res", "big"] {
        let _ = write!(text, "\n[[sources.accounts]]\nuser = \"{user}\"\n");
    }
    text.push_str("\n[[sources.accounts]]\nuser = \"pinned\"\npriority = 100\n");
    Case::new(&text).with_env("SRC_PW", PASSWORD)
}

/// (queue, action, item) of every item record of a master log, in order.
fn item_events(master: &str) -> Vec<(String, String, String)> {
    master
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|r| {
            let c = &r["contents"];
            Some((
                c["queue"].as_str()?.to_owned(),
                c["action"].as_str()?.to_owned(),
                c["item"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn position(events: &[(String, String, String)], queue: &str, action: &str, item: &str) -> usize {
    events
        .iter()
        .position(|(q, a, i)| q == queue && a == action && i == item)
        .unwrap_or_else(|| panic!("no {queue} {action} of {item} in {events:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_gets_the_planned_order_and_resellers_go_first() {
    let sim = SimContext::with(
        world(),
        SimOptions {
            time_scale: TimeScale {
                bytes_per_second: 400_000_000,
                restore_bytes_per_second: 800_000_000,
                item_overhead_ms: 5,
            },
            ..SimOptions::default()
        },
    )
    .await;
    let case = case(&sim.sim.base_url());
    let plan_file = case.path("plan.json");
    let plan_out = case
        .run(
            "plan",
            &["--format", "json", "--out", plan_file.to_str().unwrap()],
        )
        .await;
    plan_out.assert_code(0);
    let plan: serde_json::Value = serde_json::from_str(&plan_out.stdout).unwrap();
    let items: BTreeMap<String, serde_json::Value> = plan["sources"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap().to_owned(), i.clone()))
        .collect();
    // The reseller carries its largest account: first. Then by size; pinned keeps the
    // manifest's priority.
    let prio = |k: &str| items[k]["priority"].as_i64().unwrap();
    assert_eq!(
        ["res", "big", "mid", "small"].map(prio),
        [1, 2, 3, 4],
        "{items:#?}"
    );
    assert_eq!(prio("pinned"), 100);
    assert_eq!(items["pinned"]["priority_by"], "manifest");
    assert_eq!(items["big"]["priority_by"], "schedule");
    for owned in ["big", "small"] {
        assert_eq!(items[owned]["prerequisite_user"], "res");
    }
    assert!(items["mid"].get("prerequisite_user").is_none());
    let estimate = &plan["sources"][0]["estimate"];
    assert_eq!(estimate["transfer_threads"], 2);
    assert_eq!(estimate["bytes"], 93_000_000);
    assert_eq!(plan["estimate"]["throughput"]["from"], "default");

    // `apply PLAN.json` finds the manifest through the plan.
    let applied = case.command_on("apply", &plan_file, &[]).run().await;
    applied.assert_code(0);

    // What the server received matches the plan.
    let persisted = sim.sim.shutdown().await;
    assert_eq!(persisted.sessions.len(), 1);
    let session = persisted.sessions.values().next().unwrap();
    for item in &session.items {
        let planned = &items[&item.key];
        assert_eq!(
            i64::try_from(item.priority).unwrap(),
            planned["priority"].as_i64().unwrap(),
            "{}",
            item.key
        );
        assert_eq!(
            item.prerequisite.as_deref(),
            planned["prerequisite_user"].as_str(),
            "{}",
            item.key
        );
    }
    assert_eq!(session.items.len(), 5);

    // And it processed the reseller first: its accounts start each step only after
    // the reseller finished that step.
    let events = item_events(&session.logs["master.log"].text.to_string());
    for queue in ["TRANSFER", "RESTORE"] {
        let done = position(&events, queue, "success-item", "res");
        for owned in ["big", "small"] {
            assert!(
                position(&events, queue, "start-item", owned) > done,
                "{owned} started {queue} before res finished: {events:#?}"
            );
        }
    }
    // The priorities decide the transfer order of the independent accounts.
    let started = |k: &str| position(&events, "TRANSFER", "start-item", k);
    assert!(started("mid") < started("small") && started("small") < started("pinned"));

    // The journal measured the run: the next plan assumes that throughput.
    let journal: serde_json::Value = case.journal("schedule-test");
    let runs = journal["sources"]["old1"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["bytes"], 93_000_000);
    assert_eq!(runs[0]["transfer_threads"], 2);
    assert!(runs[0]["elapsed_ms"].as_u64().unwrap() > 0);
}
