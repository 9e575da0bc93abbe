//! Journals written by earlier releases still load, typed, and survive a save.

use whm_migrate::domain::SessionState;
use whm_migrate::journal::{ItemStatus, Retired, StateDir};

/// `tests/fixtures/journals/written-by-347f77a.json` was written by the release before
/// typed journal states (commit 347f77a), running the demo: `plan`, `apply`, then two
/// `plan`s with the simulated destination's memory wiped before each, so the second
/// found its recorded session gone (the `GONE` state name of that release).
fn old_journal(dir: &std::path::Path) -> StateDir {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/journals/written-by-347f77a.json"),
    )
    .unwrap();
    std::fs::write(dir.join("demo.json"), text).unwrap();
    StateDir::new(dir, "demo")
}

#[test]
fn a_journal_of_the_previous_release_loads_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let journal = old_journal(tmp.path()).load().unwrap();
    let old1 = &journal.sources["old1"];
    let current = old1.session.as_ref().unwrap();
    assert_eq!(current.state, SessionState::Pending);
    assert_eq!(current.retired, None);
    let [completed, gone] = old1.previous_sessions.as_slice() else {
        panic!("{:?}", old1.previous_sessions);
    };
    assert_eq!(completed.state, SessionState::Completed);
    assert_eq!(gone.retired, Some(Retired::UnknownToServer));
    assert_eq!(
        old1.items["AccountRemoteRoot/bob"].state,
        ItemStatus::Warnings
    );
    assert_eq!(
        old1.items["AccountRemoteRoot/alice"].state,
        ItemStatus::Done
    );
    assert!(old1.items.values().all(|i| i.state.is_restored()));
    assert_eq!(old1.runs.len(), 1);
}

#[test]
fn a_journal_of_the_previous_release_survives_a_save_and_load() {
    let tmp = tempfile::tempdir().unwrap();
    let state = old_journal(tmp.path());
    let journal = state.load().unwrap();
    state.save(&journal).unwrap();
    assert_eq!(state.load().unwrap(), journal);
}

#[test]
fn every_item_status_keeps_its_journal_name() {
    for (status, name) in [
        (ItemStatus::Enqueuing, "enqueuing"),
        (ItemStatus::Queued, "queued"),
        (ItemStatus::Transferring, "transferring"),
        (ItemStatus::Restoring, "restoring"),
        (ItemStatus::Done, "done"),
        (ItemStatus::Warnings, "warnings"),
        (ItemStatus::Failed, "failed"),
        (ItemStatus::NotRun, "not-run"),
        (ItemStatus::Unknown, "unknown"),
    ] {
        assert_eq!(serde_json::to_value(status).unwrap(), name);
        assert_eq!(status.name(), name);
        let back: ItemStatus = serde_json::from_value(serde_json::json!(name)).unwrap();
        assert_eq!(back, status);
    }
}

/// Follows nothing: the run is checked through the simulator's counters.
struct Quiet;

impl whm_migrate::apply::monitor::Watcher for Quiet {
    fn state(&mut self, _: &SessionState) {}
    fn progress(&mut self, _: &whm_migrate::translog::SessionProgress) {}
    fn note(&mut self, _: &str) {}
    fn logs_deferred(&mut self) {}
}

/// The `apply` world's manifest with its secrets in files beside it, loaded.
fn loaded_manifest(dir: &std::path::Path, url: &str) -> whm_migrate::manifest::Manifest {
    use crate::support::apply_world::every_item_manifest;
    use crate::support::{SRC_PASSWORD, TOKEN};
    let text = every_item_manifest("blocked", url)
        .replace(r#"{ env = "WHM_TEST_TOKEN" }"#, r#"{ file = "token" }"#)
        .replace(r#"{ env = "SRC_PW" }"#, r#"{ file = "password" }"#);
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    std::fs::write(dir.join("password"), SRC_PASSWORD).unwrap();
    std::fs::write(dir.join("migrate.toml"), text).unwrap();
    let mut manifest = whm_migrate::manifest::load(dir.join("migrate.toml")).unwrap();
    manifest
        .resolve_secrets(whm_migrate::manifest::SecretScope::All)
        .unwrap();
    manifest
}

#[tokio::test]
async fn a_journal_that_cannot_be_saved_stops_apply_before_it_enqueues_or_starts() {
    use crate::support::apply_world::apply_world;
    use crate::support::{SimContext, calls};
    use whm_migrate::apply::enqueue::ENQUEUES_PER_SESSION;
    use whm_migrate::apply::execute::{Context, execute};
    use whm_migrate::apply::poll::PollPolicy;
    use whm_migrate::journal::JournalHandle;
    use whm_migrate::migration::settings::{self, Credentials};
    use whm_migrate::modules::ModuleCatalog;
    use whm_migrate::plan::{diff, observe::observe};

    let cx = SimContext::start(apply_world()).await;
    let tmp = tempfile::tempdir().unwrap();
    let manifest = loaded_manifest(tmp.path(), &cx.sim.base_url());
    let desired = settings::desired(&manifest, &ModuleCatalog::bundled());
    let (roots, users) = settings::access(&manifest, Credentials::Manifest);
    // Plan as apply does, with a journal that saves.
    let good = JournalHandle::open(StateDir::new(tmp.path().join("state"), "blocked")).unwrap();
    let observed = observe(&cx.client, &desired, &roots, &good, "apply", false)
        .await
        .unwrap();
    let plan = diff(&desired, &observed);
    assert_eq!(plan.summary.transfer, 5, "{plan:#?}");
    // The same journal, now stored where nothing can be written (a file stands where
    // the state directory should be).
    let blocked_dir = tmp.path().join("not-a-dir");
    std::fs::write(&blocked_dir, b"").unwrap();
    let blocked = JournalHandle::with(StateDir::new(&blocked_dir, "blocked"), good.snapshot());
    let cx_run = Context {
        client: &cx.client,
        journal: &blocked,
        policy: PollPolicy::default(),
        enqueues_per_session: ENQUEUES_PER_SESSION,
    };
    let runs = execute(cx_run, &desired, &plan, &users, vec![Box::new(Quiet)]).await;
    let error = runs[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("not-a-dir"), "{error}");
    let stats = cx.sim.stats();
    assert_eq!(
        calls(&stats, "enqueue_transfer_item"),
        0,
        "{:?}",
        stats.calls
    );
    assert_eq!(
        calls(&stats, "start_transfer_session"),
        0,
        "{:?}",
        stats.calls
    );
}
