//! The checks' rules on plain values.

use super::checks::verify;
use super::facts::{DestinationFacts, SourceFacts};
use super::{Outcome, Tolerances, Verdict};
use crate::domain::{Account, RemoteAnalysis};
use crate::plan::test_items::account;
use crate::plan::{Desired, DesiredSource, SessionKind};
use crate::translog::{ItemCounts, ItemReport};

fn desired(kind: SessionKind) -> Desired {
    let mut bob = account("bob", &[]);
    bob.localuser = Some("bob2".into());
    Desired {
        sources: vec![DesiredSource {
            name: "old1".into(),
            host: "old1.example".into(),
            kind,
            items: vec![bob],
            waive: vec![],
        }],
        ..Desired::default()
    }
}

fn dest(owner: &str) -> DestinationFacts {
    let acct: Account = serde_json::from_value(serde_json::json!({
        "user": "bob2", "domain": "bob.example", "owner": owner, "plan": "default",
        "diskused": "100M", "inodesused": 1000,
    }))
    .unwrap();
    DestinationFacts {
        accounts: vec![acct],
        ..DestinationFacts::default()
    }
}

fn analysis() -> RemoteAnalysis {
    serde_json::from_value(serde_json::json!({
        "items": { "accounts": [{ "user": "bob", "domain": "bob.example", "owner": "res1",
            "bytesused": 100 * 1024 * 1024, "filesused": 1000 }] },
        "local": { "domains": { "bob.example": "bob2" } },
        "remote": { "has_disk_used": 1, "has_files_used": 1 },
    }))
    .unwrap()
}

fn outcome(v: &super::ItemVerdict, name: &str) -> Outcome {
    v.checks.iter().find(|c| c.name == name).unwrap().outcome
}

#[test]
fn an_owner_given_to_root_for_a_missing_reseller_warns_and_another_owner_fails() {
    let facts = SourceFacts {
        name: "old1".into(),
        analysis: Some(analysis()),
        ..SourceFacts::default()
    };
    let v = &verify(
        &desired(SessionKind::Root),
        &dest("root"),
        std::slice::from_ref(&facts),
        Tolerances::default(),
    )[0];
    assert_eq!(outcome(v, "owner"), Outcome::Warn);
    assert_eq!(v.verdict, Verdict::Warning, "{v:#?}");
    let v = &verify(
        &desired(SessionKind::Root),
        &dest("res2"),
        &[facts],
        Tolerances::default(),
    )[0];
    assert_eq!(outcome(v, "owner"), Outcome::Fail);
    assert_eq!(v.verdict, Verdict::Failed);
}

#[test]
fn a_user_source_skips_what_only_the_analysis_knows_and_says_why() {
    let facts = SourceFacts {
        name: "old1".into(),
        no_analysis: Some("a user source has no analysis".into()),
        ..SourceFacts::default()
    };
    let v = &verify(
        &desired(SessionKind::User),
        &dest("root"),
        &[facts],
        Tolerances::default(),
    )[0];
    for name in ["disk", "files", "databases", "database-users", "domains"] {
        let c = v.checks.iter().find(|c| c.name == name).unwrap();
        assert_eq!(c.outcome, Outcome::Skipped);
        assert!(c.detail.contains("user source"), "{c:?}");
    }
    assert_eq!(v.verdict, Verdict::Ok);
}

#[test]
fn disk_and_files_fail_only_below_their_tolerance() {
    let mut a = analysis();
    a.items.accounts[0].bytesused = 130 * 1024 * 1024;
    a.items.accounts[0].filesused = 1040;
    let facts = SourceFacts {
        name: "old1".into(),
        analysis: Some(a),
        ..SourceFacts::default()
    };
    let d = desired(SessionKind::Root);
    let v = &verify(
        &d,
        &dest("res1"),
        std::slice::from_ref(&facts),
        Tolerances::default(),
    )[0];
    // 100 MiB of 130 MiB is 23% below; 1000 of 1040 files is 3.8% below.
    assert_eq!(outcome(v, "disk"), Outcome::Fail);
    assert_eq!(outcome(v, "files"), Outcome::Pass);
    let loose = Tolerances {
        disk_percent: 25,
        files_percent: 3,
    };
    let v = &verify(&d, &dest("res1"), &[facts], loose)[0];
    assert_eq!(outcome(v, "disk"), Outcome::Pass);
    assert_eq!(outcome(v, "files"), Outcome::Fail);
}

#[test]
fn altered_items_pass_for_a_renamed_account_but_skipped_ones_warn() {
    let report = |altered: u64, skipped: u64| ItemReport {
        counts: ItemCounts {
            altered_items: altered,
            skipped_items: skipped,
            ..ItemCounts::default()
        },
        ..ItemReport::default()
    };
    let facts = |r: ItemReport| SourceFacts {
        name: "old1".into(),
        analysis: Some(analysis()),
        restore_logs: [("AccountRemoteRoot/bob".to_owned(), r)].into(),
        ..SourceFacts::default()
    };
    let d = desired(SessionKind::Root);
    let v = &verify(
        &d,
        &dest("res1"),
        &[facts(report(2, 0))],
        Tolerances::default(),
    )[0];
    assert_eq!(outcome(v, "restore-log"), Outcome::Pass);
    let v = &verify(
        &d,
        &dest("res1"),
        &[facts(report(2, 1))],
        Tolerances::default(),
    )[0];
    assert_eq!(outcome(v, "restore-log"), Outcome::Warn);
}
