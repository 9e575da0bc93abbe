//! Lookups into the world that every item step makes, indexed so a step costs the same
//! at 10 accounts as at 10,000: source accounts by user, destination users, and
//! destination domains (case-insensitive, as `Destination::domain_owner` compares).
//!
//! Sources never change while the simulator runs; the destination changes only in
//! `effects::restore`, which keeps this index in step.

use std::collections::HashMap;

use super::world::{DestAccount, Destination, SourceAccount, World};

/// The index; built from the world at start.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorldIndex {
    /// Source key → user → position in its `accounts` (the first of equal names).
    source_accounts: HashMap<String, HashMap<String, usize>>,
    /// Destination user → position in its `accounts` (the first of equal names).
    dest_users: HashMap<String, usize>,
    /// Lower-cased domain → the first destination account (in list order) that has it.
    dest_domains: HashMap<String, String>,
}

impl WorldIndex {
    /// Indexes `world`.
    pub(crate) fn build(world: &World) -> Self {
        let source_accounts = world
            .sources
            .iter()
            .map(|(key, src)| {
                let mut users = HashMap::with_capacity(src.accounts.len());
                for (i, a) in src.accounts.iter().enumerate() {
                    users.entry(a.user.clone()).or_insert(i);
                }
                (key.clone(), users)
            })
            .collect();
        let mut ix = Self {
            source_accounts,
            ..Self::default()
        };
        ix.reindex_destination(&world.destination);
        ix
    }

    /// Rebuilds the destination part (after accounts were removed).
    pub(crate) fn reindex_destination(&mut self, dest: &Destination) {
        self.dest_users.clear();
        self.dest_domains.clear();
        for (i, a) in dest.accounts.iter().enumerate() {
            self.added(a, i);
        }
    }

    /// Records an account appended to the destination at `position`.
    pub(crate) fn added(&mut self, a: &DestAccount, position: usize) {
        self.dest_users.entry(a.user.clone()).or_insert(position);
        self.dest_domains
            .entry(a.domain.to_ascii_lowercase())
            .or_insert_with(|| a.user.clone());
    }

    /// Where `Source::account` would find `user` in the source's `accounts`.
    pub(crate) fn source_position(&self, source_key: &str, user: &str) -> Option<usize> {
        self.source_accounts.get(source_key)?.get(user).copied()
    }

    /// `Source::account`, by index.
    pub(crate) fn source_account<'w>(
        &self,
        world: &'w World,
        source_key: &str,
        user: &str,
    ) -> Option<&'w SourceAccount> {
        let i = self.source_position(source_key, user)?;
        world.sources.get(source_key)?.accounts.get(i)
    }

    /// Whether the destination has an account of this user name.
    pub(crate) fn dest_has(&self, user: &str) -> bool {
        self.dest_users.contains_key(user)
    }

    /// `Destination::account`, by index.
    pub(crate) fn dest_account<'w>(
        &self,
        dest: &'w Destination,
        user: &str,
    ) -> Option<&'w DestAccount> {
        let a = dest.accounts.get(*self.dest_users.get(user)?)?;
        (a.user == user).then_some(a)
    }

    /// `Destination::domain_owner`, by index.
    pub(crate) fn domain_owner(&self, domain: &str) -> Option<&str> {
        self.dest_domains
            .get(&domain.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_match_the_world_scans() {
        let mut w = World::from_toml_str(
            r#"
            [destination]
            accounts = [
                { user = "a", domain = "Shared.Example" },
                { user = "b", domain = "shared.example" },
            ]
            [sources."s.example"]
            accounts = [{ user = "x", domain = "x.example" }, { user = "y", domain = "y.example" }]
            "#,
        )
        .unwrap();
        let mut ix = WorldIndex::build(&w);
        let d = &w.destination;
        for dom in ["SHARED.example", "nope.example"] {
            assert_eq!(ix.domain_owner(dom), d.domain_owner(dom), "{dom}");
        }
        assert!(ix.dest_has("b") && !ix.dest_has("c"));
        assert_eq!(
            ix.source_account(&w, "s.example", "y").map(|a| &a.domain),
            Some(&"y.example".to_owned())
        );
        assert!(ix.source_account(&w, "s.example", "z").is_none());
        w.destination.accounts.remove(0);
        ix.reindex_destination(&w.destination);
        assert_eq!(ix.domain_owner("shared.example"), Some("b"));
    }
}
