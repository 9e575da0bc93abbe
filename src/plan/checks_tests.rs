//! Unit tests of the pre-flight checks and risks with plain values.

use super::{Scope, refused_user, risks, source_checks};
use crate::domain::{ModuleAnalysis, RemoteAnalysis, SourceAccount};
use crate::plan::input::{DesiredItem, DesiredSource, SessionKind};
use crate::plan::model::{Action, Check, Conflict, ItemPlan, Severity};
use crate::plan::test_items::account;

fn planned(item: &DesiredItem, action: Action) -> ItemPlan {
    ItemPlan {
        module: item.module.clone(),
        key: item.key.clone(),
        localuser: item.localuser.clone(),
        domain: None,
        size: None,
        action,
        reason: None,
        conflicts: vec![],
        risks: vec![],
        wave: None,
        priority: None,
        priority_by: None,
        prerequisite_user: None,
        prerequisite_by: None,
    }
}

fn source(waive: &[&str]) -> DesiredSource {
    DesiredSource {
        name: "old1".into(),
        host: "old1.example.com".into(),
        kind: SessionKind::Root,
        items: vec![],
        waive: waive.iter().map(|w| (*w).to_owned()).collect(),
    }
}

/// A clean analysis: same versions, disk use reported, live transfers possible.
fn analysis() -> RemoteAnalysis {
    let mut a = RemoteAnalysis::default();
    a.remote.has_disk_used = true;
    a.remote.supports_live_transfers = true;
    a.local.major_version = Some("11.120".into());
    a.remote.major_version = Some("11.120".into());
    a.local.roundcube_dbtype = Some("sqlite".into());
    a.remote.roundcube_dbtype = Some("sqlite".into());
    a.items.accounts = vec![SourceAccount {
        user: "bob".into(),
        domain: "bob.example".into(),
        owner: Some("root".into()),
        ..SourceAccount::default()
    }];
    a
}

fn run(src: &DesiredSource, a: &RemoteAnalysis, items: &[(DesiredItem, ItemPlan)]) -> Vec<Check> {
    run_in(src, a, items, &Scope::default())
}

fn run_in(
    src: &DesiredSource,
    a: &RemoteAnalysis,
    items: &[(DesiredItem, ItemPlan)],
    scope: &Scope<'_>,
) -> Vec<Check> {
    let pairs: Vec<(&DesiredItem, &ItemPlan)> = items.iter().map(|(d, p)| (d, p)).collect();
    source_checks(src, Some(a), &pairs, scope)
}

fn names(checks: &[Check]) -> Vec<&str> {
    checks.iter().map(|c| c.name.as_str()).collect()
}

fn bob(params: &[(&str, &str)]) -> Vec<(DesiredItem, ItemPlan)> {
    let item = account("bob", params);
    let plan = planned(&item, Action::Transfer);
    vec![(item, plan)]
}

#[test]
fn a_clean_world_has_no_checks() {
    assert!(run(&source(&[]), &analysis(), &bob(&[])).is_empty());
}

#[test]
fn analysis_facts_become_source_level_checks() {
    let mut a = analysis();
    a.local.major_version = Some("11.110".into());
    a.remote.roundcube_dbtype = Some("mysql".into());
    a.remote.has_disk_used = false;
    a.modules.insert(
        "Mail".into(),
        ModuleAnalysis {
            warning: Some("one\n\ntwo".into()),
            error: Some("broken".into()),
            ..ModuleAnalysis::default()
        },
    );
    let checks = run(&source(&[]), &a, &bob(&[]));
    assert_eq!(
        names(&checks),
        [
            "module-error",
            "module-warning",
            "module-warning",
            "disk-use-unknown",
            "older-destination",
            "roundcube-dbtype-mismatch"
        ]
    );
    let severity = |n: &str| checks.iter().find(|c| c.name == n).unwrap().severity;
    assert_eq!(severity("older-destination"), Severity::Blocker);
    assert_eq!(severity("module-error"), Severity::Blocker);
    assert_eq!(severity("roundcube-dbtype-mismatch"), Severity::Warning);
    assert!(
        checks
            .iter()
            .all(|c| c.items.is_empty() && !c.fix.is_empty())
    );
}

#[test]
fn versions_compare_numerically() {
    let mut a = analysis();
    a.local.major_version = Some("11.120".into());
    a.remote.major_version = Some("11.98".into());
    assert!(run(&source(&[]), &a, &bob(&[])).is_empty());
}

#[test]
fn source_checks_only_matter_when_something_would_move() {
    let mut a = analysis();
    a.local.major_version = Some("11.110".into());
    let item = account("bob", &[]);
    let done = planned(&item, Action::AlreadyPresent);
    assert!(run(&source(&[]), &a, &[(item, done)]).is_empty());
}

#[test]
fn a_source_waiver_marks_a_check_waived_without_hiding_it() {
    let mut a = analysis();
    a.local.major_version = Some("11.110".into());
    let checks = run(&source(&["older-destination"]), &a, &bob(&[]));
    assert_eq!(names(&checks), ["older-destination"]);
    assert!(checks[0].waived && !checks[0].blocks());
}

