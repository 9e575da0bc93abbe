//! `whm-migrate sim`: the WHM simulator, standalone.

use crate::cli::args::SimArgs;
use crate::cli::printer::Printer;
use crate::cli::{CommandResult, ExitStatus};
use crate::sim::{
    NoToken, SimOptions, TimeScale, WebOptions, World, listen_warning, serve_until_signal,
    token_from_env,
};
use miette::{IntoDiagnostic, WrapErr};

/// Serves the world until Ctrl-C or SIGTERM.
pub async fn run(printer: &Printer, args: &SimArgs) -> CommandResult {
    let world = World::load(&args.world)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot load the world {}", args.world.display()))?;
    let token = token_from_env(&args.token_env)
        .ok_or_else(|| miette::Report::new(NoToken(args.token_env.clone())))?;
    let opts = SimOptions {
        listen: args.listen,
        api_token: token,
        state_file: args.state_file.clone(),
        time_scale: TimeScale::default().slowed(args.time_scale),
        state_names: args.state_names,
        log_layout: args.log_layout,
        schema_lacks: args.schema_lacks.clone(),
        web: args.web.then(WebOptions::default),
        ..SimOptions::default()
    };
    if let Some(warning) = listen_warning(&opts) {
        printer.warn(&warning);
    }
    serve_until_signal(world, opts, |sim| {
        let url = sim.base_url();
        printer.info(&format!(
            "WHM simulator listening on {url} (stats: {url}/__sim/stats); Ctrl-C stops it"
        ));
        if let Some(p) = sim.web_ports() {
            printer.info(&format!(
                "the accounts' sites answer on the world's IPs, HTTP port {} and HTTPS port {} (set them as [verify] http_port and https_port)",
                p.http, p.https
            ));
        }
    })
    .await
    .into_diagnostic()?;
    printer.info("simulator stopped");
    Ok(ExitStatus::Ok)
}
