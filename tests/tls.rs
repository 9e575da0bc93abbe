//! TLS trust: the simulator served over HTTPS with generated certificates, and the
//! client's four modes against it.

use crate::support::{SimContext, client_for, world};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use sha2::{Digest, Sha256};
use whm_migrate::sim::{SimOptions, TlsOptions};
use whm_migrate::whm::{TlsMode, WhmError};

/// A certificate like WHM's default: self-signed and marked `CA:TRUE`.
fn whm_style_cert() -> (String, String) {
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A private CA and a server certificate it signed: (ca pem, leaf pem, leaf key pem).
fn ca_and_leaf() -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    (ca_cert.pem(), leaf.pem(), leaf_key.serialize_pem())
}

async fn serve(cert_pem: &str, key_pem: &str) -> SimContext {
    let tls = TlsOptions::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    SimContext::with(
        world("basic"),
        SimOptions {
            tls: Some(tls),
            ..SimOptions::default()
        },
    )
    .await
}

fn fingerprint(pem: &str) -> [u8; 32] {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    Sha256::digest(der.as_ref()).into()
}

#[tokio::test]
async fn a_whm_style_self_signed_certificate_is_refused_by_default_and_pinnable() {
    let (cert, key) = whm_style_cert();
    let cx = serve(&cert, &key).await;
    let url = cx.sim.base_url();
    assert!(url.starts_with("https://"), "{url}");

    // System roots refuse it, and the error explains the three ways to trust it,
    // naming the fingerprint to pin.
    let err = client_for(&url, TlsMode::SystemRoots)
        .get_featurelists()
        .await
        .unwrap_err();
    let WhmError::Tls { help, .. } = &err else {
        panic!("expected a TLS error, got {err:?}")
    };
    let pin = whm_migrate::whm::tls::fingerprint(&fingerprint(&cert));
    assert!(help.contains("ca_file"), "{help}");
    assert!(help.contains(&format!("pin_sha256 = \"{pin}\"")), "{help}");
    assert!(help.contains("insecure = true"), "{help}");

    // Even as its own CA file, rustls refuses a CA certificate used as a server's.
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("whm.pem");
    std::fs::write(&ca_path, &cert).unwrap();
    let err = client_for(&url, TlsMode::CaFile(ca_path))
        .get_featurelists()
        .await
        .unwrap_err();
    let WhmError::Tls { help, .. } = &err else {
        panic!("expected a TLS error, got {err:?}")
    };
    assert!(help.contains("so pin it"), "{help}");

    // Pinning its fingerprint works; a wrong pin does not.
    let pinned = client_for(&url, TlsMode::Pinned(fingerprint(&cert)));
    assert!(pinned.warnings().is_empty());
    assert!(!pinned.get_featurelists().await.unwrap().is_empty());
    let err = client_for(&url, TlsMode::Pinned([7; 32]))
        .get_featurelists()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not the pinned"), "{err}");

    // Insecure connects, and is never silent.
    let insecure = client_for(&url, TlsMode::Insecure);
    assert!(
        insecure
            .warnings()
            .iter()
            .any(|w| w.contains("TLS certificate checks are OFF"))
    );
    assert!(!insecure.get_featurelists().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_ca_file_trusts_the_certificates_its_ca_signed() {
    let (ca, leaf, key) = ca_and_leaf();
    let cx = serve(&leaf, &key).await;
    let url = cx.sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca).unwrap();
    let client = client_for(&url, TlsMode::CaFile(ca_path));
    assert!(client.warnings().is_empty());
    assert!(!client.get_featurelists().await.unwrap().is_empty());
    // System roots still refuse a private CA.
    let err = client_for(&url, TlsMode::SystemRoots)
        .get_featurelists()
        .await
        .unwrap_err();
    assert!(matches!(err, WhmError::Tls { .. }), "{err:?}");
}

#[test]
fn an_unreadable_ca_file_is_a_configuration_error() {
    let err = whm_migrate::whm::WhmClient::new(whm_migrate::whm::ClientOptions {
        base_url: "https://127.0.0.1:2087".into(),
        user: "root".into(),
        token: "t".into(),
        tls: TlsMode::CaFile("/nonexistent/ca.pem".into()),
        timeouts: whm_migrate::whm::Timeouts::default(),
        retry: whm_migrate::whm::RetryPolicy::default(),
    })
    .unwrap_err();
    assert!(matches!(err, WhmError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/ca.pem"));
}
