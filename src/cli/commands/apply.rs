//! `whm-migrate apply`: queue what is missing, start, follow and report — idempotently.

use crate::apply::execute::{Context, SourceRun, execute};
use crate::apply::monitor::Watcher;
use crate::apply::poll::PollPolicy;
use crate::cli::args::{ApplyArgs, GlobalArgs};
use crate::cli::commands::plan::{PlanScope, discard_pending, make_plan_with};
use crate::cli::printer::Printer;
use crate::cli::settings;
use crate::cli::watch::SourceWatcher;
use crate::cli::{EXIT_ERROR, EXIT_OK};
use crate::domain::SessionState;
use crate::journal::Journal;
use crate::plan::{Action, Plan, render};
use crate::report::{ApplyReport, ItemOutcome, Progress, SourceReport, write_junit};
use crate::translog::ItemKey;
use miette::{IntoDiagnostic, WrapErr, miette};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Applies a manifest (or a saved plan, refused when stale).
pub async fn run(printer: &Printer, global: &GlobalArgs, args: &ApplyArgs) -> miette::Result<i32> {
    let started = Instant::now();
    let (manifest_path, saved) = target(&args.target)?;
    let wave = match (&args.wave, saved.as_ref().and_then(|p| p.wave.as_ref())) {
        (Some(given), Some(planned)) if given != planned => {
            return Err(miette!(
                help = format!(
                    "apply the plan as it is (drop --wave), or make a plan of wave “{given}” with `whm-migrate plan {} --wave {given} --out PLAN.json`",
                    manifest_path.display()
                ),
                "the saved plan {} covers wave “{planned}”, not “{given}”",
                args.target.display()
            ));
        }
        (given, planned) => given.clone().or_else(|| planned.cloned()),
    };
    let scope = PlanScope {
        wave,
        throughput: None,
    };
    // A signal while planning stops before anything is queued; a session create cut
    // short stays marked in the journal and is reported as unrecorded by the next run.
    let planning = make_plan_with(printer, global, &manifest_path, "apply", &scope);
    let planned = tokio::select! {
        planned = planning => planned?,
        () = interrupted() => {
            printer.error(&format!(
                "interrupted while planning: nothing was queued or started\nresume with: whm-migrate apply {}",
                rerun_args(&manifest_path, global.state_dir.as_deref())
            ));
            return Ok(130);
        }
    };
    let Some(planned) = planned else {
        return Ok(EXIT_ERROR);
    };
    let crate::cli::commands::plan::Planned {
        manifest,
        destination,
        state,
        lock,
        mut journal,
        desired,
        plan,
        observed,
    } = planned;
    // Only a rehearsal needs what observing read; at 10,000 accounts it is megabytes.
    drop(observed);
    let plan = &plan;
    if let Some(saved) = &saved
        && saved.fingerprint != plan.fingerprint
    {
        discard_pending(
            printer,
            &destination.client,
            &mut journal,
            &state,
            plan,
            true,
        )
        .await;
        destination.close().await;
        return Err(miette!(
            help = format!(
                "make a new plan with `whm-migrate plan {} --out {}`, review it, then apply it",
                manifest_path.display(),
                args.target.display()
            ),
            "the saved plan {} is stale: the manifest or the servers changed since it was made",
            args.target.display()
        ));
    }
    if plan.summary.has_blockers() {
        printer.data(&render::text(plan));
        // A session this run created to read the analysis would otherwise sit PENDING
        // on the destination, holding the source's password, until someone cleans up.
        discard_pending(
            printer,
            &destination.client,
            &mut journal,
            &state,
            plan,
            true,
        )
        .await;
        destination.close().await;
        for gate in render::gate_report(plan) {
            printer.error(&format!("error: {gate}"));
        }
        printer.error("error: the plan has blocking items (conflict, missing on source, invalid, a blocking check or an unacknowledged risk); nothing was queued or started");
        return Ok(EXIT_ERROR);
    }
    let has_work = plan.summary.has_changes()
        || plan.summary.already_queued > 0
        || plan.sources.iter().any(|s| {
            s.session
                .as_ref()
                .is_some_and(|x| !x.created && x.state != "PENDING")
        });
    if !has_work {
        printer.info(&render::summary_line(plan));
        destination.close().await;
        return Ok(EXIT_OK);
    }
    printer.info(&summary_line(plan));
    let rerun = rerun_args(&manifest_path, global.state_dir.as_deref());

    let progress = Arc::new(Progress::new(args.progress));
    let watchers: Vec<Box<dyn Watcher + Send>> = desired
        .sources
        .iter()
        .map(|s| Box::new(SourceWatcher::new(progress.clone(), &s.name)) as Box<dyn Watcher + Send>)
        .collect();
    let (_, users) = settings::access(&manifest);
    // Everything apply needs from the manifest is in `desired` and `users` now.
    drop(manifest);
    let journal = Mutex::new(journal);
    let cx = Context {
        client: &destination.client,
        state: &state,
        journal: &journal,
        policy: PollPolicy::default(),
    };
    let mut run = Box::pin(execute(cx, &desired, plan, &users, watchers));
    let runs = tokio::select! {
        runs = &mut run => runs,
        () = interrupted() => {
            progress.finish();
            let message = {
                let j = journal.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let _ = state.save(&j);
                interrupted_message(&j, &rerun)
            };
            // A second signal ends the process at once.
            tokio::spawn(async {
                interrupted().await;
                std::process::exit(130);
            });
            printer.error(&message);
            drop(run);
            destination.close().await;
            return Ok(130);
        }
    };
    drop(run);
    progress.finish();
    let report = report(plan, &runs, started);
    printer.data(&report.render_text(&rerun));
    if let Some(junit) = &args.junit {
        let dir = junit
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        crate::journal::write_atomic(dir, junit, write_junit(&report).as_bytes())
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", junit.display()))?;
    }
    destination.close().await;
    drop(lock);
    Ok(report.exit_code())
}

