//! The checks: each manifest item against the destination and the source's analysis.
//! Pure, so every rule is tested with plain values.

use super::facts::{DestinationFacts, SourceFacts, disk_bytes, inodes, renamed};
use super::{Check, ItemVerdict, Outcome, Tolerances, Verdict};
use crate::domain::{Account, DbInventory, RemoteAnalysis, SourceAccount};
use crate::plan::{Desired, DesiredItem, DesiredSource, queue_key};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Below this, disk use differences are `listaccts`' rounding (it reports whole MiB).
const DISK_SLACK: u64 = 1024 * 1024;

/// One verdict per item of `desired`, in manifest order.
pub fn verify(
    desired: &Desired,
    dest: &DestinationFacts,
    sources: &[SourceFacts],
    tol: Tolerances,
) -> Vec<ItemVerdict> {
    let none = SourceFacts::default();
    desired
        .sources
        .iter()
        .flat_map(|s| {
            let facts = sources.iter().find(|f| f.name == s.name).unwrap_or(&none);
            s.items.iter().map(move |i| item(s, i, dest, facts, tol))
        })
        .collect()
}

fn item(
    source: &DesiredSource,
    item: &DesiredItem,
    dest: &DestinationFacts,
    facts: &SourceFacts,
    tol: Tolerances,
) -> ItemVerdict {
    let localuser = item
        .is_account()
        .then(|| item.localuser.clone().unwrap_or_else(|| item.key.clone()));
    let checks = if !item.problems.is_empty() {
        vec![Check::new(
            "exists",
            Outcome::Fail,
            format!("the manifest item is invalid: {}", item.problems.join("; ")),
        )]
    } else if let Some(local) = &localuser {
        account_checks(item, local, dest, facts, tol)
    } else {
        vec![exists(item, dest)]
    };
    let verdict = verdict_of(&checks);
    ItemVerdict {
        source: source.name.clone(),
        module: item.module.clone(),
        key: item.key.clone(),
        localuser,
        verdict,
        checks,
    }
}

/// The `mail` check: the email accounts the destination lists for the account. WHM
/// API 1 lists no source's mailboxes, so this is evidence for a reviewer, not a
/// comparison: it passes with the list, or is skipped when the call failed.
fn mail(local: &str, dest: &DestinationFacts) -> Check {
    const SHOWN: usize = 10;
    match dest.mailboxes.get(local) {
        None => Check::new("mail", Outcome::Skipped, "not read"),
        Some(Err(e)) => Check::new(
            "mail",
            Outcome::Skipped,
            format!("list_pops_for failed: {e} (the server's Receive Mail role may be off)"),
        ),
        Some(Ok(pops)) if pops.is_empty() => Check::new(
            "mail",
            Outcome::Pass,
            "no email accounts on the destination",
        ),
        Some(Ok(pops)) => {
            let mut shown = pops
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if pops.len() > SHOWN {
                let _ = write!(shown, " and {} more", pops.len() - SHOWN);
            }
            Check::new(
                "mail",
                Outcome::Pass,
                format!(
                    "{} email account(s) on the destination: {shown}",
                    pops.len()
                ),
            )
        }
    }
}

/// The verdict `checks` make: `not-transferred` when the first (`account`, `exists`)
/// failed, else the worst outcome.
pub(crate) fn verdict_of(checks: &[Check]) -> Verdict {
    let missing = checks.first().is_some_and(|c| {
        matches!(c.name.as_str(), "account" | "exists") && c.outcome == Outcome::Fail
    });
    if missing {
        Verdict::NotTransferred
    } else if checks.iter().any(|c| c.outcome == Outcome::Fail) {
        Verdict::Failed
    } else if checks.iter().any(|c| c.outcome == Outcome::Warn) {
        Verdict::Warning
    } else {
        Verdict::Ok
    }
}

/// A package or feature list: it exists on the destination.
fn exists(item: &DesiredItem, dest: &DestinationFacts) -> Check {
    let (set, what) = if item.module.starts_with("Package") {
        (&dest.packages, "package")
    } else {
        (&dest.featurelists, "feature list")
    };
    if set.contains(&item.key) {
        Check::new(
            "exists",
            Outcome::Pass,
            format!("the {what} “{}” exists", item.key),
        )
    } else {
        Check::new(
            "exists",
            Outcome::Fail,
            format!("the destination has no {what} “{}”", item.key),
        )
    }
}

