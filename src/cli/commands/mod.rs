//! One handler per command; each returns the exit code or an error report.

pub mod apply;
pub mod cleanup;
pub mod control;
pub mod plan;
pub mod rehearse;
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
            warn_open_secret_files(printer, &m);
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

/// Warns about secret files other users can read. Not for the embedded simulator's
/// demo credentials, which a clone checks out world-readable.
fn warn_open_secret_files(printer: &Printer, manifest: &Manifest) {
    if manifest.destination.simulator.is_some() {
        return;
    }
    let mut secrets: Vec<&crate::manifest::Secret> = Vec::new();
    secrets.extend(manifest.destination.token.as_ref());
    for s in &manifest.sources {
        secrets.extend(s.password.as_ref());
        secrets.extend(s.root_password.as_ref());
        secrets.extend(s.sshkey_passphrase.as_ref());
    }
    for secret in secrets {
        if let crate::manifest::SecretRef::File(path) = secret.reference()
            && readable_by_others(path)
        {
            printer.warn(&format!(
                "the secret file {} can be read by other users; restrict it with `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}
