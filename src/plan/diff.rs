//! The diff: a pure, deterministic function from (desired, observed) to a [`Plan`].

use crate::domain::{DbInventory, RemoteAnalysis};
use crate::modules::ModuleKind;
use crate::plan::checks::{self, Scope};
use crate::plan::input::{
    Desired, DesiredItem, DesiredSource, DestinationInventory, Observed, ObservedSource,
    SessionKind, queue_key,
};
use crate::plan::model::{
    Action, Conflict, FORMAT_VERSION, Fingerprint, ItemPlan, Plan, SessionRef, SourcePlan, Summary,
    Warning,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Computes the plan. `observed.sources[i]` must describe `desired.sources[i]`; a
/// missing entry is treated as "nothing observed".
pub fn diff(desired: &Desired, observed: &Observed) -> Plan {
    let dest = DestinationIndex::new(&observed.destination);
    let empty = ObservedSource::default();
    let seen = |i: usize| observed.sources.get(i).unwrap_or(&empty);
    let planned: Vec<(SourcePlan, Vec<&DesiredItem>)> = desired
        .sources
        .iter()
        .enumerate()
        .map(|(i, source)| plan_source(source, seen(i), &dest))
        .collect();
    let scope = checks_scope(desired, observed, &planned);
    let mut summary = Summary::default();
    let mut sources = Vec::with_capacity(planned.len());
    for (i, (mut plan, items)) in planned.into_iter().enumerate() {
        let analysis = seen(i).analysis.as_ref();
        for (item, p) in items.iter().zip(plan.items.iter_mut()) {
            p.risks = checks::risks(item);
        }
        let pairs: Vec<(&DesiredItem, &ItemPlan)> =
            items.iter().copied().zip(plan.items.iter()).collect();
        plan.checks = checks::source_checks(&desired.sources[i], analysis, &pairs, &scope);
        // Source-level checks first, then per item.
        plan.checks
            .sort_by(|a, b| (!a.items.is_empty(), a).cmp(&(!b.items.is_empty(), b)));
        plan.warnings = plan
            .checks
            .iter()
            .filter(|c| c.items.is_empty())
            .map(|c| Warning {
                code: c.name.clone(),
                message: c.message.clone(),
            })
            .collect();
        plan.warnings.sort();
        for item in &plan.items {
            summary.add(item);
            if item.unacknowledged_risks().next().is_some() {
                summary.unacknowledged_risks += 1;
            }
        }
        summary.blocking_checks += plan.checks.iter().filter(|c| c.blocks()).count();
        summary.waived_checks += plan.checks.iter().filter(|c| c.waived).count();
        sources.push(plan);
    }
    let fingerprint = Fingerprint {
        manifest: digest(desired),
        observed: digest(&decisions(&sources)),
    };
    Plan {
        format_version: FORMAT_VERSION,
        migration: desired.migration.clone(),
        manifest: None,
        summary,
        sources,
        fingerprint,
        wave: None,
        estimate: None,
    }
}

/// What the checks need across sources: who exists, who the manifest brings, and how
/// many accounts apply would give a dedicated IP.
fn checks_scope<'a>(
    desired: &'a Desired,
    observed: &'a Observed,
    planned: &[(SourcePlan, Vec<&'a DesiredItem>)],
) -> Scope<'a> {
    let mut scope = Scope {
        dest_users: observed
            .destination
            .accounts
            .iter()
            .map(|a| a.user.as_str())
            .collect(),
        user_checks: Some(&observed.destination.user_checks),
        ..Scope::default()
    };
    for item in desired.sources.iter().flat_map(|s| &s.items) {
        if item.is_account() {
            scope.add_manifest_account(item);
        }
    }
    scope.ip_demand = planned
        .iter()
        .flat_map(|(plan, items)| plan.items.iter().zip(items))
        .filter(|(p, i)| p.is_actionable() && i.is_account() && checks::asks_for_ip(i))
        .count();
    scope
}

/// The part of a plan that depends on observed state and decides what apply does:
/// actions, conflicts and whether a session is in use, not volatile figures such as
/// disk use, nor the session's id: a plan made with `plan --no-keep` (whose session is
/// discarded) stays valid for `apply PLAN.json`, which plans again in a new session.
fn decisions(sources: &[SourcePlan]) -> Vec<(String, bool, Vec<String>, Vec<String>)> {
    sources
        .iter()
        .map(|s| {
            let items = s
                .items
                .iter()
                .map(|i| {
                    format!(
                        "{}|{}|{}|{}|{:?}|{:?}",
                        queue_key(&i.module, &i.key),
                        i.localuser.as_deref().unwrap_or(""),
                        i.domain.as_deref().unwrap_or(""),
                        i.action.name(),
                        i.conflicts,
                        i.risks
                    )
                })
                .collect();
            // Which checks fire and whether they are waived, not their wording.
            let checks = s
                .checks
                .iter()
                .map(|c| format!("{}|{:?}|{}", c.name, c.items, c.waived))
                .collect();
            (s.name.clone(), s.session.is_some(), items, checks)
        })
        .collect()
}

fn digest<T: serde::Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// The destination's names, indexed once for all sources.
pub(crate) struct DestinationIndex<'a> {
    /// user → main domain.
    accounts: BTreeMap<String, &'a str>,
    /// domain (lower-case) → owner user.
    domains: BTreeMap<String, &'a str>,
    packages: BTreeSet<&'a str>,
    featurelists: BTreeSet<&'a str>,
}

