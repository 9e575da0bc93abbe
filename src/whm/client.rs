//! The HTTP side of the client: one POST per call to `/json-api/FUNCTION`, API-token
//! authentication, per-call timeouts and retries (for reads only).

use crate::whm::envelope::{self, CallSite, Envelope};
use crate::whm::error::WhmError;
use crate::whm::tls::{self, SeenCertificate, TlsMode};
use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::time::Duration;

/// Timeouts per kind of call. Session creation logs in to the source over SSH and
/// analyses it, and log fetches may block until the log is finished (REFERENCE §4.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect and TLS handshake.
    pub connect: Duration,
    /// Every call not listed below.
    pub default: Duration,
    /// `create_remote_*_transfer_session` and `analyze_transfer_session_remote`.
    pub create_session: Duration,
    /// `fetch_transfer_session_log`.
    pub fetch_log: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(15),
            default: Duration::from_secs(120),
            create_session: Duration::from_secs(20 * 60),
            fetch_log: Duration::from_secs(30 * 60),
        }
    }
}

/// How often and how patiently read-only calls are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: usize,
    /// The first delay; later delays double, with jitter.
    pub min_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// The largest answers the client takes in, so that a server streaming without end
/// costs an error, not the client's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Any answer but a log's, in bytes (default 256 MiB: a 10,000-account analysis is
    /// tens of MB).
    pub answer: u64,
    /// A log fetch's answer, in bytes (default 4 GiB: a 10,000-account master log is
    /// about 30 MB, and a log is decoded as it arrives, never held whole).
    pub log: u64,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            answer: 256 << 20,
            log: 4 << 30,
        }
    }
}

/// Everything needed to talk to one WHM server.
pub struct ClientOptions {
    /// `https://host:2087` (a path prefix is kept; no credentials in it).
    pub base_url: String,
    /// The WHM user the token belongs to, usually `root`.
    pub user: String,
    /// The API token. Sent only in the `Authorization` header, marked sensitive.
    pub token: SecretString,
    /// How the server's certificate is trusted (ignored for `http://`).
    pub tls: TlsMode,
    /// Per-call timeouts.
    pub timeouts: Timeouts,
    /// Retries for read-only calls.
    pub retry: RetryPolicy,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("base_url", &self.base_url)
            .field("user", &self.user)
            .field("token", &"[redacted]")
            .field("tls", &self.tls)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Whether a call only reads (safe to retry) or changes the server (never retried
/// blindly: the caller reconciles from the server instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only; retried on transient failures and on `result` 0.
    Read,
    /// Changes the server; a failed attempt is reported, not repeated.
    Write,
    /// Reads, but each attempt logs in to a source over SSH: a failed attempt is
    /// reported, not repeated (repeated failed logins trip cPHulk on the source).
    Login,
}

/// Which timeout a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slowness {
    /// [`Timeouts::default`].
    Normal,
    /// [`Timeouts::create_session`].
    CreateSession,
    /// [`Timeouts::fetch_log`].
    FetchLog,
}

/// The most a response's Content-Length may reserve up front (a lying header must not
/// allocate more than this before any byte arrives).
const MAX_PREALLOCATED: usize = 256 << 20;

/// How much of an error page (a non-2xx answer) is read to describe it.
const MAX_ERROR_BODY: usize = 1 << 20;

/// A WHM API 1 client for one server. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct WhmClient {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    server: String,
    auth: HeaderValue,
    timeouts: Timeouts,
    retry: RetryPolicy,
    tls: TlsMode,
    seen: SeenCertificate,
    clock: crate::whm::clock::SharedClock,
    budget: crate::whm::budget::PollBudget,
    warnings: Vec<String>,
    limits: BodyLimits,
}

