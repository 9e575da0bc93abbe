//! Command line: clap definitions ([`args`]) and one handler per command
//! ([`commands`]), each parsing its flags, calling the migration layer
//! ([`crate::migration`]), printing through [`printer::Printer`] and mapping the result
//! to an [`ExitStatus`].

pub mod args;
pub mod commands;
pub mod printer;

use crate::migration::MigrationError;
use args::Cli;
use clap::Parser;
use printer::Printer;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything went as asked.
    Ok,
    /// An error before or during the command.
    Error,
    /// `plan --detailed-exitcode` found changes.
    Changes,
    /// `apply` finished with failed items.
    ItemsFailed,
    /// Stopped by SIGINT or SIGTERM.
    Interrupted,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Self::Ok => 0,
            Self::Error => 1,
            Self::Changes => 2,
            Self::ItemsFailed => 3,
            Self::Interrupted => 130,
        }
    }

    /// The status of a report's exit code (an apply's 0, 1 or 3; a verification's 0 or 3).
    pub fn of_code(code: i32) -> Self {
        match code {
            0 => Self::Ok,
            3 => Self::ItemsFailed,
            _ => Self::Error,
        }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A migration call failed.
    #[error(transparent)]
    Migration(#[from] MigrationError),
    /// Anything else (the simulator, the schema, …).
    #[error("{0:?}")]
    Other(miette::Report),
}

impl From<miette::Report> for Failure {
    fn from(e: miette::Report) -> Self {
        Self::Other(e)
    }
}

/// A command's result.
pub type CommandResult = Result<ExitStatus, Failure>;

/// Runs the command line and returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let printer = Printer::new(cli.global.quiet, cli.global.color);
    printer.install_error_hook();
    crate::migration::process::init_tracing(cli.global.verbose, printer.stderr_color());
    let runtime = match crate::migration::process::runtime() {
        Ok(rt) => rt,
        Err(text) => {
            printer.error(&text);
            return ExitStatus::Error.code();
        }
    };
    let result = runtime.block_on(commands::run(&printer, &cli));
    // Background tasks (the embedded simulator's workers) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(status) => status.code(),
        Err(Failure::Migration(MigrationError::Manifest(diags))) => {
            printer.error(&diags.render_text(printer.stderr_color()));
            ExitStatus::Error.code()
        }
        Err(Failure::Migration(e)) => {
            printer.error(&format!("{:?}", miette::Report::new(e)));
            ExitStatus::Error.code()
        }
        Err(Failure::Other(report)) => {
            printer.error(&format!("{report:?}"));
            ExitStatus::Error.code()
        }
    }
}
