//! `whm-migrate adopt`: re-attach a session found in WHM to a source.

use crate::cli::args::{AdoptArgs, GlobalArgs};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::manifest::SecretScope;
use crate::migration::{Migration, OpenOptions};

/// Records the session and its items in the journal.
pub async fn run(printer: &Printer, global: &GlobalArgs, args: &AdoptArgs) -> CommandResult {
    let options = OpenOptions {
        secrets: SecretScope::Destination,
        ..OpenOptions::locked("adopt", global.state())
    };
    let migration = Migration::open(&args.manifest, options, printer).await?;
    let adopted = migration.adopt(&args.source, &args.session_id).await;
    let rerun = migration.rerun_args();
    migration.close().await;
    let adopted = adopted?;
    printer.data(&format!("{adopted}\n"));
    if !adopted.log_read {
        printer.warn("the session's master log could not be read in time: its items are recorded as the next apply follows it");
    }
    printer.info(&format!(
        "the next `whm-migrate apply {rerun}` follows it instead of creating another session"
    ));
    Ok(ExitStatus::Ok)
}
