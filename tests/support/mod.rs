//! Shared test context:
//!
//! * [`Case`]: a manifest in a scratch directory with its state directory, run as the
//!   binary ([`Bin`], [`Out`], [`Watched`]), its journal read back;
//! * [`SimContext`]: the in-process simulator on loopback with a client for it, its
//!   counters in process or over HTTP ([`SimHttp`]), and [`wait_for`] a milestone in them;
//! * [`wait`]: waiting for an event with a generous deadline, never for a length of time;
//! * [`apply_world`]: the `apply` world and the checks several files make on it;
//! * [`Replay`]: a server answering WHM calls with canned bodies;
//! * [`hostile`]: checks of hostile bytes, shared with the fuzz targets.

pub mod apply_world;
mod case;
pub mod hostile;
mod replay;
mod run;
pub mod s3;
mod sim;
pub mod wait;

pub use case::Case;
pub use replay::{Replay, client_for, fixture};
pub use run::{BIN, Bin, Out, Watched, bin, finish};
pub use sim::{SimContext, SimHttp, calls, tls_config, wait_for, world};

/// The token every test server accepts.
pub const TOKEN: &str = "TESTTOKEN0123456789SENTINEL";

/// The root password of the test worlds' source `src.example.com`.
pub const SRC_PASSWORD: &str = "ROOTPW-SENTINEL-7f3a";
