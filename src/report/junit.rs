//! The final report as JUnit XML (`apply --junit FILE`), for CI test reporters
//! (GitLab, Jenkins, GitHub test-reporter actions).
//!
//! One `<testsuite>` per source, one `<testcase classname="SOURCE.MODULE" name="KEY">`
//! per item: failed items carry `<failure>` with the failure text and excerpt, items
//! not run `<skipped>`, items done with warnings a `<system-out>` with their counts and
//! messages. A source that stopped with an error gets a `<testcase name="(session)">`
//! with an `<error>`. Per-item times are not known, so testcases say `time="0.000"`;
//! suites carry the source's (or the apply's) wall time.

use crate::domain::SessionState;
use std::time::Duration;

use super::format::first_line;
use super::summary::{ApplyReport, ItemOutcome, Outcome, SourceReport};

/// Escapes text for XML element content or a double-quoted attribute.
///
/// `&`, `<`, `>`, `"` and `'` become entities; in attributes, tab, newline and carriage
/// return become character references so parsers keep them. Characters XML 1.0 does
/// not allow at all (other C0 controls, U+FFFE, U+FFFF) are written as `\u{1b}`.
pub fn escape_xml(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                put!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn attr(text: &str) -> String {
    escape_xml(text, true)
}

fn text(text: &str) -> String {
    escape_xml(text, false)
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn write_case(out: &mut String, source: &str, item: &ItemOutcome) {
    put!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\"",
        attr(&format!("{source}.{}", item.module)),
        attr(&item.key)
    );
    match &item.outcome {
        Outcome::Done => out.push_str("/>\n"),
        Outcome::AlreadyPresent => {
            out.push_str(">\n      <system-out>already present on the destination; not transferred</system-out>\n    </testcase>\n");
        }
        Outcome::Failed { failure, excerpt } => {
            let mut body = failure.trim_end().to_owned();
            for line in excerpt {
                body.push('\n');
                body.push_str(line);
            }
            put!(
                out,
                ">\n      <failure message=\"{}\" type=\"TransferFailed\">{}</failure>\n    </testcase>\n",
                attr(first_line(failure)),
                text(&body)
            );
        }
        Outcome::NotRun { reason } => {
            put!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                attr(reason)
            );
        }
        Outcome::DoneWithWarnings {
            warnings,
            skipped,
            dangerous,
            altered,
            first_messages,
        } => {
            let mut body = format!(
                "restored with {warnings} warnings, {skipped} skipped, {dangerous} dangerous, {altered} altered"
            );
            for message in first_messages {
                body.push('\n');
                body.push_str(message);
            }
            put!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                text(&body)
            );
        }
    }
}

fn write_suite(out: &mut String, s: &SourceReport, fallback: Duration) {
    let c = s.counts();
    let errors = usize::from(s.error.is_some());
    putln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{errors}\" skipped=\"{}\" time=\"{}\">",
        attr(&s.source),
        c.items + errors,
        c.failed,
        c.not_run,
        secs(s.elapsed.unwrap_or(fallback)),
    );
    let properties: Vec<(&str, &str)> = [
        ("session_id", s.session_id.as_deref()),
        (
            "final_state",
            s.final_state.as_ref().map(SessionState::name),
        ),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    if !properties.is_empty() {
        out.push_str("    <properties>\n");
        for (name, value) in properties {
            putln!(
                out,
                "      <property name=\"{name}\" value=\"{}\"/>",
                attr(value)
            );
        }
        out.push_str("    </properties>\n");
    }
    if let Some(error) = &s.error {
        put!(
            out,
            "    <testcase classname=\"{}\" name=\"(session)\" time=\"0.000\">\n      <error message=\"{}\" type=\"SourceError\">{}</error>\n    </testcase>\n",
            attr(&s.source),
            attr(first_line(error)),
            text(error)
        );
    }
    for item in &s.items {
        write_case(out, &s.source, item);
    }
    out.push_str("  </testsuite>\n");
}

/// The report as a JUnit XML document.
pub fn write_junit(report: &ApplyReport) -> String {
    let c = report.counts();
    let errors = report.sources.iter().filter(|s| s.error.is_some()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    putln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{errors}\" skipped=\"{}\" time=\"{}\">",
        attr(&format!("whm-migrate apply {}", report.migration)),
        c.items + errors,
        c.failed,
        c.not_run,
        secs(report.elapsed),
    );
    for source in &report.sources {
        write_suite(&mut out, source, report.elapsed);
    }
    out.push_str("</testsuites>\n");
    out
}
