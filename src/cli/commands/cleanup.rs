//! `whm-migrate cleanup`, and the discarding `plan --no-keep` shares with it: abort the
//! PENDING sessions the journal records (WHM marks a never-started session FAILED, which
//! discards it and the source password it holds) and retire them in the journal, so the
//! next plan or apply creates a fresh one.

use crate::cli::args::{CleanupArgs, GlobalArgs};
use crate::cli::commands::load_manifest;
use crate::cli::printer::Printer;
use crate::cli::settings;
use crate::cli::{EXIT_ERROR, EXIT_OK};
use crate::domain::SessionState;
use crate::journal::{Journal, MigrationLock, StateDir, unrecorded_warning};
use crate::plan::Plan;
use crate::whm::{WhmClient, WhmError};
use miette::{IntoDiagnostic, WrapErr, miette};
use std::collections::BTreeSet;

/// Aborts the session `id` of `source` and, when the journal records it as the source's
/// current session, moves it to `previous_sessions` with its final state. Returns that
/// state's name.
pub async fn discard(
    client: &WhmClient,
    journal: &mut Journal,
    source: &str,
    id: &str,
) -> Result<String, WhmError> {
    client.abort_transfer_session(id).await?;
    let state = client
        .get_transfer_session_state(id)
        .await
        .map_or_else(|_| "ABORTED".to_owned(), |s| s.name().to_owned());
    if let Some(record) = journal.sources.get_mut(source)
        && record.session.as_ref().is_some_and(|s| s.id == id)
        && let Some(mut old) = record.session.take()
    {
        old.state.clone_from(&state);
        record.previous_sessions.push(old);
    }
    Ok(state)
}

/// `cleanup`: discard every PENDING current session of the selected sources, except
/// those `--keep-plan` names.
pub async fn run(
    printer: &Printer,
    global: &GlobalArgs,
    args: &CleanupArgs,
) -> miette::Result<i32> {
    let Some(mut manifest) = load_manifest(printer, &args.manifest) else {
        return Ok(EXIT_ERROR);
    };
    // Source passwords are not needed here; only the destination token is.
    let _ = manifest.resolve_secrets();
    if let Some(name) = &args.source
        && !manifest.sources.iter().any(|s| &s.name == name)
    {
        return Err(miette!(
            help = "the manifest's sources are listed under [[sources]] with their `name`",
            "the manifest has no source named “{name}”"
        ));
    }
    let keep: BTreeSet<String> = match &args.keep_plan {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot read the plan {}", path.display()))?;
            let plan: Plan = serde_json::from_str(&text)
                .into_diagnostic()
                .wrap_err_with(|| format!("{} is not a saved plan", path.display()))?;
            plan.sources
                .iter()
                .filter_map(|s| s.session.as_ref().map(|x| x.id.clone()))
                .collect()
        }
        None => BTreeSet::new(),
    };
    let state = StateDir::new(
        settings::state_dir(global.state_dir.as_deref(), &args.manifest),
        &manifest.name,
    );
    state.ensure()?;
    let lock = MigrationLock::acquire(&state.lock_path(), "cleanup")?;
    let mut journal = state.load()?;
    let destination = settings::destination(&manifest, state.dir())
        .await
        .map_err(|e| miette!("{e}"))?;
    for w in destination.client.warnings() {
        printer.warn(w);
    }
    let client = &destination.client;
    let mut code = EXIT_OK;
    let sources: Vec<String> = manifest
        .sources
        .iter()
        .filter(|s| args.source.as_ref().is_none_or(|n| n == &s.name))
        .map(|s| s.name.clone())
        .collect();
    for source in sources {
        if let Some(record) = journal.sources.get_mut(&source) {
            let marks: Vec<String> = record.unrecorded().into_iter().map(str::to_owned).collect();
            if args.forget_unrecorded && !marks.is_empty() {
                record.create_started = None;
                record.unrecorded_sessions.clear();
                state.save(&journal)?;
                printer.data(&format!(
                    "{source}: forgot {} unrecorded session creation(s) started at {}\n",
                    marks.len(),
                    marks.join(", ")
                ));
            } else {
                for at in &marks {
                    printer.warn(&unrecorded_warning(&source, at));
                }
            }
        }
        let Some(rec) = journal.sources.get(&source).and_then(|r| r.session.clone()) else {
            printer.data(&format!(
                "{source}: no session recorded; nothing to clean\n"
            ));
            continue;
        };
        if keep.contains(&rec.id) {
            printer.data(&format!(
                "{source}: kept session {} (the saved plan needs it)\n",
                rec.id
            ));
            continue;
        }
        let live = match client.get_transfer_session_state(&rec.id).await {
            Ok(s) => s,
            Err(WhmError::Api { reason, .. }) => {
                printer.data(&format!(
                    "{source}: session {} is unknown to the server ({reason}); nothing to clean\n",
                    rec.id
                ));
                continue;
            }
            Err(e) => {
                code = EXIT_ERROR;
                printer.error(&format!("{:?}", miette::Report::new(e)));
                continue;
            }
        };
        if live != SessionState::Pending {
            printer.data(&format!(
                "{source}: left session {} alone ({}, not PENDING)\n",
                rec.id,
                live.name()
            ));
            continue;
        }
        match discard(client, &mut journal, &source, &rec.id).await {
            Ok(now) => {
                state.save(&journal)?;
                printer.data(&format!(
                    "{source}: discarded session {} (now {now})\n",
                    rec.id
                ));
            }
            Err(e) => {
                code = EXIT_ERROR;
                printer.error(&format!("{:?}", miette::Report::new(e)));
            }
        }
    }
    destination.close().await;
    drop(lock);
    Ok(code)
}
