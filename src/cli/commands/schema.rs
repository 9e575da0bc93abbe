//! `whm-migrate schema [--check]`: the manifest's JSON Schema.

use crate::cli::ExitStatus;
use crate::cli::args::SchemaArgs;
use crate::cli::printer::Printer;
use crate::manifest::{SCHEMA_REGEN_COMMAND, manifest_json_schema_text};

/// Prints the schema, or with `--check` compares it with the committed copy.
pub fn run(printer: &Printer, args: &SchemaArgs) -> ExitStatus {
    let text = manifest_json_schema_text();
    if !args.check {
        printer.data(&text);
        return ExitStatus::Ok;
    }
    match std::fs::read_to_string("schemas/manifest.schema.json") {
        Ok(committed) if committed == text => {
            printer.info("schemas/manifest.schema.json is up to date");
            ExitStatus::Ok
        }
        Ok(_) => {
            printer.error(&format!(
                "error: schemas/manifest.schema.json is stale\nhelp: regenerate it with `{SCHEMA_REGEN_COMMAND}` and commit it"
            ));
            ExitStatus::Error
        }
        Err(e) => {
            printer.error(&format!(
                "error: cannot read schemas/manifest.schema.json: {e}\nhelp: run this from the project's root, or regenerate it with `{SCHEMA_REGEN_COMMAND}`"
            ));
            ExitStatus::Error
        }
    }
}
