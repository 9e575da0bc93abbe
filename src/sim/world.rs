//! The simulated world: one destination server (the WHM the simulator *is*) and the
//! source servers it can pull from, loaded from a TOML file.
//!
//! Every field has a default so a small world file stays short; see
//! `tests/fixtures/worlds/*.toml` for examples. The world is also serializable, so the
//! demo can persist it and a restarted simulator continues where it stopped.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use super::web::Site;

/// Errors loading or saving a world file.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The file could not be read or written.
    #[error("world file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML text is not a valid world.
    #[error("invalid world: {0}")]
    Parse(#[from] toml::de::Error),
    /// The world could not be written as TOML.
    #[error("cannot serialize world: {0}")]
    Serialize(#[from] toml::ser::Error),
}

/// The whole simulated world.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    /// The destination server: the WHM this simulator answers as.
    #[serde(default)]
    pub destination: Destination,
    /// Source servers, keyed by the host name (or IP) a session is created with.
    #[serde(default)]
    pub sources: BTreeMap<String, Source>,
}

impl World {
    /// Parses a world from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, WorldError> {
        Ok(toml::from_str(text)?)
    }

    /// Loads a world from a TOML file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, WorldError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| WorldError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// Renders the world as TOML (what [`World::load`] reads back).
    pub fn to_toml_string(&self) -> Result<String, WorldError> {
        Ok(toml::to_string(self)?)
    }

    /// Finds a source by the host given to a create call: its key, its hostname or its IP.
    pub fn find_source(&self, host: &str) -> Option<(&str, &Source)> {
        let host_lc = host.to_ascii_lowercase();
        self.sources.iter().find_map(|(key, src)| {
            let hit = key.eq_ignore_ascii_case(&host_lc)
                || src
                    .hostname
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(host))
                || src.ip.as_deref() == Some(host);
            hit.then_some((key.as_str(), src))
        })
    }
}

/// The destination server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Destination {
    /// The server's hostname.
    pub hostname: String,
    /// The cPanel & WHM version, `11.120.0.16` style.
    pub version: String,
    /// The major version (`11.120`); derived from `version` when absent.
    pub major_version: Option<String>,
    /// `sqlite` or `mysql`.
    pub roundcube_dbtype: String,
    /// The main shared IP, given to accounts without a dedicated one.
    pub shared_ip: String,
    /// IPs free for dedicated use.
    pub available_ips: Vec<String>,
    /// Dedicated IPs in use: IP → domain.
    pub dedicated_ips: BTreeMap<String, String>,
    /// Existing cPanel accounts.
    pub accounts: Vec<DestAccount>,
    /// Hosting plans.
    pub packages: Vec<Package>,
    /// Feature-list names (`default` and `disabled` are built in).
    pub featurelists: Vec<String>,
    /// Databases and database users with their owners.
    pub dbs: Dbs,
    /// System names that may not be used for accounts.
    pub reserved_usernames: Vec<String>,
    /// System users that are not accounts (listed in the analysis' `local.users`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system_users: Vec<String>,
    /// cpmove archives (or extracted directories) lying on this server, for
    /// `start_local_cpmove_restore`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub archives: Vec<LocalArchive>,
}

impl Default for Destination {
    fn default() -> Self {
        Self {
            hostname: "dest.example.com".into(),
            version: "11.120.0.16".into(),
            major_version: None,
            roundcube_dbtype: "sqlite".into(),
            shared_ip: "192.0.2.10".into(),
            available_ips: Vec::new(),
            dedicated_ips: BTreeMap::new(),
            accounts: Vec::new(),
            packages: Vec::new(),
            featurelists: vec!["default".into(), "disabled".into()],
            dbs: Dbs::default(),
            reserved_usernames: [
                "root",
                "nobody",
                "cpanel",
                "mysql",
                "postgres",
                "mail",
                "ftp",
                "www",
                "named",
                "dovecot",
                "cpanelphpmyadmin",
                "cpses",
                "virtfs",
                "all",
                "test",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            system_users: Vec::new(),
            archives: Vec::new(),
        }
    }
}

impl Destination {
    /// The major version: the explicit one, or the first two parts of `version`.
    pub fn major_version(&self) -> String {
        self.major_version
            .clone()
            .unwrap_or_else(|| major_of(&self.version))
    }

    /// The account with this user name.
    pub fn account(&self, user: &str) -> Option<&DestAccount> {
        self.accounts.iter().find(|a| a.user == user)
    }

    /// The local archive at `path` (a trailing `/` of a directory path is ignored).
    pub fn archive(&self, path: &str) -> Option<&LocalArchive> {
        let want = path.trim_end_matches('/');
        self.archives
            .iter()
            .find(|a| a.path.trim_end_matches('/') == want)
    }

