//! How long `verify` takes, and how many requests it makes, for N accounts on one
//! source, each with a database, after an apply of them all against the in-process
//! simulator.
//!
//! ```text
//! cargo run --release --example bench_verify -- 1000
//! ```
//!
//! Prints the apply's and the verification's wall time and HTTP requests. Results go to
//! `docs/benchmarks.md`; no test asserts on timings.

mod common;

use common::TOKEN;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;
use whm_migrate::manifest::Diagnostics;
use whm_migrate::migration::{ApplyOptions, Migration, Notify, OpenOptions, verify_manifest};
use whm_migrate::sim::{SimOptions, Simulator, TimeScale, World};

const PASSWORD: &str = "rootpw";

/// Says nothing: the benchmark prints its own lines.
struct Quiet;

impl Notify for Quiet {
    fn info(&self, _: &str) {}
    fn warn(&self, _: &str) {}
    fn diagnostics(&self, _: &Diagnostics) {}
    fn report(&self, _: &str) {}
}

fn world(n: usize) -> World {
    let mut text =
        format!("[sources.\"big.example.com\".credentials]\nroot_password = \"{PASSWORD}\"\n");
    for i in 0..n {
        let _ = write!(
            text,
            "[[sources.\"big.example.com\".accounts]]\nuser = \"user{i:05}\"\ndomain = \"site{i:05}.example\"\n\
             bytesused = {}\nfilesused = 1000\ndatabases = [\"user{i:05}_wp\"]\ndb_users = [\"user{i:05}_wp\"]\n",
            10_000_000 + i
        );
    }
    World::from_toml_str(&text).expect("generated world")
}

fn manifest(dir: &Path, url: &str, n: usize) -> std::path::PathBuf {
    common::write_secret(&dir.join("token"), TOKEN);
    common::write_secret(&dir.join("password"), PASSWORD);
    let mut text = format!(
        "version = 1\nname = \"bench\"\n\n[destination]\nurl = \"{url}\"\ntoken = {{ file = \"token\" }}\n\n\
         [[sources]]\nname = \"big\"\nhost = \"big.example.com\"\nkind = \"root\"\npassword = {{ file = \"password\" }}\n\
         [sources.session]\ntransfer_threads = 8\nrestore_threads = 8\n"
    );
    for i in 0..n {
        let _ = write!(text, "[[sources.accounts]]\nuser = \"user{i:05}\"\n");
    }
    let path = dir.join("bench.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(1_000, |a| a.parse().expect("the account count"));
    let options = SimOptions {
        api_token: TOKEN.to_owned(),
        time_scale: TimeScale {
            item_overhead_ms: 0,
            ..TimeScale::default()
        },
        ..SimOptions::default()
    };
    let sim = Simulator::start(world(n), options)
        .await
        .expect("simulator");
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), &sim.base_url(), n);
    let started = Instant::now();
    let before = sim.stats().http_requests;
    let open = OpenOptions::locked("apply", whm_migrate::migration::StateFlags::default());
    let migration = Migration::open(&path, open, &Quiet).await.expect("open");
    let apply = ApplyOptions {
        target: path.clone(),
        saved: None,
        wave: None,
        progress: whm_migrate::report::ProgressMode::Plain,
    };
    migration
        .apply(apply, &Quiet, std::future::pending)
        .await
        .expect("apply");
    let requests = sim.stats().http_requests - before;
    println!(
        "apply  {n} accounts: {:>8.1} ms {requests:>6} requests",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let started = Instant::now();
    let before = sim.stats().http_requests;
    let report = verify_manifest(
        &path,
        whm_migrate::migration::StateFlags::default(),
        &whm_migrate::migration::VerifyOptions::default(),
        &Quiet,
    )
    .await
    .expect("verify");
    let requests = sim.stats().http_requests - before;
    println!(
        "verify {n} accounts: {:>8.1} ms {requests:>6} requests ({} ok of {})",
        started.elapsed().as_secs_f64() * 1000.0,
        report.counts.ok,
        report.items.len()
    );
}
