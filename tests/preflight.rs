//! Pre-flight checks and risk gates (issue 10), through the binary against the
//! simulator: each check fires on a world built for it and not on a clean one; a
//! blocker stops `apply` before anything is queued or started (the simulator's
//! `/__sim/stats` proves it) and a waiver lets it through; an unacknowledged risk is
//! refused while an acknowledged one runs.

use crate::support::{Case, Out, SimContext, SimHttp, calls};
use whm_migrate::plan::{Check, Plan};
use whm_migrate::sim::{SimStats, World};

/// A clean world: one root source with bob (and reseller res1's account carl), a
/// destination of the same version with one free IP.
const CLEAN_WORLD: &str = r#"
[destination]
version = "11.120.0.16"
available_ips = ["192.0.2.50"]

[[destination.accounts]]
user = "res1"
domain = "res1.example"

[sources."src.example.com"]
version = "11.120.0.16"

[sources."src.example.com".credentials]
root_password = "rootpw"

[[sources."src.example.com".accounts]]
user = "bob"
domain = "bob.example"
bytesused = 1000
databases = ["bob_wp"]

[[sources."src.example.com".accounts]]
user = "carl"
domain = "carl.example"
owner = "res1"
"#;

/// The clean world with `edit` applied to its TOML text.
fn world(edit: impl FnOnce(&mut toml::Table)) -> World {
    let mut table: toml::Table = CLEAN_WORLD.parse().unwrap();
    edit(&mut table);
    World::from_toml_str(&toml::to_string(&table).unwrap()).unwrap()
}

fn source(t: &mut toml::Table) -> &mut toml::Table {
    t["sources"]["src.example.com"].as_table_mut().unwrap()
}

fn destination(t: &mut toml::Table) -> &mut toml::Table {
    t["destination"].as_table_mut().unwrap()
}

fn source_account<'a>(t: &'a mut toml::Table, user: &str) -> &'a mut toml::Table {
    source(t)["accounts"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .map(|a| a.as_table_mut().unwrap())
        .find(|a| a["user"].as_str() == Some(user))
        .unwrap()
}

/// A manifest moving bob (with `bob` extra lines) and carl, with `source` extra lines
/// on the [[sources]] table and `defaults` in [defaults.accounts].
fn manifest(url: &str, source: &str, defaults: &str, bob: &str) -> String {
    format!(
        r#"version = 1
name = "preflight"

[destination]
url = "{url}"
token = {{ env = "WHM_TEST_TOKEN" }}

[defaults.accounts]
{defaults}

[[sources]]
name = "old1"
host = "src.example.com"
kind = "root"
password = {{ env = "SRC_PW" }}
{source}

[[sources.accounts]]
user = "bob"
domain = "bob.example"
{bob}

[[sources.accounts]]
user = "carl"
domain = "carl.example"
"#
    )
}

/// The manifest `text` in a fresh folder.
fn case(text: &str) -> Case {
    Case::file("migration.toml", text).with_env("SRC_PW", "rootpw")
}

/// Runs `whm-migrate ARGS MANIFEST` in a fresh folder.
async fn run(args: &[&str], text: &str) -> Out {
    let case = case(text);
    case.bin()
        .args(args)
        .arg(&case.manifest)
        .arg("--state-dir")
        .arg(&case.state)
        .args(["--color", "never"])
        .run()
        .await
}

/// `plan --format json` (without `--progress`, which only apply takes).
async fn plan(text: &str) -> (i32, Plan, String) {
    let out = run(&["plan", "--format", "json"], text).await;
    let plan: Plan = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not a JSON plan: {e}\n{}", out.stdout));
    (out.code.unwrap(), plan, out.stderr)
}

fn checks(plan: &Plan) -> Vec<&Check> {
    plan.sources.iter().flat_map(|s| &s.checks).collect()
}

fn names(plan: &Plan) -> Vec<&str> {
    checks(plan).iter().map(|c| c.name.as_str()).collect()
}

/// `/__sim/stats`, read over HTTP like any client would.
async fn stats(cx: &SimContext) -> SimStats {
    SimHttp::new(&cx.sim.base_url()).stats().await
}

