//! `whm-migrate schemas pull MANIFEST`: refresh the bundled module schema snapshots
//! (`schemas/modules/*.json`) from the destination's `transfer_module_schema`.

use crate::cli::args::{GlobalArgs, SchemasPullArgs};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::migration::{Migration, OpenOptions};

/// Fetches every bundled module's live schema and writes it in the snapshot format.
pub async fn pull(printer: &Printer, global: &GlobalArgs, args: &SchemasPullArgs) -> CommandResult {
    let options = OpenOptions::unlocked(global.state());
    let migration = Migration::open(&args.manifest, options, printer).await?;
    let written = migration.pull_schemas(&args.dir, printer).await;
    migration.close().await;
    printer.info(&format!(
        "wrote {} module schema snapshot(s) to {}; review the diff and commit it",
        written?,
        args.dir.display()
    ));
    Ok(ExitStatus::Ok)
}
