//! A simulator [`World`] built from what `plan` observed: the destination's accounts,
//! packages, feature lists, domains, databases and IPs, and each source as its analysis
//! describes it (accounts with sizes, owners and databases; packages; resellers).
//!
//! The world carries no real secret: every source accepts [`REHEARSAL_PASSWORD`], which
//! the rehearsal's own session requests send.

use crate::domain::{DbInventory, RemoteAnalysis};
use crate::modules::ModuleKind;
use crate::plan::{Desired, DesiredSource, Observed, ObservedSource, SessionKind};
use crate::sim::World;
use crate::sim::world::{Credentials, DestAccount, Package, Source, SourceAccount};
use std::collections::BTreeMap;

/// The password every rehearsed source accepts (root and cPanel logins alike). Not a
/// secret: the simulated sources exist only for the rehearsal.
pub const REHEARSAL_PASSWORD: &str = "rehearsal-only";

/// The world a rehearsal runs in. Sources are keyed by the manifest's host, so the
/// rehearsal's session requests find them.
pub fn world_from_observed(desired: &Desired, observed: &Observed) -> World {
    let analyses: Vec<&RemoteAnalysis> = observed
        .sources
        .iter()
        .filter_map(|s| s.analysis.as_ref())
        .collect();
    let mut world = World::default();
    let d = &mut world.destination;
    // Facts only an analysis carries (the destination side of it): take the first one.
    if let Some(local) = analyses.first().map(|a| &a.local) {
        if let Some(host) = &local.host {
            d.hostname.clone_from(host);
        }
        if let Some(version) = &local.version {
            d.version.clone_from(version);
        }
        d.major_version.clone_from(&local.major_version);
        if let Some(db) = &local.roundcube_dbtype {
            d.roundcube_dbtype.clone_from(db);
        }
        d.available_ips.clone_from(&local.available_ips);
        d.dedicated_ips.clone_from(&local.dedicated_ips);
        if let Some(dbs) = &local.dbs {
            d.dbs = sim_dbs(dbs);
        }
    }
    let owned = |user: &str| owned_by(&d.dbs.mysql, user);
    let accounts: Vec<DestAccount> = observed
        .destination
        .accounts
        .iter()
        .map(|a| DestAccount {
            user: a.user.clone(),
            domain: a.domain.clone(),
            owner: a.owner.clone().unwrap_or_else(|| "root".to_owned()),
            plan: a.plan.clone().unwrap_or_else(|| "default".to_owned()),
            ip: a.ip.clone(),
            diskused: a.diskused.as_deref().map_or(0, parse_disk),
            inodesused: 0,
            databases: owned(&a.user),
            startdate: a
                .unix_startdate
                .and_then(|t| i64::try_from(t).ok())
                .unwrap_or(1_652_457_780),
            addon_domains: Vec::new(),
            unmapped_domains: Vec::new(),
            mailboxes: Vec::new(),
            site: None,
        })
        .collect();
    d.accounts = accounts;
    d.packages = observed
        .destination
        .packages
        .iter()
        .map(|p| Package {
            name: p.name.clone(),
            featurelist: p
                .featurelist
                .clone()
                .unwrap_or_else(|| "default".to_owned()),
            settings: p.settings.clone(),
        })
        .collect();
    for name in &observed.destination.featurelists {
        if !d.featurelists.contains(name) {
            d.featurelists.push(name.clone());
        }
    }
    for (desired, observed) in desired.sources.iter().zip(&observed.sources) {
        world
            .sources
            .insert(desired.host.clone(), source(desired, observed));
    }
    world
}

fn source(desired: &DesiredSource, observed: &ObservedSource) -> Source {
    let mut source = Source {
        credentials: Credentials {
            root_password: REHEARSAL_PASSWORD.to_owned(),
            ..Credentials::default()
        },
        ..Source::default()
    };
    if let Some(a) = &observed.analysis {
        as_analysed(&mut source, a);
    } else {
        // No analysis (a user source, or a root source with nothing left to move): the
        // manifest's accounts are all that is known, at the size the manifest gives.
        source.accounts = manifest_accounts(desired);
    }
    if desired.kind == SessionKind::User {
        source.credentials.cpanel = source
            .accounts
            .iter()
            .map(|a| (a.user.clone(), REHEARSAL_PASSWORD.to_owned()))
            .collect();
    }
    // The analysis does not list feature lists; the manifest's exist on the source (a
    // real transfer of a missing one fails there, which a rehearsal cannot know).
    for item in desired
        .items
        .iter()
        .filter(|i| ModuleKind::of(&i.module) == ModuleKind::FeatureList)
    {
        if !source.featurelists.contains(&item.key) {
            source.featurelists.push(item.key.clone());
        }
    }
    source
}

