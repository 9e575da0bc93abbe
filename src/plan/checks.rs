//! Pre-flight checks and risks: pure functions of what the plan already holds (the
//! manifest's items, the analysis, the destination's inventory), so they cost no
//! request. Every check has a stable name, a severity, the items it concerns and a
//! one-line fix; `docs/checks.md` lists them. The names a manifest may use live in
//! [`crate::manifest::gates`].

use crate::domain::{RemoteAnalysis, SystemUserCheck};
use crate::manifest::gates::RISKS;
use crate::plan::input::{DesiredItem, DesiredSource, queue_key};
use crate::plan::model::{Check, Conflict, ItemPlan, Risk, Severity};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Names WHM keeps for itself; an account may not take them (the analysis' `local.users`
/// adds every system user of the destination).
const RESERVED_USERS: &[&str] = &[
    "all",
    "cpanel",
    "cpanelphpmyadmin",
    "cpses",
    "dovecot",
    "ftp",
    "mail",
    "mysql",
    "named",
    "nobody",
    "postgres",
    "root",
    "test",
    "virtfs",
    "www",
];

/// The longest user name a transferred account may have.
const MAX_USER_LEN: usize = 32;

/// What the checks need beyond one source.
#[derive(Debug, Default)]
pub struct Scope<'a> {
    /// The destination's account user names (`listaccts`).
    pub dest_users: BTreeSet<&'a str>,
    /// Every account the manifest moves, by source and by destination name.
    pub manifest_users: BTreeSet<&'a str>,
    /// Accounts apply would run, over every source, that ask for a dedicated IP.
    pub ip_demand: usize,
    /// The destination's `validate_system_user` answers for new account names.
    pub user_checks: Option<&'a BTreeMap<String, SystemUserCheck>>,
}

impl<'a> Scope<'a> {
    /// Adds one account of the manifest.
    pub fn add_manifest_account(&mut self, item: &'a DesiredItem) {
        self.manifest_users.insert(item.key.as_str());
        if let Some(local) = &item.localuser {
            self.manifest_users.insert(local.as_str());
        }
    }
}

/// Whether an account asks for a dedicated IP (`ip = true` or a `customip`).
pub fn asks_for_ip(item: &DesiredItem) -> bool {
    flag(item, "ip") || param(item, "customip").is_some_and(|v| !v.is_empty())
}

fn param<'a>(item: &'a DesiredItem, key: &str) -> Option<&'a str> {
    item.params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn flag(item: &DesiredItem, key: &str) -> bool {
    param(item, key) == Some("1")
}

/// The risks an item sets, each marked acknowledged or not.
pub fn risks(item: &DesiredItem) -> Vec<Risk> {
    RISKS
        .iter()
        .filter(|(_, key)| flag(item, key))
        .map(|(name, key)| Risk {
            name: (*name).to_owned(),
            key: (*key).to_owned(),
            acknowledged: item.acknowledge.iter().any(|a| a == name),
        })
        .collect()
}

/// What a risk does, in a few words.
pub fn risk_meaning(name: &str) -> &'static str {
    match name {
        "force" => "replaces an existing destination account of the same name",
        "overwrite-with-delete" => "deletes the account's data on the destination first",
        "overwrite-all-dbs" => {
            "overwrites destination databases of the same name, whoever owns them"
        }
        "overwrite-all-dbusers" => {
            "overwrites destination database users of the same name, whoever owns them"
        }
        "overwrite-sameowner-dbs" => "overwrites the account's databases on the destination",
        "overwrite-sameowner-dbusers" => {
            "overwrites the account's database users on the destination"
        }
        "dns-cutover" => "Express Transfer points the source's DNS at the destination",
        "live-transfer" => "Live Transfer moves the account's live traffic to the destination",
        _ => "see docs/checks.md",
    }
}