#[test]
fn databases_in_the_way_block_unless_overwritten_or_waived() {
    let conflict = Conflict::DatabaseTaken {
        engine: "MYSQL".into(),
        name: "bob_wp".into(),
        owner: "mallory".into(),
    };
    let mut items = bob(&[]);
    items[0].1.conflicts = vec![conflict];
    let checks = run(&source(&[]), &analysis(), &items);
    assert_eq!(names(&checks), ["database-taken"]);
    assert_eq!(checks[0].items, ["AccountRemoteRoot/bob"]);
    assert!(checks[0].blocks());
    items[0].0.waive = vec!["database-taken".into()];
    assert!(run(&source(&[]), &analysis(), &items)[0].waived);
    items[0].0.waive.clear();
    items[0].0.overwrite_dbs = true;
    assert!(run(&source(&[]), &analysis(), &items).is_empty());
}

#[test]
fn dedicated_ips_must_be_free_for_every_account_asking() {
    let mut a = analysis();
    a.local.available_ips = vec!["192.0.2.50".into()];
    let items = bob(&[("ip", "1")]);
    let enough = Scope {
        ip_demand: 1,
        ..Scope::default()
    };
    assert!(run_in(&source(&[]), &a, &items, &enough).is_empty());
    let short = Scope {
        ip_demand: 2,
        ..Scope::default()
    };
    let checks = run_in(&source(&[]), &a, &items, &short);
    assert_eq!(names(&checks), ["not-enough-ips"]);
    assert!(
        checks[0].message.contains("2 accounts"),
        "{}",
        checks[0].message
    );
    // A custom IP must be one of the free ones.
    let custom = bob(&[("ip", "1"), ("customip", "192.0.2.99")]);
    let checks = run_in(&source(&[]), &a, &custom, &enough);
    assert_eq!(names(&checks), ["not-enough-ips"]);
    assert!(checks[0].message.contains("192.0.2.99"));
    // Without `ip`, nothing is asked.
    assert!(run_in(&source(&[]), &a, &bob(&[]), &short).is_empty());
}

#[test]
fn an_owner_must_exist_on_the_destination_or_come_with_the_manifest() {
    let mut a = analysis();
    a.items.accounts[0].owner = Some("res1".into());
    let checks = run(&source(&[]), &a, &bob(&[]));
    assert_eq!(names(&checks), ["owner-missing"]);
    assert!(checks[0].message.contains("res1"));
    let mut on_dest = Scope::default();
    on_dest.dest_users.insert("res1");
    assert!(run_in(&source(&[]), &a, &bob(&[]), &on_dest).is_empty());
    let reseller = account("res1", &[]);
    let mut in_manifest = Scope::default();
    in_manifest.add_manifest_account(&reseller);
    assert!(run_in(&source(&[]), &a, &bob(&[]), &in_manifest).is_empty());
}

#[test]
fn live_transfer_needs_a_source_that_supports_it() {
    let mut a = analysis();
    let items = bob(&[("live_transfer", "1")]);
    assert!(run(&source(&[]), &a, &items).is_empty());
    a.remote.supports_live_transfers = false;
    assert_eq!(
        names(&run(&source(&[]), &a, &items)),
        ["live-transfer-unsupported"]
    );
    assert!(run(&source(&[]), &a, &bob(&[("live_transfer", "0")])).is_empty());
}

#[test]
fn local_user_names_the_destination_refuses() {
    let a = analysis();
    let scope = Scope::default();
    for bad in [
        "root",
        "cpanel",
        "Bob",
        "bob!",
        "_bob",
        "",
        "a123456789012345678901234567890123",
    ] {
        assert!(refused_user(bad, Some(&a), &scope).is_some(), "{bad:?}");
    }
    for good in ["bob", "bob_2", "b.o-b", "9lives"] {
        assert_eq!(refused_user(good, Some(&a), &scope), None, "{good:?}");
    }
    // A system user of the destination that is not an account.
    let mut with_system = analysis();
    with_system.local.users.insert("mailman".into(), "1".into());
    assert!(refused_user("mailman", Some(&with_system), &scope).is_some());
    let mut accounts = Scope::default();
    accounts.dest_users.insert("mailman");
    assert_eq!(refused_user("mailman", Some(&with_system), &accounts), None);
    // The check names the item.
    let item = account("root", &[]);
    let plan = planned(&item, Action::Transfer);
    let checks = run(&source(&[]), &a, &[(item, plan)]);
    assert_eq!(names(&checks), ["localuser-refused"]);
    assert_eq!(checks[0].items, ["AccountRemoteRoot/root"]);
}

#[test]
fn risks_are_named_and_acknowledged_by_name() {
    let mut item = account(
        "bob",
        &[("force", "1"), ("xferpoint", "1"), ("skiphomedir", "1")],
    );
    item.acknowledge = vec!["dns-cutover".into()];
    let found: Vec<(String, bool)> = risks(&item)
        .into_iter()
        .map(|r| (r.name, r.acknowledged))
        .collect();
    assert_eq!(
        found,
        [
            ("force".to_owned(), false),
            ("dns-cutover".to_owned(), true)
        ]
    );
    assert!(risks(&account("bob", &[("force", "0")])).is_empty());
}
