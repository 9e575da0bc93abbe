//! How close `apply` comes to the ideal schedule of the simulated thread pools, how many
//! requests it makes, and how soon it notices the end of a session, for N accounts on
//! one root source against the in-process simulator.
//!
//! ```text
//! cargo run --release --example bench_apply -- 200
//! ```
//!
//! The ideal is a lower bound: every TRANSFER step's time spread perfectly over the
//! transfer threads, or every RESTORE step's over the restore threads, whichever is
//! longer, plus the shortest other step (the pipeline cannot start restoring before
//! one transfer ends). Results go to `docs/benchmarks.md`; no test asserts on timings.

// A benchmark's main reads top to bottom as one measurement; the limit is for src/.
#![allow(clippy::too_many_lines)]
#[path = "common/mod.rs"]
mod common;

use common::Quiet;
use std::time::{Duration, Instant};
use whm_migrate::apply::enqueue::ENQUEUES_PER_SESSION;
use whm_migrate::apply::execute::{Context, execute};
use whm_migrate::apply::poll::PollPolicy;
use whm_migrate::journal::{JournalHandle, StateDir};
use whm_migrate::plan::observe::{SourceAccess, observe};
use whm_migrate::plan::{Desired, DesiredItem, DesiredSource, SessionKind, diff};
use whm_migrate::sim::TimeScale;

const THREADS: u32 = 4;

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let scale = TimeScale {
        bytes_per_second: 2_000_000_000,
        restore_bytes_per_second: 4_000_000_000,
        item_overhead_ms: 2,
    };
    // Sizes 10 MB .. ~400 MB, deterministic.
    let sizes: Vec<u64> = (0..n as u64)
        .map(|i| 10_000_000 + (i * 7919 % 400) * 1_000_000)
        .collect();
    let sim = common::start_world(
        &sizes,
        |i| (format!("u{i:05}"), format!("s{i:05}.example")),
        scale,
    )
    .await;
    let client = common::client(sim.base_url());
    let desired = Desired {
        migration: "bench".into(),
        sources: vec![DesiredSource {
            name: "big".into(),
            host: "big.example.com".into(),
            kind: SessionKind::Root,
            items: (0..n)
                .map(|i| {
                    let user = format!("u{i:05}");
                    DesiredItem {
                        module: "AccountRemoteRoot".into(),
                        type_id: 3000,
                        key: user.clone(),
                        localuser: Some(user.clone()),
                        domain: Some(format!("s{i:05}.example")),
                        force: false,
                        overwrite_dbs: false,
                        params: vec![("user".into(), user.clone()), ("localuser".into(), user)],
                        problems: vec![],
                        waive: vec![],
                        acknowledge: vec![],
                    }
                })
                .collect(),
            waive: vec![],
        }],
    };
    let access = [SourceAccess {
        name: "big".into(),
        root: Some(common::root_session("big.example.com", "pw", THREADS)),
    }];
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = JournalHandle::open(StateDir::new(dir.path(), "bench")).expect("journal");
    let observed = observe(&client, &desired, &access, &journal, "apply", false)
        .await
        .expect("observe");
    let plan = diff(&desired, &observed);
    let before = sim.stats();
    let cx = Context {
        client: &client,
        journal: &journal,
        policy: PollPolicy::default(),
        enqueues_per_session: ENQUEUES_PER_SESSION,
    };
    // Watch the session on the simulator itself to learn when it really ended.
    let session = plan.sources[0]
        .session
        .as_ref()
        .expect("session")
        .id
        .clone();
    let started = Instant::now();
    let run = execute(cx, &desired, &plan, &[], vec![Box::new(Quiet)]);
    let (runs, running_at, ended_at) = common::probed(&sim, &session, run).await;
    let noticed = Instant::now();
    let makespan = started.elapsed();
    assert!(runs[0].error.is_none(), "{:?}", runs[0].error);
    let after = sim.stats();
    let calls = |f: &str| {
        after.calls.get(f).copied().unwrap_or(0) - before.calls.get(f).copied().unwrap_or(0)
    };
    let transfer: Duration = sizes
        .iter()
        .map(|s| scale.duration(*s, scale.bytes_per_second))
        .sum();
    let restore: Duration = sizes
        .iter()
        .map(|s| scale.duration(*s, scale.restore_bytes_per_second))
        .sum();
    let shortest = sizes
        .iter()
        .map(|s| scale.duration(*s, scale.restore_bytes_per_second))
        .min()
        .unwrap_or_default()
        .min(
            sizes
                .iter()
                .map(|s| scale.duration(*s, scale.bytes_per_second))
                .min()
                .unwrap_or_default(),
        );
    let ideal = (transfer / THREADS).max(restore / THREADS) + shortest;
    let delay = noticed.saturating_duration_since(ended_at);
    println!("accounts: {n}, threads: {THREADS}+{THREADS}");
    println!(
        "makespan: {:.0} ms, ideal lower bound: {:.0} ms, ratio {:.3}",
        makespan.as_secs_f64() * 1000.0,
        ideal.as_secs_f64() * 1000.0,
        makespan.as_secs_f64() / ideal.as_secs_f64()
    );
    println!(
        "requests: enqueue {}, start {}, state polls {}, log fetches {}, total HTTP {}",
        calls("enqueue_transfer_item"),
        calls("start_transfer_session"),
        calls("get_transfer_session_state"),
        calls("fetch_transfer_session_log"),
        after.http_requests - before.http_requests
    );
    let server = ended_at.duration_since(running_at);
    println!(
        "the session itself ran {:.0} ms (ratio {:.3} to the ideal); enqueueing and starting took {:.0} ms",
        server.as_secs_f64() * 1000.0,
        server.as_secs_f64() / ideal.as_secs_f64(),
        running_at.duration_since(started).as_secs_f64() * 1000.0
    );
    println!(
        "end noticed {:.0} ms after the session completed",
        delay.as_secs_f64() * 1000.0
    );
    let _ = sim.shutdown().await;
}
