//! `verify --http`: fetching `/` of each domain from the destination's IP for its
//! account and from the source, with no DNS change: the domain is the `Host` and the
//! TLS server name, the address comes from the servers (`listaccts`' `ip`, the source's
//! host). HTTPS first; a certificate the system does not trust is reported and the
//! page fetched anyway; HTTP when HTTPS gives no answer. Redirects are followed only
//! within the same host. A bounded number of domains is fetched at once, each request
//! with a timeout.

use super::sites::{Fetched, SiteAnswers, title_of};
use crate::whm::tls::{SeenCertificate, TlsMode, client_config};
use futures::StreamExt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How much of a page is read looking for its title.
const MAX_BODY: usize = 256 * 1024;
/// How many same-host redirects are followed.
const MAX_REDIRECTS: usize = 5;

/// Where and how sites are fetched (`[verify]` in the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// The port plain HTTP is fetched from (80).
    pub http_port: u16,
    /// The port HTTPS is fetched from (443).
    pub https_port: u16,
    /// The limit on each request, connecting included.
    pub timeout: Duration,
    /// How many domains are fetched at once.
    pub concurrency: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            http_port: 80,
            https_port: 443,
            timeout: Duration::from_secs(10),
            concurrency: 8,
        }
    }
}

impl HttpSettings {
    /// The manifest's `[verify]` settings over the defaults.
    pub fn from_settings(s: &crate::manifest::VerifySettings) -> Self {
        let d = Self::default();
        Self {
            http_port: s.http_port.unwrap_or(d.http_port),
            https_port: s.https_port.unwrap_or(d.https_port),
            timeout: s
                .http_timeout_seconds
                .map_or(d.timeout, Duration::from_secs),
            concurrency: s
                .http_concurrency
                .map_or(d.concurrency, |c| usize::try_from(c).unwrap_or(1).max(1)),
        }
    }
}

/// One domain to fetch from both servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTarget {
    /// The domain.
    pub domain: String,
    /// The destination's IP for the account; `Err` says why there is none.
    pub destination: Result<IpAddr, String>,
    /// The source's address; `Err` says why there is none.
    pub source: Result<IpAddr, String>,
    /// The source account has a dedicated IP the analysis does not name.
    pub source_dedicated: bool,
}

/// The clients of one server: one that checks certificates against the system's
/// roots, one that does not (to read a page whose certificate was refused), both
/// resolving each domain to that server's address.
struct Clients {
    strict: reqwest::Client,
    lax: reqwest::Client,
}

impl Clients {
    fn new(names: &[(String, IpAddr)], s: &HttpSettings) -> Result<Self, String> {
        let build = |mode: &TlsMode| -> Result<reqwest::Client, String> {
            let tls = client_config(mode, &SeenCertificate::default())?;
            let mut b = reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .user_agent(concat!(
                    "whm-migrate/",
                    env!("CARGO_PKG_VERSION"),
                    " verify"
                ))
                .timeout(s.timeout)
                .connect_timeout(s.timeout)
                .redirect(same_host_redirects());
            for (name, ip) in names {
                b = b.resolve(name, SocketAddr::new(*ip, 0));
            }
            b.build().map_err(|e| format!("cannot set up HTTP: {e}"))
        };
        Ok(Self {
            strict: build(&TlsMode::SystemRoots)?,
            lax: build(&TlsMode::Insecure)?,
        })
    }
}

