//! Any bytes as a `fetch_transfer_session_log` answer through the streaming decoder:
//! the same text or error however the body is cut, never a panic; and any text as a
//! log fetched twice, the second copy resumed at the first one's mark.
#![no_main]

#[allow(dead_code)]
#[path = "../../tests/support/hostile.rs"]
mod hostile;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hostile::log_decoder_on_any_body(data);
    if data.len() <= 512 {
        hostile::log_resume_on_any_text(data);
    }
});
