//! The benchmark sweep of issue #7: `validate`, `plan` and `apply` of the real
//! `whm-migrate` binary against a simulator in its own process, for 100 / 1,000 /
//! 10,000 accounts over 1 / 10 / 50 sources, beside a naive script following cPanel's
//! step-by-step guide, plus the idle CPU of a long session.
//!
//! ```text
//! scripts/bench.sh            # the full sweep (a few minutes)
//! scripts/bench.sh --quick    # 100 and 1,000 accounts over 1 and 10 sources, short sessions
//! ```
//!
//! Options: `--accounts 100,1000`, `--sources 1,10`, `--session SECS` (the ideal length
//! of each apply, default 10; 5 with `--quick`), `--idle SECS` (default 60; 10 with
//! `--quick`); `--accuracy` (with `--seeds 1,2,3`, `--accuracy-session SECS`) runs only
//! the time-left accuracy table (`accuracy.rs`). `BENCH_APPLY_WRAP="heaptrack -o OUT"` runs each `apply` under the given
//! command (a profiler); `BENCH_NOTICES=1` prints each session's run and how late its end
//! was noticed to stderr. Prints Markdown tables for `docs/benchmarks.md`; no test asserts on
//! timings.

mod accuracy;
mod child;
#[path = "../common/mod.rs"]
mod common;
mod fleet;
mod ideal;
mod naive;
mod simproc;

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncBufReadExt as _, BufReader};

use child::{Usage, f64_of, unix_micros};
use fleet::Fleet;
use simproc::{Delta, SimProc};

struct Options {
    accounts: Vec<usize>,
    sources: Vec<usize>,
    session: Duration,
    idle: Duration,
    /// Only the time-left accuracy table (`--accuracy`), over these seeds and sessions.
    accuracy: bool,
    seeds: Vec<u64>,
    accuracy_session: Duration,
}

impl Options {
    fn parse(args: &[String]) -> Self {
        let quick = args.iter().any(|a| a == "--quick");
        let mut o = if quick {
            Self {
                accounts: vec![100, 1000],
                sources: vec![1, 10],
                session: Duration::from_secs(5),
                idle: Duration::from_secs(10),
                accuracy: false,
                seeds: vec![1, 2, 3],
                accuracy_session: Duration::from_secs(40),
            }
        } else {
            Self {
                accounts: vec![100, 1000, 10_000],
                sources: vec![1, 10, 50],
                session: Duration::from_secs(10),
                idle: Duration::from_secs(60),
                accuracy: false,
                seeds: vec![1, 2, 3],
                accuracy_session: Duration::from_secs(40),
            }
        };
        let list = |v: &str| v.split(',').map(|n| n.parse().expect("a number")).collect();
        let secs = |v: &str| Duration::from_secs_f64(v.parse().expect("seconds"));
        for pair in args.windows(2) {
            match pair[0].as_str() {
                "--accounts" => o.accounts = list(&pair[1]),
                "--sources" => o.sources = list(&pair[1]),
                "--session" => o.session = secs(&pair[1]),
                "--idle" => o.idle = secs(&pair[1]),
                "--seeds" => {
                    o.seeds = list(&pair[1])
                        .into_iter()
                        .map(|n: usize| n as u64)
                        .collect();
                }
                "--accuracy-session" => o.accuracy_session = secs(&pair[1]),
                _ => {}
            }
        }
        o.accuracy = args.iter().any(|a| a == "--accuracy");
        o
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio")
    };
    match args.first().map(String::as_str) {
        Some("__measure") => child::measure(&args[1..]),
        Some("__sim") => runtime().block_on(child::sim(&args[1..])),
        _ => runtime().block_on(sweep(&Options::parse(&args))),
    }
}