/// Severity and fix of each check (the name list is [`crate::manifest::gates::CHECK_NAMES`]).
fn describe(name: &str) -> (Severity, &'static str) {
    match name {
        "module-error" => (
            Severity::Blocker,
            "fix the module's problem on the source or the destination and plan again",
        ),
        "module-warning" => (
            Severity::Warning,
            "read the warning; WHM transfers the module anyway",
        ),
        "disk-use-unknown" => (
            Severity::Warning,
            "check the destination's free disk space by hand",
        ),
        "older-destination" => (
            Severity::Blocker,
            "upgrade the destination to the source's version or later",
        ),
        "roundcube-dbtype-mismatch" => (
            Severity::Warning,
            "expect Roundcube data to be converted; match the storage types to avoid it",
        ),
        "database-taken" => (
            Severity::Blocker,
            "rename or remove it on the destination, or set an `overwrite_*` key on the account",
        ),
        "not-enough-ips" => (
            Severity::Blocker,
            "add free IPs to the destination, or drop `ip`/`customip` from some accounts",
        ),
        "owner-missing" => (
            Severity::Warning,
            "add the owner's account to the manifest, or create the reseller on the destination first",
        ),
        "live-transfer-unsupported" => (
            Severity::Blocker,
            "remove `live_transfer` from the account; this source cannot do a Live Transfer",
        ),
        "localuser-refused" => (Severity::Blocker, "set another `localuser` for the account"),
        _ => (Severity::Warning, "see docs/checks.md"),
    }
}

/// Collects the checks of one source, marking waived ones.
struct Found<'s> {
    source: &'s DesiredSource,
    out: Vec<Check>,
}

impl Found<'_> {
    fn source_level(&mut self, name: &str, message: String) {
        let (severity, fix) = describe(name);
        self.out.push(Check {
            name: name.to_owned(),
            severity,
            items: Vec::new(),
            message,
            fix: fix.to_owned(),
            waived: self.source.waive.iter().any(|w| w == name),
        });
    }

    fn item(&mut self, name: &str, item: &DesiredItem, message: String) {
        let (severity, fix) = describe(name);
        let waived =
            self.source.waive.iter().any(|w| w == name) || item.waive.iter().any(|w| w == name);
        self.out.push(Check {
            name: name.to_owned(),
            severity,
            items: vec![queue_key(&item.module, &item.key)],
            message,
            fix: fix.to_owned(),
            waived,
        });
    }
}

/// The checks of one source. `items` pairs each manifest item with its planned action;
/// only items apply would run are checked, and source-level checks only matter when
/// there is such an item.
pub fn source_checks(
    source: &DesiredSource,
    analysis: Option<&RemoteAnalysis>,
    items: &[(&DesiredItem, &ItemPlan)],
    scope: &Scope<'_>,
) -> Vec<Check> {
    let mut found = Found {
        source,
        out: Vec::new(),
    };
    let live: Vec<(&DesiredItem, &ItemPlan)> = items
        .iter()
        .copied()
        .filter(|(_, p)| p.is_actionable())
        .collect();
    if live.is_empty() {
        return found.out;
    }
    if let Some(a) = analysis {
        analysis_checks(&mut found, a);
    }
    // Indexed once: a scan of the analysis per account is quadratic (10,000 accounts
    // made it the plan's largest cost).
    let owners: HashMap<&str, Option<&str>> = analysis
        .map(|a| {
            // Reversed, so the first account of a name wins, as a scan would find it.
            a.items
                .accounts
                .iter()
                .rev()
                .map(|x| (x.user.as_str(), x.owner.as_deref()))
                .collect()
        })
        .unwrap_or_default();
    for (item, plan) in &live {
        if !item.is_account() {
            continue;
        }
        database_checks(&mut found, item, plan);
        account_checks(&mut found, item, analysis, &owners, scope);
    }
    found.out
}

fn analysis_checks(found: &mut Found<'_>, a: &RemoteAnalysis) {
    for (module, m) in &a.modules {
        for (name, text) in [("module-error", &m.error), ("module-warning", &m.warning)] {
            for line in text
                .iter()
                .flat_map(|t| t.lines())
                .map(str::trim)
                .filter(|l| !l.is_empty())
            {
                found.source_level(name, format!("{module}: {line}"));
            }
        }
    }
    if !a.remote.has_disk_used && !a.items.accounts.is_empty() {
        found.source_level(
            "disk-use-unknown",
            "the source does not report disk use: account sizes, the bytes to transfer and WHM's disk-space checks on the destination rest on guesses".to_owned(),
        );
    }
    if let (Some(local), Some(remote)) = (&a.local.major_version, &a.remote.major_version)
        && let (Some(l), Some(r)) = (version(local), version(remote))
        && l < r
    {
        found.source_level(
            "older-destination",
            format!(
                "the destination runs {local}, older than the source's {remote}: restores may lose data"
            ),
        );
    }
    if let (Some(local), Some(remote)) = (&a.local.roundcube_dbtype, &a.remote.roundcube_dbtype)
        && !local.trim().is_empty()
        && !remote.trim().is_empty()
        && !local.trim().eq_ignore_ascii_case(remote.trim())
    {
        found.source_level(
            "roundcube-dbtype-mismatch",
            format!(
                "Roundcube stores its data in {remote} on the source and {local} on the destination"
            ),
        );
    }
}

