//! Plan rendering: text like `terraform plan`, stable JSON, and Markdown sized for a
//! pull-request comment. Meaning never depends on colour: every action has a symbol.

use crate::plan::checks::risk_meaning;
use crate::plan::model::{
    Action, Check, ItemPlan, Plan, SetBy, SourcePlan, Throughput, ThroughputSource,
};
use crate::units::{bytes, duration};
use std::collections::BTreeMap;
use std::time::Duration;

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

/// The one-line summary, e.g. `Plan: 3 to transfer (1.2 GiB), 1 already present, …`.
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    if !s.has_changes() && !s.has_blockers() {
        return format!(
            "No changes: the destination already has everything ({} already present, {} already queued).",
            s.already_present, s.already_queued
        );
    }
    let mut line = format!(
        "Plan: {} to transfer ({}), {} already present, {} already queued, {} conflict, {} missing on source, {} invalid.",
        s.transfer,
        bytes(s.bytes_to_transfer),
        s.already_present,
        s.already_queued,
        s.conflict,
        s.missing_on_source,
        s.invalid
    );
    let gates = gate_counts(plan);
    if !gates.is_empty() {
        put!(line, " Checks and risks: {gates}.");
    }
    line
}

// --- Checks and risks (docs/checks.md) ---------------------------------------------------

/// How many items a grouped line names before "and N more".
const LISTED: usize = 10;

/// `2 blocking checks, 1 waived, 3 items with unacknowledged risks`, or empty.
fn gate_counts(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut parts = Vec::new();
    if s.blocking_checks > 0 {
        parts.push(format!("{} blocking checks", s.blocking_checks));
    }
    if s.waived_checks > 0 {
        parts.push(format!("{} waived", s.waived_checks));
    }
    if s.unacknowledged_risks > 0 {
        parts.push(format!(
            "{} items with unacknowledged risks",
            s.unacknowledged_risks
        ));
    }
    parts.join(", ")
}

/// The key of a queue key (`AccountRemoteRoot/alice` → `alice`).
fn short(queue_key: &str) -> &str {
    queue_key.split_once('/').map_or(queue_key, |(_, k)| k)
}

/// Up to [`LISTED`] names, then how many more.
fn some_names<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    let mut out: Vec<&str> = names.take(LISTED).collect();
    out.dedup();
    let mut text = out.join(", ");
    if total > LISTED {
        put!(text, " and {} more", total - LISTED);
    }
    text
}

/// `blocker[older-destination]`, `waived blocker[database-taken] erin`.
fn check_head(check: &Check) -> String {
    let mut head = format!("{}[{}]", check.severity.name(), check.name);
    if check.waived {
        head.insert_str(0, "waived ");
    }
    if !check.items.is_empty() {
        put!(
            head,
            " {}",
            some_names(check.items.iter().map(|k| short(k)))
        );
    }
    head
}

/// Where to write a waiver for a check.
fn waive_where(check: &Check, source: &str) -> String {
    if check.items.is_empty() {
        format!("the [[sources]] table of “{source}”")
    } else {
        format!(
            "the item ({}), [defaults.accounts] or the [[sources]] table of “{source}”",
            some_names(check.items.iter().map(|k| short(k)))
        )
    }
}

/// The risk labels of an item: ` [risks: force (not acknowledged), dns-cutover]`.
fn risk_label(item: &ItemPlan) -> String {
    if item.risks.is_empty() {
        return String::new();
    }
    let names: Vec<String> = item
        .risks
        .iter()
        .map(|r| {
            if r.acknowledged {
                format!("{} (acknowledged)", r.name)
            } else {
                format!("{} (not acknowledged)", r.name)
            }
        })
        .collect();
    format!(" [risks: {}]", names.join(", "))
}

/// The checks that name an item, by queue key.
fn checks_by_item(source: &SourcePlan) -> BTreeMap<&str, Vec<&Check>> {
    let mut out: BTreeMap<&str, Vec<&Check>> = BTreeMap::new();
    for check in &source.checks {
        for key in &check.items {
            out.entry(key.as_str()).or_default().push(check);
        }
    }
    out
}