/// The harness itself and the CLI binary beside it (`target/release/`).
struct Exes {
    bench: PathBuf,
    cli: PathBuf,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One row of the sweep.
struct Row {
    accounts: usize,
    sources: usize,
    validate: Usage,
    plan: Usage,
    plan_requests: u64,
    check: Duration,
    apply: Usage,
    apply_requests: Delta,
    ideal: Duration,
    /// The longest session's run on the simulator (RUNNING → COMPLETED).
    session_run: Duration,
    /// From apply's start until the last session began running.
    before_run: Duration,
    /// The same for a bare client sending only the requests the API forces.
    floor: Duration,
    /// The worst delay between a session's end and apply noticing it.
    notice: Duration,
    /// From apply's start until it noticed the last session end.
    to_noticed: Duration,
    naive: naive::NaiveRun,
    naive_requests: Delta,
    naive_notice: Duration,
}

async fn sweep(o: &Options) -> ExitCode {
    let bench = std::env::current_exe().expect("current exe");
    let cli = bench
        .parent()
        .and_then(Path::parent)
        .expect("target/release")
        .join("whm-migrate");
    assert!(
        cli.exists(),
        "{} is missing: run `cargo build --release --bin whm-migrate` (scripts/bench.sh does)",
        cli.display()
    );
    let exes = Exes { bench, cli };
    if o.accuracy {
        accuracy::accuracy(&exes, &o.seeds, o.accuracy_session).await;
        return ExitCode::SUCCESS;
    }
    let mut rows = Vec::new();
    for &n in &o.accounts {
        for &s in &o.sources {
            eprintln!("== {n} accounts over {s} source(s)");
            rows.push(row(&exes, n, s, o.session).await);
        }
    }
    print_tables(&rows);
    idle(&exes, o.idle).await;
    ExitCode::SUCCESS
}

/// Runs the CLI under `__measure`; `stdout` is where its standard output goes.
async fn measure(
    exes: &Exes,
    dir: &Path,
    args: &[&str],
    on_line: impl FnMut(&str),
) -> (Usage, SystemTime) {
    let out = dir.join("usage");
    let started = SystemTime::now();
    // `BENCH_APPLY_WRAP="heaptrack -o /tmp/apply"` runs each apply under a profiler.
    let wrap: Vec<String> = match std::env::var("BENCH_APPLY_WRAP") {
        Ok(w) if args.first() == Some(&"apply") => {
            w.split_whitespace().map(str::to_owned).collect()
        }
        _ => Vec::new(),
    };
    let mut child = tokio::process::Command::new(&exes.bench)
        .arg("__measure")
        .arg(&out)
        .arg("--")
        .args(&wrap)
        .arg(&exes.cli)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the measured command starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut on_line = on_line;
    while let Ok(Some(line)) = lines.next_line().await {
        on_line(&line);
    }
    child.wait().await.expect("wait");
    let usage = Usage::read(&out);
    assert!(usage.success, "whm-migrate {args:?} failed");
    (usage, started)
}

// One row of the sweep: one measurement, read top to bottom.
#[allow(clippy::too_many_lines)]
async fn row(exes: &Exes, n: usize, s: usize, session: Duration) -> Row {
    let fleet = Fleet::new(n, s, session);
    let ideal = fleet.ideal();
    let dir = tempfile::tempdir().expect("temp dir");
    let (world, _) = fleet.write(dir.path(), None);
    let mut sim = SimProc::start(&exes.bench, &world, &fleet.scale).await;
    let (_, manifest) = fleet.write(dir.path(), Some(&sim.url));
    let manifest = manifest.to_str().expect("utf-8 path").to_owned();

    // validate: the median of three runs.
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(
            measure(exes, dir.path(), &["validate", &manifest], |_| {})
                .await
                .0,
        );
    }
    runs.sort_by_key(|u| u.wall);
    let validate = runs[1];

    let before = sim.stats().await;
    let (plan, _) = measure(
        exes,
        dir.path(),
        &["plan", &manifest, "--out", "plan.json"],
        |_| {},
    )
    .await;
    let plan_requests = Delta::between(&before, &sim.stats().await).total;
    let sessions = session_ids(&dir.path().join("plan.json"));
    for id in sessions.values() {
        sim.watch(id);
    }
    let client = common::client(sim.url.clone());
    let check = naive::check(&client, &fleet).await;

