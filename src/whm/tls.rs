//! TLS trust for the destination WHM server, on rustls with four modes.
//!
//! WHM usually serves a self-signed certificate marked `CA:TRUE`. rustls refuses such a
//! certificate as a server's own even when it is the trusted root (reqwest#2041), so
//! besides system roots and a CA file we offer SHA-256 pinning of the leaf, and an
//! `insecure` mode that the caller must announce on every run.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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
            webpki(roots, &provider, seen)?
        }
        TlsMode::CaFile(path) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("unusable certificate in {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "the CA file {} holds no PEM certificate",
                    path.display()
                ));
            }
            webpki(roots, &provider, seen)?
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
    provider: &Arc<CryptoProvider>,
    seen: &SeenCertificate,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    Ok(Arc::new(Recording {
        inner,
        seen: seen.clone(),
    }))
}

/// The standard verifier, remembering what the server presented.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
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
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
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

/// The `help:` text for a failed handshake: the three ways to trust the server, with
/// its fingerprint when the handshake got that far.
pub fn trust_help(mode: &TlsMode, seen: Option<[u8; 32]>, detail: &str) -> String {
    let pin_line = seen.map_or_else(
        || {
            "pin its certificate: pin_sha256 = \"…\" (from `openssl s_client -connect HOST:2087 | openssl x509 -noout -fingerprint -sha256`)".to_owned()
        },
        |d| format!("pin its certificate: pin_sha256 = \"{}\"", fingerprint(&d)),
    );
    let ca_hint = if detail.contains("CaUsedAsEndEntity") {
        "\nnote: this is a self-signed CA certificate used as the server's own (WHM's default); rustls refuses it even from a CA file, so pin it"
    } else {
        ""
    };
    match mode {
        TlsMode::Pinned(_) => format!(
            "the certificate changed or the pin is wrong; if the new certificate is expected, {pin_line}"
        ),
        _ => format!(
            "trust the destination in [destination] by one of:\n  1. ca_file = \"PATH\": the PEM of the CA that signed its certificate\n  2. {pin_line}\n  3. insecure = true: accept any certificate (warned on every run; not for production){ca_hint}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{fingerprint, parse_pin};

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
