//! The two inputs of the diff: what the manifest wants ([`Desired`]) and what the
//! servers hold ([`Observed`]). Plain values, so the diff is testable without I/O.

use crate::domain::{Account, Package, RemoteAnalysis, SessionState, SystemUserCheck};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::modules::ModuleKind;
pub use crate::modules::SessionKind;

/// The migration as the manifest states it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Desired {
    /// The migration id (manifest `name`).
    pub migration: String,
    /// Sources in manifest order.
    pub sources: Vec<DesiredSource>,
}

/// One source server and what to move from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredSource {
    /// The manifest's name for the source.
    pub name: String,
    /// Its host.
    pub host: String,
    /// Root or user credentials.
    pub kind: SessionKind,
    /// Feature lists, packages and accounts, in any order (the plan sorts them).
    pub items: Vec<DesiredItem>,
    /// Pre-flight checks the manifest waives for the whole source.
    #[serde(default)]
    pub waive: Vec<String>,
}

/// One item to transfer: a feature list, a package or an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredItem {
    /// The transfer module, e.g. `AccountRemoteRoot`.
    pub module: String,
    /// The module's type id (its processing order).
    pub type_id: u64,
    /// The primary-key value: source user, package or feature-list name.
    pub key: String,
    /// For accounts: the user name to create on the destination.
    pub localuser: Option<String>,
    /// For accounts: the main domain, when the manifest names it.
    pub domain: Option<String>,
    /// `force = true`: overwrite an existing account of the same name.
    pub force: bool,
    /// The item sets one of the database `overwrite_*` keys.
    pub overwrite_dbs: bool,
    /// The exact `enqueue_transfer_item` keys the manifest sets (validated).
    pub params: Vec<(String, String)>,
    /// Problems found by validation; a non-empty list makes the item `invalid`.
    pub problems: Vec<String>,
    /// Pre-flight checks the manifest waives for this item.
    #[serde(default)]
    pub waive: Vec<String>,
    /// Risks the manifest acknowledges for this item.
    #[serde(default)]
    pub acknowledge: Vec<String>,
}

impl DesiredItem {
    /// Whether this item is an account (as opposed to a package or feature list).
    pub fn is_account(&self) -> bool {
        ModuleKind::of(&self.module) == ModuleKind::Account
    }
}

/// What the servers hold, read once per plan.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Observed {
    /// The destination's inventory.
    pub destination: DestinationInventory,
    /// Per source, in the same order as [`Desired::sources`].
    pub sources: Vec<ObservedSource>,
    /// The destination's live schema keys of the modules the plan sends; read after the
    /// diff (only what apply would send needs them), so not in the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_keys: Option<crate::plan::live::ServerKeys>,
}

/// `listaccts`, `listpkgs` and `get_featurelists` of the destination.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DestinationInventory {
    /// Its accounts.
    pub accounts: Vec<Account>,
    /// Its packages.
    pub packages: Vec<Package>,
    /// Its feature list names.
    pub featurelists: Vec<String>,
    /// `validate_system_user` answers for the new names the manifest gives accounts
    /// (`localuser` differing from the source's user): no cPanel server has accepted
    /// those yet, and the destination's own rules (reserved names, length) are not
    /// documented, so it is asked, once per such name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_checks: BTreeMap<String, SystemUserCheck>,
}

/// One source as observed: its session and, for root sources, the analysis.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ObservedSource {
    /// The manifest's name for the source.
    pub name: String,
    /// The session the plan uses, if any (user sources need none to plan).
    pub session: Option<ObservedSession>,
    /// The session's analysis (root sources).
    pub analysis: Option<RemoteAnalysis>,
    /// Items (`Module/key`) the journal records as enqueued in this session.
    pub queued: BTreeSet<String>,
}

/// A transfer session as the plan found or made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedSession {
    /// The session id.
    pub id: String,
    /// Its state when observed.
    pub state: SessionState,
    /// True when this run created it; false when reused from the journal or a saved plan.
    pub created: bool,
    /// Why its state could not be read, when it could not: `state` is then the journal's
    /// last known one, and the session is followed, never replaced, until it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfirmed: Option<String>,
}

/// The queue key of an item, as journals and simulator counters spell it.
pub fn queue_key(module: &str, key: &str) -> String {
    format!("{module}/{key}")
}
