//! The in-process simulator: a world, a running simulator with a client for it, its
//! counters read in process or over its admin endpoints, and waiting for a milestone in
//! them while the binary runs.

use super::wait::DEADLINE;
use super::{TOKEN, client_for};
use serde_json::Value;
use whm_migrate::sim::{SimHandle, SimOptions, SimStats, Simulator, World};
use whm_migrate::whm::{TlsMode, WhmClient};

/// The world `tests/fixtures/worlds/NAME.toml`.
pub fn world(name: &str) -> World {
    World::load(format!(
        "{}/tests/fixtures/worlds/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A simulator on loopback and a client for it.
pub struct SimContext {
    pub sim: SimHandle,
    pub client: WhmClient,
}

impl SimContext {
    pub async fn start(world: World) -> Self {
        Self::with(world, SimOptions::default()).await
    }

    pub async fn with(world: World, mut opts: SimOptions) -> Self {
        TOKEN.clone_into(&mut opts.api_token);
        Self::from(Simulator::start(world, opts).await.unwrap())
    }
}

impl From<SimHandle> for SimContext {
    /// A client for a simulator started elsewhere (with [`TOKEN`] as its token).
    fn from(sim: SimHandle) -> Self {
        let client = client_for(&sim.base_url(), TlsMode::SystemRoots);
        Self { sim, client }
    }
}

/// How many times the simulator answered `function`.
pub fn calls(s: &SimStats, function: &str) -> u64 {
    s.calls.get(function).copied().unwrap_or(0)
}

/// Waits until `done(stats)` holds or the child exits; true when the condition held.
/// Panics when neither happens within [`DEADLINE`].
pub async fn wait_for(
    sim: &SimContext,
    child: &mut tokio::process::Child,
    done: impl Fn(&SimStats) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if done(&sim.sim.stats()) {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return done(&sim.sim.stats());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for the milestone (the run goes on)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// The simulator's own endpoints (`/__sim/…`: the API token, never faulted), over HTTP
/// as any client would use them.
#[derive(Clone)]
pub struct SimHttp {
    http: reqwest::Client,
    base: String,
    /// The `Authorization` header the admin endpoints want.
    auth: String,
}

impl SimHttp {
    pub fn new(base_url: &str) -> Self {
        Self::with(base_url, reqwest::Client::builder())
    }

    /// With a client built from `builder` (its TLS set here: no roots, the simulator
    /// serves plain HTTP).
    pub fn with(base_url: &str, builder: reqwest::ClientBuilder) -> Self {
        Self::with_token(base_url, builder, TOKEN)
    }

    /// With the simulator's API token `token` (the admin endpoints want it too).
    pub fn with_token(base_url: &str, builder: reqwest::ClientBuilder, token: &str) -> Self {
        let http = builder
            .use_preconfigured_tls(tls_config(rustls::RootCertStore::empty()))
            .build()
            .unwrap();
        Self {
            http,
            base: base_url.to_owned(),
            auth: format!("whm root:{token}"),
        }
    }

    /// `GET /__sim/world`, as text.
    pub async fn world_text(&self) -> String {
        self.http
            .get(format!("{}/__sim/world", self.base))
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The HTTP client, for raw requests.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The simulator's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /__sim/stats`.
    pub async fn stats(&self) -> SimStats {
        let text = self
            .http
            .get(format!("{}/__sim/stats", self.base))
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).expect("stats JSON")
    }

    /// `POST /__sim/PATH` with an optional JSON body; its JSON answer.
    pub async fn post(&self, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .post(format!("{}/__sim/{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, &self.auth);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let text = req
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).expect("admin JSON")
    }

    /// Acts on a session "from outside": `fail`, `abort`, `pause` or `kill`.
    pub async fn session(&self, id: &str, action: &str) -> Value {
        self.post(&format!("sessions/{id}/{action}"), None).await
    }
}

/// A rustls client configuration trusting `roots`.
pub fn tls_config(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth()
}
