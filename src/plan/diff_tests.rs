//! Unit tests of the diff with plain values: every action and every conflict kind.

use super::diff;
use crate::domain::{Account, DbInventory, Package, RemoteAnalysis, SessionState, SourceAccount};
use crate::plan::input::{
    Desired, DesiredItem, DesiredSource, DestinationInventory, Observed, ObservedSession,
    ObservedSource, SessionKind,
};
use crate::plan::model::{Action, Conflict};
use crate::plan::test_items::{self, featurelist, package};
use std::collections::BTreeMap;

fn account(user: &str, domain: &str) -> DesiredItem {
    DesiredItem {
        domain: Some(domain.into()),
        ..test_items::account(user, &[])
    }
}

fn dest_account(user: &str, domain: &str) -> Account {
    Account {
        user: user.into(),
        domain: domain.into(),
        ..Account::default()
    }
}

fn src_account(user: &str, domain: &str, bytes: u64) -> SourceAccount {
    SourceAccount {
        user: user.into(),
        domain: domain.into(),
        bytesused: bytes,
        ..SourceAccount::default()
    }
}

fn world(items: Vec<DesiredItem>) -> (Desired, Observed) {
    let desired = Desired {
        migration: "m".into(),
        sources: vec![DesiredSource {
            name: "old1".into(),
            host: "old1.example.com".into(),
            kind: SessionKind::Root,
            items,
            waive: vec![],
        }],
    };
    let mut analysis = RemoteAnalysis::default();
    analysis.remote.has_disk_used = true;
    analysis.items.accounts = vec![
        src_account("alice", "alice.example", 10),
        src_account("bob", "bob.example", 20),
        src_account("carol", "carol.example", 30),
    ];
    analysis.items.packages = vec![crate::domain::SourcePackage {
        name: "gold".into(),
        featurelist: None,
    }];
    let observed = Observed {
        server_keys: None,
        destination: DestinationInventory::default(),
        sources: vec![ObservedSource {
            name: "old1".into(),
            session: Some(ObservedSession {
                id: "s1".into(),
                state: SessionState::Pending,
                created: true,
                unconfirmed: None,
            }),
            analysis: Some(analysis),
            queued: Default::default(),
        }],
    };
    (desired, observed)
}

fn actions(desired: &Desired, observed: &Observed) -> Vec<(String, Action)> {
    diff(desired, observed).sources[0]
        .items
        .iter()
        .map(|i| (i.key.clone(), i.action))
        .collect()
}

#[test]
fn a_fresh_migration_transfers_everything_in_module_order() {
    let (d, o) = world(vec![
        account("bob", "bob.example"),
        package("gold"),
        featurelist("basic"),
        account("alice", "alice.example"),
    ]);
    let plan = diff(&d, &o);
    let keys: Vec<&str> = plan.sources[0]
        .items
        .iter()
        .map(|i| i.key.as_str())
        .collect();
    assert_eq!(keys, ["basic", "gold", "alice", "bob"]);
    assert!(
        plan.sources[0]
            .items
            .iter()
            .all(|i| i.action == Action::Transfer)
    );
    assert_eq!(plan.summary.transfer, 4);
    assert_eq!(plan.summary.bytes_to_transfer, 30);
    assert_eq!(plan.sources[0].items[2].size, Some(10));
}

#[test]
fn what_the_destination_has_is_already_present() {
    let (d, mut o) = world(vec![
        account("alice", "alice.example"),
        package("gold"),
        featurelist("basic"),
    ]);
    o.destination
        .accounts
        .push(dest_account("alice", "ALICE.example"));
    o.destination.packages.push(Package {
        name: "gold".into(),
        ..Package::default()
    });
    o.destination.featurelists.push("basic".into());
    let plan = diff(&d, &o);
    assert_eq!(plan.summary.already_present, 3);
    assert!(!plan.summary.has_changes());
}

#[test]
fn queued_items_are_already_queued() {
    let (d, mut o) = world(vec![account("bob", "bob.example"), package("gold")]);
    o.sources[0].queued.insert("AccountRemoteRoot/bob".into());
    assert_eq!(
        actions(&d, &o),
        [
            ("gold".to_owned(), Action::Transfer),
            ("bob".to_owned(), Action::AlreadyQueued)
        ]
    );
}

