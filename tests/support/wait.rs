//! Waiting for an event, never for a length of time: a condition is looked at again until
//! it holds. The deadline only turns a hang into a failure naming what never came; it is
//! generous on purpose, so a machine loaded by other builds cannot fail a correct run, and
//! no test asserts how long anything took.

use std::time::Duration;
use tokio::time::Instant;

/// How long a test waits for an event before calling it lost.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// How often a cheap condition (the simulator's counters, a file) is looked at again.
const POLL: Duration = Duration::from_millis(5);

/// How often a condition that asks the server is asked again.
const POLL_SERVER: Duration = Duration::from_millis(10);

/// Waits until `done()` holds; panics "timed out waiting for WHAT" after [`DEADLINE`].
pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// [`until`] for a condition that is itself a call (a state read from the server).
pub async fn until_async(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(POLL_SERVER).await;
    }
}
