//! Log fetches in blocking mode.

use super::{actions, basic_world, held, start};
use crate::support::calls;
use crate::support::wait::until;
use whm_migrate::sim::SimOptions;

#[tokio::test]
async fn blocking_logs_wait_until_the_log_is_finished() {
    let opts = SimOptions {
        blocking_logs: true,
        ..held()
    };
    let (h, api) = start(basic_world(), opts).await;
    let id = api.create_root().await;
    api.enqueue_account(&id, "alice").await;
    api.enqueue_account(&id, "bob").await;
    let sid = [("transfer_session_id", id.as_str())];
    api.call("start_transfer_session", &sid).await;
    // Paused, the session cannot finish its master log until it is started again.
    api.call("pause_transfer_session", &sid).await;
    api.wait_state(&id, "PAUSED").await;
    // The fetch reaches the server while the session is paused; only then is it
    // started again.
    let (recs, ()) = tokio::join!(api.records(&id, "master.log"), async {
        until("the log fetch to reach the server", || {
            calls(&h.stats(), "fetch_transfer_session_log") >= 1
        })
        .await;
        api.call("start_transfer_session", &sid).await;
    });
    // The answer holds what was written after the call arrived: the call waited.
    let acts = actions(&recs);
    assert!(
        acts.iter().any(|a| a == "resume"),
        "the call waited: {acts:?}"
    );
    assert_eq!(acts.last().unwrap(), "complete");
    assert_eq!(api.state(&id).await, "COMPLETED");
    h.shutdown().await;
}
