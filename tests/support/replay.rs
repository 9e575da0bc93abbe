//! A replay server that answers WHM calls with canned bodies (the documented examples,
//! or hostile ones) and records what the client sent; the client the tests use.

use super::TOKEN;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use whm_migrate::whm::{ClientOptions, RetryPolicy, Timeouts, TlsMode, WhmClient};

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
