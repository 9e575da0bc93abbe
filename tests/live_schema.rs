//! The live schema decides what is sent (issue 20 item 4): against a simulator playing
//! an older WHM, whose `transfer_module_schema` lacks keys the bundled snapshots know
//! (REFERENCE §6.2) and whose enqueue refuses them (§4.9), `plan` reads the live schema
//! once per module and server version, says what it leaves out and what that costs, and
//! `apply` enqueues without those keys and succeeds.

use crate::support::{Case, SimContext, calls};
use serde_json::Value;
use std::fmt::Write as _;
use whm_migrate::sim::{SimOptions, World};

const PASSWORD: &str = "ROOTPW-SENTINEL-3e8b";
const OLD_VERSION: &str = "11.110.0.5";
const NAME: &str = "live-schema";

/// A reseller `res` owning `big`; `mid` belongs to root.
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
user = "mid"
domain = "mid.example"
bytesused = 20_000_000
"#
    ))
    .unwrap()
}

/// A simulator answering as version `version`, its schemas without `lacks`.
async fn server(version: &str, lacks: &[&str]) -> SimContext {
    let mut world = world();
    version.clone_into(&mut world.destination.version);
    SimContext::with(
        world,
        SimOptions {
            schema_lacks: lacks.iter().map(|k| (*k).to_owned()).collect(),
            ..SimOptions::default()
        },
    )
    .await
}

/// The manifest for the simulator at `url`; `mid` keeps a cPanel user value.
fn manifest(url: &str) -> String {
    let mut text = format!(
        r#"version = 1
name = "{NAME}"

[destination]
url = "{url}"
token = {{ env = "WHM_TEST_TOKEN" }}

[[sources]]
name = "old1"
host = "src.example.com"
kind = "root"
password = {{ env = "SRC_PW" }}
"#
    );
    for user in ["res", "big"] {
        let _ = write!(text, "\n[[sources.accounts]]\nuser = \"{user}\"\n");
    }
    text.push_str("\n[[sources.accounts]]\nuser = \"mid\"\nkeep_local_cpuser_values = \"PLAN\"\n");
    text
}

fn case(url: &str) -> Case {
    Case::new(&manifest(url)).with_env("SRC_PW", PASSWORD)
}

async fn plan_json(case: &Case) -> Value {
    let out = case.run("plan", &["--format", "json"]).await;
    out.assert_code(0);
    serde_json::from_str(&out.stdout).unwrap()
}

/// The plan's unsent entry for `key`.
fn unsent<'a>(plan: &'a Value, key: &str) -> &'a Value {
    plan["sources"][0]["unsent"]
        .as_array()
        .unwrap_or_else(|| panic!("no unsent keys: {plan:#}"))
        .iter()
        .find(|u| u["key"] == key)
        .unwrap_or_else(|| panic!("{key} not among the unsent keys: {plan:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_server_gets_only_the_keys_its_schema_has() {
    let lacks = ["priority", "prerequisite_user", "keep_local_cpuser_values"];
    let sim = server(OLD_VERSION, &lacks).await;
    let case = case(&sim.sim.base_url());

    let plan = plan_json(&case).await;
    // Only accounts are sent: one module, one read.
    assert_eq!(calls(&sim.sim.stats(), "transfer_module_schema"), 1);
    let priority = unsent(&plan, "priority");
    assert_eq!(priority["set_by"], "schedule");
    assert_eq!(
        priority["items"].as_array().unwrap().len(),
        3,
        "{priority:#}"
    );
    assert!(
        priority["cost"]
            .as_str()
            .unwrap()
            .contains("no largest-first order")
    );
    let prerequisite = unsent(&plan, "prerequisite_user");
    assert_eq!(prerequisite["items"], serde_json::json!(["big"]));
    assert!(
        prerequisite["cost"]
            .as_str()
            .unwrap()
            .contains("reseller-before-its-accounts order is not enforced by WHM")
    );
    let keep = unsent(&plan, "keep_local_cpuser_values");
    assert_eq!(keep["set_by"], "manifest");
    assert_eq!(keep["items"], serde_json::json!(["mid"]));
    for item in plan["sources"][0]["items"].as_array().unwrap() {
        assert!(item.get("priority").is_none(), "{item:#}");
        assert!(item.get("prerequisite_user").is_none(), "{item:#}");
    }

    // The text and Markdown plans say it too; the schema is not read again.
    let text = case.run("plan", &[]).await;
    text.assert_code(0);
    for key in lacks {
        assert!(
            text.stdout.contains(&format!(
                "not sent, the destination's schema lacks it: {key}"
            )),
            "{key}: {}",
            text.stdout
        );
    }
    assert!(
        text.stdout.contains("no largest-first order"),
        "{}",
        text.stdout
    );
    let md = case.run("plan", &["--format", "markdown"]).await;
    md.assert_code(0);
    assert!(md.stdout.contains("#### Not sent (3)"), "{}", md.stdout);
    assert!(
        md.stdout
            .contains("reseller-before-its-accounts order is not enforced by WHM"),
        "{}",
        md.stdout
    );

    // Apply (which plans first) sends none of them, and the older server takes every
    // item: it refuses any key its schema lacks.
    let applied = case.run("apply", &[]).await;
    applied.assert_code(0);
    let stats = sim.sim.stats();
    assert_eq!(calls(&stats, "transfer_module_schema"), 1);
    for user in ["res", "big", "mid"] {
        assert_eq!(stats.restores.get(user), Some(&1), "{user}: {stats:#?}");
    }
    let journal = case.journal(NAME);
    assert_eq!(
        journal["live_schemas"]["version"], OLD_VERSION,
        "{journal:#}"
    );
    let persisted = sim.sim.shutdown().await;
    let session = persisted.sessions.values().next().unwrap();
    assert_eq!(session.items.len(), 3);
    for item in &session.items {
        for key in lacks {
            assert!(!item.params.contains_key(key), "{}: {key} sent", item.key);
        }
        assert_eq!(item.priority, 255, "{}", item.key);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_server_version_is_read_again() {
    let old = server(OLD_VERSION, &["priority"]).await;
    let case = case(&old.sim.base_url());
    let plan = plan_json(&case).await;
    assert_eq!(unsent(&plan, "priority")["set_by"], "schedule");
    let _ = plan_json(&case).await;
    assert_eq!(calls(&old.sim.stats(), "transfer_module_schema"), 1);

    // The destination is upgraded: its schema has `priority` again.
    let new = server("11.120.0.16", &[]).await;
    std::fs::write(&case.manifest, manifest(&new.sim.base_url())).unwrap();
    let plan = plan_json(&case).await;
    assert_eq!(calls(&new.sim.stats(), "transfer_module_schema"), 1);
    assert!(
        plan["sources"][0].get("unsent").is_none(),
        "{:#}",
        plan["sources"][0]
    );
    let items = plan["sources"][0]["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["priority"].is_i64()), "{items:#?}");
    assert_eq!(case.journal(NAME)["live_schemas"]["version"], "11.120.0.16");
    let _ = plan_json(&case).await;
    assert_eq!(calls(&new.sim.stats(), "transfer_module_schema"), 1);
}
