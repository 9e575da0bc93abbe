//! What `init` tells on the terminal once the manifest is written: the counts, each
//! item left out and why, and each wave's total and estimate.

use crate::init::{EntryKind, WaveSummary};
use crate::migration::Initialized;
use crate::plan::render::throughput_text;
use crate::units::{bytes, duration};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The summary's lines, in order.
pub fn summary(done: &Initialized) -> Vec<String> {
    let count = |kind: EntryKind| {
        (done.entries.iter())
            .filter(|e| e.kind == kind && e.excluded.is_none())
            .count()
    };
    let whereto = done.written.as_ref().map_or_else(
        || "printed the manifest".to_owned(),
        |p| format!("wrote {}", p.display()),
    );
    let mut lines = vec![format!(
        "{whereto}: {} feature list(s), {} package(s), {} account(s) to move",
        count(EntryKind::FeatureList),
        count(EntryKind::Package),
        count(EntryKind::Account),
    )];
    for e in &done.entries {
        if let Some(why) = &e.excluded {
            lines.push(format!("  left out (commented) {}: {why}", e.key));
        }
    }
    if !done.waves.is_empty() {
        lines.push(format!(
            "waves, each estimated at {}:",
            throughput_text(&done.throughput)
        ));
        lines.extend(done.waves.iter().map(wave_line));
    }
    lines
}

fn wave_line(w: &WaveSummary) -> String {
    format!(
        "  {}: {} accounts, {}, about {}",
        w.wave.name,
        w.wave.accounts.len(),
        bytes(w.wave.bytes),
        duration(Duration::from_millis(w.estimate_ms))
    )
}

/// `given` (a path as the user typed it) as a manifest written to `manifest` must hold
/// it: relative to the manifest's folder, which is not the working directory when the
/// manifest goes elsewhere; as given when the manifest goes to standard output.
pub fn relative_to_manifest(given: &Path, manifest: Option<&Path>) -> PathBuf {
    let Some(out) = manifest else {
        return given.to_path_buf();
    };
    let (Ok(abs), Ok(out)) = (std::path::absolute(given), std::path::absolute(out)) else {
        return given.to_path_buf();
    };
    out.parent()
        .and_then(|dir| abs.strip_prefix(dir).ok())
        .map_or(abs.clone(), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_is_written_relative_to_the_manifests_folder() {
        let out = Some(Path::new("new1/plan.toml"));
        assert_eq!(
            relative_to_manifest(Path::new("new1/certs/ca.pem"), out),
            Path::new("certs/ca.pem")
        );
        let outside = relative_to_manifest(Path::new("certs/ca.pem"), out);
        assert!(outside.is_absolute() && outside.ends_with("certs/ca.pem"));
        assert_eq!(
            relative_to_manifest(Path::new("ca.pem"), None),
            Path::new("ca.pem")
        );
    }
}
