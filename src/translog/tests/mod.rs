//! Tests over whole logs: the documented fixtures, hand-written logs and properties.

mod fixtures;
mod handwritten;
mod item_logs;
mod progress;
mod props;

use super::{Event, EventKind};

/// The `data.log` string of `tests/fixtures/whm-api/fetch_transfer_session_log--{n}.json`.
fn fixture_log(n: u32) -> String {
    let path = format!(
        "{}/tests/fixtures/whm-api/fetch_transfer_session_log--{n}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture readable");
    let envelope: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    envelope["data"]["log"]
        .as_str()
        .expect("data.log is a string")
        .to_owned()
}

/// How many events satisfy `pred`.
fn count(events: &[Event], pred: impl Fn(&EventKind) -> bool) -> usize {
    events.iter().filter(|e| pred(&e.kind)).count()
}
