//! `retrieve_transfer_session_remote_analysis` (REFERENCE §4.6): what the source holds
//! and what the destination already has, as one session sees it.

use crate::domain::lenient;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The stored analysis of a root session.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RemoteAnalysis {
    /// Echoes the session id.
    #[serde(default, deserialize_with = "lenient::string")]
    pub transfer_session_id: String,
    /// What the source offers.
    #[serde(default)]
    pub items: AnalysisItems,
    /// Facts about the destination.
    #[serde(default)]
    pub local: LocalFacts,
    /// Facts about the source.
    #[serde(default)]
    pub remote: RemoteFacts,
    /// Module name → its analysis, warnings and errors.
    #[serde(default, deserialize_with = "null_as_default")]
    pub modules: BTreeMap<String, ModuleAnalysis>,
    /// Session options as stored.
    #[serde(default)]
    pub options: AnalysisOptions,
    /// Server configuration facts.
    #[serde(default)]
    pub config: AnalysisConfig,
}

/// `items`: the source's accounts and packages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AnalysisItems {
    /// One entry per source account (sorted by domain by the server).
    #[serde(default, deserialize_with = "null_as_default")]
    pub accounts: Vec<SourceAccount>,
    /// The source's packages.
    #[serde(default, deserialize_with = "null_as_default")]
    pub packages: Vec<SourcePackage>,
}

/// One account on the source.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceAccount {
    /// The account name on the source.
    #[serde(default, deserialize_with = "lenient::string")]
    pub user: String,
    /// Its main domain.
    #[serde(default, deserialize_with = "lenient::string")]
    pub domain: String,
    /// Its owner (reseller or `root`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub owner: Option<String>,
    /// Disk use in bytes (disk use × 1024).
    #[serde(default, deserialize_with = "lenient::uint")]
    pub bytesused: u64,
    /// File count.
    #[serde(default, deserialize_with = "lenient::uint")]
    pub filesused: u64,
    /// Whether the account has a dedicated IP on the source.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub has_dedicated_ip: bool,
}

/// One package on the source.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourcePackage {
    /// The package name (may keep trailing spaces).
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// Its feature list, if any.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub featurelist: Option<String>,
}

/// `local`: the destination as the session sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LocalFacts {
    /// Free IPs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub available_ips: Vec<String>,
    /// IP → domain.
    #[serde(default, deserialize_with = "string_map")]
    pub dedicated_ips: BTreeMap<String, String>,
    /// Domain → owner user name.
    #[serde(default, deserialize_with = "string_map")]
    pub domains: BTreeMap<String, String>,
    /// System user names.
    #[serde(default, deserialize_with = "string_map")]
    pub users: BTreeMap<String, String>,
    /// System group names.
    #[serde(default, deserialize_with = "string_map")]
    pub groups: BTreeMap<String, String>,
    /// Databases and database users, with owners.
    #[serde(default)]
    pub dbs: Option<DbInventory>,
    /// The destination's host name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub host: Option<String>,
    /// Full version, e.g. `11.120.0.16`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub version: Option<String>,
    /// Major version, e.g. `11.120`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub major_version: Option<String>,
    /// `sqlite` or `mysql`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub roundcube_dbtype: Option<String>,
}

/// `remote`: the source server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RemoteFacts {
    /// The host given at creation.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub host: Option<String>,
    /// The source's own host name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub hostname: Option<String>,
    /// Full version (the guide's example sends the number 0).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub version: Option<String>,
    /// Internal version number, or 0.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub cpversion: Option<String>,
    /// Major version; null for sources that are not cPanel.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub major_version: Option<String>,
    /// e.g. `WHM1164`, `plesk`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub server_type: Option<String>,
    /// Reseller names.
    #[serde(default, deserialize_with = "string_map")]
    pub resellers: BTreeMap<String, String>,
    /// Capability flag.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub has_owners: bool,
    /// Capability flag.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub has_disk_used: bool,
    /// Capability flag.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub has_files_used: bool,
    /// Capability flag.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub has_xfertool: bool,
    /// Capability flag.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub has_package_extensions: bool,
    /// Whether Live Transfer is possible from this source.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub supports_live_transfers: bool,
    /// Databases and database users on the source.
    #[serde(default)]
    pub dbs: Option<DbInventory>,
    /// `sqlite` or `mysql`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub roundcube_dbtype: Option<String>,
}

/// `dbs`: `{dbs:{MYSQL:{name:{owner}}, PGSQL:{…}}, users:{MYSQL:{…}, PGSQL:{…}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DbInventory {
    /// Engine (`MYSQL`, `PGSQL`) → database name → owner.
    #[serde(default, deserialize_with = "owner_maps")]
    pub dbs: BTreeMap<String, BTreeMap<String, Option<String>>>,
    /// Engine → database user name → owner.
    #[serde(default, deserialize_with = "owner_maps")]
    pub users: BTreeMap<String, BTreeMap<String, Option<String>>>,
}

/// One module's analysis.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModuleAnalysis {
    /// The module's display name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Key facts (keys have spaces instead of underscores).
    #[serde(default, deserialize_with = "null_as_default")]
    pub analysis: BTreeMap<String, serde_json::Value>,
    /// Newline-joined warnings.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub warning: Option<String>,
    /// Newline-joined errors.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error: Option<String>,
}

/// `options`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AnalysisOptions {
    /// Whether the session skips Restricted Restore.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub unrestricted: bool,
    /// The stored `copy_reseller_privs` flag (misleading name, REFERENCE §4.3).
    #[serde(default, deserialize_with = "lenient::opt_flag")]
    pub skip_reseller_privs: Option<bool>,
}

/// `config`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AnalysisConfig {
    /// Whether source and destination share a MySQL server.
    #[serde(default, deserialize_with = "lenient::opt_flag")]
    pub shared_mysql_server: Option<bool>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A JSON object whose values may be strings, numbers or flags; arrays of names are
/// accepted too (some servers send `[]` for an empty object).
fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        Map(BTreeMap<String, serde_json::Value>),
        List(Vec<serde_json::Value>),
    }
    Ok(match Option::<Shape>::deserialize(d)? {
        None => BTreeMap::new(),
        Some(Shape::Map(m)) => m.into_iter().map(|(k, v)| (k, scalar(&v))).collect(),
        Some(Shape::List(l)) => l.iter().map(|v| (scalar(v), String::new())).collect(),
    })
}

/// Name → owner, per engine.
type OwnerMaps = BTreeMap<String, BTreeMap<String, Option<String>>>;

fn owner_maps<'de, D: Deserializer<'de>>(d: D) -> Result<OwnerMaps, D::Error> {
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    let mut out = BTreeMap::new();
    for (engine, names) in raw.unwrap_or_default() {
        let mut inner = BTreeMap::new();
        match names {
            serde_json::Value::Object(map) => {
                for (name, v) in map {
                    let owner = match &v {
                        serde_json::Value::Object(o) => o.get("owner").map(scalar),
                        serde_json::Value::String(s) => Some(s.clone()),
                        _ => None,
                    };
                    inner.insert(name, owner);
                }
            }
            serde_json::Value::Array(list) => {
                for v in list {
                    inner.insert(scalar(&v), None);
                }
            }
            _ => {}
        }
        out.insert(engine, inner);
    }
    Ok(out)
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
