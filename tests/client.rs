//! The WHM client over real loopback HTTP: every documented example decoded by the
//! client's own calls, the request form, and every error class.

use crate::support::{Replay, TOKEN, client_for, fixture};
use whm_migrate::domain::{AccountQuery, PackageFilter, SessionState};
use whm_migrate::whm::{TlsMode, WhmError};

/// Serves `file` as the answer to its function and returns a client.
async fn replay(file: &str) -> (Replay, whm_migrate::whm::WhmClient) {
    let server = Replay::start().await;
    let function = file.split("--").next().unwrap();
    server.answer(function, 200, fixture(file));
    let client = server.client();
    (server, client)
}

#[tokio::test]
async fn every_documented_example_decodes_through_its_client_call() {
    let dir = format!("{}/tests/fixtures/whm-api", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e == "json")
        })
        .collect();
    names.sort();
    assert!(names.len() >= 26, "fixtures missing: {names:?}");
    for name in &names {
        let (_server, c) = replay(name).await;
        let s = "vm5docscpanelcopya20140430200447f69g";
        let function = name.split("--").next().unwrap();
        match function {
            "abort_transfer_session" => c.abort_transfer_session(s).await.unwrap(),
            "pause_transfer_session" => c.pause_transfer_session(s).await.unwrap(),
            "analyze_transfer_session_remote" => {
                c.analyze_transfer_session_remote(s).await.unwrap();
            }
            "accountsummary" => {
                let acct = c.accountsummary("username").await.unwrap().unwrap();
                assert_eq!(acct.domain, "example.com");
                assert_eq!(acct.owner.as_deref(), Some("root"));
            }
            "available_transfer_modules" => {
                let m = c.available_transfer_modules().await.unwrap();
                assert_eq!(m.len(), 6, "{name}");
                assert_eq!(m["FeatureListRemoteRoot"], 1000);
                assert_eq!(m["AccountRemoteRoot"], 3000);
            }
            "create_remote_root_transfer_session" => {
                let request = whm_migrate::domain::RootSessionRequest::default();
                let created = c
                    .create_remote_root_transfer_session(&request)
                    .await
                    .unwrap();
                assert!(
                    created
                        .transfer_session_id
                        .starts_with("vm5docscpanelcopya2014")
                );
                assert!(created.create_rawout.contains("Streaming Supported"));
            }
            "create_remote_user_transfer_session" => {
                let request = whm_migrate::domain::UserSessionRequest {
                    host: "vm5".into(),
                    password: "pw".into(),
                    unrestricted_restore: true,
                };
                let created = c
                    .create_remote_user_transfer_session(&request)
                    .await
                    .unwrap();
                assert_eq!(
                    created.transfer_session_id,
                    "vm5docscpanelnoroo201402251939519hmy"
                );
            }
            "delete_account_archives" => {
                let out = c.delete_account_archives("example", None).await.unwrap();
                assert_eq!(
                    out.messages,
                    ["Found archive: /home/example/example.tar.gz"]
                );
                assert_eq!(out.warnings.len(), 1);
            }
            "enqueue_transfer_item" => {
                c.enqueue_transfer_item(s, "AccountRemoteRoot", &[("user".into(), "bob".into())])
                    .await
                    .unwrap();
            }
            "fetch_transfer_session_log" => {
                let log = c.fetch_transfer_session_log(s, "master.log").await.unwrap();
                assert!(log.lines().count() > 5, "{name}");
                if name == "fetch_transfer_session_log--3.json" {
                    // Printed with `" \n "` between records (REFERENCE §7.2): handed on
                    // untouched, blanks and all; the parser trims them.
                    let printed: serde_json::Value =
                        serde_json::from_slice(&fixture(name)).unwrap();
                    assert_eq!(printed["data"]["log"].as_str(), Some(log.as_str()));
                    let mut records = log.lines().map(str::trim).filter(|l| !l.is_empty());
                    assert!(records.clone().count() > 5, "{name}");
                    assert!(records.all(|l| l.starts_with('{') && l.ends_with('}')));
                } else {
                    assert!(log.lines().all(|l| l.starts_with('{')), "{name}");
                }
            }
            "get_featurelists" => {
                let lists = c.get_featurelists().await.unwrap();
                assert_eq!(
                    lists,
                    ["default", "disabled", "reseller1_test1", "reseller1_test2"]
                );
            }
            "list_pops_for" => {
                let pops = c.list_pops_for("example").await.unwrap();
                assert_eq!(pops, ["example1@example.com"]);
            }
            "get_transfer_session_state" => {
                let state = c.get_transfer_session_state(s).await.unwrap();
                assert_eq!(state, SessionState::TransferInProgress);
                assert!(state.is_active());
            }
            "listpkgs" => {
                let pkgs = c.listpkgs(PackageFilter::All).await.unwrap();
                assert_eq!(pkgs[0].name, "package1");
                assert_eq!(pkgs[0].featurelist.as_deref(), Some("myfeaturelist"));
                assert_eq!(pkgs[0].settings["MAX_TEAM_USERS"], 7);
            }
            "remote_basic_credential_check" => {
                let check = c
                    .remote_basic_credential_check(
                        &whm_migrate::domain::CredentialCheckRequest::default(),
                    )
                    .await
                    .unwrap();
                assert_eq!(check.message, "Success");
                assert_eq!(check.response, "basic credential check\n");
            }
            "restore_modules_summary" => {
                let modules = c.restore_modules_summary().await.unwrap();
                assert_eq!(modules.len(), 63);
                let account = modules.iter().find(|m| m.module == "Account").unwrap();
                assert!(account.restricted_available);
                assert_eq!(account.restricted_summary.len(), 1);
            }
            "retrieve_transfer_session_remote_analysis" => {
                let a = c
                    .retrieve_transfer_session_remote_analysis(s)
                    .await
                    .unwrap();
                assert_eq!(
                    a.transfer_session_id,
                    "exampleservercopya20140206192428NtyW"
                );
                assert_eq!(a.local.users.len(), 5);
                assert!(a.local.dbs.is_none());
                assert!(a.remote.supports_live_transfers);
                assert_eq!(a.remote.version.as_deref(), Some("0"));
                assert!(!a.options.unrestricted);
                assert_eq!(a.options.skip_reseller_privs, None);
                assert!(a.items.accounts.is_empty());
            }
            "start_transfer_session" => {
                assert_eq!(c.start_transfer_session(s).await.unwrap(), Some(90210));
            }
            "transfer_module_schema" => {
                let schema = c.transfer_module_schema("AccountRemoteRoot").await.unwrap();
                assert_eq!(schema.primary, ["user"]);
                assert!(schema.required.contains(&"localuser".to_owned()));
                if name == "transfer_module_schema--1.json" {
                    assert_eq!(schema.keys.len(), 20);
                    assert_eq!(schema.prerequisite.as_deref(), Some("user"));
                } else {
                    assert_eq!(schema.keys.len(), 32);
                    assert_eq!(schema.prerequisite, None);
                    assert_eq!(schema.keys["priority"].def, "int(1) DEFAULT 255");
                }
            }
            "validate_system_user" => {
                let v = c.validate_system_user("bob").await.unwrap();
                assert!(v.exists && v.reserved && v.valid_for_new && v.valid_for_transfer);
            }
            other => panic!("fixture {name} has no decoding test for {other}"),
        }
    }
}

