//! Plan, schedule and every rendering on the demo's observed state with values the
//! input picks replaced by hostile ones (0, u64::MAX, negative, huge, escapes, wrong
//! types): never a panic, and the plan's JSON is JSON.
#![no_main]

#[allow(dead_code)]
#[path = "../../tests/support/hostile.rs"]
mod hostile;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let numbers_only = data.first().is_some_and(|b| b & 1 == 1);
    hostile::plan_on_hostile_observed_data(data.get(1..).unwrap_or_default(), numbers_only);
});
