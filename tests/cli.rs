//! The command line around the manifest: `schema --check`, `validate` (offline, JSON,
//! online) and `schemas pull`, driven as a user would, against the simulator.

use crate::support::{Case, SimContext, TOKEN, bin, world};
use std::path::Path;

/// A manifest moving bob from the `basic` world's source at `url`, as `m.toml`.
fn case(url: &str) -> Case {
    Case::file(
        "m.toml",
        &format!(
            r#"version = 1
name = "cli-test"
[destination]
url = "{url}"
token = {{ env = "WHM_TEST_TOKEN" }}
[[sources]]
name = "src"
host = "src.example.com"
kind = "root"
password = {{ env = "SRC_PW" }}
[[sources.accounts]]
user = "bob"
domain = "bob.example"
"#
        ),
    )
    .with_env("SRC_PW", "rootpw")
}

#[test]
fn the_committed_manifest_schema_is_current() {
    let out = bin()
        .args(["schema", "--check"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .run_blocking();
    assert!(out.success(), "{}", out.stderr);
}

#[test]
fn validate_reports_json_diagnostics_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "version = 1\nname = \"x\"\nbogus = 1\n").unwrap();
    let out = bin()
        .args(["validate", "--format", "json"])
        .arg(&bad)
        .run_blocking();
    assert_eq!(out.code, Some(1));
    let diags: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let list = diags.as_array().unwrap();
    assert!(list.iter().any(|d| d["line"] == 3), "{diags}");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/demo.toml");
    let out = bin().arg("validate").arg(&demo).run_blocking();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_online_and_schemas_pull_read_the_live_server() {
    let cx = SimContext::start(world("basic")).await;
    let case = case(&cx.sim.base_url());
    let snapshots = case.path("modules");
    let online = case
        .bin()
        .args(["validate", "--online"])
        .arg(&case.manifest)
        .arg("--state-dir")
        .arg(&case.state)
        .run()
        .await;
    let pull = case
        .bin()
        .args(["schemas", "pull"])
        .arg(&case.manifest)
        .arg("--dir")
        .arg(&snapshots)
        .arg("--state-dir")
        .arg(&case.state)
        .env_remove("SRC_PW")
        .run()
        .await;
    assert_eq!(online.code, Some(0), "{}", online.stderr);
    assert_eq!(pull.code, Some(0), "{}", pull.stderr);
    // The pulled snapshots say what the bundled ones say.
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/modules");
    let mut compared = 0;
    for entry in std::fs::read_dir(&bundled).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let ours: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let pulled: serde_json::Value =
            serde_json::from_slice(&std::fs::read(snapshots.join(name)).unwrap()).unwrap();
        assert_eq!(ours, pulled, "{}", name.to_string_lossy());
        compared += 1;
    }
    assert_eq!(compared, 19);
    let stats = cx.sim.stats();
    assert!(
        stats
            .calls
            .get("transfer_module_schema")
            .copied()
            .unwrap_or(0)
            >= 38
    );
}

#[test]
fn the_command_line_definition_is_consistent() {
    <whm_migrate::cli::args::Cli as clap::CommandFactory>::command().debug_assert();
}

#[test]
fn completions_and_the_man_page_name_every_command() {
    let bash = bin().args(["completions", "bash"]).run_blocking();
    assert!(bash.success());
    let man = bin().arg("man").run_blocking();
    assert!(man.success());
    let (bash, man) = (bash.stdout, man.stdout);
    for command in [
        "validate", "plan", "apply", "status", "logs", "pause", "resume", "abort",
    ] {
        assert!(bash.contains(command), "completions lack {command}");
        assert!(man.contains(command), "the man page lacks {command}");
    }
    assert!(
        man.starts_with(".ie") || man.contains(".TH whm-migrate 1"),
        "{man}"
    );
}

