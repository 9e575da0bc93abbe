//! The final report as Markdown (`apply --markdown FILE`), for a CI job summary or a
//! pull-request comment.
//!
//! A marker line (`<!-- whm-migrate apply: NAME -->`, or `rehearse:`, for a CI step that
//! updates one comment), a heading with the outcome, the counts, then one table row per
//! source in manifest order: its session, state, items, and the plan's estimate at the
//! start against the actual duration. Then the sources' errors, the failed items (each in a
//! collapsed `<details>` block with its item-log excerpt, code fenced), the items not
//! run, the items with warnings, the items to review, and the next step. Items keep the
//! report's order (plan order) within a source, so the same report renders the same
//! bytes.
//!
//! Failure texts, messages, item names and state names come from servers this tool does
//! not control: in table cells and lists every character Markdown or HTML would read is
//! escaped, in `<summary>` the HTML ones, and code blocks are fenced with more backticks
//! than the text holds (GitHub still links a bare URL and notifies an `@name` in prose:
//! neither can run code or change the page). Control characters are written as `\x1b`
//! so that a `cat` of the file to a terminal cannot be steered either. The whole stays
//! under [`MARKDOWN_LIMIT`] characters: item blocks that do not fit are counted instead.

use std::time::Duration;

use super::format::{duration, first_line, item_label, plural};
use super::summary::{ApplyReport, ItemOutcome, Outcome, SourceReport};
use super::text::{counts_phrase, next_step};

/// The longest Markdown report, as for the Markdown plan and verification: GitHub
/// refuses comments over 65,536 characters.
pub const MARKDOWN_LIMIT: usize = 60_000;

/// Lines of a failure text shown when no excerpt is attached, as in the text report.
const FAILURE_LINES: usize = 5;

/// The marker a CI step looks for to update one comment instead of adding another;
/// `command` is `apply` or `rehearse`.
pub fn markdown_marker(command: &str, migration: &str) -> String {
    format!("<!-- whm-migrate {command}: {} -->", html(migration))
}

/// Control characters other than line breaks and tabs, written visibly.
fn visible(c: char, out: &mut String) {
    if c.is_control() && c != '\n' && c != '\t' {
        put!(out, "\\x{:02x}", u32::from(c));
    } else {
        out.push(c);
    }
}

/// Text for a table cell or a list item, on one line: HTML's `&<>` as entities, every
/// other character Markdown gives a meaning to backslash-escaped, line breaks as spaces.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.trim().chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' | '\n' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '|' | '~' | '#' | '!' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => visible(c, &mut out),
        }
    }
    out
}

/// Text inside an HTML element (`<summary>`), on one line: Markdown is not read there.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.trim().chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' | '\n' | '\t' => out.push(' '),
            c => visible(c, &mut out),
        }
    }
    out
}

/// A name as code (`` `old1abc…` ``) when it is plain, else as escaped text.
fn code(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))
    {
        format!("`{text}`")
    } else {
        inline(text)
    }
}

/// A fenced code block around `lines`: the fence is longer than any run of backticks in
/// them, so no line can close it.
fn fenced(lines: &[&str]) -> String {
    let mut body = String::new();
    let mut longest = 0;
    for line in lines {
        let mut run = 0;
        for c in line.trim_end().chars() {
            run = if c == '`' { run + 1 } else { 0 };
            longest = longest.max(run);
            visible(c, &mut body);
        }
        body.push('\n');
    }
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{body}{fence}\n")
}

/// A collapsed block: `summary` (raw text) and `lines` as code; a list item when there
/// are no lines to show.
fn details(summary: &str, lines: &[&str]) -> String {
    if lines.is_empty() {
        return format!("- {}\n", inline(summary));
    }
    format!(
        "<details><summary>{}</summary>\n\n{}\n</details>\n\n",
        html(summary),
        fenced(lines)
    )
}

/// `+8%` or `-12%`: the estimate's error relative to the actual duration, rounded.
fn estimate_error(estimate: Duration, actual: Duration) -> Option<String> {
    let (e, a) = (estimate.as_millis(), actual.as_millis());
    if a == 0 {
        return None;
    }
    let pct = (e.abs_diff(a) * 100 + a / 2) / a;
    Some(match pct {
        0 => "0%".to_owned(),
        _ if e >= a => format!("+{pct}%"),
        _ => format!("-{pct}%"),
    })
}

fn source_row(s: &SourceReport) -> String {
    let or_dash = |d: Option<Duration>| d.map_or_else(|| "—".to_owned(), duration);
    let error = s
        .estimate
        .zip(s.duration)
        .and_then(|(e, a)| estimate_error(e, a))
        .unwrap_or_else(|| "—".to_owned());
    format!(
        "| {} | {} | {} | {} | {} | {} | {error} |",
        inline(&s.source),
        s.session_id.as_deref().map_or_else(|| "—".to_owned(), code),
        s.final_state
            .as_ref()
            .map_or_else(|| "—".to_owned(), |st| inline(st.name())),
        inline(&counts_phrase(&s.counts())),
        or_dash(s.estimate),
        or_dash(s.duration),
    )
}

/// What the heading says of the whole apply.
fn outcome(report: &ApplyReport) -> &'static str {
    let c = report.counts();
    match report.exit_code() {
        1 => "a source stopped with an error",
        3 if c.failed > 0 => "some items failed",
        3 => "some items did not run",
        _ if c.done_with_warnings > 0 => "done, with warnings",
        _ => "done",
    }
}

