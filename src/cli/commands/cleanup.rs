//! `whm-migrate cleanup`: discard the PENDING sessions the journal records.

use crate::cli::args::{CleanupArgs, GlobalArgs};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::manifest::SecretScope;
use crate::migration::{Cleaned, CleanupOptions, Migration, OpenOptions, load_target};
use std::collections::BTreeSet;

/// Discards every PENDING current session of the selected sources, except those
/// `--keep-plan` names.
pub async fn run(printer: &Printer, global: &GlobalArgs, args: &CleanupArgs) -> CommandResult {
    let keep: BTreeSet<String> = match &args.keep_plan {
        Some(path) => load_target(path)?
            .1
            .iter()
            .flat_map(|plan| &plan.sources)
            .filter_map(|s| s.session.as_ref().map(|x| x.id.clone()))
            .collect(),
        None => BTreeSet::new(),
    };
    let options = OpenOptions {
        secrets: SecretScope::Destination,
        ..OpenOptions::locked("cleanup", global.state())
    };
    let migration = Migration::open(&args.manifest, options, printer).await?;
    let options = CleanupOptions {
        source: args.source.clone(),
        keep,
        forget_unrecorded: args.forget_unrecorded,
        forget: args.forget.clone(),
    };
    let result = migration.cleanup(&options, printer).await;
    migration.close().await;
    let mut status = ExitStatus::Ok;
    for (source, done) in result? {
        for cleaned in done {
            if let Cleaned::Failed(e) = cleaned {
                status = ExitStatus::Error;
                printer.error(&format!("{:?}", miette::Report::new(e)));
            } else {
                printer.data(&format!("{}\n", cleaned.describe(&source)));
            }
        }
    }
    Ok(status)
}
