//! One handler per command; each returns the exit code or an error report.

pub mod apply;
pub mod control;
pub mod plan;
pub mod schema;
pub mod schemas;
pub mod sim;
pub mod validate;

use crate::cli::printer::Printer;
use crate::manifest::{Diagnostics, Manifest};
use std::path::Path;

/// Loads a manifest, printing its diagnostics; `None` when it has errors.
pub fn load_manifest(printer: &Printer, path: &Path) -> Option<Manifest> {
    match crate::manifest::load(path) {
        Ok(m) => {
            let warnings = m.warnings();
            if !warnings.is_empty() {
                printer.error(&warnings.render_text(printer.stderr_color()));
            }
            Some(m)
        }
        Err(diags) => {
            print_diagnostics(printer, &diags);
            None
        }
    }
}

/// Prints diagnostics on stderr.
pub fn print_diagnostics(printer: &Printer, diags: &Diagnostics) {
    printer.error(&diags.render_text(printer.stderr_color()));
}
