//! The shared state backend on a real S3-compatible server (moto, on loopback): one
//! lease for runs on different machines, compare-and-swap journal writes, and a lease
//! that heals itself when its holder dies (issue 19).

use crate::support::apply_world::{
    apply_world, assert_exactly_once, every_item_manifest, slow, the_session,
};
use crate::support::s3::{self, AWS_ENV, S3Server};
use crate::support::{Case, SimContext, calls, finish, wait, wait_for};
use serde_json::Value;
use std::time::Duration;
use whm_migrate::journal::lease;
use whm_migrate::journal::shared::{AccessKey, SharedSettings, SharedStore};
use whm_migrate::journal::{Journal, JournalHandle, JournalStore, SharedJournal};
use whm_migrate::sim::Faults;

const NAME: &str = "shared";

/// A case for the `apply` world at `sim` whose state is in `bucket` on `store`, with
/// the store's credentials in its environment.
fn shared_case(sim: &SimContext, store: &S3Server, bucket: &str, lease: u64) -> Case {
    let text = every_item_manifest(NAME, &sim.sim.base_url()) + &store.state_table(bucket, lease);
    let mut case = Case::new(&text);
    for (k, v) in AWS_ENV {
        case = case.with_env(k, v);
    }
    case
}

/// The lock object, once it names a live holder.
async fn holder(store: &S3Server, bucket: &str) -> Option<Value> {
    let text = store.object(bucket, &format!("ci/{NAME}.lock")).await?;
    let lock: Value = serde_json::from_str(&text).unwrap();
    lock["released"].is_null().then_some(lock)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_apply_on_another_machine_names_the_holder_or_waits_for_it() {
    let store = s3::shared();
    let bucket = store.bucket("two-applies");
    let sim = SimContext::with(apply_world(), slow()).await;
    // Two runners: each its own local state directory, one bucket.
    let first = shared_case(&sim, store, &bucket, 30);
    let second = shared_case(&sim, store, &bucket, 30);
    let a = first.command("apply", &[]).spawn();
    let pid = a.id().unwrap();
    wait::until_async("the first apply to take the lock", async || {
        holder(store, &bucket).await.is_some()
    })
    .await;
    let held = holder(store, &bucket).await.unwrap();
    assert_eq!(held["pid"], pid, "{held:#}");
    assert_eq!(held["command"], "apply");
    // Without --lock-timeout: refused at once, naming the holder and its id.
    let refused = second.run("apply", &[]).await;
    refused.assert_code(1);
    assert!(
        refused.stderr.contains(&format!("(pid {pid})"))
            && refused.stderr.contains(held["id"].as_str().unwrap()),
        "{}",
        refused.stderr
    );
    // With it: waits for the first run, then finds nothing left to do.
    let waited = second.run("apply", &["--lock-timeout", "5m"]).await;
    let first_out = finish(a).await;
    first_out.assert_code(0);
    waited.assert_code(0);
    assert!(
        waited.stderr.contains("No changes") || waited.stdout.contains("No changes"),
        "{waited:#?}"
    );
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert_exactly_once(&sim, "two applies on one shared state");
    // `status` on a third machine reads the bucket's journal.
    let third = shared_case(&sim, store, &bucket, 30);
    let status = third.run("status", &[]).await;
    status.assert_code(0);
    assert!(status.stdout.contains(&the_session(&s)), "{status:#?}");
    // The journal is in the bucket, not in either runner's directory.
    assert!(!first.journal_path(NAME).exists());
    let journal: Value = serde_json::from_str(
        &store
            .object(&bucket, &format!("ci/{NAME}.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        journal["sources"]["old1"]["previous_sessions"][0]["id"],
        the_session(&s)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_holders_lease_runs_out_and_the_next_apply_follows_its_session() {
    let store = s3::shared();
    let bucket = store.bucket("killed-holder");
    let sim = SimContext::with(apply_world(), slow()).await;
    let first = shared_case(&sim, store, &bucket, 10);
    let second = shared_case(&sim, store, &bucket, 10)
        .with_env("GITHUB_SERVER_URL", "https://github.example")
        .with_env("GITHUB_REPOSITORY", "acme/migrations")
        .with_env("GITHUB_RUN_ID", "4242");
    let mut a = first.command("apply", &[]).spawn();
    let pid = a.id().unwrap();
    let reached = wait_for(&sim, &mut a, |s| s.transfers.values().sum::<u64>() >= 1).await;
    assert!(reached, "the session never transferred an account");
    a.start_kill().unwrap(); // SIGKILL: no release, no last save
    finish(a).await;
    let stale = holder(store, &bucket).await.expect("the dead run's lease");
    assert_eq!(stale["pid"], pid);
    // The lease has not run out yet: refused, naming the dead holder.
    let refused = second.run("apply", &[]).await;
    refused.assert_code(1);
    assert!(
        refused.stderr.contains(&format!("(pid {pid})")),
        "{}",
        refused.stderr
    );
    // Waiting takes it over once it runs out, with a warning naming the dead holder,
    // and follows the same session to its end.
    let out = second.run("apply", &["--lock-timeout", "2m"]).await;
    out.assert_code(0);
    assert!(
        out.stderr.contains("took over the lock") && out.stderr.contains(&format!("(pid {pid})")),
        "{}",
        out.stderr
    );
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert_exactly_once(&sim, "a lease taken over from a killed apply");
    // While it ran, the lock named its CI job; released at its end.
    let lock: Value = serde_json::from_str(
        &store
            .object(&bucket, &format!("ci/{NAME}.lock"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        lock["ci_job"],
        "https://github.example/acme/migrations/actions/runs/4242"
    );
    assert!(lock["released"].is_string(), "{lock:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_whose_store_goes_away_stops_before_its_next_change_to_a_server() {
    // A store of its own, to kill.
    let mut store = S3Server::start();
    let bucket = store.bucket("store-gone");
    let sim = SimContext::with(apply_world(), slow()).await;
    // The analysis answers slowly: the store dies between the session's creation and
    // the first enqueue.
    sim.sim.set_faults(Faults {
        answer_delay_ms: [(
            "retrieve_transfer_session_remote_analysis".to_owned(),
            2_000,
        )]
        .into(),
        ..Faults::default()
    });
    let case = shared_case(&sim, &store, &bucket, 10);
    let mut a = case.command("apply", &[]).spawn();
    let reached = wait_for(&sim, &mut a, |s| s.sessions_created >= 1).await;
    assert!(reached, "apply never created its session");
    store.kill();
    let out = finish(a).await;
    assert_eq!(out.code, Some(1), "{out:#?}");
    // It stops with the store's error (in the report, or before it when planning's
    // own save meets the dead store first); nothing else was sent.
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("cannot write the journal s3://"),
        "{out:#?}"
    );
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert!(s.enqueues.is_empty(), "{:#?}", s.enqueues);
    assert_eq!(calls(&s, "start_transfer_session"), 0, "{s:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_that_cannot_renew_its_lease_stops_following_and_says_why() {
    let mut store = S3Server::start();
    let bucket = store.bucket("lease-gone");
    let mut opts = slow();
    // Long enough that the run still follows when its lease can no longer be renewed.
    opts.time_scale.item_overhead_ms = 4_000;
    let sim = SimContext::with(apply_world(), opts).await;
    let case = shared_case(&sim, &store, &bucket, 10);
    let mut a = case.command("apply", &[]).spawn();
    let reached = wait_for(&sim, &mut a, |s| calls(s, "start_transfer_session") >= 1).await;
    assert!(reached, "apply never started its session");
    store.kill();
    let out = finish(a).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("could not be renewed"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("keep running"), "{}", out.stderr);
    // It stopped following before the session ended: nothing was left half-told.
    let s = sim.sim.stats();
    assert_eq!(s.sessions_created, 1, "{s:#?}");
    assert_eq!(calls(&s, "start_transfer_session"), 1, "{s:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_beside_a_running_apply_take_no_lock_and_lose_none_of_its_changes() {
    let store = s3::shared();
    let bucket = store.bucket("plans-beside");
    // A second source, whose account only a pull request's manifest names.
    let mut world = apply_world();
    let mut second = world.sources["src.example.com"].clone();
    second.accounts.truncate(1);
    second.accounts[0].user = "dave".to_owned();
    second.accounts[0].domain = "dave.example".to_owned();
    second.hostname = Some("src2.example.com".to_owned());
    world.sources.insert("src2.example.com".to_owned(), second);
    let mut opts = slow();
    opts.time_scale.item_overhead_ms = 600;
    let sim = SimContext::with(world, opts).await;
    let main = shared_case(&sim, store, &bucket, 30);
    let mut apply = main.command("apply", &[]).spawn();
    let started = wait_for(&sim, &mut apply, |s| {
        calls(s, "start_transfer_session") >= 1
    })
    .await;
    assert!(started, "apply never started its session");
    // Five pull requests add `old2` and plan with --no-keep, at once, on other runners.
    let pr_text = std::fs::read_to_string(&main.manifest).unwrap()
        + "\n[[sources]]\nname = \"old2\"\nhost = \"src2.example.com\"\nkind = \"root\"\npassword = { env = \"SRC_PW\" }\n\n[[sources.accounts]]\nuser = \"dave\"\ndomain = \"dave.example\"\n";
    let prs: Vec<Case> = (0..5)
        .map(|_| {
            let mut case = Case::new(&pr_text);
            for (k, v) in AWS_ENV {
                case = case.with_env(k, v);
            }
            case
        })
        .collect();
    let plans = prs
        .iter()
        .map(|pr| pr.run("plan", &["--no-keep", "--format", "json"]));
    let plans = futures::future::join_all(plans).await;
    for out in &plans {
        out.assert_code(0);
        let plan: Value = serde_json::from_str(&out.stdout).unwrap();
        let old2 = &plan["sources"][1];
        assert_eq!(old2["name"], "old2");
        assert_eq!(old2["items"][0]["action"], "transfer", "{old2:#}");
    }
    let out = finish(apply).await;
    out.assert_code(0);
    assert_exactly_once(&sim, "an apply with plans beside it");
    // Every writer's changes are in the journal: apply's session and items, and each
    // plan's analysis session, discarded.
    let journal: Value = serde_json::from_str(
        &store
            .object(&bucket, &format!("ci/{NAME}.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    let old1 = &journal["sources"]["old1"];
    assert_eq!(
        old1["previous_sessions"][0]["id"],
        the_session(&sim.sim.stats())
    );
    for user in ["alice", "bob", "carol"] {
        let state = &old1["items"][format!("AccountRemoteRoot/{user}")]["state"];
        assert!(state == "done" || state == "warnings", "{old1:#}");
    }
    let old2 = &journal["sources"]["old2"];
    assert!(
        old2["probes"].is_null(),
        "every probe was discarded: {old2:#}"
    );
    let discarded = old2["previous_sessions"].as_array().unwrap();
    assert_eq!(discarded.len(), 5, "{old2:#}");
    for session in discarded {
        assert_eq!(session["retired"], "discarded");
        let id = session["id"].as_str().unwrap();
        // An aborted PENDING session ends FAILED (REFERENCE §4.14).
        assert_eq!(sim.sim.session_state(id).as_deref(), Some("FAILED"));
    }
    // A rehearsal on a pull request's runner takes its speed from the applies the
    // bucket recorded, not from its own (empty) state directory.
    let rehearsal = prs[0].run("rehearse", &[]).await;
    rehearsal.assert_code(0);
    assert!(
        rehearsal
            .stderr
            .contains("measured from this migration's earlier applies"),
        "{rehearsal:#?}"
    );
}

#[test]
fn twenty_concurrent_journal_writers_lose_no_update() {
    let store = s3::shared();
    let bucket = store.bucket("twenty-writers");
    let settings = SharedSettings {
        bucket: bucket.clone(),
        prefix: "ci/".to_owned(),
        region: Some("us-east-1".to_owned()),
        endpoint: Some(store.endpoint.clone()),
        lease: Duration::from_secs(60),
        credentials: Some(AccessKey {
            id: AWS_ENV[0].1.to_owned(),
            secret: AWS_ENV[1].1.into(),
        }),
    };
    std::thread::scope(|scope| {
        for writer in 0..20 {
            let settings = settings.clone();
            scope.spawn(move || {
                let store = std::sync::Arc::new(SharedStore::connect(&settings).unwrap());
                let journal =
                    JournalHandle::open(JournalStore::Shared(SharedJournal::new(store, "many")))
                        .unwrap();
                for change in 0..10 {
                    journal
                        .commit(|j: &mut Journal| {
                            let source = j.sources.entry(format!("w{writer}")).or_default();
                            source
                                .unrecorded_sessions
                                .push(format!("{writer}-{change}"));
                            // A list every writer appends to.
                            j.sources
                                .entry("shared".to_owned())
                                .or_default()
                                .unrecorded_sessions
                                .push(format!("{writer}-{change}"));
                        })
                        .unwrap();
                }
            });
        }
    });
    let store = SharedStore::connect(&settings).unwrap();
    let journal = JournalStore::Shared(SharedJournal::new(std::sync::Arc::new(store), "many"))
        .load()
        .unwrap();
    let shared = &journal.sources["shared"].unrecorded_sessions;
    assert_eq!(shared.len(), 200, "{shared:?}");
    for writer in 0..20 {
        let own = &journal.sources[&format!("w{writer}")].unrecorded_sessions;
        let want: Vec<String> = (0..10).map(|c| format!("{writer}-{c}")).collect();
        assert_eq!(own, &want);
        for entry in &want {
            assert!(shared.contains(entry), "{entry} lost");
        }
    }
}

/// The backend's settings for `bucket` on `store`, with the tests' keys.
fn settings(store: &S3Server, bucket: &str) -> SharedSettings {
    SharedSettings {
        bucket: bucket.to_owned(),
        prefix: "ci/".to_owned(),
        region: Some("us-east-1".to_owned()),
        endpoint: Some(store.endpoint.clone()),
        lease: Duration::from_secs(30),
        credentials: Some(AccessKey {
            id: AWS_ENV[0].1.to_owned(),
            secret: AWS_ENV[1].1.into(),
        }),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_journal_moves_into_the_bucket_and_back_never_over_sessions() {
    let store = s3::shared();
    let bucket = store.bucket("push-pull");
    let sim = SimContext::start(apply_world()).await;
    // A migration applied with local state…
    let local = Case::new(&every_item_manifest(NAME, &sim.sim.base_url()));
    local.run("apply", &[]).await.assert_code(0);
    let session = the_session(&sim.sim.stats());
    // …moves into the bucket once its manifest names one.
    let shared = shared_case(&sim, store, &bucket, 30);
    let state = |way: &str, dir: &std::path::Path, extra: &[&str]| {
        shared
            .bin()
            .args(["state", way])
            .arg(&shared.manifest)
            .arg("--state-dir")
            .arg(dir)
            .args(extra)
            .run()
    };
    let pushed = state("push", &local.state, &[]).await;
    pushed.assert_code(0);
    assert!(
        pushed
            .stderr
            .contains(&format!("s3://{bucket}/ci/{NAME}.json")),
        "{}",
        pushed.stderr
    );
    let object = store
        .object(&bucket, &format!("ci/{NAME}.json"))
        .await
        .unwrap();
    assert!(object.contains(&session), "{object}");
    // The next apply on the bucket knows everything is done.
    let again = shared.run("apply", &[]).await;
    again.assert_code(0);
    assert!(again.stderr.contains("No changes"), "{}", again.stderr);
    assert_eq!(sim.sim.stats().sessions_created, 1);
    // An empty local journal is not pushed over one that records sessions.
    let empty = shared.path("empty");
    let refused = state("push", &empty, &[]).await;
    refused.assert_code(1);
    assert!(refused.stderr.contains(&session), "{}", refused.stderr);
    // Pull brings it back into a fresh directory.
    let fresh = shared.path("fresh");
    state("pull", &fresh, &[]).await.assert_code(0);
    let pulled = std::fs::read_to_string(fresh.join(format!("{NAME}.json"))).unwrap();
    assert!(pulled.contains(&session), "{pulled}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unlock_breaks_only_the_lock_it_names() {
    let store = s3::shared();
    let bucket = store.bucket("unlock");
    let sim = SimContext::start(apply_world()).await;
    let case = shared_case(&sim, store, &bucket, 30);
    // A holder elsewhere (this process), its lease renewed in the background.
    let backend = std::sync::Arc::new(SharedStore::connect(&settings(store, &bucket)).unwrap());
    let (holder, _) =
        lease::acquire(&backend, &format!("{NAME}.lock"), "apply", Duration::ZERO).unwrap();
    let id = holder.id();
    let held = case.run("apply", &[]).await;
    held.assert_code(1);
    assert!(
        held.stderr.contains("unlock MANIFEST") && held.stderr.contains(&id),
        "{}",
        held.stderr
    );
    let wrong = case
        .bin()
        .arg("unlock")
        .arg(&case.manifest)
        .arg("0000")
        .run()
        .await;
    wrong.assert_code(1);
    assert!(wrong.stderr.contains(&id), "{}", wrong.stderr);
    let broke = case
        .bin()
        .arg("unlock")
        .arg(&case.manifest)
        .arg(&id)
        .run()
        .await;
    broke.assert_code(0);
    assert!(
        broke.stderr.contains(&format!("broke the lock {id}")),
        "{}",
        broke.stderr
    );
    // The next run takes the lock at once, without a warning about a dead holder.
    let out = case.run("apply", &[]).await;
    out.assert_code(0);
    assert!(!out.stderr.contains("took over"), "{}", out.stderr);
    assert_exactly_once(&sim, "an apply after unlock");
    // The broken holder finds out at its next renewal and refuses to change anything.
    drop(holder);
}
