//! TLS trust for the destination WHM server, on rustls with four modes.
//!
//! WHM usually serves a self-signed certificate marked `CA:TRUE`. Admins save it (for
//! example with `openssl s_client -showcerts`) and give it to curl as `--cacert`, which
//! accepts it. rustls alone refuses such a certificate as a server's own even when it is
//! the trusted root (reqwest#2041), so a CA file also trusts, like curl and OpenSSL do,
//! a server certificate it holds byte for byte, still checking its name and dates. Besides
//! system roots and a CA file we offer SHA-256 pinning of the leaf, and an `insecure`
//! mode that the caller must announce on every run.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the client decides to trust the server's certificate.
#[derive(Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// The operating system's trust store (with Mozilla's roots as a fallback).
    SystemRoots,
    /// Trust the CA certificates in this PEM file (and nothing else).
    CaFile(PathBuf),
    /// Trust exactly the leaf certificate with this SHA-256 fingerprint.
    Pinned([u8; 32]),
    /// Accept any certificate. Never silent: callers must warn on every run.
    Insecure,
}

impl fmt::Debug for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SystemRoots => f.write_str("SystemRoots"),
            Self::CaFile(p) => f.debug_tuple("CaFile").field(p).finish(),
            Self::Pinned(pin) => write!(f, "Pinned({})", fingerprint(pin)),
            Self::Insecure => f.write_str("Insecure"),
        }
    }
}

/// Parses a SHA-256 fingerprint written as 64 hex digits, with or without colons
/// (the form `openssl x509 -fingerprint -sha256` prints).
pub fn parse_pin(text: &str) -> Result<[u8; 32], String> {
    let hex_digits: String = text
        .trim()
        .trim_start_matches("sha256:")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    let bytes = hex::decode(&hex_digits).map_err(|e| format!("not hexadecimal: {e}"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("{} bytes, a SHA-256 fingerprint has 32", b.len()))
}

/// Formats a fingerprint as colon-separated upper-case hex, as OpenSSL prints it.
pub fn fingerprint(digest: &[u8]) -> String {
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The fingerprint of the last certificate the server presented, kept so a failed
/// handshake can tell the user exactly what to pin.
#[derive(Debug, Clone, Default)]
pub struct SeenCertificate(Arc<Mutex<Option<[u8; 32]>>>);

impl SeenCertificate {
    /// The SHA-256 of the last leaf certificate presented, if any.
    pub fn get(&self) -> Option<[u8; 32]> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self, cert: &CertificateDer<'_>) {
        let digest: [u8; 32] = Sha256::digest(cert.as_ref()).into();
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(digest);
    }
}

/// Builds the rustls client configuration for `mode`.
pub fn client_config(
    mode: &TlsMode,
    seen: &SeenCertificate,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        TlsMode::SystemRoots => {
            let mut roots = RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                // A broken certificate in the system store must not disable TLS.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            webpki(roots, Vec::new(), &provider, seen)?
        }
        TlsMode::CaFile(path) => {
            let mut roots = RootCertStore::empty();
            let mut own = Vec::new();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
                roots
                    .add(cert.clone())
                    .map_err(|e| format!("unusable certificate in {}: {e}", path.display()))?;
                own.push(cert);
            }
            if roots.is_empty() {
                return Err(format!(
                    "the CA file {} holds no PEM certificate",
                    path.display()
                ));
            }
            webpki(roots, own, &provider, seen)?
        }
        TlsMode::Pinned(pin) => Arc::new(LeafVerifier {
            pin: Some(*pin),
            provider: provider.clone(),
            seen: seen.clone(),
        }),
        TlsMode::Insecure => Arc::new(LeafVerifier {
            pin: None,
            provider: provider.clone(),
            seen: seen.clone(),
        }),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

fn webpki(
    roots: RootCertStore,
    own: Vec<CertificateDer<'static>>,
    provider: &Arc<CryptoProvider>,
    seen: &SeenCertificate,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    Ok(Arc::new(Recording {
        inner,
        own,
        seen: seen.clone(),
    }))
}

/// The standard verifier, remembering what the server presented, and trusting a server
/// certificate the CA file holds byte for byte.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    /// The CA file's certificates (none for system roots).
    own: Vec<CertificateDer<'static>>,
    seen: SeenCertificate,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.seen.record(end_entity);
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            // Only the two refusals a trusted copy of the leaf answers: it is a CA
            // (WHM's default), or its issuer is not in the file (a lone leaf).
            Err(e)
                if (is_ca_used_as_end_entity(&e) || is_unknown_issuer(&e))
                    && self.own.iter().any(|c| c.as_ref() == end_entity.as_ref()) =>
            {
                check_own_certificate(end_entity, server_name, now)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Checks a server certificate trusted for its exact bytes (the CA file holds it) for
/// what the chain check would have checked besides its issuer: its encoding, the server
/// name, its dates and, when it limits its purposes, that serving TLS is one of them.
fn check_own_certificate(
    der: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let parsed = ParsedCertificate::try_from(der)?;
    verify_server_name(&parsed, server_name)?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|_| CertificateError::BadEncoding)?;
    let validity = cert.validity();
    let time = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let unix = |t: i64| UnixTime::since_unix_epoch(Duration::from_secs(t.max(0).unsigned_abs()));
    let not_before = validity.not_before.timestamp();
    if time < not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before: unix(not_before),
        }
        .into());
    }
    let not_after = validity.not_after.timestamp();
    if time > not_after {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after: unix(not_after),
        }
        .into());
    }
    match cert.extended_key_usage() {
        Ok(None) => Ok(()),
        Ok(Some(eku)) if eku.value.any || eku.value.server_auth => Ok(()),
        Ok(Some(_)) => Err(CertificateError::InvalidPurpose.into()),
        Err(_) => Err(CertificateError::BadEncoding.into()),
    }
}

