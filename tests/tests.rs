//! The one integration-test binary: the CLI and the library against the simulator.

mod apply;
mod cleanup;
mod cli;
mod client;
mod client_sim;
mod crashloop;
mod docs;
mod faults;
mod manifest;
mod plan;
mod preflight;
mod rehearse;
mod schedule;
mod secrets;
mod sim;
mod support;
mod terminal;
mod tls;
mod waves;
