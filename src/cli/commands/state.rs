//! `unlock` and `state pull|push`: the shared state backend's lock and journal.

use crate::cli::args::{GlobalArgs, StateCommand, UnlockArgs};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::migration::{Transfer, load_manifest, settings, state};

/// Breaks the lock `args.lock_id`.
pub fn unlock(printer: &Printer, args: &UnlockArgs) -> CommandResult {
    let manifest = load_manifest(&args.manifest, printer)?;
    let was = state::unlock(&manifest, &args.lock_id)?;
    printer.info(&format!("broke the {}", was.describe()));
    Ok(ExitStatus::Ok)
}

/// Copies the journal into or out of the shared backend.
pub fn transfer(printer: &Printer, global: &GlobalArgs, command: &StateCommand) -> CommandResult {
    let (way, args) = match command {
        StateCommand::Pull(a) => (Transfer::Pull, a),
        StateCommand::Push(a) => (Transfer::Push, a),
    };
    let manifest = load_manifest(&args.manifest, printer)?;
    let root = settings::state_dir(global.state_dir.as_deref(), &args.manifest);
    let to = state::transfer(&manifest, &root, way, args.replace, global.state(), printer)?;
    printer.info(&format!("wrote the journal to {to}"));
    Ok(ExitStatus::Ok)
}
