//! `whm-migrate rehearse`: observe like `plan` (or read a saved plan's observed state),
//! then play the migration on an embedded simulator built from it with `apply`'s own
//! executor and report, and predict the makespan in real-world time.

use crate::apply::monitor::Watcher;
use crate::cli::args::{GlobalArgs, RehearseArgs};
use crate::cli::commands::apply::{interrupted, report, rerun_args, target};
use crate::cli::commands::cleanup::discard;
use crate::cli::commands::load_manifest;
use crate::cli::commands::plan::make_plan;
use crate::cli::printer::Printer;
use crate::cli::settings;
use crate::cli::watch::SourceWatcher;
use crate::cli::{EXIT_ERROR, EXIT_OK};
use crate::journal::StateDir;
use crate::manifest::Manifest;
use crate::modules::ModuleCatalog;
use crate::plan::{Action, Desired, Observed, Plan, diff, render};
use crate::rehearse::faults::FaultPlan;
use crate::rehearse::scale::{Scale, SourceWork, default_speed};
use crate::rehearse::{Options, Rehearsal, Round, observed_path};
use crate::report::format::duration;
use crate::report::{ApplyReport, Progress, write_junit};
use crate::whm::SessionState;
use miette::{IntoDiagnostic, WrapErr, miette};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many times a rehearsal runs `apply` again after a fault stopped a run, as an
/// operator would.
const MAX_ROUNDS: usize = 4;

/// What a rehearsal starts from: the manifest, the desired and observed states, the
/// real plan and the migration's state directory.
struct Prepared {
    manifest: Manifest,
    desired: Desired,
    observed: Observed,
    plan: Plan,
    state_root: PathBuf,
}