/// The check labels of an item: ` [checks: blocker database-taken, waived owner-missing]`.
fn check_label(checks: Option<&Vec<&Check>>) -> String {
    let Some(checks) = checks.filter(|c| !c.is_empty()) else {
        return String::new();
    };
    let mut names: Vec<String> = checks
        .iter()
        .map(|c| {
            if c.waived {
                format!("waived {}", c.name)
            } else {
                format!("{} {}", c.severity.name(), c.name)
            }
        })
        .collect();
    names.dedup();
    format!(" [checks: {}]", names.join(", "))
}

/// Why apply refuses the plan, one paragraph per blocking check and per unacknowledged
/// risk (grouped by source and name), each naming the items, the fix and how to waive
/// or acknowledge. Empty when no check or risk blocks.
pub fn gate_report(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for source in &plan.sources {
        for check in source.checks.iter().filter(|c| c.blocks()) {
            out.push(format!(
                "check {} in source “{}”: {}\n  fix: {}\n  or, to proceed anyway, add `waive = [\"{}\"]` to {}",
                check.name,
                source.name,
                check.message,
                check.fix,
                check.name,
                waive_where(check, &source.name)
            ));
        }
        let mut risks: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for item in &source.items {
            for risk in item.unacknowledged_risks() {
                risks.entry(&risk.name).or_default().push(&item.key);
            }
        }
        for (name, keys) in risks {
            out.push(format!(
                "risk {name} not acknowledged in source “{}” for {}: {}\n  to go ahead, add `acknowledge = [\"{name}\"]` to each account or to [defaults.accounts]; otherwise remove the option",
                source.name,
                some_names(keys.iter().copied()),
                risk_meaning(name)
            ));
        }
    }
    out
}

fn item_line(item: &ItemPlan, checks: Option<&Vec<&Check>>) -> String {
    let mut line = format!("{} {:<22} {}", symbol(item.action), item.module, item.key);
    if let Some(local) = &item.localuser
        && *local != item.key
    {
        put!(line, " → {local}");
    }
    let mut facts = Vec::new();
    if let Some(d) = &item.domain {
        facts.push(d.clone());
    }
    if let Some(size) = item.size {
        facts.push(bytes(size));
    }
    if !facts.is_empty() {
        put!(line, " ({})", facts.join(", "));
    }
    if let Some(p) = item.priority {
        let by = match item.priority_by {
            Some(SetBy::Manifest) => ", from the manifest",
            _ => "",
        };
        put!(line, " [priority {p}{by}");
        if let Some(after) = &item.prerequisite_user {
            let by = match item.prerequisite_by {
                Some(SetBy::Manifest) => " (from the manifest)",
                _ => ", its owner",
            };
            put!(line, "; after {after}{by}");
        }
        line.push(']');
    }
    if let Some(w) = &item.wave {
        put!(line, " {{wave {w}}}");
    }
    if item.action != Action::Transfer || item.reason.is_some() {
        put!(line, ": {}", item.action.name());
        if let Some(reason) = &item.reason {
            put!(line, ": {reason}");
        }
    }
    line.push_str(&risk_label(item));
    line.push_str(&check_label(checks));
    line
}

fn session_line(source: &SourcePlan) -> String {
    let kind = match source.kind {
        crate::plan::SessionKind::Root => "root",
        crate::plan::SessionKind::User => "user",
    };
    let session = match &source.session {
        Some(s) if s.unconfirmed.is_some() => format!(
            "session {} (state unconfirmed: last seen {}; it is followed, never replaced, until its state is read)",
            s.id, s.state
        ),
        Some(s) if s.created => format!("session {} ({}, created by this plan)", s.id, s.state),
        Some(s) => format!("session {} ({}, reused)", s.id, s.state),
        None => "no session needed to plan".to_owned(),
    };
    format!(
        "Source {} ({}, {kind}): {session}",
        source.name, source.host
    )
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
        put!(line, ", … ({} more)", accounts.len() - shown);
    }
    Some(format!("order: {line}"))
}