    /// Who owns a domain here, if anyone.
    pub fn domain_owner(&self, domain: &str) -> Option<&str> {
        self.accounts
            .iter()
            .find(|a| a.domain.eq_ignore_ascii_case(domain))
            .map(|a| a.user.as_str())
    }
}

/// `11.120.0.16` → `11.120`.
pub(crate) fn major_of(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// A cPanel account on the destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestAccount {
    /// The user name.
    pub user: String,
    /// The main domain.
    pub domain: String,
    /// The owning reseller (`root` by default).
    #[serde(default = "root")]
    pub owner: String,
    /// The hosting plan.
    #[serde(default = "default_plan")]
    pub plan: String,
    /// The account's IP; the destination's shared IP when absent.
    #[serde(default)]
    pub ip: Option<String>,
    /// Disk use in bytes.
    #[serde(default)]
    pub diskused: u64,
    /// File count (`listaccts`' `inodesused`).
    #[serde(default)]
    pub inodesused: u64,
    /// MySQL databases the account owns.
    #[serde(default)]
    pub databases: Vec<String>,
    /// Creation time (epoch seconds).
    #[serde(default = "default_startdate")]
    pub startdate: i64,
    /// Domains besides the main one (addon, parked) mapped to the account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addon_domains: Vec<String>,
    /// The account's domains (main or addon) that the domain map does not map to it,
    /// as a restore that lost them leaves them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmapped_domains: Vec<String>,
    /// Its email addresses (`list_pops_for`); a restore copies the source account's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mailboxes: Vec<String>,
    /// Its web site (a restore copies the source account's); a default page titled
    /// with the main domain when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Site>,
}

impl DestAccount {
    /// The domains the destination maps to the account: the main one and the addon
    /// domains, less those a restore left unmapped.
    pub fn mapped_domains(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.domain)
            .chain(&self.addon_domains)
            .filter(|d| {
                !self
                    .unmapped_domains
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(d))
            })
    }
}

/// A cpmove archive (or extracted directory) on the destination's disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalArchive {
    /// Where it lies, e.g. `/home/cpmove-dave.tar.gz`.
    pub path: String,
    /// The account user name inside the archive.
    pub user: String,
    /// The account's main domain.
    pub domain: String,
    /// The owning reseller.
    #[serde(default = "root")]
    pub owner: String,
    /// The hosting plan.
    #[serde(default = "default_plan")]
    pub plan: String,
    /// Disk use in bytes of the account's data.
    #[serde(default)]
    pub bytesused: u64,
    /// MySQL databases.
    #[serde(default)]
    pub databases: Vec<String>,
    /// MySQL database users.
    #[serde(default)]
    pub db_users: Vec<String>,
}

impl LocalArchive {
    /// The account the archive holds, as a restore reads it.
    pub fn account(&self) -> SourceAccount {
        SourceAccount {
            user: self.user.clone(),
            domain: self.domain.clone(),
            owner: self.owner.clone(),
            plan: self.plan.clone(),
            bytesused: self.bytesused,
            filesused: 0,
            has_dedicated_ip: false,
            databases: self.databases.clone(),
            db_users: self.db_users.clone(),
            fail_transfer: None,
            fail_restore: None,
            warnings: Vec::new(),
            addon_domains: Vec::new(),
            restore_loses: RestoreLoss::default(),
            site: Site::default(),
            mailboxes: Vec::new(),
        }
    }
}

/// A hosting plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// The plan name (may contain spaces).
    pub name: String,
    /// Its feature list.
    #[serde(default = "default_plan")]
    pub featurelist: String,
    /// Other settings in `listpkgs` style (`QUOTA = "1024"`, `CGI = "y"`…); defaults fill the rest.
    #[serde(default)]
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// Databases and database users, each name → owning account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dbs {
    /// MySQL databases.
    pub mysql: BTreeMap<String, String>,
    /// PostgreSQL databases.
    pub pgsql: BTreeMap<String, String>,
    /// MySQL users.
    pub mysql_users: BTreeMap<String, String>,
    /// PostgreSQL users.
    pub pgsql_users: BTreeMap<String, String>,
}

impl Dbs {
    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.mysql.is_empty()
            && self.pgsql.is_empty()
            && self.mysql_users.is_empty()
            && self.pgsql_users.is_empty()
    }
}

/// A source server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Source {
    /// The hostname it reports (defaults to its key in `sources`).
    pub hostname: Option<String>,
    /// An IP it can also be reached by.
    pub ip: Option<String>,
    /// Its cPanel version.
    pub version: String,
    /// Its major version; derived from `version` when absent.
    pub major_version: Option<String>,
    /// Internal server type (`WHM1110` style; derived when absent), or `plesk`…
    pub server_type: Option<String>,
    /// Login credentials.
    pub credentials: Credentials,
    /// Resellers (`root` is always added in the analysis).
    pub resellers: Vec<String>,
    /// Accounts on the source.
    pub accounts: Vec<SourceAccount>,
    /// Hosting plans on the source.
    pub packages: Vec<Package>,
    /// Feature lists on the source.
    pub featurelists: Vec<String>,
    /// Whether Live Transfers are supported.
    pub supports_live_transfers: bool,
    /// `sqlite` or `mysql`.
    pub roundcube_dbtype: String,
    /// Per-module analysis warnings: module name → text.
    pub module_warnings: BTreeMap<String, String>,
    /// Per-module analysis errors: module name → text.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub module_errors: BTreeMap<String, String>,
    /// Whether the analysis reports disk use (`has_disk_used`); old or foreign sources
    /// may not.
    pub reports_disk_used: bool,
}