fn same_host_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt.previous().last().and_then(|u| u.host_str()) == attempt.url().host_str();
        if !same {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

/// Fetches every target from both servers, `settings.concurrency` domains at once, and
/// returns the answers in the targets' order.
pub async fn fetch_sites(
    targets: &[SiteTarget],
    settings: &HttpSettings,
) -> Result<Vec<SiteAnswers>, String> {
    let named = |side: fn(&SiteTarget) -> &Result<IpAddr, String>| -> Vec<(String, IpAddr)> {
        targets
            .iter()
            .filter_map(|t| side(t).as_ref().ok().map(|ip| (t.domain.clone(), *ip)))
            .collect()
    };
    let dest = Clients::new(&named(|t| &t.destination), settings)?;
    let src = Clients::new(&named(|t| &t.source), settings)?;
    let answers = futures::stream::iter(targets)
        .map(|t| {
            let (dest, src) = (&dest, &src);
            async move {
                let (destination, source) = futures::join!(
                    fetch_from(dest, &t.destination, &t.domain, settings),
                    fetch_from(src, &t.source, &t.domain, settings),
                );
                SiteAnswers {
                    domain: t.domain.clone(),
                    destination,
                    source,
                    source_dedicated: t.source_dedicated,
                }
            }
        })
        .buffered(settings.concurrency.max(1))
        .collect()
        .await;
    Ok(answers)
}

async fn fetch_from(
    clients: &Clients,
    address: &Result<IpAddr, String>,
    domain: &str,
    s: &HttpSettings,
) -> Fetched {
    if let Err(why) = address {
        return Fetched::failed(why.clone());
    }
    let https = url("https", domain, s.https_port, 443);
    let e = match get(&clients.strict, &https).await {
        Ok(page) => return page,
        Err(e) => e,
    };
    if let Some(why) = certificate_problem(&e) {
        let mut page = get(&clients.lax, &https)
            .await
            .unwrap_or_else(|e| Fetched::failed(describe(&e)));
        page.certificate = Some(why);
        return page;
    }
    let https_error = describe(&e);
    match get(&clients.lax, &url("http", domain, s.http_port, 80)).await {
        Ok(mut page) => {
            page.https_error = Some(https_error);
            page
        }
        Err(e) => Fetched::failed(format!("HTTPS: {https_error}; HTTP: {}", describe(&e))),
    }
}

fn url(scheme: &str, domain: &str, port: u16, default: u16) -> String {
    if port == default {
        format!("{scheme}://{domain}/")
    } else {
        format!("{scheme}://{domain}:{port}/")
    }
}

/// One `GET`, reading the body only as far as its title.
async fn get(client: &reqwest::Client, url: &str) -> Result<Fetched, reqwest::Error> {
    let mut resp = client.get(url).send().await?;
    let status = resp.status();
    let scheme = resp.url().scheme().to_owned();
    let location = status
        .is_redirection()
        .then(|| resp.headers().get(reqwest::header::LOCATION))
        .flatten()
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    while body.len() < MAX_BODY {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            // A page cut short still has the title read so far.
            Ok(None) | Err(_) => break,
        }
        if memchr::memmem::find(&body.to_ascii_lowercase(), b"</title").is_some() {
            break;
        }
    }
    let title = location
        .is_none()
        .then(|| title_of(&String::from_utf8_lossy(&body)))
        .flatten();
    Ok(Fetched {
        scheme: Some(scheme),
        status: Some(status.as_u16()),
        title,
        location,
        ..Fetched::default()
    })
}

/// The certificate refusal behind `e`, said for a reader, when that is why it failed.
fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(c) = rustls_error(e)? else {
        return None;
    };
    Some(match c {
        C::UnknownIssuer => "not signed by a trusted authority (self-signed?)".to_owned(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "issued for another name".to_owned()
        }
        C::Expired | C::ExpiredContext { .. } => "expired".to_owned(),
        other => format!("{other:?}"),
    })
}

/// The rustls error somewhere in `e`'s causes (I/O errors nest it, sometimes twice).
fn rustls_error(e: &reqwest::Error) -> Option<&rustls::Error> {
    fn within<'a>(c: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
        if let Some(r) = c.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        let inner = c.downcast_ref::<std::io::Error>()?.get_ref()?;
        within(inner)
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(r) = within(c) {
            return Some(r);
        }
        cause = c.source();
    }
    None
}

/// `e` for a reader: what failed, in the innermost words.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_owned();
    }
    if let Some(r) = rustls_error(e) {
        return format!("TLS: {r}");
    }
    let mut last = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        last = c.to_string();
        cause = c.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A TLS server on loopback with a self-signed certificate for `name`, answering
    /// one request with a page.
    async fn self_signed_server(name: &str) -> SocketAddr {
        let cert = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        let key = rustls_pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((stream, _)) = listener.accept().await {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    continue;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let page = "<title>Hi</title>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_self_signed_certificate_is_reported_and_the_page_read_anyway() {
        let addr = self_signed_server("shop.example").await;
        let settings = HttpSettings {
            https_port: addr.port(),
            http_port: 1,
            timeout: Duration::from_secs(5),
            concurrency: 1,
        };
        let target = SiteTarget {
            domain: "shop.example".into(),
            destination: Ok(addr.ip()),
            source: Err("not asked".into()),
            source_dedicated: false,
        };
        let answers = fetch_sites(&[target], &settings).await.unwrap();
        let dest = &answers[0].destination;
        assert_eq!(dest.status, Some(200), "{dest:?}");
        assert_eq!(dest.title.as_deref(), Some("Hi"));
        assert!(
            dest.certificate
                .as_deref()
                .is_some_and(|c| c.contains("self-signed")),
            "{dest:?}"
        );
        assert_eq!(answers[0].source.error.as_deref(), Some("not asked"));
    }
}
