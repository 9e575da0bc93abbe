//! `whm-migrate sim`: the WHM simulator, standalone.

use crate::cli::args::SimArgs;
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::sim::{SimOptions, TimeScale, World, serve_until_signal, token_from_env};
use miette::{IntoDiagnostic, WrapErr, miette};

/// Serves the world until Ctrl-C or SIGTERM.
pub async fn run(printer: &Printer, args: &SimArgs) -> CommandResult {
    let world = World::load(&args.world)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot load the world {}", args.world.display()))?;
    let token = token_from_env(&args.token_env).ok_or_else(|| {
        miette!(
            help = format!(
                "export {}=SOME-LONG-RANDOM-TOKEN and give the same token to the client",
                args.token_env
            ),
            "the environment variable {} holding the API token is not set",
            args.token_env
        )
    })?;
    let listen = args
        .listen
        .parse()
        .into_diagnostic()
        .wrap_err_with(|| format!("invalid --listen address “{}”", args.listen))?;
    let opts = SimOptions {
        listen,
        api_token: token,
        state_file: args.state_file.clone(),
        time_scale: TimeScale::default().slowed(args.time_scale),
        log_layout: args.log_layout,
        ..SimOptions::default()
    };
    serve_until_signal(world, opts, |url| {
        printer.info(&format!(
            "WHM simulator listening on {url} (stats: {url}/__sim/stats); Ctrl-C stops it"
        ));
    })
    .await
    .into_diagnostic()?;
    printer.info("simulator stopped");
    Ok(ExitStatus::Ok)
}
