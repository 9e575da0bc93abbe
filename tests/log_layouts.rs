//! A whole `apply` under each log layout the simulator writes (REFERENCE §7.2): the
//! reference layout, the guide's (`type` inside `contents` or missing, `pid` a string)
//! and a mix. Every item must be done exactly once and journaled as done, not as
//! not-run, which is what a parser that drops the guide's records used to make of them.

use crate::support::SimContext;
use crate::support::apply_world::{
    ITEMS, apply_case, apply_world, assert_exactly_once, the_session,
};
use whm_migrate::sim::{LogLayout, SimOptions};

/// Runs `apply` against a simulator writing `layout`; checks the effects, the journal
/// and that the master log really was written in that layout.
async fn apply_under(layout: LogLayout) {
    let what = format!("{layout:?}");
    let sim = SimContext::with(
        apply_world(),
        SimOptions {
            log_layout: layout,
            ..SimOptions::default()
        },
    )
    .await;
    let name = format!("layout-{}", what.to_lowercase());
    let case = apply_case(&sim, &name);
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert_exactly_once(&sim, &what);
    assert!(
        out.stdout.contains("5 items: 4 done, 1 done with warnings"),
        "{what}: {}",
        out.stdout
    );

    let session = the_session(&sim.sim.stats());
    let journal = case.journal(&name);
    let items = journal["sources"]["old1"]["items"].as_object().unwrap();
    assert_eq!(items.len(), ITEMS.len(), "{what}: {journal:#}");
    for item in ITEMS {
        assert_eq!(items[item]["session"], session.as_str(), "{what} {item}");
        let state = items[item]["state"].as_str().unwrap();
        let want = if item == "AccountRemoteRoot/bob" {
            "warnings"
        } else {
            "done"
        };
        assert_eq!(state, want, "{what} {item}: {journal:#}");
    }

    assert_layout(&sim, &session, layout).await;
}

/// The master log's records are laid out as `layout` says.
async fn assert_layout(sim: &SimContext, session: &str, layout: LogLayout) {
    let log = sim
        .client
        .fetch_transfer_session_log(session, "master.log")
        .await
        .unwrap();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let top = records.iter().filter(|r| r.get("type").is_some()).count();
    let nested = records
        .iter()
        .filter(|r| r["contents"].get("type").is_some())
        .count();
    let string_pids = records.iter().filter(|r| r["pid"].is_string()).count();
    let n = records.len();
    let (top_ok, nested_ok, pids_ok) = match layout {
        LogLayout::Reference => (top == n, nested == 0, string_pids == 0),
        LogLayout::Docs => (top == 0, nested > 0 && nested < n, string_pids == n),
        LogLayout::Mixed => (
            top > 0 && top < n,
            nested > 0 && top + nested < n,
            string_pids > 0 && string_pids < n,
        ),
    };
    assert!(
        top_ok && nested_ok && pids_ok,
        "{layout:?}: {n} records, {top} with a top-level type, {nested} nested, \
         {string_pids} string pids:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_reads_the_reference_layout() {
    apply_under(LogLayout::Reference).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_reads_the_guides_layout() {
    apply_under(LogLayout::Docs).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_reads_a_mixed_layout() {
    apply_under(LogLayout::Mixed).await;
}
