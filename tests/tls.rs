//! TLS trust: the simulator served over HTTPS with generated certificates, and the
//! client's four modes against it.

use crate::support::{SimContext, client_for, world};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use sha2::{Digest, Sha256};
use whm_migrate::sim::{SimOptions, TlsOptions};
use whm_migrate::whm::{TlsMode, WhmError};

/// A certificate like WHM's default: self-signed and marked `CA:TRUE`.
fn whm_style_cert() -> (String, String) {
    whm_style_cert_with(&["localhost", "127.0.0.1"], None)
}

/// A self-signed `CA:TRUE` certificate for `names`, valid over `years` when given
/// (rcgen's default otherwise: 1975 to 4096).
fn whm_style_cert_with(names: &[&str], years: Option<(i32, i32)>) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    if let Some((from, to)) = years {
        params.not_before = rcgen::date_time_ymd(from, 1, 1);
        params.not_after = rcgen::date_time_ymd(to, 1, 1);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// What an admin saves from `openssl s_client -connect HOST:2087 -showcerts`: the
/// certificate among the tool's own lines.
fn as_s_client_prints(pem: &str) -> String {
    format!(
        "CONNECTED(00000003)\ndepth=0 CN = rcgen self signed cert\n---\nCertificate chain\n 0 s:CN = rcgen self signed cert\n   i:CN = rcgen self signed cert\n{pem}---\nServer certificate\nsubject=CN = rcgen self signed cert\n---\n"
    )
}

/// Writes `pem` as a CA file in `dir`.
fn ca_file(dir: &tempfile::TempDir, name: &str, pem: &str) -> TlsMode {
    let path = dir.path().join(name);
    std::fs::write(&path, pem).unwrap();
    TlsMode::CaFile(path)
}

/// The TLS error a client in `mode` gets from `url`: (detail, help).
async fn refusal(url: &str, mode: TlsMode) -> (String, String) {
    let err = client_for(url, mode).get_featurelists().await.unwrap_err();
    match err {
        WhmError::Tls { detail, help, .. } => (detail, help),
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

/// A private CA and a server certificate it signed: (ca pem, leaf pem, leaf key pem).
fn ca_and_leaf() -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    // Its own name: rcgen's default would equal the leaf's.
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "whm-migrate test CA");
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

    // The help says to check a fingerprint out of band, not to trust what was presented.
    assert!(help.contains("over a channel you already trust"), "{help}");
    assert!(
        help.contains("openssl x509 -noout -fingerprint -sha256"),
        "{help}"
    );
    assert!(
        help.contains("give that very certificate as ca_file"),
        "{help}"
    );

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

#[tokio::test]
async fn a_ca_file_holding_the_servers_own_ca_true_certificate_trusts_it_like_curl() {
    let (cert, key) = whm_style_cert();
    let cx = serve(&cert, &key).await;
    let url = cx.sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    // The file as saved from `openssl s_client -showcerts`, the tool's lines and all.
    let client = client_for(&url, ca_file(&dir, "whm.pem", &as_s_client_prints(&cert)));
    assert!(client.warnings().is_empty());
    assert!(!client.get_featurelists().await.unwrap().is_empty());
    // A CA file holding an ordinary CA beside it still trusts it.
    let (other_ca, _, _) = ca_and_leaf();
    let both = format!("{other_ca}{cert}");
    let client = client_for(&url, ca_file(&dir, "both.pem", &both));
    assert!(!client.get_featurelists().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_different_ca_true_certificate_in_the_ca_file_is_refused() {
    let (cert, key) = whm_style_cert();
    let cx = serve(&cert, &key).await;
    let url = cx.sim.base_url();
    // Same names, same shape, another key: what a renewed (or impostor) server shows.
    let (other, _) = whm_style_cert();
    let dir = tempfile::tempdir().unwrap();
    let mode = ca_file(&dir, "old.pem", &other);
    let (detail, help) = refusal(&url, mode).await;
    assert!(detail.contains("CaUsedAsEndEntity"), "{detail}");
    let pin = whm_migrate::whm::tls::fingerprint(&fingerprint(&cert));
    assert!(help.contains(&format!("pin_sha256 = \"{pin}\"")), "{help}");
    assert!(help.contains("compare first"), "{help}");
    assert!(help.contains("over a channel you already trust"), "{help}");
    assert!(help.contains("neither in"), "{help}");
    assert!(help.contains("old.pem"), "{help}");
}

#[tokio::test]
async fn the_servers_own_certificate_in_the_ca_file_must_still_name_the_server() {
    let (cert, key) = whm_style_cert_with(&["whm.example.com"], None);
    let cx = serve(&cert, &key).await;
    let url = cx.sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let (detail, _) = refusal(&url, ca_file(&dir, "whm.pem", &cert)).await;
    assert!(detail.contains("not valid for name"), "{detail}");
    assert!(detail.contains("whm.example.com"), "{detail}");
}

#[tokio::test]
async fn the_servers_own_certificate_in_the_ca_file_must_be_within_its_dates() {
    let (cert, key) = whm_style_cert_with(&["localhost", "127.0.0.1"], Some((2001, 2002)));
    let cx = serve(&cert, &key).await;
    let url = cx.sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let (detail, _) = refusal(&url, ca_file(&dir, "whm.pem", &cert)).await;
    assert!(detail.contains("expired"), "{detail}");
}

#[tokio::test]
async fn a_ca_file_holding_only_the_servers_leaf_trusts_it() {
    // A leaf whose CA the admin does not have: curl takes the leaf alone as --cacert.
    let (_, leaf, key) = ca_and_leaf();
    let cx = serve(&leaf, &key).await;
    let url = cx.sim.base_url();
    let dir = tempfile::tempdir().unwrap();
    let client = client_for(&url, ca_file(&dir, "leaf.pem", &leaf));
    assert!(!client.get_featurelists().await.unwrap().is_empty());
    // Another CA's certificate alone is not enough, even under the same name.
    let (other_ca, _, _) = ca_and_leaf();
    let (detail, help) = refusal(&url, ca_file(&dir, "other.pem", &other_ca)).await;
    assert!(detail.contains("BadSignature"), "{detail}");
    assert!(help.contains("neither in"), "{help}");
}
