//! The items `init` writes, as found in the source's analysis: every feature list its
//! packages use, every package, every account, each with what the analysis says about
//! it, in a stable order (feature lists, packages, accounts; each by name).

use crate::domain::RemoteAnalysis;
use crate::modules::{ModuleCatalog, names};
use crate::plan::SessionKind;
use crate::units::bytes;
use std::collections::{BTreeMap, BTreeSet};

/// What kind of item an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// `[[sources.feature_lists]]`.
    FeatureList,
    /// `[[sources.packages]]`.
    Package,
    /// `[[sources.accounts]]`.
    Account,
}

impl EntryKind {
    /// The manifest's array-of-tables name.
    pub fn table(self) -> &'static str {
        match self {
            Self::FeatureList => "sources.feature_lists",
            Self::Package => "sources.packages",
            Self::Account => "sources.accounts",
        }
    }

    /// What the item is, in a sentence.
    pub fn noun(self) -> &'static str {
        match self {
            Self::FeatureList => "the feature list",
            Self::Package => "the package",
            Self::Account => "an account named",
        }
    }

    /// The transfer module of this kind of item on a `kind` source.
    pub fn module(self, kind: SessionKind) -> &'static str {
        match self {
            Self::FeatureList => names::FEATURE_LIST,
            Self::Package => names::PACKAGE,
            Self::Account => ModuleCatalog::account_module(kind),
        }
    }
}

/// One item to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Feature list, package or account.
    pub kind: EntryKind,
    /// Its name (`user` for accounts).
    pub key: String,
    /// For accounts: the main domain, when known.
    pub domain: Option<String>,
    /// For accounts: the owner, when known.
    pub owner: Option<String>,
    /// For accounts: bytes used on the source (0 when unknown).
    pub bytes: u64,
    /// The wave it is given.
    pub wave: Option<String>,
    /// What the analysis says about it, one comment line each.
    pub notes: Vec<String>,
    /// The warnings of `plan`'s pre-flight checks about it, one comment line each.
    pub warnings: Vec<String>,
    /// Why it is written commented out (`None`: written as an item).
    pub excluded: Option<String>,
}

impl Entry {
    fn new(kind: EntryKind, key: &str) -> Self {
        Self {
            kind,
            key: key.to_owned(),
            domain: None,
            owner: None,
            bytes: 0,
            wave: None,
            notes: Vec::new(),
            warnings: Vec::new(),
            excluded: None,
        }
    }

    /// An account of a user source, of which nothing but the name is known.
    pub fn user_account(user: &str) -> Self {
        Self::new(EntryKind::Account, user)
    }

    /// Whether it is an account written as an item (not commented out).
    pub fn is_moving_account(&self) -> bool {
        self.kind == EntryKind::Account && self.excluded.is_none()
    }
}

/// Every item of the analysis, in the order the manifest lists them. The analysis has
/// no list of feature lists: those its packages use are the ones it can name.
pub fn candidates(analysis: &RemoteAnalysis) -> Vec<Entry> {
    let mut out = Vec::new();
    let lists: BTreeSet<&str> = analysis
        .items
        .packages
        .iter()
        .filter_map(|p| p.featurelist.as_deref())
        .filter(|f| !f.trim().is_empty())
        .collect();
    for list in lists {
        out.push(Entry::new(EntryKind::FeatureList, list));
    }
    let packages: BTreeMap<&str, Option<&str>> = analysis
        .items
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.featurelist.as_deref()))
        .collect();
    for (name, list) in packages {
        let mut entry = Entry::new(EntryKind::Package, name);
        if let Some(list) = list {
            entry.notes.push(format!("feature list “{list}”"));
        }
        out.push(entry);
    }
    let resellers: BTreeSet<&str> = analysis
        .remote
        .resellers
        .keys()
        .map(String::as_str)
        .filter(|r| *r != "root")
        .collect();
    let mut accounts: Vec<_> = analysis.items.accounts.iter().collect();
    accounts.sort_by(|a, b| a.user.cmp(&b.user));
    for a in accounts {
        let mut entry = Entry::new(EntryKind::Account, &a.user);
        entry.domain = Some(a.domain.clone()).filter(|d| !d.is_empty());
        entry.owner.clone_from(&a.owner);
        entry.bytes = a.bytesused;
        let remote = &analysis.remote;
        let mut facts = vec![if remote.has_disk_used {
            bytes(a.bytesused)
        } else {
            "disk use not reported by the source".to_owned()
        }];
        if remote.has_files_used {
            facts.push(format!("{} files", a.filesused));
        }
        facts.push(format!("owner {}", a.owner.as_deref().unwrap_or("unknown")));
        if resellers.contains(a.user.as_str()) {
            facts.push("reseller".to_owned());
        }
        if a.has_dedicated_ip {
            facts.push(
                "dedicated IP on the source (set `ip = true` to give it one here)".to_owned(),
            );
        }
        entry.notes.push(facts.join(", "));
        out.push(entry);
    }
    out
}

/// The analysis' module warnings and errors, one line each (`Module: text`).
pub fn module_notes(analysis: &RemoteAnalysis) -> Vec<String> {
    let mut out = Vec::new();
    for (module, m) in &analysis.modules {
        for (what, text) in [("warns", &m.warning), ("error", &m.error)] {
            for line in text.iter().flat_map(|t| t.lines()) {
                let line = line.trim();
                if !line.is_empty() {
                    out.push(format!("{module} {what}: {line}"));
                }
            }
        }
    }
    out
}
