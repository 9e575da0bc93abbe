//! Which wave each item of a manifest belongs to (`wave = "night-1"`).

use std::collections::{BTreeMap, BTreeSet};

use super::model::Manifest;
use crate::modules::{ModuleCatalog, names};

impl Manifest {
    /// Every wave name the manifest uses.
    pub fn wave_names(&self) -> BTreeSet<String> {
        self.item_waves()
            .into_iter()
            .flat_map(BTreeMap::into_values)
            .collect()
    }

    /// Per source (manifest order): queue key (`Module/key`) → wave, for the items that
    /// name one.
    pub fn item_waves(&self) -> Vec<BTreeMap<String, String>> {
        self.sources
            .iter()
            .map(|source| {
                let account = ModuleCatalog::account_module(source.kind);
                let lists = source
                    .feature_lists
                    .iter()
                    .map(|f| (names::FEATURE_LIST, &f.name, &f.wave));
                let packages = source
                    .packages
                    .iter()
                    .map(|p| (names::PACKAGE, &p.name, &p.wave));
                let accounts = source.accounts.iter().map(|a| (account, &a.user, &a.wave));
                lists
                    .chain(packages)
                    .chain(accounts)
                    .filter_map(|(module, key, wave)| {
                        wave.as_ref()
                            .map(|w| (format!("{module}/{key}"), w.clone()))
                    })
                    .collect()
            })
            .collect()
    }
}
