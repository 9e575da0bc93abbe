//! The WHM simulator: a real HTTP(S) server speaking WHM API 1's transfer functions as
//! `../shared/whm-api/REFERENCE.md` (beside the project) documents them. It serves the demo, every test
//! and every benchmark; where it and the documentation disagree, the documentation wins.
//!
//! * [`World`]: the simulated destination and source servers (TOML).
//! * [`Simulator::start`] → [`SimHandle`]: serve on an address, inspect and stop.
//! * [`SimOptions`]: token, result typing, blocking logs, log layout ([`LogLayout`]),
//!   time scale, faults, TLS, persistence, seed.
//! * [`Faults`]: injected failures; also settable over `POST /__sim/faults`.
//! * [`SimStats`]: counters, also at `GET /__sim/stats`.
//! * [`web`]: the accounts' web sites on loopback listeners, for `verify --http`.
//! * [`serve_until_signal`]: standalone serving for `whm-migrate sim`.
//!
//! Choices where the reference leaves behaviour unconfirmed are noted beside the code
//! (search for "unconfirmed"). Notably, `fetch_transfer_session_log` returns the partial
//! file at once unless [`SimOptions::blocking_logs`] is set.
//!
//! The simulator depends on neither the client (`whm`) nor the log parser (`translog`).

mod admin;
mod api;
mod effects;
pub mod faults;
mod index;
pub mod logs;
pub mod modules;
pub mod options;
mod queue;
mod runner;
pub mod serve;
pub mod server;
pub mod session;
mod state;
pub mod stats;
pub mod web;
mod worker;
pub mod world;

pub use faults::{CallFault, Faults};
pub use options::{LogLayout, ResultStyle, SimOptions, StateNames, TimeScale, TlsOptions};
pub use serve::{
    NoToken, listen_warning, random_token, serve_until, serve_until_signal, token_from_env,
};
pub use server::{SimError, SimHandle, Simulator};
pub use state::Persisted;
pub use stats::SimStats;
pub use web::{Site, WebOptions, WebPorts};
pub use world::{LocalArchive, World, WorldError};
