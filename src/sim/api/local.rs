//! What the destination already has: `listaccts`, `accountsummary`, `listpkgs`,
//! `get_featurelists`, `validate_system_user` and `list_pops_for`; plus
//! `delete_account_archives`
//! (REFERENCE §4.8, §4.17, §4.19–4.22).

use serde_json::{Map, Value, json};

use super::envelope::{Reply, api_failure};
use super::params::Params;
use super::pattern;
use crate::sim::state::Inner;
use crate::sim::world::{DestAccount, Destination};

/// One `listaccts` / `accountsummary` record.
fn acct_record(d: &Destination, a: &DestAccount, has_backup: bool) -> Map<String, Value> {
    let start = chrono::DateTime::from_timestamp(a.startdate, 0).unwrap_or_default();
    let ip = a.ip.clone().unwrap_or_else(|| d.shared_ip.clone());
    let unlimited = json!("unlimited");
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put("backup", json!(0));
    put("child_nodes", json!([]));
    put("disklimit", unlimited.clone());
    put(
        "diskused",
        json!(format!("{}M", a.diskused / (1024 * 1024))),
    );
    put("domain", json!(a.domain));
    put("email", json!(format!("{}@{}", a.user, a.domain)));
    if has_backup {
        put("has_backup", json!(0));
    }
    put("inodeslimit", unlimited.clone());
    put("inodesused", json!(a.inodesused));
    put("ip", json!(ip));
    put("ipv6", json!([]));
    put("is_locked", json!(0));
    put("legacy_backup", json!(0));
    put("mailbox_format", json!("maildir"));
    for k in [
        "max_defer_fail_percentage",
        "max_email_per_hour",
        "max_emailacct_quota",
        "maxaddons",
        "maxftp",
        "maxlst",
        "maxparked",
        "maxpop",
        "maxsql",
        "maxsub",
    ] {
        put(k, unlimited.clone());
    }
    put("min_defer_fail_to_trigger_protection", json!("5"));
    put("outgoing_mail_hold", json!(0));
    put("outgoing_mail_suspended", json!(0));
    put("owner", json!(a.owner));
    put("partition", json!("home"));
    put("plan", json!(a.plan));
    put("shell", json!("/bin/bash"));
    put(
        "startdate",
        json!(start.format("%d %b %y %H:%M").to_string()),
    );
    put("suspended", json!(0));
    put("suspendreason", json!("not suspended"));
    put("suspendtime", Value::Null);
    put("temporary", json!(0));
    put("is_temporary_domain", json!(0));
    put("theme", json!("jupiter"));
    put(
        "uid",
        json!(
            1000 + d
                .accounts
                .iter()
                .position(|x| x.user == a.user)
                .unwrap_or(0)
        ),
    );
    put("unix_startdate", json!(a.startdate));
    put("user", json!(a.user));
    m
}

/// `listaccts`: omits `data` when nothing matches.
pub fn listaccts(inner: &Inner, p: &Params) -> Reply {
    let d = &inner.world.destination;
    let search = p.non_empty("search");
    let searchtype = p.non_empty("searchtype").unwrap_or("user");
    if !matches!(
        searchtype,
        "domain" | "owner" | "user" | "ip" | "package" | "domain_and_user"
    ) {
        return Reply::fail("Unknown search type.");
    }
    let exact = p.get("searchmethod") == Some("exact");
    let hit = |value: &str, s: &str| {
        if exact {
            value.eq_ignore_ascii_case(s)
        } else {
            pattern::matches(s, value)
        }
    };
    let want: Option<Vec<&str>> = p
        .non_empty("want")
        .map(|w| w.split(',').map(str::trim).collect());
    let mut accts: Vec<&DestAccount> = d
        .accounts
        .iter()
        .filter(|a| {
            let Some(s) = search else { return true };
            let ip = a.ip.clone().unwrap_or_else(|| d.shared_ip.clone());
            match searchtype {
                "domain" => hit(&a.domain, s),
                "owner" => hit(&a.owner, s),
                "ip" => hit(&ip, s),
                "package" => hit(&a.plan, s),
                "domain_and_user" => hit(&a.domain, s) || hit(&a.user, s),
                _ => hit(&a.user, s),
            }
        })
        .collect();
    accts.sort_by(|a, b| a.user.cmp(&b.user));
    if accts.is_empty() {
        return Reply::ok_empty();
    }
    let records: Vec<Value> = accts
        .iter()
        .map(|a| {
            let mut r = acct_record(d, a, true);
            if let Some(w) = &want {
                r.retain(|k, _| w.contains(&k.as_str()));
            }
            Value::Object(r)
        })
        .collect();
    Reply::ok(json!({ "acct": records }))
}

/// `accountsummary`: `data.acct` is present even on failure.
pub fn accountsummary(inner: &Inner, p: &Params) -> Reply {
    let d = &inner.world.destination;
    let found = match (p.non_empty("user"), p.non_empty("domain")) {
        (Some(u), _) => inner.index.dest_account(d, u),
        (None, Some(dom)) => d
            .accounts
            .iter()
            .find(|a| a.domain.eq_ignore_ascii_case(dom)),
        (None, None) => {
            return Reply::fail(
                "API failure: You must specify a user or domain to get a summary of.\n",
            );
        }
    };
    match found {
        Some(a) => Reply::ok(json!({ "acct": [acct_record(d, a, false)] })),
        None => Reply::fail("Account does not exist.").with_data(json!({ "acct": [] })),
    }
}

