//! The destination's live module schemas decide which keys are sent: a key the bundled
//! snapshots know but this server's `transfer_module_schema` lacks (REFERENCE §6.2:
//! `priority`, `prerequisite_user` and `keep_local_cpuser_values` came later) would fail
//! every enqueue (§4.9: any unknown key is refused), so it is never sent, and the plan
//! says what leaving it out costs.
//!
//! `size` is a common parameter of `enqueue_transfer_item` (§4.9), not only a schema
//! column, so it is always sent.

use crate::plan::input::Desired;
use crate::plan::model::{SetBy, UnsentKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The keys the destination's live schema has, per module the plan sends items of.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServerKeys {
    /// The version the destination reported, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Module name → its schema's keys. A module not listed was not read: its keys are
    /// sent as the bundled snapshot allows.
    pub modules: BTreeMap<String, BTreeSet<String>>,
}

/// Parameters sent although no schema lists them (REFERENCE §4.9).
const COMMON: [&str; 1] = ["size"];

impl ServerKeys {
    /// Whether the server's schema of `module` lacks `key` (false when unread).
    pub fn lacks(&self, module: &str, key: &str) -> bool {
        !COMMON.contains(&key)
            && self
                .modules
                .get(module)
                .is_some_and(|keys| !keys.contains(key))
    }
}

/// Removes from every item's parameters the keys the server lacks; returns, per source
/// (in `desired` order), what was removed.
pub fn restrict(desired: &mut Desired, server: &ServerKeys) -> Vec<Vec<UnsentKey>> {
    desired
        .sources
        .iter_mut()
        .map(|source| {
            let mut unsent = Unsent::default();
            for item in &mut source.items {
                item.params.retain(|(k, _)| {
                    let lacks = server.lacks(&item.module, k);
                    if lacks {
                        unsent.add(&item.module, k, SetBy::Manifest, &item.key);
                    }
                    !lacks
                });
            }
            unsent.into_list()
        })
        .collect()
}

/// Keys left out, gathered per (module, key, who set it).
#[derive(Debug, Default)]
pub struct Unsent(BTreeMap<(String, String, SetBy), Vec<String>>);

impl Unsent {
    /// `key` of `item` (of `module`), set by `by`, is not sent.
    pub fn add(&mut self, module: &str, key: &str, by: SetBy, item: &str) {
        self.0
            .entry((module.to_owned(), key.to_owned(), by))
            .or_default()
            .push(item.to_owned());
    }

    /// One entry per (module, key, who set it), with what leaving it out costs.
    pub fn into_list(self) -> Vec<UnsentKey> {
        self.0
            .into_iter()
            .map(|((module, key, set_by), items)| UnsentKey {
                cost: cost(&key, set_by).to_owned(),
                module,
                key,
                set_by,
                items,
            })
            .collect()
    }
}

/// What not sending `key` costs, in one line.
pub fn cost(key: &str, by: SetBy) -> &'static str {
    match (key, by) {
        ("priority", SetBy::Schedule) => {
            "no largest-first order: the server runs the accounts in name order (the estimate assumes it)"
        }
        ("priority", SetBy::Manifest) => {
            "the manifest's priority is not applied: the server runs the account in name order"
        }
        ("prerequisite_user", SetBy::Schedule) => {
            "reseller-before-its-accounts order is not enforced by WHM: an account may be restored before the reseller that owns it"
        }
        ("prerequisite_user", SetBy::Manifest) => {
            "the manifest's prerequisite is not enforced by WHM: the account may run before it"
        }
        ("keep_local_cpuser_values", _) => {
            "the destination's values of the cPanel user settings it lists are not kept: the restore writes the source's"
        }
        _ => {
            "the server does not know the key: the item transfers as if the manifest did not set it"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::test_items::account;

    fn server_without(keys: &[&str]) -> ServerKeys {
        let all = [
            "user",
            "localuser",
            "domain",
            "priority",
            "prerequisite_user",
        ];
        ServerKeys {
            version: Some("11.110.0.1".into()),
            modules: BTreeMap::from([(
                "AccountRemoteRoot".to_owned(),
                all.iter()
                    .filter(|k| !keys.contains(k))
                    .map(|k| (*k).to_owned())
                    .collect(),
            )]),
        }
    }

    #[test]
    fn lacks_only_what_a_read_schema_leaves_out() {
        let server = server_without(&["priority"]);
        assert!(server.lacks("AccountRemoteRoot", "priority"));
        assert!(!server.lacks("AccountRemoteRoot", "domain"));
        assert!(
            !server.lacks("AccountRemoteRoot", "size"),
            "a common parameter"
        );
        assert!(!server.lacks("PackageRemoteRoot", "priority"), "not read");
    }

    #[test]
    fn restrict_removes_and_reports_manifest_keys() {
        let item = account("alice", &[("keep_local_cpuser_values", "PLAN")]);
        let mut desired = Desired {
            migration: "m".into(),
            sources: vec![crate::plan::DesiredSource {
                name: "old1".into(),
                host: "h".into(),
                kind: crate::plan::SessionKind::Root,
                items: vec![item],
                waive: Vec::new(),
            }],
        };
        let unsent = restrict(&mut desired, &server_without(&["keep_local_cpuser_values"]));
        assert_eq!(desired.sources[0].items[0].params.len(), 2);
        assert_eq!(unsent[0].len(), 1);
        assert_eq!(unsent[0][0].key, "keep_local_cpuser_values");
        assert_eq!(unsent[0][0].items, ["alice"]);
        assert!(unsent[0][0].cost.contains("not kept"));
    }
}