/// An account: every check, the account's existence first.
fn account_checks(
    item: &DesiredItem,
    local: &str,
    dest: &DestinationFacts,
    facts: &SourceFacts,
    tol: Tolerances,
) -> Vec<Check> {
    let Some(acct) = dest.account(local) else {
        return vec![Check::new(
            "account",
            Outcome::Fail,
            format!("the destination has no account “{local}”"),
        )];
    };
    let analysis = facts.analysis.as_ref();
    let src = facts.source_account(&item.key);
    let why = facts
        .no_analysis
        .clone()
        .unwrap_or_else(|| format!("the source's analysis does not list “{}”", item.key));
    let mut checks = vec![Check::new(
        "account",
        Outcome::Pass,
        format!("the account “{local}” exists"),
    )];
    checks.push(domain(item, acct, src));
    checks.push(owner(acct, src, dest, &why));
    checks.push(package(acct, dest));
    match (analysis, src) {
        (Some(a), Some(s)) => {
            checks.push(disk(acct, s, a, tol));
            checks.push(files(acct, s, a, tol));
            let owned = |users| facts.owned_dbs(&item.key, users);
            let local_dbs = a.local.dbs.as_ref();
            checks.push(dbs(
                "databases",
                item,
                local,
                owned(false),
                local_dbs,
                |d| &d.dbs,
            ));
            checks.push(dbs(
                "database-users",
                item,
                local,
                owned(true),
                local_dbs,
                |d| &d.users,
            ));
            checks.push(domains(item, local, s, facts.domains_of(local)));
        }
        _ => {
            for name in ["disk", "files", "databases", "database-users", "domains"] {
                checks.push(Check::new(name, Outcome::Skipped, why.clone()));
            }
        }
    }
    checks.push(mail(local, dest));
    checks.push(restore_log(item, local, facts));
    checks
}

fn domain(item: &DesiredItem, acct: &Account, src: Option<&SourceAccount>) -> Check {
    let Some(want) = item.domain.as_deref().or(src.map(|s| s.domain.as_str())) else {
        return Check::new(
            "domain",
            Outcome::Skipped,
            format!(
                "neither the manifest nor the analysis gives the main domain; it is “{}”",
                acct.domain
            ),
        );
    };
    if acct.domain.eq_ignore_ascii_case(want) {
        Check::new("domain", Outcome::Pass, format!("main domain “{want}”"))
    } else {
        Check::new(
            "domain",
            Outcome::Fail,
            format!("main domain “{}”, expected “{want}”", acct.domain),
        )
    }
}

fn owner(acct: &Account, src: Option<&SourceAccount>, dest: &DestinationFacts, why: &str) -> Check {
    let have = acct.owner.as_deref().unwrap_or("root");
    let Some(want) = src.and_then(|s| s.owner.as_deref()) else {
        return Check::new("owner", Outcome::Skipped, format!("owner “{have}”; {why}"));
    };
    if have == want {
        return Check::new("owner", Outcome::Pass, format!("owner “{want}”"));
    }
    // A restore gives the account to root when its reseller is not on the destination.
    if have == "root" && dest.account(want).is_none() {
        return Check::new(
            "owner",
            Outcome::Warn,
            format!(
                "owner “root”: the source's owner “{want}” is not an account on the destination"
            ),
        );
    }
    Check::new(
        "owner",
        Outcome::Fail,
        format!("owner “{have}”, expected “{want}”"),
    )
}

fn package(acct: &Account, dest: &DestinationFacts) -> Check {
    match acct.plan.as_deref() {
        None => Check::new("package", Outcome::Skipped, "listaccts gives no package"),
        Some(p) if p == "default" || dest.packages.contains(p) => {
            Check::new("package", Outcome::Pass, format!("package “{p}”"))
        }
        Some(p) => Check::new(
            "package",
            Outcome::Warn,
            format!("package “{p}” does not exist on the destination"),
        ),
    }
}

/// The lowest value within `percent` below `source`.
fn floor(source: u64, percent: u32) -> u64 {
    source - source / 100 * u64::from(percent) - source % 100 * u64::from(percent) / 100
}

fn disk(acct: &Account, src: &SourceAccount, a: &RemoteAnalysis, tol: Tolerances) -> Check {
    if !a.remote.has_disk_used {
        return Check::new(
            "disk",
            Outcome::Skipped,
            "the source does not report disk use",
        );
    }
    let Some(have) = acct.diskused.as_deref().and_then(disk_bytes) else {
        return Check::new(
            "disk",
            Outcome::Skipped,
            "listaccts gives no readable disk use",
        );
    };
    let want = src.bytesused;
    let mib = crate::units::bytes;
    let text = format!(
        "{} on the destination, {} on the source (tolerance {}% below)",
        mib(have),
        mib(want),
        tol.disk_percent
    );
    if have + DISK_SLACK < floor(want, tol.disk_percent) {
        Check::new("disk", Outcome::Fail, text)
    } else {
        Check::new("disk", Outcome::Pass, text)
    }
}