/// Rehearses a manifest or a saved plan.
pub async fn run(
    printer: &Printer,
    global: &GlobalArgs,
    args: &RehearseArgs,
) -> miette::Result<i32> {
    let (manifest_path, saved) = target(&args.target)?;
    let prepared = if args.offline {
        offline(printer, global, &manifest_path, saved, &args.target)?
    } else {
        online(
            printer,
            global,
            &manifest_path,
            saved.as_ref(),
            &args.target,
        )
        .await?
    };
    let Some(Prepared {
        manifest,
        desired,
        observed,
        plan,
        state_root,
    }) = prepared
    else {
        return Ok(EXIT_ERROR);
    };
    if plan.summary.has_blockers() {
        printer.data(&render::text(&plan));
        for gate in render::gate_report(&plan) {
            printer.error(&format!("error: {gate}"));
        }
        printer.error("error: the plan has blocking items (conflict, missing on source, invalid, a blocking check or an unacknowledged risk); apply would refuse it, so there is nothing to rehearse");
        return Ok(EXIT_ERROR);
    }
    if !plan.summary.has_changes() && plan.summary.already_queued == 0 {
        printer.info(&render::summary_line(&plan));
        printer.info("nothing to rehearse: apply would change nothing");
        return Ok(EXIT_OK);
    }
    let state = StateDir::new(state_root.join("rehearse"), &manifest.name);
    let (speed, speed_from) = match args.speed {
        Some(speed) => (speed, "given with --speed"),
        None => default_speed(&StateDir::new(state_root.clone(), &manifest.name)),
    };
    let sessions: Vec<_> = manifest
        .sources
        .iter()
        .map(|s| s.session.to_request())
        .collect();
    let work: Vec<SourceWork> = plan
        .sources
        .iter()
        .zip(&sessions)
        .map(|(source, session)| {
            let moving = source
                .items
                .iter()
                .filter(|i| matches!(i.action, Action::Transfer | Action::AlreadyQueued));
            SourceWork {
                bytes: moving.clone().filter_map(|i| i.size).sum(),
                items: moving.count(),
                threads: session.transfer_threads.unwrap_or(1),
            }
        })
        .collect();
    let scale = Scale::new(speed, &work);
    let faults = args.faults.map(|seed| FaultPlan::new(seed, &desired));
    let faults_on = faults.is_some();
    printer.info(&opening(&plan, &scale, speed_from, faults.as_ref()));
    let mut rehearsal = Rehearsal::start(
        &desired,
        &observed,
        Options {
            state,
            scale,
            faults,
            sessions,
        },
    )
    .await?;
    let rerun = rerun_args(&manifest_path, global.state_dir.as_deref());
    let mut rounds: Vec<(Round, ApplyReport)> = Vec::new();
    for number in 1..=MAX_ROUNDS {
        let sim_plan = match rehearsal.plan(&desired).await {
            Ok(plan) => plan,
            // An injected fault can hit the planning reads or the session create (a
            // lost answer stops a real apply too); an operator runs apply again.
            Err(e) if faults_on && number < MAX_ROUNDS => {
                printer.warn(&format!(
                    "rehearsal: run {number} of apply stopped while planning: {e}; running apply again, as an operator would"
                ));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if number == 1 {
            for line in differences(&plan, &sim_plan) {
                printer.warn(&line);
            }
        } else if !has_work(&sim_plan) {
            break;
        } else if sim_plan.summary.has_blockers() {
            printer.data(&render::text(&sim_plan));
            printer.error("error: after a fault, the simulated copy has blocking items; apply would refuse to run again");
            break;
        }
        let progress = Arc::new(Progress::new(args.progress));
        let watchers: Vec<Box<dyn Watcher + Send>> = desired
            .sources
            .iter()
            .map(|s| {
                Box::new(SourceWatcher::new(progress.clone(), &s.name)) as Box<dyn Watcher + Send>
            })
            .collect();
        let started = Instant::now();
        let round = tokio::select! {
            round = rehearsal.execute(&desired, sim_plan, watchers) => round,
            () = interrupted() => {
                progress.finish();
                printer.error("interrupted: the rehearsal stopped; nothing real was changed");
                return Ok(130);
            }
        };
        progress.finish();
        let mut report = report(&round.plan, &round.runs, started);
        predicted_times(&mut report, &round, &scale);
        printer.data(&format!(
            "Rehearsal, run {number} of apply (times predicted at {} MB/s):\n",
            scale.speed_mb_s
        ));
        printer.data(&report.render_text(&rerun));
        let again = round.needs_rerun();
        if let Some(event) = round.event {
            printer.info(&format!(
                "rehearsal: {} struck during run {number}",
                event.describe()
            ));
        }
        rounds.push((round, report));
        if !again {
            break;
        }
        if number < MAX_ROUNDS {
            printer.info(&format!(
                "rehearsal: run {number} was stopped before the end; running apply again, as an operator would"
            ));
        }
    }
    let _ = rehearsal.finish().await;
    let Some((_, last)) = rounds.last() else {
        return Ok(EXIT_ERROR);
    };
    if let Some(junit) = &args.junit {
        let dir = junit
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        crate::journal::write_atomic(dir, junit, write_junit(last).as_bytes())
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", junit.display()))?;
    }
    printer.data(&makespan(&plan, &rounds, &scale, args.faults));
    Ok(last.exit_code())
}

/// Observes the real servers exactly as `plan` does, then releases any session that
/// observing created, so no source password stays on the destination.
async fn online(
    printer: &Printer,
    global: &GlobalArgs,
    manifest_path: &Path,
    saved: Option<&Plan>,
    target_path: &Path,
) -> miette::Result<Option<Prepared>> {
    let Some(mut planned) = make_plan(printer, global, manifest_path, "rehearse").await? else {
        return Ok(None);
    };
    let mut stale = false;
    if let Some(saved) = saved
        && saved.fingerprint != planned.plan.fingerprint
    {
        stale = true;
    }
    for source in &planned.plan.sources {
        let Some(session) = source
            .session
            .as_ref()
            .filter(|s| s.created && SessionState::from_name(&s.state) == SessionState::Pending)
        else {
            continue;
        };
        match discard(
            &planned.destination.client,
            &mut planned.journal,
            &source.name,
            &session.id,
        )
        .await
        {
            Ok(_) => printer.info(&format!(
                "{}: released session {}, which observing created on the destination",
                source.name, session.id
            )),
            Err(e) => printer.warn(&format!(
                "{}: cannot release session {} on the destination ({e}); discard it with `whm-migrate cleanup {}`",
                source.name,
                session.id,
                manifest_path.display()
            )),
        }
    }
    let saved_journal = planned.state.save(&planned.journal);
    planned.destination.close().await;
    drop(planned.lock);
    saved_journal?;
    if stale {
        return Err(miette!(
            help = format!(
                "make a new plan with `whm-migrate plan {} --out {}`, or rehearse the manifest itself",
                manifest_path.display(),
                target_path.display()
            ),
            "the saved plan {} is stale: the manifest or the servers changed since it was made",
            target_path.display()
        ));
    }
    Ok(Some(Prepared {
        state_root: planned.state.dir().to_path_buf(),
        manifest: planned.manifest,
        desired: planned.desired,
        observed: planned.observed,
        plan: planned.plan,
    }))
}

/// Reads a saved plan and the observed state saved beside it; contacts no server and
/// needs no secret.
fn offline(
    printer: &Printer,
    global: &GlobalArgs,
    manifest_path: &Path,
    saved: Option<Plan>,
    target_path: &Path,
) -> miette::Result<Option<Prepared>> {
    let Some(saved) = saved else {
        return Err(miette!(
            help = format!(
                "save one with `whm-migrate plan {} --out plan.json`, then `whm-migrate rehearse plan.json --offline`",
                target_path.display()
            ),
            "--offline rehearses a saved plan, and {} is not one",
            target_path.display()
        ));
    };
    let Some(manifest) = load_manifest(printer, manifest_path) else {
        return Ok(None);
    };
    let sidecar = observed_path(target_path);
    let text = std::fs::read_to_string(&sidecar)
        .into_diagnostic()
        .wrap_err_with(|| {
            format!(
                "cannot read {}, the observed state saved with the plan; make the plan again with `whm-migrate plan {} --out {}`",
                sidecar.display(),
                manifest_path.display(),
                target_path.display()
            )
        })?;
    let observed: Observed = serde_json::from_str(&text)
        .into_diagnostic()
        .wrap_err_with(|| format!("{} is not a saved observed state", sidecar.display()))?;
    let desired = settings::desired(&manifest, &ModuleCatalog::bundled());
    let mut plan = diff(&desired, &observed);
    plan.manifest.clone_from(&saved.manifest);
    if plan.fingerprint != saved.fingerprint {
        return Err(miette!(
            help = format!(
                "make a new plan with `whm-migrate plan {} --out {}`",
                manifest_path.display(),
                target_path.display()
            ),
            "the saved plan {} does not match the manifest {} or {}: one changed since the plan was made",
            target_path.display(),
            manifest_path.display(),
            sidecar.display()
        ));
    }
    Ok(Some(Prepared {
        state_root: settings::state_dir(global.state_dir.as_deref(), manifest_path),
        manifest,
        desired,
        observed,
        plan,
    }))
}

/// Whether a plan leaves `apply` something to do (as `apply` decides it).
fn has_work(plan: &Plan) -> bool {
    plan.summary.has_changes()
        || plan.summary.already_queued > 0
        || plan.sources.iter().any(|s| {
            s.session
                .as_ref()
                .is_some_and(|x| !x.created && x.state != "PENDING")
        })
}

fn opening(plan: &Plan, scale: &Scale, speed_from: &str, faults: Option<&FaultPlan>) -> String {
    let mut out = format!(
        "{}\nRehearsing on a simulated copy of the servers at {:.1} MB/s per transfer worker ({speed_from}; 1 simulated second = {:.0} real seconds); nothing real is changed.",
        render::summary_line(plan),
        scale.speed_mb_s,
        scale.factor
    );
    match faults {
        None => out.push_str("\nFaults: none (add --faults SEED to inject them)."),
        Some(f) => {
            let _ = write!(
                out,
                "\nFaults from seed {}: {}% of requests answered HTTP 500, {}% of answers lost after the server acted",
                f.seed,
                f.faults.http_500 * 100.0,
                f.faults.drop_after * 100.0
            );
            if let Some((event, after)) = f.event {
                let _ = write!(out, "; {} after {after} restore(s)", event.describe());
            }
            out.push('.');
            for (user, what) in f.per_item() {
                let _ = write!(out, "\n  injected: {user}: {what}");
            }
        }
    }
    out
}

/// The real plan and the simulated world's plan should agree item by item; where they
/// do not, the rehearsal is less faithful, so say so.
fn differences(real: &Plan, simulated: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for (r, s) in real.sources.iter().zip(&simulated.sources) {
        for (ri, si) in r.items.iter().zip(&s.items) {
            let moving = |a: &Action| matches!(a, Action::Transfer | Action::AlreadyQueued);
            if ri.key == si.key && moving(&ri.action) != moving(&si.action) {
                out.push(format!(
                    "rehearsal: {} {} is “{}” on the real servers but “{}” in the simulated copy; the rehearsal may differ from apply there",
                    r.name,
                    ri.key,
                    ri.action.name(),
                    si.action.name()
                ));
            }
        }
    }
    out
}

/// The report's times, in real-world time at the rehearsal's speed.
fn predicted_times(report: &mut ApplyReport, round: &Round, scale: &Scale) {
    report.elapsed = round
        .simulated_overall
        .map_or(Duration::ZERO, |d| scale.real(d));
    for (source, simulated) in report.sources.iter_mut().zip(&round.simulated) {
        source.elapsed = simulated.map(|d| scale.real(d));
    }
}

fn makespan(
    plan: &Plan,
    rounds: &[(Round, ApplyReport)],
    scale: &Scale,
    seed: Option<u64>,
) -> String {
    let mut out = format!(
        "Predicted makespan at {} MB/s (the sessions' run time; whm-migrate's own queueing and following add seconds):",
        scale.speed_mb_s
    );
    for (i, source) in plan.sources.iter().enumerate() {
        let total: Option<Duration> = rounds
            .iter()
            .filter_map(|(r, _)| r.simulated.get(i).copied().flatten())
            .map(|d| scale.real(d))
            .reduce(|a, b| a + b);
        let _ = write!(
            out,
            "\n  {}: {}",
            source.name,
            total.map_or_else(|| "nothing to move".to_owned(), duration)
        );
    }
    let overall: Duration = rounds
        .iter()
        .filter_map(|(r, _)| r.simulated_overall)
        .map(|d| scale.real(d))
        .sum();
    let _ = write!(out, "\n  overall: {}", duration(overall));
    if rounds.len() > 1 {
        let _ = write!(
            out,
            " over {} runs of apply (the time between them is the operator's)",
            rounds.len()
        );
    }
    match seed {
        Some(seed) => {
            let _ = write!(
                out,
                "\nFault seed: {seed} (`--faults {seed}` replays the same per-item outcome)"
            );
        }
        None => out.push_str("\nFault seed: none"),
    }
    out.push('\n');
    out
}
