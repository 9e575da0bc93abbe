//! The Markdown report: its shape on the replayed session, server text that tries to
//! break out of a table cell, a code block or the page, and the size bound.

use std::time::Duration;

use super::markdown::MARKDOWN_LIMIT;
use super::summary::{ApplyReport, ItemOutcome, Outcome, SourceReport};
use super::summary_tests::sample;

#[test]
fn markdown_report_sets_each_estimate_against_the_run() {
    let md = sample().render_markdown("apply", "migrate.toml");
    insta::assert_snapshot!("markdown_report", md);
    assert!(md.starts_with(
        "<!-- whm-migrate apply: old-to-new1 -->\n### whm-migrate apply: `old-to-new1` — some items failed\n"
    ));
    // old1: estimated 10m00s, ran 11m23s, 12% short; old2 has neither.
    assert!(
        md.contains(
            "| old1 | `old1abc20261127010203wxyz` | COMPLETED | 5 items: 1 done, 1 done with warnings, 1 failed, 1 not run, 1 already present | 10m00s | 11m23s | -12% |"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "| old2 | `old2def20261127010205abcd` | ABORTED | 1 item: 0 done, 1 not run | — | — | — |"
        ),
        "{md}"
    );
    assert!(md.contains("**2 sources, 6 items: 1 done, 1 done with warnings, 1 failed, 2 not run, 1 already present.** Finished in 12m03s; exit code 3."), "{md}");
    // The failure's excerpt, collapsed and fenced.
    assert!(md.contains("<details><summary>old1 / alice: Disk quota exceeded while extracting the home directory of “alice”.</summary>\n\n```text\nRestoring the home directory…\n"), "{md}");
    // Deterministic: the same report, the same bytes.
    assert_eq!(md, sample().render_markdown("apply", "migrate.toml"));
    let rehearsal = sample().render_markdown("rehearse", "migrate.toml");
    assert!(
        rehearsal
            .starts_with("<!-- whm-migrate rehearse: old-to-new1 -->\n### whm-migrate rehearse: ")
    );
}

/// A report whose server-provided texts are hostile.
fn hostile() -> ApplyReport {
    let failure = "boom | `rm -rf` <script>alert(1)</script> $x$ [a](http://e)\n\u{1b}]52;c;SGVsbG8=\u{7}second line\n````\n</details>";
    let item = |key: &str, outcome| ItemOutcome {
        module: "AccountRemoteRoot".into(),
        key: key.into(),
        localuser: None,
        outcome,
        size: None,
    };
    let source = SourceReport {
        source: "old|1".into(),
        session_id: Some("id`with|pipe".into()),
        duration: Some(Duration::from_secs(60)),
        items: vec![
            item(
                "eve|<b>",
                Outcome::Failed {
                    failure: failure.into(),
                    excerpt: Vec::new(),
                },
            ),
            item(
                "mallory",
                Outcome::Failed {
                    failure: "short".into(),
                    excerpt: vec!["```".into(), "`````</details><script>x</script>".into()],
                },
            ),
        ],
        error: Some("stopped: <img src=x onerror=alert(1)> | `x`\nmore".into()),
        ..SourceReport::default()
    };
    ApplyReport {
        migration: "m".into(),
        elapsed: Duration::from_secs(61),
        sources: vec![source],
    }
}

