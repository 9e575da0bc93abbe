//! `whm-migrate verify`: one verdict per item, from read-only calls.

use crate::cli::args::{GlobalArgs, PlanFormat, VerifyArgs};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::migration::{VerifyOptions, save_verify_junit, verify_manifest};

/// Verifies and prints.
pub async fn run(printer: &Printer, global: &GlobalArgs, args: &VerifyArgs) -> CommandResult {
    let options = VerifyOptions {
        wave: args.wave.clone(),
        http: args.http,
    };
    let report = verify_manifest(&args.manifest, global.state(), &options, printer).await?;
    printer.data(&match args.format {
        PlanFormat::Text => crate::verify::render::text(&report),
        PlanFormat::Json => crate::verify::render::json(&report),
        PlanFormat::Markdown => crate::verify::render::markdown(&report),
    });
    let junit = args.junit.as_deref();
    junit.map(|p| save_verify_junit(p, &report)).transpose()?;
    Ok(ExitStatus::of_code(report.exit_code()))
}
