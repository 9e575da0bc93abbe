//! Secrets never leak (issue 6 item 4): with sentinel values for the API token and the
//! source root password, every command at `-vv` (tracing at its most verbose on stderr)
//! keeps them out of stdout, stderr, the state dir, the saved plan and the JUnit file,
//! and sends none of them in a URL.

use crate::support::{self, SimContext};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_whm-migrate");
/// The `apply` world's root password.
const PASSWORD: &str = "ROOTPW-SENTINEL-7f3a";
const WRONG_PASSWORD: &str = "WRONGPW-SENTINEL-4c1d";
const WRONG_TOKEN: &str = "WRONGTOKEN-SENTINEL-9e2b";
const SECRETS: [&str; 4] = [support::TOKEN, PASSWORD, WRONG_PASSWORD, WRONG_TOKEN];

fn manifest(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("migrate.toml");
    std::fs::write(
        &path,
        format!(
            r#"version = 1
name = "secrets"

[destination]
url = "{url}"
token = {{ env = "WHM_TEST_TOKEN" }}

[[sources]]
name = "old1"
host = "src.example.com"
kind = "root"
password = {{ env = "SRC_PW" }}

[[sources.feature_lists]]
name = "gold features"

[[sources.packages]]
name = "gold"

[[sources.accounts]]
user = "alice"
domain = "alice.example"

[[sources.accounts]]
user = "bob"
domain = "bob.example"

[[sources.accounts]]
user = "carol"
domain = "carol.example"
"#
        ),
    )
    .unwrap();
    path
}

struct Run {
    what: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn run(args: &[&str], token: &str, password: &str) -> Run {
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .arg("-vv")
        .env("WHM_TEST_TOKEN", token)
        .env("SRC_PW", password)
        .env_remove("WHM_MIGRATE_PROGRESS")
        .env_remove("WHM_MIGRATE_LOG")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("the command did not finish")
        .unwrap();
    Run {
        what: args.join(" "),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} holds {secret}: {text}");
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn no_command_leaks_the_token_or_the_password_anywhere() {
    let sim = SimContext::start(support::world("apply")).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest_path = manifest(dir.path(), &sim.sim.base_url());
    let m = manifest_path.to_str().unwrap();
    let state = dir.path().join("state");
    let s = state.to_str().unwrap();
    let plan_out = dir.path().join("plan.json");
    let junit = dir.path().join("junit.xml");
    let (tok, pw) = (support::TOKEN, PASSWORD);

    let mut runs = Vec::new();
    for (args, want) in [
        (vec!["validate", m, "--state-dir", s], 0),
        (vec!["validate", m, "--online", "--state-dir", s], 0),
        (vec!["plan", m, "--state-dir", s], 0),
        (vec!["plan", m, "--format", "json", "--state-dir", s], 0),
        (vec!["plan", m, "--format", "markdown", "--state-dir", s], 0),
        (
            vec![
                "plan",
                m,
                "--out",
                plan_out.to_str().unwrap(),
                "--state-dir",
                s,
            ],
            0,
        ),
        (
            vec![
                "apply",
                m,
                "--state-dir",
                s,
                "--progress",
                "plain",
                "--junit",
                junit.to_str().unwrap(),
            ],
            0,
        ),
        (vec!["status", m, "--state-dir", s], 0),
        (vec!["status", m, "--format", "json", "--state-dir", s], 0),
        (vec!["logs", m, "--state-dir", s], 0),
        (vec!["logs", m, "--item", "alice", "--state-dir", s], 0),
    ] {
        let r = run(&args, tok, pw).await;
        assert_eq!(r.code, Some(want), "{}: {}\n{}", r.what, r.stdout, r.stderr);
        runs.push(r);
    }
    // -vv really is verbose: something was traced.
    assert!(
        runs.iter()
            .any(|r| r.stderr.contains("DEBUG") || r.stderr.contains("TRACE"))
    );

    // Error paths: a wrong token (401), and a wrong source password against a fresh
    // destination (the session cannot be created).
    let r = run(&["status", m, "--state-dir", s], WRONG_TOKEN, pw).await;
    assert_ne!(r.code, Some(0), "{}: {}", r.what, r.stderr);
    assert!(
        r.stderr.contains("401") || r.stderr.to_lowercase().contains("token"),
        "{}",
        r.stderr
    );
    runs.push(r);
    let r = run(&["plan", m, "--state-dir", s], WRONG_TOKEN, pw).await;
    assert_ne!(r.code, Some(0), "{}: {}", r.what, r.stderr);
    runs.push(r);
    let fresh = SimContext::start(support::world("apply")).await;
    let dir2 = tempfile::tempdir_in(dir.path()).unwrap();
    let m2 = manifest(dir2.path(), &fresh.sim.base_url());
    let state2 = dir.path().join("state2");
    let r = run(
        &[
            "apply",
            m2.to_str().unwrap(),
            "--state-dir",
            state2.to_str().unwrap(),
            "--progress",
            "plain",
        ],
        tok,
        WRONG_PASSWORD,
    )
    .await;
    assert_ne!(r.code, Some(0), "{}: {}", r.what, r.stderr);
    runs.push(r);

    for r in &runs {
        assert_clean(&format!("stdout of {}", r.what), &r.stdout);
        assert_clean(&format!("stderr of {}", r.what), &r.stderr);
    }
    // Every file written: the state dirs (journal, logs…), the saved plan, the JUnit.
    assert!(plan_out.exists() && junit.exists());
    for path in files(dir.path()) {
        if path.extension().is_some_and(|e| e == "toml") {
            continue; // the manifests name environment variables only
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert_clean(&path.display().to_string(), &text);
    }
    #[cfg(unix)]
    for state in [&state, &state2] {
        use std::os::unix::fs::PermissionsExt;
        for path in files(state) {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
    }
    // Nothing travelled in a URL: no request carried a query string.
    for sim in [&sim, &fresh] {
        let stats = sim.sim.stats();
        assert!(stats.http_requests > 0);
        assert!(
            stats.uris_with_query.is_empty(),
            "{:#?}",
            stats.uris_with_query
        );
    }
}