/// The source as its analysis describes it: the server, its resellers, its accounts
/// (sizes, owners, databases) and its packages.
fn as_analysed(source: &mut Source, a: &RemoteAnalysis) {
    let r = &a.remote;
    source.hostname.clone_from(&r.hostname);
    if let Some(v) = r.version.as_ref().or(r.cpversion.as_ref()) {
        source.version.clone_from(v);
    }
    source.major_version.clone_from(&r.major_version);
    source.server_type.clone_from(&r.server_type);
    source.supports_live_transfers = r.supports_live_transfers;
    source.reports_disk_used = r.has_disk_used;
    if let Some(db) = &r.roundcube_dbtype {
        source.roundcube_dbtype.clone_from(db);
    }
    source.resellers = r
        .resellers
        .keys()
        .filter(|u| *u != "root")
        .cloned()
        .collect();
    let dbs = r.dbs.as_ref().map(sim_dbs).unwrap_or_default();
    source.accounts = a
        .items
        .accounts
        .iter()
        .map(|acct| SourceAccount {
            user: acct.user.clone(),
            domain: acct.domain.clone(),
            owner: acct.owner.clone().unwrap_or_else(|| "root".to_owned()),
            plan: "default".to_owned(),
            bytesused: acct.bytesused,
            filesused: acct.filesused,
            has_dedicated_ip: acct.has_dedicated_ip,
            databases: owned_by(&dbs.mysql, &acct.user),
            db_users: owned_by(&dbs.mysql_users, &acct.user),
            fail_transfer: None,
            fail_restore: None,
            warnings: Vec::new(),
            addon_domains: Vec::new(),
            restore_loses: crate::sim::world::RestoreLoss::default(),
            site: crate::sim::web::Site::default(),
            mailboxes: Vec::new(),
        })
        .collect();
    source.packages = a
        .items
        .packages
        .iter()
        .map(|p| Package {
            name: p.name.clone(),
            featurelist: p
                .featurelist
                .clone()
                .unwrap_or_else(|| "default".to_owned()),
            settings: BTreeMap::new(),
        })
        .collect();
}

/// The manifest's accounts, as a source without an analysis holds them.
fn manifest_accounts(desired: &DesiredSource) -> Vec<SourceAccount> {
    desired
        .items
        .iter()
        .filter(|i| i.is_account())
        .map(|i| SourceAccount {
            user: i.key.clone(),
            domain: i
                .domain
                .clone()
                .unwrap_or_else(|| format!("{}.rehearsal.invalid", i.key)),
            owner: "root".to_owned(),
            plan: "default".to_owned(),
            bytesused: param_u64(&i.params, "size"),
            filesused: 0,
            has_dedicated_ip: false,
            databases: Vec::new(),
            db_users: Vec::new(),
            fail_transfer: None,
            fail_restore: None,
            warnings: Vec::new(),
            addon_domains: Vec::new(),
            restore_loses: crate::sim::world::RestoreLoss::default(),
            site: crate::sim::web::Site::default(),
            mailboxes: Vec::new(),
        })
        .collect()
}

fn sim_dbs(dbs: &DbInventory) -> crate::sim::world::Dbs {
    let pick = |map: &BTreeMap<String, BTreeMap<String, Option<String>>>, engine: &str| {
        map.get(engine)
            .map(|m| {
                m.iter()
                    .map(|(name, owner)| (name.clone(), owner.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    };
    crate::sim::world::Dbs {
        mysql: pick(&dbs.dbs, "MYSQL"),
        pgsql: pick(&dbs.dbs, "PGSQL"),
        mysql_users: pick(&dbs.users, "MYSQL"),
        pgsql_users: pick(&dbs.users, "PGSQL"),
    }
}

fn owned_by(map: &BTreeMap<String, String>, user: &str) -> Vec<String> {
    map.iter()
        .filter(|(_, owner)| *owner == user)
        .map(|(name, _)| name.clone())
        .collect()
}

fn param_u64(params: &[(String, String)], key: &str) -> u64 {
    params
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// `listaccts`' `diskused` (`"1234M"`, `"none"`, `"12G"`) in bytes; unknown is 0.
fn parse_disk(text: &str) -> u64 {
    let t = text.trim();
    let (number, unit) = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((t, ""), |i| t.split_at(i));
    let Ok(n) = number.parse::<f64>() else {
        return 0;
    };
    let factor: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" => 1024.0,
        "M" | "MB" => 1024.0 * 1024.0,
        "G" | "GB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return 0,
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bytes = (n * factor) as u64;
    bytes
}

#[cfg(test)]
mod tests {
    use super::parse_disk;

    #[test]
    fn disk_use_in_listaccts_units() {
        assert_eq!(parse_disk("none"), 0);
        assert_eq!(parse_disk("12M"), 12 * 1024 * 1024);
        assert_eq!(parse_disk("1.5G"), 1024 * 1024 * 1536);
        assert_eq!(parse_disk("7"), 7);
    }
}
