//! A generated fleet: S root sources sharing N accounts of deterministic, varied sizes,
//! written as a simulator world and a manifest, and the time scale that makes the
//! ideal session last about as long as asked.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use whm_migrate::sim::TimeScale;

use crate::ideal;

pub use crate::common::TOKEN;
pub const PASSWORD: &str = "rootpw";
/// Threads per pool and session: the simulator's maximum, so each thread works as few
/// items as possible and the simulator's per-step timer rounding weighs least.
pub const THREADS: u32 = 9;
/// The fixed time of every simulated step.
pub const STEP_MS: u64 = 1;

/// One generated fleet.
pub struct Fleet {
    /// Per source: its host and its accounts `(user, bytes)`.
    pub sources: Vec<(String, Vec<(String, u64)>)>,
    pub scale: TimeScale,
}

impl Fleet {
    /// `accounts` spread round-robin over `sources`; sizes 50 MB–1 GB.
    pub fn new(accounts: usize, sources: usize, session: Duration) -> Self {
        let mut per: Vec<(String, Vec<(String, u64)>)> = (0..sources)
            .map(|s| (format!("src{s:02}.example.com"), Vec::new()))
            .collect();
        for i in 0..accounts {
            let s = i % sources;
            let size = 50_000_000 + (i as u64 * 7919 % 950) * 1_000_000;
            per[s].1.push((format!("s{s:02}u{:05}", i / sources), size));
        }
        let mut fleet = Self {
            sources: per,
            scale: scale(1),
        };
        fleet.calibrate(session);
        fleet
    }

    /// One source, one account, one session of about `length`: the idle-CPU fleet.
    pub fn idle(length: Duration) -> Self {
        let size = 1_000_000_000;
        // TRANSFER at B, RESTORE at 2B: size/B + size/2B = length.
        let b = 1_500_000_000_000 / u64::try_from(length.as_millis().max(1)).unwrap_or(1);
        Self {
            sources: vec![("src00.example.com".into(), vec![("s00u00000".into(), size)])],
            scale: scale(b),
        }
    }

    /// The ideal makespan: each session's ideal, sessions in parallel.
    pub fn ideal(&self) -> Duration {
        self.sources
            .iter()
            .map(|(_, items)| ideal::session(items, THREADS, &self.scale))
            .max()
            .unwrap_or_default()
    }

    /// Picks the transfer rate whose ideal makespan is closest to `target`.
    fn calibrate(&mut self, target: Duration) {
        let (mut lo, mut hi) = (1_000_u64, 1_000_000_000_000_u64);
        while hi - lo > lo / 1000 {
            let mid = lo + (hi - lo) / 2;
            self.scale = scale(mid);
            if self.ideal() > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.scale = scale(hi);
    }

    pub fn accounts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sources
            .iter()
            .flat_map(|(host, items)| items.iter().map(move |(u, _)| (host.as_str(), u.as_str())))
    }

    /// Writes `world.toml`, `manifest.toml` and the secret files into `dir`.
    pub fn write(&self, dir: &Path, url: Option<&str>) -> (PathBuf, PathBuf) {
        let mut world = String::new();
        for (host, items) in &self.sources {
            let _ = write!(
                world,
                "[sources.\"{host}\".credentials]\nroot_password = \"{PASSWORD}\"\n"
            );
            for (user, size) in items {
                let _ = write!(
                    world,
                    "[[sources.\"{host}\".accounts]]\nuser = \"{user}\"\ndomain = \"{user}.example\"\nbytesused = {size}\n"
                );
            }
        }
        let world_path = dir.join("world.toml");
        std::fs::write(&world_path, world).expect("write the world");
        crate::common::write_secret(&dir.join("token"), TOKEN);
        crate::common::write_secret(&dir.join("password"), PASSWORD);
        let url = url.unwrap_or("http://127.0.0.1:9");
        let mut m = format!(
            "version = 1\nname = \"bench\"\n\n[destination]\nurl = \"{url}\"\ntoken = {{ file = \"token\" }}\n"
        );
        for (i, (host, items)) in self.sources.iter().enumerate() {
            let _ = write!(
                m,
                "\n[[sources]]\nname = \"src{i:02}\"\nhost = \"{host}\"\nkind = \"root\"\npassword = {{ file = \"password\" }}\n\
                 [sources.session]\ntransfer_threads = {THREADS}\nrestore_threads = {THREADS}\n"
            );
            for (user, _) in items {
                let _ = write!(m, "[[sources.accounts]]\nuser = \"{user}\"\n");
            }
        }
        let manifest = dir.join("manifest.toml");
        std::fs::write(&manifest, m).expect("write the manifest");
        (world_path, manifest)
    }
}

fn scale(bytes_per_second: u64) -> TimeScale {
    TimeScale {
        bytes_per_second,
        restore_bytes_per_second: bytes_per_second * 2,
        item_overhead_ms: STEP_MS,
    }
}