fn is_unknown_issuer(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    )
}

/// rustls passes this webpki refusal on only as an opaque "other" error.
fn is_ca_used_as_end_entity(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::CaUsedAsEndEntity)
            )
    )
}

/// Checks only the leaf certificate: against a pinned SHA-256 fingerprint, or not at
/// all (insecure mode). The handshake signatures are still verified either way, so the
/// server must hold the presented certificate's private key.
#[derive(Debug)]
struct LeafVerifier {
    /// `None` accepts any certificate.
    pin: Option<[u8; 32]>,
    provider: Arc<CryptoProvider>,
    seen: SeenCertificate,
}

impl ServerCertVerifier for LeafVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.seen.record(end_entity);
        let Some(pin) = self.pin else {
            return Ok(ServerCertVerified::assertion());
        };
        let digest: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if digest == pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server's certificate has SHA-256 fingerprint {}, not the pinned {}",
                fingerprint(&digest),
                fingerprint(&pin)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// How to check a certificate before trusting it: against a fingerprint read over a
/// channel already trusted, never against what the server just presented.
const CHECK_OUT_OF_BAND: &str = "before trusting a certificate by 1 or 2, compare its SHA-256 fingerprint with one read over a channel you already trust, never only with what the server presented: on the WHM server (over SSH), `openssl x509 -noout -fingerprint -sha256 -in /var/cpanel/ssl/cpanel/cpanel.pem`; for a saved file, `openssl x509 -noout -fingerprint -sha256 -in FILE`";

