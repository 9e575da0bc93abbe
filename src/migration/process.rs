//! What a command's process needs around a migration: its async runtime, the signals
//! that stop it and its diagnostics log on stderr.

/// The multi-threaded runtime commands run on, or the error text to print.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the async runtime: {e}"))
}

/// Signals that stop a command: SIGINT (Ctrl-C) or SIGTERM.
pub async fn interrupted() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    // Without a handler there is no signal to wait for: wait forever.
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Logs diagnostics to stderr: warnings, or debug (`-v`) and trace (`-vv`) of this
/// crate; `WHM_MIGRATE_LOG` overrides the filter.
pub fn init_tracing(verbose: u8, color: bool) {
    let level = match verbose {
        0 => "warn",
        1 => "whm_migrate=debug",
        _ => "whm_migrate=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WHM_MIGRATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Fails only when a subscriber is already set (tests calling run twice): keep it.
    drop(
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(color)
            .with_target(false)
            .try_init(),
    );
}
