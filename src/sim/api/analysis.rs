//! The remote analysis a root session stores (REFERENCE §4.6): what the source offers
//! (`items`, `remote`, `modules`) and what the destination already has (`local`).

use serde_json::{Map, Value, json};

use crate::sim::session::SessionOptions;
use crate::sim::world::{Dbs, Source, World};

/// Builds the analysis of `source_key` as seen from the destination, now.
pub fn build(world: &World, host: &str, source_key: &str, opts: &SessionOptions) -> Value {
    let src = world.sources.get(source_key).cloned().unwrap_or_default();
    json!({
        "items": items(&src),
        "local": local(world),
        "remote": remote(&src, host, source_key),
        "modules": modules(world, &src),
        "options": {
            "unrestricted": u8::from(opts.unrestricted),
            "skip_reseller_privs": u8::from(opts.copy_reseller_privs),
        },
        "config": { "shared_mysql_server": 0 },
    })
}

fn items(src: &Source) -> Value {
    let mut accounts = src.accounts.clone();
    accounts.sort_by(|a, b| a.domain.cmp(&b.domain).then_with(|| a.user.cmp(&b.user)));
    let accounts: Vec<Value> = accounts
        .iter()
        .map(|a| {
            json!({
                "user": a.user,
                "domain": a.domain,
                "owner": a.owner,
                "bytesused": a.bytesused,
                "filesused": a.filesused,
                "has_dedicated_ip": u8::from(a.has_dedicated_ip),
                "worker_nodes": {},
                "ensim_user": null,
            })
        })
        .collect();
    let mut packages = src.packages.clone();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let packages: Vec<Value> = packages
        .iter()
        .map(|p| json!({ "name": p.name, "featurelist": p.featurelist }))
        .collect();
    json!({ "accounts": accounts, "packages": packages })
}

fn local(world: &World) -> Value {
    let d = &world.destination;
    let mut users = Map::new();
    for u in ["root", "nobody"]
        .into_iter()
        .chain(d.system_users.iter().map(String::as_str))
        .chain(d.accounts.iter().map(|a| a.user.as_str()))
    {
        users.insert(u.to_owned(), json!(1));
    }
    let mut domains = Map::new();
    domains.insert("*".into(), json!("nobody"));
    for a in &d.accounts {
        for domain in a.mapped_domains() {
            domains.insert(domain.clone(), json!(a.user));
        }
    }
    json!({
        "available_ips": d.available_ips,
        "dedicated_ips": d.dedicated_ips,
        "domains": domains,
        "groups": users.clone(),
        "users": users,
        "dbs": dbs_json(&d.dbs),
        "host": d.hostname,
        "version": d.version,
        "major_version": d.major_version(),
        "roundcube_dbtype": d.roundcube_dbtype,
        "linked_nodes": [],
    })
}

fn remote(src: &Source, host: &str, source_key: &str) -> Value {
    let mut resellers = Map::new();
    resellers.insert("root".into(), json!(1));
    for r in &src.resellers {
        resellers.insert(r.clone(), json!(1));
    }
    let mut dbs = Dbs::default();
    for a in &src.accounts {
        for db in &a.databases {
            dbs.mysql.insert(db.clone(), a.user.clone());
        }
        for u in &a.db_users {
            dbs.mysql_users.insert(u.clone(), a.user.clone());
        }
    }
    json!({
        "host": host,
        "hostname": src.hostname.clone().unwrap_or_else(|| source_key.to_owned()),
        "version": src.version,
        "cpversion": src.version.strip_prefix("11.").unwrap_or(&src.version),
        "major_version": src.major_version(),
        "server_type": src.server_type(),
        "resellers": resellers,
        "has_owners": 1,
        "has_disk_used": u8::from(src.reports_disk_used),
        "has_files_used": 1,
        "has_xfertool": 1,
        "has_package_extensions": 1,
        "supports_live_transfers": u8::from(src.supports_live_transfers),
        "dbs": dbs_json(&dbs),
        "conflicts": {},
        "linked_nodes": [],
        "roundcube_dbtype": src.roundcube_dbtype,
    })
}

fn modules(world: &World, src: &Source) -> Value {
    let mut out = Map::new();
    out.insert(
        "Backups".into(),
        json!({ "name": "Backups", "analysis": {
            "Local Backups Version": world.destination.version,
            "Remote Backups Version": src.version,
        }}),
    );
    out.insert(
        "MySQL".into(),
        json!({ "name": "Database Server", "analysis": {
            "Local Type": "MySQL", "Local Version": "8.0", "Remote Type": "MySQL", "Remote Version": "8.0",
        }}),
    );
    for (module, warning) in &src.module_warnings {
        let entry = out
            .entry(module.clone())
            .or_insert_with(|| json!({ "name": module, "analysis": {} }));
        entry["warning"] = json!(warning);
    }
    for (module, error) in &src.module_errors {
        let entry = out
            .entry(module.clone())
            .or_insert_with(|| json!({ "name": module, "analysis": {} }));
        entry["error"] = json!(error);
    }
    Value::Object(out)
}

/// `{dbs:{MYSQL,PGSQL}, users:{MYSQL,PGSQL}}` with `{name: {owner}}` entries.
fn dbs_json(d: &Dbs) -> Value {
    let owners = |m: &std::collections::BTreeMap<String, String>| -> Value {
        m.iter()
            .map(|(k, o)| (k.clone(), json!({ "owner": o })))
            .collect::<Map<_, _>>()
            .into()
    };
    json!({
        "dbs": { "MYSQL": owners(&d.mysql), "PGSQL": owners(&d.pgsql) },
        "users": { "MYSQL": owners(&d.mysql_users), "PGSQL": owners(&d.pgsql_users) },
    })
}
