//! `whm-migrate schemas pull MANIFEST`: refresh the bundled module schema snapshots
//! (`schemas/modules/*.json`) from the destination's `transfer_module_schema`.

use crate::cli::args::{GlobalArgs, SchemasPullArgs};
use crate::cli::commands::load_manifest;
use crate::cli::printer::Printer;
use crate::cli::settings;
use crate::cli::{EXIT_ERROR, EXIT_OK};
use crate::modules::{ModuleCatalog, ModuleSchema, ModuleSnapshot};
use miette::{IntoDiagnostic, WrapErr, miette};

/// Fetches every bundled module's live schema and writes it in the snapshot format.
pub async fn pull(
    printer: &Printer,
    global: &GlobalArgs,
    args: &SchemasPullArgs,
) -> miette::Result<i32> {
    let Some(mut manifest) = load_manifest(printer, &args.manifest) else {
        return Ok(EXIT_ERROR);
    };
    let _ = manifest.resolve_secrets();
    let state = settings::state_dir(global.state_dir.as_deref(), &args.manifest);
    let dest = settings::destination(&manifest, &state)
        .await
        .map_err(|e| miette!("{e}"))?;
    for w in dest.client.warnings() {
        printer.warn(w);
    }
    let ids = dest.client.available_transfer_modules().await?;
    std::fs::create_dir_all(&args.dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create {}", args.dir.display()))?;
    let mut written = 0;
    for module in ModuleCatalog::bundled().modules() {
        let name = &module.name;
        let schema = match dest.client.transfer_module_schema(name).await {
            Ok(s) => s,
            Err(e) => {
                printer.warn(&format!("{name}: not pulled: {e}"));
                continue;
            }
        };
        let type_id = ids
            .get(name.as_str())
            .map_or_else(|| module.type_id.to_string(), ToString::to_string);
        // The live answer's `{"def": …}` keys, written in the snapshot form.
        let schema: ModuleSchema = serde_json::to_value(&schema)
            .and_then(serde_json::from_value)
            .into_diagnostic()
            .wrap_err_with(|| format!("{name}: the live schema is not understood"))?;
        let doc = ModuleSnapshot {
            module: name.clone(),
            type_id,
            schema,
        };
        let mut text = serde_json::to_string_pretty(&doc).into_diagnostic()?;
        text.push('\n');
        let path = args.dir.join(format!("{name}.json"));
        crate::journal::write_atomic(&args.dir, &path, text.as_bytes())
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", path.display()))?;
        written += 1;
    }
    dest.close().await;
    printer.info(&format!(
        "wrote {written} module schema snapshot(s) to {}; review the diff and commit it",
        args.dir.display()
    ));
    Ok(EXIT_OK)
}