fn enqueues(s: &SimStats) -> u64 {
    s.enqueues.values().flat_map(|m| m.values()).sum()
}

#[tokio::test]
async fn a_clean_world_has_no_checks_and_plans_with_exit_0() {
    let cx = SimContext::start(world(|_| {})).await;
    let (code, plan, stderr) = plan(&manifest(&cx.sim.base_url(), "", "", "")).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(checks(&plan).is_empty(), "{:?}", checks(&plan));
    assert_eq!(plan.summary.transfer, 2);
}

/// Each case: bob's extra manifest lines, a world edit, the check that must fire,
/// whether it blocks, and the item it names (None: source-level).
#[tokio::test]
async fn each_check_fires_on_a_world_built_for_it() {
    type Edit = fn(&mut toml::Table);
    /// (bob's extra lines, world edit, check, blocks, item it names).
    type Case = (&'static str, Edit, &'static str, bool, Option<&'static str>);
    let cases: [Case; 10] = [
        (
            "",
            |t| {
                source(t).insert(
                    "module_errors".into(),
                    toml::Value::Table(
                        toml::toml! { MySQL = "cannot reach the remote MySQL server" },
                    ),
                );
            },
            "module-error",
            true,
            None,
        ),
        (
            "",
            |t| {
                source(t).insert(
                    "module_warnings".into(),
                    toml::Value::Table(toml::toml! { Exim = "configuration differs" }),
                );
            },
            "module-warning",
            false,
            None,
        ),
        (
            "",
            |t| {
                destination(t).insert("version".into(), "11.110.0.5".into());
            },
            "older-destination",
            true,
            None,
        ),
        (
            "",
            |t| {
                source(t).insert("roundcube_dbtype".into(), "mysql".into());
            },
            "roundcube-dbtype-mismatch",
            false,
            None,
        ),
        (
            "",
            |t| {
                let dbs = toml::toml! { [mysql] bob_wp = "res1" };
                destination(t).insert("dbs".into(), toml::Value::Table(dbs));
            },
            "database-taken",
            true,
            Some("bob"),
        ),
        (
            "ip = true",
            |t| {
                destination(t).insert("available_ips".into(), toml::Value::Array(vec![]));
            },
            "not-enough-ips",
            true,
            Some("bob"),
        ),
        (
            "",
            |t| {
                source_account(t, "bob").insert("owner".into(), "res2".into());
            },
            "owner-missing",
            false,
            Some("bob"),
        ),
        (
            "live_transfer = true",
            |t| {
                source(t).insert("supports_live_transfers".into(), false.into());
            },
            "live-transfer-unsupported",
            true,
            Some("bob"),
        ),
        (
            "",
            |t| {
                source(t).insert("reports_disk_used".into(), false.into());
            },
            "disk-use-unknown",
            false,
            None,
        ),
        (
            "localuser = \"mailman\"",
            |t| {
                destination(t).insert(
                    "system_users".into(),
                    toml::Value::Array(vec!["mailman".into()]),
                );
            },
            "localuser-refused",
            true,
            Some("bob"),
        ),
    ];
    for (bob, edit, name, blocks, item) in cases {
        let cx = SimContext::start(world(edit)).await;
        let text = manifest(&cx.sim.base_url(), "", "", bob);
        let (code, plan, stderr) = plan(&text).await;
        assert_eq!(names(&plan), [name], "{name}: {stderr}");
        let check = checks(&plan)[0];
        assert_eq!(check.blocks(), blocks, "{name}");
        assert!(!check.fix.is_empty() && !check.message.is_empty(), "{name}");
        let items: Vec<String> = item
            .map(|u| format!("AccountRemoteRoot/{u}"))
            .into_iter()
            .collect();
        assert_eq!(check.items, items, "{name}");
        assert_eq!(code, i32::from(blocks), "{name}: {stderr}");
        if blocks {
            assert!(
                stderr.contains(&format!("waive = [\"{name}\"]")),
                "{name}: the message says how to waive it: {stderr}"
            );
        }
        // The same manifest on the clean world: nothing fires.
        let clean = SimContext::start(world(|_| {})).await;
        let text = manifest(&clean.sim.base_url(), "", "", bob);
        let (_, plan, _) = self::plan(&text).await;
        assert!(
            !names(&plan).contains(&name),
            "{name} fires on the clean world"
        );
    }
}

#[tokio::test]
async fn a_blocker_stops_apply_before_any_enqueue_and_a_waiver_lets_it_through() {
    let older = |t: &mut toml::Table| {
        destination(t).insert("version".into(), "11.110.0.5".into());
    };
    let cx = SimContext::start(world(older)).await;
    let url = cx.sim.base_url();
    let out = run(&["apply"], &manifest(&url, "", "", "")).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    for needle in [
        "older-destination",
        "upgrade the destination",
        "waive = [\"older-destination\"]",
        "nothing was queued or started",
    ] {
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
    let s = stats(&cx).await;
    assert_eq!(enqueues(&s), 0, "{s:?}");
    assert_eq!(calls(&s, "enqueue_transfer_item"), 0);
    assert_eq!(calls(&s, "start_transfer_session"), 0);
    // The session this refused apply created to read the analysis does not stay behind
    // holding the source's password.
    assert_eq!(s.sessions_created, 1);
    assert_eq!(calls(&s, "abort_transfer_session"), 1, "{s:?}");
    assert!(out.stderr.contains("discarded session"), "{}", out.stderr);

    // Waived on the source: the plan shows it waived, and apply runs.
    let waived = manifest(&url, "waive = [\"older-destination\"]", "", "");
    let (code, plan, stderr) = plan(&waived).await;
    assert_eq!(code, 0, "{stderr}");
    let check = checks(&plan)[0];
    assert!(check.name == "older-destination" && check.waived);
    assert_eq!(plan.summary.waived_checks, 1);
    let out = run(&["apply"], &waived).await;
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let s = stats(&cx).await;
    assert_eq!(calls(&s, "start_transfer_session"), 1);
    assert_eq!(s.restores.get("bob"), Some(&1));
}

#[tokio::test]
async fn an_item_waiver_covers_only_that_item_and_the_plan_says_waived() {
    // Both accounts belong to a reseller that does not exist anywhere.
    let orphaned = |t: &mut toml::Table| {
        source_account(t, "bob").insert("owner".into(), "res9".into());
        source_account(t, "carl").insert("owner".into(), "res9".into());
    };
    let cx = SimContext::start(world(orphaned)).await;
    let url = cx.sim.base_url();
    let text = manifest(&url, "", "", "waive = [\"owner-missing\"]");
    let (code, plan, _) = plan(&text).await;
    assert_eq!(code, 0, "owner-missing is a warning");
    let state: Vec<(&str, bool)> = checks(&plan)
        .iter()
        .map(|c| (c.items[0].as_str(), c.waived))
        .collect();
    assert_eq!(
        state,
        [
            ("AccountRemoteRoot/bob", true),
            ("AccountRemoteRoot/carl", false)
        ]
    );
    // Text and Markdown show the waived check rather than hide it.
    let out = run(&["plan"], &text).await;
    assert!(
        out.stdout.contains("waived warning[owner-missing] bob"),
        "{}",
        out.stdout
    );
    let md = run(&["plan", "--format", "markdown"], &text).await;
    assert!(
        md.stdout.contains("#### Waived checks (1)"),
        "{}",
        md.stdout
    );
    // For all accounts, in [defaults.accounts].
    let all = manifest(&url, "", "waive = [\"owner-missing\"]", "");
    let (code, plan, stderr) = self::plan(&all).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(checks(&plan).iter().all(|c| c.waived));
}

#[tokio::test]
async fn an_unacknowledged_risk_is_refused_while_an_acknowledged_one_runs() {
    let cx = SimContext::start(world(|_| {})).await;
    let url = cx.sim.base_url();
    let risky = manifest(&url, "", "", "xferpoint = true");
    // Labelled in every format.
    let (code, plan, stderr) = plan(&risky).await;
    assert_eq!(code, 1, "an unacknowledged risk blocks: {stderr}");
    let bob = plan.sources[0]
        .items
        .iter()
        .find(|i| i.key == "bob")
        .unwrap();
    assert_eq!(bob.risks.len(), 1);
    assert_eq!(
        (
            bob.risks[0].name.as_str(),
            bob.risks[0].key.as_str(),
            bob.risks[0].acknowledged
        ),
        ("dns-cutover", "xferpoint", false)
    );
    assert_eq!(plan.summary.unacknowledged_risks, 1);
    let text = run(&["plan"], &risky).await;
    assert!(
        text.stdout
            .contains("[risks: dns-cutover (not acknowledged)]"),
        "{}",
        text.stdout
    );
    let md = run(&["plan", "--format", "markdown"], &risky).await;
    assert!(md.stdout.contains("#### Risks (1)"), "{}", md.stdout);
    assert!(
        md.stdout.contains("`dns-cutover` (not acknowledged)"),
        "{}",
        md.stdout
    );

    let out = run(&["apply"], &risky).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("acknowledge = [\"dns-cutover\"]"),
        "{}",
        out.stderr
    );
    let s = stats(&cx).await;
    assert_eq!(enqueues(&s), 0);
    assert_eq!(calls(&s, "start_transfer_session"), 0);

    // Acknowledged per item: it runs, and the option reaches WHM (the gate keys do not).
    let acknowledged = manifest(
        &url,
        "",
        "",
        "xferpoint = true\nacknowledge = [\"dns-cutover\"]",
    );
    let (code, plan, stderr) = self::plan(&acknowledged).await;
    assert_eq!(code, 0, "{stderr}");
    let bob = plan.sources[0]
        .items
        .iter()
        .find(|i| i.key == "bob")
        .unwrap();
    assert!(bob.risks[0].acknowledged);
    let out = run(&["apply"], &acknowledged).await;
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let s = stats(&cx).await;
    assert_eq!(s.enqueue_count("AccountRemoteRoot/bob"), 1);
    assert_eq!(s.restores.get("bob"), Some(&1));
}

#[tokio::test]
async fn defaults_acknowledge_a_risk_for_every_account() {
    let cx = SimContext::start(world(|_| {})).await;
    let url = cx.sim.base_url();
    let text = manifest(
        &url,
        "",
        "live_transfer = true\nacknowledge = [\"live-transfer\"]",
        "",
    );
    let (code, plan, stderr) = plan(&text).await;
    assert_eq!(code, 0, "{stderr}");
    let risks: Vec<(&str, &str, bool)> = plan.sources[0]
        .items
        .iter()
        .flat_map(|i| {
            i.risks
                .iter()
                .map(move |r| (i.key.as_str(), r.name.as_str(), r.acknowledged))
        })
        .collect();
    assert_eq!(
        risks,
        [
            ("bob", "live-transfer", true),
            ("carl", "live-transfer", true)
        ]
    );
}

/// A new account name (a rename) is asked of the destination with
/// `validate_system_user`, which knows reserved names the local rules cannot; names kept
/// from the source are not asked about.
#[tokio::test]
async fn a_new_name_is_checked_by_the_destination_and_only_new_names() {
    let reserved = |t: &mut toml::Table| {
        destination(t).insert(
            "reserved_usernames".into(),
            toml::Value::Array(vec!["root".into(), "webmaster".into()]),
        );
    };
    let cx = SimContext::start(world(reserved)).await;
    let text = manifest(&cx.sim.base_url(), "", "", "localuser = \"webmaster\"");
    let (code, plan, stderr) = plan(&text).await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(names(&plan), ["localuser-refused"], "{stderr}");
    assert!(
        checks(&plan)[0]
            .message
            .contains("the destination reports the name as reserved"),
        "{:?}",
        checks(&plan)[0]
    );
    assert_eq!(calls(&stats(&cx).await, "validate_system_user"), 1);

    let cx = SimContext::start(world(reserved)).await;
    let (code, plan, stderr) = self::plan(&manifest(&cx.sim.base_url(), "", "", "")).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(names(&plan).is_empty(), "{stderr}");
    assert_eq!(calls(&stats(&cx).await, "validate_system_user"), 0);
}