/// The manifest to use, and the saved plan when the target is one.
pub(crate) fn target(path: &std::path::Path) -> miette::Result<(PathBuf, Option<Plan>)> {
    if path.extension().is_some_and(|e| e == "json") {
        let text = std::fs::read_to_string(path)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot read the plan {}", path.display()))?;
        let plan: Plan = serde_json::from_str(&text)
            .into_diagnostic()
            .wrap_err_with(|| format!("{} is not a whm-migrate plan", path.display()))?;
        let manifest = plan.manifest.clone().ok_or_else(|| {
            miette!("the plan {} does not name its manifest; make it with `whm-migrate plan MANIFEST --out PLAN.json`", path.display())
        })?;
        return Ok((PathBuf::from(manifest), Some(plan)));
    }
    Ok((path.to_path_buf(), None))
}

/// What to pass `whm-migrate apply` to pick this migration up again: the manifest and,
/// when one was given, the state dir (another one would not find the journal), quoted
/// for a POSIX shell.
pub(crate) fn rerun_args(manifest: &Path, state_dir: Option<&Path>) -> String {
    let mut args = shell_quote(&manifest.display().to_string());
    if let Some(dir) = state_dir {
        args.push_str(" --state-dir ");
        args.push_str(&shell_quote(&dir.display().to_string()));
    }
    args
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The plan's summary when apply has work: a plan with nothing new to queue still has
/// an earlier run's queued items or running session to finish.
fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    if s.has_changes() {
        return render::summary_line(plan);
    }
    format!(
        "Nothing new to queue ({} already present, {} already queued): finishing what an earlier run started.",
        s.already_present, s.already_queued
    )
}

/// What an interrupted apply leaves behind, per the journal: sessions started keep
/// running on the destination; sessions not started yet wait for the next run.
fn interrupted_message(journal: &Journal, rerun: &str) -> String {
    let mut started = Vec::new();
    let mut waiting = Vec::new();
    for (name, source) in &journal.sources {
        let Some(session) = &source.session else {
            continue;
        };
        let line = format!("{name} (session {})", session.id);
        if SessionState::from_name(&session.state) == SessionState::Pending {
            waiting.push(line);
        } else {
            started.push(line);
        }
    }
    let mut out = String::from("interrupted: stopped following.");
    if !started.is_empty() {
        let _ = write!(
            out,
            "\nstill running on the destination: {}",
            started.join(", ")
        );
    }
    if !waiting.is_empty() {
        let _ = write!(
            out,
            "\nnot started yet (their queued items wait for the next apply): {}",
            waiting.join(", ")
        );
    }
    let _ = write!(out, "\nresume with: whm-migrate apply {rerun}");
    if !started.is_empty() {
        let _ = write!(
            out,
            "\npause or abort with: whm-migrate pause|abort {rerun}"
        );
    }
    out
}

pub(crate) async fn interrupted() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

pub(crate) fn report(plan: &Plan, runs: &[SourceRun], started: Instant) -> ApplyReport {
    let sources = plan
        .sources
        .iter()
        .zip(runs)
        .map(|(source_plan, run)| {
            let planned: Vec<ItemKey> = source_plan
                .items
                .iter()
                .filter(|i| matches!(i.action, Action::Transfer | Action::AlreadyQueued))
                .map(|i| ItemKey::new(&i.module, &i.key))
                .collect();
            let mut report = match (&run.error, &run.followed) {
                // Stopped after following (a paused session): keep what it did.
                (Some(e), Some(f)) => {
                    let mut r = SourceReport::from_progress(
                        &run.name,
                        run.session.as_deref(),
                        Some(&f.state),
                        &planned,
                        &f.progress,
                    );
                    for (key, excerpt) in &f.excerpts {
                        r.attach_excerpt(key, excerpt);
                    }
                    r.error = Some(e.clone());
                    r
                }
                (Some(e), None) => {
                    SourceReport::failed(&run.name, run.session.as_deref(), &planned, e)
                }
                (None, Some(f)) => {
                    let mut r = SourceReport::from_progress(
                        &run.name,
                        run.session.as_deref(),
                        Some(&f.state),
                        &planned,
                        &f.progress,
                    );
                    for (key, excerpt) in &f.excerpts {
                        r.attach_excerpt(key, excerpt);
                    }
                    for (key, lines) in &f.warnings {
                        if let Some(crate::report::Outcome::DoneWithWarnings {
                            first_messages, ..
                        }) = r
                            .items
                            .iter_mut()
                            .find(|i| i.module == key.item_type && i.key == key.item)
                            .map(|i| &mut i.outcome)
                            && first_messages.is_empty()
                        {
                            first_messages
                                .extend(lines.iter().take(crate::report::FIRST_MESSAGES).cloned());
                        }
                    }
                    r
                }
                (None, None) => SourceReport::from_progress(
                    &run.name,
                    run.session.as_deref(),
                    None,
                    &[],
                    &crate::translog::SessionProgress::new(),
                ),
            };
            // An item the plan found present may also be in the followed session's log
            // (an earlier run's session restored it): count it once, with the session's
            // outcome.
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
        })
        .collect();
    ApplyReport {
        migration: plan.migration.clone(),
        elapsed: started.elapsed(),
        sources,
    }
}