#[test]
fn items_the_source_lacks_are_missing_on_source() {
    let (d, o) = world(vec![account("zed", "zed.example"), package("silver")]);
    let plan = diff(&d, &o);
    assert!(
        plan.sources[0]
            .items
            .iter()
            .all(|i| i.action == Action::MissingOnSource)
    );
    assert!(plan.summary.has_blockers());
}

#[test]
fn user_sources_are_not_checked_against_an_analysis() {
    let (mut d, mut o) = world(vec![account("zed", "zed.example")]);
    d.sources[0].kind = SessionKind::User;
    o.sources[0].analysis = None;
    assert_eq!(actions(&d, &o), [("zed".to_owned(), Action::Transfer)]);
}

#[test]
fn invalid_items_stay_invalid_whatever_the_servers_hold() {
    let mut item = account("alice", "alice.example");
    item.problems.push("priority must be 0..=255".into());
    let (d, mut o) = world(vec![item]);
    o.destination
        .accounts
        .push(dest_account("alice", "alice.example"));
    let plan = diff(&d, &o);
    assert_eq!(plan.sources[0].items[0].action, Action::Invalid);
    assert_eq!(
        plan.sources[0].items[0].reason.as_deref(),
        Some("priority must be 0..=255")
    );
}

#[test]
fn a_user_of_the_same_name_with_another_domain_conflicts_unless_forced() {
    let (d, mut o) = world(vec![account("alice", "alice.example")]);
    o.destination
        .accounts
        .push(dest_account("alice", "other.example"));
    let plan = diff(&d, &o);
    let item = &plan.sources[0].items[0];
    assert_eq!(item.action, Action::Conflict);
    assert_eq!(
        item.conflicts,
        [Conflict::UserExists {
            user: "alice".into(),
            domain: "other.example".into()
        }]
    );
    let mut forced = account("alice", "alice.example");
    forced.force = true;
    let (d, _) = world(vec![forced]);
    let plan = diff(&d, &o);
    assert_eq!(plan.sources[0].items[0].action, Action::Transfer);
    assert_eq!(
        plan.sources[0].items[0].conflicts.len(),
        1,
        "still reported"
    );
}

#[test]
fn a_domain_owned_by_another_user_conflicts() {
    let (d, mut o) = world(vec![account("bob", "bob.example")]);
    o.destination
        .accounts
        .push(dest_account("robert", "bob.example"));
    let plan = diff(&d, &o);
    assert_eq!(
        plan.sources[0].items[0].conflicts,
        [Conflict::DomainTaken {
            domain: "bob.example".into(),
            owner: "robert".into()
        }]
    );
    // An addon domain known only to the analysis counts too.
    let (d, mut o) = world(vec![account("carol", "carol.example")]);
    if let Some(a) = o.sources[0].analysis.as_mut() {
        a.local
            .domains
            .insert("carol.example".into(), "someone".into());
    }
    assert_eq!(actions(&d, &o), [("carol".to_owned(), Action::Conflict)]);
    // Domains compare without regard to case.
    let (d, mut o) = world(vec![account("carol", "carol.example")]);
    if let Some(a) = o.sources[0].analysis.as_mut() {
        a.local
            .domains
            .insert("Carol.Example".into(), "someone".into());
    }
    assert_eq!(actions(&d, &o), [("carol".to_owned(), Action::Conflict)]);
}

