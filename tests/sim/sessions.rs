//! Creating transfer sessions: credentials, hosts, escalation, and the analysis.

use super::{basic_world, ok, reason, start};
use serde_json::json;
use whm_migrate::sim::SimOptions;

#[tokio::test]
async fn session_creation_checks_credentials_and_analysis() {
    let (h, api) = start(basic_world(), SimOptions::default()).await;
    let create = |p: &'static [(&'static str, &'static str)]| {
        api.call("create_remote_root_transfer_session", p)
    };
    let wrong = create(&[
        ("host", "src.example.com"),
        ("user", "root"),
        ("password", "nope"),
    ])
    .await;
    assert!(
        !ok(&wrong)
            && reason(&wrong)
                .starts_with("The remote basic credential check failed due to an error (")
    );
    assert_eq!(
        reason(&create(&[("user", "root")]).await),
        "You must specify a source host."
    );
    let unknown = create(&[("host", "nowhere.example"), ("password", "x")]).await;
    assert_eq!(
        reason(&unknown),
        "The system was unable to resolve the host, “nowhere.example”, to an IP address."
    );
    let local = create(&[("host", "dest.example.com"), ("password", "x")]).await;
    assert!(reason(&local).contains("resolves to the local server"));
    let transport = create(&[
        ("host", "src.example.com"),
        ("password", "rootpw"),
        ("comm_transport", "ftp"),
    ])
    .await;
    assert_eq!(reason(&transport), "Invalid “comm_transport” (ftp).");
    let unpriv = create(&[
        ("host", "src.example.com"),
        ("user", "admin"),
        ("password", "x"),
    ])
    .await;
    assert_eq!(
        reason(&unpriv),
        "You must provide the “root_escalation_method” argument to connect as an unprivileged user."
    );
    assert_eq!(
        reason(&create(&[("host", "src.example.com"), ("user", "root")]).await),
        "You must provide the “sshkey_name” or “password” argument."
    );
    let by_key = create(&[
        ("host", "198.51.100.7"),
        ("user", "root"),
        ("sshkey_name", "transfer-key"),
    ])
    .await;
    assert!(ok(&by_key), "{by_key}");

    let check = api
        .call(
            "remote_basic_credential_check",
            &[
                ("host", "src.example.com"),
                ("user", "root"),
                ("password", "rootpw"),
            ],
        )
        .await;
    assert_eq!(reason(&check), "Success");
    assert!(check["data"]["output"].is_string());

    let id = api.create_root().await;
    assert_eq!(id.len(), 36);
    assert!(id.starts_with("srcexamplecomcopya20"), "{id}");
    assert_eq!(api.state(&id).await, "PENDING");
    let analysis = api
        .call(
            "retrieve_transfer_session_remote_analysis",
            &[("transfer_session_id", &id)],
        )
        .await;
    let d = &analysis["data"];
    assert_eq!(d["transfer_session_id"], id.as_str());
    let domains: Vec<&str> = d["items"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["domain"].as_str().unwrap())
        .collect();
    assert_eq!(
        domains,
        [
            "alice.example",
            "bob.example",
            "carol.example",
            "taken.example"
        ]
    );
    assert_eq!(d["items"]["accounts"][0]["bytesused"], 10_000_000_000_u64);
    assert_eq!(
        d["items"]["packages"],
        json!([{"name": "gold", "featurelist": "gold features"}])
    );
    assert_eq!(d["local"]["users"]["taken"], 1);
    assert_eq!(d["local"]["domains"]["taken.example"], "taken");
    assert_eq!(
        d["local"]["dbs"]["dbs"]["MYSQL"]["taken_db"]["owner"],
        "taken"
    );
    assert_eq!(d["local"]["available_ips"], json!(["192.0.2.50"]));
    assert_eq!(
        (
            d["local"]["version"].as_str(),
            d["local"]["major_version"].as_str()
        ),
        (Some("11.120.0.16"), Some("11.120"))
    );
    assert_eq!(d["remote"]["resellers"], json!({"root": 1, "res1": 1}));
    assert_eq!(
        d["remote"]["dbs"]["dbs"]["MYSQL"]["alice_wp"]["owner"],
        "alice"
    );
    assert_eq!(
        d["modules"]["Exim"]["warning"],
        "The remote Exim configuration differs from the local one."
    );
    assert!(ok(&api
        .call(
            "analyze_transfer_session_remote",
            &[("transfer_session_id", &id)]
        )
        .await));

    let u = api
        .call(
            "create_remote_user_transfer_session",
            &[("host", "src.example.com"), ("password", "alicepw")],
        )
        .await;
    let uid = u["data"]["transfer_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(uid.starts_with("srcexamplecomnoroo"));
    let bad_type = api
        .call(
            "retrieve_transfer_session_remote_analysis",
            &[("transfer_session_id", &uid)],
        )
        .await;
    assert!(reason(&bad_type).starts_with("The supplied session ID has an invalid session type."));
    let no_pw = api
        .call(
            "create_remote_user_transfer_session",
            &[("host", "src.example.com")],
        )
        .await;
    assert_eq!(reason(&no_pw), "You must specify a “password” argument.");
    let no_id = api
        .call("retrieve_transfer_session_remote_analysis", &[])
        .await;
    assert_eq!(
        reason(&no_id),
        "A valid transfer_session_id is required to analyze a remote transfer source."
    );
    assert_eq!(h.stats().sessions_created, 3);
    h.shutdown().await;
}
