//! Plan rendering: text like `terraform plan`, stable JSON, and Markdown sized for a
//! pull-request comment. Meaning never depends on colour: every action has a symbol.

use crate::plan::model::{Action, ItemPlan, Plan, SetBy, SourcePlan, Throughput, ThroughputSource};
use std::fmt::Write as _;

/// The longest Markdown plan; GitHub refuses comments over 65,536 characters.
pub const MARKDOWN_LIMIT: usize = 60_000;

/// The symbol of an action in text and Markdown.
pub fn symbol(action: Action) -> &'static str {
    match action {
        Action::Transfer => "+",
        Action::AlreadyPresent => "=",
        Action::AlreadyQueued => "~",
        Action::Conflict => "!",
        Action::MissingOnSource => "?",
        Action::Invalid => "x",
    }
}

/// Bytes in binary units, one decimal (`1.5 GiB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut unit = 0;
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The one-line summary, e.g. `Plan: 3 to transfer (1.2 GiB), 1 already present, …`.
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    if !s.has_changes() && !s.has_blockers() {
        return format!(
            "No changes: the destination already has everything ({} already present, {} already queued).",
            s.already_present, s.already_queued
        );
    }
    format!(
        "Plan: {} to transfer ({}), {} already present, {} already queued, {} conflict, {} missing on source, {} invalid.",
        s.transfer,
        human_bytes(s.bytes_to_transfer),
        s.already_present,
        s.already_queued,
        s.conflict,
        s.missing_on_source,
        s.invalid
    )
}

fn item_line(item: &ItemPlan) -> String {
    let mut line = format!("{} {:<22} {}", symbol(item.action), item.module, item.key);
    if let Some(local) = &item.localuser
        && *local != item.key
    {
        let _ = write!(line, " → {local}");
    }
    let mut facts = Vec::new();
    if let Some(d) = &item.domain {
        facts.push(d.clone());
    }
    if let Some(size) = item.size {
        facts.push(human_bytes(size));
    }
    if !facts.is_empty() {
        let _ = write!(line, " ({})", facts.join(", "));
    }
    if let Some(p) = item.priority {
        let by = match item.priority_by {
            Some(SetBy::Manifest) => ", from the manifest",
            _ => "",
        };
        let _ = write!(line, " [priority {p}{by}");
        if let Some(after) = &item.prerequisite_user {
            let by = match item.prerequisite_by {
                Some(SetBy::Manifest) => " (from the manifest)",
                _ => ", its owner",
            };
            let _ = write!(line, "; after {after}{by}");
        }
        line.push(']');
    }
    if let Some(w) = &item.wave {
        let _ = write!(line, " {{wave {w}}}");
    }
    if item.action != Action::Transfer || item.reason.is_some() {
        let _ = write!(line, ": {}", item.action.name());
        if let Some(reason) = &item.reason {
            let _ = write!(line, ": {reason}");
        }
    }
    line
}

fn session_line(source: &SourcePlan) -> String {
    let kind = match source.kind {
        crate::plan::SourceKind::Root => "root",
        crate::plan::SourceKind::User => "user",
    };
    let session = match &source.session {
        Some(s) if s.created => format!("session {} ({}, created by this plan)", s.id, s.state),
        Some(s) => format!("session {} ({}, reused)", s.id, s.state),
        None => "no session needed to plan".to_owned(),
    };
    format!(
        "Source {} ({}, {kind}): {session}",
        source.name, source.host
    )
}

/// A duration for people: `45s`, `3m 20s`, `2h 05m`; under a second in milliseconds.
pub fn human_duration(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    match secs {
        0 => "0s".to_owned(),
        _ if ms < 1000 => format!("{ms}ms"),
        1..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600).div_ceil(60)),
    }
}

