//! Any bytes as the answer of every function the client calls: a typed answer or an
//! error naming the function, never a panic.
#![no_main]

#[allow(dead_code)]
#[path = "../../tests/support/hostile.rs"]
mod hostile;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hostile::typed_answers_on_any_body(data);
});
