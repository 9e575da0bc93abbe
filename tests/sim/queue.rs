//! Enqueueing items: the documented errors, in their documented order.

use super::{basic_world, has_xid, ok, reason, start};
use whm_migrate::sim::SimOptions;

#[tokio::test]
async fn enqueue_errors_in_documented_order() {
    let (h, api) = start(basic_world(), SimOptions::default()).await;
    let id = api.create_root().await;
    let missing = api
        .call("enqueue_transfer_item", &[("transfer_session_id", &id)])
        .await;
    assert!(
        reason(&missing).starts_with("API failure: (XID ") && reason(&missing).contains("“module”")
    );
    let unknown_module = api.enqueue(&id, "FeatureListsRemoteRoot", &[]).await;
    assert_eq!(
        reason(&unknown_module),
        "The transfer session module “FeatureListsRemoteRoot” does not exist."
    );
    let bad_id = api
        .enqueue("a-b", "PackageRemoteRoot", &[("package", "gold")])
        .await;
    assert!(
        has_xid(reason(&bad_id))
            && reason(&bad_id)
                .ends_with("may only contain alphanumeric characters and underscores.")
    );
    // Kind mismatch comes before schema checks, as API failure with a trailing newline.
    let kind = api
        .enqueue(&id, "AccountRemoteUser", &[("bogus", "1")])
        .await;
    assert_eq!(
        reason(&kind),
        "API failure: Root-authenticated transfer sessions cannot enqueue items of this type. Try again from a user-authenticated transfer session.\n"
    );
    let required = api
        .enqueue(&id, "AccountRemoteRoot", &[("user", "bob"), ("bogus", "1")])
        .await;
    assert!(
        has_xid(reason(&required))
            && reason(&required).ends_with(
                "The “localuser” parameter is required for the “AccountRemoteRoot” module."
            )
    );
    let unknown_key = api
        .enqueue(
            &id,
            "AccountRemoteRoot",
            &[("user", "bob"), ("localuser", "bob"), ("bogus", "1")],
        )
        .await;
    assert!(has_xid(reason(&unknown_key)));
    assert!(
        reason(&unknown_key)
            .ends_with("The “bogus” parameter is not valid for the “AccountRemoteRoot” module.")
    );
    let not_int = api
        .enqueue(
            &id,
            "AccountRemoteRoot",
            &[("user", "bob"), ("localuser", "bob"), ("force", "true")],
        )
        .await;
    assert!(!ok(&not_int) && reason(&not_int).contains("“force”"));
    // api.* inputs are stripped; empty strings count as present.
    let fine = api
        .enqueue(
            &id,
            "AccountRemoteRoot",
            &[
                ("user", "bob"),
                ("localuser", "bob"),
                ("api.sort.a", "1"),
                ("domain", ""),
            ],
        )
        .await;
    assert!(ok(&fine) && fine.get("data").is_none(), "{fine}");
    let dup = api
        .enqueue(
            &id,
            "AccountRemoteRoot",
            &[("user", "bob"), ("localuser", "bob2")],
        )
        .await;
    assert!(has_xid(reason(&dup)));
    assert!(reason(&dup).ends_with("An item with a “user” key value of “bob” and a type of “AccountRemoteRoot” already exists in the queue."));
    let pkg = api
        .enqueue(
            &id,
            "PackageRemoteRoot",
            &[("package", "gold"), ("size", "5")],
        )
        .await;
    assert!(ok(&pkg));

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
    let user_kind = api
        .enqueue(&uid, "PackageRemoteRoot", &[("package", "gold")])
        .await;
    assert_eq!(
        reason(&user_kind),
        "API failure: User-authenticated transfer sessions cannot enqueue items of this type. Try again from a root-authenticated transfer session.\n"
    );
    assert!(ok(&api
        .enqueue(
            &uid,
            "AccountRemoteUser",
            &[("user", "alice"), ("localuser", "alice")]
        )
        .await));

    let stats = api.stats().await;
    assert_eq!(stats.enqueues[&id].len(), 2);
    assert_eq!(stats.enqueue_count("AccountRemoteRoot/bob"), 1);
    assert_eq!(stats.enqueue_count("AccountRemoteUser/alice"), 1);
    h.shutdown().await;
}
