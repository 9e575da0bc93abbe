//! What the servers said, as `verify` reads it: the destination's accounts, packages
//! and feature lists (one call each), and per source its fresh analysis (the source's
//! accounts and databases, and the destination's domains and databases as the same
//! session sees them) and the restore results of its sessions' master logs.

use crate::domain::{Account, RemoteAnalysis, SourceAccount};
use crate::translog::{EventKind, ItemReport, Queue, parse_master_log};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

/// The destination: `listaccts`, `listpkgs`, `get_featurelists`.
#[derive(Debug, Clone, Default)]
pub struct DestinationFacts {
    /// Every account.
    pub accounts: Vec<Account>,
    /// Package names.
    pub packages: BTreeSet<String>,
    /// Feature-list names.
    pub featurelists: BTreeSet<String>,
    /// Account → its email addresses (`list_pops_for`, one call per verified
    /// account), or why they could not be read.
    pub mailboxes: HashMap<String, Result<Vec<String>, String>>,
    /// User → position in `accounts`, built on the first lookup (a check per account
    /// must not scan every account).
    pub(crate) by_user: OnceLock<HashMap<String, usize>>,
}

impl DestinationFacts {
    /// The account named `user` (the first, should the list repeat it).
    pub fn account(&self, user: &str) -> Option<&Account> {
        let index = self.by_user.get_or_init(|| {
            let mut m = HashMap::with_capacity(self.accounts.len());
            for (i, a) in self.accounts.iter().enumerate() {
                m.entry(a.user.clone()).or_insert(i);
            }
            m
        });
        index.get(user).map(|&i| &self.accounts[i])
    }
}

/// One source: its analysis and its items' restore results.
#[derive(Debug, Clone, Default)]
pub struct SourceFacts {
    /// The manifest's name for the source.
    pub name: String,
    /// The analysis of a session opened for `verify`, when there is one.
    pub analysis: Option<RemoteAnalysis>,
    /// Why there is no analysis (a user source; the call failed).
    pub no_analysis: Option<String>,
    /// Item (`Module/key`) → what its RESTORE step reported in the master log.
    pub restore_logs: BTreeMap<String, ItemReport>,
    /// Item → why its restore result is unknown (its session's log could not be read).
    pub log_errors: BTreeMap<String, String>,
    /// The analysis' source accounts by user, and its `local.domains` by owner, built
    /// on the first lookup.
    pub(crate) index: OnceLock<SourceIndex>,
}

/// Lookups into a source's analysis.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceIndex {
    accounts: HashMap<String, usize>,
    domains: HashMap<String, Vec<String>>,
    /// Source user → its (engine, name) databases, then database users.
    dbs: [HashMap<String, Vec<(String, String)>>; 2],
}

impl SourceFacts {
    fn index(&self) -> &SourceIndex {
        self.index.get_or_init(|| {
            let mut ix = SourceIndex::default();
            if let Some(a) = &self.analysis {
                for (i, acct) in a.items.accounts.iter().enumerate() {
                    ix.accounts.entry(acct.user.clone()).or_insert(i);
                }
                for (domain, owner) in &a.local.domains {
                    ix.domains
                        .entry(owner.clone())
                        .or_default()
                        .push(domain.clone());
                }
                if let Some(inv) = &a.remote.dbs {
                    for (slot, owners) in [&inv.dbs, &inv.users].into_iter().enumerate() {
                        for (engine, names) in owners {
                            for (name, owner) in names {
                                let Some(owner) = owner else { continue };
                                let list = ix.dbs[slot].entry(owner.clone()).or_default();
                                list.push((engine.clone(), name.clone()));
                            }
                        }
                    }
                }
            }
            ix
        })
    }

    /// The analysis' account of source user `user`.
    pub fn source_account(&self, user: &str) -> Option<&SourceAccount> {
        let i = *self.index().accounts.get(user)?;
        self.analysis.as_ref()?.items.accounts.get(i)
    }

    /// The (engine, name) databases (`users`: database users) the analysis lists for
    /// source user `user`.
    pub fn owned_dbs(&self, user: &str, users: bool) -> &[(String, String)] {
        let slot = usize::from(users);
        self.index().dbs[slot].get(user).map_or(&[], Vec::as_slice)
    }

    /// The domains the analysis' `local.domains` maps to `user`, sorted.
    pub fn domains_of(&self, user: &str) -> &[String] {
        self.index().domains.get(user).map_or(&[], Vec::as_slice)
    }

    /// Records the RESTORE results of `keys` (`Module/key`) found in a master log.
    pub fn read_master_log(&mut self, log: &[u8], keys: &BTreeSet<String>) {
        for event in parse_master_log(log) {
            let (EventKind::ItemSucceeded { item, report }
            | EventKind::ItemWarned { item, report }) = event.kind
            else {
                continue;
            };
            if item.queue != Some(Queue::Restore) {
                continue;
            }
            let module = item.item_type.as_deref().unwrap_or_default();
            let key = format!("{module}/{}", item.item);
            if keys.contains(&key) {
                self.restore_logs.insert(key, report);
            }
        }
    }
}

/// A name on the destination after a rename: cPanel renames a database (and database
/// user) that carries the source user's prefix with the account (`bob_wp` →
/// `bob2_wp`), and keeps any other name.
pub fn renamed(name: &str, user: &str, localuser: &str) -> String {
    match name.strip_prefix(user).and_then(|r| r.strip_prefix('_')) {
        Some(rest) if user != localuser => format!("{localuser}_{rest}"),
        _ => name.to_owned(),
    }
}

/// `listaccts`' `diskused` (`"14M"`, `"1.5G"`, `"0M"`) in bytes; `None` when unreadable
/// (`"none"`, a new unit).
pub fn disk_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" => 1024.0,
        "M" | "MB" => 1024.0 * 1024.0,
        "G" | "GB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((n * factor) as u64)
}

/// `listaccts`' `inodesused`, a number or a numeric string.
pub fn inodes(account: &Account) -> Option<u64> {
    match account.other.get("inodesused")? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{disk_bytes, renamed};

    #[test]
    fn names_follow_the_account_only_with_its_prefix() {
        assert_eq!(renamed("bob_wp", "bob", "bob2"), "bob2_wp");
        assert_eq!(renamed("bob_wp", "bob", "bob"), "bob_wp");
        assert_eq!(renamed("bobby_wp", "bob", "bob2"), "bobby_wp");
        assert_eq!(renamed("shared", "bob", "bob2"), "shared");
    }

    #[test]
    fn disk_use_reads_units() {
        assert_eq!(disk_bytes("14M"), Some(14 * 1024 * 1024));
        assert_eq!(disk_bytes("1.5G"), Some(1536 * 1024 * 1024));
        assert_eq!(disk_bytes("0M"), Some(0));
        assert_eq!(disk_bytes("none"), None);
    }
}
