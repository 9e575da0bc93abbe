//! `whm-migrate plan`: observe the servers and show what apply would do.

use crate::cli::args::{GlobalArgs, PlanArgs, PlanFormat};
use crate::cli::commands::cleanup::discard;
use crate::cli::commands::load_manifest;
use crate::cli::printer::Printer;
use crate::cli::settings::{self, Destination};
use crate::cli::{EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::domain::SessionState;
use crate::journal::{Journal, MigrationLock, StateDir, measured_throughput, unrecorded_warning};
use crate::manifest::Manifest;
use crate::modules::ModuleCatalog;
use crate::plan::observe::observe;
use crate::plan::schedule::{self, Pools};
use crate::plan::{Desired, Observed, Plan, Throughput, diff, render, waves};
use miette::{IntoDiagnostic, WrapErr};
use std::path::Path;

/// Everything a planned run holds: the manifest, the open destination, the journal
/// (under its lock) and the plan.
pub struct Planned {
    /// The loaded manifest (secrets resolved).
    pub manifest: Manifest,
    /// The destination.
    pub destination: Destination,
    /// The state directory.
    pub state: StateDir,
    /// The lock, held until dropped.
    pub lock: MigrationLock,
    /// The journal as observing left it.
    pub journal: Journal,
    /// The desired state.
    pub desired: Desired,
    /// The plan.
    pub plan: Plan,
    /// What observing found (a rehearsal builds its world from it).
    pub observed: Observed,
}

/// What part of the manifest a plan covers and how it estimates.
#[derive(Debug, Clone, Default)]
pub struct PlanScope {
    /// Only this wave (see [`crate::plan::waves`]).
    pub wave: Option<String>,
    /// The throughput to assume; default: measured from the journal, else
    /// [`schedule::DEFAULT_THROUGHPUT`].
    pub throughput: Option<Throughput>,
}

/// Loads, locks, observes and diffs the whole manifest. `Ok(None)` means diagnostics
/// were printed.
pub async fn make_plan(
    printer: &Printer,
    global: &GlobalArgs,
    manifest_path: &Path,
    command: &str,
) -> miette::Result<Option<Planned>> {
    make_plan_with(
        printer,
        global,
        manifest_path,
        command,
        &PlanScope::default(),
    )
    .await
}

/// Like [`make_plan`], for one wave or with a given throughput.
pub async fn make_plan_with(
    printer: &Printer,
    global: &GlobalArgs,
    manifest_path: &Path,
    command: &str,
    scope: &PlanScope,
) -> miette::Result<Option<Planned>> {
    let Some(mut manifest) = load_manifest(printer, manifest_path) else {
        return Ok(None);
    };
    let catalog = ModuleCatalog::bundled();
    let item_waves = manifest.item_waves();
    let desired = waves::select(
        settings::desired(&manifest, &catalog),
        &item_waves,
        &manifest.wave_names(),
        scope.wave.as_deref(),
    )?;
    if let Err(diags) = manifest.resolve_secrets() {
        super::print_diagnostics(printer, &diags);
        return Ok(None);
    }
    let state = StateDir::new(
        settings::state_dir(global.state_dir.as_deref(), manifest_path),
        &manifest.name,
    );
    state.ensure()?;
    let lock = MigrationLock::acquire(&state.lock_path(), command)?;
    let mut journal = state.load()?;
    for (source, record) in &journal.sources {
        for at in record.unrecorded() {
            printer.warn(&unrecorded_warning(source, at));
        }
    }
    let destination = settings::destination(&manifest, state.dir())
        .await
        .map_err(|e| miette::miette!("{e}"))?;
    for w in destination.client.warnings() {
        printer.warn(w);
    }
    let (roots, _) = settings::access(&manifest);
    let observed = observe(
        &destination.client,
        &desired,
        &roots,
        &state,
        &mut journal,
        command,
    )
    .await;
    let observed = match observed {
        Ok(o) => o,
        Err(e) => {
            let _ = state.save(&journal);
            destination.close().await;
            return Err(e.into());
        }
    };
    state.save(&journal)?;
    let mut plan = diff(&desired, &observed);
    waves::label(&mut plan, &item_waves, scope.wave.as_deref());
    let pools: Vec<Pools> = manifest
        .sources
        .iter()
        .map(|s| Pools::new(s.session.transfer_threads, s.session.restore_threads))
        .collect();
    let throughput = scope.throughput.unwrap_or_else(|| {
        measured_throughput(&journal).map_or(schedule::DEFAULT_THROUGHPUT, Throughput::measured)
    });
    schedule::schedule(&mut plan, &desired, &observed, &pools, throughput);
    plan.manifest = std::path::absolute(manifest_path)
        .ok()
        .map(|p| p.display().to_string());
    Ok(Some(Planned {
        manifest,
        destination,
        state,
        lock,
        journal,
        desired,
        plan,
        observed,
    }))
}

/// `--no-keep`: aborts the PENDING sessions the plan created or reused and retires them
/// in the journal. False when one could not be discarded (the error is printed).
async fn discard_sessions(printer: &Printer, planned: &mut Planned) -> bool {
    discard_pending(
        printer,
        &planned.destination.client,
        &mut planned.journal,
        &planned.state,
        &planned.plan,
        false,
    )
    .await
}

/// Aborts the PENDING sessions `plan` names (only those observing created, with
/// `only_created`), so none is left holding a source password. False when one could not
/// be discarded or the journal not saved (each printed).
pub async fn discard_pending(
    printer: &Printer,
    client: &crate::whm::WhmClient,
    journal: &mut Journal,
    state: &StateDir,
    plan: &Plan,
    only_created: bool,
) -> bool {
    let mut ok = true;
    for source in &plan.sources {
        let Some(session) = &source.session else {
            continue;
        };
        if session.state != SessionState::Pending.name() || (only_created && !session.created) {
            continue;
        }
        match discard(client, journal, &source.name, &session.id).await {
            Ok(now) => printer.info(&format!(
                "{}: discarded session {} (now {now}); the next plan or apply creates a new one",
                source.name, session.id
            )),
            Err(e) => {
                ok = false;
                printer.error(&format!(
                    "{}: cannot discard session {}: {:?}",
                    source.name,
                    session.id,
                    miette::Report::new(e)
                ));
            }
        }
    }
    if let Err(e) = state.save(journal) {
        printer.error(&format!("{:?}", miette::Report::new(e)));
        ok = false;
    }
    ok
}

/// Plans and prints.
pub async fn run(printer: &Printer, global: &GlobalArgs, args: &PlanArgs) -> miette::Result<i32> {
    let scope = PlanScope {
        wave: args.wave.clone(),
        throughput: None,
    };
    let Some(mut planned) = make_plan_with(printer, global, &args.manifest, "plan", &scope).await?
    else {
        return Ok(EXIT_ERROR);
    };
    let plan = &planned.plan;
    let text = match args.format {
        PlanFormat::Text => render::text(plan),
        PlanFormat::Json => render::json(plan),
        PlanFormat::Markdown => render::markdown(plan),
    };
    printer.data(&text);
    if let Some(out) = &args.out {
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // The observed state beside the plan, for `rehearse PLAN.json --offline`.
        let sidecar = crate::rehearse::observed_path(out);
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| crate::journal::write_atomic(dir, out, render::json(plan).as_bytes()))
            .and_then(|()| {
                crate::journal::write_atomic(
                    dir,
                    &sidecar,
                    &crate::rehearse::observed_json(&planned.observed),
                )
            });
        if let Err(e) = written {
            planned.destination.close().await;
            return Err(e)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot write the plan to {}", out.display()));
        }
        printer.info(&format!(
            "saved the plan to {}; apply exactly it with `whm-migrate apply {}`",
            out.display(),
            out.display()
        ));
    }
    let mut discard_failed = false;
    if args.no_keep {
        discard_failed = !discard_sessions(printer, &mut planned).await;
    }
    let plan = &planned.plan;
    planned.destination.close().await;
    drop(planned.lock);
    if discard_failed {
        return Ok(EXIT_ERROR);
    }
    if plan.summary.has_blockers() {
        for gate in render::gate_report(plan) {
            printer.warn(&gate);
        }
        printer.info("the plan has blocking items: apply will refuse it until they are resolved");
        return Ok(EXIT_ERROR);
    }
    Ok(if args.detailed_exitcode && plan.summary.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}
