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
use crate::journal::{JournalError, JournalHandle, Retired, SessionRecord, now};
use crate::plan::diff::DestinationIndex;
use crate::plan::input::{
    Desired, DesiredSource, DestinationInventory, Observed, ObservedSession, ObservedSource,
    SessionKind, queue_key,
};
use crate::whm::{WhmClient, WhmError};
use std::collections::{BTreeMap, BTreeSet};

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

/// Observes everything the diff needs. Creates (and journals) a root session for a
/// source only when it has items the destination lacks and no usable session exists.
pub async fn observe(
    client: &WhmClient,
    desired: &Desired,
    access: &[SourceAccess],
    journal: &JournalHandle,
    created_by: &str,
    beside: bool,
) -> Result<Observed, ObserveError> {
    let mut destination = destination_inventory(client).await?;
    destination.user_checks = check_new_names(client, desired, &destination).await?;
    let index = DestinationIndex::new(&destination);
    let tasks = desired.sources.iter().map(|source| {
        let looker = SourceLook {
            client,
            journal,
            source,
            request: access
                .iter()
                .find(|a| a.name == source.name)
                .and_then(|a| a.root.as_ref()),
            created_by,
            beside,
        };
        let needs_session = source.kind == SessionKind::Root && looker.has_unsettled(&index);
        looker.observe(needs_session)
    });
    let sources = futures::future::join_all(tasks)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Observed {
        destination,
        sources,
        server_keys: None,
    })
}

/// The source's probe entry `token` in `j`.
fn probe<'j>(
    j: &'j mut crate::journal::Journal,
    name: &str,
    token: &str,
) -> std::collections::btree_map::Entry<'j, String, crate::journal::Probe> {
    j.sources
        .entry(name.to_owned())
        .or_default()
        .probes
        .entry(token.to_owned())
}

/// Observing one source.
struct SourceLook<'a> {
    client: &'a WhmClient,
    journal: &'a JournalHandle,
    source: &'a DesiredSource,
    request: Option<&'a RootSessionRequest>,
    created_by: &'a str,
    /// A `plan --no-keep` beside a running apply: a session it creates is a probe,
    /// never recorded as the source's current session.
    beside: bool,
}

