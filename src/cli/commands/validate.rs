//! `whm-migrate validate`: the manifest against the module schemas (bundled, or the
//! live server's with `--online`).

use crate::cli::args::{DiagnosticsFormat, GlobalArgs, ValidateArgs};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus, Failure};
use crate::manifest::Diagnostics;
use crate::migration::{Migration, MigrationError, OpenOptions};

/// Validates; exit 0 when valid, 1 with diagnostics otherwise.
pub async fn run(printer: &Printer, global: &GlobalArgs, args: &ValidateArgs) -> CommandResult {
    let diags = if args.online {
        let options = OpenOptions::unlocked(global.state());
        match Migration::open(&args.manifest, options, printer).await {
            Ok(migration) => {
                let diags = migration.validate_online(printer).await;
                migration.close().await;
                diags
            }
            Err(MigrationError::Manifest(diags)) => diags,
            Err(e) => return Err(Failure::Migration(e)),
        }
    } else {
        match crate::manifest::load(&args.manifest) {
            Ok(manifest) => manifest.warnings(),
            Err(diags) => diags,
        }
    };
    Ok(emit(printer, args.format, &diags))
}

fn emit(printer: &Printer, format: DiagnosticsFormat, diags: &Diagnostics) -> ExitStatus {
    match format {
        DiagnosticsFormat::Json => printer.data(&format!("{}\n", diags.render_json())),
        DiagnosticsFormat::Text => {
            if !diags.is_empty() {
                printer.error(&diags.render_text(printer.stderr_color()));
            }
        }
    }
    if diags.has_errors() {
        ExitStatus::Error
    } else {
        if format == DiagnosticsFormat::Text {
            printer.info("the manifest is valid");
        }
        ExitStatus::Ok
    }
}
