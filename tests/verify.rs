//! `whm-migrate verify` against the simulator (issue 21): an apply, then a verification
//! whose verdicts come from the simulator's world as its restores left it, including
//! the holes a test scripts into those restores.

use crate::support::apply_world::apply_manifest;
use crate::support::{Case, Out, SimContext, calls, world};
use serde_json::Value;
use whm_migrate::sim::World;
use whm_migrate::sim::world::RestoreLoss;

const NAME: &str = "verify-test";

/// The verify world with `loses` scripted into `user`'s restore.
fn world_losing(user: &str, loses: RestoreLoss) -> World {
    let mut w = world("verify");
    let src = w.sources.get_mut("src.example.com").unwrap();
    src.accounts
        .iter_mut()
        .find(|a| a.user == user)
        .unwrap()
        .restore_loses = loses;
    w
}

/// A manifest of every item of the verify world, each account with its `extra` lines.
fn case(sim: &SimContext, extra: &[(&str, &str)]) -> Case {
    let accounts: Vec<(&str, &str)> = ["alice", "bob", "carol"]
        .into_iter()
        .map(|u| {
            (
                u,
                extra.iter().find(|(x, _)| *x == u).map_or("", |(_, e)| *e),
            )
        })
        .collect();
    Case::new(&apply_manifest(NAME, &sim.sim.base_url(), &accounts))
}

async fn applied(sim: &SimContext, extra: &[(&str, &str)]) -> Case {
    let case = case(sim, extra);
    case.run("apply", &[]).await.assert_code(0);
    case
}

pub(crate) fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// The item keyed `key` of a JSON report.
pub(crate) fn item<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no item {key}: {report:#}"))
}

/// The check `name` of an item.
fn check<'a>(item: &'a Value, name: &str) -> &'a Value {
    item["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {item:#}"))
}

