//! Log fetches in blocking mode.

use super::{actions, basic_world, slow, start};
use std::time::{Duration, Instant};
use whm_migrate::sim::SimOptions;

#[tokio::test]
async fn blocking_logs_wait_until_the_log_is_finished() {
    let opts = SimOptions {
        blocking_logs: true,
        ..slow()
    };
    let (h, api) = start(basic_world(), opts).await;
    let id = api.create_root().await;
    api.enqueue_account(&id, "alice").await;
    api.enqueue_account(&id, "bob").await;
    api.call("start_transfer_session", &[("transfer_session_id", &id)])
        .await;
    let t = Instant::now();
    let recs = api.records(&id, "master.log").await;
    assert!(t.elapsed() >= Duration::from_millis(100), "the call waited");
    assert_eq!(actions(&recs).last().unwrap(), "complete");
    assert_eq!(api.state(&id).await, "COMPLETED");
    h.shutdown().await;
}