/// What the destination's live schema made the plan leave out, one line per key:
/// `not sent: priority (AccountRemoteRoot, set by the schedule) for alice, bob: no …`.
pub fn unsent_lines(source: &SourcePlan) -> Vec<String> {
    source
        .unsent
        .iter()
        .map(|u| {
            let by = match u.set_by {
                SetBy::Manifest => "set by the manifest",
                SetBy::Schedule => "chosen by the schedule",
            };
            format!(
                "not sent, the destination's schema lacks it: {} ({}, {by}) for {}: {}",
                u.key,
                u.module,
                some_names(u.items.iter().map(String::as_str)),
                u.cost
            )
        })
        .collect()
}

/// A source's schedule: items, bytes, workers and estimated duration (and its own
/// pace, when it was estimated at one).
pub fn estimate_line(source: &SourcePlan) -> Option<String> {
    let e = source.estimate.as_ref()?;
    let own = e.throughput.map_or_else(String::new, |t| {
        format!(
            " at this source's own measured pace ({}/s per transfer worker, {} per item step)",
            bytes(t.transfer_bytes_per_second),
            duration(Duration::from_millis(t.step_overhead_ms))
        )
    });
    (e.items > 0).then(|| {
        format!(
            "schedule: {} item(s), {}, over {} transfer and {} restore worker(s): about {}{own}",
            e.items,
            bytes(e.bytes),
            e.transfer_threads,
            e.restore_threads,
            duration(Duration::from_millis(e.duration_ms))
        )
    })
}

/// The assumed throughput, and where it comes from.
pub fn throughput_text(t: &Throughput) -> String {
    let restore = match t.restore_bytes_per_second {
        Some(r) => format!(", {}/s per restore worker", bytes(r)),
        None => ", restores included".to_owned(),
    };
    let overhead = if t.step_overhead_ms > 0 {
        format!(
            ", {} per item step",
            duration(Duration::from_millis(t.step_overhead_ms))
        )
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
        bytes(t.transfer_bytes_per_second)
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
            bytes(e.bytes),
            duration(Duration::from_millis(e.duration_ms)),
            throughput_text(&e.throughput)
        )
    })
}

