//! The session state machine: pause, resume and abort, and a session whose process is
//! gone.

use super::{actions, basic_world, held, ok, reason, start};

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
