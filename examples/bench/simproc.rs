//! The simulator in its own process (`bench __sim`), so neither its memory nor its CPU
//! is counted as the CLI's, and the harness's view of it: when each watched session
//! changed state, and the simulator's counters.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::mpsc;
use whm_migrate::sim::{SimStats, TimeScale};

use crate::fleet::TOKEN;

/// Session id → state name → first seen (UNIX µs).
type States = Arc<Mutex<BTreeMap<String, BTreeMap<String, u64>>>>;

pub struct SimProc {
    child: tokio::process::Child,
    pub url: String,
    commands: mpsc::UnboundedSender<String>,
    stats: mpsc::UnboundedReceiver<SimStats>,
    states: States,
}

impl SimProc {
    pub async fn start(exe: &Path, world: &Path, scale: &TimeScale) -> Self {
        let mut child = tokio::process::Command::new(exe)
            .arg("__sim")
            .arg(world)
            .arg(TOKEN)
            .arg(scale.bytes_per_second.to_string())
            .arg(scale.restore_bytes_per_second.to_string())
            .arg(scale.item_overhead_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the simulator process starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next_line().await.ok().flatten().unwrap_or_default();
        let url = first
            .strip_prefix("url ")
            .expect("the simulator prints its url")
            .to_owned();
        let states: States = Arc::default();
        let (stats_tx, stats) = mpsc::unbounded_channel();
        let seen = states.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(json) = line.strip_prefix("stats ") {
                    let _ = stats_tx.send(serde_json::from_str(json).expect("stats JSON"));
                } else if let Some(rest) = line.strip_prefix("state ") {
                    let mut w = rest.split(' ');
                    let (Some(id), Some(state), Some(at)) = (w.next(), w.next(), w.next()) else {
                        continue;
                    };
                    seen.lock()
                        .expect("states")
                        .entry(id.to_owned())
                        .or_default()
                        .entry(state.to_owned())
                        .or_insert(at.parse().unwrap_or(0));
                }
            }
        });
        let mut stdin = child.stdin.take().expect("stdin");
        let (commands, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if stdin.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            url,
            commands,
            stats,
            states,
        }
    }

    /// Have the simulator report `id`'s state changes.
    pub fn watch(&self, id: &str) {
        let _ = self.commands.send(format!("watch {id}\n"));
    }

    pub async fn stats(&mut self) -> SimStats {
        let _ = self.commands.send("stats\n".to_owned());
        self.stats.recv().await.expect("stats")
    }

    /// When `id` was first seen in `state` (UNIX µs).
    pub fn first(&self, id: &str, state: &str) -> Option<u64> {
        self.states
            .lock()
            .expect("states")
            .get(id)
            .and_then(|m| m.get(state))
            .copied()
    }

    pub async fn stop(mut self) {
        drop(self.commands);
        let _ = self.child.wait().await;
    }
}

/// Requests between two snapshots: total and per function.
pub struct Delta {
    pub total: u64,
    calls: BTreeMap<String, u64>,
}

impl Delta {
    pub fn between(before: &SimStats, after: &SimStats) -> Self {
        let calls = after
            .calls
            .iter()
            .map(|(f, n)| (f.clone(), n - before.calls.get(f).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        Self {
            total: after.http_requests - before.http_requests,
            calls,
        }
    }

    pub fn of(&self, function: &str) -> u64 {
        self.calls.get(function).copied().unwrap_or(0)
    }
}