/// The lines of `md` outside its fenced code blocks.
fn outside_code_blocks(md: &str) -> String {
    let mut fence: Option<&str> = None;
    let mut out = String::new();
    for line in md.lines() {
        match fence {
            Some(f) if line == f => fence = None,
            Some(_) => {}
            None if line.starts_with("```") => {
                fence = Some(line.trim_end_matches(|c: char| c != '`'));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn server_text_cannot_break_the_table_the_code_blocks_or_the_page() {
    let md = hostile().render_markdown("apply", "m.toml");
    insta::assert_snapshot!("markdown_hostile", md);
    // No raw HTML from the server outside code blocks (inside, it is text), and no
    // control character anywhere for a terminal that cats the file.
    let prose = outside_code_blocks(&md);
    for raw in ["<script>", "<img", "<b>", "</details><"] {
        assert!(!prose.contains(raw), "{raw:?} in {prose}");
    }
    assert!(!md.contains(['\u{1b}', '\u{7}']), "{md}");
    // The source's row keeps its 7 cells: every pipe in it is escaped; no estimate.
    let row = md
        .lines()
        .find(|l| l.starts_with("| old"))
        .expect("the source's row");
    let cells = row.replace("\\|", "").matches('|').count() - 1;
    assert_eq!(cells, 7, "{row}");
    assert!(row.ends_with("| — | 1m00s | — |"), "{row}");
    assert!(
        row.starts_with("| old\\|1 | id\\`with\\|pipe | — | 2 items: 0 done, 2 failed |"),
        "{row}"
    );
    // The error and the failure's first line stay on their line, escaped.
    assert!(
        md.contains("- **old\\|1**: stopped: &lt;img src=x onerror=alert\\(1\\)&gt; \\| \\`x\\`\n"),
        "{md}"
    );
    assert!(md.contains("<summary>old|1 / eve|&lt;b&gt;: boom | `rm -rf` &lt;script&gt;alert(1)&lt;/script&gt; $x$ [a](http://e)</summary>"), "{md}");
    // Each code block's fence is longer than any backtick run inside it, so
    // `</details>` stays text in the block and the block ends where the report ends it.
    assert!(md.contains("\n`````text\n\\x1b]52;c;SGVsbG8=\\x07second line\n````\n</details>\n`````\n\n</details>\n\n"), "{md}");
    assert!(
        md.contains(
            "\n``````text\n```\n`````</details><script>x</script>\n``````\n\n</details>\n\n"
        ),
        "{md}"
    );
}

#[test]
fn the_estimate_error_is_signed_and_relative_to_the_actual_duration() {
    let mut report = sample();
    let old1 = &mut report.sources[0];
    let row = |r: &ApplyReport| {
        r.render_markdown("apply", "m")
            .lines()
            .find(|l| l.starts_with("| old1 |"))
            .expect("row")
            .to_owned()
    };
    old1.estimate = Some(Duration::from_secs(660));
    old1.duration = Some(Duration::from_secs(600));
    assert!(row(&report).ends_with("| 11m00s | 10m00s | +10% |"));
    report.sources[0].estimate = Some(Duration::from_millis(600_400));
    assert!(row(&report).ends_with("| 10m00s | 10m00s | 0% |"));
    report.sources[0].duration = Some(Duration::ZERO);
    assert!(row(&report).ends_with("| 10m00s | 0s | — |"));
    report.sources[0].duration = None;
    assert!(row(&report).ends_with("| 10m00s | — | — |"));
}

#[test]
fn a_long_report_stays_under_the_limit_and_counts_what_it_left_out() {
    let mut report = sample();
    let failed = |n: usize| ItemOutcome {
        module: "AccountRemoteRoot".into(),
        key: format!("user{n:05}"),
        localuser: None,
        outcome: Outcome::Failed {
            failure: format!("Disk quota exceeded for user{n:05}."),
            excerpt: vec!["x".repeat(200); 3],
        },
        size: None,
    };
    report.sources[0].items.extend((0..2000).map(failed));
    let md = report.render_markdown("apply", "m.toml");
    assert!(md.len() <= MARKDOWN_LIMIT, "{}", md.len());
    assert!(md.contains("#### Failed items (2001)"), "{md}");
    let shown = md.matches("<details>").count();
    assert!(shown > 50, "{shown}");
    assert!(
        md.contains(&format!(
            "**Left out to fit a comment: {} of the failed items, 2 of the items not run, 1 of the items with warnings, 2 of the items to review.**",
            2001 - shown
        )),
        "{}",
        &md[md.len() - 600..]
    );
    // The table and the next step are never cut.
    assert!(md.contains("| old2 |") && md.ends_with("in a new session.\nFull item logs: `whm-migrate logs m.toml --source SOURCE --item KEY`.\n"));
}
