//! A source's queue items: feature lists, packages and accounts turned into module items,
//! with `[defaults.accounts]` applied and `localuser` defaulted to `user`.

use super::account_schema::PER_ACCOUNT_KEYS;
use super::model::{Account, Manifest};
use crate::modules::{
    Item, ItemValue, ModuleCatalog, ModuleKind, check_value, enqueue_params, names,
};

/// One item to enqueue: its module and the keys to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueItem {
    /// The module name.
    pub module: &'static str,
    /// The keys actually set (defaults applied).
    pub values: Item,
    /// Pre-flight checks waived for this item (its own and `[defaults.accounts]`'s).
    pub waive: Vec<String>,
    /// Risks acknowledged for this item (its own and `[defaults.accounts]`'s).
    pub acknowledge: Vec<String>,
}

impl QueueItem {
    /// The primary key's value (`user`, `package`, `featurelist`).
    pub fn key(&self) -> &str {
        self.values
            .get(ModuleKind::of(self.module).item_key())
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

/// An item with its path in the manifest.
pub(crate) struct ItemEntry<'m> {
    pub path: String,
    pub item: QueueItem,
    /// The account it was built from (None for feature lists and packages).
    pub account: Option<&'m Account>,
}

impl ItemEntry<'_> {
    /// Where `key` of this item came from (computed only when a problem needs it).
    pub fn origin(&self, key: &str) -> Option<ItemOrigin> {
        let written = |k: &str| ItemOrigin::Written(format!("{}.{k}", self.path));
        let Some(account) = self.account else {
            return self.item.values.contains_key(key).then(|| written("name"));
        };
        match key {
            "user" => Some(written("user")),
            "localuser" if account.localuser.is_none() => {
                Some(ItemOrigin::FromUser(format!("{}.user", self.path)))
            }
            "localuser" => Some(written("localuser")),
            "domain" if account.domain.is_some() => Some(written("domain")),
            _ if account.keys.contains_key(key) => Some(written(key)),
            _ if self.item.values.contains_key(key) => Some(ItemOrigin::Default),
            _ => None,
        }
    }
}

fn named<'m>(module: &'static str, name: &str, waive: &[String], path: String) -> ItemEntry<'m> {
    let mut values = Item::new();
    values.insert(
        ModuleKind::of(module).item_key().to_owned(),
        ItemValue::Str(name.to_owned()),
    );
    ItemEntry {
        path,
        item: QueueItem {
            module,
            values,
            waive: waive.to_vec(),
            acknowledge: Vec::new(),
        },
        account: None,
    }
}

/// `own` then the names of `defaults` it lacks.
fn union(own: &[String], defaults: &[String]) -> Vec<String> {
    let mut out = own.to_vec();
    out.extend(defaults.iter().filter(|d| !own.contains(d)).cloned());
    out
}

/// Every item of source `index`, in processing order (feature lists, packages, accounts).
pub(crate) fn source_items<'m>(
    manifest: &'m Manifest,
    index: usize,
    catalog: &ModuleCatalog,
) -> Vec<ItemEntry<'m>> {
    let source = &manifest.sources[index];
    let base = format!("sources[{index}]");
    let mut out = Vec::with_capacity(
        source.feature_lists.len() + source.packages.len() + source.accounts.len(),
    );
    for (i, f) in source.feature_lists.iter().enumerate() {
        out.push(named(
            names::FEATURE_LIST,
            &f.name,
            &f.waive,
            format!("{base}.feature_lists[{i}]"),
        ));
    }
    for (i, p) in source.packages.iter().enumerate() {
        out.push(named(
            names::PACKAGE,
            &p.name,
            &p.waive,
            format!("{base}.packages[{i}]"),
        ));
    }
    let module = ModuleCatalog::account_module(source.kind);
    let schema = catalog.get(module).map(|m| &m.schema);
    for (i, account) in source.accounts.iter().enumerate() {
        let path = format!("{base}.accounts[{i}]");
        let mut values = Item::new();
        values.insert("user".to_owned(), ItemValue::Str(account.user.clone()));
        values.insert(
            "localuser".to_owned(),
            ItemValue::Str(account.local_user().to_owned()),
        );
        if let Some(d) = &account.domain {
            values.insert("domain".to_owned(), ItemValue::Str(d.clone()));
        }
        for (k, v) in &account.keys {
            values.insert(k.clone(), v.clone());
        }
        for (k, v) in &manifest.defaults.accounts.keys {
            if values.contains_key(k) || PER_ACCOUNT_KEYS.contains(&k.as_str()) {
                continue;
            }
            // Defaults that do not fit the module were reported once, on the default.
            let fits = schema
                .and_then(|s| s.key(k))
                .is_some_and(|ty| check_value(k, ty, v).is_none());
            if fits {
                values.insert(k.clone(), v.clone());
            }
        }
        let defaults = &manifest.defaults.accounts;
        out.push(ItemEntry {
            path,
            item: QueueItem {
                module,
                values,
                waive: union(&account.waive, &defaults.waive),
                acknowledge: union(&account.acknowledge, &defaults.acknowledge),
            },
            account: Some(account),
        });
    }
    out
}
