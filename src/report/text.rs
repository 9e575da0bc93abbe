//! The final report as text for people.
//!
//! Per source: the session and its counts; then each failed item with its failure and
//! excerpt lines indented, each item done with warnings with its first messages, each
//! item not run with the reason, and the items to review for dangerous or altered
//! content. Items done cleanly are only counted (there may be 10,000 of them). The last
//! line says what to do next.

use super::format::{duration, first_line, item_label, plural};
use super::summary::{ApplyReport, Outcome, OutcomeCounts, SourceReport};

/// Lines of a failure text shown when no excerpt is attached.
const FAILURE_LINES: usize = 5;

/// `5 items: 1 done, 1 failed` (the counts that are not zero, `done` always).
pub(super) fn counts_phrase(c: &OutcomeCounts) -> String {
    let mut parts = vec![format!("{} done", c.done)];
    for (n, what) in [
        (c.done_with_warnings, "done with warnings"),
        (c.failed, "failed"),
        (c.not_run, "not run"),
        (c.already_present, "already present"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    format!(
        "{}: {}",
        plural(c.items as u64, "item", "items"),
        parts.join(", ")
    )
}

/// `ran 11m23s (estimated 10m00s at the start)`.
fn ran_phrase(ran: std::time::Duration, estimate: Option<std::time::Duration>) -> String {
    let estimate = estimate
        .map(|e| format!(" (estimated {} at the start)", duration(e)))
        .unwrap_or_default();
    format!("ran {}{estimate}", duration(ran))
}

fn write_source(out: &mut String, s: &SourceReport) {
    let session = match (&s.session_id, &s.final_state) {
        (Some(id), Some(state)) => format!(" (session {id}, {state})"),
        (Some(id), None) => format!(" (session {id})"),
        (None, Some(state)) => format!(" ({state})"),
        (None, None) => String::new(),
    };
    putln!(out, "{}{session}: {}", s.source, counts_phrase(&s.counts()));
    if let Some(ran) = s.duration {
        putln!(out, "  {}", ran_phrase(ran, s.estimate));
    }
    if let Some(error) = &s.error {
        putln!(out, "  ERROR: {}", first_line(error));
    }
    // Failures first, then items not run, then warnings; clean items are only counted.
    let rank = |o: &Outcome| match o {
        Outcome::Failed { .. } => 0,
        Outcome::NotRun { .. } => 1,
        _ => 2,
    };
    let mut listed: Vec<_> = s.items.iter().collect();
    listed.sort_by_key(|i| rank(&i.outcome));
    for item in listed {
        let label = item_label(&item.module, &item.key, item.localuser.as_deref());
        match &item.outcome {
            Outcome::Failed { failure, excerpt } => {
                putln!(out, "  FAILED {label}: {}", first_line(failure));
                let rest: Vec<&str> = if excerpt.is_empty() {
                    failure
                        .lines()
                        .map(str::trim_end)
                        .filter(|l| !l.trim().is_empty())
                        .skip(1)
                        .take(FAILURE_LINES)
                        .collect()
                } else {
                    excerpt.iter().map(String::as_str).collect()
                };
                for line in rest {
                    putln!(out, "      | {line}");
                }
            }
            Outcome::DoneWithWarnings { first_messages, .. } => {
                let counts = item.outcome.warning_counts().unwrap_or_default();
                putln!(
                    out,
                    "  warnings {label}: {}",
                    super::format::counts_phrase(&counts)
                );
                for message in first_messages {
                    putln!(out, "      - {}", first_line(message));
                }
            }
            Outcome::NotRun { reason } => {
                putln!(out, "  not run {label}: {reason}");
            }
            Outcome::Done | Outcome::AlreadyPresent => {}
        }
    }
    for (what, list) in [("dangerous", &s.dangerous), ("altered", &s.altered)] {
        if !list.is_empty() {
            let names: Vec<String> = list
                .iter()
                .map(|f| format!("{} ({})", item_label(&f.module, &f.key, None), f.count))
                .collect();
            putln!(out, "  review {what} items: {}", names.join(", "));
        }
    }
}

/// The last line: what to do next, naming `manifest` in the command to run.
pub(super) fn next_step(report: &ApplyReport, manifest: &str) -> String {
    let c = report.counts();
    let rerun = format!("`whm-migrate apply {manifest}`");
    if report.sources.iter().any(|s| s.error.is_some()) {
        return format!(
            "Next: fix the error above, then re-run {rerun}; items already done are not transferred again."
        );
    }
    let mut retry = Vec::new();
    if c.failed > 0 {
        retry.push(format!(
            "the {}",
            plural(c.failed as u64, "failed item", "failed items")
        ));
    }
    if c.not_run > 0 {
        retry.push(format!(
            "the {}",
            plural(c.not_run as u64, "item not run", "items not run")
        ));
    }
    if !retry.is_empty() {
        let mut line = format!(
            "Next: re-run {rerun} to retry only {} in a new session.",
            retry.join(" and ")
        );
        if c.failed > 0 {
            put!(
                line,
                "\nFull item logs: `whm-migrate logs {manifest} --source SOURCE --item KEY`."
            );
        }
        return line;
    }
    if c.done_with_warnings > 0 {
        return format!(
            "Next: nothing to retry; review the {} listed above.",
            plural(
                c.done_with_warnings as u64,
                "item restored with warnings",
                "items restored with warnings"
            )
        );
    }
    format!("Next: nothing left to do; re-running {rerun} will find no changes.")
}

impl ApplyReport {
    /// The report as text; `manifest` is the path to name in the next-step hint.
    pub fn render_text(&self, manifest: &str) -> String {
        let mut out = String::new();
        putln!(
            out,
            "Apply of {} finished in {}.",
            self.migration,
            duration(self.elapsed)
        );
        for source in &self.sources {
            out.push('\n');
            write_source(&mut out, source);
        }
        putln!(
            out,
            "\nTotal over {}: {}.",
            plural(self.sources.len() as u64, "source", "sources"),
            counts_phrase(&self.counts())
        );
        putln!(out, "{}", next_step(self, manifest));
        out
    }
}
