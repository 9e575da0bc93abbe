//! `whm-migrate plan`: observe the servers and show what apply would do.

use crate::cli::args::{GlobalArgs, PlanArgs, PlanFormat};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::migration::{Migration, OpenOptions, PlanScope, save_plan};
use crate::plan::render;

/// Plans and prints.
pub async fn run(printer: &Printer, global: &GlobalArgs, args: &PlanArgs) -> CommandResult {
    let options = if args.no_keep {
        OpenOptions::beside("plan", global.state())
    } else {
        OpenOptions::locked("plan", global.state())
    };
    let migration = Migration::open(&args.manifest, options, printer).await?;
    let scope = PlanScope {
        wave: args.wave.clone(),
        throughput: None,
    };
    let planned = match migration.plan(&scope, "plan", printer).await {
        Ok(planned) => planned,
        Err(e) => {
            migration.close().await;
            return Err(e.into());
        }
    };
    let plan = &planned.plan;
    printer.data(&match args.format {
        PlanFormat::Text => render::text(plan),
        PlanFormat::Json => render::json(plan),
        PlanFormat::Markdown => render::markdown(plan),
    });
    let saved = args.out.as_ref().map(|out| save_plan(&planned, out));
    let discard_failed = args.no_keep
        && migration
            .discard_pending(plan, false, printer)
            .await
            .iter()
            .any(|d| d.result.is_err());
    migration.close().await;
    if let Some((out, saved)) = args.out.as_ref().zip(saved) {
        saved?;
        printer.info(&format!(
            "saved the plan to {}; apply exactly it with `whm-migrate apply {}`",
            out.display(),
            out.display()
        ));
    }
    if discard_failed {
        return Ok(ExitStatus::Error);
    }
    if plan.summary.has_blockers() {
        for gate in render::gate_report(plan) {
            printer.warn(&gate);
        }
        printer.info("the plan has blocking items: apply will refuse it until they are resolved");
        return Ok(ExitStatus::Error);
    }
    Ok(if args.detailed_exitcode && plan.summary.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Ok
    })
}
