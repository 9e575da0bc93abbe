//! Plan: observe the servers, diff with the manifest, and render the result.
//!
//! The diff ([`diff::diff`]) is a pure function of plain values; observing lives in
//! `observe`, rendering in `render`.

pub mod checks;
pub mod diff;
pub mod input;
pub mod live;
pub mod model;
pub mod observe;
pub mod render;
pub mod schedule;
#[cfg(test)]
pub(crate) mod test_items;
pub mod waves;

pub use diff::diff;
pub use input::{
    Desired, DesiredItem, DesiredSource, DestinationInventory, Observed, ObservedSession,
    ObservedSource, SessionKind, queue_key,
};
pub use model::{
    Action, Check, Conflict, FORMAT_VERSION, Fingerprint, ItemPlan, Plan, PlanEstimate, Risk,
    SessionRef, SetBy, Severity, SourceEstimate, SourcePlan, Summary, Throughput, ThroughputSource,
    UnsentKey, Warning,
};
