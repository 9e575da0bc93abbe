//! The apply report, built from what each source's run did and what the plan said.

use crate::apply::execute::{SourceRun, not_queued, not_queued_reason};
use crate::apply::monitor::Followed;
use crate::plan::{Action, Plan, SourcePlan};
use crate::report::{ApplyReport, FIRST_MESSAGES, ItemOutcome, Outcome, SourceReport};
use crate::translog::{ItemKey, SessionProgress};
use std::time::Instant;

/// The report of an apply that started at `started`: per source, the followed
/// session's items (with failure excerpts and warning texts), the items the plan found
/// present, and the error that stopped a source.
pub fn apply_report(plan: &Plan, runs: &[SourceRun], started: Instant) -> ApplyReport {
    let sources = plan
        .sources
        .iter()
        .zip(runs)
        .map(|(source_plan, run)| source_report(source_plan, run))
        .collect();
    ApplyReport {
        migration: plan.migration.clone(),
        elapsed: started.elapsed(),
        sources,
    }
}

fn source_report(source_plan: &SourcePlan, run: &SourceRun) -> SourceReport {
    let planned: Vec<ItemKey> = source_plan
        .items
        .iter()
        .filter(|i| matches!(i.action, Action::Transfer | Action::AlreadyQueued))
        .map(|i| ItemKey::new(&i.module, &i.key))
        .collect();
    let mut report = match (&run.error, &run.followed) {
        // Stopped after following (a paused session): keep what it did.
        (Some(e), Some(f)) => {
            let mut r = followed_report(run, &planned, f);
            r.error = Some(e.clone());
            r
        }
        (Some(e), None) => SourceReport::failed(&run.name, run.session.as_deref(), &planned, e),
        (None, Some(f)) => {
            let mut r = followed_report(run, &planned, f);
            add_warning_texts(&mut r, f);
            r
        }
        (None, None) => SourceReport::from_progress(
            &run.name,
            run.session.as_deref(),
            None,
            &[],
            &SessionProgress::new(),
        ),
    };
    // An item the plan found present may also be in the followed session's log (an
    // earlier run's session restored it): count it once, with the session's outcome.
    for item in &source_plan.items {
        if item.action == Action::AlreadyPresent
            && !report
                .items
                .iter()
                .any(|i| i.module == item.module && i.key == item.key)
        {
            report
                .items
                .push(ItemOutcome::already_present(&ItemKey::new(
                    &item.module,
                    &item.key,
                )));
        }
    }
    report
}

fn followed_report(run: &SourceRun, planned: &[ItemKey], f: &Followed) -> SourceReport {
    let mut r = SourceReport::from_progress(
        &run.name,
        run.session.as_deref(),
        Some(&f.state),
        planned,
        &f.progress,
    );
    r.estimate = run.estimate;
    r.duration = run.took;
    for (key, excerpt) in &f.excerpts {
        r.attach_excerpt(key, excerpt);
    }
    // Queued, unconfirmed items the ended session never showed were not queued.
    let absent = not_queued(f, &run.unconfirmed);
    for item in &mut r.items {
        let key = item.item_key();
        if let Outcome::NotRun { reason } = &mut item.outcome
            && absent.contains(&&key)
        {
            *reason = not_queued_reason(&f.progress);
        }
    }
    r
}

/// Items restored with warnings whose master-log record carried no text get the
/// first lines of their item log.
fn add_warning_texts(r: &mut SourceReport, f: &Followed) {
    for (key, lines) in &f.warnings {
        if let Some(Outcome::DoneWithWarnings { first_messages, .. }) = r
            .items
            .iter_mut()
            .find(|i| i.module == key.item_type && i.key == key.item)
            .map(|i| &mut i.outcome)
            && first_messages.is_empty()
        {
            first_messages.extend(lines.iter().take(FIRST_MESSAGES).cloned());
        }
    }
}