impl Default for Source {
    fn default() -> Self {
        Self {
            hostname: None,
            ip: None,
            version: "11.110.0.20".into(),
            major_version: None,
            server_type: None,
            credentials: Credentials::default(),
            resellers: Vec::new(),
            accounts: Vec::new(),
            packages: Vec::new(),
            featurelists: vec!["default".into()],
            supports_live_transfers: true,
            roundcube_dbtype: "sqlite".into(),
            module_warnings: BTreeMap::new(),
            module_errors: BTreeMap::new(),
            reports_disk_used: true,
        }
    }
}

impl Source {
    /// The major version: explicit, or derived from `version`.
    pub fn major_version(&self) -> String {
        self.major_version
            .clone()
            .unwrap_or_else(|| major_of(&self.version))
    }

    /// The internal server type, `WHM` + the major version's digits when not given.
    pub fn server_type(&self) -> String {
        self.server_type
            .clone()
            .unwrap_or_else(|| format!("WHM{}", self.major_version().replace('.', "")))
    }

    /// The account with this user name.
    pub fn account(&self, user: &str) -> Option<&SourceAccount> {
        self.accounts.iter().find(|a| a.user == user)
    }
}

/// Source login credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Credentials {
    /// root's password.
    pub root_password: String,
    /// Other SSH logins (user → password), for `sudo`/`su` escalation.
    pub logins: BTreeMap<String, String>,
    /// cPanel account passwords (user → password), for user sessions.
    pub cpanel: BTreeMap<String, String>,
    /// SSH keys root has for this source: key name → passphrase (empty: none).
    pub sshkeys: BTreeMap<String, String>,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            root_password: "rootpw".into(),
            logins: BTreeMap::new(),
            cpanel: BTreeMap::new(),
            sshkeys: BTreeMap::new(),
        }
    }
}

/// An account on a source server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceAccount {
    /// The user name.
    pub user: String,
    /// The main domain.
    pub domain: String,
    /// The owning reseller.
    #[serde(default = "root")]
    pub owner: String,
    /// The hosting plan.
    #[serde(default = "default_plan")]
    pub plan: String,
    /// Disk use in bytes (what the transfer moves).
    #[serde(default)]
    pub bytesused: u64,
    /// File count.
    #[serde(default)]
    pub filesused: u64,
    /// Whether the account has a dedicated IP.
    #[serde(default)]
    pub has_dedicated_ip: bool,
    /// MySQL databases.
    #[serde(default)]
    pub databases: Vec<String>,
    /// MySQL database users.
    #[serde(default)]
    pub db_users: Vec<String>,
    /// Scripted failure of the TRANSFER step with this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_transfer: Option<String>,
    /// Scripted failure of the RESTORE step with this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_restore: Option<String>,
    /// Warnings the restore emits (the item then ends with `warning-item`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Domains besides the main one (addon, parked); the restore maps them to the
    /// account. The analysis does not list them (REFERENCE §4.6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addon_domains: Vec<String>,
    /// A restore that succeeds with a hole: what it loses.
    #[serde(default, skip_serializing_if = "RestoreLoss::is_none")]
    pub restore_loses: RestoreLoss,
    /// Its web site, as the simulator's web listener serves it.
    #[serde(default, skip_serializing_if = "Site::is_default")]
    pub site: Site,
    /// Its email addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mailboxes: Vec<String>,
}

/// What a restore loses while still reporting success: the holes `verify` must find.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestoreLoss {
    /// Source databases the restore skips; the log says so (a skipped item).
    pub databases: Vec<String>,
    /// Disk use the restored account ends with, in bytes, instead of the source's.
    pub disk_bytes: Option<u64>,
    /// File count the restored account ends with, instead of the source's.
    pub files: Option<u64>,
    /// Domains (main or addon) the restore silently leaves unmapped.
    pub domains: Vec<String>,
    /// The status the restored site answers instead of the source's (a site that
    /// arrives broken: 500).
    pub site_status: Option<u16>,
    /// Email addresses the restore silently leaves behind.
    pub mailboxes: Vec<String>,
}

impl RestoreLoss {
    /// Whether the restore loses nothing.
    pub fn is_none(&self) -> bool {
        *self == Self::default()
    }
}

fn root() -> String {
    "root".into()
}

fn default_plan() -> String {
    "default".into()
}

fn default_startdate() -> i64 {
    1_652_457_780
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_world_uses_defaults_and_round_trips() {
        let w = World::from_toml_str(
            r#"
            [sources."src.example.com"]
            accounts = [{ user = "bob", domain = "bob.example" }]
            "#,
        )
        .unwrap();
        assert_eq!(w.destination.version, "11.120.0.16");
        assert_eq!(w.destination.major_version(), "11.120");
        let src = w.find_source("SRC.example.com").unwrap().1;
        assert_eq!(src.server_type(), "WHM11110");
        assert_eq!(src.account("bob").unwrap().owner, "root");
        let back = World::from_toml_str(&w.to_toml_string().unwrap()).unwrap();
        assert_eq!(back, w);
    }
}
