//! What the destination already holds: `listaccts`, `accountsummary`, `listpkgs` and
//! `get_featurelists` (REFERENCE §4.19–§4.22).

use crate::domain::lenient;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One account record of `listaccts` / `accountsummary` (the fields a migration needs;
/// the rest are kept in `other`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Account {
    /// The user name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub user: String,
    /// The main domain.
    #[serde(default, deserialize_with = "lenient::string")]
    pub domain: String,
    /// The owner (reseller or `root`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub owner: Option<String>,
    /// The package.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub plan: Option<String>,
    /// The main IP.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub ip: Option<String>,
    /// Disk use, e.g. `14M`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub diskused: Option<String>,
    /// Whether the account is suspended.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub suspended: bool,
    /// Creation time (epoch).
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    pub unix_startdate: Option<u64>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AcctData {
    #[serde(default)]
    pub acct: Option<Vec<Account>>,
}

/// `listaccts` filters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountQuery {
    /// A regex (case-insensitive) or, with `exact`, the exact value.
    pub search: Option<String>,
    /// `domain`, `owner`, `user`, `ip` or `package`.
    pub searchtype: Option<String>,
    /// Match exactly instead of as a regex.
    pub exact: bool,
    /// Fields to return per account (all when empty).
    pub want: Vec<String>,
}

/// One package of `listpkgs`: its name and settings (upper-case keys, mostly strings).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Package {
    /// The package name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// Its feature list.
    #[serde(
        rename = "FEATURELIST",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub featurelist: Option<String>,
    /// Every other setting, as sent.
    #[serde(flatten)]
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// `list_pops_for`'s data: one account's email addresses.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PopsData {
    #[serde(default)]
    pub pops: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PkgData {
    #[serde(default)]
    pub pkg: Option<Vec<Package>>,
}

/// Which packages `listpkgs` lists. The docs default to `all`, the server to
/// `creatable`; this client always sends one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PackageFilter {
    /// Every package the caller can see.
    #[default]
    All,
    /// Packages the caller may create accounts with.
    Creatable,
    /// Packages the caller may edit.
    Editable,
    /// Packages the caller may view.
    Viewable,
}

impl PackageFilter {
    /// The `want` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Creatable => "creatable",
            Self::Editable => "editable",
            Self::Viewable => "viewable",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FeatureListsData {
    #[serde(default)]
    pub featurelists: Option<Vec<serde_json::Value>>,
}
