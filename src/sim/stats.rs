//! Counters that let tests and benchmarks prove effects ("exactly once"), served as
//! `GET /__sim/stats` and returned by [`super::SimHandle::stats`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything the simulator counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimStats {
    /// HTTP requests received in total (including `/__sim/*` and refused ones).
    pub http_requests: u64,
    /// `/json-api/` calls per function name (authenticated calls only).
    pub calls: BTreeMap<String, u64>,
    /// Faults injected, per kind (see [`super::faults::kind`]).
    pub faults: BTreeMap<String, u64>,
    /// Successful enqueues: session id → `"Module/key"` → count.
    pub enqueues: BTreeMap<String, BTreeMap<String, u64>>,
    /// Completed TRANSFER steps of account items, keyed `"source-host/user"`.
    pub transfers: BTreeMap<String, u64>,
    /// Completed account restores per destination user.
    pub restores: BTreeMap<String, u64>,
    /// Completed restores of every item kind, keyed `"Module/key"`.
    pub item_restores: BTreeMap<String, u64>,
    /// Sessions created.
    pub sessions_created: u64,
    /// `enqueue_transfer_item` calls being handled now (from arrival to answer).
    pub enqueues_in_flight: u64,
    /// The most `enqueue_transfer_item` calls ever handled at once.
    pub enqueues_in_flight_max: u64,
    /// State names `get_transfer_session_state` answered, per name.
    pub state_answers: BTreeMap<String, u64>,
    /// The raw URI (path and query) of every request that carried a query string, so
    /// tests can prove no secret travels in a URL (the client sends everything in POST
    /// bodies).
    pub uris_with_query: Vec<String>,
}

impl SimStats {
    /// Adds one to a counter in a map.
    pub(crate) fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
        *map.entry(key.to_owned()).or_default() += 1;
    }

    /// Total enqueues of `"Module/key"` across sessions.
    pub fn enqueue_count(&self, item: &str) -> u64 {
        self.enqueues.values().filter_map(|m| m.get(item)).sum()
    }
}
