//! The harness's own child processes, so that what is measured is one process alone:
//!
//! * `bench __measure OUT -- PROGRAM ARGS…` runs PROGRAM with inherited stdio, waits,
//!   and writes its wall time and `getrusage(RUSAGE_CHILDREN)` (peak RSS, user and
//!   system CPU) to OUT. A wrapper per measurement, because `RUSAGE_CHILDREN` covers
//!   every waited-for child of a process and the harness runs many.
//! * `bench __sim WORLD TOKEN B/s RESTORE-B/s OVERHEAD-MS` serves the simulator at a
//!   chosen time scale (the CLI's `sim` has none), prints `url URL`, and then, for
//!   each `watch ID` line on stdin, prints `state ID STATE UNIX-µs` whenever that
//!   session's state changes (probed every millisecond), so the harness learns when a
//!   session really ended; a `stats` line prints `stats JSON` (what `/__sim/stats`
//!   serves, read without adding a request to the count). It stops when stdin closes.

use std::io::{BufRead as _, Write as _};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use whm_migrate::sim::{SimOptions, Simulator, TimeScale, World};

/// What `__measure` found.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub wall: Duration,
    pub max_rss_kib: u64,
    pub cpu: Duration,
    pub success: bool,
}

impl Usage {
    pub fn read(path: &std::path::Path) -> Self {
        let text = std::fs::read_to_string(path).expect("the measurement file");
        let n: Vec<u64> = text
            .split_whitespace()
            .map(|w| w.parse().expect("a number"))
            .collect();
        Self {
            wall: Duration::from_micros(n[0]),
            max_rss_kib: n[1],
            cpu: Duration::from_micros(n[2]),
            success: n[3] == 0,
        }
    }

    pub fn rss_mib(&self) -> f64 {
        f64_of(self.max_rss_kib) / 1024.0
    }

    /// CPU time over wall time.
    pub fn cpu_share(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64()
    }
}

#[allow(clippy::cast_precision_loss)]
pub fn f64_of(n: u64) -> f64 {
    n as f64
}

pub fn unix_micros(t: SystemTime) -> u64 {
    u64::try_from(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros()).unwrap_or(0)
}

/// `bench __measure OUT -- PROGRAM ARGS…`
pub fn measure(args: &[String]) -> ExitCode {
    let out = &args[0];
    let program = &args[2];
    let started = Instant::now();
    let status = Command::new(program)
        .args(&args[3..])
        .status()
        .expect("the measured program starts");
    let wall = started.elapsed();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    let micros = |t: nix::sys::time::TimeVal| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec()).unwrap_or(0)
    };
    let cpu = micros(usage.user_time()) + micros(usage.system_time());
    let text = format!(
        "{} {} {cpu} {}\n",
        wall.as_micros(),
        usage.max_rss(),
        status.code().unwrap_or(-1)
    );
    std::fs::write(out, text).expect("write the measurement");
    ExitCode::SUCCESS
}

/// Watched session ids and the state last printed for each.
type Watched = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// `bench __sim WORLD TOKEN B/s RESTORE-B/s OVERHEAD-MS`
pub async fn sim(args: &[String]) -> ExitCode {
    let world = World::load(std::path::Path::new(&args[0])).expect("the world");
    let num = |i: usize| args[i].parse::<u64>().expect("a number");
    let handle = Simulator::start(
        world,
        SimOptions {
            api_token: args[1].clone(),
            time_scale: TimeScale {
                bytes_per_second: num(2),
                restore_bytes_per_second: num(3),
                item_overhead_ms: num(4),
            },
            ..SimOptions::default()
        },
    )
    .await
    .expect("the simulator starts");
    let handle = Arc::new(handle);
    println!("url {}", handle.base_url());
    let watched: Watched = Arc::default();
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let lines = watched.clone();
    let stats = handle.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if line == "stats" {
                let json = serde_json::to_string(&stats.stats()).expect("stats as JSON");
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "stats {json}");
                let _ = out.flush();
            } else if let Some(id) = line.strip_prefix("watch ") {
                lines
                    .lock()
                    .expect("watch list")
                    .push((id.trim().to_owned(), None));
            }
        }
        let _ = done_tx.send(());
    });
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    loop {
        tokio::select! {
            _ = &mut done_rx => break,
            _ = tick.tick() => {
                let mut watched = watched.lock().expect("watch list");
                for (id, last) in watched.iter_mut() {
                    let now = handle.session_state(id);
                    if now != *last {
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(
                            out,
                            "state {id} {} {}",
                            now.as_deref().unwrap_or("NONE"),
                            unix_micros(SystemTime::now())
                        );
                        let _ = out.flush();
                        *last = now;
                    }
                }
            }
        }
    }
    if let Ok(handle) = Arc::try_unwrap(handle) {
        let _ = handle.shutdown().await;
    }
    ExitCode::SUCCESS
}
