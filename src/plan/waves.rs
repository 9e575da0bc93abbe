//! Waves: a manifest may split its items into named waves so a large server moves over
//! several maintenance windows with one manifest.
//!
//! A run with `--wave NAME` acts on the items of that wave, plus the feature lists and
//! packages that name no wave (accounts of any wave may need them; once moved they are
//! simply `already-present`). Accounts that name no wave move only in a run without
//! `--wave`, which acts on the whole manifest.

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::input::{Desired, queue_key};
use crate::plan::model::Plan;

/// `--wave` named a wave the manifest does not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("the manifest has no wave “{wave}”")]
#[diagnostic(code(plan::unknown_wave), help("{}", help(known)))]
pub struct UnknownWave {
    /// The name given.
    pub wave: String,
    /// The waves the manifest uses.
    pub known: Vec<String>,
}

fn help(known: &[String]) -> String {
    if known.is_empty() {
        "the manifest puts no item in a wave: drop --wave, or add `wave = \"NAME\"` to the accounts of each wave".to_owned()
    } else {
        format!(
            "use one of the manifest's waves: {} (or drop --wave to act on the whole manifest)",
            known.join(", ")
        )
    }
}

/// The part of `desired` a run acts on. `item_waves[i]` maps source `i`'s queue keys
/// to their wave; `known` is every wave the manifest uses.
pub fn select(
    desired: Desired,
    item_waves: &[BTreeMap<String, String>],
    known: &BTreeSet<String>,
    wave: Option<&str>,
) -> Result<Desired, UnknownWave> {
    let Some(wave) = wave else {
        return Ok(desired);
    };
    if !known.contains(wave) {
        return Err(UnknownWave {
            wave: wave.to_owned(),
            known: known.iter().cloned().collect(),
        });
    }
    let empty = BTreeMap::new();
    let mut out = desired;
    for (i, source) in out.sources.iter_mut().enumerate() {
        let waves = item_waves.get(i).unwrap_or(&empty);
        source.items.retain(
            |item| match waves.get(&queue_key(&item.module, &item.key)) {
                Some(w) => w == wave,
                None => !item.is_account(),
            },
        );
    }
    Ok(out)
}

/// Records the run's wave and each item's wave in the plan.
pub fn label(plan: &mut Plan, item_waves: &[BTreeMap<String, String>], wave: Option<&str>) {
    plan.wave = wave.map(str::to_owned);
    for (i, source) in plan.sources.iter_mut().enumerate() {
        let Some(waves) = item_waves.get(i) else {
            continue;
        };
        for item in &mut source.items {
            item.wave = waves.get(&queue_key(&item.module, &item.key)).cloned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::input::{DesiredItem, DesiredSource, SessionKind};

    fn item(module: &str, key: &str, account: bool) -> DesiredItem {
        DesiredItem {
            module: module.to_owned(),
            type_id: if account { 3000 } else { 2000 },
            key: key.to_owned(),
            localuser: account.then(|| key.to_owned()),
            domain: None,
            force: false,
            overwrite_dbs: false,
            params: Vec::new(),
            problems: Vec::new(),
            waive: Vec::new(),
            acknowledge: Vec::new(),
        }
    }

    fn desired() -> Desired {
        Desired {
            migration: "m".to_owned(),
            sources: vec![DesiredSource {
                name: "old1".to_owned(),
                host: "h".to_owned(),
                kind: SessionKind::Root,
                waive: Vec::new(),
                items: vec![
                    item("PackageRemoteRoot", "gold", false),
                    item("PackageRemoteRoot", "late", false),
                    item("AccountRemoteRoot", "a1", true),
                    item("AccountRemoteRoot", "b1", true),
                    item("AccountRemoteRoot", "loose", true),
                ],
            }],
        }
    }

    fn waves() -> Vec<BTreeMap<String, String>> {
        vec![BTreeMap::from([
            ("AccountRemoteRoot/a1".to_owned(), "one".to_owned()),
            ("AccountRemoteRoot/b1".to_owned(), "two".to_owned()),
            ("PackageRemoteRoot/late".to_owned(), "two".to_owned()),
        ])]
    }

    fn keys(d: &Desired) -> Vec<&str> {
        d.sources[0].items.iter().map(|i| i.key.as_str()).collect()
    }

    #[test]
    fn a_wave_takes_its_items_and_the_unlabelled_packages() {
        let known = BTreeSet::from(["one".to_owned(), "two".to_owned()]);
        let one = select(desired(), &waves(), &known, Some("one")).unwrap();
        assert_eq!(keys(&one), ["gold", "a1"]);
        let two = select(desired(), &waves(), &known, Some("two")).unwrap();
        assert_eq!(keys(&two), ["gold", "late", "b1"]);
        let all = select(desired(), &waves(), &known, None).unwrap();
        assert_eq!(keys(&all), ["gold", "late", "a1", "b1", "loose"]);
    }

    #[test]
    fn an_unknown_wave_lists_the_known_ones() {
        let known = BTreeSet::from(["one".to_owned(), "two".to_owned()]);
        let err = select(desired(), &waves(), &known, Some("three")).unwrap_err();
        assert_eq!(err.known, ["one", "two"]);
        assert!(
            help(&err.known).contains("one, two"),
            "{}",
            help(&err.known)
        );
        let none = select(desired(), &[], &BTreeSet::new(), Some("x")).unwrap_err();
        assert!(help(&none.known).contains("no item in a wave"));
    }
}