#[test]
fn databases_and_database_users_owned_by_others_are_a_check_unless_overwritten() {
    let (d, mut o) = world(vec![account("bob", "bob.example")]);
    let inv = |owner: &str| {
        let mut dbs = DbInventory::default();
        dbs.dbs.insert(
            "MYSQL".into(),
            BTreeMap::from([("bob_wp".to_owned(), Some(owner.to_owned()))]),
        );
        dbs.users.insert(
            "MYSQL".into(),
            BTreeMap::from([("bob_user".to_owned(), Some(owner.to_owned()))]),
        );
        dbs
    };
    if let Some(a) = o.sources[0].analysis.as_mut() {
        a.remote.dbs = Some(inv("bob"));
        a.local.dbs = Some(inv("mallory"));
    }
    let plan = diff(&d, &o);
    let item = &plan.sources[0].items[0];
    // Databases in the way block through the waivable `database-taken` check.
    assert_eq!(item.action, Action::Transfer);
    let checks: Vec<(&str, bool)> = plan.sources[0]
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.blocks()))
        .collect();
    assert_eq!(checks, [("database-taken", true), ("database-taken", true)]);
    assert!(plan.summary.has_blockers());
    assert_eq!(
        item.conflicts,
        [
            Conflict::DatabaseTaken {
                engine: "MYSQL".into(),
                name: "bob_wp".into(),
                owner: "mallory".into()
            },
            Conflict::DatabaseUserTaken {
                engine: "MYSQL".into(),
                name: "bob_user".into(),
                owner: "mallory".into()
            }
        ]
    );
    // Only the item's own databases count: alice has none of bob's.
    let (d2, _) = world(vec![account("alice", "alice.example")]);
    assert_eq!(actions(&d2, &o), [("alice".to_owned(), Action::Transfer)]);
    let mut overwrite = account("bob", "bob.example");
    overwrite.overwrite_dbs = true;
    let (d, _) = world(vec![overwrite]);
    assert_eq!(actions(&d, &o), [("bob".to_owned(), Action::Transfer)]);
    assert!(diff(&d, &o).sources[0].checks.is_empty());
    assert!(!diff(&d, &o).summary.has_blockers());
}

#[test]
fn module_warnings_and_an_older_destination_are_plan_warnings() {
    let (d, mut o) = world(vec![account("bob", "bob.example")]);
    if let Some(a) = o.sources[0].analysis.as_mut() {
        a.local.major_version = Some("11.90".into());
        a.remote.major_version = Some("11.120".into());
        a.modules.insert(
            "Mail".into(),
            crate::domain::ModuleAnalysis {
                warning: Some("first\nsecond".into()),
                ..Default::default()
            },
        );
    }
    let plan = diff(&d, &o);
    let codes: Vec<&str> = plan.sources[0]
        .warnings
        .iter()
        .map(|w| w.code.as_str())
        .collect();
    assert_eq!(
        codes,
        ["module-warning", "module-warning", "older-destination"]
    );
}

#[test]
fn the_plan_is_deterministic_and_its_fingerprint_follows_decisions() {
    let (d, o) = world(vec![
        account("bob", "bob.example"),
        account("alice", "a.example"),
    ]);
    let (mut d2, _) = world(vec![
        account("alice", "a.example"),
        account("bob", "bob.example"),
    ]);
    assert_eq!(diff(&d, &o).sources, diff(&d2, &o).sources);
    let first = diff(&d, &o).fingerprint;
    assert_eq!(first, diff(&d, &o).fingerprint);
    // Disk use changes do not make a plan stale; a new destination account does.
    let mut o2 = o.clone();
    if let Some(a) = o2.sources[0].analysis.as_mut() {
        a.items.accounts[0].bytesused += 1;
    }
    assert_eq!(diff(&d, &o2).fingerprint.observed, first.observed);
    o2.destination
        .accounts
        .push(dest_account("bob", "bob.example"));
    assert_ne!(diff(&d, &o2).fingerprint.observed, first.observed);
    d2.migration = "other".into();
    assert_ne!(
        diff(&d2, &o).fingerprint.manifest,
        diff(&d, &o).fingerprint.manifest
    );
}

#[test]
fn a_source_that_does_not_report_disk_use_is_a_warning() {
    let (d, mut o) = world(vec![account("bob", "bob.example")]);
    let codes = |o: &Observed| -> Vec<String> {
        diff(&d, o).sources[0]
            .warnings
            .iter()
            .map(|w| w.code.clone())
            .collect()
    };
    assert!(codes(&o).is_empty());
    if let Some(a) = o.sources[0].analysis.as_mut() {
        a.remote.has_disk_used = false;
    }
    assert_eq!(codes(&o), ["disk-use-unknown"]);
}