fn files(acct: &Account, src: &SourceAccount, a: &RemoteAnalysis, tol: Tolerances) -> Check {
    if !a.remote.has_files_used {
        return Check::new(
            "files",
            Outcome::Skipped,
            "the source does not report file counts",
        );
    }
    let Some(have) = inodes(acct) else {
        return Check::new("files", Outcome::Skipped, "listaccts gives no file count");
    };
    let want = src.filesused;
    let text = format!(
        "{have} files on the destination, {want} on the source (tolerance {}% below)",
        tol.files_percent
    );
    if have < floor(want, tol.files_percent) {
        Check::new("files", Outcome::Fail, text)
    } else {
        Check::new("files", Outcome::Pass, text)
    }
}

type Owners = BTreeMap<String, BTreeMap<String, Option<String>>>;

/// Every database (or database user) the source's account owns exists on the
/// destination under its renamed name, owned by the local user.
fn dbs(
    name: &str,
    item: &DesiredItem,
    local: &str,
    owned: &[(String, String)],
    dest: Option<&DbInventory>,
    pick: fn(&DbInventory) -> &Owners,
) -> Check {
    let empty = Owners::new();
    let dest = dest.map_or(&empty, pick);
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (engine, db) in owned {
        let want = renamed(db, &item.key, local);
        let shown = if want == *db {
            want.clone()
        } else {
            format!("{db} → {want}")
        };
        match dest.get(engine).and_then(|m| m.get(&want)) {
            Some(Some(o)) if o == local => found.push(shown),
            Some(Some(o)) => missing.push(format!("{shown} ({engine}, owned by “{o}”)")),
            _ => missing.push(format!("{shown} ({engine})")),
        }
    }
    let what = name.replace('-', " ");
    if !missing.is_empty() {
        return Check::new(
            name,
            Outcome::Fail,
            format!("missing {what}: {}", missing.join(", ")),
        );
    }
    if found.is_empty() {
        return Check::new(name, Outcome::Pass, format!("no {what} on the source"));
    }
    Check::new(name, Outcome::Pass, format!("{what}: {}", found.join(", ")))
}

/// The main domain maps to the account; the others it maps are listed.
fn domains(item: &DesiredItem, local: &str, src: &SourceAccount, mapped: &[String]) -> Check {
    let want = item.domain.as_deref().unwrap_or(&src.domain);
    let list = if mapped.is_empty() {
        "none".to_owned()
    } else {
        mapped.join(", ")
    };
    if mapped.iter().any(|d| d.eq_ignore_ascii_case(want)) {
        Check::new(
            "domains",
            Outcome::Pass,
            format!("maps {} domain(s) to it: {list}", mapped.len()),
        )
    } else {
        Check::new(
            "domains",
            Outcome::Fail,
            format!("“{want}” does not map to “{local}”; it maps: {list}"),
        )
    }
}

/// What the item's RESTORE step reported: warnings, skipped and dangerous items warn;
/// altered items warn unless the account was renamed (its databases are then renamed).
fn restore_log(item: &DesiredItem, local: &str, facts: &SourceFacts) -> Check {
    let key = queue_key(&item.module, &item.key);
    let Some(report) = facts.restore_logs.get(&key) else {
        let why = facts.log_errors.get(&key).cloned().unwrap_or_else(|| {
            "no restore result: the journal records no session that restored it".to_owned()
        });
        return Check::new("restore-log", Outcome::Skipped, why);
    };
    let renamed = local != item.key;
    let c = report.counts;
    let serious =
        c.warnings + c.skipped_items + c.dangerous_items > 0 || (c.altered_items > 0 && !renamed);
    let mut parts = Vec::new();
    let mut list = |label: &str, count: u64, texts: &[String]| {
        if count > 0 {
            let named = if texts.is_empty() {
                String::new()
            } else {
                format!(": {}", texts.join("; "))
            };
            parts.push(format!("{count} {label}{named}"));
        }
    };
    list("warning(s)", c.warnings, &report.warnings);
    list("skipped", c.skipped_items, &report.skipped);
    list("dangerous", c.dangerous_items, &report.dangerous);
    list("altered", c.altered_items, &report.altered);
    summary(&parts, serious)
}

fn summary(parts: &[String], serious: bool) -> Check {
    if parts.is_empty() {
        return Check::new(
            "restore-log",
            Outcome::Pass,
            "restored with nothing to report",
        );
    }
    let outcome = if serious {
        Outcome::Warn
    } else {
        Outcome::Pass
    };
    Check::new("restore-log", outcome, parts.join("; "))
}