    let before = sim.stats().await;
    let mut noticed = std::collections::BTreeMap::new();
    let (apply, started) = measure(
        exes,
        dir.path(),
        &["apply", &manifest, "--progress", "json"],
        |line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            if v["type"] == "session_state" && v["state"] == "COMPLETED" {
                let source = v["source"].as_str().unwrap_or_default().to_owned();
                noticed.entry(source).or_insert_with(SystemTime::now);
            }
        },
    )
    .await;
    let apply_requests = Delta::between(&before, &sim.stats().await);
    let start_us = unix_micros(started);
    let mut session_run = Duration::ZERO;
    let mut before_run = Duration::ZERO;
    let mut notice = Duration::ZERO;
    let mut to_noticed = Duration::ZERO;
    for (source, id) in &sessions {
        let running = sim.first(id, "RUNNING").expect("seen running");
        let completed = sim.first(id, "COMPLETED").expect("seen completed");
        let seen = unix_micros(*noticed.get(source).expect("apply noticed the end"));
        session_run = session_run.max(Duration::from_micros(completed - running));
        before_run = before_run.max(Duration::from_micros(running - start_us));
        let late = Duration::from_micros(seen.saturating_sub(completed));
        if std::env::var_os("BENCH_NOTICES").is_some() {
            eprintln!(
                "{source} ({id}): ran {:.2} s, end noticed after {} ms",
                Duration::from_micros(completed - running).as_secs_f64(),
                late.as_millis()
            );
        }
        notice = notice.max(late);
        to_noticed = to_noticed.max(Duration::from_micros(seen - start_us));
    }
    sim.stop().await;

    // The floor of "before running", on a fresh simulator (the first one has the
    // accounts now).
    let sim = SimProc::start(&exes.bench, &world, &fleet.scale).await;
    let floor = naive::floor(&common::client(sim.url.clone()), &fleet).await;
    sim.stop().await;

    // The naive script, on a fresh simulator.
    let mut sim = SimProc::start(&exes.bench, &world, &fleet.scale).await;
    let client = common::client(sim.url.clone());
    let before = sim.stats().await;
    let naive = naive::apply(&client, &fleet, |id| sim.watch(id)).await;
    let naive_requests = Delta::between(&before, &sim.stats().await);
    let naive_notice = naive
        .noticed
        .iter()
        .map(|(id, at)| {
            let end = sim.first(id, "COMPLETED").expect("seen completed");
            Duration::from_micros(unix_micros(*at).saturating_sub(end))
        })
        .max()
        .unwrap_or_default();
    sim.stop().await;
    Row {
        accounts: n,
        sources: s,
        validate,
        plan,
        plan_requests,
        check,
        apply,
        apply_requests,
        ideal,
        session_run,
        before_run,
        floor,
        notice,
        to_noticed,
        naive,
        naive_requests,
        naive_notice,
    }
}

/// Source name → session id, from a plan saved with `--out`.
fn session_ids(path: &Path) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).expect("plan.json");
    let plan: serde_json::Value = serde_json::from_str(&text).expect("plan JSON");
    plan["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_owned(),
                s["session"]["id"].as_str().expect("session id").to_owned(),
            )
        })
        .collect()
}

fn print_tables(rows: &[Row]) {
    println!("\n### validate and plan (the CLI as a child process)\n");
    println!(
        "| accounts | sources | validate | RSS | plan | RSS | plan requests | per source | naive check (1 request per account) | plan vs naive |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {:.0} ms | {:.1} MiB | {:.0} ms | {:.1} MiB | {} | {:.1} | {:.0} ms | {:.2}× |",
            r.accounts,
            r.sources,
            ms(r.validate.wall),
            r.validate.rss_mib(),
            ms(r.plan.wall),
            r.plan.rss_mib(),
            r.plan_requests,
            f64_of(r.plan_requests) / f64_of(r.sources as u64),
            ms(r.check),
            r.plan.wall.as_secs_f64() / r.check.as_secs_f64(),
        );
    }
    println!("\n### apply (the CLI as a child process) against the exact ideal schedule\n");
    println!(
        "| accounts | sources | ideal | makespan | ratio | floor | makespan / (floor + ideal) | before running | session run / ideal | end noticed after | to noticed / ideal | to noticed / (floor + ideal) | RSS | requests: enqueue + start + state + log + other = total (lower bound) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let d = &r.apply_requests;
        let (enq, start) = (
            d.of("enqueue_transfer_item"),
            d.of("start_transfer_session"),
        );
        let (state, log) = (
            d.of("get_transfer_session_state"),
            d.of("fetch_transfer_session_log"),
        );
        println!(
            "| {} | {} | {:.2} s | {:.2} s | {:.3} | {:.0} ms | {:.3} | {:.0} ms | {:.3} | {:.0} ms | {:.3} | {:.3} | {:.1} MiB | {enq} + {start} + {state} + {log} + {} = {} ({}) |",
            r.accounts,
            r.sources,
            r.ideal.as_secs_f64(),
            r.apply.wall.as_secs_f64(),
            r.apply.wall.as_secs_f64() / r.ideal.as_secs_f64(),
            ms(r.floor),
            r.apply.wall.as_secs_f64() / (r.floor + r.ideal).as_secs_f64(),
            ms(r.before_run),
            r.session_run.as_secs_f64() / r.ideal.as_secs_f64(),
            ms(r.notice),
            r.to_noticed.as_secs_f64() / r.ideal.as_secs_f64(),
            r.to_noticed.as_secs_f64() / (r.floor + r.ideal).as_secs_f64(),
            r.apply.rss_mib(),
            d.total - enq - start - state - log,
            d.total,
            r.accounts + r.sources,
        );
    }
    println!("\n### apply against the naive script (cPanel's step-by-step guide)\n");
    println!(
        "| accounts | sources | naive makespan | whm-migrate (to noticed) | naive / whm-migrate | naive requests | whm-migrate requests | naive end noticed after |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {:.2} s | {:.2} s | {:.2}× | {} | {} | {:.0} ms |",
            r.accounts,
            r.sources,
            r.naive.makespan.as_secs_f64(),
            r.to_noticed.as_secs_f64(),
            r.naive.makespan.as_secs_f64() / r.to_noticed.as_secs_f64(),
            r.naive_requests.total,
            r.apply_requests.total + r.plan_requests,
            ms(r.naive_notice),
        );
    }
}