impl<'a> DestinationIndex<'a> {
    pub(crate) fn new(inv: &'a DestinationInventory) -> Self {
        Self {
            accounts: inv
                .accounts
                .iter()
                .map(|a| (a.user.clone(), a.domain.as_str()))
                .collect(),
            domains: inv
                .accounts
                .iter()
                .map(|a| (a.domain.to_ascii_lowercase(), a.user.as_str()))
                .collect(),
            packages: inv.packages.iter().map(|p| p.name.as_str()).collect(),
            featurelists: inv.featurelists.iter().map(String::as_str).collect(),
        }
    }

    /// Whether the destination already has `item` (an account counts when its user
    /// exists with the same main domain, or when no domain is known yet).
    pub(crate) fn has(&self, item: &DesiredItem, domain: Option<&str>) -> bool {
        if let Some(localuser) = &item.localuser {
            return self
                .accounts
                .get(localuser)
                .is_some_and(|existing| domain.is_none_or(|d| d.eq_ignore_ascii_case(existing)));
        }
        match ModuleKind::of(&item.module) {
            ModuleKind::Package => self.packages.contains(item.key.as_str()),
            ModuleKind::FeatureList => self.featurelists.contains(item.key.as_str()),
            ModuleKind::Account | ModuleKind::Other => false,
        }
    }
}

/// The source's plan without its checks, and its items in the plan's order.
fn plan_source<'d>(
    source: &'d DesiredSource,
    seen: &ObservedSource,
    dest: &DestinationIndex<'_>,
) -> (SourcePlan, Vec<&'d DesiredItem>) {
    let analysis = seen.analysis.as_ref();
    let mut sorted: Vec<&DesiredItem> = source.items.iter().collect();
    sorted.sort_by(|a, b| (a.type_id, &a.key).cmp(&(b.type_id, &b.key)));
    let planner = ItemPlanner {
        kind: source.kind,
        seen,
        dest,
        facts: SourceIndex::new(analysis),
    };
    let items = sorted.iter().map(|item| planner.plan(item)).collect();
    let plan = SourcePlan {
        name: source.name.clone(),
        host: source.host.clone(),
        kind: source.kind,
        session: seen.session.as_ref().map(|s| SessionRef {
            id: s.id.clone(),
            state: s.state.clone(),
            created: s.created,
            unconfirmed: s.unconfirmed.clone(),
        }),
        estimate: None,
        warnings: Vec::new(),
        checks: Vec::new(),
        unsent: Vec::new(),
        items,
    };
    (plan, sorted)
}

/// One database or database user of the source, as the analysis lists it.
struct SourceDb<'a> {
    /// A database user (else a database).
    user: bool,
    engine: &'a str,
    name: &'a str,
}

