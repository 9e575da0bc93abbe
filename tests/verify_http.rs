//! `whm-migrate verify --http` (issue 21, item 2) against the simulator's web
//! listeners: each account's sites fetched from the destination's IP and from the
//! source over real HTTP and TLS, a broken restore answering 500, a self-signed site.

use crate::support::apply_world::apply_manifest;
use crate::support::{Case, SimContext, calls, world};
use crate::verify::{item, json};
use serde_json::Value;
use whm_migrate::sim::{SimOptions, Site, WebOptions, World};

const NAME: &str = "verify-http-test";

/// The verify world on loopback addresses: the destination's shared IP 127.0.0.1, the
/// source 127.0.0.2 (Linux routes all of 127/8 to loopback); alice's site serves HTTPS
/// with a self-signed certificate, carol's restore arrives answering 500.
fn web_world() -> World {
    let mut w = world("verify");
    w.destination.shared_ip = "127.0.0.1".into();
    let src = w.sources.get_mut("src.example.com").unwrap();
    src.ip = Some("127.0.0.2".into());
    for a in &mut src.accounts {
        match a.user.as_str() {
            "alice" => {
                a.site = Site {
                    title: Some("Alice's shop & café".into()),
                    https: true,
                    ..Site::default()
                };
            }
            "carol" => a.restore_loses.site_status = Some(500),
            _ => {}
        }
    }
    w
}

async fn start() -> SimContext {
    let opts = SimOptions {
        web: Some(WebOptions::default()),
        ..SimOptions::default()
    };
    SimContext::with(web_world(), opts).await
}

/// Every account of the world, the source reached by its IP, the sites fetched from
/// the simulator's web ports.
fn case(sim: &SimContext) -> Case {
    let ports = sim.sim.web_ports().expect("the simulator serves the sites");
    let accounts = [("alice", ""), ("bob", ""), ("carol", "")];
    let text = apply_manifest(NAME, &sim.sim.base_url(), &accounts)
        .replace("host = \"src.example.com\"", "host = \"127.0.0.2\"");
    Case::new(&format!(
        "{text}\n[verify]\nhttp_port = {}\nhttps_port = {}\nhttp_timeout_seconds = 5\n",
        ports.http, ports.https
    ))
}

/// The `site` checks of an item, by the domain their detail names.
fn sites(item: &Value) -> Vec<(&str, &str)> {
    item["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "site")
        .map(|c| {
            (
                c["outcome"].as_str().unwrap(),
                c["detail"].as_str().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_site_fails_a_good_one_passes_and_a_self_signed_one_is_reported() {
    let sim = start().await;
    let case = case(&sim);
    case.run("apply", &[]).await.assert_code(0);
    // Without --http the sites are not fetched: the 500 goes unseen.
    let plain = json(&case.run("verify", &["--format", "json"]).await);
    assert_eq!(item(&plain, "carol")["verdict"], "ok", "{plain:#}");
    assert!(sites(item(&plain, "carol")).is_empty());

    let before = sim.sim.stats();
    let out = case.run("verify", &["--http", "--format", "json"]).await;
    out.assert_code(3);
    let report = json(&out);
    // carol: the restored site answers 500, the source's 200; both answers named.
    let carol = item(&report, "carol");
    assert_eq!(carol["verdict"], "failed", "{carol:#}");
    let carol_sites = sites(carol);
    assert_eq!(carol_sites.len(), 1, "{carol:#}");
    let (outcome, detail) = carol_sites[0];
    assert_eq!(outcome, "fail");
    assert!(detail.contains("carol.example"), "{detail}");
    assert!(
        detail.contains("destination 500 “carol.example” over HTTP"),
        "{detail}"
    );
    assert!(
        detail.contains("source 200 “carol.example” over HTTP"),
        "{detail}"
    );
    // bob: main and addon domain answer the same from both servers, over plain HTTP
    // (his site has no certificate: the handshake is refused on both).
    let bob = item(&report, "bob");
    assert_eq!(bob["verdict"], "ok", "{bob:#}");
    let bob_sites = sites(bob);
    assert_eq!(bob_sites.len(), 2, "{bob:#}");
    for (outcome, detail) in &bob_sites {
        assert_eq!(*outcome, "pass", "{detail}");
        assert!(detail.contains("200 “bob.example” over HTTP"), "{detail}");
    }
    assert!(
        bob_sites
            .iter()
            .any(|(_, d)| d.starts_with("bobs-blog.example:"))
    );
    // alice: a self-signed certificate on both sides is reported, not fatal; the page
    // behind it (its title decoded) is compared all the same.
    let alice = item(&report, "alice");
    assert_eq!(alice["verdict"], "warning", "{alice:#}");
    let (outcome, detail) = sites(alice)[0];
    assert_eq!(outcome, "warn");
    assert!(detail.contains("certificate not trusted"), "{detail}");
    assert!(
        detail.contains("200 “Alice's shop & café” over HTTPS"),
        "{detail}"
    );
    // The sites cost WHM nothing: the same calls as a verify without --http.
    let after = sim.sim.stats();
    for f in [
        "listaccts",
        "create_remote_root_transfer_session",
        "accountsummary",
    ] {
        let n = calls(&after, f) - calls(&before, f);
        assert!(n <= 1, "{f}: {n}");
    }
    // The text report puts the failure first and names the domain.
    let text = case.run("verify", &["--http"]).await;
    text.assert_code(3);
    let first = text.stdout.lines().next().unwrap_or_default();
    assert!(first.contains("carol"), "{}", text.stdout);
    assert!(text.stdout.contains("carol.example"), "{}", text.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destination_that_does_not_answer_fails_every_site_and_apply_verify_http_says_so() {
    let sim = start().await;
    let case = case(&sim);
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let text = std::fs::read_to_string(&case.manifest).unwrap();
    let ports = sim.sim.web_ports().unwrap();
    std::fs::write(
        &case.manifest,
        text.replace(&format!("http_port = {}", ports.http), "http_port = 1")
            .replace(&format!("https_port = {}", ports.https), "https_port = 1"),
    )
    .unwrap();
    let out = case.run("apply", &["--verify", "--verify-http"]).await;
    out.assert_code(3);
    assert!(out.stdout.contains("does not answer"), "{}", out.stdout);
    let report = json(&case.run("verify", &["--http", "--format", "json"]).await);
    for key in ["alice", "bob", "carol"] {
        let i = item(&report, key);
        assert_eq!(i["verdict"], "failed", "{i:#}");
        assert!(sites(i).iter().all(|(o, _)| *o == "fail"), "{i:#}");
    }
}
