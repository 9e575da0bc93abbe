//! whm-migrate: declarative, reviewable, repeatable cPanel & WHM server-to-server
//! migrations.
//!
//! The library holds everything; the `whm-migrate` binary is a thin wrapper around
//! [`cli::run`]. Dependency direction (docs/architecture.md): `cli -> migration ->
//! {apply, plan, rehearse, report} -> {whm, manifest, modules, translog, journal} ->
//! domain`; `sim` (the WHM simulator) never depends on the client, and nothing depends
//! on `cli`.

/// Appends formatted text to a `String`, like `write!`. `fmt::Write` for a `String`
/// cannot fail, so its `Result` is dropped here, once, rather than at every call.
macro_rules! put {
    ($dst:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = write!($dst, $($arg)*);
    }};
}

/// Like [`put!`], with a newline, like `writeln!`.
macro_rules! putln {
    ($dst:expr) => {
        $dst.push('\n')
    };
    ($dst:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($dst, $($arg)*);
    }};
}

pub mod apply;
pub mod cli;
pub mod domain;
pub mod init;
pub mod journal;
pub mod manifest;
pub mod migration;
pub mod modules;
pub mod plan;
pub mod rehearse;
pub mod report;
pub mod sim;
pub mod text;
pub mod translog;
pub mod units;
pub mod verify;
pub mod whm;
