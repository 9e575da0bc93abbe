//! The one integration-test binary: the CLI and the library against the simulator.

mod client;
mod client_sim;
mod manifest;
mod plan;
mod sim;
mod support;
mod tls;
