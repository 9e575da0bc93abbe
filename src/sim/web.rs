//! The sites themselves: a loopback web listener per simulated server, so `verify
//! --http` fetches real pages over real HTTP and TLS. Each loopback address of the
//! world (the destination's shared and dedicated IPs, each source's IP) gets an HTTP and
//! an HTTPS listener on the same two ports; the `Host` header (or the TLS SNI) picks the site
//! among the accounts of the server that address belongs to. A domain no account
//! serves gets cPanel's default page, as a real server's default virtual host answers.
//!
//! HTTPS: a site with `https = true` presents a self-signed certificate for its domain
//! (what a site has before AutoSSL runs); a domain without one is refused at the
//! handshake.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::server::SimError;
use super::state::Shared;
use super::world::World;

/// The title of the page a domain no account serves gets (cPanel's default page).
pub const DEFAULT_PAGE_TITLE: &str = "Default Web Site Page";

/// An account's web site, as the world sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Site {
    /// The page's `<title>`; the account's main domain when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The status `/` answers.
    pub status: u16,
    /// Whether the site serves HTTPS (with a self-signed certificate).
    pub https: bool,
}

impl Default for Site {
    fn default() -> Self {
        Self {
            title: None,
            status: 200,
            https: false,
        }
    }
}

impl Site {
    /// Whether nothing is set.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Which ports the web listeners use; 0 picks free ones (the same on every address).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebOptions {
    /// The HTTP port.
    pub http_port: u16,
    /// The HTTPS port.
    pub https_port: u16,
}

/// The ports the web listeners got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebPorts {
    /// HTTP.
    pub http: u16,
    /// HTTPS.
    pub https: u16,
}

/// Which server an address belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Side {
    Destination,
    /// A source, by its key in the world.
    Source(String),
}

/// The addresses of the world's servers that are loopback IPs.
fn addresses(world: &World) -> Vec<(IpAddr, Side)> {
    let d = &world.destination;
    let mut out: Vec<(IpAddr, Side)> = Vec::new();
    let dest_ips = std::iter::once(&d.shared_ip)
        .chain(&d.available_ips)
        .chain(d.dedicated_ips.keys());
    for ip in dest_ips {
        if let Ok(ip) = ip.parse() {
            out.push((ip, Side::Destination));
        }
    }
    for (key, source) in &world.sources {
        let ip = source.ip.as_deref().unwrap_or(key);
        if let Ok(ip) = ip.parse() {
            out.push((ip, Side::Source(key.clone())));
        }
    }
    // A test server listens on loopback only: a world's made-up public IPs
    // (192.0.2.10) are not this machine's.
    let mut seen = std::collections::HashSet::new();
    out.retain(|(ip, _)| ip.is_loopback() && seen.insert(*ip));
    out
}

/// The site `domain` names on `side`, with the title it shows; `None` for a domain no
/// account serves.
fn site_of(world: &World, side: &Side, domain: &str) -> Option<(Site, String)> {
    let is = |d: &String| d.eq_ignore_ascii_case(domain);
    match side {
        Side::Destination => world
            .destination
            .accounts
            .iter()
            .find(|a| a.mapped_domains().any(is))
            .map(|a| {
                let site = a.site.clone().unwrap_or_default();
                let title = site.title.clone().unwrap_or_else(|| a.domain.clone());
                (site, title)
            }),
        Side::Source(key) => world.sources.get(key)?.accounts.iter().find_map(|a| {
            (is(&a.domain) || a.addon_domains.iter().any(is)).then(|| {
                let title = a.site.title.clone().unwrap_or_else(|| a.domain.clone());
                (a.site.clone(), title)
            })
        }),
    }
}

/// Binds every address's listeners and serves until `stop`.
pub(crate) async fn start(
    shared: &Arc<Shared>,
    opts: WebOptions,
    stop: &watch::Receiver<bool>,
) -> Result<(WebPorts, Vec<JoinHandle<()>>), SimError> {
    let addrs = addresses(&shared.lock().world);
    if addrs.is_empty() {
        return Err(SimError::NoWebAddress);
    }
    let ips: Vec<IpAddr> = addrs.iter().map(|(ip, _)| *ip).collect();
    let http = bind_all(&ips, opts.http_port).await?;
    let https = bind_all(&ips, opts.https_port).await?;
    let ports = WebPorts {
        http: port_of(&http),
        https: port_of(&https),
    };
    let mut tasks = Vec::new();
    for ((listener, tls_listener), (_, side)) in http.into_iter().zip(https).zip(addrs) {
        let certs = Arc::new(SiteCerts {
            shared: shared.clone(),
            side: side.clone(),
            cache: Mutex::default(),
        });
        let acceptor = tls_acceptor(certs)?;
        let serve = Serve {
            shared: shared.clone(),
            side,
        };
        tasks.push(tokio::spawn(accept(
            listener,
            None,
            serve.clone(),
            stop.clone(),
        )));
        tasks.push(tokio::spawn(accept(
            tls_listener,
            Some(acceptor),
            serve,
            stop.clone(),
        )));
    }
    Ok((ports, tasks))
}

