//! The one integration-test binary: the CLI and the library against the simulator.

// A scenario test reads top to bottom as one story; the 80-line limit is for src/.
#![allow(clippy::too_many_lines)]

mod apply;
mod cleanup;
mod cli;
mod client;
mod client_sim;
mod crashloop;
mod docs;
mod enqueue;
mod eta;
mod faults;
mod guide_states;
mod hostile;
mod init;
mod journal;
mod live_schema;
mod log_layouts;
mod manifest;
mod plan;
mod preflight;
mod rehearse;
mod schedule;
mod secrets;
mod shared_state;
mod sim;
mod state;
mod support;
mod terminal;
mod tls;
mod verify;
mod verify_http;
mod waves;
