//! The session state machine: pause, resume and abort, a session whose process is
//! gone, and the state names answered under either `state_names` option.

use super::{actions, basic_world, held, ok, reason, start};
use crate::support::wait::until_async;
use std::collections::BTreeSet;
use whm_migrate::sim::{SimOptions, StateNames};

/// The names the guide says `get_transfer_session_state` "will respond with".
const GUIDE: [&str; 7] = [
    "TRANSFER_PENDING",
    "TRANSFER_INPROGRESS",
    "RESTORE_PENDING",
    "RESTORE_INPROGRESS",
    "PENDING",
    "COMPLETED",
    "FAILED",
];

#[tokio::test]
async fn pause_resume_and_abort_follow_the_state_machine() {
    let (h, api) = start(basic_world(), held()).await;
    let id = api.create_root().await;
    for u in ["alice", "bob", "carol"] {
        api.enqueue_account(&id, u).await;
    }
    let bad = api
        .call("pause_transfer_session", &[("transfer_session_id", &id)])
        .await;
    assert_eq!(
        reason(&bad),
        "The system failed to “pause” the transfer session."
    );
    let pid = api
        .call("start_transfer_session", &[("transfer_session_id", &id)])
        .await["data"]["pid"]
        .clone();
    assert_eq!(api.state(&id).await, "RUNNING");
    let same = api
        .call("start_transfer_session", &[("transfer_session_id", &id)])
        .await;
    assert_eq!(
        same["data"]["pid"], pid,
        "start on RUNNING returns the same pid"
    );
    // The live log is partial (not blocking by default).
    let partial = api.records(&id, "master.log").await;
    assert_ne!(
        actions(&partial).last().map(String::as_str),
        Some("complete")
    );
    let paused = api
        .call("pause_transfer_session", &[("transfer_session_id", &id)])
        .await;
    assert!(ok(&paused) && paused.get("data").is_none());
    assert_eq!(api.state(&id).await, "PAUSING");
    assert!(!ok(&api
        .call("pause_transfer_session", &[("transfer_session_id", &id)])
        .await));
    api.wait_state(&id, "PAUSED").await;
    let acts = actions(&api.records(&id, "master.log").await);
    assert!(acts.contains(&"pausing".to_owned()) && acts.last().unwrap() == "pause");
    let resumed = api
        .call("start_transfer_session", &[("transfer_session_id", &id)])
        .await;
    assert!(ok(&resumed));
    assert_eq!(api.state(&id).await, "RUNNING");
    let acts = actions(&api.records(&id, "master.log").await);
    let pos = |a: &str| acts.iter().position(|x| x == a);
    assert!(pos("resume") > pos("pause"), "resume after pause: {acts:?}");
    assert!(acts.contains(&"resume".to_owned()));
    assert!(ok(&api
        .call("abort_transfer_session", &[("transfer_session_id", &id)])
        .await));
    let s = api.state(&id).await;
    assert!(s == "ABORTING" || s == "ABORTED", "{s}");
    api.wait_state(&id, "ABORTED").await;
    let acts = actions(&api.records(&id, "master.log").await);
    assert!(acts.contains(&"aborting".to_owned()) && acts.last().unwrap() == "abort");
    let restart = api
        .call("start_transfer_session", &[("transfer_session_id", &id)])
        .await;
    assert!(!ok(&restart) && reason(&restart).contains("because of an error"));
    let again = api
        .call("abort_transfer_session", &[("transfer_session_id", &id)])
        .await;
    assert_eq!(
        reason(&again),
        "The system failed to “abort” the transfer session."
    );

    // Abort of a PENDING session gives FAILED with a `fail` record.
    let p = api.create_root().await;
    assert!(ok(&api
        .call("abort_transfer_session", &[("transfer_session_id", &p)])
        .await));
    assert_eq!(api.state(&p).await, "FAILED");
    assert_eq!(actions(&api.records(&p, "master.log").await), ["fail"]);
    assert!(!ok(&api
        .call("start_transfer_session", &[("transfer_session_id", &p)])
        .await));

    // Abort of a PAUSED session goes straight to ABORTED.
    let q = api.create_root().await;
    api.enqueue_account(&q, "alice").await;
    api.enqueue_account(&q, "bob").await;
    api.call("start_transfer_session", &[("transfer_session_id", &q)])
        .await;
    api.call("pause_transfer_session", &[("transfer_session_id", &q)])
        .await;
    api.wait_state(&q, "PAUSED").await;
    assert!(ok(&api
        .call("abort_transfer_session", &[("transfer_session_id", &q)])
        .await));
    assert_eq!(api.state(&q).await, "ABORTED");
    h.shutdown().await;
}