/// The marker, heading, counts, source table and the sources' errors.
fn head(report: &ApplyReport, command: &str) -> String {
    let mut out = format!(
        "{}\n### whm-migrate {command}: {} — {}\n\n",
        markdown_marker(command, &report.migration),
        code(&report.migration),
        outcome(report)
    );
    putln!(
        out,
        "**{}, {}.** Finished in {}; exit code {}.\n",
        plural(report.sources.len() as u64, "source", "sources"),
        inline(&counts_phrase(&report.counts())),
        duration(report.elapsed),
        report.exit_code()
    );
    out.push_str("| source | session | state | items | estimate at the start | actual duration | estimate − actual |\n|---|---|---|---|---|---|---|\n");
    for source in &report.sources {
        putln!(out, "{}", source_row(source));
    }
    let compared = report
        .sources
        .iter()
        .any(|s| s.estimate.is_some() && s.duration.is_some());
    if compared {
        out.push_str("\n*estimate − actual*: the plan's estimate at the start against the session's actual duration, relative to the actual one; negative when the session took longer than estimated.\n");
    }
    let errors: Vec<String> = report
        .sources
        .iter()
        .filter_map(|s| {
            let e = s.error.as_deref()?;
            Some(format!(
                "- **{}**: {}",
                inline(&s.source),
                inline(first_line(e))
            ))
        })
        .collect();
    if !errors.is_empty() {
        putln!(out, "\n#### Errors\n\n{}", errors.join("\n"));
    }
    out
}

/// The sections of item blocks, in the order they are shown.
const SECTIONS: [&str; 4] = [
    "Failed items",
    "Items not run",
    "Items with warnings",
    "Items to review",
];

/// `item`'s block in its section (0..3 as in [`SECTIONS`]), or None for a clean item.
fn item_block(source: &str, item: &ItemOutcome) -> Option<(usize, String)> {
    let label = format!(
        "{source} / {}",
        item_label(&item.module, &item.key, item.localuser.as_deref())
    );
    match &item.outcome {
        Outcome::Failed { failure, excerpt } => {
            let lines: Vec<&str> = if excerpt.is_empty() {
                failure
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .skip(1)
                    .take(FAILURE_LINES)
                    .collect()
            } else {
                excerpt.iter().map(String::as_str).collect()
            };
            Some((
                0,
                details(&format!("{label}: {}", first_line(failure)), &lines),
            ))
        }
        Outcome::NotRun { reason } => {
            Some((1, format!("- {}\n", inline(&format!("{label}: {reason}")))))
        }
        outcome @ Outcome::DoneWithWarnings { first_messages, .. } => {
            let counts = outcome.warning_counts().unwrap_or_default();
            let lines: Vec<&str> = first_messages.iter().flat_map(|m| m.lines()).collect();
            let summary = format!("{label}: {}", super::format::counts_phrase(&counts));
            Some((2, details(&summary, &lines)))
        }
        Outcome::Done | Outcome::AlreadyPresent => None,
    }
}

/// Every item block and review line, by section, in report order within each.
fn blocks(report: &ApplyReport) -> [Vec<String>; 4] {
    let mut sections: [Vec<String>; 4] = Default::default();
    for s in &report.sources {
        for (section, block) in s.items.iter().filter_map(|i| item_block(&s.source, i)) {
            sections[section].push(block);
        }
    }
    for s in &report.sources {
        for (what, list) in [("dangerous", &s.dangerous), ("altered", &s.altered)] {
            for f in list {
                let label = item_label(&f.module, &f.key, None);
                let count = plural(f.count, &format!("{what} item"), &format!("{what} items"));
                let summary = format!("{} / {label}: {count}", s.source);
                let lines: Vec<&str> = f.messages.iter().flat_map(|m| m.lines()).collect();
                sections[3].push(details(&summary, &lines));
            }
        }
    }
    sections
}

/// Ends `out` with an empty line, so that what follows starts a new block.
fn blank_line(out: &mut String) {
    while !out.ends_with("\n\n") {
        out.push('\n');
    }
}

impl ApplyReport {
    /// The report as Markdown. `command` (`apply` or `rehearse`) names what ran in the
    /// marker and the heading; `manifest` is the path to name in the next-step hint.
    pub fn render_markdown(&self, command: &str, manifest: &str) -> String {
        let mut out = head(self, command);
        let footer = format!("{}\n", next_step(self, &manifest.replace('`', "'")));
        let reserve = footer.len() + 300;
        let mut left_out = [0usize; 4];
        for (i, blocks) in blocks(self).into_iter().enumerate() {
            for (kept, block) in blocks.iter().enumerate() {
                let heading = if kept == 0 {
                    format!("#### {} ({})\n\n", SECTIONS[i], blocks.len())
                } else {
                    String::new()
                };
                let full = left_out.iter().any(|n| *n > 0);
                if full || out.len() + heading.len() + block.len() + reserve > MARKDOWN_LIMIT {
                    left_out[i] = blocks.len() - kept;
                    break;
                }
                if !heading.is_empty() {
                    blank_line(&mut out);
                }
                out.push_str(&heading);
                out.push_str(block);
            }
        }
        let cut: Vec<String> = SECTIONS
            .iter()
            .zip(left_out)
            .filter(|(_, n)| *n > 0)
            .map(|(what, n)| format!("{n} of the {}", what.to_lowercase()))
            .collect();
        blank_line(&mut out);
        if !cut.is_empty() {
            putln!(
                out,
                "**Left out to fit a comment: {}.** Every item is in the text report and the JUnit file (`--junit FILE`).\n",
                cut.join(", ")
            );
        }
        out.push_str(&footer);
        out
    }
}