#[test]
fn every_command_help_has_an_example() {
    let cmd = <whm_migrate::cli::args::Cli as clap::CommandFactory>::command();
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        if name == "help" || name == "schemas" {
            continue;
        }
        let help = bin().args([name, "--help"]).run_blocking().stdout;
        assert!(
            help.contains("Example: ") && help.contains(&format!("whm-migrate {name}")),
            "`{name} --help` has no example:\n{help}"
        );
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_file_others_can_read_gets_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let cx = SimContext::start(world("basic")).await;
    let case = case(&cx.sim.base_url());
    let token = case.path("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let text = std::fs::read_to_string(&case.manifest).unwrap().replace(
        "token = { env = \"WHM_TEST_TOKEN\" }",
        "token = { file = \"token\" }",
    );
    std::fs::write(&case.manifest, text).unwrap();
    let run = |mode: u32| {
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(mode)).unwrap();
        // The token comes from its file only.
        case.command("plan", &[]).env_remove("WHM_TEST_TOKEN").run()
    };
    let open = run(0o644).await;
    let stderr = &open.stderr;
    assert_eq!(open.code, Some(0), "{stderr}");
    assert!(stderr.contains("can be read by other users"), "{stderr}");
    assert!(!stderr.contains(TOKEN) && !open.stdout.contains(TOKEN));
    let closed = run(0o600).await;
    let stderr = &closed.stderr;
    assert_eq!(closed.code, Some(0), "{stderr}");
    assert!(!stderr.contains("can be read by other users"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_credential_source_moves_its_account_in_a_user_session() {
    let cx = SimContext::start(world("basic")).await;
    let case = Case::file(
        "user.toml",
        &format!(
            r#"version = 1
name = "user-move"
[destination]
url = "{}"
token = {{ env = "WHM_TEST_TOKEN" }}
[[sources]]
name = "alice-cpanel"
host = "src.example.com"
kind = "user"
password = {{ env = "ALICE_PW" }}
[[sources.accounts]]
user = "alice"
domain = "alice.example"
"#,
            cx.sim.base_url()
        ),
    )
    .with_env("ALICE_PW", "alicepw");
    let apply = || case.command("apply", &[]).env_remove("SRC_PW").run();
    let first = apply().await;
    assert_eq!(first.code, Some(0), "{}\n{}", first.stdout, first.stderr);
    let stats = cx.sim.stats();
    assert_eq!(
        stats.calls.get("create_remote_user_transfer_session"),
        Some(&1)
    );
    assert_eq!(stats.calls.get("create_remote_root_transfer_session"), None);
    assert_eq!(stats.enqueue_count("AccountRemoteUser/alice"), 1);
    assert_eq!(stats.restores.get("alice"), Some(&1));
    // A second run finds it on the destination and opens no session.
    let second = apply().await;
    assert_eq!(second.code, Some(0));
    assert_eq!(cx.sim.stats().sessions_created, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_sources_run_concurrently_each_in_its_own_session() {
    let world = whm_migrate::sim::World::from_toml_str(
        r#"
[sources."a.example.com".credentials]
root_password = "apw"
[[sources."a.example.com".accounts]]
user = "anna"
domain = "anna.example"
bytesused = 3_000_000
[sources."b.example.com".credentials]
root_password = "bpw"
[[sources."b.example.com".accounts]]
user = "bert"
domain = "bert.example"
bytesused = 4_000_000
"#,
    )
    .unwrap();
    let cx = SimContext::start(world).await;
    let case = Case::file(
        "two.toml",
        &format!(
            r#"version = 1
name = "two"
[destination]
url = "{}"
token = {{ env = "WHM_TEST_TOKEN" }}
[[sources]]
name = "a"
host = "a.example.com"
kind = "root"
password = {{ env = "A_PW" }}
[[sources.accounts]]
user = "anna"
domain = "anna.example"
[[sources]]
name = "b"
host = "b.example.com"
kind = "root"
password = {{ env = "B_PW" }}
[[sources.accounts]]
user = "bert"
domain = "bert.example"
"#,
            cx.sim.base_url()
        ),
    )
    .with_env("A_PW", "apw")
    .with_env("B_PW", "bpw");
    let out = case.command("apply", &[]).env_remove("SRC_PW").run().await;
    let stdout = &out.stdout;
    assert_eq!(out.code, Some(0), "{stdout}\n{}", out.stderr);
    let stats = cx.sim.stats();
    assert_eq!(stats.sessions_created, 2);
    assert_eq!(
        stats.enqueues.len(),
        2,
        "one session per source: {:?}",
        stats.enqueues
    );
    assert_eq!(stats.restores.get("anna"), Some(&1));
    assert_eq!(stats.restores.get("bert"), Some(&1));
    assert!(
        stdout.contains("a (session") && stdout.contains("b (session"),
        "{stdout}"
    );
}
