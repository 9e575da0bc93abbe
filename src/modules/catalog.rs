//! The transfer modules this crate knows: their type ids, schemas (bundled snapshots of
//! `schemas/modules/*.json`, or live ones) and the session kinds that may enqueue them.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema::{ModuleSchema, ModuleSnapshot};

/// The kind of a transfer session, from the function that created it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// `create_remote_root_transfer_session`: root (or sudo) login on the source.
    Root,
    /// `create_remote_user_transfer_session`: one cPanel account's own password.
    User,
}

impl SessionKind {
    /// `root` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::User => "user",
        }
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One module of the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogModule {
    /// The module name, for example `AccountRemoteRoot`.
    pub name: String,
    /// The numeric type id (also the processing order).
    pub type_id: u32,
    /// Its queue schema.
    pub schema: ModuleSchema,
    /// The session kinds whose sessions may enqueue it (REFERENCE §4.9 step 5). Empty for
    /// modules that the two create functions' sessions cannot use at all.
    pub allowed_kinds: Vec<SessionKind>,
}

impl CatalogModule {
    /// Whether a session of `kind` may enqueue this module.
    pub fn allows(&self, kind: SessionKind) -> bool {
        self.allowed_kinds.contains(&kind)
    }
}

/// Module names used by the manifest.
pub mod names {
    /// Feature lists (root sessions).
    pub const FEATURE_LIST: &str = "FeatureListRemoteRoot";
    /// Packages (root sessions).
    pub const PACKAGE: &str = "PackageRemoteRoot";
    /// Accounts from a root session.
    pub const ACCOUNT_ROOT: &str = "AccountRemoteRoot";
    /// Accounts from a user session.
    pub const ACCOUNT_USER: &str = "AccountRemoteUser";
}

/// What an item of a module is, as a migration sees it: the one place that decides
/// it from the module name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModuleKind {
    /// `FeatureListRemoteRoot`.
    FeatureList,
    /// `PackageRemoteRoot`.
    Package,
    /// `AccountRemoteRoot`, `AccountRemoteUser`, `AccountLocal`: a cPanel account.
    Account,
    /// Any other module (server configuration: Exim, Apache, …).
    Other,
}

impl ModuleKind {
    /// The kind of `module`.
    pub fn of(module: &str) -> Self {
        match module {
            names::FEATURE_LIST => Self::FeatureList,
            names::PACKAGE => Self::Package,
            names::ACCOUNT_ROOT | names::ACCOUNT_USER | "AccountLocal" => Self::Account,
            _ => Self::Other,
        }
    }

    /// The key naming an item (its primary key for the three item modules).
    pub fn item_key(self) -> &'static str {
        match self {
            Self::FeatureList => "featurelist",
            Self::Package => "package",
            Self::Account | Self::Other => "user",
        }
    }
}

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../schemas/modules/", $name, ".json")))),*]
    };
}

/// The snapshot files compiled into the binary: (module name, JSON text).
pub const BUNDLED_SNAPSHOTS: [(&str, &str); 19] = bundled!(
    "AccountLocal",
    "AccountRemoteRoot",
    "AccountRemoteUser",
    "AccountUpload",
    "ApacheRemoteRoot",
    "AutoSSLOptionsRemoteRoot",
    "BackupsRemoteRoot",
    "EximRemoteRoot",
    "FeatureListRemoteRoot",
    "GreyListRemoteRoot",
    "HulkRemoteRoot",
    "LegacyAccountBackup",
    "MailboxConversion",
    "ModSecurityRemoteRoot",
    "MySQLRemoteRoot",
    "PackageRemoteRoot",
    "RearrangeAccount",
    "ThemesRemoteRoot",
    "WHMConfRemoteRoot",
);

/// The session kinds allowed per module (REFERENCE §6.1, enforced for sessions made by
/// the two create functions).
pub fn allowed_kinds(module: &str) -> Vec<SessionKind> {
    match module {
        names::ACCOUNT_USER => vec![SessionKind::User],
        "AccountLocal" => vec![SessionKind::Root, SessionKind::User],
        "AccountUpload" | "RearrangeAccount" | "MailboxConversion" => Vec::new(),
        _ => vec![SessionKind::Root],
    }
}

