//! Whole sessions run to their end: the master and item logs, the effects on the
//! destination, the counters, and failures scripted per item.

use super::{actions, basic_world, ok, reason, start};
use serde_json::Value;
use whm_migrate::sim::{Faults, SimOptions};

#[tokio::test]
async fn full_root_session_with_a_scripted_restore_failure() {
    let (h, api) = start(basic_world(), SimOptions::default()).await;
    let id = api.create_root().await;
    assert!(ok(&api
        .enqueue(
            &id,
            "FeatureListRemoteRoot",
            &[("featurelist", "gold features")]
        )
        .await));
    assert!(ok(&api
        .enqueue(&id, "PackageRemoteRoot", &[("package", "gold")])
        .await));
    for u in ["alice", "bob", "carol"] {
        api.enqueue_account(&id, u).await;
    }
    let started = api
        .call("start_transfer_session", &[("transfer_session_id", &id)])
        .await;
    let pid = started["data"]["pid"].as_u64().expect("pid");
    api.wait_state(&id, "COMPLETED").await;

    let recs = api.records(&id, "master.log").await;
    let acts = actions(&recs);
    assert_eq!(&acts[..3], ["start", "initiator", "version"]);
    assert_eq!(recs[1]["contents"]["msg"], "copyacct");
    assert_eq!(recs[2]["contents"]["msg"], 2.3);
    let counts: Vec<&Value> = recs
        .iter()
        .filter(|r| r["contents"]["action"] == "queue_count")
        .collect();
    assert_eq!(counts.len(), 2);
    assert!(counts.iter().all(|r| r["contents"]["msg"] == 5));
    assert!(
        recs.iter().any(|r| r["contents"]["action"] == "remotehost"
            && r["contents"]["msg"] == "src.example.com")
    );
    for r in &recs {
        assert_eq!(
            (
                r["type"].as_str(),
                r["indent"].as_u64(),
                r["partial"].as_u64()
            ),
            (Some("control"), Some(0), Some(0))
        );
        assert!(r["contents"]["time"].is_i64() && r["pid"].is_u64());
    }
    let last = recs.last().unwrap();
    assert_eq!(
        (
            last["contents"]["action"].as_str(),
            last["contents"]["child_number"].as_u64()
        ),
        (Some("complete"), Some(0))
    );
    assert_eq!(last["pid"].as_u64(), Some(pid));
    assert!(last["contents"].get("queue").is_none());
    let failed: Vec<&Value> = recs
        .iter()
        .filter(|r| r["contents"]["action"] == "failed-item")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["contents"]["queue"], "RESTORE");
    assert_eq!(failed[0]["contents"]["item"], "carol");
    assert_eq!(
        failed[0]["contents"]["msg"]["failure"],
        "The system failed to restore the home directory: Disk quota exceeded."
    );
    let warned: Vec<&Value> = recs
        .iter()
        .filter(|r| r["contents"]["action"] == "warning-item")
        .collect();
    assert_eq!(
        (warned.len(), warned[0]["contents"]["item"].as_str()),
        (1, Some("alice"))
    );
    assert_eq!(warned[0]["contents"]["msg"]["warnings"], 1);
    // One type at a time in ascending id within each queue.
    let restored: Vec<&str> = recs
        .iter()
        .filter(|r| r["contents"]["action"] == "start-item" && r["contents"]["queue"] == "RESTORE")
        .map(|r| r["contents"]["item_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        &restored[..2],
        ["FeatureListRemoteRoot", "PackageRemoteRoot"]
    );
    assert_eq!(acts.iter().filter(|a| *a == "process-item").count(), 10);
    let worker_complete = recs
        .iter()
        .filter(|r| r["contents"]["action"] == "complete" && r["contents"]["child_number"] != 0)
        .count();
    assert_eq!(worker_complete, 4, "2 TRANSFER + 2 RESTORE workers");

    let item = api.records(&id, "item-RESTORE_AccountRemoteRoot_bob").await;
    assert_eq!(item[0]["type"], "start");
    assert_eq!(
        item[0]["contents"]["msg"][0],
        "Starting “RESTORE” for “Account” “bob”."
    );
    let pcts: Vec<u64> = item
        .iter()
        .filter_map(|r| r["contents"]["percentage"].as_u64())
        .collect();
    assert_eq!(pcts, [25, 50, 75, 100]);
    assert!(item.iter().any(|r| r["contents"]["action"] == "summary"));
    assert_eq!(item.last().unwrap()["type"], "success");
    let carol = api
        .records(&id, "item-RESTORE_AccountRemoteRoot_carol")
        .await;
    assert_eq!(carol.last().unwrap()["type"], "failed");
    let pkg_log = api
        .records(&id, "item-RESTORE_PackageRemoteRoot_gold")
        .await;
    assert!(pkg_log.iter().all(|r| r["contents"]["action"] != "summary"));
    let missing = api.log(&id, "item-RESTORE_AccountRemoteRoot_zed").await;
    assert!(
        reason(&missing).starts_with("API failure: (XID ")
            && reason(&missing).contains("failed to locate either the file")
    );
    let slash = api.log(&id, "../master.log").await;
    assert!(
        reason(&slash).starts_with("API failure: ")
            && reason(&slash).contains("relative file paths")
    );
    assert!(ok(&api.log(&id, "master.error_log").await));

    let world = h.world();
    let d = &world.destination;
    assert!(
        d.account("alice").is_some() && d.account("bob").is_some() && d.account("carol").is_none()
    );
    assert_eq!(d.account("bob").unwrap().plan, "gold");
    assert_eq!(
        d.dbs.mysql.get("alice_wp").map(String::as_str),
        Some("alice")
    );
    assert!(
        d.packages.iter().any(|p| p.name == "gold")
            && d.featurelists.contains(&"gold features".to_owned())
    );
    let la = api
        .call(
            "listaccts",
            &[("search", "alice"), ("searchmethod", "exact")],
        )
        .await;
    assert_eq!(la["data"]["acct"][0]["domain"], "alice.example");

    let stats = api.stats().await;
    for u in ["alice", "bob", "carol"] {
        assert_eq!(stats.transfers[&format!("src.example.com/{u}")], 1, "{u}");
    }
    assert_eq!(
        (
            stats.restores.get("alice"),
            stats.restores.get("bob"),
            stats.restores.get("carol")
        ),
        (Some(&1), Some(&1), None)
    );
    assert_eq!(stats.item_restores["PackageRemoteRoot/gold"], 1);
    assert_eq!(stats.sessions_created, 1);
    assert_eq!(stats.calls["start_transfer_session"], 1);

    let again = api
        .call("start_transfer_session", &[("transfer_session_id", &id)])
        .await;
    assert!(
        !ok(&again)
            && reason(&again).starts_with(&format!(
                "The system failed to start the transfer session “{id}” because of an error: "
            ))
    );
    h.shutdown().await;
}

