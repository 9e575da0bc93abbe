//! How well apply's live time left holds (issue 24): skewed worlds on the simulator,
//! several seeds, every `totals` event's `eta_secs` given between 25% and 80% of its
//! session's run scored as |predicted end − actual end| / time actually left.
//!
//! Each world: 3 root sources of 12 accounts, 3 TRANSFER + 3 RESTORE threads (so the
//! order and the pools matter), account sizes 40–120 MB with 2 accounts per source 5–10×
//! that; a transfer rate that makes the ideal session last `--accuracy-session` seconds
//! (default 40). The rows differ in how restores and fixed costs compare with transfers.
//! The plan's throughput is the default (a fresh state dir: nothing measured), so the
//! estimate has to learn the server's pace from the run. Each kind also has a "second
//! wave" row: a first wave (another world of the same kind, on the same simulator and
//! state dir) is applied unscored, and the second is planned with the step costs the
//! first recorded, as a migration's later waves are. `BENCH_ACCURACY_DUMP=1` prints
//! every scored estimate (source, share of the run, `eta_secs`, time left, error).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};
use whm_migrate::sim::TimeScale;

use crate::child::unix_micros;
use crate::fleet::{PASSWORD, TOKEN};
use crate::simproc::SimProc;
use crate::{Exes, ideal, measure, session_ids};

const SOURCES: usize = 3;
const ACCOUNTS: usize = 12;
const THREADS: u32 = 3;

/// One row: a kind of world.
struct Kind {
    name: &'static str,
    /// RESTORE rate over TRANSFER rate.
    restore_ratio: f64,
    /// Fixed time of every step.
    overhead_ms: u64,
}

const KINDS: [Kind; 3] = [
    Kind {
        name: "restores 2× faster than transfers",
        restore_ratio: 2.0,
        overhead_ms: 1,
    },
    Kind {
        name: "restores 2× slower than transfers",
        restore_ratio: 0.5,
        overhead_ms: 1,
    },
    Kind {
        name: "restores 1.5× faster, 1.5 s fixed cost per step",
        restore_ratio: 1.5,
        overhead_ms: 1_500,
    },
];

/// splitmix64: the seed's deterministic sizes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Per source, its host and accounts `(user, bytes)`.
type Sources = Vec<(String, Vec<(String, u64)>)>;

fn world(seed: u64) -> Sources {
    let mut rng = Rng(seed);
    (0..SOURCES)
        .map(|s| {
            let host = format!("src{s:02}.example.com");
            let mut accounts: Vec<(String, u64)> = (0..ACCOUNTS)
                .map(|i| (format!("s{s}u{i:02}"), rng.range(40, 120) * 1_000_000))
                .collect();
            // Two accounts 5–10× the others.
            for _ in 0..2 {
                let i = usize::try_from(rng.next() % ACCOUNTS as u64).unwrap_or(0);
                accounts[i].1 = 80_000_000 * rng.range(5, 10);
            }
            (host, accounts)
        })
        .collect()
}

fn scale(kind: &Kind, bytes_per_second: u64) -> TimeScale {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let restore = (bytes_per_second as f64 * kind.restore_ratio) as u64;
    TimeScale {
        bytes_per_second,
        restore_bytes_per_second: restore.max(1),
        item_overhead_ms: kind.overhead_ms,
    }
}

