//! `whm-migrate init`: write a manifest from the servers.

use crate::cli::args::{GlobalArgs, InitArgs, InitKind};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::init::report::relative_to_manifest;
use crate::init::{
    DestinationSpec, InitRequest, SourceSpec, Trust, default_name, default_source_name,
};
use crate::migration::{InitTarget, Initialized, init};
use crate::plan::SessionKind;

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
    let out = match target {
        InitTarget::Out(p) => Some(p.as_path()),
        _ => None,
    };
    let source_name = args
        .source_name
        .clone()
        .unwrap_or_else(|| default_source_name(&args.source));
    let destination = args.url.as_ref().map(|url| DestinationSpec {
        url: url.clone(),
        token_env: args.token_env.clone().unwrap_or_default(),
        trust: match (&args.pin_sha256, &args.ca_file) {
            (Some(fp), _) => Trust::Pin(fp.clone()),
            (None, Some(ca)) => Trust::CaFile(relative_to_manifest(ca, out)),
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

/// The summary on stderr: what was written, what was left out, the waves.
fn tell(printer: &Printer, done: &Initialized) {
    for line in crate::init::report::summary(done) {
        printer.info(&line);
    }
    if let Some(limits) = &done.limits {
        printer.warn(limits);
    }
}