/// Every item's verdict but `except`'s is `ok`.
fn others_ok(report: &Value, except: &str) {
    for i in report["items"].as_array().unwrap() {
        if i["key"] != except {
            assert_eq!(i["verdict"], "ok", "{i:#}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_migration_verifies_ok_in_constant_requests() {
    let sim = SimContext::start(world("verify")).await;
    let case = applied(&sim, &[]).await;
    let before = sim.sim.stats();
    let out = case.run("verify", &["--format", "json"]).await;
    out.assert_code(0);
    let report = json(&out);
    assert_eq!(report["version"], 1);
    assert_eq!(report["counts"]["ok"], 5, "{report:#}");
    let bob = item(&report, "bob");
    for name in [
        "account",
        "domain",
        "owner",
        "package",
        "disk",
        "files",
        "databases",
        "database-users",
        "domains",
        "mail",
        "restore-log",
    ] {
        assert_eq!(check(bob, name)["outcome"], "pass", "{bob:#}");
    }
    let mail = check(item(&report, "alice"), "mail")["detail"]
        .as_str()
        .unwrap();
    assert!(
        mail.starts_with("2 email account(s)") && mail.contains("orders@alice.example"),
        "{mail}"
    );
    assert_eq!(
        check(item(&report, "carol"), "mail")["detail"],
        "no email accounts on the destination"
    );
    let dbs = check(bob, "databases")["detail"].as_str().unwrap();
    assert!(dbs.contains("bob_wp") && dbs.contains("bob_forum"), "{dbs}");
    let domains = check(bob, "domains")["detail"].as_str().unwrap();
    assert!(domains.contains("bobs-blog.example"), "{domains}");
    // Requests: one listaccts, listpkgs and get_featurelists; one analysis session
    // (create, retrieve, abort, state); one master log; one list_pops_for per account.
    let after = sim.sim.stats();
    let made = |f: &str| calls(&after, f) - calls(&before, f);
    for (f, n) in [
        ("listaccts", 1),
        ("listpkgs", 1),
        ("get_featurelists", 1),
        ("create_remote_root_transfer_session", 1),
        ("retrieve_transfer_session_remote_analysis", 1),
        ("abort_transfer_session", 1),
        ("fetch_transfer_session_log", 1),
        ("list_pops_for", 3),
        ("accountsummary", 0),
        ("enqueue_transfer_item", 0),
        ("start_transfer_session", 0),
    ] {
        assert_eq!(made(f), n, "{f}: {:#?}", after.calls);
    }
    // The analysis session was discarded and is journalled as such.
    let journal = case.journal(NAME);
    let previous = journal["sources"]["old1"]["previous_sessions"]
        .as_array()
        .unwrap();
    let verify_session = previous
        .iter()
        .find(|s| s["created_by"] == "verify")
        .unwrap();
    assert_eq!(verify_session["retired"], "discarded", "{journal:#}");
    assert!(journal["sources"]["old1"].get("create_started").is_none());
    // The text report is the count line alone.
    let text = case.run("verify", &[]).await;
    text.assert_code(0);
    assert_eq!(
        text.stdout.trim(),
        "5 items: 5 ok, 0 warning, 0 failed, 0 not transferred"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_the_restore_skipped_fails_its_account_by_name() {
    let loses = RestoreLoss {
        databases: vec!["bob_forum".into()],
        ..RestoreLoss::default()
    };
    let sim = SimContext::start(world_losing("bob", loses)).await;
    let case = applied(&sim, &[]).await;
    let out = case.run("verify", &["--format", "json"]).await;
    out.assert_code(3);
    let report = json(&out);
    let bob = item(&report, "bob");
    assert_eq!(bob["verdict"], "failed", "{bob:#}");
    let dbs = check(bob, "databases");
    assert_eq!(dbs["outcome"], "fail");
    let detail = dbs["detail"].as_str().unwrap();
    assert!(
        detail.contains("bob_forum") && !detail.contains("bob_wp"),
        "{detail}"
    );
    // The restore log said so: a skipped item, named.
    let log = check(bob, "restore-log");
    assert_eq!(log["outcome"], "warn");
    assert!(
        log["detail"].as_str().unwrap().contains("bob_forum"),
        "{log:#}"
    );
    others_ok(&report, "bob");
    // The text report leads with the failure and names the check and the database.
    let text = case.run("verify", &[]).await;
    text.assert_code(3);
    let first = text.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("failed") && first.contains("old1/bob"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("databases") && text.stdout.contains("bob_forum"));
    assert!(
        text.stdout
            .ends_with("5 items: 4 ok, 0 warning, 1 failed, 0 not transferred\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disk_use_far_below_the_source_and_a_lost_domain_fail_their_accounts() {
    let mut w = world_losing(
        "alice",
        RestoreLoss {
            disk_bytes: Some(20_000_000),
            ..RestoreLoss::default()
        },
    );
    let carol = w.sources.get_mut("src.example.com").unwrap();
    carol
        .accounts
        .iter_mut()
        .find(|a| a.user == "carol")
        .unwrap()
        .restore_loses = RestoreLoss {
        domains: vec!["carol.example".into()],
        ..RestoreLoss::default()
    };
    let sim = SimContext::start(w).await;
    let case = applied(&sim, &[]).await;
    let out = case.run("verify", &["--format", "json"]).await;
    out.assert_code(3);
    let report = json(&out);
    let alice = item(&report, "alice");
    assert_eq!(alice["verdict"], "failed", "{alice:#}");
    assert_eq!(check(alice, "disk")["outcome"], "fail");
    assert_eq!(check(alice, "domains")["outcome"], "pass");
    let carol = item(&report, "carol");
    assert_eq!(carol["verdict"], "failed", "{carol:#}");
    assert_eq!(check(carol, "disk")["outcome"], "pass");
    let domains = check(carol, "domains");
    assert_eq!(domains["outcome"], "fail");
    assert!(
        domains["detail"]
            .as_str()
            .unwrap()
            .contains("carol.example")
    );
    assert_eq!(item(&report, "bob")["verdict"], "ok");
    // A manifest tolerating 95% less disk use passes alice's disk.
    let text = std::fs::read_to_string(&case.manifest).unwrap();
    std::fs::write(
        &case.manifest,
        format!("{text}\n[verify]\ndisk_tolerance_percent = 95\n"),
    )
    .unwrap();
    let report = json(&case.run("verify", &["--format", "json"]).await);
    assert_eq!(
        check(item(&report, "alice"), "disk")["outcome"],
        "pass",
        "{report:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_never_transferred_is_not_transferred_and_exits_3() {
    let sim = SimContext::start(world("verify")).await;
    // Apply only alice's wave (the feature list and package name no wave).
    let case = case(
        &sim,
        &[
            ("alice", "wave = \"one\""),
            ("bob", "wave = \"two\""),
            ("carol", "wave = \"two\""),
        ],
    );
    case.run("apply", &["--wave", "one"]).await.assert_code(0);
    let one = json(
        &case
            .run("verify", &["--wave", "one", "--format", "json"])
            .await,
    );
    assert_eq!(one["counts"]["ok"], 3, "{one:#}");
    let junit = case.path("verify.xml");
    let junit_arg = junit.to_str().unwrap();
    let out = case
        .run("verify", &["--format", "json", "--junit", junit_arg])
        .await;
    out.assert_code(3);
    let report = json(&out);
    for user in ["bob", "carol"] {
        let i = item(&report, user);
        assert_eq!(i["verdict"], "not-transferred", "{i:#}");
        assert_eq!(check(i, "account")["outcome"], "fail");
    }
    assert_eq!(item(&report, "alice")["verdict"], "ok");
    // JUnit: one test case per item, the missing ones failing.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 5, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    assert!(xml.contains("type=\"not-transferred\""), "{xml}");
    // Markdown: the marker, the count, the missing accounts.
    let md = case.run("verify", &["--format", "markdown"]).await;
    md.assert_code(3);
    assert!(
        md.stdout
            .starts_with(&format!("<!-- whm-migrate verify: {NAME} -->"))
    );
    assert!(
        md.stdout.contains("| not-transferred | old1/bob |"),
        "{}",
        md.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_accounts_databases_verify_under_their_new_names() {
    let sim = SimContext::start(world("verify")).await;
    let case = applied(&sim, &[("bob", "localuser = \"bob2\"")]).await;
    let dest = sim.sim.world().destination;
    assert!(
        dest.dbs.mysql.get("bob2_wp").is_some_and(|o| o == "bob2"),
        "{:#?}",
        dest.dbs
    );
    let out = case.run("verify", &["--format", "json"]).await;
    out.assert_code(0);
    let report = json(&out);
    let bob = item(&report, "bob");
    assert_eq!(bob["localuser"], "bob2");
    assert_eq!(bob["verdict"], "ok", "{bob:#}");
    let dbs = check(bob, "databases")["detail"].as_str().unwrap();
    assert!(
        dbs.contains("bob_wp → bob2_wp") && dbs.contains("bob_forum → bob2_forum"),
        "{dbs}"
    );
    let users = check(bob, "database-users")["detail"].as_str().unwrap();
    assert!(users.contains("bob_wp → bob2_wp"), "{users}");
    // The restore reported the renames as altered items: expected for a rename.
    let log = check(bob, "restore-log");
    assert_eq!(log["outcome"], "pass");
    assert!(
        log["detail"].as_str().unwrap().contains("2 altered"),
        "{log:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_verify_verifies_after_the_apply_and_exits_3_on_a_hole() {
    let loses = RestoreLoss {
        databases: vec!["alice_shop".into()],
        ..RestoreLoss::default()
    };
    let sim = SimContext::start(world_losing("alice", loses)).await;
    let case = case(&sim, &[]);
    let out = case.run("apply", &["--verify"]).await;
    out.assert_code(3);
    assert!(out.stdout.contains("alice_shop"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("5 items: 4 ok, 0 warning, 1 failed, 0 not transferred")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mail_check_lists_what_arrived_and_is_skipped_when_the_server_will_not_say() {
    let loses = RestoreLoss {
        mailboxes: vec!["orders@alice.example".into()],
        ..RestoreLoss::default()
    };
    let sim = SimContext::start(world_losing("alice", loses)).await;
    let case = applied(&sim, &[]).await;
    let report = json(&case.run("verify", &["--format", "json"]).await);
    let mail = check(item(&report, "alice"), "mail");
    assert_eq!(mail["outcome"], "pass");
    let detail = mail["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("1 email account(s)")
            && detail.contains("alice@alice.example")
            && !detail.contains("orders@"),
        "{detail}"
    );
    // A server that refuses list_pops_for (its Receive Mail role off) leaves the check
    // skipped, never failed.
    let mut faults = sim.sim.faults();
    faults
        .result_zero_calls
        .insert("list_pops_for".into(), 1000);
    sim.sim.set_faults(faults);
    let out = case.run("verify", &["--format", "json"]).await;
    out.assert_code(0);
    let report = json(&out);
    for key in ["alice", "bob", "carol"] {
        let mail = check(item(&report, key), "mail");
        assert_eq!(mail["outcome"], "skipped", "{mail:#}");
        assert!(
            mail["detail"]
                .as_str()
                .unwrap()
                .contains("list_pops_for failed")
        );
    }
}
