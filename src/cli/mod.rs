//! Command line: clap definitions and one handler per command.

/// Runs the command line and returns the process exit code.
pub fn run() -> i32 {
    0
}
