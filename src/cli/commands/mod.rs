//! One handler per command: parse what the flags say, call the migration layer, print,
//! and return the exit status. No handler calls another.

pub mod adopt;
pub mod apply;
pub mod cleanup;
pub mod control;
pub mod init;
pub mod plan;
pub mod rehearse;
pub mod schema;
pub mod schemas;
pub mod sim;
pub mod state;
pub mod validate;
pub mod verify;

use crate::cli::args::{Cli, Command, SchemasCommand};
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::migration::Action;

/// Runs the command `cli` names.
pub async fn run(printer: &Printer, cli: &Cli) -> CommandResult {
    let global = &cli.global;
    match &cli.command {
        Command::Init(a) => init::run(printer, global, a).await,
        Command::Validate(a) => validate::run(printer, global, a).await,
        Command::Plan(a) => plan::run(printer, global, a).await,
        Command::Apply(a) => apply::run(printer, global, a).await,
        Command::Rehearse(a) => rehearse::run(printer, global, a).await,
        Command::Status(a) => control::status(printer, global, a).await,
        Command::Logs(a) => control::logs(printer, global, a).await,
        Command::Pause(a) => control::control(printer, global, a, Action::Pause).await,
        Command::Resume(a) => control::control(printer, global, a, Action::Resume).await,
        Command::Abort(a) => control::control(printer, global, a, Action::Abort).await,
        Command::Cleanup(a) => cleanup::run(printer, global, a).await,
        Command::Adopt(a) => adopt::run(printer, global, a).await,
        Command::Schema(a) => Ok(schema::run(printer, a)),
        Command::Schemas(SchemasCommand::Pull(a)) => schemas::pull(printer, global, a).await,
        Command::Sim(a) => sim::run(printer, a).await,
        Command::Unlock(a) => state::unlock(printer, a),
        Command::State(a) => state::transfer(printer, global, a),
        Command::Verify(a) => verify::run(printer, global, a).await,
        Command::Completions(a) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(a.shell, &mut cmd, "whm-migrate", &mut out);
            printer.data(&String::from_utf8_lossy(&out));
            Ok(ExitStatus::Ok)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(|e| miette::miette!("cannot render the man page: {e}"))?;
            printer.data(&String::from_utf8_lossy(&out));
            Ok(ExitStatus::Ok)
        }
    }
}
