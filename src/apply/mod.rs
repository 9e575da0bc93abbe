//! Apply: queue what the plan says is missing, start, follow, report — idempotently.

pub mod enqueue;
pub mod eta;
pub mod execute;
pub mod logfeed;
pub mod monitor;
pub mod poll;
