//! How long `plan` takes, and how many requests it makes, for N accounts on one source
//! against the in-process simulator — and the same answer obtained the naive way (one
//! `validate_system_user` per account).
//!
//! ```text
//! cargo run --release --example bench_plan -- 10000
//! ```
//!
//! Prints one line per phase: wall time and HTTP requests. Results go to
//! `docs/benchmarks.md`; no test asserts on timings.

// A benchmark's main reads top to bottom as one measurement; the limit is for src/.
#![allow(clippy::too_many_lines)]

mod common;

use common::TOKEN;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};
use whm_migrate::journal::JournalHandle;
use whm_migrate::journal::StateDir;
use whm_migrate::migration::settings::{self, Credentials};
use whm_migrate::modules::ModuleCatalog;
use whm_migrate::plan::observe::observe;
use whm_migrate::plan::{diff, render};
use whm_migrate::sim::{SimHandle, SimOptions, Simulator, World};

const PASSWORD: &str = "rootpw";

fn world(n: usize) -> World {
    let mut text =
        format!("[sources.\"big.example.com\".credentials]\nroot_password = \"{PASSWORD}\"\n");
    for i in 0..n {
        let _ = write!(
            text,
            "[[sources.\"big.example.com\".accounts]]\nuser = \"user{i:05}\"\ndomain = \"site{i:05}.example\"\nbytesused = {}\n\
             databases = [\"user{i:05}_wp\"]\ndb_users = [\"user{i:05}_wp\"]\n",
            1_000_000 + i
        );
    }
    World::from_toml_str(&text).expect("generated world")
}

fn manifest(dir: &Path, url: &str, n: usize) -> std::path::PathBuf {
    common::write_secret(&dir.join("token"), TOKEN);
    common::write_secret(&dir.join("password"), PASSWORD);
    let mut text = format!(
        "version = 1\nname = \"bench\"\n\n[destination]\nurl = \"{url}\"\ntoken = {{ file = \"token\" }}\n\n\
         [[sources]]\nname = \"big\"\nhost = \"big.example.com\"\nkind = \"root\"\npassword = {{ file = \"password\" }}\n"
    );
    for i in 0..n {
        let _ = write!(text, "[[sources.accounts]]\nuser = \"user{i:05}\"\n");
    }
    let path = dir.join("bench.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Phase<'a> {
    sim: &'a SimHandle,
    started: Instant,
    requests: u64,
}

impl<'a> Phase<'a> {
    fn start(sim: &'a SimHandle) -> Self {
        Self {
            sim,
            started: Instant::now(),
            requests: sim.stats().http_requests,
        }
    }

    fn end(self, name: &str, n: usize) -> Duration {
        let elapsed = self.started.elapsed();
        let requests = self.sim.stats().http_requests - self.requests;
        #[allow(clippy::cast_precision_loss)]
        let per_account = requests as f64 / n.max(1) as f64;
        println!(
            "{name:<42} {:>10.1} ms {requests:>8} requests ({per_account:.4} per account)",
            elapsed.as_secs_f64() * 1000.0
        );
        elapsed
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(10_000, |a| a.parse().expect("the account count"));
    let sim = Simulator::start(
        world(n),
        SimOptions {
            api_token: TOKEN.to_owned(),
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), &sim.base_url(), n);
    println!(
        "plan of {n} accounts on one root source, simulator at {}",
        sim.base_url()
    );

    for run in [
        "first plan (creates the session)",
        "second plan (reuses it)",
    ] {
        println!("\n{run}");
        let total = Instant::now();
        let phase = Phase::start(&sim);
        let mut manifest = whm_migrate::manifest::load(&path).expect("valid manifest");
        manifest
            .resolve_secrets(whm_migrate::manifest::SecretScope::All)
            .expect("secrets");
        let catalog = ModuleCatalog::bundled();
        let desired = settings::desired(&manifest, &catalog);
        let (roots, _) = settings::access(&manifest, Credentials::Manifest);
        phase.end("  load + validate manifest", n);

        let state = StateDir::new(dir.path().join("state"), &manifest.name);
        let journal = JournalHandle::open(state.clone()).unwrap();
        let destination = settings::destination(&manifest, state.dir())
            .await
            .expect("client");
        let phase = Phase::start(&sim);
        let observed = observe(
            &destination.client,
            &desired,
            &roots,
            &journal,
            "bench",
            false,
        )
        .await
        .expect("observe");
        journal.flush().unwrap();
        phase.end("  observe (inventory, session, analysis)", n);

        let phase = Phase::start(&sim);
        let plan = diff(&desired, &observed);
        phase.end("  diff", n);
        assert_eq!(plan.summary.transfer, n);

        let phase = Phase::start(&sim);
        let sizes = [
            render::text(&plan).len(),
            render::json(&plan).len(),
            render::markdown(&plan).len(),
        ];
        phase.end("  render text + JSON + Markdown", n);
        println!(
            "  total {:.1} ms; output bytes text/JSON/Markdown {sizes:?}",
            total.elapsed().as_secs_f64() * 1000.0
        );
        destination.close().await;
    }

    // The naive way: ask the destination about each account.
    println!("\nnaive (one validate_system_user per account, sequential)");
    let manifest = {
        let mut m = whm_migrate::manifest::load(&path).unwrap();
        m.resolve_secrets(whm_migrate::manifest::SecretScope::All)
            .unwrap();
        m
    };
    let destination = settings::destination(&manifest, dir.path()).await.unwrap();
    let phase = Phase::start(&sim);
    let mut free = 0;
    for i in 0..n {
        let check = destination
            .client
            .validate_system_user(&format!("user{i:05}"))
            .await
            .expect("validate_system_user");
        free += usize::from(!check.exists);
    }
    phase.end("  validate_system_user × N", n);
    assert_eq!(free, n);
    println!(
        "\nsessions created: {}; calls: {:?}",
        sim.stats().sessions_created,
        sim.stats().calls
    );
}
