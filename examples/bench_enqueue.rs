//! What enqueueing one at a time per session costs against several in flight: the time
//! from apply's execute until every session runs, for N accounts over S root sources,
//! at a simulated round trip per `enqueue_transfer_item` call.
//!
//! ```text
//! cargo run --release --example bench_enqueue -- 1000 1,10 0,20,50 1,4,16
//! #                                     accounts sources  rtt ms  enqueues per session
//! ```
//!
//! The round trip is the simulator's `answer_delay_ms` on the enqueue call: the call
//! runs at once and its answer is held back, the lock not held, so the simulator takes
//! any number of enqueues at once. That is the best case for concurrency; whether a
//! real WHM does is not documented. Results go to `docs/benchmarks.md`; no test asserts
//! on timings.

// A benchmark's main reads top to bottom as one measurement; the limit is for src/.
#![allow(clippy::too_many_lines)]
#[path = "common/mod.rs"]
mod common;

use common::Quiet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use whm_migrate::apply::execute::{Context, execute};
use whm_migrate::apply::monitor::Watcher;
use whm_migrate::apply::poll::PollPolicy;
use whm_migrate::journal::{JournalHandle, StateDir};
use whm_migrate::plan::observe::{SourceAccess, observe};
use whm_migrate::plan::{Desired, DesiredItem, DesiredSource, SessionKind, diff};
use whm_migrate::sim::{Faults, SimOptions, Simulator, TimeScale, World};

fn list(arg: Option<String>, default: &[u64]) -> Vec<u64> {
    arg.map_or_else(
        || default.to_vec(),
        |a| a.split(',').map(|v| v.parse().expect("a number")).collect(),
    )
}

fn host(s: u64) -> String {
    format!("src{s:02}.example.com")
}

fn world(accounts: u64, sources: u64) -> World {
    let mut text = String::new();
    for s in 0..sources {
        let h = host(s);
        let _ = writeln!(
            text,
            "[sources.\"{h}\".credentials]\nroot_password = \"pw\""
        );
        for i in (0..accounts).filter(|i| i % sources == s) {
            let _ = writeln!(
                text,
                "[[sources.\"{h}\".accounts]]\nuser = \"u{i:05}\"\ndomain = \"s{i:05}.example\"\nbytesused = 1000000"
            );
        }
    }
    World::from_toml_str(&text).expect("world")
}

fn desired(accounts: u64, sources: u64) -> Desired {
    Desired {
        migration: "bench".into(),
        sources: (0..sources)
            .map(|s| DesiredSource {
                name: host(s),
                host: host(s),
                kind: SessionKind::Root,
                items: (0..accounts)
                    .filter(|i| i % sources == s)
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
            })
            .collect(),
    }
}

/// One apply: how long until every session ran, and the whole execute.
async fn once(accounts: u64, sources: u64, rtt: u64, per_session: usize) -> (Duration, Duration) {
    let sim = Simulator::start(
        world(accounts, sources),
        SimOptions {
            api_token: common::TOKEN.into(),
            time_scale: TimeScale {
                bytes_per_second: 1_000_000_000_000,
                restore_bytes_per_second: 1_000_000_000_000,
                item_overhead_ms: 0,
            },
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator");
    let client = common::client(sim.base_url());
    let desired = desired(accounts, sources);
    let access: Vec<SourceAccess> = (0..sources)
        .map(|s| SourceAccess {
            name: host(s),
            root: Some(common::root_session(&host(s), "pw", 4)),
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = JournalHandle::open(StateDir::new(dir.path(), "bench")).expect("journal");
    let observed = observe(&client, &desired, &access, &journal, "apply", false)
        .await
        .expect("observe");
    let plan = diff(&desired, &observed);
    let sessions: Vec<String> = plan
        .sources
        .iter()
        .map(|p| p.session.as_ref().expect("session").id.clone())
        .collect();
    // Only the enqueues wait a round trip: the rest of apply is the same in every row.
    sim.set_faults(Faults {
        answer_delay_ms: [("enqueue_transfer_item".to_owned(), rtt)].into(),
        ..Faults::default()
    });
    let cx = Context {
        client: &client,
        journal: &journal,
        policy: PollPolicy::default(),
        enqueues_per_session: per_session,
    };
    let watchers: Vec<Box<dyn Watcher + Send>> = (0..sources)
        .map(|_| Box::new(Quiet) as Box<dyn Watcher + Send>)
        .collect();
    let started = Instant::now();
    let run = execute(cx, &desired, &plan, &[], watchers);
    tokio::pin!(run);
    let mut ran: Vec<Option<Instant>> = vec![None; sessions.len()];
    let runs = loop {
        tokio::select! {
            runs = &mut run => break runs,
            () = tokio::time::sleep(Duration::from_millis(1)) => {
                for (seen, id) in ran.iter_mut().zip(&sessions) {
                    if seen.is_none() && sim.session_state(id).as_deref() != Some("PENDING") {
                        *seen = Some(Instant::now());
                    }
                }
            }
        }
    };
    let total = started.elapsed();
    assert!(
        runs.iter().all(|r| r.error.is_none()),
        "{:?}",
        runs[0].error
    );
    let last = ran
        .iter()
        .map(|t| t.expect("the probe saw every session run"))
        .max()
        .expect("a session");
    let _ = sim.shutdown().await;
    (last.duration_since(started), total)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let accounts = list(args.next(), &[1000])[0];
    let sources = list(args.next(), &[1, 10]);
    let rtts = list(args.next(), &[0, 20, 50]);
    let widths = list(args.next(), &[1, 4, 16]);
    println!(
        "| accounts | sources | round trip | enqueues per session | until every session ran | whole apply |"
    );
    println!("|---|---|---|---|---|---|");
    for &s in &sources {
        for &rtt in &rtts {
            for &w in &widths {
                let (ran, total) = once(accounts, s, rtt, usize::try_from(w).expect("width")).await;
                println!(
                    "| {accounts} | {s} | {rtt} ms | {w} | {:.2} s | {:.2} s |",
                    ran.as_secs_f64(),
                    total.as_secs_f64()
                );
            }
        }
    }
}
