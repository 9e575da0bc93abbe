//! whm-migrate: declarative, reviewable, repeatable cPanel & WHM server-to-server
//! migrations.
//!
//! The library holds everything; the `whm-migrate` binary is a thin wrapper around
//! [`cli::run`]. Dependency direction: `cli -> {manifest, modules, whm, translog}`;
//! `sim` (the WHM simulator) never depends on the client.

pub mod apply;
pub mod cli;
pub mod domain;
pub mod journal;
pub mod manifest;
pub mod modules;
pub mod plan;
pub mod rehearse;
pub mod report;
pub mod sim;
pub mod translog;
pub mod whm;
