//! whm-migrate: declarative, reviewable, repeatable cPanel & WHM server-to-server
//! migrations.
//!
//! The library holds everything; the `whm-migrate` binary is a thin wrapper around
//! [`cli::run`]. Dependency direction (docs/architecture.md): `cli -> migration ->
//! {apply, plan, rehearse, report} -> {whm, manifest, modules, translog, journal} ->
//! domain`; `sim` (the WHM simulator) never depends on the client, and nothing depends
//! on `cli`.

pub mod apply;
pub mod cli;
pub mod domain;
pub mod journal;
pub mod manifest;
pub mod migration;
pub mod modules;
pub mod plan;
pub mod rehearse;
pub mod report;
pub mod sim;
pub mod translog;
pub mod whm;
