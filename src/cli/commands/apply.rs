//! `whm-migrate apply`: queue what is missing, start, follow and report — idempotently.

use crate::cli::args::{ApplyArgs, GlobalArgs};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::migration::process::interrupted;
use crate::migration::{
    ApplyOptions, ApplyOutcome, Migration, OpenOptions, VerifyOptions, load_target, save_junit,
    save_markdown, verify_manifest,
};
use crate::plan::render;

/// Applies a manifest (or a saved plan, refused when stale).
pub async fn run(printer: &Printer, global: &GlobalArgs, args: &ApplyArgs) -> CommandResult {
    let (manifest, saved) = load_target(&args.target)?;
    let options = OpenOptions::locked("apply", global.state());
    let migration = Migration::open(&manifest, options, printer).await?;
    let rerun = migration.rerun_args();
    let planned_wave = saved.as_ref().and_then(|p| p.wave.clone());
    let wave = args.wave.clone().or(planned_wave);
    let options = ApplyOptions {
        target: args.target.clone(),
        saved,
        wave: args.wave.clone(),
        progress: args.progress,
    };
    let status = match migration.apply(options, printer, interrupted).await? {
        ApplyOutcome::Blocked(plan) => {
            printer.data(&render::text(&plan));
            for gate in render::gate_report(&plan) {
                printer.error(&format!("error: {gate}"));
            }
            printer.error("error: the plan has blocking items (conflict, missing on source, invalid, a blocking check or an unacknowledged risk); nothing was queued or started");
            return Ok(ExitStatus::Error);
        }
        ApplyOutcome::NoChanges(plan) => {
            printer.info(&render::summary_line(&plan));
            ExitStatus::Ok
        }
        ApplyOutcome::InterruptedPlanning => {
            printer.error(&format!(
                "interrupted while planning: nothing was queued or started\nresume with: whm-migrate apply {rerun}"
            ));
            return Ok(ExitStatus::Interrupted);
        }
        ApplyOutcome::Interrupted(left) => {
            // A second signal ends the process at once.
            tokio::spawn(async {
                interrupted().await;
                std::process::exit(ExitStatus::Interrupted.code());
            });
            printer.error(&left.message(&rerun));
            return Ok(ExitStatus::Interrupted);
        }
        ApplyOutcome::Applied(report) => {
            printer.data(&report.render_text(&rerun));
            if let Some(junit) = &args.junit {
                save_junit(junit, &report)?;
            }
            if let Some(markdown) = &args.markdown {
                save_markdown(markdown, &report, "apply", &rerun)?;
            }
            ExitStatus::of_code(report.exit_code())
        }
    };
    if !args.verify || status != ExitStatus::Ok {
        return Ok(status);
    }
    let options = VerifyOptions {
        wave,
        http: args.verify_http,
    };
    let report = verify_manifest(&manifest, global.state(), &options, printer).await?;
    printer.data(&crate::verify::render::text(&report));
    Ok(ExitStatus::of_code(report.exit_code()))
}
