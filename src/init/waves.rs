//! Spreading accounts over waves, balanced by bytes: a reseller and the accounts it
//! owns form one group (so the reseller exists when its accounts are restored), groups
//! go largest first into the lightest wave (LPT, within 4/3 of the best balance and in
//! practice within a few percent when no group dominates).

use crate::init::{Entry, EntryKind};
use crate::modules::ModuleCatalog;
use crate::plan::SessionKind;
use crate::plan::Throughput;
use crate::plan::schedule::{self, Job, Pools};
use std::collections::BTreeMap;

/// One wave as balanced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    /// Its name (`wave-1`…).
    pub name: String,
    /// The accounts' users.
    pub accounts: Vec<String>,
    /// Their bytes.
    pub bytes: u64,
}

/// A wave with its estimated duration, for the summary `init` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveSummary {
    /// The wave.
    pub wave: Wave,
    /// The estimated session duration, in milliseconds.
    pub estimate_ms: u64,
}

/// The name of wave `i` (0-based).
pub fn wave_name(i: usize) -> String {
    format!("wave-{}", i + 1)
}

/// Gives each account written as an item a wave among `count`, and returns the waves.
/// Entries commented out, feature lists and packages get none (a wave's run covers the
/// feature lists and packages that name no wave).
pub fn balance(entries: &mut [Entry], count: u32) -> Vec<Wave> {
    let count = usize::try_from(count.max(1)).unwrap_or(1);
    let moving: BTreeMap<&str, (u64, Option<&str>)> = entries
        .iter()
        .filter(|e| e.is_moving_account())
        .map(|e| (e.key.as_str(), (e.bytes, e.owner.as_deref())))
        .collect();
    // Group key: the owner when the owner moves too, else the account itself.
    let mut groups: BTreeMap<&str, (u64, Vec<&str>)> = BTreeMap::new();
    for (user, (size, owner)) in &moving {
        let head = owner
            .filter(|o| *o != *user && moving.contains_key(o))
            .unwrap_or(user);
        let group = groups.entry(head).or_default();
        group.0 += size;
        group.1.push(user);
    }
    let mut order: Vec<(&str, u64)> = groups.iter().map(|(k, (b, _))| (*k, *b)).collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut waves: Vec<Wave> = (0..count)
        .map(|i| Wave {
            name: wave_name(i),
            accounts: Vec::new(),
            bytes: 0,
        })
        .collect();
    let mut assigned: BTreeMap<String, String> = BTreeMap::new();
    for (head, size) in order {
        let lightest = (0..count)
            .min_by_key(|i| (waves[*i].bytes, *i))
            .unwrap_or(0);
        let wave = &mut waves[lightest];
        wave.bytes += size;
        for user in &groups[head].1 {
            wave.accounts.push((*user).to_owned());
            assigned.insert((*user).to_owned(), wave.name.clone());
        }
    }
    for wave in &mut waves {
        wave.accounts.sort();
    }
    for e in entries.iter_mut().filter(|e| e.is_moving_account()) {
        e.wave = assigned.get(&e.key).cloned();
    }
    waves
}

/// Balances the moving accounts over `count` waves and estimates each wave's session.
pub fn summaries(
    entries: &mut [Entry],
    count: u32,
    kind: SessionKind,
    throughput: &Throughput,
) -> Vec<WaveSummary> {
    let waves = balance(entries, count);
    let type_id = ModuleCatalog::bundled()
        .get(EntryKind::Account.module(kind))
        .map_or(0, |m| u64::from(m.type_id));
    let accounts: BTreeMap<&str, (u64, Option<&str>)> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Account)
        .map(|e| (e.key.as_str(), (e.bytes, e.owner.as_deref())))
        .collect();
    waves
        .into_iter()
        .map(|wave| {
            let jobs: Vec<Job> = wave
                .accounts
                .iter()
                .map(|user| {
                    let (size, owner) = accounts.get(user.as_str()).copied().unwrap_or_default();
                    Job {
                        type_id,
                        key: user.clone(),
                        size,
                        priority: 255,
                        // Balancing kept each reseller in its accounts' wave.
                        prerequisite: owner
                            .filter(|o| *o != user.as_str())
                            .filter(|o| {
                                wave.accounts
                                    .binary_search_by(|a| a.as_str().cmp(o))
                                    .is_ok()
                            })
                            .map(str::to_owned),
                    }
                })
                .collect();
            let estimate_ms = schedule::estimate_ms(&jobs, Pools::default(), throughput);
            WaveSummary { wave, estimate_ms }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(user: &str, bytes: u64, owner: &str) -> Entry {
        let mut e = Entry::user_account(user);
        e.bytes = bytes;
        e.owner = Some(owner.to_owned());
        e
    }

    #[test]
    fn largest_first_into_the_lightest_wave_with_resellers_kept_whole() {
        let mut entries = vec![
            account("res", 10, "root"),
            account("a", 50, "res"),
            account("b", 60, "root"),
            account("c", 40, "root"),
            account("d", 20, "root"),
            account("off", 1000, "root"),
        ];
        entries[5].excluded = Some("already there".into());
        let waves = balance(&mut entries, 2);
        assert_eq!(waves[0].bytes, 60 + 40, "b, then c");
        assert_eq!(waves[1].bytes, 60 + 20, "res with a, then d");
        let wave_of = |u: &str| entries.iter().find(|e| e.key == u).unwrap().wave.clone();
        assert_eq!(wave_of("res"), wave_of("a"));
        assert_eq!(wave_of("off"), None);
        assert!(entries.iter().all(|e| e.kind == EntryKind::Account));
    }

    proptest::proptest! {
        /// Greedy into the lightest wave: the heaviest wave was the lightest when it got
        /// its last group, so no two waves differ by more than the largest group, and
        /// every moving account is in exactly one wave, with its owner when it moves.
        #[test]
        fn waves_differ_by_at_most_the_largest_group(
            sizes in proptest::collection::vec(0u64..1_000_000_000, 1..200),
            owners in proptest::collection::vec(0usize..8, 1..200),
            count in 1u32..6,
        ) {
            let mut entries: Vec<Entry> = sizes
                .iter()
                .enumerate()
                .map(|(i, size)| {
                    // Accounts 0..8 are resellers; some others belong to one of them.
                    let owner = owners.get(i).filter(|_| i >= 8 && i.is_multiple_of(3)).copied();
                    let owner = owner.map_or("root".to_owned(), |o| format!("a{o}"));
                    account(&format!("a{i}"), *size, &owner)
                })
                .collect();
            let waves = balance(&mut entries, count);
            let mut groups: BTreeMap<String, u64> = BTreeMap::new();
            for e in &entries {
                let head = e.owner.clone().filter(|o| entries.iter().any(|x| &x.key == o));
                *groups.entry(head.unwrap_or_else(|| e.key.clone())).or_default() += e.bytes;
            }
            let largest = groups.values().copied().max().unwrap_or(0);
            let max = waves.iter().map(|w| w.bytes).max().unwrap_or(0);
            let min = waves.iter().map(|w| w.bytes).min().unwrap_or(0);
            proptest::prop_assert!(max - min <= largest, "{max} - {min} > {largest}");
            let placed: usize = waves.iter().map(|w| w.accounts.len()).sum();
            proptest::prop_assert_eq!(placed, entries.len());
            for e in &entries {
                if let Some(owner) = entries.iter().find(|x| Some(&x.key) == e.owner.as_ref()) {
                    proptest::prop_assert_eq!(&e.wave, &owner.wave);
                }
            }
        }
    }
}
