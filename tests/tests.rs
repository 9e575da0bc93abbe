//! The one integration-test binary: the CLI and the library against the simulator.

mod client;
mod manifest;
mod sim;
mod support;
