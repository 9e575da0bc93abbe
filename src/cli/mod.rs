//! Command line: clap definitions ([`args`]), resolved settings ([`settings`]) and one
//! handler per command ([`commands`]). All output goes through [`printer::Printer`].

pub mod args;
pub mod commands;
pub mod printer;
pub mod settings;
pub mod watch;

use args::{Cli, Command};
use clap::Parser;
use printer::Printer;

/// Exit code: everything went as asked.
pub const EXIT_OK: i32 = 0;
/// Exit code: an error before or during the command.
pub const EXIT_ERROR: i32 = 1;
/// Exit code: `plan --detailed-exitcode` found changes.
pub const EXIT_CHANGES: i32 = 2;
/// Exit code: `apply` finished with failed items.
pub const EXIT_ITEMS_FAILED: i32 = 3;

/// Runs the command line and returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let printer = Printer::new(cli.global.quiet, cli.global.verbose, cli.global.color);
    let color = printer.stderr_color();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .build(),
        )
    }));
    init_tracing(cli.global.verbose, color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&format!("error: cannot start the async runtime: {e}"));
            return EXIT_ERROR;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Validate(a) => commands::validate::run(&printer, &cli.global, a).await,
            Command::Plan(a) => commands::plan::run(&printer, &cli.global, a).await,
            Command::Apply(a) => commands::apply::run(&printer, &cli.global, a).await,
            Command::Rehearse(a) => commands::rehearse::run(&printer, &cli.global, a).await,
            Command::Status(a) => commands::control::status(&printer, &cli.global, a).await,
            Command::Logs(a) => commands::control::logs(&printer, &cli.global, a).await,
            Command::Pause(a) => {
                commands::control::control(
                    &printer,
                    &cli.global,
                    a,
                    commands::control::Action::Pause,
                )
                .await
            }
            Command::Resume(a) => {
                commands::control::control(
                    &printer,
                    &cli.global,
                    a,
                    commands::control::Action::Resume,
                )
                .await
            }
            Command::Abort(a) => {
                commands::control::control(
                    &printer,
                    &cli.global,
                    a,
                    commands::control::Action::Abort,
                )
                .await
            }
            Command::Cleanup(a) => commands::cleanup::run(&printer, &cli.global, a).await,
            Command::Schema(a) => commands::schema::run(&printer, a),
            Command::Schemas(args::SchemasCommand::Pull(a)) => {
                commands::schemas::pull(&printer, &cli.global, a).await
            }
            Command::Sim(a) => commands::sim::run(&printer, a).await,
            Command::Completions(a) => {
                let mut cmd = <Cli as clap::CommandFactory>::command();
                let mut out = Vec::new();
                clap_complete::generate(a.shell, &mut cmd, "whm-migrate", &mut out);
                printer.data(&String::from_utf8_lossy(&out));
                Ok(EXIT_OK)
            }
            Command::Man => {
                let mut out = Vec::new();
                clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                    .render(&mut out)
                    .map_err(|e| miette::miette!("cannot render the man page: {e}"))?;
                printer.data(&String::from_utf8_lossy(&out));
                Ok(EXIT_OK)
            }
        }
    });
    // Background tasks (the embedded simulator's workers) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(report) => {
            printer.error(&format!("{report:?}"));
            EXIT_ERROR
        }
    }
}

fn init_tracing(verbose: u8, color: bool) {
    let level = match verbose {
        0 => "warn",
        1 => "whm_migrate=debug",
        _ => "whm_migrate=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WHM_MIGRATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .try_init();
}
