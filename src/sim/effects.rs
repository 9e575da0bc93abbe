//! What an item's steps check and change in the world: the TRANSFER step reads the
//! source, the RESTORE step creates accounts, packages and feature lists on the
//! destination, failing the way a real restore does.
//!
//! The failure texts are modelled on the documented log example
//! (`The account “root” already exists on “control.box.new”.`); the others are
//! unconfirmed but written in the same style.

use super::index::WorldIndex;
use super::session::{Item, Session, SessionKind};
use super::world::{DestAccount, Destination, LocalArchive, Package, Site, SourceAccount, World};

/// Checks the TRANSFER step of an item; `Err` carries the failure text.
///
/// Like the documented log example, an account that already exists on the destination
/// (without `force`/`skipaccount`) fails here already; the restore checks again.
pub(crate) fn transfer(
    world: &World,
    index: &WorldIndex,
    session: &Session,
    item: &Item,
) -> Result<(), String> {
    if session.kind == SessionKind::Local {
        return local_archive(world, item).map(drop);
    }
    let Some(src) = world.sources.get(&session.source_key) else {
        return Err(format!(
            "The remote server “{}” is no longer reachable.",
            session.host
        ));
    };
    match item.module.as_str() {
        "AccountRemoteRoot" | "AccountRemoteUser" | "AccountLocal" => {
            let Some(acct) = index.source_account(world, &session.source_key, &item.key) else {
                return Err(format!(
                    "The account “{}” does not exist on the remote server “{}”.",
                    item.key, session.host
                ));
            };
            if session.kind == SessionKind::RemoteUser
                && src.credentials.cpanel.get(&acct.user) != session.password.as_ref()
            {
                return Err(format!(
                    "The system failed to authenticate as “{}” on “{}”.",
                    acct.user, session.host
                ));
            }
            if let Some(text) = &acct.fail_transfer {
                return Err(text.clone());
            }
            account_conflict(&world.destination, index, item, &acct.domain)
        }
        "PackageRemoteRoot" => {
            if src.packages.iter().any(|p| p.name == item.key) {
                Ok(())
            } else {
                Err(format!(
                    "The package “{}” does not exist on the remote server “{}”.",
                    item.key, session.host
                ))
            }
        }
        "FeatureListRemoteRoot" => {
            if item.key == "default" || src.featurelists.contains(&item.key) {
                Ok(())
            } else {
                Err(format!(
                    "The feature list “{}” does not exist on the remote server “{}”.",
                    item.key, session.host
                ))
            }
        }
        _ => Ok(()),
    }
}

/// The archive a local restore item names (`cpmovefile`); it may have gone since.
fn local_archive<'w>(world: &'w World, item: &Item) -> Result<&'w LocalArchive, String> {
    let path = item.params.get("cpmovefile").map_or("", String::as_str);
    // Unconfirmed wording, in the style of the other failures.
    world
        .destination
        .archive(path)
        .ok_or_else(|| format!("The archive “{path}” does not exist on this server."))
}

/// Whether restoring the account would collide with the destination.
fn account_conflict(
    dest: &Destination,
    index: &WorldIndex,
    item: &Item,
    src_domain: &str,
) -> Result<(), String> {
    let replacing = item.flag("force") || item.flag("skipaccount");
    if !replacing && index.dest_has(&item.local) {
        return Err(format!(
            "The account “{}” already exists on “{}”.",
            item.local, dest.hostname
        ));
    }
    let domain = domain_of(item, src_domain);
    match index.domain_owner(&domain) {
        Some(owner) if owner != item.local => Err(format!(
            "The domain “{domain}” already exists on “{}” and belongs to the user “{owner}”.",
            dest.hostname
        )),
        _ => Ok(()),
    }
}

fn domain_of(item: &Item, src_domain: &str) -> String {
    item.params
        .get("domain")
        .filter(|d| !d.is_empty())
        .cloned()
        .unwrap_or_else(|| src_domain.to_owned())
}

/// Runs the RESTORE step: changes the destination and returns the warnings to report.
pub(crate) fn restore(
    world: &mut World,
    index: &mut WorldIndex,
    session: &Session,
    item: &Item,
) -> Result<Restored, String> {
    if session.kind == SessionKind::Local {
        let archive = local_archive(world, item)?.clone();
        let warnings = restore_acct(&mut world.destination, index, item, &archive.account())?;
        if item.flag("delete_archive") {
            world
                .destination
                .archives
                .retain(|a| a.path != archive.path);
        }
        return Ok(warnings);
    }
    // Borrow the source and the destination apart: no copy of the source per step.
    let World {
        destination,
        sources,
    } = world;
    let src = sources.get(&session.source_key);
    match item.module.as_str() {
        "AccountRemoteRoot" | "AccountRemoteUser" | "AccountLocal" => {
            let acct = index
                .source_position(&session.source_key, &item.key)
                .and_then(|i| src?.accounts.get(i));
            let Some(acct) = acct else {
                return Err(format!("The archive for “{}” is missing.", item.key));
            };
            restore_acct(destination, index, item, acct)
        }
        "PackageRemoteRoot" => {
            let pkg = src
                .and_then(|s| s.packages.iter().find(|p| p.name == item.key))
                .cloned()
                .unwrap_or(Package {
                    name: item.key.clone(),
                    featurelist: "default".into(),
                    settings: std::collections::BTreeMap::new(),
                });
            let pkgs = &mut destination.packages;
            pkgs.retain(|p| p.name != pkg.name);
            pkgs.push(pkg);
            Ok(Restored::default())
        }
        "FeatureListRemoteRoot" => {
            let lists = &mut destination.featurelists;
            if !lists.contains(&item.key) {
                lists.push(item.key.clone());
            }
            Ok(Restored::default())
        }
        _ => Ok(Restored::default()),
    }
}

