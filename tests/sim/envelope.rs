//! The envelope every answer has (result styles, reasons with XIDs), authentication,
//! and the read-only catalogue and destination functions.

use super::{TOKEN, basic_world, has_xid, ok, reason, start};
use serde_json::{Value, json};
use whm_migrate::sim::{ResultStyle, SimOptions};

#[tokio::test]
async fn envelope_and_result_styles() {
    let (h, api) = start(basic_world(), SimOptions::default()).await;
    let pk = api.call("listpkgs", &[]).await;
    assert_eq!(pk["metadata"]["result"], "1");
    assert_eq!(
        pk["metadata"],
        json!({"command": "listpkgs", "reason": "OK", "result": "1", "version": 1})
    );
    assert_eq!(api.call("listaccts", &[]).await["metadata"]["result"], 1);
    let fail = api
        .call(
            "get_transfer_session_state",
            &[("transfer_session_id", "nope")],
        )
        .await;
    assert_eq!(fail["metadata"]["result"], 0);
    assert!(
        has_xid(reason(&fail)) && reason(&fail).ends_with("The session ID “nope” does not exist.")
    );
    let unknown = api.call("no_such_function", &[]).await;
    assert_eq!(unknown["metadata"]["result"], 0);
    assert!(reason(&unknown).starts_with("Unknown app"));
    // api.version is required.
    let resp = api
        .http
        .get(format!("{}/json-api/listpkgs", api.base))
        .header("Authorization", format!("whm root:{TOKEN}"))
        .send()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert!(!ok(&v));
    // POST with a form body, under a cpsess prefix too.
    assert!(ok(&api.post("get_featurelists", &[]).await));
    let resp = api
        .http
        .get(format!(
            "{}/cpsess0123456789/json-api/listpkgs?api.version=1",
            api.base
        ))
        .header("Authorization", format!("whm root:{TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    h.shutdown().await;

    for (style, pk, la) in [
        (ResultStyle::Integer, json!(1), json!(1)),
        (ResultStyle::String, json!("1"), json!("1")),
    ] {
        let (h, api) = start(
            basic_world(),
            SimOptions {
                result_style: style,
                ..SimOptions::default()
            },
        )
        .await;
        assert_eq!(api.call("listpkgs", &[]).await["metadata"]["result"], pk);
        assert_eq!(api.call("listaccts", &[]).await["metadata"]["result"], la);
        h.shutdown().await;
    }
}

#[tokio::test]
async fn auth_failures_answer_html() {
    let (h, api) = start(basic_world(), SimOptions::default()).await;
    let url = format!("{}/json-api/listaccts?api.version=1", api.base);
    let wrong = api
        .http
        .get(&url)
        .header("Authorization", "whm root:WRONG")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(wrong.text().await.unwrap().contains("<html>"));
    let none = api.http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 403);
    let other_user = api
        .http
        .get(&url)
        .header("Authorization", format!("whm bob:{TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(other_user.status(), 401);
    let ok_upper = api
        .http
        .get(&url)
        .header("Authorization", format!("WHM root:{TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok_upper.status(), 200);
    assert!(h.stats().calls.get("listaccts").copied() == Some(1));
    h.shutdown().await;
}

#[tokio::test]
async fn catalogue_and_destination_functions() {
    let (h, api) = start(basic_world(), SimOptions::default()).await;
    let m = api.call("available_transfer_modules", &[]).await;
    for (name, id) in [
        ("AccountLocal", "5000"),
        ("AccountRemoteRoot", "3000"),
        ("AccountRemoteUser", "4000"),
        ("FeatureListRemoteRoot", "1000"),
        ("LegacyAccountBackup", "6000"),
        ("PackageRemoteRoot", "2000"),
    ] {
        assert_eq!(m["data"]["modules"][name], id);
    }
    let s = api
        .call("transfer_module_schema", &[("module", "AccountRemoteRoot")])
        .await;
    assert_eq!(
        s["data"]["schema"]["keys"]["priority"]["def"],
        "int(1) DEFAULT 255"
    );
    assert_eq!(s["data"]["schema"]["primary"], json!(["user"]));
    assert_eq!(s["data"]["schema"]["prerequisite"], "prerequisite_user");
    let bad = api
        .call(
            "transfer_module_schema",
            &[("module", "FeaturesListRemoteRoot")],
        )
        .await;
    assert_eq!(
        reason(&bad),
        "The transfer session module “FeaturesListRemoteRoot” does not exist."
    );
    let empty = api.call("transfer_module_schema", &[("module", "")]).await;
    assert!(
        reason(&empty).starts_with("API failure: (XID ")
            && reason(&empty).contains("may not be empty")
    );
    let rms = api.call("restore_modules_summary", &[]).await;
    assert_eq!(rms["data"]["modules"].as_array().unwrap().len(), 63);

    let v = api.call("validate_system_user", &[("user", "taken")]).await;
    assert_eq!(
        v["data"],
        json!({"exists": 1, "reserved": 0, "valid_for_transfer": 1, "valid_for_new": 1})
    );
    let v = api.call("validate_system_user", &[("user", "root")]).await;
    assert_eq!(
        (
            v["data"]["reserved"].clone(),
            v["data"]["valid_for_new"].clone()
        ),
        (json!(1), json!(0))
    );
    let v = api
        .call("validate_system_user", &[("user", "my.user")])
        .await;
    assert_eq!(
        (
            v["data"]["valid_for_transfer"].clone(),
            v["data"]["valid_for_new"].clone()
        ),
        (json!(1), json!(0))
    );
    let v = api.call("validate_system_user", &[]).await;
    assert_eq!(
        reason(&v),
        "No user name supplied: “user” is a required argument."
    );
    assert!(v.get("data").is_none());

    let pk = api.call("listpkgs", &[]).await;
    assert_eq!(pk["data"]["pkg"][0]["name"], "basic");
    assert_eq!(pk["data"]["pkg"][0]["QUOTA"], "1024");
    assert_eq!(pk["data"]["pkg"][0]["FEATURELIST"], "default");
    assert_eq!(
        api.call("get_featurelists", &[]).await["data"]["featurelists"],
        json!(["default", "disabled"])
    );

    let la = api
        .call(
            "listaccts",
            &[
                ("search", "^TAK"),
                ("searchtype", "user"),
                ("want", "user,domain"),
            ],
        )
        .await;
    assert_eq!(
        la["data"]["acct"],
        json!([{"domain": "taken.example", "user": "taken"}])
    );
    let none = api
        .call(
            "listaccts",
            &[("search", "nobody-here"), ("searchmethod", "exact")],
        )
        .await;
    assert!(ok(&none) && none.get("data").is_none());
    assert_eq!(
        reason(&api.call("listaccts", &[("searchtype", "shoe")]).await),
        "Unknown search type."
    );

    let sum = api
        .call("accountsummary", &[("domain", "taken.example")])
        .await;
    assert_eq!(sum["data"]["acct"][0]["user"], "taken");
    assert_eq!(sum["data"]["acct"][0]["diskused"], "15M");
    assert!(sum["data"]["acct"][0].get("has_backup").is_none());
    let missing = api.call("accountsummary", &[("user", "ghost")]).await;
    assert_eq!(
        (reason(&missing), &missing["data"]),
        ("Account does not exist.", &json!({"acct": []}))
    );
    let neither = api.call("accountsummary", &[]).await;
    assert_eq!(
        reason(&neither),
        "API failure: You must specify a user or domain to get a summary of.\n"
    );

    let del = api
        .call("delete_account_archives", &[("user", "taken")])
        .await;
    assert!(
        ok(&del) && del.get("data").is_none() && del["metadata"]["output"]["messages"].is_array()
    );
    h.shutdown().await;
}
