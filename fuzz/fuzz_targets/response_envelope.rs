//! Any bytes as a WHM API 1 response body: decoded or refused with an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use whm_migrate::domain::RemoteAnalysis;
use whm_migrate::whm::{CallSite, decode};

fuzz_target!(|data: &[u8]| {
    let site = CallSite {
        server: "fuzz:2087",
        function: "retrieve_transfer_session_remote_analysis",
        session_id: Some("fuzz"),
    };
    if let Ok(envelope) = decode(data, site) {
        let _ = envelope.data::<RemoteAnalysis>(site);
        let _ = envelope.data::<serde_json::Value>(site);
    }
});