/// The order the accounts go in, by priority (at most `shown` names).
fn order_line(source: &SourcePlan, shown: usize) -> Option<String> {
    let mut accounts: Vec<&ItemPlan> = source
        .items
        .iter()
        .filter(|i| i.priority.is_some())
        .collect();
    if accounts.is_empty() {
        return None;
    }
    accounts.sort_by(|a, b| (a.priority, &a.key).cmp(&(b.priority, &b.key)));
    let mut line = accounts
        .iter()
        .take(shown)
        .map(|i| i.key.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if accounts.len() > shown {
        let _ = write!(line, ", … ({} more)", accounts.len() - shown);
    }
    Some(format!("order: {line}"))
}

/// A source's schedule: items, bytes, workers and estimated duration.
pub fn estimate_line(source: &SourcePlan) -> Option<String> {
    let e = source.estimate.as_ref()?;
    (e.items > 0).then(|| {
        format!(
            "schedule: {} item(s), {}, over {} transfer and {} restore worker(s): about {}",
            e.items,
            human_bytes(e.bytes),
            e.transfer_threads,
            e.restore_threads,
            human_duration(e.duration_ms)
        )
    })
}

/// The assumed throughput, and where it comes from.
pub fn throughput_text(t: &Throughput) -> String {
    let restore = match t.restore_bytes_per_second {
        Some(r) => format!(", {}/s per restore worker", human_bytes(r)),
        None => ", restores included".to_owned(),
    };
    let overhead = if t.step_overhead_ms > 0 {
        format!(", {} per item step", human_duration(t.step_overhead_ms))
    } else {
        String::new()
    };
    let from = match t.from {
        ThroughputSource::Default => {
            "the stated defaults: no apply of this migration has been measured yet"
        }
        ThroughputSource::Measured => "measured from this migration's earlier applies",
        ThroughputSource::Given => "given",
    };
    format!(
        "{}/s per transfer worker{restore}{overhead} ({from})",
        human_bytes(t.transfer_bytes_per_second)
    )
}

/// The overall estimate line: bytes, duration and the throughput assumed.
pub fn overall_estimate_line(plan: &Plan) -> Option<String> {
    let e = plan.estimate.as_ref()?;
    (e.bytes > 0
        || plan
            .sources
            .iter()
            .any(|s| s.estimate.as_ref().is_some_and(|x| x.items > 0)))
    .then(|| {
        format!(
            "Estimate: {} in about {} (sources run in parallel), assuming {}.",
            human_bytes(e.bytes),
            human_duration(e.duration_ms),
            throughput_text(&e.throughput)
        )
    })
}

/// The plan as text for a terminal.
pub fn text(plan: &Plan) -> String {
    let mut out = format!("whm-migrate plan for “{}”", plan.migration);
    if let Some(w) = &plan.wave {
        let _ = write!(out, ", wave “{w}”");
    }
    out.push('\n');
    for source in &plan.sources {
        let _ = writeln!(out, "\n{}", session_line(source));
        if source.items.is_empty() {
            out.push_str("  (nothing listed for this source)\n");
        }
        for item in &source.items {
            let _ = writeln!(out, "  {}", item_line(item));
        }
        for w in &source.warnings {
            let _ = writeln!(out, "  warning[{}]: {}", w.code, w.message);
        }
        if let Some(line) = estimate_line(source) {
            let _ = writeln!(out, "  {line}");
        }
        if let Some(line) = order_line(source, 10) {
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(plan));
    if let Some(line) = overall_estimate_line(plan) {
        let _ = writeln!(out, "{line}");
    }
    out.push_str("Legend: + transfer, = already present, ~ already queued, ! conflict, ? missing on source, x invalid\n");
    out
}

/// The plan as pretty JSON (stable field order; see `docs/plan-json.md`).
pub fn json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).unwrap_or_default();
    s.push('\n');
    s
}

/// The marker a CI step looks for to update one comment instead of adding another.
pub fn markdown_marker(migration: &str) -> String {
    format!("<!-- whm-migrate plan: {migration} -->")
}

