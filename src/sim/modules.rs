//! The simulator's transfer-module table, built from the schema snapshots in
//! `schemas/modules/*.json` (embedded, so the repository holds one copy of that data),
//! plus the per-module facts of REFERENCE §6.1 the snapshots do not carry.

use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Which session kinds may enqueue a module (REFERENCE §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Root sessions only.
    Root,
    /// User sessions only.
    User,
    /// Both kinds.
    Both,
    /// Not checked.
    Unchecked,
}

/// One transfer module.
#[derive(Debug, Clone)]
pub struct ModuleDef {
    /// Module name, e.g. `AccountRemoteRoot`.
    pub name: String,
    /// Numeric type id (processing order).
    pub type_id: u32,
    /// Column name → SQL definition, in schema order.
    pub keys: Map<String, Value>,
    /// The primary-key column.
    pub primary: String,
    /// Columns that must be supplied.
    pub required: Vec<String>,
    /// The prerequisite column, for account modules.
    pub prerequisite: Option<String>,
}

impl ModuleDef {
    /// Session kinds allowed to enqueue this module.
    pub fn allowed(&self) -> Allowed {
        match self.name.as_str() {
            "AccountRemoteUser" => Allowed::User,
            "AccountLocal" => Allowed::Both,
            "AccountUpload" | "RearrangeAccount" | "MailboxConversion" => Allowed::Unchecked,
            _ => Allowed::Root,
        }
    }

    /// The `item_name` used in logs.
    pub fn item_name(&self) -> &'static str {
        match self.name.as_str() {
            n if n.starts_with("Account")
                || n == "RearrangeAccount"
                || n == "MailboxConversion" =>
            {
                "Account"
            }
            "LegacyAccountBackup" => "Account",
            "PackageRemoteRoot" => "Package",
            "FeatureListRemoteRoot" => "Feature List",
            "BackupsRemoteRoot" => "Backups",
            "EximRemoteRoot" => "Exim",
            "ThemesRemoteRoot" => "Themes",
            "ApacheRemoteRoot" => "Apache",
            "MySQLRemoteRoot" => "MySQL",
            "WHMConfRemoteRoot" => "WHMConf",
            "GreyListRemoteRoot" => "GreyList",
            "HulkRemoteRoot" => "Hulk",
            "AutoSSLOptionsRemoteRoot" => "AutoSSLOptions",
            "ModSecurityRemoteRoot" => "ModSecurity",
            _ => "Item",
        }
    }

    /// Whether this is an account module (has `localuser`).
    pub fn is_account(&self) -> bool {
        self.keys.contains_key("localuser")
    }

    /// Whether a column holds an integer (its definition names an int type).
    pub fn is_integer_key(&self, key: &str) -> bool {
        self.keys
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|d| d.to_ascii_lowercase().contains("int"))
    }

    /// The schema as `transfer_module_schema` returns it (`keys` → `{def}`).
    pub fn schema_json(&self) -> Value {
        let keys: Map<String, Value> = self
            .keys
            .iter()
            .map(|(k, d)| (k.clone(), serde_json::json!({ "def": d })))
            .collect();
        let mut schema = Map::new();
        schema.insert("keys".into(), Value::Object(keys));
        schema.insert("primary".into(), serde_json::json!([self.primary]));
        schema.insert("required".into(), serde_json::json!(self.required));
        if let Some(p) = &self.prerequisite {
            schema.insert("prerequisite".into(), Value::String(p.clone()));
        }
        Value::Object(schema)
    }
}

#[derive(Deserialize)]
struct Snapshot {
    module: String,
    type_id: String,
    schema: SnapshotSchema,
}

#[derive(Deserialize)]
struct SnapshotSchema {
    keys: Map<String, Value>,
    primary: Vec<String>,
    required: Vec<String>,
    prerequisite: Option<String>,
}

const SNAPSHOTS: [&str; 19] = [
    include_str!("../../schemas/modules/AccountLocal.json"),
    include_str!("../../schemas/modules/AccountRemoteRoot.json"),
    include_str!("../../schemas/modules/AccountRemoteUser.json"),
    include_str!("../../schemas/modules/AccountUpload.json"),
    include_str!("../../schemas/modules/ApacheRemoteRoot.json"),
    include_str!("../../schemas/modules/AutoSSLOptionsRemoteRoot.json"),
    include_str!("../../schemas/modules/BackupsRemoteRoot.json"),
    include_str!("../../schemas/modules/EximRemoteRoot.json"),
    include_str!("../../schemas/modules/FeatureListRemoteRoot.json"),
    include_str!("../../schemas/modules/GreyListRemoteRoot.json"),
    include_str!("../../schemas/modules/HulkRemoteRoot.json"),
    include_str!("../../schemas/modules/LegacyAccountBackup.json"),
    include_str!("../../schemas/modules/MailboxConversion.json"),
    include_str!("../../schemas/modules/ModSecurityRemoteRoot.json"),
    include_str!("../../schemas/modules/MySQLRemoteRoot.json"),
    include_str!("../../schemas/modules/PackageRemoteRoot.json"),
    include_str!("../../schemas/modules/RearrangeAccount.json"),
    include_str!("../../schemas/modules/ThemesRemoteRoot.json"),
    include_str!("../../schemas/modules/WHMConfRemoteRoot.json"),
];

static TABLE: LazyLock<Vec<ModuleDef>> = LazyLock::new(|| {
    let mut table: Vec<ModuleDef> = SNAPSHOTS
        .iter()
        .map(|text| {
            let s: Snapshot = serde_json::from_str(text).expect("embedded module schema");
            ModuleDef {
                name: s.module,
                type_id: s.type_id.parse().expect("numeric type id"),
                keys: s.schema.keys,
                primary: s.schema.primary[0].clone(),
                required: s.schema.required,
                prerequisite: s.schema.prerequisite,
            }
        })
        .collect();
    table.sort_by_key(|m| m.type_id);
    table
});

/// All modules, in ascending type id.
pub fn all() -> &'static [ModuleDef] {
    &TABLE
}

/// The module with this exact name.
pub fn get(name: &str) -> Option<&'static ModuleDef> {
    TABLE.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_all_nineteen_in_order() {
        assert_eq!(all().len(), 19);
        assert_eq!(all()[0].name, "FeatureListRemoteRoot");
        let acct = get("AccountRemoteRoot").unwrap();
        assert_eq!(acct.type_id, 3000);
        assert_eq!(acct.required, ["user", "localuser"]);
        assert!(acct.is_integer_key("priority") && !acct.is_integer_key("domain"));
        assert_eq!(get("AccountRemoteUser").unwrap().allowed(), Allowed::User);
    }
}
