//! What the in-process benchmark examples share: a world of accounts on one root
//! source served by the simulator, a client for it, a watcher that shows nothing, and
//! an apply run timed by a probe of the session's state on the simulator.

// Each example uses part of it.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::future::Future;
use std::time::{Duration, Instant};
use whm_migrate::apply::monitor::Watcher;
use whm_migrate::domain::{RootSessionRequest, SessionOptions, SessionState, SourceLogin};
use whm_migrate::sim::{SimHandle, SimOptions, Simulator, TimeScale, World};
use whm_migrate::translog::SessionProgress;
use whm_migrate::whm::{ClientOptions, RetryPolicy, Timeouts, TlsMode, WhmClient};

/// The simulator's API token.
pub const TOKEN: &str = "BENCHTOKEN0123456789";

/// Writes a secret file as an admin would keep it: readable by its owner only
/// (whm-migrate warns about one that others can read).
pub fn write_secret(path: &std::path::Path, secret: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, secret).expect("write a secret file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .expect("make a secret file private");
}

/// A watcher that shows nothing.
pub struct Quiet;

impl Watcher for Quiet {
    fn state(&mut self, _: &SessionState) {}
    fn progress(&mut self, _: &SessionProgress) {}
    fn note(&mut self, _: &str) {}
    fn logs_deferred(&mut self) {}
}

/// A client of the simulator at `base_url`.
pub fn client(base_url: String) -> WhmClient {
    WhmClient::new(ClientOptions {
        base_url,
        user: "root".into(),
        token: TOKEN.into(),
        tls: TlsMode::SystemRoots,
        timeouts: Timeouts::default(),
        retry: RetryPolicy::default(),
    })
    .expect("client")
}

/// A root session from `host` with `threads` TRANSFER and RESTORE threads.
pub fn root_session(host: &str, password: &str, threads: u32) -> RootSessionRequest {
    RootSessionRequest {
        login: SourceLogin {
            host: host.to_owned(),
            user: "root".into(),
            password: Some(password.into()),
            ..SourceLogin::default()
        },
        comm_transport: None,
        options: SessionOptions {
            transfer_threads: Some(threads),
            restore_threads: Some(threads),
            ..SessionOptions::default()
        },
    }
}

/// Starts the simulator on a world with one root source, `big.example.com`, holding,
/// for each size, an account of `sizes[i]` bytes whose user and domain are `account(i)`.
pub async fn start_world(
    sizes: &[u64],
    account: impl Fn(usize) -> (String, String),
    scale: TimeScale,
) -> SimHandle {
    let mut text = "[sources.\"big.example.com\".credentials]\nroot_password = \"pw\"\n".to_owned();
    for (i, size) in sizes.iter().enumerate() {
        let (user, domain) = account(i);
        let _ = write!(
            text,
            "[[sources.\"big.example.com\".accounts]]\nuser = \"{user}\"\ndomain = \"{domain}\"\nbytesused = {size}\n"
        );
    }
    let world = World::from_toml_str(&text).expect("world");
    Simulator::start(
        world,
        SimOptions {
            api_token: TOKEN.into(),
            time_scale: scale,
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator")
}

/// Runs `run` while probing `session` on `sim` every millisecond; returns its output and
/// when the probe first saw the session RUNNING and COMPLETED.
pub async fn probed<T>(
    sim: &SimHandle,
    session: &str,
    run: impl Future<Output = T>,
) -> (T, Instant, Instant) {
    tokio::pin!(run);
    let (mut running, mut ended) = (None, None);
    let out = loop {
        tokio::select! {
            out = &mut run => break out,
            () = tokio::time::sleep(Duration::from_millis(1)) => {
                let now = sim.session_state(session);
                if running.is_none() && now.as_deref() == Some("RUNNING") {
                    running = Some(Instant::now());
                }
                if ended.is_none() && now.as_deref() == Some("COMPLETED") {
                    ended = Some(Instant::now());
                }
            }
        }
    };
    (
        out,
        running.expect("the probe saw the session run"),
        ended.expect("the probe saw the session end"),
    )
}