fn port_of(listeners: &[TcpListener]) -> u16 {
    listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map_or(0, |a| a.port())
}

/// Binds `port` on every IP; with port 0, one free on all of them (a few tries).
async fn bind_all(ips: &[IpAddr], port: u16) -> Result<Vec<TcpListener>, SimError> {
    let tries = if port == 0 { 20 } else { 1 };
    let mut last = None;
    for _ in 0..tries {
        match bind_same_port(ips, port).await {
            Ok(ls) => return Ok(ls),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| SimError::Bind {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        source: std::io::Error::other("no address to listen on"),
    }))
}

async fn bind_same_port(ips: &[IpAddr], mut port: u16) -> Result<Vec<TcpListener>, SimError> {
    let mut out = Vec::with_capacity(ips.len());
    for ip in ips {
        let addr = SocketAddr::new(*ip, port);
        let l = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        if port == 0 {
            port = l
                .local_addr()
                .map_err(|source| SimError::Bind { addr, source })?
                .port();
        }
        out.push(l);
    }
    Ok(out)
}

/// Self-signed certificates for the sites of one server that serve HTTPS, made on
/// first use.
struct SiteCerts {
    shared: Arc<Shared>,
    side: Side,
    cache: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for SiteCerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteCerts")
            .field("side", &self.side)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for SiteCerts {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name()?.to_ascii_lowercase();
        let https = {
            let inner = self.shared.lock();
            site_of(&inner.world, &self.side, &name).is_some_and(|(s, _)| s.https)
        };
        if !https {
            return None;
        }
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = cache.get(&name) {
            return Some(k.clone());
        }
        let key = self_signed(&name)?;
        cache.insert(name, key.clone());
        Some(key)
    }
}

fn self_signed(name: &str) -> Option<Arc<CertifiedKey>> {
    let cert = rcgen::generate_simple_self_signed(vec![name.to_owned()]).ok()?;
    let der = rustls_pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let key = rustls::crypto::ring::sign::any_supported_type(&der).ok()?;
    Some(Arc::new(CertifiedKey::new(
        vec![cert.cert.der().clone()],
        key,
    )))
}

fn tls_acceptor(certs: Arc<SiteCerts>) -> Result<tokio_rustls::TlsAcceptor, SimError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// What answers the requests of one address.
#[derive(Clone)]
struct Serve {
    shared: Arc<Shared>,
    side: Side,
}

impl Serve {
    fn answer(&self, req: &Request<Incoming>) -> Response<Body> {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let domain = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let found = site_of(&self.shared.lock().world, &self.side, domain);
        let (status, title) = match found {
            Some((site, title)) => (site.status, title),
            None => (200, DEFAULT_PAGE_TITLE.to_owned()),
        };
        let body = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title></head>\n<body><h1>{0}</h1></body></html>\n",
            escape(&title)
        );
        Response::builder()
            .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .body(Body::from(body))
            .unwrap_or_default()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn accept(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    serve: Serve,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(_) => continue,
            },
            _ = stop.changed() => break,
        };
        let (serve, tls) = (serve.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    // A refused handshake is the answer a site without HTTPS gives.
                    if let Ok(s) = acceptor.accept(stream).await {
                        serve_conn(TokioIo::new(s), serve).await;
                    }
                }
                None => serve_conn(TokioIo::new(stream), serve).await,
            }
        });
    }
}

async fn serve_conn<I>(io: I, serve: Serve)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let answer = serve.answer(&req);
        async move { Ok::<_, std::convert::Infallible>(answer) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, svc)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{SimOptions, Simulator};

    #[tokio::test]
    async fn a_world_without_a_loopback_ip_is_refused_with_the_fix() {
        let opts = SimOptions {
            web: Some(WebOptions::default()),
            ..SimOptions::default()
        };
        let err = Simulator::start(World::default(), opts)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, SimError::NoWebAddress), "{err}");
        assert!(err.to_string().contains("127.0.0.1"));
    }

    #[test]
    fn only_loopback_ips_are_served_each_once() {
        let mut w = World::default();
        w.destination.shared_ip = "127.0.0.1".into();
        w.destination.available_ips = vec!["127.0.0.1".into(), "192.0.2.20".into()];
        let ips: Vec<IpAddr> = addresses(&w).into_iter().map(|(ip, _)| ip).collect();
        assert_eq!(ips, [IpAddr::from([127, 0, 0, 1])]);
    }
}
