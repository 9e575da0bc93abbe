//! The simulator's answers saved for the OpenAPI checker.

use super::{basic_world, held, ok, start};
use serde_json::Value;
use whm_migrate::sim::{ResultStyle, SimOptions};

/// Saves one success response per function (`--1` documented style, `--2` integers)
/// for `python3 ../shared/whm-api/check-openapi.py DIR`, which `.ci/run` runs.
#[tokio::test]
async fn sim_responses_for_openapi_check() {
    let dir = std::path::Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/sim-responses"));
    std::fs::create_dir_all(dir).unwrap();
    // The description types `local.available_ips` items as `oneOf` ipv4/ipv6 formats;
    // formats are not asserted, so any IP string matches both and fails `oneOf`. The
    // capture therefore uses a world without free IPs (a defect of the description).
    let mut world = basic_world();
    world.destination.available_ips.clear();
    for (n, style) in [(1, ResultStyle::Documented), (2, ResultStyle::Integer)] {
        let (h, api) = start(
            world.clone(),
            SimOptions {
                result_style: style,
                ..held()
            },
        )
        .await;
        let mut saved = Vec::new();
        let mut save = |f: &str, v: Value| {
            assert!(ok(&v), "{f}: {v}");
            std::fs::write(
                dir.join(format!("{f}--{n}.json")),
                serde_json::to_string_pretty(&v).unwrap(),
            )
            .unwrap();
            saved.push(f.to_owned());
        };
        save(
            "available_transfer_modules",
            api.call("available_transfer_modules", &[]).await,
        );
        save(
            "transfer_module_schema",
            api.call("transfer_module_schema", &[("module", "AccountRemoteRoot")])
                .await,
        );
        save(
            "restore_modules_summary",
            api.call("restore_modules_summary", &[]).await,
        );
        save(
            "remote_basic_credential_check",
            api.call(
                "remote_basic_credential_check",
                &[
                    ("host", "src.example.com"),
                    ("user", "root"),
                    ("password", "rootpw"),
                ],
            )
            .await,
        );
        let create = api
            .call(
                "create_remote_root_transfer_session",
                &[
                    ("host", "src.example.com"),
                    ("user", "root"),
                    ("password", "rootpw"),
                ],
            )
            .await;
        let id = create["data"]["transfer_session_id"]
            .as_str()
            .unwrap()
            .to_owned();
        save("create_remote_root_transfer_session", create);
        save(
            "create_remote_user_transfer_session",
            api.call(
                "create_remote_user_transfer_session",
                &[("host", "src.example.com"), ("password", "alicepw")],
            )
            .await,
        );
        let sid = [("transfer_session_id", id.as_str())];
        save(
            "analyze_transfer_session_remote",
            api.call("analyze_transfer_session_remote", &sid).await,
        );
        save(
            "retrieve_transfer_session_remote_analysis",
            api.call("retrieve_transfer_session_remote_analysis", &sid)
                .await,
        );
        save(
            "validate_system_user",
            api.call("validate_system_user", &[("user", "alice")]).await,
        );
        save(
            "enqueue_transfer_item",
            api.enqueue(
                &id,
                "AccountRemoteRoot",
                &[("user", "alice"), ("localuser", "alice")],
            )
            .await,
        );
        api.enqueue_account(&id, "bob").await;
        save(
            "start_transfer_session",
            api.call("start_transfer_session", &sid).await,
        );
        save(
            "get_transfer_session_state",
            api.call("get_transfer_session_state", &sid).await,
        );
        save(
            "pause_transfer_session",
            api.call("pause_transfer_session", &sid).await,
        );
        api.wait_state(&id, "PAUSED").await;
        save(
            "fetch_transfer_session_log",
            api.log(&id, "master.log").await,
        );
        save(
            "abort_transfer_session",
            api.call("abort_transfer_session", &sid).await,
        );
        save(
            "delete_account_archives",
            api.call("delete_account_archives", &[("user", "alice")])
                .await,
        );
        save("listaccts", api.call("listaccts", &[]).await);
        save("listpkgs", api.call("listpkgs", &[]).await);
        save("get_featurelists", api.call("get_featurelists", &[]).await);
        save(
            "accountsummary",
            api.call("accountsummary", &[("user", "taken")]).await,
        );
        assert_eq!(saved.len(), 20);
        h.shutdown().await;
    }
}