/// A source's analysis, indexed once so each item is planned in logarithmic time
/// (scanning every database or domain per account made 10,000 accounts take seconds).
struct SourceIndex<'a> {
    /// user → (main domain, bytes used).
    accounts: BTreeMap<&'a str, (&'a str, u64)>,
    packages: BTreeSet<&'a str>,
    /// Domain (lower-case) → owner, from the analysis' view of the destination.
    local_domains: BTreeMap<String, &'a str>,
    /// Source user → its databases and database users (databases first, then users;
    /// by engine, then name).
    dbs_by_owner: BTreeMap<&'a str, Vec<SourceDb<'a>>>,
}

impl<'a> SourceIndex<'a> {
    fn new(analysis: Option<&'a RemoteAnalysis>) -> Self {
        let mut index = Self {
            accounts: BTreeMap::new(),
            packages: BTreeSet::new(),
            local_domains: BTreeMap::new(),
            dbs_by_owner: BTreeMap::new(),
        };
        let Some(a) = analysis else { return index };
        index.accounts = a
            .items
            .accounts
            .iter()
            .map(|x| (x.user.as_str(), (x.domain.as_str(), x.bytesused)))
            .collect();
        index.packages = a.items.packages.iter().map(|p| p.name.as_str()).collect();
        for (domain, owner) in &a.local.domains {
            index
                .local_domains
                .entry(domain.to_ascii_lowercase())
                .or_insert(owner.as_str());
        }
        if let (Some(remote), Some(_)) = (&a.remote.dbs, &a.local.dbs) {
            for (user, map) in [(false, &remote.dbs), (true, &remote.users)] {
                for (engine, names) in map {
                    for (name, owner) in names {
                        if let Some(owner) = owner {
                            index.dbs_by_owner.entry(owner).or_default().push(SourceDb {
                                user,
                                engine,
                                name,
                            });
                        }
                    }
                }
            }
        }
        index
    }
}

/// What planning a source's items consults: the source as observed (its analysis
/// indexed) and the destination.
struct ItemPlanner<'a> {
    kind: SessionKind,
    seen: &'a ObservedSource,
    dest: &'a DestinationIndex<'a>,
    facts: SourceIndex<'a>,
}

