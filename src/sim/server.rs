//! The HTTP(S) server: its own accept loop (tokio listener → optional TLS →
//! `hyper::server::conn::http1` serving the axum router), so faults can drop a
//! connection before or after the function ran, with TLS or without.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use axum::routing::{any, get, post};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use super::admin;
use super::api;
use super::faults::{CallFault, Faults, RequestFaults, kind};
use super::options::SimOptions;
use super::runner;
use super::session::{ItemState, SessionState};
use super::state::{Persisted, Shared, persister};
use super::stats::SimStats;
use super::world::World;

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS identity was refused.
    #[error("invalid TLS identity: {0}")]
    Tls(#[from] rustls::Error),
    /// The state file could not be read.
    #[error("cannot load the state file: {0}")]
    State(std::io::Error),
    /// The sites were to be served, but the world has no loopback IP to serve them on.
    #[error(
        "the world has no loopback IP to serve the sites on: set the destination's shared_ip to \"127.0.0.1\" and each source's ip to another loopback address, e.g. \"127.0.0.2\""
    )]
    NoWebAddress,
    /// Waiting for a signal failed.
    #[error("cannot wait for a signal: {0}")]
    Signal(std::io::Error),
}

/// The WHM simulator.
pub struct Simulator;

impl Simulator {
    /// Binds `opts.listen`, starts serving and returns a handle. When `opts.state_file`
    /// exists, its world and sessions are loaded instead of `world`, and sessions that
    /// were running continue.
    pub async fn start(world: World, opts: SimOptions) -> Result<SimHandle, SimError> {
        let shared = Shared::new(world, &opts).map_err(SimError::State)?;
        let tls = match &opts.tls {
            Some(t) => {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let mut config = rustls::ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()?
                    .with_no_client_auth()
                    .with_single_cert(t.cert_chain.clone(), t.key.clone_key())?;
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
            }
            None => None,
        };
        let listener = TcpListener::bind(opts.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: opts.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: opts.listen,
            source,
        })?;
        resume_sessions(&shared);
        let (stop, stop_rx) = watch::channel(false);
        let router = router(shared.clone());
        let https = tls.is_some();
        let (web_ports, web) = match opts.web {
            Some(w) => {
                let (ports, tasks) = super::web::start(&shared, w, &stop_rx).await?;
                (Some(ports), tasks)
            }
            None => (None, Vec::new()),
        };
        let accept = tokio::spawn(accept_loop(listener, tls, shared.clone(), router, stop_rx));
        let persist = tokio::spawn(persister(shared.clone()));
        tracing::info!(%addr, https, "WHM simulator listening");
        Ok(SimHandle {
            addr,
            https,
            shared,
            stop,
            accept: Some(accept),
            persist,
            web_ports,
            web,
        })
    }
}

/// Restarts the master processes of sessions that were running when the state was saved.
fn resume_sessions(shared: &Arc<Shared>) {
    let mut to_spawn = Vec::new();
    let mut to_abort = Vec::new();
    {
        let mut inner = shared.lock();
        for s in inner.sessions.values_mut() {
            for idx in 0..s.items.len() {
                let to = match s.items[idx].state {
                    ItemState::TransferInprogress => ItemState::TransferPending,
                    ItemState::RestoreInprogress => ItemState::RestorePending,
                    other => other,
                };
                s.set_state(idx, to);
            }
            let pid = s.pid.unwrap_or(1);
            match s.state {
                SessionState::Running | SessionState::Pausing => to_spawn.push((s.id.clone(), pid)),
                SessionState::Aborting => to_abort.push((s.id.clone(), pid)),
                _ => {}
            }
        }
    }
    for (id, pid) in to_spawn {
        runner::spawn(shared, &id, pid);
    }
    for (id, pid) in to_abort {
        runner::finish_detached(shared, &id, pid, SessionState::Aborted, "abort");
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/json-api/{function}", any(api::json_api))
        .route("/{prefix}/json-api/{function}", any(api::json_api_cpsess))
        .route("/__sim/stats", get(admin::stats))
        .route(
            "/__sim/faults",
            get(admin::get_faults).post(admin::set_faults),
        )
        .route("/__sim/world", get(admin::world))
        .route("/__sim/sessions/{id}/{action}", post(admin::session_action))
        .with_state(shared)
}

/// The error a service returns to make hyper close the connection unanswered.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(error = %e, "simulator accept failed");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        while conns.try_join_next().is_some() {}
        let (shared, router, tls, stop) =
            (shared.clone(), router.clone(), tls.clone(), stop.clone());
        conns.spawn(async move {
            match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => serve_conn(TokioIo::new(s), shared, router, stop).await,
                    Err(e) => tracing::debug!(error = %e, "simulator TLS handshake failed"),
                },
                None => serve_conn(TokioIo::new(stream), shared, router, stop).await,
            }
        });
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(3), drain)
        .await
        .is_err()
    {
        conns.abort_all();
    }
}

async fn serve_conn<I>(io: I, shared: Arc<Shared>, router: Router, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        handle(shared.clone(), router.clone(), req)
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            // A connection still open after 2 s is dropped: the simulator is stopping.
            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
        }
    }
}

