//! The baseline: cPanel's step-by-step guide turned into a script, using the project's
//! own client (`whm_migrate::whm`) so only the approach differs. Per source in turn:
//! create the session; per account, check it on the destination
//! (`validate_system_user`) and enqueue it; start. Then every second, for each session
//! not yet finished: read its state and fetch and re-parse its whole master log.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use whm_migrate::apply::enqueue::{ENQUEUES_AT_ONCE, ENQUEUES_PER_SESSION};
use whm_migrate::translog::parse_master_log;
use whm_migrate::whm::WhmClient;

use crate::fleet::{Fleet, PASSWORD, THREADS};

/// The naive check of every account: one `validate_system_user` each, in turn.
pub async fn check(client: &WhmClient, fleet: &Fleet) -> Duration {
    let started = Instant::now();
    for (_, user) in fleet.accounts() {
        client.validate_system_user(user).await.expect("check");
    }
    started.elapsed()
}

/// Creates a root session from `host`, as apply does.
async fn create(client: &WhmClient, host: &str) -> String {
    client
        .create_remote_root_transfer_session(&crate::common::root_session(host, PASSWORD, THREADS))
        .await
        .expect("create")
        .transfer_session_id
}

/// The floor of apply's time before its sessions run: only the requests the API
/// forces (per source a create, one enqueue per account, a start), with apply's
/// concurrency (its defaults: ENQUEUES_PER_SESSION in flight per session, 64 in all, sources at once) and
/// nothing else: no process start, no planning, no journal. The sessions are
/// started; the caller stops the simulator.
pub async fn floor(client: &WhmClient, fleet: &Fleet) -> Duration {
    use futures::StreamExt as _;
    let started = Instant::now();
    let slots = tokio::sync::Semaphore::new(ENQUEUES_AT_ONCE);
    let slots = &slots;
    let sources = fleet.sources.iter().map(|(host, items)| async move {
        let id = create(client, host).await;
        let id = id.as_str();
        futures::stream::iter(items)
            .map(|(user, size)| async move {
                let _slot = slots.acquire().await.expect("open");
                let params = [
                    ("user".to_owned(), user.clone()),
                    ("localuser".to_owned(), user.clone()),
                    ("size".to_owned(), size.to_string()),
                ];
                client
                    .enqueue_transfer_item(id, "AccountRemoteRoot", &params)
                    .await
                    .expect("enqueue");
            })
            .buffer_unordered(ENQUEUES_PER_SESSION)
            .collect::<Vec<()>>()
            .await;
        client.start_transfer_session(id).await.expect("start");
    });
    futures::future::join_all(sources).await;
    started.elapsed()
}

/// What the naive apply saw.
pub struct NaiveRun {
    /// Session id → when the script noticed it had ended.
    pub noticed: BTreeMap<String, std::time::SystemTime>,
    /// From the first call to the last session noticed.
    pub makespan: Duration,
}

/// Runs the naive apply; `watch` is told each session id as soon as it exists.
pub async fn apply(client: &WhmClient, fleet: &Fleet, mut watch: impl FnMut(&str)) -> NaiveRun {
    let started = Instant::now();
    let mut sessions = Vec::new();
    for (host, items) in &fleet.sources {
        let id = create(client, host).await;
        watch(&id);
        for (user, _) in items {
            client.validate_system_user(user).await.expect("check");
            let params = [
                ("user".to_owned(), user.clone()),
                ("localuser".to_owned(), user.clone()),
            ];
            client
                .enqueue_transfer_item(&id, "AccountRemoteRoot", &params)
                .await
                .expect("enqueue");
        }
        client.start_transfer_session(&id).await.expect("start");
        sessions.push(id);
    }
    let mut noticed = BTreeMap::new();
    while noticed.len() < sessions.len() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for id in &sessions {
            if noticed.contains_key(id) {
                continue;
            }
            let state = client.get_transfer_session_state(id).await.expect("state");
            let log = client
                .fetch_transfer_session_log(id, "master.log")
                .await
                .expect("log");
            std::hint::black_box(parse_master_log(log.as_bytes()));
            if state.is_terminal() {
                noticed.insert(id.clone(), std::time::SystemTime::now());
            }
        }
    }
    NaiveRun {
        noticed,
        makespan: started.elapsed(),
    }
}
