//! How the chosen order compares with the manifest's order and a random one: the same
//! 200 accounts (sizes spread over three orders of magnitude, 1 MB to 1 GB) applied
//! against the in-process simulator (time-scaled), each order in a fresh world, each
//! makespan against the ideal lower bound max(total work / threads, largest item).
//!
//! ```text
//! cargo run --release --example bench_schedule -- 200
//! ```
//!
//! The makespan is the session's own run on the simulator (RUNNING to COMPLETED, seen by
//! a probe), so enqueueing and polling do not blur the comparison. Results go to
//! `docs/benchmarks.md`; no test asserts on timings.

#[path = "common/mod.rs"]
mod common;

use common::Quiet;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use whm_migrate::apply::enqueue::ENQUEUES_PER_SESSION;
use whm_migrate::apply::execute::{Context, execute};
use whm_migrate::apply::poll::PollPolicy;
use whm_migrate::journal::{JournalHandle, StateDir};
use whm_migrate::plan::observe::{SourceAccess, observe};
use whm_migrate::plan::schedule::{self, Pools};
use whm_migrate::plan::{
    Desired, DesiredItem, DesiredSource, Plan, SessionKind, SetBy, Throughput, ThroughputSource,
    diff,
};
use whm_migrate::sim::TimeScale;

const THREADS: u32 = 4;
const SEED: u64 = 42;
const SCALE: TimeScale = TimeScale {
    bytes_per_second: 1_200_000_000,
    restore_bytes_per_second: 2_400_000_000,
    item_overhead_ms: 2,
};

/// The simulator's time scale, as the estimate reads it.
fn throughput() -> Throughput {
    Throughput {
        transfer_bytes_per_second: SCALE.bytes_per_second,
        restore_bytes_per_second: Some(SCALE.restore_bytes_per_second),
        step_overhead_ms: SCALE.item_overhead_ms,
        from: ThroughputSource::Given,
    }
}

/// How a variant sets the accounts' priorities (`None`: the schedule's).
enum Order {
    Chosen,
    Manifest,
    Random,
}

struct Outcome {
    name: &'static str,
    makespan: Duration,
    predicted_ms: u64,
}

async fn run(n: usize, sizes: &[u64], order: &Order) -> Outcome {
    let sim = common::start_world(
        sizes,
        |i| (format!("u{i:03}"), format!("s{i:03}.example")),
        SCALE,
    )
    .await;
    let client = common::client(sim.base_url());
    let desired = Desired {
        migration: "bench".into(),
        sources: vec![DesiredSource {
            name: "big".into(),
            host: "big.example.com".into(),
            kind: SessionKind::Root,
            waive: vec![],
            items: (0..n)
                .map(|i| {
                    let user = format!("u{i:03}");
                    DesiredItem {
                        module: "AccountRemoteRoot".into(),
                        type_id: 3000,
                        key: user.clone(),
                        localuser: Some(user.clone()),
                        domain: Some(format!("s{i:03}.example")),
                        force: false,
                        overwrite_dbs: false,
                        params: vec![("user".into(), user.clone()), ("localuser".into(), user)],
                        problems: vec![],
                        waive: vec![],
                        acknowledge: vec![],
                    }
                })
                .collect(),
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
    let mut plan = diff(&desired, &observed);
    let pools = [Pools::new(Some(THREADS), Some(THREADS))];
    schedule::schedule(&mut plan, &desired, &observed, &pools, throughput());
    let name = reorder(&mut plan, order);
    // The estimate of the order actually sent.
    let predicted_ms = estimate(&plan, &desired);
    let session = plan.sources[0]
        .session
        .as_ref()
        .expect("session")
        .id
        .clone();
    let cx = Context {
        client: &client,
        journal: &journal,
        policy: PollPolicy::default(),
        enqueues_per_session: ENQUEUES_PER_SESSION,
    };
    let run = execute(cx, &desired, &plan, &[], vec![Box::new(Quiet)]);
    let (runs, running_at, ended_at) = common::probed(&sim, &session, run).await;
    assert!(runs[0].error.is_none(), "{:?}", runs[0].error);
    let makespan = ended_at.duration_since(running_at);
    let _ = sim.shutdown().await;
    Outcome {
        name,
        makespan,
        predicted_ms,
    }
}

/// Replaces the schedule's priorities with the variant's (sent as the schedule's).
fn reorder(plan: &mut Plan, order: &Order) -> &'static str {
    let items = &mut plan.sources[0].items;
    let mut ranks: Vec<usize> = (0..items.len()).collect();
    let name = match order {
        Order::Chosen => return "chosen (longest chain first)",
        Order::Manifest => "manifest order",
        Order::Random => {
            ranks.shuffle(&mut rand::rngs::StdRng::seed_from_u64(SEED));
            "random order (seed 42)"
        }
    };
    for (item, rank) in items.iter_mut().zip(ranks) {
        item.priority = Some(i64::try_from(rank).unwrap_or(i64::MAX) + 1);
        item.priority_by = Some(SetBy::Schedule);
    }
    name
}

fn estimate(plan: &Plan, desired: &Desired) -> u64 {
    let jobs: Vec<schedule::Job> = plan.sources[0]
        .items
        .iter()
        .zip(&desired.sources[0].items)
        .map(|(i, d)| schedule::Job {
            type_id: d.type_id,
            key: i.key.clone(),
            size: i.size.unwrap_or(1),
            priority: i.priority.unwrap_or(255),
            prerequisite: i.prerequisite_user.clone(),
        })
        .collect();
    schedule::estimate_ms(
        &jobs,
        Pools::new(Some(THREADS), Some(THREADS)),
        &throughput(),
    )
}

#[tokio::main]
#[allow(clippy::cast_precision_loss)]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    // Log-uniform over 1 MB .. 1 GB: three orders of magnitude, fixed seed.
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let sizes: Vec<u64> = (0..n)
        .map(|_| {
            let exp: f64 = rng.random_range(6.0..9.0);
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let bytes = 10f64.powf(exp) as u64;
            bytes
        })
        .collect();
    let pools = Pools::new(Some(THREADS), Some(THREADS));
    let bound = schedule::lower_bound_ms(&sizes, pools, &throughput());
    let total: u64 = sizes.iter().sum();
    println!(
        "accounts: {n}, {:.1} GB in all, largest {:.0} MB, smallest {:.1} MB; threads {THREADS}+{THREADS}",
        total as f64 / 1e9,
        *sizes.iter().max().unwrap_or(&0) as f64 / 1e6,
        *sizes.iter().min().unwrap_or(&0) as f64 / 1e6,
    );
    println!("ideal lower bound: {bound} ms\n");
    println!("| order | makespan | vs bound | estimate |");
    println!("|---|---:|---:|---:|");
    for order in [Order::Chosen, Order::Manifest, Order::Random] {
        let o = run(n, &sizes, &order).await;
        let ms = o.makespan.as_secs_f64() * 1000.0;
        println!(
            "| {} | {:.0} ms | {:+.1}% | {} ms |",
            o.name,
            ms,
            (ms / bound as f64 - 1.0) * 100.0,
            o.predicted_ms
        );
    }
}