impl ItemPlanner<'_> {
    /// One item's plan: invalid, already present, missing on the source, in conflict,
    /// already queued, or to transfer.
    fn plan(&self, item: &DesiredItem) -> ItemPlan {
        let on_source = self.facts.accounts.get(item.key.as_str()).copied();
        let mut plan = ItemPlan {
            module: item.module.clone(),
            key: item.key.clone(),
            localuser: item.localuser.clone(),
            domain: item
                .domain
                .clone()
                .or_else(|| on_source.map(|(d, _)| d.to_owned())),
            size: on_source.map(|(_, bytes)| bytes),
            action: Action::Transfer,
            reason: None,
            conflicts: Vec::new(),
            wave: None,
            priority: None,
            priority_by: None,
            prerequisite_user: None,
            prerequisite_by: None,
            risks: Vec::new(),
        };
        let settled = if item.problems.is_empty() {
            match &item.localuser {
                Some(localuser) => self.account(item, localuser, on_source.is_none(), &mut plan),
                None if ModuleKind::of(&item.module) == ModuleKind::Package => self.package(item),
                None => self.dest.has(item, None).then(|| {
                    (
                        Action::AlreadyPresent,
                        "the destination has this feature list".to_owned(),
                    )
                }),
            }
        } else {
            Some((Action::Invalid, item.problems.join("; ")))
        };
        if let Some((action, reason)) = settled {
            plan.action = action;
            plan.reason = Some(reason);
        } else if self
            .seen
            .queued
            .contains(&queue_key(&item.module, &item.key))
        {
            plan.action = Action::AlreadyQueued;
            plan.reason = Some(
                match self
                    .seen
                    .session
                    .as_ref()
                    .and_then(|s| s.unconfirmed.as_ref())
                {
                    Some(why) => format!(
                        "in flight, unconfirmed: queued in this session by an earlier run, whose state could not be read ({why})"
                    ),
                    None => "queued in this session by an earlier run".to_owned(),
                },
            );
        }
        plan
    }

    /// Whether the source's analysis says what it has (a user session sees only its
    /// own account).
    fn analysed(&self) -> bool {
        self.kind == SessionKind::Root && self.seen.analysis.is_some()
    }

    /// An account's action and reason when it does not simply transfer: already present
    /// (same user and domain), missing on the source (`unknown` to its analysis), or in
    /// conflict with what the destination has unless forced. The conflicts found go
    /// into `plan`, and a transfer that overwrites them says so in its reason.
    fn account(
        &self,
        item: &DesiredItem,
        localuser: &str,
        unknown: bool,
        plan: &mut ItemPlan,
    ) -> Option<(Action, String)> {
        let existing = self.dest.accounts.get(localuser);
        if let Some(existing) = existing
            && self.dest.has(item, plan.domain.as_deref())
        {
            return Some((
                Action::AlreadyPresent,
                format!("the destination has “{localuser}” ({existing})"),
            ));
        }
        if self.analysed() && unknown {
            return Some((
                Action::MissingOnSource,
                format!("the source has no account “{}”", item.key),
            ));
        }
        if let Some(existing) = existing {
            plan.conflicts.push(Conflict::UserExists {
                user: localuser.to_owned(),
                domain: (*existing).to_owned(),
            });
        }
        account_conflicts(
            item,
            localuser,
            plan.domain.as_ref(),
            self.seen,
            self.dest,
            &self.facts,
            &mut plan.conflicts,
        );
        if plan.conflicts.is_empty() {
            return None;
        }
        let in_the_way = |c: &Conflict| {
            matches!(
                c,
                Conflict::UserExists { .. } | Conflict::DomainTaken { .. }
            )
        };
        // Databases in the way are the `database-taken` check (waivable), not a
        // conflict.
        let databases_only = !plan.conflicts.iter().any(in_the_way);
        let dbs_overridden = item.force || item.overwrite_dbs;
        if !databases_only && !item.force {
            let reason = plan
                .conflicts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            return Some((Action::Conflict, reason));
        }
        if !databases_only || dbs_overridden {
            plan.reason = Some("overwrites what is in the way (force/overwrite set)".to_owned());
        }
        None
    }

    /// A package's action and reason when it does not simply transfer: already present,
    /// or missing on the source.
    fn package(&self, item: &DesiredItem) -> Option<(Action, String)> {
        if self.dest.has(item, None) {
            return Some((
                Action::AlreadyPresent,
                "the destination has this package".to_owned(),
            ));
        }
        (self.analysed() && !self.facts.packages.contains(item.key.as_str())).then(|| {
            (
                Action::MissingOnSource,
                format!("the source has no package “{}”", item.key),
            )
        })
    }
}

fn account_conflicts(
    item: &DesiredItem,
    localuser: &str,
    domain: Option<&String>,
    seen: &ObservedSource,
    dest: &DestinationIndex<'_>,
    facts: &SourceIndex<'_>,
    out: &mut Vec<Conflict>,
) {
    if let Some(domain) = domain {
        let lower = domain.to_ascii_lowercase();
        let owner = dest
            .domains
            .get(&lower)
            .or_else(|| facts.local_domains.get(&lower))
            .map(|o| (*o).to_owned());
        if let Some(owner) = owner
            && owner != localuser
            && !out
                .iter()
                .any(|c| matches!(c, Conflict::UserExists { user, .. } if *user == owner))
        {
            out.push(Conflict::DomainTaken {
                domain: domain.clone(),
                owner,
            });
        }
    }
    let Some(local) = seen.analysis.as_ref().and_then(|a| a.local.dbs.as_ref()) else {
        return;
    };
    let Some(owned) = facts.dbs_by_owner.get(item.key.as_str()) else {
        return;
    };
    db_conflicts(owned, local, localuser, out);
}

fn db_conflicts(
    owned: &[SourceDb<'_>],
    local: &DbInventory,
    localuser: &str,
    out: &mut Vec<Conflict>,
) {
    for db in owned {
        let map = if db.user { &local.users } else { &local.dbs };
        let Some(Some(theirs)) = map.get(db.engine).and_then(|m| m.get(db.name)) else {
            continue;
        };
        if theirs == localuser {
            continue;
        }
        let (engine, name, owner) = (db.engine.to_owned(), db.name.to_owned(), theirs.clone());
        out.push(if db.user {
            Conflict::DatabaseUserTaken {
                engine,
                name,
                owner,
            }
        } else {
            Conflict::DatabaseTaken {
                engine,
                name,
                owner,
            }
        });
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