/// What a successful restore reports in its log: warnings, skipped and altered items.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Restored {
    /// Warning texts.
    pub warnings: Vec<String>,
    /// Skipped-item texts.
    pub skipped: Vec<String>,
    /// Altered-item texts (databases renamed with the account).
    pub altered: Vec<String>,
}

impl Restored {
    /// Whether the log reports nothing but success.
    pub fn is_clean(&self) -> bool {
        self.warnings.is_empty() && self.skipped.is_empty() && self.altered.is_empty()
    }
}

/// A database or database user's name on the destination: renamed with the account
/// when it carries the source user's prefix (`bob_wp` → `bob2_wp`), as cPanel does.
pub(crate) fn renamed_db(name: &str, user: &str, local: &str) -> String {
    match name.strip_prefix(user).and_then(|r| r.strip_prefix('_')) {
        Some(rest) if user != local => format!("{local}_{rest}"),
        _ => name.to_owned(),
    }
}

/// Restores one account's data onto the destination.
fn restore_acct(
    dest: &mut Destination,
    index: &mut WorldIndex,
    item: &Item,
    acct: &SourceAccount,
) -> Result<Restored, String> {
    if let Some(text) = &acct.fail_restore {
        return Err(text.clone());
    }
    account_conflict(dest, index, item, &acct.domain)?;
    let mut log = Restored {
        warnings: acct.warnings.clone(),
        ..Restored::default()
    };
    if item.flag("skipaccount") {
        return Ok(log);
    }
    if item.flag("force") && index.dest_has(&item.local) {
        dest.accounts.retain(|a| a.user != item.local);
        index.reindex_destination(dest);
    }
    let domain = domain_of(item, &acct.domain);
    let ip = dedicated_ip(dest, item, &domain, &mut log);
    let owner = if acct.owner == "root" || index.dest_has(&acct.owner) {
        acct.owner.clone()
    } else {
        "root".into()
    };
    let databases = if item.flag("skipacctdb") {
        Vec::new()
    } else {
        restore_dbs(dest, item, acct, &mut log)
    };
    let loses = &acct.restore_loses;
    dest.accounts.push(DestAccount {
        user: item.local.clone(),
        domain,
        owner,
        plan: acct.plan.clone(),
        ip,
        diskused: loses.disk_bytes.unwrap_or(acct.bytesused),
        inodesused: loses.files.unwrap_or(acct.filesused),
        databases,
        startdate: chrono::Utc::now().timestamp(),
        addon_domains: acct.addon_domains.clone(),
        unmapped_domains: loses.domains.clone(),
        mailboxes: (acct.mailboxes.iter())
            .filter(|m| !loses.mailboxes.contains(m))
            .cloned()
            .collect(),
        site: Some(Site {
            title: Some(
                acct.site
                    .title
                    .clone()
                    .unwrap_or_else(|| acct.domain.clone()),
            ),
            status: loses.site_status.unwrap_or(acct.site.status),
            https: acct.site.https,
        }),
    });
    index.added(
        dest.accounts.last().expect("just pushed"),
        dest.accounts.len() - 1,
    );
    Ok(log)
}

/// The dedicated IP an item asks for (`ip`, `customip`), or `None` for the shared one.
fn dedicated_ip(
    dest: &mut Destination,
    item: &Item,
    domain: &str,
    log: &mut Restored,
) -> Option<String> {
    if !item.flag("ip") {
        return None;
    }
    let ip = match item.params.get("customip").filter(|c| !c.is_empty()) {
        Some(custom) => {
            dest.available_ips.retain(|i| i != custom);
            Some(custom.clone())
        }
        None if !dest.available_ips.is_empty() => Some(dest.available_ips.remove(0)),
        None => {
            log.warnings.push(
                "No dedicated IP address is available; the account uses the shared IP address."
                    .into(),
            );
            None
        }
    };
    if let Some(ip) = &ip {
        dest.dedicated_ips.insert(ip.clone(), domain.to_owned());
    }
    ip
}

/// Restores the account's databases and database users under their (renamed) names;
/// returns the databases it now owns.
fn restore_dbs(
    dest: &mut Destination,
    item: &Item,
    acct: &SourceAccount,
    log: &mut Restored,
) -> Vec<String> {
    let mut databases = Vec::new();
    for db in &acct.databases {
        if acct.restore_loses.databases.contains(db) {
            // Unconfirmed wording, in the style of the restore's other skip texts.
            log.skipped.push(format!(
                "The system could not restore the MySQL database “{db}”; it skipped it."
            ));
            continue;
        }
        let name = renamed_db(db, &acct.user, &item.local);
        match dest.dbs.mysql.get(&name) {
            Some(other) if other != &item.local && !item.flag("overwrite_all_dbs") => {
                log.warnings.push(format!(
                    "The MySQL database “{name}” belongs to “{other}”; the system skipped it."
                ));
            }
            _ => {
                if name != *db {
                    log.altered.push(format!(
                        "The system renamed the MySQL database “{db}” to “{name}”."
                    ));
                }
                dest.dbs.mysql.insert(name.clone(), item.local.clone());
                databases.push(name);
            }
        }
    }
    for u in &acct.db_users {
        dest.dbs
            .mysql_users
            .entry(renamed_db(u, &acct.user, &item.local))
            .or_insert_with(|| item.local.clone());
    }
    databases
}
