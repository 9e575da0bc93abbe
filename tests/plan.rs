//! `whm-migrate plan` against the simulator, through the binary: exact (every action
//! and conflict kind), deterministic (snapshots, equal fingerprints), cheap (a fixed
//! number of requests whatever the account count), and safe (no secret in any output,
//! no session when none is needed, a stale saved plan refused).

use crate::support::{Case, Out, SimContext, TOKEN};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use whm_migrate::plan::{Action, Plan};
use whm_migrate::sim::World;

/// The root password of the `plan` world's source.
const SOURCE_PW: &str = "rootpw";

/// The plan a run printed as JSON.
fn plan_of(run: &Out) -> Plan {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a JSON plan: {e}\n{}", run.stdout))
}

/// `manifest` (its `@URL@` replaced by the simulator's URL) in a temporary folder.
fn case(cx: &SimContext, manifest: &str) -> Case {
    Case::file(
        "migration.toml",
        &manifest.replace("@URL@", &cx.sim.base_url()),
    )
    .with_env("SRC_PW", SOURCE_PW)
}

/// The fixture `tests/fixtures/manifests/plan/NAME.toml`.
fn fixture(cx: &SimContext, name: &str) -> Case {
    case(cx, &manifest_fixture(name))
}

/// `whm-migrate plan MANIFEST ARGS…`.
async fn run_plan(case: &Case, args: &[&str]) -> Out {
    let mut all = vec!["plan", case.manifest.to_str().unwrap()];
    all.extend_from_slice(args);
    run_args(case, &all).await
}

/// `whm-migrate ARGS… --state-dir DIR --color never`, with the test's secrets in the
/// environment and nothing else of ours.
async fn run_args(case: &Case, args: &[&str]) -> Out {
    case.bin()
        .args(args)
        .arg("--state-dir")
        .arg(&case.state)
        .args(["--color", "never"])
        .run()
        .await
}