/// The set of modules validation uses: the bundled snapshots, optionally with live schemas
/// swapped in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleCatalog {
    modules: BTreeMap<String, CatalogModule>,
}

impl ModuleCatalog {
    /// The catalog of the bundled snapshots (parsed once per process).
    pub fn bundled() -> Self {
        static BUNDLED: std::sync::OnceLock<ModuleCatalog> = std::sync::OnceLock::new();
        BUNDLED.get_or_init(Self::parse_bundled).clone()
    }

    fn parse_bundled() -> Self {
        let mut modules = BTreeMap::new();
        for (name, text) in BUNDLED_SNAPSHOTS {
            let snap: ModuleSnapshot = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("bundled schema {name} is invalid: {e}"));
            let type_id = snap
                .type_id
                .parse()
                .unwrap_or_else(|e| panic!("bundled schema {name} has a bad type id: {e}"));
            modules.insert(
                snap.module.clone(),
                CatalogModule {
                    allowed_kinds: allowed_kinds(&snap.module),
                    name: snap.module,
                    type_id,
                    schema: snap.schema,
                },
            );
        }
        Self { modules }
    }

    /// Looks a module up by name.
    pub fn get(&self, name: &str) -> Option<&CatalogModule> {
        self.modules.get(name)
    }

    /// All modules, by name.
    pub fn modules(&self) -> impl Iterator<Item = &CatalogModule> {
        self.modules.values()
    }

    /// Replaces (or adds) a module's schema, for example with a live one. A module the
    /// catalog did not know gets `type_id` 0 unless given.
    pub fn set_schema(&mut self, name: &str, schema: ModuleSchema, type_id: Option<u32>) {
        let entry = self
            .modules
            .entry(name.to_owned())
            .or_insert_with(|| CatalogModule {
                name: name.to_owned(),
                type_id: 0,
                schema: schema.clone(),
                allowed_kinds: allowed_kinds(name),
            });
        entry.schema = schema;
        if let Some(id) = type_id {
            entry.type_id = id;
        }
    }

    /// The account module a session of `kind` uses for `[[sources.accounts]]`.
    pub fn account_module(kind: SessionKind) -> &'static str {
        match kind {
            SessionKind::Root => names::ACCOUNT_ROOT,
            SessionKind::User => names::ACCOUNT_USER,
        }
    }
}

impl Default for ModuleCatalog {
    fn default() -> Self {
        Self::bundled()
    }
}

#[cfg(test)]
mod tests {
    use super::{ModuleCatalog, SessionKind, names};

    #[test]
    fn bundled_catalog_has_every_snapshot_with_ids_and_kinds() {
        let catalog = ModuleCatalog::bundled();
        assert_eq!(catalog.modules().count(), 19);
        let account = catalog.get(names::ACCOUNT_ROOT).unwrap();
        assert_eq!(account.type_id, 3000);
        assert!(account.allows(SessionKind::Root));
        assert!(!account.allows(SessionKind::User));
        assert_eq!(account.schema.keys.len(), 33);
        let user = catalog.get(names::ACCOUNT_USER).unwrap();
        assert!(user.allows(SessionKind::User) && !user.allows(SessionKind::Root));
        let local = catalog.get("AccountLocal").unwrap();
        assert!(local.allows(SessionKind::User) && local.allows(SessionKind::Root));
        assert!(
            !catalog
                .get(names::PACKAGE)
                .unwrap()
                .allows(SessionKind::User)
        );
        assert_eq!(catalog.get(names::FEATURE_LIST).unwrap().type_id, 1000);
    }

    #[test]
    fn live_schema_replaces_bundled() {
        let mut catalog = ModuleCatalog::bundled();
        let schema = serde_json::from_str(
            r#"{"keys":{"package":{"def":"varchar(10) DEFAULT NULL"}},"primary":["package"],"required":["package"]}"#,
        )
        .unwrap();
        catalog.set_schema(names::PACKAGE, schema, None);
        let package = catalog.get(names::PACKAGE).unwrap();
        assert_eq!(package.type_id, 2000);
        assert_eq!(package.schema.keys.len(), 1);
    }
}
