//! Shared test context: a replay server that answers WHM calls with canned bodies
//! (the documented examples, or hostile ones) and records what the client sent.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use secrecy::SecretString;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use whm_migrate::whm::{ClientOptions, RetryPolicy, Timeouts, TlsMode, WhmClient};

/// The token every test server accepts.
pub const TOKEN: &str = "TESTTOKEN0123456789SENTINEL";

/// One request as the replay server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub function: String,
    pub uri: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct Inner {
    answers: HashMap<String, (u16, Vec<u8>)>,
    seen: Vec<Seen>,
}

/// A loopback HTTP server answering `/json-api/FUNCTION` with canned bodies.
#[derive(Clone)]
pub struct Replay {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

impl Replay {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/json-api/{function}", axum::routing::any(answer))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { inner, url }
    }

    /// Answers `function` with `status` and `body` from now on.
    pub fn answer(&self, function: &str, status: u16, body: impl Into<Vec<u8>>) {
        self.inner
            .lock()
            .unwrap()
            .answers
            .insert(function.to_owned(), (status, body.into()));
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }

    pub fn client(&self) -> WhmClient {
        client_for(&self.url, TlsMode::SystemRoots)
    }
}

async fn answer(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(function): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let mut inner = inner.lock().unwrap();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(ToOwned::to_owned)
    };
    inner.seen.push(Seen {
        function: function.clone(),
        uri: uri.to_string(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    match inner.answers.get(&function) {
        Some((status, body)) => (StatusCode::from_u16(*status).unwrap(), body.clone()),
        None => (StatusCode::NOT_FOUND, b"no canned answer".to_vec()),
    }
}

/// A client with fast retries, for tests.
pub fn client_for(url: &str, tls: TlsMode) -> WhmClient {
    WhmClient::new(ClientOptions {
        base_url: url.to_owned(),
        user: "root".to_owned(),
        token: SecretString::from(TOKEN),
        tls,
        timeouts: Timeouts {
            connect: std::time::Duration::from_secs(5),
            default: std::time::Duration::from_secs(10),
            create_session: std::time::Duration::from_secs(10),
            fetch_log: std::time::Duration::from_secs(10),
        },
        retry: RetryPolicy {
            max_retries: 4,
            min_delay: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(50),
        },
    })
    .unwrap()
}

/// The documented example response `name` from `tests/fixtures/whm-api/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/whm-api/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A simulator on loopback and a client for it.
pub struct SimContext {
    pub sim: whm_migrate::sim::SimHandle,
    pub client: WhmClient,
}

/// The world `tests/fixtures/worlds/NAME.toml`.
pub fn world(name: &str) -> whm_migrate::sim::World {
    whm_migrate::sim::World::load(format!(
        "{}/tests/fixtures/worlds/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

impl SimContext {
    pub async fn start(world: whm_migrate::sim::World) -> Self {
        Self::with(world, whm_migrate::sim::SimOptions::default()).await
    }

    pub async fn with(
        world: whm_migrate::sim::World,
        mut opts: whm_migrate::sim::SimOptions,
    ) -> Self {
        TOKEN.clone_into(&mut opts.api_token);
        let sim = whm_migrate::sim::Simulator::start(world, opts)
            .await
            .unwrap();
        let client = client_for(&sim.base_url(), TlsMode::SystemRoots);
        Self { sim, client }
    }
}

/// How long one run of the binary may take in a test (a guard against hangs, not a
/// timing assertion).
pub const RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a finished run of the binary printed.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "{self:#?}");
    }
}

/// Waits for a spawned binary and collects its output.
pub async fn finish(child: tokio::process::Child) -> Out {
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("the run did not finish")
        .unwrap();
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Waits until `done(stats)` holds or the child exits; true when the condition held.
pub async fn wait_for(
    sim: &SimContext,
    child: &mut tokio::process::Child,
    done: impl Fn(&whm_migrate::sim::SimStats) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + RUN_LIMIT;
    loop {
        if done(&sim.sim.stats()) {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return done(&sim.sim.stats());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the milestone never came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// How many times the simulator answered `function`.
pub fn calls(s: &whm_migrate::sim::SimStats, function: &str) -> u64 {
    s.calls.get(function).copied().unwrap_or(0)
}

/// The root password of the test worlds' source `src.example.com`.
pub const SRC_PASSWORD: &str = "ROOTPW-SENTINEL-7f3a";

/// A manifest named `name` for the `apply` world at `url`: its feature list, its
/// package, and the accounts alice, bob and carol, each followed by its own extra lines
/// (`accounts` gives them per user, e.g. `("alice", "wave = \"night-1\"")`).
pub fn apply_manifest(name: &str, url: &str, accounts: &[(&str, &str)]) -> String {
    let mut text = format!(
        r#"version = 1
name = "{name}"

[destination]
url = "{url}"
token = {{ env = "WHM_TEST_TOKEN" }}

[[sources]]
name = "old1"
host = "src.example.com"
kind = "root"
password = {{ env = "SRC_PW" }}

[[sources.feature_lists]]
name = "gold features"

[[sources.packages]]
name = "gold"
"#
    );
    for (user, extra) in accounts {
        let _ = write!(text, "\n[[sources.accounts]]\nuser = \"{user}\"\n{extra}\n");
    }
    text
}

/// A manifest in a scratch directory with its own state directory, run as the binary
/// with the test token and [`SRC_PASSWORD`] in its environment.
pub struct Case {
    pub dir: tempfile::TempDir,
    pub manifest: std::path::PathBuf,
    pub state: std::path::PathBuf,
}

impl Case {
    /// Writes `text` as the manifest.
    pub fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("migrate.toml");
        std::fs::write(&manifest, text).unwrap();
        let state = dir.path().join("state");
        Self {
            dir,
            manifest,
            state,
        }
    }

    /// `whm-migrate COMMAND MANIFEST --state-dir STATE EXTRA…` (plain progress for
    /// `apply`), its output piped.
    pub fn command(&self, command: &str, extra: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_whm-migrate"));
        cmd.arg(command)
            .arg(&self.manifest)
            .arg("--state-dir")
            .arg(&self.state);
        if command == "apply" {
            cmd.args(["--progress", "plain"]);
        }
        cmd.args(extra)
            .env("WHM_TEST_TOKEN", TOKEN)
            .env("SRC_PW", SRC_PASSWORD)
            .env_remove("WHM_MIGRATE_PROGRESS")
            .env_remove("WHM_MIGRATE_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs [`Self::command`] to its end.
    pub async fn run(&self, command: &str, extra: &[&str]) -> Out {
        finish(self.command(command, extra).spawn().unwrap()).await
    }

    /// The journal of migration `name`, as JSON.
    pub fn journal(&self, name: &str) -> serde_json::Value {
        let path = self.state.join(format!("{name}.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }
}
