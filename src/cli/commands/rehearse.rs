//! `whm-migrate rehearse`: the migration played on a simulated copy of the servers.

use crate::cli::args::{GlobalArgs, RehearseArgs};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::migration::process::interrupted;
use crate::migration::{
    Migration, OpenOptions, Prepared, RehearseOptions, Rehearsed, load_target, save_junit,
    save_markdown,
};
use crate::plan::render;

/// Rehearses a manifest or a saved plan.
pub async fn run(printer: &Printer, global: &GlobalArgs, args: &RehearseArgs) -> CommandResult {
    let (manifest, saved) = load_target(&args.target)?;
    let state_dir = global.state_dir.as_deref();
    let prepared = if args.offline {
        Prepared::offline(&manifest, &args.target, saved.as_ref(), state_dir, printer)?
    } else {
        let options = OpenOptions::locked("rehearse", global.state());
        let migration = Migration::open(&manifest, options, printer).await?;
        let saved = saved.as_ref().map(|p| (args.target.as_path(), p));
        migration.prepare_rehearsal(saved, printer).await?
    };
    let rerun = prepared.rerun_args();
    let options = RehearseOptions {
        faults: args.faults,
        speed: args.speed,
        progress: args.progress,
    };
    match prepared.rehearse(options, printer, interrupted).await? {
        Rehearsed::Blocked(plan) => {
            printer.data(&render::text(&plan));
            for gate in render::gate_report(&plan) {
                printer.error(&format!("error: {gate}"));
            }
            printer.error("error: the plan has blocking items (conflict, missing on source, invalid, a blocking check or an unacknowledged risk); apply would refuse it, so there is nothing to rehearse");
            Ok(ExitStatus::Error)
        }
        Rehearsed::NothingToDo(plan) => {
            printer.info(&render::summary_line(&plan));
            printer.info("nothing to rehearse: apply would change nothing");
            Ok(ExitStatus::Ok)
        }
        Rehearsed::Interrupted => {
            printer.error("interrupted: the rehearsal stopped; nothing real was changed");
            Ok(ExitStatus::Interrupted)
        }
        Rehearsed::Ran(report) => {
            if let Some(junit) = &args.junit {
                save_junit(junit, &report)?;
            }
            if let Some(markdown) = &args.markdown {
                save_markdown(markdown, &report, "rehearse", &rerun)?;
            }
            Ok(ExitStatus::of_code(report.exit_code()))
        }
    }
}