/// The `help:` text for a failed handshake: the three ways to trust the server, with
/// the fingerprint it presented when the handshake got that far, and how to check that
/// fingerprint first.
pub fn trust_help(mode: &TlsMode, seen: Option<[u8; 32]>, error: &rustls::Error) -> String {
    let pin_line = seen.map_or_else(
        || "pin its certificate: pin_sha256 = \"…\" (its fingerprint, as `openssl x509 -noout -fingerprint -sha256` prints it)".to_owned(),
        |d| {
            format!(
                "pin its certificate: pin_sha256 = \"{}\" (what it presented: compare first, see below)",
                fingerprint(&d)
            )
        },
    );
    let self_signed = is_ca_used_as_end_entity(error);
    let note = match mode {
        TlsMode::SystemRoots if self_signed => "\nnote: the server presents a self-signed CA certificate as its own (WHM's default), which system roots never trust: check it, then give that very certificate as ca_file or pin it".to_owned(),
        TlsMode::CaFile(path)
            if self_signed
                || is_unknown_issuer(error)
                || *error == rustls::Error::InvalidCertificate(CertificateError::BadSignature) =>
        {
            format!(
            "\nnote: the server's certificate is neither in {} nor signed by a CA in it; if WHM's certificate was renewed, check the new one before replacing the file",
            path.display()
            )
        }
        _ => String::new(),
    };
    match mode {
        TlsMode::Pinned(_) => format!(
            "the certificate changed or the pin is wrong; if a new certificate is expected, {pin_line}\n{}",
            CHECK_OUT_OF_BAND.replacen("by 1 or 2", "by its pin", 1)
        ),
        _ => format!(
            "trust the destination in [destination] by one of:\n  1. ca_file = \"PATH\": a PEM file with the CA that signed its certificate, or with its own certificate (WHM's self-signed one, as `openssl s_client -connect HOST:2087 -showcerts` prints it)\n  2. {pin_line}\n  3. insecure = true: accept any certificate (warned on every run; not for production)\n{CHECK_OUT_OF_BAND}{note}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{check_own_certificate, fingerprint, parse_pin};
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
    use rustls::CertificateError;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use std::time::Duration;

    /// A self-signed `CA:TRUE` certificate for `whm.example.com`, valid in 2030 only.
    fn own_certificate(eku: Vec<ExtendedKeyUsagePurpose>) -> CertificateDer<'static> {
        let mut params = CertificateParams::new(vec!["whm.example.com".to_owned()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_before = rcgen::date_time_ymd(2030, 1, 1);
        params.not_after = rcgen::date_time_ymd(2031, 1, 1);
        params.extended_key_usages = eku;
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    /// `days` after 2030-01-01T00:00:00Z.
    fn at(days: i64) -> UnixTime {
        let secs = 1_893_456_000 + days * 86_400;
        UnixTime::since_unix_epoch(Duration::from_secs(secs.unsigned_abs()))
    }

    fn refusal(der: &CertificateDer<'_>, name: &str, now: UnixTime) -> Option<CertificateError> {
        let name = ServerName::try_from(name.to_owned()).unwrap();
        match check_own_certificate(der, &name, now) {
            Ok(()) => None,
            Err(rustls::Error::InvalidCertificate(e)) => Some(e),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_certificate_trusted_for_its_bytes_still_needs_its_name_dates_and_purpose() {
        let cert = own_certificate(Vec::new());
        assert_eq!(refusal(&cert, "whm.example.com", at(100)), None);
        assert!(matches!(
            refusal(&cert, "other.example.com", at(100)),
            Some(CertificateError::NotValidForNameContext { .. })
        ));
        assert!(matches!(
            refusal(&cert, "whm.example.com", at(-1)),
            Some(CertificateError::NotValidYetContext { .. })
        ));
        assert!(matches!(
            refusal(&cert, "whm.example.com", at(400)),
            Some(CertificateError::ExpiredContext { .. })
        ));
        let server = own_certificate(vec![ExtendedKeyUsagePurpose::ServerAuth]);
        assert_eq!(refusal(&server, "whm.example.com", at(100)), None);
        let client_only = own_certificate(vec![ExtendedKeyUsagePurpose::ClientAuth]);
        assert_eq!(
            refusal(&client_only, "whm.example.com", at(100)),
            Some(CertificateError::InvalidPurpose)
        );
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        assert!(refusal(&garbage, "whm.example.com", at(100)).is_some());
    }

    #[test]
    fn pins_parse_with_or_without_colons() {
        let hex = "AB".repeat(32);
        let colons = vec!["ab"; 32].join(":");
        assert_eq!(parse_pin(&hex).unwrap(), [0xAB; 32]);
        assert_eq!(parse_pin(&colons).unwrap(), [0xAB; 32]);
        assert!(parse_pin("abcd").unwrap_err().contains("2 bytes"));
        assert!(parse_pin("zz").is_err());
        assert_eq!(fingerprint(&[1, 255]), "01:FF");
    }
}
