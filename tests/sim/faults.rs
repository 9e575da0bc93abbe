//! Every kind of fault the simulator injects, each observed once.

use super::{basic_world, ok, start};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use whm_migrate::sim::{Faults, SimOptions};

#[tokio::test]
async fn every_fault_kind_can_be_observed() {
    let (h, api) = start(basic_world(), SimOptions::default()).await;
    let set = |f: Value| api.admin("faults", Some(f));
    set(json!({"latency_probability": 1.0, "latency_ms": 120})).await;
    // The delay is seen on the clock: a lower bound, which a slow machine cannot fail.
    let t = Instant::now();
    assert!(ok(&api.call("listpkgs", &[]).await));
    assert!(t.elapsed() >= Duration::from_millis(120));
    set(json!({"http_500": 1.0})).await;
    assert_eq!(api.get("listpkgs", &[]).await.unwrap().status(), 500);
    set(json!({"drop_before": 1.0})).await;
    assert!(
        api.get(
            "create_remote_root_transfer_session",
            &[("host", "src.example.com"), ("password", "rootpw")]
        )
        .await
        .is_err()
    );
    assert_eq!(h.stats().sessions_created, 0, "dropped before acting");
    set(json!({"drop_after": 1.0})).await;
    assert!(
        api.get(
            "create_remote_root_transfer_session",
            &[("host", "src.example.com"), ("password", "rootpw")]
        )
        .await
        .is_err()
    );
    assert_eq!(h.stats().sessions_created, 1, "acted, answer lost");
    set(json!({"result_zero": 1.0})).await;
    assert!(!ok(&api.call("listpkgs", &[]).await));
    set(json!({"html_page": 1.0})).await;
    let html = api.get("listpkgs", &[]).await.unwrap();
    assert_eq!(html.status(), 200);
    assert!(html.text().await.unwrap().starts_with("<!DOCTYPE html>"));
    set(json!({"truncated_json": 1.0})).await;
    let cut = api
        .get("listpkgs", &[])
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&cut).is_err() && cut.starts_with('{'));
    // Faults never apply to /__sim/*.
    assert!(api.stats().await.http_requests > 0);

    h.set_faults(Faults {
        fail_restore: [("bob".to_owned(), "Restore exploded.".to_owned())].into(),
        worker_crash: [("alice".to_owned(), 1)].into(),
        ..Faults::default()
    });
    let id = api.create_root().await;
    api.enqueue_account(&id, "alice").await;
    api.enqueue_account(&id, "bob").await;
    api.call("start_transfer_session", &[("transfer_session_id", &id)])
        .await;
    api.wait_state(&id, "COMPLETED").await;
    let recs = api.records(&id, "master.log").await;
    let crash = recs
        .iter()
        .find(|r| r["contents"]["action"] == "child-failed")
        .expect("child-failed");
    assert_eq!(crash["contents"]["msg"], "1/2");
    assert!(
        h.world().destination.account("alice").is_some(),
        "retried after the crash"
    );
    assert!(recs.iter().any(|r| r["contents"]["action"] == "failed-item"
        && r["contents"]["msg"]["failure"] == "Restore exploded."));

    // Long enough that the state read right after the abort comes within it, however
    // loaded the machine is.
    h.set_faults(Faults {
        flicker_ms: 2_000,
        ..Faults::default()
    });
    let p = api.create_root().await;
    api.call("abort_transfer_session", &[("transfer_session_id", &p)])
        .await;
    assert_eq!(api.state(&p).await, "COMPLETED", "the rare flicker");
    api.wait_state(&p, "FAILED").await;

    h.set_faults(Faults::default());
    let q = api.create_root().await;
    let failed = api.admin(&format!("sessions/{q}/fail"), None).await;
    assert_eq!(failed["state"], "FAILED");
    let stats = api.stats().await;
    for k in [
        "latency",
        "http_500",
        "drop_before",
        "drop_after",
        "result_zero",
        "html_page",
        "truncated_json",
        "fail_restore",
        "worker_crash",
        "flicker",
        "admin",
    ] {
        assert!(
            stats.faults.get(k).copied().unwrap_or(0) >= 1,
            "fault {k} not counted: {:?}",
            stats.faults
        );
    }
    h.shutdown().await;
}