/// Snapshots `text` with the volatile parts replaced.
fn snapshot(case: &Case, name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(
        &regex_escape(&case.dir.path().display().to_string()),
        "[TMP]",
    );
    // Session ids: host (15 chars), initiator (5), timestamp, random padding.
    settings.add_filter(
        r"\b[A-Za-z0-9_]*(?:copya|noroo)\d{14}[A-Za-z0-9_]*\b",
        "[SESSION]",
    );
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[DIGEST]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

fn manifest_fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/manifests/plan/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn plan_world() -> SimContext {
    SimContext::start(crate::support::world("plan")).await
}

fn actions(plan: &Plan) -> Vec<(String, Action)> {
    plan.sources
        .iter()
        .flat_map(|s| s.items.iter().map(|i| (i.key.clone(), i.action)))
        .collect()
}

fn calls(cx: &SimContext, function: &str) -> u64 {
    cx.sim.stats().calls.get(function).copied().unwrap_or(0)
}

/// A world with `n` accounts on one source (`user0000`…), and a manifest listing them all.
fn generated(n: usize) -> (World, String) {
    let mut world =
        String::from("[sources.\"big.example.com\".credentials]\nroot_password = \"rootpw\"\n");
    let mut manifest = String::from(
        "version = 1\nname = \"big\"\n\n[destination]\nurl = \"@URL@\"\ntoken = { env = \"WHM_TEST_TOKEN\" }\n\n\
         [[sources]]\nname = \"big\"\nhost = \"big.example.com\"\nkind = \"root\"\npassword = { env = \"SRC_PW\" }\n",
    );
    for i in 0..n {
        let _ = write!(
            world,
            "[[sources.\"big.example.com\".accounts]]\nuser = \"user{i:04}\"\ndomain = \"site{i:04}.example\"\nbytesused = {}\n",
            1_000_000 + i
        );
        let _ = write!(manifest, "[[sources.accounts]]\nuser = \"user{i:04}\"\n");
    }
    (World::from_toml_str(&world).unwrap(), manifest)
}

// ---------------------------------------------------------------------------------------
// The scenarios, in every format.

#[tokio::test]
async fn a_fresh_migration_transfers_everything() {
    let cx = plan_world().await;
    let case = fixture(&cx, "fresh");
    let text = run_plan(&case, &[]).await;
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    snapshot(&case, "plan__fresh_text", &text.stdout);

    let json = run_plan(&case, &["--format", "json"]).await;
    assert_eq!(json.code, Some(0), "{}", json.stderr);
    let plan = plan_of(&json);
    assert_eq!(
        actions(&plan),
        [
            ("gold features".to_owned(), Action::Transfer),
            ("gold".to_owned(), Action::Transfer),
            ("alice".to_owned(), Action::Transfer),
            ("bob".to_owned(), Action::Transfer),
        ]
    );
    assert_eq!(plan.summary.bytes_to_transfer, 10_000_000_000 + 2_000_000);
    let bob = &plan.sources[0].items[3];
    assert_eq!(bob.localuser.as_deref(), Some("bob2"));
    assert_eq!(bob.domain.as_deref(), Some("bob.example"));
    assert_eq!(
        plan.sources[0].warnings[0].code, "module-warning",
        "the analysis' module warning reaches the plan"
    );
    snapshot(&case, "plan__fresh_json", &json.stdout);

    let md = run_plan(&case, &["--format", "markdown"]).await;
    assert_eq!(md.code, Some(0), "{}", md.stderr);
    snapshot(&case, "plan__fresh_markdown", &md.stdout);

    // Three plans, one session, never enqueued nor started.
    let stats = cx.sim.stats();
    assert_eq!(stats.sessions_created, 1);
    assert!(stats.enqueues.is_empty());
    assert_eq!(calls(&cx, "start_transfer_session"), 0);
}

#[tokio::test]
async fn a_half_done_migration_plans_only_what_is_missing() {
    let cx = plan_world().await;
    let case = fixture(&cx, "half-done");
    let text = run_plan(&case, &["--detailed-exitcode"]).await;
    assert_eq!(text.code, Some(2), "changes remain: {}", text.stderr);
    snapshot(&case, "plan__half_done_text", &text.stdout);

    let plan = plan_of(&run_plan(&case, &["--format", "json"]).await);
    assert_eq!(
        actions(&plan),
        [
            ("default".to_owned(), Action::AlreadyPresent),
            ("basic".to_owned(), Action::AlreadyPresent),
            ("gold".to_owned(), Action::Transfer),
            ("alice".to_owned(), Action::Transfer),
            ("bob".to_owned(), Action::Transfer),
            ("carol".to_owned(), Action::AlreadyPresent),
        ]
    );
    assert_eq!(
        (plan.summary.transfer, plan.summary.already_present),
        (3, 3)
    );
    // What is already there counts no bytes.
    assert_eq!(plan.summary.bytes_to_transfer, 10_000_000_000 + 2_000_000);
}

#[tokio::test]
async fn conflicts_block_apply_with_exit_1_and_name_what_is_in_the_way() {
    let cx = plan_world().await;
    let case = fixture(&cx, "conflicts");
    let text = run_plan(&case, &["--detailed-exitcode"]).await;
    assert_eq!(text.code, Some(1), "blockers win over --detailed-exitcode");
    assert!(text.stderr.contains("blocking items"), "{}", text.stderr);
    snapshot(&case, "plan__conflicts_text", &text.stdout);

    let json = run_plan(&case, &["--format", "json"]).await;
    assert_eq!(json.code, Some(1));
    let plan = plan_of(&json);
    let kinds: BTreeMap<String, Vec<String>> = plan.sources[0]
        .items
        .iter()
        .map(|i| {
            let kinds = i
                .conflicts
                .iter()
                .map(|c| {
                    serde_json::to_value(c).unwrap()["kind"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            (i.key.clone(), kinds)
        })
        .collect();
    let want: BTreeMap<String, Vec<String>> = [
        ("alice", vec![]),
        ("dave", vec!["domain-taken"]),
        ("erin", vec!["database-taken"]),
        ("frank", vec!["database-user-taken"]),
        ("taken", vec!["user-exists"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(kinds, want);
    // Databases in the way are the `database-taken` check, not a conflict action.
    assert_eq!(
        (
            plan.summary.conflict,
            plan.summary.transfer,
            plan.summary.blocking_checks
        ),
        (2, 3, 2)
    );
    snapshot(&case, "plan__conflicts_json", &json.stdout);

    let md = run_plan(&case, &["--format", "markdown"]).await;
    assert_eq!(md.code, Some(1));
    assert!(
        md.stdout.contains("#### Blocking apply (4)"),
        "{}",
        md.stdout
    );
    snapshot(&case, "plan__conflicts_markdown", &md.stdout);
}

#[tokio::test]
async fn items_the_source_lacks_are_missing_on_source() {
    let cx = plan_world().await;
    let case = fixture(&cx, "missing");
    let text = run_plan(&case, &[]).await;
    assert_eq!(text.code, Some(1), "missing items block apply");
    snapshot(&case, "plan__missing_text", &text.stdout);
    let plan = plan_of(&run_plan(&case, &["--format", "json"]).await);
    assert_eq!(
        actions(&plan),
        [
            ("platinum".to_owned(), Action::MissingOnSource),
            ("alice".to_owned(), Action::Transfer),
            ("ghost".to_owned(), Action::MissingOnSource),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Cheap: a fixed number of requests.

async fn requests_for(n: usize) -> (BTreeMap<String, u64>, u64) {
    let (world, manifest) = generated(n);
    let cx = SimContext::start(world).await;
    let case = case(&cx, &manifest);
    let run = run_plan(&case, &["--format", "json"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let plan = plan_of(&run);
    assert_eq!(plan.summary.transfer, n);
    let stats = cx.sim.stats();
    (stats.calls, stats.http_requests)
}

#[tokio::test]
async fn a_1000_account_plan_makes_exactly_the_requests_of_a_10_account_plan() {
    let (small, small_http) = requests_for(10).await;
    let (large, large_http) = requests_for(1000).await;
    assert_eq!(small, large);
    assert_eq!(small_http, large_http);
    let want: BTreeMap<String, u64> = [
        "listaccts",
        "listpkgs",
        "get_featurelists",
        "create_remote_root_transfer_session",
        "retrieve_transfer_session_remote_analysis",
        // The live schema of the one module sent (accounts), once per server version.
        "transfer_module_schema",
    ]
    .into_iter()
    .map(|f| (f.to_owned(), 1))
    .collect();
    assert_eq!(large, want, "one call of each, none per account");
    assert_eq!(large_http, 6);
}

// ---------------------------------------------------------------------------------------
// Exit codes, saved plans, sessions.

#[tokio::test]
async fn detailed_exitcode_is_0_without_changes_and_2_with_changes() {
    let cx = plan_world().await;
    let done = fixture(&cx, "all-present");
    let run = run_plan(&done, &["--detailed-exitcode"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("No changes"), "{}", run.stdout);

    let fresh = fixture(&cx, "fresh");
    assert_eq!(
        run_plan(&fresh, &["--detailed-exitcode"]).await.code,
        Some(2)
    );
    assert_eq!(
        run_plan(&fresh, &[]).await.code,
        Some(0),
        "without the flag, changes exit 0"
    );
}

#[tokio::test]
async fn a_source_whose_items_are_all_present_creates_no_session() {
    let cx = plan_world().await;
    let case = fixture(&cx, "all-present");
    let run = run_plan(&case, &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("no session needed to plan"),
        "{}",
        run.stdout
    );
    snapshot(&case, "plan__all_present_text", &run.stdout);
    assert_eq!(cx.sim.stats().sessions_created, 0);
    assert_eq!(calls(&cx, "create_remote_root_transfer_session"), 0);
    assert_eq!(calls(&cx, "retrieve_transfer_session_remote_analysis"), 0);
    let journal = case.journal("all-present");
    assert!(
        journal["sources"]["old1"]["session"].is_null(),
        "no session recorded: {journal:#}"
    );
    let md = run_plan(&case, &["--format", "markdown"]).await;
    assert!(
        md.stdout
            .starts_with("<!-- whm-migrate plan: all-present -->\n")
    );
    assert!(md.stdout.contains("No changes"), "{}", md.stdout);
}

#[tokio::test]
async fn a_second_plan_reuses_the_pending_session_of_the_journal() {
    let cx = plan_world().await;
    let case = fixture(&cx, "fresh");
    let first = plan_of(&run_plan(&case, &["--format", "json"]).await);
    let second = plan_of(&run_plan(&case, &["--format", "json"]).await);
    let (a, b) = (
        first.sources[0].session.clone().unwrap(),
        second.sources[0].session.clone().unwrap(),
    );
    assert!(a.created && !b.created, "{a:?} then {b:?}");
    assert_eq!(a.id, b.id);
    assert_eq!(b.state.name(), "PENDING");
    assert_eq!(cx.sim.stats().sessions_created, 1);
    assert_eq!(
        case.journal("fresh")["sources"]["old1"]["session"]["id"],
        a.id
    );
    // Deterministic: the same inputs give the same fingerprint and items.
    assert_eq!(first.fingerprint, second.fingerprint);
    assert_eq!(first.sources[0].items, second.sources[0].items);
    assert_eq!(cx.sim.session_state(&a.id).as_deref(), Some("PENDING"));
}

#[tokio::test]
async fn out_saves_the_json_plan_with_its_fingerprint_and_manifest() {
    let cx = plan_world().await;
    let case = fixture(&cx, "half-done");
    let out = case.path("PLAN.json");
    let run = run_plan(&case, &["--format", "text", "--out", out.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.starts_with("whm-migrate plan for"),
        "text on stdout"
    );
    assert!(run.stderr.contains("saved the plan to"), "{}", run.stderr);
    let saved: Plan = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(saved.format_version, whm_migrate::plan::FORMAT_VERSION);
    assert_eq!(saved.migration, "half-done");
    assert_eq!(
        saved.manifest.as_deref().map(Path::new),
        Some(case.manifest.as_path())
    );
    for digest in [&saved.fingerprint.manifest, &saved.fingerprint.observed] {
        assert_eq!(digest.len(), 64);
        assert!(digest.chars().all(|c| c.is_ascii_hexdigit()));
    }
    assert_eq!(saved.summary.transfer, 3);
    // The saved plan is the JSON plan of the same run.
    let json = plan_of(&run_plan(&case, &["--format", "json"]).await);
    assert_eq!(json.fingerprint, saved.fingerprint);
}

#[tokio::test]
async fn apply_refuses_a_saved_plan_made_stale_by_a_manifest_change() {
    let cx = plan_world().await;
    // The conflicts plan: apply refuses it for its blockers, so the control run below
    // changes nothing and shows that an unchanged saved plan is not called stale.
    let case = fixture(&cx, "conflicts");
    let out = case.path("PLAN.json");
    let run = run_plan(&case, &["--out", out.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(out.exists(), "a plan with blockers is saved too");
    let control = run_args(&case, &["apply", out.to_str().unwrap()]).await;
    assert_eq!(control.code, Some(1));
    assert!(
        control.stderr.contains("blocking items"),
        "{}",
        control.stderr
    );
    assert!(!control.stderr.contains("stale"), "{}", control.stderr);

    let mut manifest = std::fs::read_to_string(&case.manifest).unwrap();
    manifest.push_str("\n[[sources.accounts]]\nuser = \"carol\"\n");
    std::fs::write(&case.manifest, manifest).unwrap();
    let apply = run_args(&case, &["apply", out.to_str().unwrap()]).await;
    assert_eq!(apply.code, Some(1), "{}\n{}", apply.stdout, apply.stderr);
    assert!(apply.stderr.contains("stale"), "{}", apply.stderr);
    assert!(!apply.stderr.contains("blocking items"), "{}", apply.stderr);
    assert!(cx.sim.stats().enqueues.is_empty(), "nothing queued");
    assert_eq!(calls(&cx, "start_transfer_session"), 0);
    assert_eq!(cx.sim.stats().sessions_created, 1, "the session is reused");
}

// ---------------------------------------------------------------------------------------
// Secrets and Markdown size.

#[tokio::test]
async fn no_output_file_or_journal_contains_a_secret() {
    const PW: &str = "SENTINEL-SOURCE-PW-8d1e";
    const WRONG: &str = "SENTINEL-WRONG-PW-3c9a";
    let mut world = crate::support::world("plan");
    world
        .sources
        .get_mut("src.example.com")
        .unwrap()
        .credentials
        .root_password = PW.to_owned();
    let cx = SimContext::start(world).await;
    let case = fixture(&cx, "fresh").with_env("SRC_PW", PW);
    let out = case.path("PLAN.json");
    let mut outputs = Vec::new();
    for format in ["text", "json", "markdown"] {
        let run = run_plan(
            &case,
            &["-vv", "--format", format, "--out", out.to_str().unwrap()],
        )
        .await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        outputs.push((format!("{format} stdout"), run.stdout));
        outputs.push((format!("{format} stderr"), run.stderr));
    }
    // A wrong password fails the session's creation; the error must not echo it.
    let other = fixture(&cx, "conflicts").with_env("SRC_PW", WRONG);
    let failed = run_plan(&other, &["-vv"]).await;
    assert_eq!(failed.code, Some(1));
    assert!(!failed.stderr.is_empty());
    outputs.push(("failed stdout".into(), failed.stdout));
    outputs.push(("failed stderr".into(), failed.stderr));
    outputs.push(("saved plan".into(), std::fs::read_to_string(&out).unwrap()));
    assert!(outputs.last().unwrap().1.contains("fingerprint"));
    for c in [&case, &other] {
        for entry in std::fs::read_dir(&c.state).unwrap() {
            let path = entry.unwrap().path();
            if let Ok(text) = std::fs::read_to_string(&path) {
                outputs.push((path.display().to_string(), text));
            }
        }
    }
    assert!(
        outputs.iter().any(|(name, _)| name.ends_with("fresh.json")),
        "the journal was read"
    );
    for (name, text) in &outputs {
        for secret in [PW, WRONG, TOKEN] {
            assert!(!text.contains(secret), "{name} contains {secret}:\n{text}");
        }
    }
}

#[tokio::test]
async fn a_5000_account_markdown_plan_fits_a_comment_and_counts_what_it_left_out() {
    let (world, manifest) = generated(5000);
    let cx = SimContext::start(world).await;
    let case = case(&cx, &manifest);
    let run = run_plan(&case, &["--format", "markdown"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let md = &run.stdout;
    assert!(md.starts_with("<!-- whm-migrate plan: big -->\n"), "{md}");
    let chars = md.chars().count();
    assert!(chars < 60_000, "{chars} characters");
    assert!(chars > 50_000, "the budget is used, not wasted: {chars}");
    let shown = md
        .lines()
        .filter(|l| l.starts_with("+ AccountRemoteRoot"))
        .count();
    let left_out: usize = md
        .lines()
        .find_map(|l| {
            l.strip_prefix("**")?
                .strip_suffix(" item lines left out to fit a comment.**")
        })
        .unwrap_or_else(|| panic!("no left-out count:\n{}", &md[md.len() - 500..]))
        .parse()
        .unwrap();
    assert!(shown > 0);
    assert_eq!(shown + left_out, 5000);
    assert!(
        md.contains("| `+` transfer | 5000 |"),
        "the summary is whole"
    );
    // The cut closes the code block and the details it was in.
    assert_eq!(
        md.matches("```diff").count(),
        md.matches("```\n</details>").count()
    );
}

#[tokio::test]
async fn an_account_named_without_its_domain_is_checked_against_the_source() {
    // The destination has a user "taken" (taken.example); the source's "taken" is
    // other.example. Without a domain in the manifest only the analysis can tell them
    // apart, so the plan opens a session instead of calling it already present.
    let cx = plan_world().await;
    let case = case(
        &cx,
        r#"version = 1
name = "no-domain"
[destination]
url = "@URL@"
token = { env = "WHM_TEST_TOKEN" }
[[sources]]
name = "old1"
host = "src.example.com"
kind = "root"
password = { env = "SRC_PW" }
[[sources.accounts]]
user = "taken"
"#,
    );
    let run = run_plan(&case, &["--format", "json"]).await;
    assert_eq!(run.code, Some(1), "a conflict blocks: {}", run.stderr);
    assert_eq!(
        actions(&plan_of(&run)),
        [("taken".to_owned(), Action::Conflict)]
    );
    assert_eq!(cx.sim.stats().sessions_created, 1);
}