impl SourceLook<'_> {
    /// Whether a valid item of the source is not settled on the destination. An
    /// account the manifest names without its domain is only known to be ours when
    /// this migration restored it; otherwise the analysis must tell its domain.
    fn has_unsettled(&self, index: &DestinationIndex) -> bool {
        let restored_by_us = |key: &str| {
            self.journal.read(|j| {
                j.sources
                    .get(&self.source.name)
                    .is_some_and(|r| r.items.get(key).is_some_and(|i| i.state.is_restored()))
            })
        };
        let settled = |i: &crate::plan::DesiredItem| {
            index.has(i, i.domain.as_deref())
                && (i.domain.is_some()
                    || !i.is_account()
                    || restored_by_us(&queue_key(&i.module, &i.key)))
        };
        self.source
            .items
            .iter()
            .any(|i| i.problems.is_empty() && !settled(i))
    }

    fn wrap(&self, error: WhmError) -> ObserveError {
        ObserveError::Source {
            source_name: self.source.name.clone(),
            error,
        }
    }

    async fn observe(self, needs_session: bool) -> Result<ObservedSource, ObserveError> {
        let mut observed = ObservedSource {
            name: self.source.name.clone(),
            ..ObservedSource::default()
        };
        // A recorded session is looked at even when no new session is needed: its
        // queued items are "already queued".
        observed.session = match self.recorded_session().await? {
            Some(session) => Some(session),
            None if needs_session => match self.request {
                Some(request) => Some(self.create(request).await?),
                None => return Ok(observed),
            },
            None => None,
        };
        let Some(session) = &observed.session else {
            return Ok(observed);
        };
        observed.queued = self.queued_in(&session.id);
        if self.source.kind == SessionKind::Root {
            let analysis = self
                .client
                .retrieve_transfer_session_remote_analysis(&session.id)
                .await
                .map_err(|e| self.wrap(e))?;
            observed.analysis = Some(analysis);
        }
        Ok(observed)
    }

    /// The journal's session for this source while it is usable. It is retired only
    /// when a terminal state is read or WHM answers that it does not know it (its
    /// documented answer); a read that fails otherwise leaves it in place, unconfirmed,
    /// so its items are never queued into another session.
    async fn recorded_session(&self) -> Result<Option<ObservedSession>, ObserveError> {
        let recorded = self.journal.read(|j| {
            j.sources
                .get(&self.source.name)
                .and_then(|r| r.session.clone())
        });
        let Some(rec) = recorded else {
            return Ok(None);
        };
        let (state, unconfirmed) = match self.client.get_transfer_session_state(&rec.id).await {
            Ok(s) if s.is_terminal() => {
                self.retire(&rec.id, s, Retired::Ended)?;
                return Ok(None);
            }
            Ok(s) => (s, None),
            Err(e) if e.is_unknown_session(&rec.id) => {
                self.retire(&rec.id, rec.state.clone(), Retired::UnknownToServer)?;
                return Ok(None);
            }
            Err(e) => {
                tracing::debug!(session = rec.id, "state unconfirmed: {e}");
                (rec.state.clone(), Some(e.to_string()))
            }
        };
        Ok(Some(ObservedSession {
            id: rec.id,
            state,
            created: false,
            unconfirmed,
        }))
    }

    /// Creates a root session, its intent on disk before the call and its id after.
    async fn create(&self, request: &RootSessionRequest) -> Result<ObservedSession, ObserveError> {
        if self.beside {
            return self.create_probe(request).await;
        }
        let name = &self.source.name;
        self.journal.commit(|j| {
            j.sources
                .entry(name.clone())
                .or_default()
                .begin_create(now());
        })?;
        let created = match self
            .client
            .create_remote_root_transfer_session(request)
            .await
        {
            Ok(created) => created,
            Err(e) => {
                if e.server_did_not_act() {
                    self.journal
                        .commit(|j| j.sources.entry(name.clone()).or_default().forget_create())?;
                }
                return Err(self.wrap(e));
            }
        };
        let id = created.transfer_session_id;
        self.journal.commit(|j| {
            let entry = j.sources.entry(name.clone()).or_default();
            entry.session = Some(SessionRecord::new(
                &id,
                self.created_by,
                SessionState::Pending,
            ));
            entry.create_started = None;
        })?;
        Ok(ObservedSession {
            id,
            state: SessionState::Pending,
            created: true,
            unconfirmed: None,
        })
    }

    /// Creates a root session for a plan beside an apply: recorded under a token of its
    /// own in the source's probes, where concurrent writers never meet.
    async fn create_probe(
        &self,
        request: &RootSessionRequest,
    ) -> Result<ObservedSession, ObserveError> {
        let name = &self.source.name;
        let token = format!("{:016x}", rand::random::<u64>());
        self.journal.commit(|j| {
            probe(j, name, &token).or_insert(crate::journal::Probe {
                started_at: now(),
                session: None,
            });
        })?;
        let created = match self
            .client
            .create_remote_root_transfer_session(request)
            .await
        {
            Ok(created) => created,
            Err(e) => {
                if e.server_did_not_act() {
                    self.journal.commit(|j| {
                        if let Some(r) = j.sources.get_mut(name) {
                            r.probes.remove(&token);
                        }
                    })?;
                }
                return Err(self.wrap(e));
            }
        };
        let id = created.transfer_session_id;
        self.journal.commit(|j| {
            if let std::collections::btree_map::Entry::Occupied(mut p) = probe(j, name, &token) {
                p.get_mut().session = Some(id.clone());
            }
        })?;
        Ok(ObservedSession {
            id,
            state: SessionState::Pending,
            created: true,
            unconfirmed: None,
        })
    }

    /// The source's items the journal records as queued in `session`.
    fn queued_in(&self, session: &str) -> BTreeSet<String> {
        let keys: BTreeSet<String> = self
            .source
            .items
            .iter()
            .map(|i| queue_key(&i.module, &i.key))
            .collect();
        self.journal.read(|j| {
            j.sources
                .get(&self.source.name)
                .map(|r| {
                    r.items
                        .iter()
                        .filter(|(k, item)| {
                            item.session == session && item.state.is_queued() && keys.contains(*k)
                        })
                        .map(|(k, _)| k.clone())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Moves the current session `id` to the source's previous sessions.
    fn retire(&self, id: &str, last: SessionState, why: Retired) -> Result<(), JournalError> {
        self.journal.commit(|j| {
            if let Some(r) = j.sources.get_mut(&self.source.name)
                && r.session.as_ref().is_some_and(|s| s.id == id)
                && let Some(mut old) = r.session.take()
            {
                old.state = last;
                old.retired = Some(why);
                r.previous_sessions.push(old);
            }
        })
    }
}