#[tokio::test]
async fn transfer_failures_mark_the_restore_failed_too() {
    let faults = Faults {
        fail_transfer: [("bob".to_owned(), "Could not connect: timed out.".to_owned())].into(),
        ..Faults::default()
    };
    let (h, api) = start(
        basic_world(),
        SimOptions {
            faults,
            ..SimOptions::default()
        },
    )
    .await;
    let id = api.create_root().await;
    for u in ["bob", "dave"] {
        api.enqueue_account(&id, u).await;
    }
    assert!(ok(&api
        .enqueue(
            &id,
            "AccountRemoteRoot",
            &[("user", "alice"), ("localuser", "taken")]
        )
        .await));
    api.call("start_transfer_session", &[("transfer_session_id", &id)])
        .await;
    api.wait_state(&id, "COMPLETED").await;
    let recs = api.records(&id, "master.log").await;
    let about = |item: &str, queue: &str, action: &str| {
        recs.iter()
            .filter(|r| {
                r["contents"]["item"] == item
                    && r["contents"]["queue"] == queue
                    && r["contents"]["action"] == action
            })
            .map(|r| r["contents"]["msg"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        about("bob", "TRANSFER", "failed-item")[0]["failure"],
        "Could not connect: timed out."
    );
    assert_eq!(about("bob", "RESTORE", "start-item").len(), 1);
    assert_eq!(
        about("bob", "RESTORE", "failed-item")[0]["failure"],
        "Could not connect: timed out."
    );
    assert_eq!(
        about("alice", "TRANSFER", "failed-item")[0]["failure"],
        "The account “taken” already exists on “dest.example.com”."
    );
    let dave = about("dave", "TRANSFER", "failed-item");
    assert!(
        dave[0]["failure"]
            .as_str()
            .unwrap()
            .contains("“taken.example”")
    );
    assert!(h.world().destination.account("bob").is_none());
    assert_eq!(api.stats().await.faults["fail_transfer"], 1);
    h.shutdown().await;
}
