//! `status`, `logs`, `pause`, `resume` and `abort`. They never take the migration lock,
//! so they work beside a running `apply`.

use crate::cli::args::{ControlArgs, GlobalArgs, LogsArgs, StatusArgs, StatusFormat};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::migration::{Action, Controlled, LogLine, Migration, OpenOptions};
use crate::report::status;
use std::path::Path;

async fn open(
    printer: &Printer,
    global: &GlobalArgs,
    path: &Path,
) -> Result<Migration, crate::cli::Failure> {
    let options = OpenOptions::unlocked(global.state());
    Ok(Migration::open(path, options, printer).await?)
}

/// `status`: each source's session, its live state, and the journal's item counts.
pub async fn status(printer: &Printer, global: &GlobalArgs, args: &StatusArgs) -> CommandResult {
    let migration = open(printer, global, &args.manifest).await?;
    let rows = migration.status(args.source.as_deref()).await;
    migration.close().await;
    let rows = rows?;
    printer.data(&match args.format {
        StatusFormat::Json => status::json(&rows),
        StatusFormat::Text => status::text(&rows),
    });
    Ok(ExitStatus::Ok)
}

/// `pause`, `resume` or `abort` on the selected sources' current sessions.
pub async fn control(
    printer: &Printer,
    global: &GlobalArgs,
    args: &ControlArgs,
    action: Action,
) -> CommandResult {
    let migration = open(printer, global, &args.manifest).await?;
    let done = migration.control(action, args.source.as_deref()).await;
    migration.close().await;
    let mut code = ExitStatus::Ok;
    for (source, controlled) in done? {
        match controlled {
            Controlled::Failed(e) => {
                code = ExitStatus::Error;
                printer.error(&format!("{:?}", miette::Report::new(e)));
            }
            Controlled::NoSession => printer.info(&controlled.describe(&source, action)),
            Controlled::Done { .. } => {
                printer.data(&format!("{}\n", controlled.describe(&source, action)));
            }
        }
    }
    Ok(code)
}

/// `logs`: the master log (or one item's logs) of each selected source's session.
pub async fn logs(printer: &Printer, global: &GlobalArgs, args: &LogsArgs) -> CommandResult {
    let migration = open(printer, global, &args.manifest).await?;
    let mut print = |line: LogLine<'_>| match line {
        LogLine::Data(text) => printer.data(&format!("{text}\n")),
        LogLine::Note(text) => printer.info(text),
    };
    let result = migration
        .logs(
            args.source.as_deref(),
            args.item.as_deref(),
            args.follow,
            &mut print,
        )
        .await;
    migration.close().await;
    result?;
    Ok(ExitStatus::Ok)
}
