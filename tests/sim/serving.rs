//! How the simulator serves: HTTPS with a given certificate, a state file across
//! restarts, and the example worlds.

use super::{TOKEN, basic_world, http_client, reason, slow, start};
use crate::support::tls_config;
use serde_json::Value;
use whm_migrate::sim::{SimOptions, Simulator, TlsOptions, World};

#[tokio::test]
async fn tls_serves_https_with_the_given_certificate() {
    let ck = rcgen::generate_simple_self_signed(vec!["sim.test".to_owned()]).expect("cert");
    let tls = TlsOptions::from_pem(
        ck.cert.pem().as_bytes(),
        ck.signing_key.serialize_pem().as_bytes(),
    )
    .expect("PEM");
    let h = Simulator::start(
        basic_world(),
        SimOptions {
            tls: Some(tls),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(h.base_url().starts_with("https://"));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(roots))
        .resolve("sim.test", h.addr())
        .build()
        .unwrap();
    let url = format!(
        "https://sim.test:{}/json-api/get_featurelists?api.version=1",
        h.addr().port()
    );
    let resp = http
        .get(&url)
        .header("Authorization", format!("whm root:{TOKEN}"))
        .send()
        .await
        .expect("TLS request");
    let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(v["data"]["featurelists"][0], "default");
    let plain = http_client()
        .use_preconfigured_tls(tls_config(rustls::RootCertStore::empty()))
        .build()
        .unwrap()
        .get(url.replace("https://sim.test", "http://127.0.0.1"))
        .send()
        .await;
    assert!(
        !matches!(plain, Ok(r) if r.status() == 200),
        "plain HTTP is not served on the TLS port"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn state_file_keeps_world_and_sessions_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SimOptions {
        state_file: Some(dir.path().join("sim-state.json")),
        ..slow()
    };
    let (h, api) = start(basic_world(), opts.clone()).await;
    let done = api.create_root().await;
    api.enqueue_account(&done, "bob").await;
    api.call("start_transfer_session", &[("transfer_session_id", &done)])
        .await;
    api.wait_state(&done, "COMPLETED").await;
    let running = api.create_root().await;
    for u in ["alice", "carol"] {
        api.enqueue_account(&running, u).await;
    }
    api.call(
        "start_transfer_session",
        &[("transfer_session_id", &running)],
    )
    .await;
    let last = h.shutdown().await;
    assert!(last.world.destination.account("bob").is_some());
    assert!(dir.path().join("sim-state.json").exists());

    let (h, api) = start(World::default(), opts).await;
    assert!(
        h.world().destination.account("bob").is_some(),
        "world loaded from the state file"
    );
    assert_eq!(api.state(&done).await, "COMPLETED");
    api.wait_state(&running, "COMPLETED").await;
    assert!(
        h.world().destination.account("alice").is_some(),
        "the running session continued"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn example_worlds_load() {
    let w = World::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/worlds/two-sources.toml"
    ))
    .unwrap();
    assert_eq!(w.sources.len(), 2);
    let (h, api) = start(w, SimOptions::default()).await;
    let old = api
        .call(
            "create_remote_root_transfer_session",
            &[("host", "ancient.example.net"), ("password", "rootpw")],
        )
        .await;
    assert!(reason(&old).starts_with(
        "The remote server does not appear to be running a supported version of cPanel."
    ));
    let su = api
        .call(
            "remote_basic_credential_check",
            &[
                ("host", "old1.example.net"),
                ("user", "admin"),
                ("password", "adminpw"),
                ("root_escalation_method", "su"),
                ("root_password", "s3cret"),
            ],
        )
        .await;
    assert_eq!(su["data"]["escalation_method_used"], "su");
    h.shutdown().await;
}

/// The simulator's own endpoints want its API token, and its world never shows a
/// password (issue 20 item 10).
#[tokio::test]
async fn the_admin_endpoints_need_the_token_and_never_show_a_password() {
    let (h, api) = start(basic_world(), SimOptions::default()).await;
    let plain = &api.http;
    for (path, post) in [("stats", false), ("world", false), ("faults", true)] {
        let url = format!("{}/__sim/{path}", h.base_url());
        let req = if post {
            plain
                .post(&url)
                .header("Content-Type", "application/json")
                .body("{}")
        } else {
            plain.get(&url)
        };
        let status = req.send().await.unwrap().status();
        assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{path}");
        let wrong = plain
            .get(format!("{}/__sim/stats", h.base_url()))
            .header("Authorization", "whm root:not-the-token")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(wrong, reqwest::StatusCode::UNAUTHORIZED);
    }
    let world = api.admin.world_text().await;
    let credentials = &basic_world()
        .sources
        .values()
        .next()
        .unwrap()
        .credentials
        .clone();
    assert!(!world.contains(&credentials.root_password), "{world}");
    assert!(world.contains("\"root_password\":\"***\""), "{world}");
}