/// Databases in the way that no `force`/`overwrite_*` key deals with.
fn database_checks(found: &mut Found<'_>, item: &DesiredItem, plan: &ItemPlan) {
    if item.force || item.overwrite_dbs {
        return;
    }
    for conflict in &plan.conflicts {
        if matches!(
            conflict,
            Conflict::DatabaseTaken { .. } | Conflict::DatabaseUserTaken { .. }
        ) {
            found.item("database-taken", item, conflict.to_string());
        }
    }
}

fn account_checks(
    found: &mut Found<'_>,
    item: &DesiredItem,
    analysis: Option<&RemoteAnalysis>,
    owners: &HashMap<&str, Option<&str>>,
    scope: &Scope<'_>,
) {
    let localuser = item.localuser.as_deref().unwrap_or(&item.key);
    if let Some(why) = refused_user(localuser, analysis, scope) {
        found.item(
            "localuser-refused",
            item,
            format!("the destination would refuse the user name “{localuser}”: {why}"),
        );
    }
    let Some(a) = analysis else { return };
    if flag(item, "live_transfer") && !a.remote.supports_live_transfers {
        found.item(
            "live-transfer-unsupported",
            item,
            format!(
                "“{}” asks for a Live Transfer, which the source does not support",
                item.key
            ),
        );
    }
    if asks_for_ip(item) {
        let free = &a.local.available_ips;
        if let Some(ip) = param(item, "customip").filter(|ip| !ip.is_empty())
            && !free.iter().any(|f| f == ip)
        {
            found.item(
                "not-enough-ips",
                item,
                format!(
                    "“{}” asks for IP {ip}, which is not free on the destination",
                    item.key
                ),
            );
        } else if scope.ip_demand > free.len() {
            found.item(
                "not-enough-ips",
                item,
                format!(
                    "{} accounts ask for a dedicated IP; the destination has {} free",
                    scope.ip_demand,
                    free.len()
                ),
            );
        }
    }
    let owner = owners
        .get(item.key.as_str())
        .copied()
        .flatten()
        .map(str::trim)
        .filter(|o| !o.is_empty() && *o != "root" && *o != item.key);
    if let Some(owner) = owner
        && !scope.dest_users.contains(owner)
        && !scope.manifest_users.contains(owner)
    {
        found.item(
            "owner-missing",
            item,
            format!(
                "“{}” belongs to reseller “{owner}”, who is neither on the destination nor in the manifest",
                item.key
            ),
        );
    }
}

/// Why the destination would refuse `user` as a new account's name, if it would: the
/// transfer rule (1–32 of `a-z 0-9 _ . -`, starting with a letter or digit), a reserved
/// name, or a system user of the destination that is not an account.
pub fn refused_user(
    user: &str,
    analysis: Option<&RemoteAnalysis>,
    scope: &Scope<'_>,
) -> Option<String> {
    if user.is_empty() || user.len() > MAX_USER_LEN {
        return Some(format!("it must be 1 to {MAX_USER_LEN} characters long"));
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b);
    if !user.bytes().all(allowed) {
        return Some("only lower-case letters, digits, `_`, `.` and `-` are allowed".to_owned());
    }
    if !user.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Some("it must start with a letter or a digit".to_owned());
    }
    if RESERVED_USERS.contains(&user) {
        return Some("the name is reserved".to_owned());
    }
    let system = analysis.is_some_and(|a| a.local.users.contains_key(user));
    if system && !scope.dest_users.contains(user) {
        return Some("a system user of that name exists".to_owned());
    }
    // The server's own answer settles what the local rules cannot know.
    match scope.user_checks.and_then(|c| c.get(user)) {
        Some(c) if c.reserved => Some("the destination reports the name as reserved".to_owned()),
        Some(c) if c.exists && !scope.dest_users.contains(user) => {
            Some("the destination reports a user of that name".to_owned())
        }
        Some(c) if !c.valid_for_transfer && !c.exists => {
            Some("the destination does not accept it for a transferred account".to_owned())
        }
        _ => None,
    }
}

/// `11.120` → (11, 120), compared numerically.
fn version(text: &str) -> Option<(u64, u64)> {
    let mut parts = text.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts.next().unwrap_or("0").trim().parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
