//! `whm-migrate init`: write a manifest from the servers.

use crate::cli::args::{GlobalArgs, InitArgs, InitKind};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::init::{
    DestinationSpec, EntryKind, InitRequest, SourceSpec, Trust, default_name, default_source_name,
};
use crate::migration::{InitTarget, Initialized, init};
use crate::plan::SessionKind;
use crate::plan::render::throughput_text;
use crate::units::{bytes, duration};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Writes the manifest and tells what it holds.
pub async fn run(printer: &Printer, global: &GlobalArgs, args: &InitArgs) -> CommandResult {
    let target = match (&args.into, &args.out) {
        (Some(p), _) => InitTarget::Into(p.clone()),
        (None, Some(p)) => InitTarget::Out(p.clone()),
        (None, None) => InitTarget::Stdout,
    };
    let request = request(args, &target);
    let done = init(&request, &target, global.state(), printer).await?;
    if done.written.is_none() {
        printer.data(&done.text);
    }
    tell(printer, &done);
    Ok(ExitStatus::Ok)
}

fn request(args: &InitArgs, target: &InitTarget) -> InitRequest {
    let source_name = args
        .source_name
        .clone()
        .unwrap_or_else(|| default_source_name(&args.source));
    let destination = args.url.as_ref().map(|url| DestinationSpec {
        url: url.clone(),
        token_env: args.token_env.clone().unwrap_or_default(),
        trust: match (&args.pin_sha256, &args.ca_file) {
            (Some(fp), _) => Trust::Pin(fp.clone()),
            (None, Some(ca)) => Trust::CaFile(ca_path(ca, target)),
            (None, None) => Trust::System,
        },
    });
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| default_name(&source_name, args.url.as_deref().unwrap_or_default()));
    InitRequest {
        name,
        destination,
        source: SourceSpec {
            name: source_name,
            host: args.source.clone(),
            kind: match args.kind {
                InitKind::Root => SessionKind::Root,
                InitKind::User => SessionKind::User,
            },
            user: args.user.clone(),
            password_env: args.password_env.clone(),
        },
        waves: args.waves,
    }
}

/// `ca_file` as the manifest must write it: relative to the manifest's folder, which
/// is not the working directory the flag was given in when `--out` is elsewhere.
fn ca_path(given: &Path, target: &InitTarget) -> PathBuf {
    let InitTarget::Out(out) = target else {
        return given.to_path_buf();
    };
    let (Ok(ca), Ok(out)) = (std::path::absolute(given), std::path::absolute(out)) else {
        return given.to_path_buf();
    };
    out.parent()
        .and_then(|dir| ca.strip_prefix(dir).ok())
        .map_or(ca.clone(), Path::to_path_buf)
}

/// The summary on stderr: what was written, what was left out, the waves.
fn tell(printer: &Printer, done: &Initialized) {
    let count = |kind: EntryKind, written: bool| {
        done.entries
            .iter()
            .filter(|e| e.kind == kind && e.excluded.is_none() == written)
            .count()
    };
    let whereto = done.written.as_ref().map_or_else(
        || "printed the manifest".to_owned(),
        |p| format!("wrote {}", p.display()),
    );
    printer.info(&format!(
        "{whereto}: {} feature list(s), {} package(s), {} account(s) to move",
        count(EntryKind::FeatureList, true),
        count(EntryKind::Package, true),
        count(EntryKind::Account, true),
    ));
    for e in done.entries.iter().filter(|e| e.excluded.is_some()) {
        let why = e.excluded.as_deref().unwrap_or_default();
        printer.info(&format!("  left out (commented) {}: {why}", e.key));
    }
    if let Some(limits) = &done.limits {
        printer.warn(limits);
    }
    if done.waves.is_empty() {
        return;
    }
    printer.info(&format!(
        "waves, each estimated at {}:",
        throughput_text(&done.throughput)
    ));
    for w in &done.waves {
        printer.info(&format!(
            "  {}: {} accounts, {}, about {}",
            w.wave.name,
            w.wave.accounts.len(),
            bytes(w.wave.bytes),
            duration(Duration::from_millis(w.estimate_ms))
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_is_written_relative_to_the_manifests_folder() {
        let out = InitTarget::Out(PathBuf::from("new1/plan.toml"));
        assert_eq!(
            ca_path(Path::new("new1/certs/ca.pem"), &out),
            Path::new("certs/ca.pem")
        );
        let outside = ca_path(Path::new("certs/ca.pem"), &out);
        assert!(outside.is_absolute() && outside.ends_with("certs/ca.pem"));
        assert_eq!(
            ca_path(Path::new("ca.pem"), &InitTarget::Stdout),
            Path::new("ca.pem")
        );
    }
}
