//! Running the simulator standalone (`whm-migrate sim --world F --listen ADDR
//! --token-env VAR`): the CLI loads the world, builds [`SimOptions`] and calls
//! [`serve_until_signal`].

use std::future::Future;

use super::options::SimOptions;
use super::server::{SimError, SimHandle, Simulator};
use super::state::Persisted;
use super::world::World;

/// Serves `world` until Ctrl-C (or SIGTERM on Unix), then shuts down gracefully and
/// returns the final world and sessions (also written to `opts.state_file` if set).
///
/// `on_ready` is called once with the running simulator so the caller can print its
/// base URL (`http://127.0.0.1:2087`) and web ports.
pub async fn serve_until_signal(
    world: World,
    opts: SimOptions,
    on_ready: impl FnOnce(&SimHandle),
) -> Result<Persisted, SimError> {
    serve_until(world, opts, on_ready, shutdown_signal()).await
}

/// Like [`serve_until_signal`], but stops when `stop` completes.
pub async fn serve_until(
    world: World,
    opts: SimOptions,
    on_ready: impl FnOnce(&SimHandle),
    stop: impl Future<Output = Result<(), std::io::Error>>,
) -> Result<Persisted, SimError> {
    let handle = Simulator::start(world, opts).await?;
    on_ready(&handle);
    let waited = stop.await;
    let last = handle.shutdown().await;
    waited.map_err(SimError::Signal)?;
    Ok(last)
}

/// `whm-migrate sim` was given no token.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the environment variable {0} holding the API token is not set")]
#[diagnostic(
    code(sim::no_token),
    help("export {0}=SOME-LONG-RANDOM-TOKEN and give the same token to the client")
)]
pub struct NoToken(pub String);

/// The API token from an environment variable, for `--token-env VAR`.
pub fn token_from_env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|t| !t.is_empty())
}

/// A warning when `opts` listen beyond loopback: the simulator is a test server (plain
/// HTTP unless given TLS, a world of made-up passwords), not something to expose.
pub fn listen_warning(opts: &SimOptions) -> Option<String> {
    (!opts.listen.ip().is_loopback()).then(|| {
        format!(
            "the simulator listens on {}, reachable from other hosts; its API token is all that guards it",
            opts.listen
        )
    })
}

/// A random API token, for a simulator only this process talks to (the embedded demo,
/// a rehearsal).
pub fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[rng.random_range(0..32)]))
        .collect()
}

async fn shutdown_signal() -> Result<(), std::io::Error> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
