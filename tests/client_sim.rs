//! The client against the simulator over loopback HTTP: every call, a whole session
//! with its parsed master log, every error class and every quirk of REFERENCE §8.

use crate::support::wait::until_async;
use crate::support::{SimContext, TOKEN, client_for, world};
use secrecy::SecretString;
use std::time::Duration;
use whm_migrate::domain::{
    AccountQuery, CredentialCheckRequest, PackageFilter, RootSessionRequest, SessionOptions,
    SessionState, SourceLogin, UserSessionRequest,
};
use whm_migrate::sim::{Faults, ResultStyle, SimOptions};
use whm_migrate::translog::{
    ItemKey, ItemState, SessionProgress, parse_item_log, parse_master_log,
};
use whm_migrate::whm::{TlsMode, WhmClient, WhmError};

fn root_request(password: &str) -> RootSessionRequest {
    RootSessionRequest {
        login: SourceLogin {
            host: "src.example.com".into(),
            user: "root".into(),
            password: Some(SecretString::from(password)),
            ..SourceLogin::default()
        },
        comm_transport: None,
        options: SessionOptions {
            transfer_threads: Some(2),
            restore_threads: Some(2),
            ..SessionOptions::default()
        },
    }
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn wait_terminal(client: &WhmClient, id: &str) -> SessionState {
    let mut state = None;
    until_async(&format!("session {id} to end"), async || {
        let now = client.get_transfer_session_state(id).await.unwrap();
        let ended = now.is_terminal();
        state = Some(now);
        ended
    })
    .await;
    state.unwrap()
}

#[tokio::test]
async fn a_whole_root_session_with_one_failed_restore() {
    let cx = SimContext::start(world("basic")).await;
    let c = &cx.client;

    let modules = c.available_transfer_modules().await.unwrap();
    assert_eq!(modules["AccountRemoteRoot"], 3000);
    let schema = c.transfer_module_schema("AccountRemoteRoot").await.unwrap();
    assert_eq!(schema.primary, ["user"]);
    assert_eq!(schema.keys["priority"].def, "int(1) DEFAULT 255");
    let check = c
        .remote_basic_credential_check(&CredentialCheckRequest {
            login: root_request("rootpw").login,
            timeout: None,
        })
        .await
        .unwrap();
    assert!(!check.message.is_empty());
    let v = c.validate_system_user("alice").await.unwrap();
    assert!(!v.exists && v.valid_for_transfer);
    assert!(c.validate_system_user("taken").await.unwrap().exists);

    let created = c
        .create_remote_root_transfer_session(&root_request("rootpw"))
        .await
        .unwrap();
    let id = created.transfer_session_id.clone();
    assert!(id.starts_with("srcexamplecomcopya"), "{id}");
    assert_eq!(
        c.get_transfer_session_state(&id).await.unwrap(),
        SessionState::Pending
    );
    c.analyze_transfer_session_remote(&id).await.unwrap();
    let analysis = c
        .retrieve_transfer_session_remote_analysis(&id)
        .await
        .unwrap();
    let users: Vec<&str> = analysis
        .items
        .accounts
        .iter()
        .map(|a| a.user.as_str())
        .collect();
    assert!(
        users.contains(&"alice") && users.contains(&"carol"),
        "{users:?}"
    );
    assert_eq!(
        analysis
            .items
            .accounts
            .iter()
            .find(|a| a.user == "alice")
            .unwrap()
            .bytesused,
        10_000_000_000
    );
    assert!(analysis.local.users.contains_key("taken"));
    assert!(analysis.modules.values().any(|m| m.warning.is_some()));

    for (module, keys) in [
        (
            "FeatureListRemoteRoot",
            kv(&[("featurelist", "gold features")]),
        ),
        ("PackageRemoteRoot", kv(&[("package", "gold")])),
        (
            "AccountRemoteRoot",
            kv(&[("user", "alice"), ("localuser", "alice")]),
        ),
        (
            "AccountRemoteRoot",
            kv(&[("user", "bob"), ("localuser", "bob")]),
        ),
        (
            "AccountRemoteRoot",
            kv(&[("user", "carol"), ("localuser", "carol")]),
        ),
    ] {
        c.enqueue_transfer_item(&id, module, &keys).await.unwrap();
    }
    // The same primary key again is refused, and nothing is added.
    let dup = c
        .enqueue_transfer_item(
            &id,
            "AccountRemoteRoot",
            &kv(&[("user", "bob"), ("localuser", "bob")]),
        )
        .await
        .unwrap_err();
    assert!(dup.api_reason().is_some(), "{dup:?}");
    let pid = c.start_transfer_session(&id).await.unwrap();
    assert!(pid.is_some());
    assert_eq!(wait_terminal(c, &id).await, SessionState::Completed);

    let log = c
        .fetch_transfer_session_log(&id, "master.log")
        .await
        .unwrap();
    let events = parse_master_log(log.as_bytes());
    // Streamed, the same file arrives byte for byte, and a follower taking fresh copies
    // again and again parses each record once, as a parser fed the whole file does.
    let mut streamed = Vec::new();
    let len = c
        .stream_transfer_session_log(&id, "master.log", &mut streamed)
        .await
        .unwrap();
    assert_eq!((len, streamed.as_slice()), (log.len(), log.as_bytes()));
    // Past its first copy the follower skips, undecoded, up to where the last copy's
    // parsed lines ended: later copies hand it only their first bytes.
    assert!(
        log.len() > 2 * whm_migrate::whm::RESUME_AFTER,
        "{}",
        log.len()
    );
    let mut follower = whm_migrate::apply::logfeed::LogFollower::new();
    let mut tail_events = Vec::new();
    let mut handed = Vec::new();
    for _ in 0..3 {
        let mut fetch = follower.fetch(&mut tail_events);
        let len = c
            .stream_transfer_session_log(&id, "master.log", &mut fetch)
            .await
            .unwrap();
        handed.push(fetch.handed());
        let end = fetch.end(Some(len));
        assert!(!end.resync && !end.replaced, "{end:?}");
    }
    assert_eq!(handed[0], log.len());
    for later in &handed[1..] {
        // The first RESUME_AFTER bytes, up to the end of the text run that crosses it.
        assert!(
            (whm_migrate::whm::RESUME_AFTER..log.len() / 2).contains(later),
            "{handed:?} of {}",
            log.len()
        );
    }
    assert_eq!(follower.consumed(), log.len());
    assert_eq!(format!("{tail_events:?}"), format!("{events:?}"));
    let mut progress = SessionProgress::new();
    progress.apply_all(&events);
    let state = |t: &str, k: &str| {
        progress
            .item(&ItemKey::new(t, k))
            .map(whm_migrate::translog::ItemProgress::state)
    };
    assert_eq!(
        state("FeatureListRemoteRoot", "gold features"),
        Some(ItemState::Done)
    );
    assert_eq!(state("PackageRemoteRoot", "gold"), Some(ItemState::Done));
    assert_eq!(
        state("AccountRemoteRoot", "alice"),
        Some(ItemState::DoneWithWarnings)
    );
    assert_eq!(state("AccountRemoteRoot", "bob"), Some(ItemState::Done));
    let carol = progress
        .item(&ItemKey::new("AccountRemoteRoot", "carol"))
        .unwrap();
    assert_eq!(carol.state(), ItemState::Failed);
    assert!(
        carol
            .failure
            .as_deref()
            .unwrap_or("")
            .contains("Disk quota exceeded"),
        "{:?}",
        carol.failure
    );
    // The failed item's own log explains it.
    let item_log = carol.restore_log.clone().unwrap();
    let item_text = c.fetch_transfer_session_log(&id, &item_log).await.unwrap();
    let item_events = parse_item_log(item_text.as_bytes());
    let excerpt = whm_migrate::translog::failure_excerpt(&item_events, 10);
    assert!(
        excerpt
            .lines
            .iter()
            .any(|l| l.text.contains("Disk quota exceeded"))
    );

    // The destination now holds what was restored, and the client sees it.
    let accounts = c.listaccts(&AccountQuery::default()).await.unwrap();
    let names: Vec<&str> = accounts.iter().map(|a| a.user.as_str()).collect();
    assert!(
        names.contains(&"alice") && names.contains(&"bob") && !names.contains(&"carol"),
        "{names:?}"
    );
    let bob = c.accountsummary("bob").await.unwrap().unwrap();
    assert_eq!(bob.domain, "bob.example");
    assert!(c.accountsummary("carol").await.unwrap().is_none());
    let pkgs = c.listpkgs(PackageFilter::All).await.unwrap();
    assert!(pkgs.iter().any(|p| p.name == "gold"));
    assert!(
        c.get_featurelists()
            .await
            .unwrap()
            .contains(&"gold features".to_owned())
    );
    let stats = cx.sim.stats();
    assert_eq!(stats.restores.get("alice"), Some(&1));
    assert_eq!(stats.enqueue_count("AccountRemoteRoot/bob"), 1);
}

#[tokio::test]
async fn session_control_follows_the_state_machine() {
    let cx = SimContext::start(world("basic")).await;
    let c = &cx.client;
    // Abort of a PENDING session fails it.
    let id = c
        .create_remote_root_transfer_session(&root_request("rootpw"))
        .await
        .unwrap()
        .transfer_session_id;
    c.abort_transfer_session(&id).await.unwrap();
    assert_eq!(
        c.get_transfer_session_state(&id).await.unwrap(),
        SessionState::Failed
    );
    // Pause of a session that is not running is refused with result 0.
    let err = c.pause_transfer_session(&id).await.unwrap_err();
    assert!(matches!(err, WhmError::Api { .. }), "{err}");

    // A user session moves one account with its own password.
    let user = c
        .create_remote_user_transfer_session(&UserSessionRequest {
            host: "src.example.com".into(),
            password: SecretString::from("alicepw"),
            unrestricted_restore: false,
        })
        .await
        .unwrap()
        .transfer_session_id;
    // The docs list only `unrestricted_restore = 1`; the server's code (and the
    // simulator) take 1 as well as 0 (docs/manifest.md says why 0 is the default).
    let unrestricted = c
        .create_remote_user_transfer_session(&UserSessionRequest {
            host: "src.example.com".into(),
            password: SecretString::from("alicepw"),
            unrestricted_restore: true,
        })
        .await
        .unwrap()
        .transfer_session_id;
    assert_eq!(
        c.get_transfer_session_state(&unrestricted).await.unwrap(),
        SessionState::Pending
    );
    c.abort_transfer_session(&unrestricted).await.unwrap();
    // A root-only module in a user session is refused.
    let err = c
        .enqueue_transfer_item(&user, "PackageRemoteRoot", &kv(&[("package", "gold")]))
        .await
        .unwrap_err();
    assert!(
        err.api_reason().unwrap().contains("User-authenticated"),
        "{err}"
    );
    c.enqueue_transfer_item(
        &user,
        "AccountRemoteUser",
        &kv(&[("user", "alice"), ("localuser", "alice")]),
    )
    .await
    .unwrap();
    c.start_transfer_session(&user).await.unwrap();
    assert_eq!(wait_terminal(c, &user).await, SessionState::Completed);

    let archives = c.delete_account_archives("alice", None).await.unwrap();
    assert!(!archives.messages.is_empty());
    let modules = c.restore_modules_summary().await.unwrap();
    assert!(modules.iter().any(|m| m.module == "Account"));
}

#[tokio::test]
async fn errors_are_told_apart_against_the_simulator() {
    let cx = SimContext::start(world("basic")).await;
    // A wrong token: HTTP 401 and a hint about the token.
    let bad = {
        WhmClient::new(whm_migrate::whm::ClientOptions {
            base_url: cx.sim.base_url(),
            user: "root".into(),
            token: SecretString::from("WRONG"),
            tls: TlsMode::SystemRoots,
            timeouts: whm_migrate::whm::Timeouts::default(),
            retry: whm_migrate::whm::RetryPolicy {
                max_retries: 0,
                ..whm_migrate::whm::RetryPolicy::default()
            },
        })
        .unwrap()
    };
    let err = bad.get_featurelists().await.unwrap_err();
    assert!(
        matches!(
            err,
            WhmError::HttpStatus {
                status: 401 | 403,
                ..
            }
        ),
        "{err}"
    );
    assert!(format!("{:?}", miette::Report::new(err)).contains("check the API token"));

    // Result 0 with the function, the session and the cleaned reason.
    let err = cx
        .client
        .get_transfer_session_state("nosuchsession")
        .await
        .unwrap_err();
    match &err {
        WhmError::Api {
            function,
            session_id,
            reason,
            ..
        } => {
            assert_eq!(function, "get_transfer_session_state");
            assert_eq!(session_id.as_deref(), Some("nosuchsession"));
            assert!(reason.contains("does not exist"), "{reason}");
            assert!(!reason.starts_with("(XID"));
        }
        other => panic!("{other:?}"),
    }
    // Wrong credentials for the source.
    let err = cx
        .client
        .create_remote_root_transfer_session(&root_request("wrong"))
        .await
        .unwrap_err();
    assert!(matches!(err, WhmError::Api { .. }), "{err}");
    assert!(
        !err.to_string().contains("wrong"),
        "the password must not be echoed: {err}"
    );

    // Every read survives a server that fails a quarter of the time in every way (the
    // simulator's faults are drawn from a fixed seed, so this run is reproducible).
    cx.sim.set_faults(Faults {
        http_500: 0.08,
        drop_before: 0.06,
        html_page: 0.05,
        truncated_json: 0.05,
        result_zero: 0.03,
        ..Faults::default()
    });
    for _ in 0..15 {
        cx.client.get_featurelists().await.unwrap();
        cx.client.listpkgs(PackageFilter::All).await.unwrap();
    }
    let stats = cx.sim.stats();
    for kind in ["http_500", "drop_before", "html_page", "truncated_json"] {
        assert!(
            stats.faults.get(kind).copied().unwrap_or(0) > 0,
            "{kind} never injected: {:?}",
            stats.faults
        );
    }

    // With faults on every request, each class surfaces as its own error.
    for (faults, check) in [
        (
            Faults {
                html_page: 1.0,
                ..Faults::default()
            },
            "an HTML page",
        ),
        (
            Faults {
                truncated_json: 1.0,
                ..Faults::default()
            },
            "truncated JSON",
        ),
        (
            Faults {
                http_500: 1.0,
                ..Faults::default()
            },
            "HTTP 500",
        ),
        (
            Faults {
                drop_before: 1.0,
                ..Faults::default()
            },
            "broke",
        ),
    ] {
        cx.sim.set_faults(faults);
        let err = cx.client.get_featurelists().await.unwrap_err();
        assert!(err.to_string().contains(check), "{check}: {err}");
    }
}

#[tokio::test]
async fn every_result_type_is_accepted() {
    for style in [
        ResultStyle::String,
        ResultStyle::Integer,
        ResultStyle::Documented,
    ] {
        let cx = SimContext::with(
            world("basic"),
            SimOptions {
                result_style: style,
                ..SimOptions::default()
            },
        )
        .await;
        assert!(cx.client.available_transfer_modules().await.unwrap().len() >= 6);
        assert!(
            !cx.client
                .listpkgs(PackageFilter::All)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            !cx.client
                .listaccts(&AccountQuery::default())
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn listaccts_with_no_match_is_empty() {
    let cx = SimContext::start(world("basic")).await;
    let none = cx
        .client
        .listaccts(&AccountQuery {
            search: Some("nobody-here".into()),
            searchtype: Some("user".into()),
            exact: true,
            want: vec![],
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(cx.sim.stats().calls.get("listaccts"), Some(&1));
}

#[tokio::test]
async fn log_fetches_that_block_until_the_log_is_finished_still_deliver() {
    let cx = SimContext::with(
        world("basic"),
        SimOptions {
            blocking_logs: true,
            ..SimOptions::default()
        },
    )
    .await;
    let c = &cx.client;
    let id = c
        .create_remote_root_transfer_session(&root_request("rootpw"))
        .await
        .unwrap()
        .transfer_session_id;
    c.enqueue_transfer_item(
        &id,
        "AccountRemoteRoot",
        &kv(&[("user", "bob"), ("localuser", "bob")]),
    )
    .await
    .unwrap();
    c.start_transfer_session(&id).await.unwrap();
    // The fetch returns only once the session has ended, with the whole log.
    let log = c
        .fetch_transfer_session_log(&id, "master.log")
        .await
        .unwrap();
    assert!(
        c.get_transfer_session_state(&id)
            .await
            .unwrap()
            .is_terminal()
    );
    let events = parse_master_log(log.as_bytes());
    assert!(
        events
            .iter()
            .any(whm_migrate::translog::Event::is_session_end)
    );
}

#[test]
fn the_token_never_shows_in_debug_output() {
    let c = client_for("http://127.0.0.1:9", TlsMode::SystemRoots);
    assert!(!format!("{c:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_server_slower_than_the_timeout_is_a_timeout() {
    let cx = SimContext::start(world("basic")).await;
    cx.sim.set_faults(Faults {
        latency_probability: 1.0,
        latency_ms: 1_500,
        ..Faults::default()
    });
    let client = WhmClient::new(whm_migrate::whm::ClientOptions {
        base_url: cx.sim.base_url(),
        user: "root".into(),
        token: SecretString::from(TOKEN),
        tls: TlsMode::SystemRoots,
        timeouts: whm_migrate::whm::Timeouts {
            default: Duration::from_millis(300),
            ..whm_migrate::whm::Timeouts::default()
        },
        retry: whm_migrate::whm::RetryPolicy {
            max_retries: 1,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        },
    })
    .unwrap();
    let err = client.get_featurelists().await.unwrap_err();
    assert!(matches!(err, WhmError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("did not answer within"), "{err}");
}

const LOCAL_ARCHIVES: &str = r#"
[destination]
hostname = "dest.example.com"

[[destination.accounts]]
user = "taken"
domain = "taken.example"

[[destination.archives]]
path = "/home/cpmove-dave.tar.gz"
user = "dave"
domain = "dave.example"
bytesused = 1048576

[[destination.archives]]
path = "/home/cpmove-erin"
user = "erin"
domain = "erin.example"
bytesused = 2048
"#;

/// Runs one local restore to its end; returns the session id and the parsed progress.
async fn local_restore(
    c: &WhmClient,
    request: &whm_migrate::domain::LocalRestoreRequest,
) -> (String, SessionProgress) {
    let id = c.start_local_cpmove_restore(request).await.unwrap();
    assert_eq!(wait_terminal(c, &id).await, SessionState::Completed);
    let log = c
        .fetch_transfer_session_log(&id, "master.log")
        .await
        .unwrap();
    let mut progress = SessionProgress::new();
    progress.apply_all(&parse_master_log(log.as_bytes()));
    (id, progress)
}

#[tokio::test]
async fn a_local_cpmove_restore_runs_as_a_session() {
    use whm_migrate::domain::LocalRestoreRequest;
    let world = whm_migrate::sim::World::from_toml_str(LOCAL_ARCHIVES).unwrap();
    let cx = SimContext::start(world).await;
    let c = &cx.client;

    let request = LocalRestoreRequest {
        cpmovepath: "/home/cpmove-dave.tar.gz".into(),
        ..LocalRestoreRequest::default()
    };
    let (id, progress) = local_restore(c, &request).await;
    assert!(id.contains("start"), "{id}");
    let dave = progress
        .item(&ItemKey::new("AccountLocal", "dave"))
        .unwrap();
    assert_eq!(dave.state(), ItemState::Done);
    let accounts = c.listaccts(&AccountQuery::default()).await.unwrap();
    let dave_acct = accounts.iter().find(|a| a.user == "dave").unwrap();
    assert_eq!(dave_acct.domain, "dave.example");
    let stats = cx.sim.stats();
    assert_eq!(stats.restores.get("dave"), Some(&1));
    assert_eq!(stats.sessions_created, 1);

    // Again without `overwrite`: the account exists, so the item fails; with it, the
    // account is replaced.
    let (_, again) = local_restore(c, &request).await;
    let item = again.item(&ItemKey::new("AccountLocal", "dave")).unwrap();
    assert_eq!(item.state(), ItemState::Failed);
    assert!(
        item.failure
            .as_deref()
            .unwrap_or("")
            .contains("already exists"),
        "{:?}",
        item.failure
    );
    let overwrite = LocalRestoreRequest {
        overwrite: true,
        ..request.clone()
    };
    let (_, replaced) = local_restore(c, &overwrite).await;
    assert_eq!(
        replaced
            .item(&ItemKey::new("AccountLocal", "dave"))
            .unwrap()
            .state(),
        ItemState::Done
    );
    assert_eq!(cx.sim.stats().restores.get("dave"), Some(&2));
}

#[tokio::test]
async fn a_local_cpmove_restore_can_rename_and_refuses_a_missing_archive() {
    use whm_migrate::domain::LocalRestoreRequest;
    let world = whm_migrate::sim::World::from_toml_str(LOCAL_ARCHIVES).unwrap();
    let cx = SimContext::start(world).await;
    let c = &cx.client;

    let request = LocalRestoreRequest {
        cpmovepath: "/home/cpmove-erin/".into(),
        username: Some("erin2".into()),
        update_a_records: Some("basic".into()),
        delete_archive: true,
        ..LocalRestoreRequest::default()
    };
    let (id, progress) = local_restore(c, &request).await;
    assert!(id.contains("start"), "{id}");
    // The item is keyed by the archive's user; it is restored under the new name.
    let erin = progress
        .item(&ItemKey::new("AccountLocal", "erin"))
        .unwrap();
    assert_eq!(erin.state(), ItemState::Done);
    let names: Vec<String> = c
        .listaccts(&AccountQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.user)
        .collect();
    assert!(
        names.contains(&"erin2".to_owned()) && !names.contains(&"erin".to_owned()),
        "{names:?}"
    );

    // The archive was deleted after the restore; a path that never existed fails too.
    for path in ["/home/cpmove-erin", "/home/cpmove-nobody.tar.gz"] {
        let err = c
            .start_local_cpmove_restore(&LocalRestoreRequest {
                cpmovepath: path.into(),
                ..LocalRestoreRequest::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, WhmError::Api { .. }), "{err:?}");
    }
    assert_eq!(cx.sim.stats().sessions_created, 1);
}

/// Each credential check is an SSH login to the source: one that fails is reported,
/// never repeated (repeated failed logins trip cPHulk), while reads are retried.
#[tokio::test]
async fn a_failed_credential_check_is_not_repeated() {
    let cx = SimContext::with(
        world("basic"),
        SimOptions {
            faults: Faults {
                http_500: 1.0,
                ..Faults::default()
            },
            ..SimOptions::default()
        },
    )
    .await;
    let err = cx
        .client
        .remote_basic_credential_check(&CredentialCheckRequest {
            login: root_request("rootpw").login,
            timeout: None,
        })
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    let stats = cx.sim.stats();
    assert_eq!(
        stats.faults.get("http_500").copied(),
        Some(1),
        "one attempt only: {:?}",
        stats.faults
    );
    // A read meeting the same server is retried.
    assert!(cx.client.available_transfer_modules().await.is_err());
    assert!(cx.sim.stats().faults["http_500"] > 2);
}
