//! A source's queue items: feature lists, packages and accounts turned into module items,
//! with `[defaults.accounts]` applied and `localuser` defaulted to `user`.

use std::collections::HashMap;

use super::account_schema::PER_ACCOUNT_KEYS;
use super::model::Manifest;
use crate::modules::{Item, ItemValue, ModuleCatalog, check_value, enqueue_params, names};

/// One item to enqueue: its module and the keys to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueItem {
    /// The module name.
    pub module: &'static str,
    /// The keys actually set (defaults applied).
    pub values: Item,
}

impl QueueItem {
    /// The primary key's value (`user`, `package`, `featurelist`).
    pub fn key(&self) -> &str {
        let key = match self.module {
            names::FEATURE_LIST => "featurelist",
            names::PACKAGE => "package",
            _ => "user",
        };
        self.values
            .get(key)
            .and_then(ItemValue::as_str)
            .unwrap_or_default()
    }

    /// The `enqueue_transfer_item` form parameters (`module` and the set keys; the caller
    /// adds `transfer_session_id`).
    pub fn enqueue_params(&self) -> Vec<(String, String)> {
        enqueue_params(self.module, &self.values)
    }
}

/// Where an item's key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ItemOrigin {
    /// Written in the item, at this path.
    Written(String),
    /// From `[defaults.accounts]`.
    Default,
    /// `localuser`, defaulted from `user` at this path.
    FromUser(String),
}

/// An item with its path in the manifest and where each key came from.
pub(crate) struct ItemEntry {
    pub path: String,
    pub item: QueueItem,
    pub origins: HashMap<String, ItemOrigin>,
}

fn named(module: &'static str, key: &str, name: &str, path: String) -> ItemEntry {
    let mut values = Item::new();
    values.insert(key.to_owned(), ItemValue::Str(name.to_owned()));
    let origins = HashMap::from([(key.to_owned(), ItemOrigin::Written(format!("{path}.name")))]);
    ItemEntry {
        path,
        item: QueueItem { module, values },
        origins,
    }
}

/// Every item of source `index`, in processing order (feature lists, packages, accounts).
pub(crate) fn source_items(
    manifest: &Manifest,
    index: usize,
    catalog: &ModuleCatalog,
) -> Vec<ItemEntry> {
    let source = &manifest.sources[index];
    let base = format!("sources[{index}]");
    let mut out = Vec::with_capacity(
        source.feature_lists.len() + source.packages.len() + source.accounts.len(),
    );
    for (i, f) in source.feature_lists.iter().enumerate() {
        out.push(named(
            names::FEATURE_LIST,
            "featurelist",
            &f.name,
            format!("{base}.feature_lists[{i}]"),
        ));
    }
    for (i, p) in source.packages.iter().enumerate() {
        out.push(named(
            names::PACKAGE,
            "package",
            &p.name,
            format!("{base}.packages[{i}]"),
        ));
    }
    let module = ModuleCatalog::account_module(source.kind);
    let schema = catalog.get(module).map(|m| &m.schema);
    for (i, account) in source.accounts.iter().enumerate() {
        let path = format!("{base}.accounts[{i}]");
        let mut values = Item::new();
        let mut origins = HashMap::new();
        let mut put = |key: &str, value: ItemValue, origin: ItemOrigin| {
            values.insert(key.to_owned(), value);
            origins.insert(key.to_owned(), origin);
        };
        put(
            "user",
            ItemValue::Str(account.user.clone()),
            ItemOrigin::Written(format!("{path}.user")),
        );
        match &account.localuser {
            Some(l) => put(
                "localuser",
                ItemValue::Str(l.clone()),
                ItemOrigin::Written(format!("{path}.localuser")),
            ),
            None => put(
                "localuser",
                ItemValue::Str(account.user.clone()),
                ItemOrigin::FromUser(format!("{path}.user")),
            ),
        }
        if let Some(d) = &account.domain {
            put(
                "domain",
                ItemValue::Str(d.clone()),
                ItemOrigin::Written(format!("{path}.domain")),
            );
        }
        for (k, v) in &account.keys {
            put(k, v.clone(), ItemOrigin::Written(format!("{path}.{k}")));
        }
        for (k, v) in &manifest.defaults.accounts {
            if values.contains_key(k) || PER_ACCOUNT_KEYS.contains(&k.as_str()) {
                continue;
            }
            // Defaults that do not fit the module were reported once, on the default.
            let fits = schema
                .and_then(|s| s.key(k))
                .is_some_and(|ty| check_value(k, ty, v).is_none());
            if fits {
                values.insert(k.clone(), v.clone());
                origins.insert(k.clone(), ItemOrigin::Default);
            }
        }
        out.push(ItemEntry {
            path,
            item: QueueItem { module, values },
            origins,
        });
    }
    out
}