/// CPU used by apply while a long session has nothing to report, and by the naive
/// script in the same situation.
async fn idle(exes: &Exes, length: Duration) {
    let fleet = Fleet::idle(length);
    let dir = tempfile::tempdir().expect("temp dir");
    let (world, _) = fleet.write(dir.path(), None);
    let mut sim = SimProc::start(&exes.bench, &world, &fleet.scale).await;
    let (_, manifest) = fleet.write(dir.path(), Some(&sim.url));
    let manifest = manifest.to_str().expect("utf-8 path").to_owned();
    let stats = sim.stats().await;
    let (apply, _) = measure(
        exes,
        dir.path(),
        &["apply", &manifest, "--progress", "json"],
        |_| {},
    )
    .await;
    let apply_requests = Delta::between(&stats, &sim.stats().await);
    sim.stop().await;
    let mut sim = SimProc::start(&exes.bench, &world, &fleet.scale).await;
    let client = common::client(sim.url.clone());
    let stats = sim.stats().await;
    let cpu = || {
        let u = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
            .expect("getrusage");
        let t = |v: nix::sys::time::TimeVal| {
            Duration::from_micros(
                u64::try_from(v.tv_sec()).unwrap_or(0) * 1_000_000
                    + u64::try_from(v.tv_usec()).unwrap_or(0),
            )
        };
        t(u.user_time()) + t(u.system_time())
    };
    let before = cpu();
    let run = naive::apply(&client, &fleet, |_| {}).await;
    let naive_cpu = cpu().saturating_sub(before).as_secs_f64() / run.makespan.as_secs_f64();
    let naive_requests = Delta::between(&stats, &sim.stats().await);
    sim.stop().await;
    println!(
        "\n### idle CPU: one {:.0} s session with nothing to report\n",
        length.as_secs_f64()
    );
    println!("| | wall | CPU (user + system) | share | requests: state + log = polls (total) |");
    println!("|---|---:|---:|---:|---|");
    let polls = |d: &Delta| {
        let (state, log) = (
            d.of("get_transfer_session_state"),
            d.of("fetch_transfer_session_log"),
        );
        format!("{state} + {log} = {} ({})", state + log, d.total)
    };
    println!(
        "| whm-migrate apply (whole process) | {:.1} s | {:.0} ms | {:.3}% | {} |",
        apply.wall.as_secs_f64(),
        ms(apply.cpu),
        apply.cpu_share() * 100.0,
        polls(&apply_requests)
    );
    println!(
        "| naive script (1 s polls, full re-parse) | {:.1} s | — | {:.3}% | {} |",
        run.makespan.as_secs_f64(),
        naive_cpu * 100.0,
        polls(&naive_requests)
    );
}