impl fmt::Debug for WhmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhmClient")
            .field("server", &self.server)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl WhmClient {
    /// Builds a client. Fails on a malformed url, a url carrying credentials, or an
    /// unusable TLS setting (unreadable CA file).
    pub fn new(options: ClientOptions) -> Result<Self, WhmError> {
        let url = reqwest::Url::parse(options.base_url.trim()).map_err(|e| {
            WhmError::Config(format!("invalid WHM url “{}”: {e}", options.base_url))
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(WhmError::Config(
                "the WHM url must not contain credentials; give the token with `token = { env = \"…\" }`".to_owned(),
            ));
        }
        if url.query().is_some() {
            return Err(WhmError::Config(format!(
                "the WHM url “{url}” must not contain a query string"
            )));
        }
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(WhmError::Config(format!(
                    "the WHM url must start with https:// (or http:// for a local simulator), not {other}://"
                )));
            }
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(2087);
        let server = format!("{host}:{port}");
        let mut warnings = Vec::new();
        let seen = SeenCertificate::default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.timeouts.connect)
            .user_agent(concat!("whm-migrate/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        // reqwest needs a TLS configuration even for http:// (it has no provider of
        // its own here), so ours is always set.
        let config = tls::client_config(&options.tls, &seen).map_err(WhmError::Config)?;
        builder = builder.tls_backend_preconfigured(config);
        if https {
            if options.tls == TlsMode::Insecure {
                warnings.push(format!(
                    "TLS certificate checks are OFF for {server} (insecure = true): anyone on the path can read the API token; pin the certificate instead"
                ));
            }
        } else if !is_loopback(&host) {
            warnings.push(format!(
                "talking to {server} over plain http: the API token crosses the network unencrypted"
            ));
        }
        let http = builder
            .build()
            .map_err(|e| WhmError::Config(format!("cannot build the HTTP client: {e}")))?;
        let mut auth = HeaderValue::from_str(&format!(
            "whm {}:{}",
            options.user,
            options.token.expose_secret()
        ))
        .map_err(|_| {
            WhmError::Config(
                "the WHM user or token holds characters an HTTP header cannot carry".to_owned(),
            )
        })?;
        auth.set_sensitive(true);
        let base = url.as_str().trim_end_matches('/');
        let endpoint = reqwest::Url::parse(&format!("{base}/json-api"))
            .map_err(|e| WhmError::Config(format!("invalid WHM url “{base}”: {e}")))?;
        Ok(Self {
            http,
            endpoint,
            server,
            auth,
            timeouts: options.timeouts,
            retry: options.retry,
            tls: options.tls,
            seen,
            clock: crate::whm::clock::SharedClock::new(),
            budget: crate::whm::budget::PollBudget::default(),
            warnings,
            limits: BodyLimits::default(),
        })
    }

    /// The same client with other answer size limits.
    #[must_use]
    pub fn with_limits(mut self, limits: BodyLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Warnings the user must see on every run (insecure TLS, plain http).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// `host:port` of the server, as errors name it.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The server's clock against ours, as the stamps of its logs' records show it;
    /// shared by the client's clones.
    pub fn server_clock(&self) -> &crate::whm::clock::SharedClock {
        &self.clock
    }

    /// The server's polling budget (no more polls than the guide's script), shared by
    /// the client's clones: every session followed on it earns and spends from it.
    pub fn poll_budget(&self) -> &crate::whm::budget::PollBudget {
        &self.budget
    }

    /// Calls `function` with `params` (sent as a form body with `api.version=1`) and
    /// returns the successful envelope. Reads are retried; writes never are.
    pub async fn call(
        &self,
        function: &str,
        params: &[(&str, &str)],
        effect: Effect,
        slowness: Slowness,
        session_id: Option<&str>,
    ) -> Result<Envelope, WhmError> {
        let site = CallSite {
            server: &self.server,
            function,
            session_id,
        };
        let once = || async {
            let body = self.send(function, params, slowness).await?;
            envelope::decode(&body, site)
        };
        self.retried(function, effect, once).await
    }

    /// Runs `once` a single time for a write, or with retries for a read: transient
    /// failures with backoff, a result-0 answer at most twice more.
    pub(crate) async fn retried<T, F, Fut>(
        &self,
        function: &str,
        effect: Effect,
        once: F,
    ) -> Result<T, WhmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, WhmError>>,
    {
        let mut once = once;
        match effect {
            Effect::Write | Effect::Login => once().await,
            Effect::Read => {
                let backoff = ExponentialBuilder::default()
                    .with_min_delay(self.retry.min_delay)
                    .with_max_delay(self.retry.max_delay)
                    .with_max_times(self.retry.max_retries)
                    .with_jitter();
                // A result-0 read may be a passing server fault, but it is usually a
                // real answer ("no such session"): retry it at most twice.
                let api_retries = std::sync::atomic::AtomicUsize::new(0);
                once.retry(backoff)
                    .when(|e: &WhmError| {
                        e.is_transient()
                            || (matches!(e, WhmError::Api { .. })
                                && api_retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                                    < 2)
                    })
                    .notify(|e, delay| {
                        tracing::debug!(function, server = %self.server, ?delay, "retrying a read: {e}");
                    })
                    .await
            }
        }
    }

    /// Like [`Self::call`] but returns the envelope whatever its `result` (for the
    /// functions whose failures carry data). Not retried.
    pub async fn call_any(
        &self,
        function: &str,
        params: &[(&str, &str)],
    ) -> Result<Envelope, WhmError> {
        let site = CallSite {
            server: &self.server,
            function,
            session_id: None,
        };
        let body = self.send(function, params, Slowness::Normal).await?;
        envelope::decode_any(&body, site)
    }

    /// The error context for a call.
    pub fn site<'a>(&'a self, function: &'a str, session_id: Option<&'a str>) -> CallSite<'a> {
        CallSite {
            server: &self.server,
            function,
            session_id,
        }
    }

    async fn send(
        &self,
        function: &str,
        params: &[(&str, &str)],
        slowness: Slowness,
    ) -> Result<Vec<u8>, WhmError> {
        let (mut response, timeout) = self.respond(function, params, slowness).await?;
        // Read chunk by chunk into one buffer sized from Content-Length: collecting
        // the chunks first and joining them would hold a large answer twice.
        let capacity = response
            .content_length()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
            .min(MAX_PREALLOCATED);
        let mut body = Vec::with_capacity(capacity);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(function, timeout, &e))?
        {
            self.within(function, self.limits.answer, body.len() + chunk.len())?;
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Like [`Self::send`], handing the body to `on_chunk` piece by piece as it
    /// arrives instead of holding it. One attempt: never retried here.
    pub(crate) async fn send_streaming(
        &self,
        function: &str,
        params: &[(&str, &str)],
        slowness: Slowness,
        on_chunk: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<(), WhmError> {
        let (mut response, timeout) = self.respond(function, params, slowness).await?;
        let mut received = 0;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(function, timeout, &e))?
        {
            received += chunk.len();
            self.within(function, self.limits.log, received)?;
            on_chunk(&chunk);
        }
        Ok(())
    }

    /// An error once an answer of `function` reaches `received` bytes past `limit`.
    fn within(&self, function: &str, limit: u64, received: usize) -> Result<(), WhmError> {
        if u64::try_from(received).unwrap_or(u64::MAX) > limit {
            return Err(WhmError::TooLarge {
                server: self.server.clone(),
                function: function.to_owned(),
                limit,
            });
        }
        Ok(())
    }

    /// Sends one call and returns the response of a successful HTTP status (its body
    /// unread) with the timeout it runs under; another status is an error that
    /// describes the body.
    async fn respond(
        &self,
        function: &str,
        params: &[(&str, &str)],
        slowness: Slowness,
    ) -> Result<(reqwest::Response, Duration), WhmError> {
        let timeout = match slowness {
            Slowness::Normal => self.timeouts.default,
            Slowness::CreateSession => self.timeouts.create_session,
            Slowness::FetchLog => self.timeouts.fetch_log,
        };
        let mut form: Vec<(&str, &str)> = Vec::with_capacity(params.len() + 1);
        form.push(("api.version", "1"));
        form.extend_from_slice(params);
        // The function is one more path segment: cheaper than parsing a whole url for
        // each of 10,000 enqueues.
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .map_err(|()| WhmError::Config("the WHM url cannot carry a path".to_owned()))?
            .push(function);
        let started = std::time::Instant::now();
        let mut response = self
            .http
            .post(url)
            .header(AUTHORIZATION, self.auth.clone())
            .form(&form)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.transport_error(function, timeout, &e))?;
        let status = response.status();
        // The session a call is about, never another parameter (some are secrets);
        // looked up only when the trace is on.
        tracing::trace!(
            function,
            session = params
                .iter()
                .find(|(k, _)| *k == "transfer_session_id")
                .map_or("", |(_, v)| *v),
            status = status.as_u16(),
            elapsed = ?started.elapsed(),
            "WHM call answered"
        );
        if status.is_success() {
            return Ok((response, timeout));
        }
        // An error page: its first part is enough to describe it.
        let mut body = Vec::new();
        while body.len() < MAX_ERROR_BODY
            && let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| self.transport_error(function, timeout, &e))?
        {
            body.extend_from_slice(&chunk);
        }
        let help = match status.as_u16() {
            401 | 403 => format!(
                "check the API token: it must belong to the configured user (usually root) on {} and must not have expired or lost its ACLs",
                self.server
            ),
            404 => "check the url: WHM API 1 lives under /json-api/ on port 2087".to_owned(),
            s if s >= 500 => {
                "the server failed; reads are retried automatically, check its error log (/usr/local/cpanel/logs/error_log) if this persists".to_owned()
            }
            _ => "unexpected HTTP status for WHM API 1".to_owned(),
        };
        Err(WhmError::HttpStatus {
            server: self.server.clone(),
            function: function.to_owned(),
            status: status.as_u16(),
            body: envelope::describe_body(&body, None),
            help,
        })
    }

    fn transport_error(
        &self,
        function: &str,
        timeout: std::time::Duration,
        e: &reqwest::Error,
    ) -> WhmError {
        let server = self.server.clone();
        let function = function.to_owned();
        if e.is_timeout() {
            return WhmError::Timeout {
                server,
                function,
                timeout,
            };
        }
        if let Some(tls_error) = find_tls_error(e) {
            let detail = tls_error.to_string();
            return WhmError::Tls {
                help: tls::trust_help(&self.tls, self.seen.get(), tls_error),
                server,
                function,
                detail,
            };
        }
        let detail = error_chain(e);
        if e.is_connect() {
            WhmError::Connect {
                server,
                function,
                detail,
            }
        } else {
            WhmError::Transport {
                server,
                function,
                detail,
            }
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn find_tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // io::Error hides its payload from `source()`; look inside (it may nest).
        current = match err.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => err.source(),
            },
            None => err.source(),
        };
    }
    None
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.iter().any(|p: &String| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}
