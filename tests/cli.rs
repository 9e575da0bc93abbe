//! The command line around the manifest: `schema --check`, `validate` (offline, JSON,
//! online) and `schemas pull`, driven as a user would, against the simulator.

use crate::support::{SimContext, TOKEN, world};
use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_whm-migrate"))
}

fn manifest_for(dir: &Path, url: &str) -> std::path::PathBuf {
    let path = dir.join("m.toml");
    std::fs::write(
        &path,
        format!(
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
    .unwrap();
    path
}

#[test]
fn the_committed_manifest_schema_is_current() {
    let out = bin()
        .args(["schema", "--check"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn validate_reports_json_diagnostics_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "version = 1\nname = \"x\"\nbogus = 1\n").unwrap();
    let out = bin()
        .args(["validate", "--format", "json"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let diags: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = diags.as_array().unwrap();
    assert!(list.iter().any(|d| d["line"] == 3), "{diags}");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/demo.toml");
    let out = bin().arg("validate").arg(&demo).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_online_and_schemas_pull_read_the_live_server() {
    let cx = SimContext::start(world("basic")).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest_for(dir.path(), &cx.sim.base_url());
    let snapshots = dir.path().join("modules");
    let (online, pull) = tokio::task::spawn_blocking({
        let manifest = manifest.clone();
        let snapshots = snapshots.clone();
        let state = dir.path().join("state");
        move || {
            let run = |args: &[&str]| {
                bin()
                    .args(args)
                    .arg(&manifest)
                    .arg("--state-dir")
                    .arg(&state)
                    .env("WHM_TEST_TOKEN", TOKEN)
                    .env("SRC_PW", "rootpw")
                    .output()
                    .unwrap()
            };
            let online = run(&["validate", "--online"]);
            let pull = bin()
                .args(["schemas", "pull"])
                .arg(&manifest)
                .arg("--dir")
                .arg(&snapshots)
                .arg("--state-dir")
                .arg(&state)
                .env("WHM_TEST_TOKEN", TOKEN)
                .output()
                .unwrap();
            (online, pull)
        }
    })
    .await
    .unwrap();
    assert_eq!(
        online.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&online.stderr)
    );
    assert_eq!(
        pull.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&pull.stderr)
    );
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
    let bash = bin().args(["completions", "bash"]).output().unwrap();
    assert!(bash.status.success());
    let man = bin().arg("man").output().unwrap();
    assert!(man.status.success());
    let (bash, man) = (
        String::from_utf8_lossy(&bash.stdout),
        String::from_utf8_lossy(&man.stdout),
    );
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
        let out = bin().args([name, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
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
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let manifest = manifest_for(dir.path(), &cx.sim.base_url());
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "token = { env = \"WHM_TEST_TOKEN\" }",
        "token = { file = \"token\" }",
    );
    std::fs::write(&manifest, text).unwrap();
    let run = |mode: u32| {
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(mode)).unwrap();
        let manifest = manifest.clone();
        let state = dir.path().join("state");
        tokio::task::spawn_blocking(move || {
            bin()
                .arg("plan")
                .arg(&manifest)
                .arg("--state-dir")
                .arg(&state)
                .env("SRC_PW", "rootpw")
                .output()
                .unwrap()
        })
    };
    let open = run(0o644).await.unwrap();
    let stderr = String::from_utf8_lossy(&open.stderr);
    assert_eq!(open.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("can be read by other users"), "{stderr}");
    assert!(!stderr.contains(TOKEN) && !String::from_utf8_lossy(&open.stdout).contains(TOKEN));
    let closed = run(0o600).await.unwrap();
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert_eq!(closed.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("can be read by other users"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_credential_source_moves_its_account_in_a_user_session() {
    let cx = SimContext::start(world("basic")).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("user.toml");
    std::fs::write(
        &manifest,
        format!(
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
    .unwrap();
    let state = dir.path().join("state");
    let apply = || {
        let manifest = manifest.clone();
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            bin()
                .arg("apply")
                .arg(&manifest)
                .arg("--state-dir")
                .arg(&state)
                .args(["--progress", "plain"])
                .env("WHM_TEST_TOKEN", TOKEN)
                .env("ALICE_PW", "alicepw")
                .output()
                .unwrap()
        })
    };
    let first = apply().await.unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr)
    );
    let stats = cx.sim.stats();
    assert_eq!(
        stats.calls.get("create_remote_user_transfer_session"),
        Some(&1)
    );
    assert_eq!(stats.calls.get("create_remote_root_transfer_session"), None);
    assert_eq!(stats.enqueue_count("AccountRemoteUser/alice"), 1);
    assert_eq!(stats.restores.get("alice"), Some(&1));
    // A second run finds it on the destination and opens no session.
    let second = apply().await.unwrap();
    assert_eq!(second.status.code(), Some(0));
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
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("two.toml");
    std::fs::write(
        &manifest,
        format!(
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
    .unwrap();
    let state = dir.path().join("state");
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .arg("apply")
            .arg(&manifest)
            .arg("--state-dir")
            .arg(&state)
            .args(["--progress", "plain"])
            .env("WHM_TEST_TOKEN", TOKEN)
            .env("A_PW", "apw")
            .env("B_PW", "bpw")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