/// `list_pops_for`: an account's email addresses (the documented sample's shape:
/// `data.pops`, an array of addresses; https://api.docs.cpanel.net/openapi/whm/operation/list_pops_for).
pub fn list_pops_for(inner: &Inner, p: &Params) -> Reply {
    let Some(user) = p.non_empty("user") else {
        // Unconfirmed: the docs do not show the failure's wording.
        return Reply::fail("API failure: The parameter “user” is required.\n");
    };
    match inner.index.dest_account(&inner.world.destination, user) {
        Some(a) => Reply::ok(json!({ "pops": a.mailboxes })),
        // Unconfirmed wording, as above.
        None => Reply::fail(format!("The user “{user}” does not exist.")),
    }
}

/// `listpkgs`: every plan, sorted by name, with default settings filled in.
pub fn listpkgs(inner: &Inner) -> Reply {
    let mut pkgs = inner.world.destination.packages.clone();
    pkgs.sort_by(|a, b| a.name.cmp(&b.name));
    let list: Vec<Value> = pkgs
        .iter()
        .map(|p| {
            let mut m = Map::new();
            for (k, v) in [
                ("BWLIMIT", "unlimited"),
                ("CGI", "y"),
                ("CPMOD", "jupiter"),
                ("DIGESTAUTH", "n"),
                ("HASSHELL", "n"),
                ("IP", "n"),
                ("LANG", "en"),
                ("MAXADDON", "unlimited"),
                ("MAXFTP", "unlimited"),
                ("MAXLST", "unlimited"),
                ("MAXPARK", "unlimited"),
                ("MAXPOP", "unlimited"),
                ("MAXSQL", "unlimited"),
                ("MAXSUB", "unlimited"),
                ("MAX_DEFER_FAIL_PERCENTAGE", "unlimited"),
                ("MAX_EMAILACCT_QUOTA", "unlimited"),
                ("MAX_EMAIL_PER_HOUR", "unlimited"),
                ("QUOTA", "unlimited"),
            ] {
                m.insert(k.into(), json!(v));
            }
            m.insert("FEATURELIST".into(), json!(p.featurelist));
            m.insert("MAX_TEAM_USERS".into(), Value::Null);
            m.insert("_PACKAGE_EXTENSIONS".into(), json!(""));
            for (k, v) in &p.settings {
                m.insert(k.clone(), v.clone());
            }
            m.insert("name".into(), json!(p.name));
            Value::Object(m)
        })
        .collect();
    Reply::ok(json!({ "pkg": list }))
}

/// `get_featurelists`: root sees all; an empty list is a failure for root.
pub fn get_featurelists(inner: &Inner) -> Reply {
    let mut lists = inner.world.destination.featurelists.clone();
    lists.sort();
    lists.dedup();
    if lists.is_empty() {
        return Reply::fail("Unable to retrieve list of available featurelists");
    }
    Reply::ok(json!({ "featurelists": lists }))
}

/// Transfer rule: 1–32 of `[a-z0-9_.-]`, starting with a letter or digit.
pub(crate) fn valid_for_transfer(u: &str) -> bool {
    (1..=32).contains(&u.len())
        && u.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
}

/// New-account rule: 1–16 of `[a-z0-9]`, starting with a letter, not starting with `test`.
fn valid_for_new(u: &str) -> bool {
    (1..=16).contains(&u.len())
        && u.starts_with(|c: char| c.is_ascii_lowercase())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && !u.starts_with("test")
}

/// `validate_system_user`.
pub fn validate_system_user(inner: &Inner, p: &Params) -> Reply {
    let Some(user) = p.non_empty("user") else {
        return Reply::fail("No user name supplied: “user” is a required argument.");
    };
    let d = &inner.world.destination;
    let reserved = d.reserved_usernames.iter().any(|r| r == user);
    Reply::ok(json!({
        "exists": u8::from(d.account(user).is_some()),
        "reserved": u8::from(reserved),
        "valid_for_transfer": u8::from(!reserved && valid_for_transfer(user)),
        "valid_for_new": u8::from(!reserved && valid_for_new(user)),
    }))
}

/// `delete_account_archives`: no archives are simulated, so the cleanup finds nothing.
pub fn delete_account_archives(inner: &mut Inner, p: &Params) -> Reply {
    let user = match p.required(&mut inner.rng, "user", "delete_account_archives") {
        Ok(u) => u.to_owned(),
        Err(r) => return r,
    };
    if p.get("mountpoint") == Some("") {
        return Reply::fail(api_failure(
            &mut inner.rng,
            "The value of “mountpoint” may not be empty.",
        ));
    }
    let mut r = Reply::ok_empty();
    r.output = Some(json!({ "messages": [format!("No archives found for “{user}”.")] }));
    r
}