/// This request's faults, drawn (and counted) under the lock, and the answer delay of
/// its function.
fn draw_faults(shared: &Shared, function: &str) -> (RequestFaults, Option<u64>) {
    let mut inner = shared.lock();
    let inner = &mut *inner;
    let mut f = inner.faults.draw(&mut inner.rng);
    if let Some(left) = inner.faults.result_zero_calls.get_mut(function)
        && *left > 0
    {
        *left -= 1;
        f.result_zero = true;
        f.forced = true;
    }
    if let Some(script) = inner.faults.call_script.get_mut(function)
        && !script.is_empty()
    {
        let step = script.remove(0);
        f = RequestFaults {
            latency_ms: f.latency_ms,
            drop_before: step == CallFault::DropBefore,
            drop_after: step == CallFault::DropAfter,
            result_zero: step == CallFault::ResultZero,
            forced: step == CallFault::ResultZero,
            ..RequestFaults::default()
        };
    }
    let answer_delay = inner.faults.answer_delay_ms.get(function).copied();
    for (on, k) in [
        (f.latency_ms > 0, kind::LATENCY),
        (f.http_500, kind::HTTP_500),
        (f.drop_before, kind::DROP_BEFORE),
        (f.drop_after, kind::DROP_AFTER),
        (f.html_page, kind::HTML_PAGE),
        (f.truncated_json, kind::TRUNCATED_JSON),
    ] {
        if on {
            SimStats::bump(&mut inner.stats.faults, k);
        }
    }
    if answer_delay.is_some() {
        SimStats::bump(&mut inner.stats.faults, kind::ANSWER_DELAY);
    }
    (f, answer_delay)
}

/// An enqueue call being handled, counted in the stats until its answer is out (or
/// its connection dropped).
struct InFlight(Arc<Shared>);

impl InFlight {
    fn enter(shared: &Arc<Shared>) -> Self {
        let mut inner = shared.lock();
        let stats = &mut inner.stats;
        stats.enqueues_in_flight += 1;
        stats.enqueues_in_flight_max = stats.enqueues_in_flight_max.max(stats.enqueues_in_flight);
        drop(inner);
        Self(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.stats.enqueues_in_flight = inner.stats.enqueues_in_flight.saturating_sub(1);
    }
}

async fn handle(
    shared: Arc<Shared>,
    router: Router,
    req: Request<Incoming>,
) -> Result<Response<Body>, Dropped> {
    {
        let mut inner = shared.lock();
        inner.stats.http_requests += 1;
        if req.uri().query().is_some() {
            inner.stats.uris_with_query.push(req.uri().to_string());
        }
    }
    let req = req.map(Body::new);
    if req.uri().path().starts_with("/__sim/") {
        // The simulator's own endpoints change its world and faults: its token too.
        if let Err(denied) = api::authenticate(&shared, req.headers()) {
            return Ok(denied);
        }
        return Ok(serve(router, req).await);
    }
    let function = req.uri().path().rsplit('/').next().unwrap_or_default();
    let _enqueue = (function == "enqueue_transfer_item").then(|| InFlight::enter(&shared));
    let (f, answer_delay) = draw_faults(&shared, function);
    if f.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
    }
    if f.http_500 {
        return Ok(api::html_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "Simulated server error.",
        ));
    }
    if f.drop_before {
        return Err(Dropped);
    }
    let mut req = req;
    req.extensions_mut().insert(f);
    let resp = serve(router, req).await;
    if let Some(ms) = answer_delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if f.drop_after {
        return Err(Dropped);
    }
    if f.html_page {
        return Ok(api::html_page(
            StatusCode::OK,
            "WHM Login",
            "Your session has expired. Please log in again.",
        ));
    }
    if f.truncated_json {
        let (mut parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let cut = bytes.slice(..bytes.len() / 2);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Ok(Response::from_parts(parts, Body::from(cut)));
    }
    Ok(resp)
}

async fn serve(router: Router, req: Request<Body>) -> Response<Body> {
    match router.oneshot(req).await {
        Ok(r) => r,
        Err(e) => match e {},
    }
}

/// A running simulator.
pub struct SimHandle {
    addr: SocketAddr,
    https: bool,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    accept: Option<JoinHandle<()>>,
    persist: JoinHandle<()>,
    web_ports: Option<super::web::WebPorts>,
    web: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// The bound address (the real port when `:0` was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` or `https://…`.
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.addr
        )
    }

    /// The web listeners' ports, when the simulator serves the sites.
    pub fn web_ports(&self) -> Option<super::web::WebPorts> {
        self.web_ports
    }

    /// The counters so far.
    pub fn stats(&self) -> SimStats {
        self.shared.lock().stats.clone()
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.clone()
    }

    /// Replaces the faults at runtime.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
    }

    /// A snapshot of the current world.
    pub fn world(&self) -> World {
        self.shared.lock().world.clone()
    }

    /// The state of a session, if it exists.
    pub fn session(&self, id: &str) -> Option<SessionState> {
        self.shared.lock().sessions.get(id).map(|s| s.state)
    }

    /// A session's state name, as the API answers it.
    pub fn session_state(&self, id: &str) -> Option<String> {
        self.shared
            .lock()
            .sessions
            .get(id)
            .map(|s| s.state.name().to_owned())
    }

    /// Stops accepting, lets open requests finish (up to a few seconds), stops the
    /// session runners (running sessions stay RUNNING in the state file and continue on
    /// the next start), writes the state file and returns the final world and sessions.
    pub async fn shutdown(mut self) -> Persisted {
        self.stop.send_replace(true);
        if let Some(accept) = self.accept.take() {
            // A panicked accept loop has nothing left to stop.
            let _ = accept.await;
        }
        self.stop_background();
        if let Err(e) = self.shared.persist() {
            tracing::warn!(error = %e, "simulator: cannot write the state file");
        }
        self.shared.snapshot()
    }

    fn stop_background(&self) {
        self.persist.abort();
        for w in &self.web {
            w.abort();
        }
        let ids: Vec<String> = self
            .shared
            .runners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        for id in ids {
            self.shared.kill(&id);
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if self.accept.is_some() {
            self.stop.send_replace(true);
            self.stop_background();
        }
    }
}