/// The plan as Markdown for a pull-request comment, never over [`MARKDOWN_LIMIT`]
/// characters: the summary and blockers always, details cut with an exact count.
pub fn markdown(plan: &Plan) -> String {
    let mut head = format!(
        "{}\n### whm-migrate plan: `{}`\n\n",
        markdown_marker(&plan.migration),
        md_escape(&plan.migration)
    );
    let s = &plan.summary;
    if !s.has_changes() && !s.has_blockers() {
        let _ = writeln!(head, "{}", summary_line(plan));
        return head;
    }
    head.push_str("| action | items |\n|---|---:|\n");
    for action in Action::ALL {
        let _ = writeln!(
            head,
            "| `{}` {} | {} |",
            symbol(action),
            action.name(),
            s.count(action)
        );
    }
    let _ = writeln!(
        head,
        "\n**{} to transfer, {}.**\n",
        s.transfer,
        human_bytes(s.bytes_to_transfer)
    );
    if let Some(w) = &plan.wave {
        let _ = writeln!(head, "Wave: `{}`.\n", md_escape(w));
    }
    if let Some(line) = overall_estimate_line(plan) {
        let _ = writeln!(head, "{}\n", md_escape(&line));
        for src in &plan.sources {
            if let Some(line) = estimate_line(src) {
                let _ = writeln!(head, "- {}: {}", md_escape(&src.name), md_escape(&line));
            }
            if let Some(line) = order_line(src, 10) {
                let _ = writeln!(head, "  - {}", md_escape(&line));
            }
        }
        head.push('\n');
    }
    let blockers: Vec<(&SourcePlan, &ItemPlan)> = plan
        .sources
        .iter()
        .flat_map(|src| src.items.iter().map(move |i| (src, i)))
        .filter(|(_, i)| i.action.blocks_apply())
        .collect();
    let warnings: Vec<String> = plan
        .sources
        .iter()
        .flat_map(|src| {
            src.warnings
                .iter()
                .map(move |w| format!("- `{}` {}: {}", w.code, src.name, md_escape(&w.message)))
        })
        .collect();
    let mut tail = String::new();
    // (line, whether it shows an item): the cut counts the items it leaves out.
    let mut budget_lines: Vec<(String, bool)> = Vec::new();
    if !blockers.is_empty() {
        budget_lines.push((format!("#### Blocking apply ({})\n", blockers.len()), false));
        for (src, item) in &blockers {
            budget_lines.push((
                format!("- {} `{}`", md_escape(&src.name), md_item(item)),
                true,
            ));
        }
        budget_lines.push((String::new(), false));
    }
    if !warnings.is_empty() {
        budget_lines.push((format!("#### Warnings ({})\n", warnings.len()), false));
        budget_lines.extend(warnings.into_iter().map(|w| (w, false)));
        budget_lines.push((String::new(), false));
    }
    for src in &plan.sources {
        budget_lines.push((
            format!(
                "<details><summary>{} — {} items</summary>\n\n```diff",
                md_escape(&session_line(src)),
                src.items.len()
            ),
            false,
        ));
        for item in &src.items {
            budget_lines.push((item_line(item).replace("```", "'''"), true));
        }
        budget_lines.push(("```\n</details>\n".to_owned(), false));
    }
    let footer = "\nThe full plan is in the JSON plan (`whm-migrate plan --out PLAN.json`).\n";
    let mut used = head.len() + footer.len() + 200;
    let total = budget_lines.len();
    let mut kept = 0;
    for (line, _) in &budget_lines {
        if used + line.len() + 1 > MARKDOWN_LIMIT {
            break;
        }
        used += line.len() + 1;
        tail.push_str(line);
        tail.push('\n');
        kept += 1;
    }
    if kept < total {
        let left_out = budget_lines[kept..]
            .iter()
            .filter(|(_, item)| *item)
            .count();
        if tail.matches("```diff").count() > tail.matches("```\n</details>").count() {
            tail.push_str("```\n</details>\n");
        }
        let _ = writeln!(
            tail,
            "\n**{left_out} item lines left out to fit a comment.**"
        );
    }
    head.push_str(&tail);
    head.push_str(footer);
    head
}

fn md_item(item: &ItemPlan) -> String {
    item_line(item).replace('`', "'")
}

fn md_escape(text: &str) -> String {
    text.replace('<', "&lt;").replace('>', "&gt;")
}
