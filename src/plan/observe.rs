//! Observing the servers for a plan: the destination's inventory once, then per source
//! (concurrently) its session and analysis. A fixed number of requests per source,
//! whatever the number of accounts.
//!
//! A source whose every item the destination already has needs no session at all, so
//! a finished migration plans without leaving a password on the server. A root source
//! reuses the session the journal records while it is still usable; otherwise one is
//! created, with its intent journalled before the call (a crash between the two leaves
//! a trace that `status` reports).

use crate::domain::{
    AccountQuery, PackageFilter, RootSessionRequest, SessionState, SystemUserCheck,
};
use crate::journal::{Journal, JournalError, SessionRecord, StateDir, now};
use crate::plan::diff::DestinationIndex;
use crate::plan::input::{
    Desired, DesiredSource, DestinationInventory, Observed, ObservedSession, ObservedSource,
    SourceKind, queue_key,
};
use crate::whm::{WhmClient, WhmError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Errors while observing.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ObserveError {
    /// A call to the destination failed.
    #[error("while observing source “{source_name}”: {error}")]
    #[diagnostic(forward(error))]
    Source {
        /// The manifest's name for the source.
        source_name: String,
        /// The error.
        error: WhmError,
    },
    /// Reading the destination's inventory failed.
    #[error("while reading what the destination holds: {0}")]
    #[diagnostic(forward(0))]
    Destination(WhmError),
    /// The journal could not be written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Journal(#[from] JournalError),
}

/// Credentials to open a root session for one source (user sources need none to plan).
#[derive(Debug, Clone)]
pub struct SourceAccess {
    /// The manifest's name for the source.
    pub name: String,
    /// The create request for a root source.
    pub root: Option<RootSessionRequest>,
}

/// Reads the destination's accounts, packages and feature lists (three requests).
pub async fn destination_inventory(
    client: &WhmClient,
) -> Result<DestinationInventory, ObserveError> {
    let want = [
        "user",
        "domain",
        "owner",
        "plan",
        "ip",
        "diskused",
        "suspended",
    ]
    .map(str::to_owned)
    .to_vec();
    let query = AccountQuery {
        want,
        ..AccountQuery::default()
    };
    let (accounts, packages, featurelists) = futures::try_join!(
        client.listaccts(&query),
        client.listpkgs(PackageFilter::All),
        client.get_featurelists(),
    )
    .map_err(ObserveError::Destination)?;
    Ok(DestinationInventory {
        accounts,
        packages,
        featurelists,
        user_checks: BTreeMap::new(),
    })
}

/// How many `validate_system_user` calls run at once.
const USER_CHECKS_AT_ONCE: usize = 8;

/// Asks the destination about each new account name the manifest gives (`localuser`
/// differing from the source's user) that is not already one of its accounts (that is a
/// conflict the diff reports). Names kept from the source were valid on a cPanel server,
/// so renames are the only names that need the server's word: the request count grows
/// with the renames, not with the accounts.
pub async fn check_new_names(
    client: &WhmClient,
    desired: &Desired,
    destination: &DestinationInventory,
) -> Result<BTreeMap<String, SystemUserCheck>, ObserveError> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let existing: BTreeSet<&str> = destination
        .accounts
        .iter()
        .map(|a| a.user.as_str())
        .collect();
    let names: BTreeSet<&str> = desired
        .sources
        .iter()
        .flat_map(|s| &s.items)
        .filter(|i| i.problems.is_empty())
        .filter_map(|i| i.localuser.as_deref().filter(|l| *l != i.key))
        .filter(|l| !existing.contains(l))
        .collect();
    futures::stream::iter(names)
        .map(|name| async move {
            client
                .validate_system_user(name)
                .await
                .map(|check| (name.to_owned(), check))
        })
        .buffer_unordered(USER_CHECKS_AT_ONCE)
        .try_collect()
        .await
        .map_err(ObserveError::Destination)
}

/// Which journal item states mean "in the session's queue". An item left
/// `enqueuing` by a crash may or may not have landed: it is planned as a transfer and
/// enqueued again, and WHM's duplicate-key answer settles it.
pub fn is_queued_state(state: &str) -> bool {
    matches!(state, "queued" | "transferring" | "restoring")
}

/// Observes everything the diff needs. Creates (and journals) a root session for a
/// source only when it has items the destination lacks and no usable session exists.
pub async fn observe(
    client: &WhmClient,
    desired: &Desired,
    access: &[SourceAccess],
    state: &StateDir,
    journal: &mut Journal,
    created_by: &str,
) -> Result<Observed, ObserveError> {
    let mut destination = destination_inventory(client).await?;
    destination.user_checks = check_new_names(client, desired, &destination).await?;
    let index = DestinationIndex::new(&destination);
    let shared = Mutex::new(std::mem::take(journal));
    let tasks = desired.sources.iter().map(|source| {
        let restored_by_us = |key: &str| {
            lock(&shared).sources.get(&source.name).is_some_and(|r| {
                r.items
                    .get(key)
                    .is_some_and(|i| matches!(i.state.as_str(), "done" | "warnings"))
            })
        };
        // An account the manifest names without its domain is only known to be ours
        // when this migration restored it; otherwise the analysis must tell its domain.
        let settled = |i: &crate::plan::DesiredItem| {
            index.has(i, i.domain.as_deref())
                && (i.domain.is_some()
                    || !i.is_account()
                    || restored_by_us(&queue_key(&i.module, &i.key)))
        };
        let needs_session = source.kind == SourceKind::Root
            && source
                .items
                .iter()
                .any(|i| i.problems.is_empty() && !settled(i));
        let request = access
            .iter()
            .find(|a| a.name == source.name)
            .and_then(|a| a.root.as_ref());
        observe_source(
            client,
            source,
            needs_session,
            request,
            state,
            &shared,
            created_by,
        )
    });
    let result = futures::future::join_all(tasks).await;
    *journal = shared
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let sources = result.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Observed {
        destination,
        sources,
    })
}

