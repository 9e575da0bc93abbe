//! `whm-migrate validate`: the manifest against the module schemas (bundled, or the
//! live server's with `--online`).

use crate::cli::args::{DiagnosticsFormat, GlobalArgs, ValidateArgs};
use crate::cli::printer::Printer;
use crate::cli::settings;
use crate::cli::{EXIT_ERROR, EXIT_OK};
use crate::modules::{ModuleCatalog, ModuleSchema, diff_schemas};

/// Validates; exit 0 when valid, 1 with diagnostics otherwise.
pub async fn run(
    printer: &Printer,
    global: &GlobalArgs,
    args: &ValidateArgs,
) -> miette::Result<i32> {
    let diags = match crate::manifest::load(&args.manifest) {
        Ok(manifest) => {
            let mut diags = manifest.warnings();
            if args.online {
                let mut manifest = manifest;
                if let Err(d) = manifest.resolve_secrets() {
                    return Ok(emit(printer, args.format, &d));
                }
                let state = settings::state_dir(global.state_dir.as_deref(), &args.manifest);
                let dest = settings::destination(&manifest, &state)
                    .await
                    .map_err(|e| miette::miette!("{e}"))?;
                for w in dest.client.warnings() {
                    printer.warn(w);
                }
                let mut live = ModuleCatalog::bundled();
                let bundled = ModuleCatalog::bundled();
                for module in bundled.modules() {
                    let fetched = dest.client.transfer_module_schema(&module.name).await;
                    let schema = fetched
                        .ok()
                        .and_then(|s| serde_json::to_value(s).ok())
                        .and_then(|v| serde_json::from_value::<ModuleSchema>(v).ok());
                    let Some(schema) = schema else { continue };
                    for d in diff_schemas(&module.schema, &schema) {
                        printer.warn(&format!(
                            "{}: the live schema differs from the bundled one: {d}",
                            module.name
                        ));
                    }
                    live.set_schema(&module.name, schema, None);
                }
                dest.close().await;
                diags = manifest.validate_against(&live);
            }
            diags
        }
        Err(diags) => diags,
    };
    Ok(emit(printer, args.format, &diags))
}

fn emit(printer: &Printer, format: DiagnosticsFormat, diags: &crate::manifest::Diagnostics) -> i32 {
    match format {
        DiagnosticsFormat::Json => printer.data(&format!("{}\n", diags.render_json())),
        DiagnosticsFormat::Text => {
            if !diags.is_empty() {
                printer.error(&diags.render_text(printer.stderr_color()));
            }
        }
    }
    if diags.has_errors() {
        EXIT_ERROR
    } else {
        if format == DiagnosticsFormat::Text {
            printer.info("the manifest is valid");
        }
        EXIT_OK
    }
}
