//! Secrets never leak (issue 6 item 4): with sentinel values for the API token and the
//! source root password, every command at `-vv` (tracing at its most verbose on stderr)
//! keeps them out of stdout, stderr, the state dir, the saved plan and the JUnit file,
//! and sends none of them in a URL.

use crate::support::apply_world::{apply_case, every_item_manifest};
use crate::support::{self, Case, Out, SimContext};
use std::path::{Path, PathBuf};

/// The `apply` world's root password.
const PASSWORD: &str = support::SRC_PASSWORD;
const WRONG_PASSWORD: &str = "WRONGPW-SENTINEL-4c1d";
const WRONG_TOKEN: &str = "WRONGTOKEN-SENTINEL-9e2b";
const SECRETS: [&str; 4] = [support::TOKEN, PASSWORD, WRONG_PASSWORD, WRONG_TOKEN];

/// One run of a command and what it printed.
struct Run {
    what: String,
    out: Out,
}

/// `whm-migrate ARGS… -vv` in the case's folder, with `token` and `password` as the
/// secrets in its environment.
async fn run(case: &Case, args: &[&str], token: &str, password: &str) -> Run {
    let out = case
        .bin()
        .args(args)
        .arg("-vv")
        .env("WHM_TEST_TOKEN", token)
        .env("SRC_PW", password)
        .run()
        .await;
    Run {
        what: args.join(" "),
        out,
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
    let case = apply_case(&sim, "secrets");
    let dir = case.dir.path();
    let m = case.manifest.to_str().unwrap();
    let state = &case.state;
    let s = state.to_str().unwrap();
    let plan_out = dir.join("plan.json");
    let junit = dir.join("junit.xml");
    let markdown = dir.join("report.md");
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
                "--markdown",
                markdown.to_str().unwrap(),
            ],
            0,
        ),
        (vec!["status", m, "--state-dir", s], 0),
        (vec!["status", m, "--format", "json", "--state-dir", s], 0),
        (vec!["logs", m, "--state-dir", s], 0),
        (vec!["logs", m, "--item", "alice", "--state-dir", s], 0),
    ] {
        let r = run(&case, &args, tok, pw).await;
        assert_eq!(
            r.out.code,
            Some(want),
            "{}: {}\n{}",
            r.what,
            r.out.stdout,
            r.out.stderr
        );
        runs.push(r);
    }
    // -vv really is verbose: something was traced.
    assert!(
        runs.iter()
            .any(|r| r.out.stderr.contains("DEBUG") || r.out.stderr.contains("TRACE"))
    );

    // Error paths: a wrong token (401), and a wrong source password against a fresh
    // destination (the session cannot be created).
    let r = run(&case, &["status", m, "--state-dir", s], WRONG_TOKEN, pw).await;
    assert_ne!(r.out.code, Some(0), "{}: {}", r.what, r.out.stderr);
    assert!(
        r.out.stderr.contains("401") || r.out.stderr.to_lowercase().contains("token"),
        "{}",
        r.out.stderr
    );
    runs.push(r);
    let r = run(&case, &["plan", m, "--state-dir", s], WRONG_TOKEN, pw).await;
    assert_ne!(r.out.code, Some(0), "{}: {}", r.what, r.out.stderr);
    runs.push(r);
    let fresh = SimContext::start(support::world("apply")).await;
    let dir2 = tempfile::tempdir_in(dir).unwrap();
    let m2 = dir2.path().join("migrate.toml");
    std::fs::write(&m2, every_item_manifest("secrets", &fresh.sim.base_url())).unwrap();
    let state2 = dir.join("state2");
    let r = run(
        &case,
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
    assert_ne!(r.out.code, Some(0), "{}: {}", r.what, r.out.stderr);
    runs.push(r);

    for r in &runs {
        assert_clean(&format!("stdout of {}", r.what), &r.out.stdout);
        assert_clean(&format!("stderr of {}", r.what), &r.out.stderr);
    }
    // Every file written: the state dirs (journal, logs…), the saved plan, the JUnit
    // and Markdown reports.
    assert!(plan_out.exists() && junit.exists() && markdown.exists());
    for path in files(dir) {
        if path.extension().is_some_and(|e| e == "toml") {
            continue; // the manifests name environment variables only
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert_clean(&path.display().to_string(), &text);
    }
    #[cfg(unix)]
    for state in [state, &state2] {
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

/// A literal secret is never echoed by `validate`, wherever it sits in the manifest:
/// under a misspelled key, as a number, in an unknown key of a secret table, or where
/// a reference belongs (issue 20 item 9).
#[tokio::test]
async fn validate_never_echoes_a_literal_secret_wherever_it_stands() {
    let literals = [
        (
            "token",
            r#"token = { value = "TOKEN-SENTINEL-AAA1" }"#,
            "TOKEN-SENTINEL-AAA1",
        ),
        ("number", "password = 98765432", "98765432"),
        (
            "misspelled",
            r#"root_pasword = "ROOT-SENTINEL-BBB2""#,
            "ROOT-SENTINEL-BBB2",
        ),
        (
            "named",
            r#"api_secret = "NAMED-SENTINEL-CCC3""#,
            "NAMED-SENTINEL-CCC3",
        ),
        (
            "literal",
            r#"sshkey_passphrase = "PASS-SENTINEL-DDD4""#,
            "PASS-SENTINEL-DDD4",
        ),
    ];
    for (what, line, secret) in literals {
        let (destination_extra, source_extra) = if what == "token" {
            (line, "")
        } else {
            (r#"token = { env = "WHM_TEST_TOKEN" }"#, line)
        };
        let manifest = format!(
            "version = 1\nname = \"sec\"\n\n[destination]\nurl = \"https://new1.example.com:2087\"\n{destination_extra}\n\n[[sources]]\nname = \"old1\"\nhost = \"old1.example.com\"\nkind = \"root\"\n{source_extra}\n\n[[sources.accounts]]\nuser = \"bob\"\n"
        );
        let case = Case::new(&manifest);
        for format in ["text", "json"] {
            let out = case.run("validate", &["--format", format]).await;
            out.assert_code(1);
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{what} ({format}) echoes {secret}: {out:#?}"
            );
        }
    }
}
