//! The demo as a person sees it: under a pseudo-terminal (util-linux `script`) apply
//! draws progress bars and ends with a readable report; without a terminal it prints
//! plain timestamped lines and no escape sequences.

use crate::support::{BIN, bin};
use std::path::Path;
use std::process::Command;

fn demo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/demo.toml")
}

#[test]
fn under_a_terminal_apply_draws_bars_and_a_readable_report() {
    let state = tempfile::tempdir().unwrap();
    let command = format!(
        "{BIN} apply {} --state-dir {}",
        demo().display(),
        state.path().display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("WHM_MIGRATE_PROGRESS")
        .output()
        .expect("util-linux `script` runs the demo under a pseudo-terminal");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    // indicatif redraws lines in place (erase-line) and draws a bar of items.
    assert!(
        screen.contains("\u{1b}[2K"),
        "no progress drawing:\n{screen}"
    );
    assert!(screen.contains("6/6 items"), "no finished bar:\n{screen}");
    // The final report is plain text a person can read.
    assert!(screen.contains("Total over 1 source: 6 items"), "{screen}");
    assert!(screen.contains("COMPLETED"), "{screen}");
}

#[test]
fn without_a_terminal_apply_prints_plain_timestamped_lines() {
    let state = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("apply")
        .arg(demo())
        .arg("--state-dir")
        .arg(state.path())
        .run_blocking();
    assert!(out.success());
    let (stderr, stdout) = (&out.stderr, &out.stdout);
    assert!(
        !stderr.contains('\u{1b}') && !stdout.contains('\u{1b}'),
        "{stderr}"
    );
    let restored: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": restored"))
        .collect();
    assert_eq!(restored.len(), 6, "{stderr}");
    for line in restored {
        // 2026-11-27T01:02:03Z old1 …
        let stamp = line.split_whitespace().next().unwrap_or_default();
        assert!(
            stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "not timestamped: {line}"
        );
    }
    assert!(stdout.contains("Total over 1 source: 6 items"), "{stdout}");
}
