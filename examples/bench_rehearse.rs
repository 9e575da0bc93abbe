//! The rehearsal's predicted makespan of the demo against a real apply on the simulator
//! at the same speed (docs/benchmarks.md, "Rehearsal").
//!
//! The "real" destination is the demo world served at real time (one simulated second
//! is one second) at `SPEED` MB/s; the rehearsal observes it, plays the migration
//! compressed, and predicts; then apply's executor runs on the real-time simulator and
//! the session is timed on the simulator itself.
//!
//! Run: `cargo run --release --example bench_rehearse -- [SPEED_MB_S]` (default 2000).
#![allow(clippy::print_stdout, clippy::expect_used, clippy::unwrap_used)]
// A benchmark's main reads top to bottom as one measurement; the limit is for src/.
#![allow(clippy::too_many_lines)]
#[path = "common/mod.rs"]
mod common;

use common::Quiet;
use std::time::Instant;
use whm_migrate::apply::enqueue::ENQUEUES_PER_SESSION;
use whm_migrate::apply::execute::{Context, execute};
use whm_migrate::apply::poll::PollPolicy;
use whm_migrate::journal::{JournalHandle, StateDir};
use whm_migrate::migration::settings::{self, Credentials};
use whm_migrate::modules::ModuleCatalog;
use whm_migrate::plan::observe::observe;
use whm_migrate::plan::{Action, diff};
use whm_migrate::rehearse::scale::{Scale, SourceWork};
use whm_migrate::rehearse::{Options, Rehearsal};
use whm_migrate::sim::{SimOptions, Simulator, World};

#[tokio::main]
async fn main() {
    let speed: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000.0);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    let mut manifest = whm_migrate::manifest::load(root.join("demo.toml")).expect("demo");
    manifest
        .resolve_secrets(whm_migrate::manifest::SecretScope::All)
        .expect("demo secret");
    let desired = settings::desired(&manifest, &ModuleCatalog::bundled());
    let (access, _) = settings::access(&manifest, Credentials::Manifest);
    let (rehearsal_roots, rehearsal_users) = settings::access(&manifest, Credentials::Rehearsal);

    let real_time = Scale {
        factor: 1.0,
        ..Scale::new(speed, &[])
    };
    let sim = Simulator::start(
        World::load(root.join("worlds/demo.toml")).expect("world"),
        SimOptions {
            api_token: common::TOKEN.into(),
            time_scale: real_time.time_scale(),
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator");
    let client = common::client(sim.base_url());
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = JournalHandle::open(StateDir::new(dir.path(), "demo")).expect("journal");
    let observed = observe(&client, &desired, &access, &journal, "apply", false)
        .await
        .expect("observe");
    let plan = diff(&desired, &observed);

    // The rehearsal, from the observed state only.
    let work: Vec<SourceWork> = plan
        .sources
        .iter()
        .zip(&manifest.sources)
        .map(|(s, o)| {
            let moving = s.items.iter().filter(|i| i.action == Action::Transfer);
            SourceWork {
                bytes: moving.clone().filter_map(|i| i.size).sum(),
                items: moving.count(),
                threads: o.session.transfer_threads.unwrap_or(1),
            }
        })
        .collect();
    let scale = Scale::new(speed, &work);
    let wall = Instant::now();
    let mut rehearsal = Rehearsal::start(
        &desired,
        &observed,
        Options {
            state: StateDir::new(dir.path().join("rehearse"), "demo"),
            scale,
            faults: None,
            roots: rehearsal_roots,
            users: rehearsal_users,
            enqueues_per_session: ENQUEUES_PER_SESSION,
        },
    )
    .await
    .expect("rehearsal");
    let rehearsed = rehearsal.plan(&desired).await.expect("rehearsal plan");
    let round = rehearsal
        .execute(&desired, rehearsed, vec![Box::new(Quiet)])
        .await;
    let rehearsal_wall = wall.elapsed();
    let _ = rehearsal.finish().await;
    let predicted = scale.real(round.simulated_overall.expect("measured"));

    // The real apply, timed on the simulator.
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
    let (runs, running, ended) = common::probed(&sim, &session, run).await;
    assert!(runs[0].error.is_none(), "{:?}", runs[0].error);
    let real = ended - running;
    println!(
        "speed: {speed} MB/s, time scale of the rehearsal: {:.1}x",
        scale.factor
    );
    println!(
        "predicted makespan: {:.1} s (rehearsal took {:.1} s of wall time)",
        predicted.as_secs_f64(),
        rehearsal_wall.as_secs_f64()
    );
    println!(
        "real apply's session on the simulator: {:.1} s",
        real.as_secs_f64()
    );
    println!(
        "predicted / real: {:.3}",
        predicted.as_secs_f64() / real.as_secs_f64()
    );
}