/// The transfer rate whose longest ideal session lasts about `target`.
fn calibrate(kind: &Kind, sources: &Sources, target: Duration) -> TimeScale {
    let longest = |s: &TimeScale| {
        sources
            .iter()
            .map(|(_, items)| ideal::session(items, THREADS, s))
            .max()
            .unwrap_or_default()
    };
    let (mut lo, mut hi) = (1_000_u64, 1_000_000_000_000_u64);
    while hi - lo > lo / 1000 {
        let mid = lo + (hi - lo) / 2;
        if longest(&scale(kind, mid)) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    scale(kind, hi)
}

/// The world and the manifest of `waves` (each a wave name, if any, and its accounts
/// per source: the i-th source of each wave is the same host).
fn write(
    dir: &Path,
    waves: &[(Option<&str>, &Sources)],
    url: &str,
) -> (std::path::PathBuf, String) {
    let mut world = String::new();
    let mut m = format!(
        "version = 1\nname = \"accuracy\"\n\n[destination]\nurl = \"{url}\"\ntoken = {{ file = \"token\" }}\n"
    );
    for (i, (host, _)) in waves[0].1.iter().enumerate() {
        let _ = write!(
            world,
            "[sources.\"{host}\".credentials]\nroot_password = \"{PASSWORD}\"\n"
        );
        let _ = write!(
            m,
            "\n[[sources]]\nname = \"src{i:02}\"\nhost = \"{host}\"\nkind = \"root\"\npassword = {{ file = \"password\" }}\n\
             [sources.session]\ntransfer_threads = {THREADS}\nrestore_threads = {THREADS}\n"
        );
        for (wave, sources) in waves {
            for (user, size) in &sources[i].1 {
                let _ = write!(
                    world,
                    "[[sources.\"{host}\".accounts]]\nuser = \"{user}\"\ndomain = \"{user}.example\"\nbytesused = {size}\n"
                );
                let _ = write!(m, "[[sources.accounts]]\nuser = \"{user}\"\n");
                if let Some(wave) = wave {
                    let _ = writeln!(m, "wave = \"{wave}\"");
                }
            }
        }
    }
    let world_path = dir.join("world.toml");
    std::fs::write(&world_path, world).expect("write the world");
    crate::common::write_secret(&dir.join("token"), TOKEN);
    crate::common::write_secret(&dir.join("password"), PASSWORD);
    let manifest = dir.join("manifest.toml");
    std::fs::write(&manifest, m).expect("write the manifest");
    (
        world_path,
        manifest.to_str().expect("utf-8 path").to_owned(),
    )
}

/// The errors of one run's estimates given between 25% and 80% of each session; of a
/// second wave's, after a first wave applied unscored, when `second_wave` is set.
async fn run(
    exes: &Exes,
    kind: &Kind,
    seed: u64,
    session: Duration,
    second_wave: bool,
) -> Vec<f64> {
    let sources = world(seed);
    let time_scale = calibrate(kind, &sources, session);
    // The first wave: another world of the same kind, its users named apart.
    let first: Sources = world(seed + 100)
        .into_iter()
        .map(|(host, items)| {
            let items = items
                .into_iter()
                .map(|(user, size)| (user.replacen('u', "f", 1), size))
                .collect();
            (host, items)
        })
        .collect();
    let waves: Vec<(Option<&str>, &Sources)> = if second_wave {
        vec![(Some("first"), &first), (Some("second"), &sources)]
    } else {
        vec![(None, &sources)]
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (world_path, _) = write(dir.path(), &waves, "http://127.0.0.1:9");
    let mut sim = SimProc::start(&exes.bench, &world_path, &time_scale).await;
    let (_, manifest) = write(dir.path(), &waves, &sim.url);
    let scored: &[&str] = if second_wave {
        measure(
            exes,
            dir.path(),
            &["apply", &manifest, "--wave", "first"],
            |_| {},
        )
        .await;
        &["--wave", "second"]
    } else {
        &[]
    };
    let mut args = vec!["plan", manifest.as_str(), "--out", "plan.json"];
    args.extend(scored);
    measure(exes, dir.path(), &args, |_| {}).await;
    let ids = session_ids(&dir.path().join("plan.json"));
    for id in ids.values() {
        sim.watch(id);
    }
    let mut given: Vec<(String, u64, f64)> = Vec::new();
    let mut args = vec!["apply", manifest.as_str(), "--progress", "json"];
    args.extend(scored);
    measure(exes, dir.path(), &args, |line| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        if v["type"] == "totals"
            && let Some(eta) = v["eta_secs"].as_f64()
        {
            let source = v["source"].as_str().unwrap_or_default().to_owned();
            given.push((source, unix_micros(SystemTime::now()), eta));
        }
    })
    .await;
    let _ = sim.stats().await;
    let errors = scored_errors(&sim, &ids, &given);
    sim.stop().await;
    errors
}

/// The errors of the estimates `given` (source, when, `eta_secs`) between 25% and 80%
/// of each session of `ids`, as the simulator saw the sessions run.
fn scored_errors(
    sim: &SimProc,
    ids: &std::collections::BTreeMap<String, String>,
    given: &[(String, u64, f64)],
) -> Vec<f64> {
    let mut errors = Vec::new();
    for (source, id) in ids {
        let (Some(running), Some(completed)) =
            (sim.first(id, "RUNNING"), sim.first(id, "COMPLETED"))
        else {
            continue;
        };
        #[allow(clippy::cast_precision_loss)]
        let (start, end) = (running as f64, completed as f64);
        for (_, at, eta) in given.iter().filter(|(s, _, _)| s == source) {
            #[allow(clippy::cast_precision_loss)]
            let at = *at as f64;
            let share = (at - start) / (end - start);
            if (0.25..=0.8).contains(&share) {
                let error = (at + eta * 1e6 - end).abs() / (end - at);
                if std::env::var_os("BENCH_ACCURACY_DUMP").is_some() {
                    eprintln!(
                        "{source}: at {:.0}% eta {eta:.0} s, left {:.1} s, error {:.0}%",
                        share * 100.0,
                        (end - at) / 1e6,
                        error * 100.0
                    );
                }
                errors.push(error);
            }
        }
    }
    errors
}

/// Runs every row over `seeds` and prints the table.
pub async fn accuracy(exes: &Exes, seeds: &[u64], session: Duration) {
    println!("\n### time left: estimates given between 25% and 80% of each session\n");
    println!("| world | seeds | estimates scored | median error | 90th percentile | worst |");
    println!("|---|---:|---:|---:|---:|---:|");
    // `BENCH_ACCURACY_WORLDS=1,3` runs only those rows (both waves).
    let only: Option<Vec<usize>> = std::env::var("BENCH_ACCURACY_WORLDS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    let kinds = KINDS
        .iter()
        .enumerate()
        .filter(|(i, _)| only.as_ref().is_none_or(|o| o.contains(&(i + 1))))
        .map(|(_, k)| k);
    for (kind, second_wave) in kinds.flat_map(|k| [(k, false), (k, true)]) {
        let mut errors = Vec::new();
        let name = if second_wave {
            format!("{}, second wave", kind.name)
        } else {
            kind.name.to_owned()
        };
        for &seed in seeds {
            eprintln!("== {name} (seed {seed})");
            errors.extend(run(exes, kind, seed, session, second_wave).await);
        }
        errors.sort_by(f64::total_cmp);
        let at = |q: f64| {
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let i = ((errors.len() as f64 - 1.0) * q).round() as usize;
            errors.get(i).copied().unwrap_or(f64::NAN) * 100.0
        };
        println!(
            "| {} | {} | {} | {:.1}% | {:.1}% | {:.1}% |",
            name,
            seeds.len(),
            errors.len(),
            at(0.5),
            at(0.9),
            at(1.0)
        );
    }
}