async fn observe_source(
    client: &WhmClient,
    source: &DesiredSource,
    needs_session: bool,
    request: Option<&RootSessionRequest>,
    state: &StateDir,
    journal: &Mutex<Journal>,
    created_by: &str,
) -> Result<ObservedSource, ObserveError> {
    let wrap = |error| ObserveError::Source {
        source_name: source.name.clone(),
        error,
    };
    let recorded = lock(journal)
        .sources
        .get(&source.name)
        .and_then(|r| r.session.clone());
    let mut observed = ObservedSource {
        name: source.name.clone(),
        ..ObservedSource::default()
    };
    // A recorded session is looked at even when no new session is needed: its queued
    // items are "already queued".
    let mut session = None;
    if let Some(rec) = &recorded {
        match client.get_transfer_session_state(&rec.id).await {
            Ok(s) => session = Some((rec.clone(), s)),
            Err(WhmError::Api { .. }) => {
                // Gone from the server (expired or deleted): retire it.
                retire(journal, &source.name, rec, "GONE");
            }
            Err(e) => return Err(wrap(e)),
        }
    }
    if let Some((rec, s)) = &session
        && s.is_terminal()
    {
        retire(journal, &source.name, rec, s.name());
        session = None;
    }
    if session.is_none() && needs_session {
        let Some(request) = request else {
            return Ok(observed);
        };
        {
            let mut j = lock(journal);
            j.sources
                .entry(source.name.clone())
                .or_default()
                .begin_create(now());
            state.save(&j)?;
        }
        let created = match client.create_remote_root_transfer_session(request).await {
            Ok(created) => created,
            Err(e) => {
                if e.server_did_not_act() {
                    forget_create(journal, state, &source.name);
                }
                return Err(wrap(e));
            }
        };
        let rec = SessionRecord {
            id: created.transfer_session_id.clone(),
            created_at: now(),
            created_by: created_by.to_owned(),
            state: SessionState::Pending.name().to_owned(),
        };
        {
            let mut j = lock(journal);
            let entry = j.sources.entry(source.name.clone()).or_default();
            entry.session = Some(rec.clone());
            entry.create_started = None;
            state.save(&j)?;
        }
        observed.session = Some(ObservedSession {
            id: rec.id.clone(),
            state: SessionState::Pending,
            created: true,
        });
    } else if let Some((rec, s)) = session {
        observed.session = Some(ObservedSession {
            id: rec.id.clone(),
            state: s,
            created: false,
        });
    }
    if let Some(s) = &observed.session {
        let j = lock(journal);
        if let Some(r) = j.sources.get(&source.name) {
            observed.queued = r
                .items
                .iter()
                .filter(|(_, item)| item.session == s.id && is_queued_state(&item.state))
                .map(|(k, _)| k.clone())
                .collect::<BTreeSet<_>>();
        }
    }
    if source.kind == SourceKind::Root
        && let Some(s) = &observed.session
    {
        let analysis = client
            .retrieve_transfer_session_remote_analysis(&s.id)
            .await
            .map_err(wrap)?;
        observed.analysis = Some(analysis);
    }
    // Keep only queue keys of this source's items (the journal may know others).
    let keys: BTreeSet<String> = source
        .items
        .iter()
        .map(|i| queue_key(&i.module, &i.key))
        .collect();
    observed.queued.retain(|k| keys.contains(k));
    Ok(observed)
}

fn retire(journal: &Mutex<Journal>, source: &str, rec: &SessionRecord, state: &str) {
    let mut j = lock(journal);
    if let Some(r) = j.sources.get_mut(source)
        && r.session.as_ref().is_some_and(|s| s.id == rec.id)
    {
        let mut old = rec.clone();
        state.clone_into(&mut old.state);
        r.previous_sessions.push(old);
        r.session = None;
    }
}

fn lock(journal: &Mutex<Journal>) -> std::sync::MutexGuard<'_, Journal> {
    journal
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Clears the create mark of a create call the server certainly did not run.
pub(crate) fn forget_create(journal: &Mutex<Journal>, state: &StateDir, source: &str) {
    let mut j = lock(journal);
    if let Some(r) = j.sources.get_mut(source) {
        r.create_started = None;
        let _ = state.save(&j);
    }
}