/// The plan as text for a terminal.
pub fn text(plan: &Plan) -> String {
    let mut out = format!("whm-migrate plan for “{}”", plan.migration);
    if let Some(w) = &plan.wave {
        put!(out, ", wave “{w}”");
    }
    out.push('\n');
    for source in &plan.sources {
        putln!(out, "\n{}", session_line(source));
        if source.items.is_empty() {
            out.push_str("  (nothing listed for this source)\n");
        }
        let by_item = checks_by_item(source);
        for item in &source.items {
            let key = crate::plan::queue_key(&item.module, &item.key);
            putln!(out, "  {}", item_line(item, by_item.get(key.as_str())));
        }
        for check in &source.checks {
            putln!(out, "  {}: {}", check_head(check), check.message);
            if check.blocks() {
                putln!(
                    out,
                    "    fix: {}; or waive it: waive = [\"{}\"]",
                    check.fix,
                    check.name
                );
            } else if !check.waived {
                putln!(out, "    fix: {}", check.fix);
            }
        }
        for line in unsent_lines(source) {
            putln!(out, "  {line}");
        }
        if let Some(line) = estimate_line(source) {
            putln!(out, "  {line}");
        }
        if let Some(line) = order_line(source, 10) {
            putln!(out, "  {line}");
        }
    }
    putln!(out, "\n{}", summary_line(plan));
    if let Some(line) = overall_estimate_line(plan) {
        putln!(out, "{line}");
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
/// characters: the summary table, then the blockers and risks (always, as bounded
/// grouped lists), then collapsible details per source, cut with an exact count.
pub fn markdown(plan: &Plan) -> String {
    let mut head = format!(
        "{}\n### whm-migrate plan: `{}`\n\n",
        markdown_marker(&plan.migration),
        md_escape(&plan.migration)
    );
    let s = &plan.summary;
    if !s.has_changes() && !s.has_blockers() {
        putln!(head, "{}", summary_line(plan));
        return head;
    }
    md_summary(plan, &mut head);
    let footer = "\nThe full plan is in the JSON plan (`whm-migrate plan --out PLAN.json`).\n";
    let mut used = head.len() + footer.len() + 200;
    // Blockers and risks come whole: grouped lines, each group naming at most LISTED
    // items, so their size does not grow with the number of accounts.
    for line in md_gates(plan) {
        if used + line.len() + 1 > MARKDOWN_LIMIT {
            head.push_str("\n**Some blocker and risk lines were left out to fit a comment.**\n");
            break;
        }
        used += line.len() + 1;
        head.push_str(&line);
        head.push('\n');
    }
    head.push_str(&md_details(plan, used));
    head.push_str(footer);
    head
}

/// The counts per action and check, the bytes to transfer, the wave and the estimates.
fn md_summary(plan: &Plan, out: &mut String) {
    let s = &plan.summary;
    out.push_str("| action | items |\n|---|---:|\n");
    for action in Action::ALL {
        putln!(
            out,
            "| `{}` {} | {} |",
            symbol(action),
            action.name(),
            s.count(action)
        );
    }
    putln!(out, "| blocking checks | {} |", s.blocking_checks);
    putln!(out, "| waived checks | {} |", s.waived_checks);
    putln!(
        out,
        "| items with unacknowledged risks | {} |",
        s.unacknowledged_risks
    );
    putln!(
        out,
        "\n**{} to transfer, {}.**\n",
        s.transfer,
        bytes(s.bytes_to_transfer)
    );
    if let Some(w) = &plan.wave {
        putln!(out, "Wave: `{}`.\n", md_escape(w));
    }
    if let Some(line) = overall_estimate_line(plan) {
        putln!(out, "{}\n", md_escape(&line));
        for src in &plan.sources {
            if let Some(line) = estimate_line(src) {
                putln!(out, "- {}: {}", md_escape(&src.name), md_escape(&line));
            }
            if let Some(line) = order_line(src, 10) {
                putln!(out, "  - {}", md_escape(&line));
            }
        }
        out.push('\n');
    }
}

/// A collapsible block per source with every item, as far as fits after `used`
/// characters; the cut says how many item lines it left out.
fn md_details(plan: &Plan, mut used: usize) -> String {
    let mut tail = String::new();
    // (line, whether it shows an item): the cut counts the items it leaves out.
    let mut budget_lines: Vec<(String, bool)> = Vec::new();
    for src in &plan.sources {
        budget_lines.push((
            format!(
                "<details><summary>{} — {} items</summary>\n\n```diff",
                md_escape(&session_line(src)),
                src.items.len()
            ),
            false,
        ));
        let by_item = checks_by_item(src);
        for item in &src.items {
            let key = crate::plan::queue_key(&item.module, &item.key);
            budget_lines.push((
                item_line(item, by_item.get(key.as_str())).replace("```", "'''"),
                true,
            ));
        }
        budget_lines.push(("```\n</details>\n".to_owned(), false));
    }
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
        putln!(
            tail,
            "\n**{left_out} item lines left out to fit a comment.**"
        );
    }
    tail
}

/// The Markdown sections that are never cut: blocking items, checks and risks, waived
/// checks, warnings. Each (source, kind) group lists at most [`LISTED`] entries.
fn md_gates(plan: &Plan) -> Vec<String> {
    let mut gates = Gates::default();
    for src in &plan.sources {
        let name = md_escape(&src.name);
        gates.blocked_items(src, &name);
        gates.checks(src, &name);
        gates.risks(src, &name);
    }
    let mut out = Vec::new();
    let mut section = |title: String, lines: Vec<String>| {
        if !lines.is_empty() {
            out.push(title);
            out.extend(lines);
            out.push(String::new());
        }
    };
    section(
        format!("#### Blocking apply ({})\n", gates.blocking_count),
        gates.blocking,
    );
    section(format!("#### Risks ({})\n", gates.risk_count), gates.risks);
    section(
        format!("#### Waived checks ({})\n", plan.summary.waived_checks),
        gates.waived,
    );
    let warning_count = plan
        .sources
        .iter()
        .flat_map(|s| &s.checks)
        .filter(|c| !c.blocks() && !c.waived)
        .count();
    section(format!("#### Warnings ({warning_count})\n"), gates.warnings);
    let unsent: Vec<String> = plan
        .sources
        .iter()
        .flat_map(|src| {
            let name = md_escape(&src.name);
            unsent_lines(src)
                .into_iter()
                .map(move |line| format!("- {name}: {}", md_escape(&line)))
        })
        .collect();
    section(format!("#### Not sent ({})\n", unsent.len()), unsent);
    out
}

/// The lines of [`md_gates`]' sections, gathered source by source, and how many
/// entries the blocking and risk lines stand for (a group lists at most [`LISTED`]).
#[derive(Default)]
struct Gates {
    blocking: Vec<String>,
    blocking_count: usize,
    risks: Vec<String>,
    risk_count: usize,
    waived: Vec<String>,
    warnings: Vec<String>,
}

impl Gates {
    /// The items whose action blocks apply (conflicts, missing, invalid).
    fn blocked_items(&mut self, src: &SourcePlan, name: &str) {
        for action in Action::ALL.into_iter().filter(|a| a.blocks_apply()) {
            let items: Vec<&ItemPlan> = src.items.iter().filter(|i| i.action == action).collect();
            self.blocking_count += items.len();
            let by_item = checks_by_item(src);
            for item in items.iter().take(LISTED) {
                let key = crate::plan::queue_key(&item.module, &item.key);
                self.blocking.push(format!(
                    "- {name} `{}`",
                    md_item(item, by_item.get(key.as_str()))
                ));
            }
            if items.len() > LISTED {
                self.blocking.push(format!(
                    "- {name}: … and {} more `{}` items (see the details or the JSON plan)",
                    items.len() - LISTED,
                    action.name()
                ));
            }
        }
    }

    /// The pre-flight checks, grouped by name: blocking (with the fix and how to
    /// waive), waived, or warnings.
    fn checks(&mut self, src: &SourcePlan, name: &str) {
        let mut groups: BTreeMap<(bool, bool, &str), Vec<&Check>> = BTreeMap::new();
        for check in &src.checks {
            let kind = (!check.blocks(), check.waived, check.name.as_str());
            groups.entry(kind).or_default().push(check);
        }
        for ((_, _, check_name), checks) in groups {
            let first = checks[0];
            let list = if first.blocks() {
                self.blocking_count += checks.len();
                &mut self.blocking
            } else if first.waived {
                &mut self.waived
            } else {
                &mut self.warnings
            };
            for check in checks.iter().take(LISTED) {
                let mut line = format!(
                    "- {name} `{}`: {}",
                    check_head(check).replace('`', "'"),
                    md_escape(&check.message)
                );
                if check.blocks() {
                    put!(
                        line,
                        " — fix: {}; or waive it with `waive = [\"{check_name}\"]`",
                        md_escape(&check.fix)
                    );
                }
                list.push(line);
            }
            if checks.len() > LISTED {
                list.push(format!(
                    "- {name}: … and {} more `{check_name}`",
                    checks.len() - LISTED
                ));
            }
        }
    }

    /// The risks on the source's items, one line per risk naming some of the items.
    fn risks(&mut self, src: &SourcePlan, name: &str) {
        let mut by_risk: BTreeMap<(bool, &str), Vec<&str>> = BTreeMap::new();
        for item in &src.items {
            for risk in &item.risks {
                by_risk
                    .entry((risk.acknowledged, risk.name.as_str()))
                    .or_default()
                    .push(&item.key);
            }
        }
        for ((acknowledged, risk), keys) in by_risk {
            let names = md_escape(&some_names(keys.iter().copied()));
            self.risk_count += keys.len();
            self.risks.push(if acknowledged {
                format!(
                    "- {name} `{risk}` (acknowledged) on {}: {names}",
                    keys.len()
                )
            } else {
                format!(
                    "- {name} `{risk}` (not acknowledged) on {}: {names} — {}; acknowledge it with `acknowledge = [\"{risk}\"]`",
                    keys.len(),
                    risk_meaning(risk)
                )
            });
        }
    }
}

fn md_item(item: &ItemPlan, checks: Option<&Vec<&Check>>) -> String {
    item_line(item, checks).replace('`', "'")
}

fn md_escape(text: &str) -> String {
    text.replace('<', "&lt;").replace('>', "&gt;")
}