#[tokio::test]
async fn calls_are_posted_forms_with_the_token_in_a_header_only() {
    let (server, c) = replay("create_remote_root_transfer_session--1.json").await;
    let request = whm_migrate::domain::RootSessionRequest {
        login: whm_migrate::domain::SourceLogin {
            host: "old1.example.com".into(),
            user: "root".into(),
            password: Some("PASSWORD-SENTINEL".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    c.create_remote_root_transfer_session(&request)
        .await
        .unwrap();
    let seen = &server.seen()[0];
    assert_eq!(seen.function, "create_remote_root_transfer_session");
    assert_eq!(seen.uri, "/json-api/create_remote_root_transfer_session");
    assert_eq!(
        seen.authorization.as_deref(),
        Some(format!("whm root:{TOKEN}").as_str())
    );
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(seen.body.starts_with("api.version=1&"), "{}", seen.body);
    assert!(seen.body.contains("password=PASSWORD-SENTINEL"));
    assert!(!seen.uri.contains("SENTINEL"));
    assert!(!format!("{c:?}").contains(TOKEN));
}

#[tokio::test]
async fn listaccts_without_data_is_an_empty_list_and_filters_are_sent() {
    let server = Replay::start().await;
    server.answer(
        "listaccts",
        200,
        r#"{"metadata":{"command":"listaccts","reason":"OK","result":1,"version":1}}"#,
    );
    let c = server.client();
    let query = AccountQuery {
        search: Some("bob".into()),
        searchtype: Some("user".into()),
        exact: true,
        want: vec!["user".into(), "domain".into()],
    };
    assert!(c.listaccts(&query).await.unwrap().is_empty());
    let body = &server.seen()[0].body;
    assert!(
        body.contains("search=bob&searchtype=user&searchmethod=exact&want=user%2Cdomain"),
        "{body}"
    );
}

#[tokio::test]
async fn accountsummary_failure_with_empty_data_means_no_such_account() {
    let server = Replay::start().await;
    server.answer(
        "accountsummary",
        200,
        r#"{"data":{"acct":[]},"metadata":{"result":0,"reason":"Account does not exist.","version":1,"command":"accountsummary"}}"#,
    );
    assert!(
        server
            .client()
            .accountsummary("ghost")
            .await
            .unwrap()
            .is_none()
    );
    server.answer(
        "accountsummary",
        200,
        r#"{"metadata":{"result":0,"reason":"API failure: You must specify a user or domain to get a summary of.\n"}}"#,
    );
    let err = server.client().accountsummary("").await.unwrap_err();
    assert_eq!(
        err.api_reason(),
        Some("You must specify a user or domain to get a summary of.")
    );
}

#[tokio::test]
async fn a_refused_enqueue_is_an_error_whatever_its_wording() {
    let server = Replay::start().await;
    server.answer(
        "enqueue_transfer_item",
        200,
        "{\"metadata\":{\"result\":0,\"reason\":\"(XID q7pm3k) An item with a \u{201c}user\u{201d} key value of \u{201c}bob\u{201d} and a type of \u{201c}AccountRemoteRoot\u{201d} already exists in the queue.\"}}",
    );
    // The duplicate's wording is not read (REFERENCE §8): only the caller knows whether
    // an earlier call of its own may have queued the item.
    let err = server
        .client()
        .enqueue_transfer_item("s1", "AccountRemoteRoot", &[("user".into(), "bob".into())])
        .await
        .unwrap_err();
    assert!(err.api_reason().is_some(), "{err:?}");
    assert!(err.server_did_not_act(), "{err:?}");
    // Writes are never retried: exactly one request went out.
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn error_classes_are_told_apart() {
    let server = Replay::start().await;
    let c = server.client();

    server.answer(
        "get_featurelists",
        401,
        "<html><head><title>Login</title></head></html>",
    );
    let err = c.get_featurelists().await.unwrap_err();
    assert!(
        matches!(err, WhmError::HttpStatus { status: 401, .. }),
        "{err}"
    );
    let text = format!("{:?}", miette::Report::new(err));
    assert!(text.contains("check the API token"), "{text}");
    assert!(!text.contains(TOKEN));

    server.answer(
        "listpkgs",
        200,
        "<!DOCTYPE html><html><title>WHM Login</title>",
    );
    let err = c.listpkgs(PackageFilter::All).await.unwrap_err();
    assert!(
        err.to_string().contains("an HTML page titled “WHM Login”"),
        "{err}"
    );

    server.answer(
        "get_transfer_session_state",
        200,
        r#"{"metadata":{"result":1,"reason":"OK"},"data":{"state_na"#,
    );
    let err = c.get_transfer_session_state("s1").await.unwrap_err();
    assert!(err.to_string().contains("truncated JSON"), "{err}");

    server.answer(
        "start_transfer_session",
        200,
        "{\"metadata\":{\"result\":\"0\",\"reason\":\"API failure: (XID abc234) The system failed to start the transfer session \u{201c}s1\u{201d} because of an error: aborted\\n\"}}",
    );
    let err = c.start_transfer_session("s1").await.unwrap_err();
    match &err {
        WhmError::Api {
            function,
            session_id,
            reason,
            xid,
            ..
        } => {
            assert_eq!(function, "start_transfer_session");
            assert_eq!(session_id.as_deref(), Some("s1"));
            assert!(reason.starts_with("The system failed to start"), "{reason}");
            assert!(!reason.ends_with('\n'));
            assert_eq!(xid.as_deref(), Some("abc234"));
        }
        other => panic!("{other:?}"),
    }

    server.answer(
        "validate_system_user",
        200,
        r#"{"metadata":{"result":1},"data":{"exists":"maybe"}}"#,
    );
    let err = c.validate_system_user("bob").await.unwrap_err();
    assert!(
        matches!(&err, WhmError::Shape { path, .. } if path == "data.exists"),
        "{err}"
    );

    server.answer("restore_modules_summary", 500, "Internal Server Error");
    let before = server.seen().len();
    let err = c.restore_modules_summary().await.unwrap_err();
    assert!(
        matches!(err, WhmError::HttpStatus { status: 500, .. }),
        "{err}"
    );
    assert_eq!(
        server.seen().len() - before,
        5,
        "a read is tried 1 + 4 times"
    );

    // Nothing listens on a port we just released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = client_for(&format!("http://127.0.0.1:{port}"), TlsMode::SystemRoots)
        .get_featurelists()
        .await
        .unwrap_err();
    assert!(matches!(err, WhmError::Connect { .. }), "{err}");
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_and_reads_retry_through_it() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let ok = r#"{"metadata":{"result":"1","reason":"OK"},"data":{"state_name":"RUNNING"}}"#;
    tokio::spawn(async move {
        // First connection: read the request, then hang up without a word.
        let (mut first, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = first.read(&mut buf).await;
        drop(first);
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = s.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ok}",
                ok.len()
            );
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    let c = client_for(&url, TlsMode::SystemRoots);
    assert_eq!(
        c.get_transfer_session_state("s").await.unwrap(),
        SessionState::Running
    );
}

#[test]
fn credentials_in_the_url_are_refused() {
    let err = whm_migrate::whm::WhmClient::new(whm_migrate::whm::ClientOptions {
        base_url: "https://root:hunter2@whm.example.com:2087".into(),
        user: "root".into(),
        token: "t".into(),
        tls: TlsMode::SystemRoots,
        timeouts: whm_migrate::whm::Timeouts::default(),
        retry: whm_migrate::whm::RetryPolicy::default(),
    })
    .unwrap_err();
    assert!(err.to_string().contains("must not contain credentials"));
    assert!(!err.to_string().contains("hunter2"));
}

/// A server that answers 200 and then streams spaces without end, counting requests.
async fn endless_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = sock.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
                if sock.write_all(head.as_bytes()).await.is_ok() {
                    while sock.write_all(chunk.as_bytes()).await.is_ok() {}
                }
            });
        }
    });
    (url, requests)
}

/// A server streaming without end gets a clear, non-retried error once an answer passes
/// the client's limit, not the client's memory (issue 20 item 7).
#[tokio::test]
async fn an_endless_answer_is_cut_off_at_the_limit_and_not_retried() {
    use whm_migrate::whm::{BodyLimits, WhmError};
    let (url, requests) = endless_server().await;
    let client = crate::support::client_for(&url, whm_migrate::whm::TlsMode::SystemRoots)
        .with_limits(BodyLimits {
            answer: 1 << 20,
            log: 4 << 20,
        });
    let err = client
        .listpkgs(whm_migrate::domain::PackageFilter::All)
        .await
        .unwrap_err();
    assert!(
        matches!(err, WhmError::TooLarge { limit, .. } if limit == 1 << 20),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not retried"
    );
    let err = client
        .fetch_transfer_session_log("s1", "master.log")
        .await
        .unwrap_err();
    assert!(
        matches!(err, WhmError::TooLarge { limit, .. } if limit == 4 << 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("4.00 MiB"), "{err}");
}