#[tokio::test]
async fn pause_of_a_session_without_a_live_process_fails_it() {
    let (h, api) = start(basic_world(), held()).await;
    let id = api.create_root().await;
    api.enqueue_account(&id, "alice").await;
    api.call("start_transfer_session", &[("transfer_session_id", &id)])
        .await;
    let killed = api.admin(&format!("sessions/{id}/kill"), None).await;
    assert_eq!(killed["state"], "RUNNING");
    let p = api
        .call("pause_transfer_session", &[("transfer_session_id", &id)])
        .await;
    assert!(ok(&p));
    assert_eq!(api.state(&id).await, "FAILED");
    assert_eq!(
        actions(&api.records(&id, "master.log").await)
            .last()
            .unwrap(),
        "fail"
    );
    h.shutdown().await;
}

/// Under `state_names = docs` a session answers the guide's names from its creation to
/// its end: PENDING, then its queues' names (never RUNNING), then COMPLETED. A pause and
/// an abort, which the guide's list cannot name, answer as the server does.
#[tokio::test]
async fn under_the_docs_names_a_session_answers_the_guides_list() {
    let opts = SimOptions {
        state_names: StateNames::Docs,
        ..held()
    };
    let (h, api) = start(basic_world(), opts).await;
    let id = api.create_root().await;
    for u in ["alice", "bob", "carol"] {
        api.enqueue_account(&id, u).await;
    }
    assert_eq!(api.state(&id).await, "PENDING");
    assert!(ok(&api
        .call("start_transfer_session", &[("transfer_session_id", &id)])
        .await));
    // Read until the end: every answer is on the guide's list, and the transfers and the
    // restore left alone at the end (two workers, three accounts) are both named.
    let mut seen = BTreeSet::new();
    let mut last = String::new();
    until_async("the session to complete", async || {
        last = api.state(&id).await;
        seen.insert(last.clone());
        last == "COMPLETED"
    })
    .await;
    assert!(seen.iter().all(|s| GUIDE.contains(&s.as_str())), "{seen:?}");
    for name in ["TRANSFER_INPROGRESS", "RESTORE_INPROGRESS"] {
        assert!(seen.contains(name), "{name} never answered: {seen:?}");
    }
    let stats = api.stats().await;
    assert!(!stats.state_answers.contains_key("RUNNING"), "{stats:#?}");
    assert!(stats.state_answers["TRANSFER_INPROGRESS"] >= 1);

    // Pause and abort answer the server's names; a resumed session the guide's again.
    let q = api.create_root().await;
    for u in ["alice", "bob", "carol"] {
        api.enqueue_account(&q, u).await;
    }
    api.call("start_transfer_session", &[("transfer_session_id", &q)])
        .await;
    assert!(ok(&api
        .call("pause_transfer_session", &[("transfer_session_id", &q)])
        .await));
    assert_eq!(api.state(&q).await, "PAUSING");
    api.wait_state(&q, "PAUSED").await;
    assert!(ok(&api
        .call("start_transfer_session", &[("transfer_session_id", &q)])
        .await));
    // Running again: named after its queues (which step a worker takes first is a race).
    let resumed = api.state(&q).await;
    assert!(GUIDE[..4].contains(&resumed.as_str()), "{resumed}");
    assert!(ok(&api
        .call("abort_transfer_session", &[("transfer_session_id", &q)])
        .await));
    let s = api.state(&q).await;
    assert!(s == "ABORTING" || s == "ABORTED", "{s}");
    api.wait_state(&q, "ABORTED").await;
    h.shutdown().await;
}
