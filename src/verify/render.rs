//! A verification for review: short text (failures first, then one count line), JSON
//! (versioned, docs/verify-json.md), Markdown for a pull-request comment (under
//! [`MARKDOWN_LIMIT`], with a marker a CI step finds to update its comment), and JUnit
//! XML with one test case per item.

use super::{ItemVerdict, Outcome, Verdict, VerifyReport};
use crate::plan::render::MARKDOWN_LIMIT;
use crate::report::escape_xml;

/// The one-line count: `4 items: 3 ok, 1 warning, 0 failed, 0 not transferred`.
pub fn count_line(r: &VerifyReport) -> String {
    let c = r.counts;
    format!(
        "{} items: {} ok, {} warning, {} failed, {} not transferred",
        r.items.len(),
        c.ok,
        c.warning,
        c.failed,
        c.not_transferred
    )
}

/// Items in review order: not transferred, failed, warning, ok (manifest order within).
fn by_severity(r: &VerifyReport) -> Vec<&ItemVerdict> {
    let mut items: Vec<&ItemVerdict> = r.items.iter().collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.verdict));
    items
}

/// The text report: each item that is not `ok` with the checks that did not pass,
/// worst first, then the count line.
pub fn text(r: &VerifyReport) -> String {
    let mut out = String::new();
    for item in by_severity(r)
        .into_iter()
        .filter(|i| i.verdict != Verdict::Ok)
    {
        putln!(
            out,
            "{:<15} {}/{}",
            item.verdict.name(),
            item.source,
            item.label()
        );
        for c in item.problems() {
            putln!(out, "    {:<14} {}", c.name, c.detail);
        }
    }
    putln!(out, "{}", count_line(r));
    out
}

/// The JSON report (docs/verify-json.md).
pub fn json(r: &VerifyReport) -> String {
    let mut s = serde_json::to_string_pretty(r).unwrap_or_default();
    s.push('\n');
    s
}

/// The marker a CI step looks for to update one comment instead of adding another.
pub fn markdown_marker(migration: &str) -> String {
    format!("<!-- whm-migrate verify: {migration} -->")
}

fn md(text: &str) -> String {
    text.replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

/// The Markdown report: the counts, then a table of every item that is not `ok` with
/// its problems (worst first), cut with an exact count to stay under
/// [`MARKDOWN_LIMIT`] characters.
pub fn markdown(r: &VerifyReport) -> String {
    let mut out = format!(
        "{}\n### whm-migrate verify: `{}`\n\n**{}**\n",
        markdown_marker(&r.migration),
        md(&r.migration),
        count_line(r)
    );
    if let Some(w) = &r.wave {
        putln!(out, "\nWave: `{}`.", md(w));
    }
    let rows: Vec<String> = by_severity(r)
        .into_iter()
        .filter(|i| i.verdict != Verdict::Ok)
        .map(|i| {
            let problems: Vec<String> = i
                .problems()
                .map(|c| format!("**{}**: {}", c.name, md(&c.detail)))
                .collect();
            format!(
                "| {} | {}/{} | {} |",
                i.verdict.name(),
                md(&i.source),
                md(&i.label()),
                problems.join("<br>")
            )
        })
        .collect();
    if rows.is_empty() {
        out.push_str("\nEvery item verified `ok`.\n");
        return out;
    }
    out.push_str("\n| verdict | item | checks |\n|---|---|---|\n");
    let footer =
        "\nEvery check of every item is in the JSON report (`whm-migrate verify --format json`).\n";
    let reserve = footer.len() + 100;
    let total = rows.len();
    for (kept, row) in rows.into_iter().enumerate() {
        if out.len() + row.len() + 1 + reserve > MARKDOWN_LIMIT {
            putln!(
                out,
                "\n**{} item rows left out to fit a comment.**",
                total - kept
            );
            break;
        }
        out.push_str(&row);
        out.push('\n');
    }
    out.push_str(footer);
    out
}

/// JUnit XML: one `<testsuite>`, one `<testcase classname="SOURCE.MODULE" name="KEY">`
/// per item; `failed` and `not-transferred` carry a `<failure>` naming the checks,
/// `warning` a `<system-out>` with them.
pub fn junit(r: &VerifyReport) -> String {
    let c = r.counts;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    putln!(
        out,
        "<testsuites name=\"whm-migrate verify\" tests=\"{}\" failures=\"{}\">",
        r.items.len(),
        c.failed + c.not_transferred
    );
    putln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
        escape_xml(&r.migration, true),
        r.items.len(),
        c.failed + c.not_transferred
    );
    for item in &r.items {
        put!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            escape_xml(&format!("{}.{}", item.source, item.module), true),
            escape_xml(&item.label(), true)
        );
        let lines: Vec<String> = item
            .problems()
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        let body = escape_xml(&lines.join("\n"), false);
        match item.verdict {
            Verdict::Ok => out.push_str("/>\n"),
            Verdict::Warning => {
                putln!(
                    out,
                    ">\n      <system-out>{body}</system-out>\n    </testcase>"
                );
            }
            Verdict::Failed | Verdict::NotTransferred => {
                let first = item
                    .checks
                    .iter()
                    .find(|c| c.outcome == Outcome::Fail)
                    .map_or(String::new(), |c| format!("{}: {}", c.name, c.detail));
                putln!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"{}\">{body}</failure>\n    </testcase>",
                    escape_xml(&first, true),
                    item.verdict.name()
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
