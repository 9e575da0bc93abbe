//! `adopt`: re-attach a session found in WHM (after the journal was lost or damaged) to
//! a source, so the next `apply` follows it instead of creating another one — the
//! `terraform import` of a migration.

use crate::domain::SessionState;
use crate::journal::{ItemStatus, SessionRecord};
use crate::migration::{Migration, MigrationError};
use crate::plan::queue_key;
use crate::translog::{ItemState, MasterLogParser, SessionProgress};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long `adopt` waits for the master log: some servers answer a log fetch only
/// once the log is finished (REFERENCE §4.12), and adopting must not wait for that.
const LOG_PATIENCE: Duration = Duration::from_secs(30);

impl std::fmt::Display for Adopted {
    /// `old1: adopted session ID (RUNNING): 2 done, 3 queued`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: adopted session {} ({})",
            self.source, self.session, self.state
        )?;
        let items: Vec<String> = self.items.iter().map(|(s, n)| format!("{n} {s}")).collect();
        if !items.is_empty() {
            write!(f, ": {}", items.join(", "))?;
        }
        Ok(())
    }
}

/// What `adopt` recorded.
#[derive(Debug)]
pub struct Adopted {
    /// The source it was attached to.
    pub source: String,
    /// The session id.
    pub session: String,
    /// Its state, as read.
    pub state: SessionState,
    /// The items its master log names, by the status recorded.
    pub items: BTreeMap<ItemStatus, usize>,
    /// False when the master log could not be read in time: the session is recorded
    /// without its items, which the next apply learns by following it.
    pub log_read: bool,
}

impl Migration {
    /// Records `session` as `source`'s current session, with the items its master log
    /// names. Refused when the journal already records another current session for the
    /// source, when WHM does not know the session, or when the log says it moves
    /// accounts from another host.
    pub async fn adopt(&self, source: &str, session: &str) -> Result<Adopted, MigrationError> {
        let host = self
            .manifest
            .sources
            .iter()
            .find(|s| s.name == source)
            .map(|s| s.host.clone())
            .ok_or_else(|| MigrationError::UnknownSource(source.to_owned()))?;
        let current = self
            .journal
            .read(|j| j.sources.get(source).and_then(|r| r.session.clone()));
        if let Some(current) = current.filter(|c| c.id != session) {
            return Err(MigrationError::AlreadyRecorded {
                source_name: source.to_owned(),
                session: current.id,
            });
        }
        let state = self.client().get_transfer_session_state(session).await?;
        let progress = self.adopted_log(session).await;
        if let Some(remote) = progress.as_ref().and_then(SessionProgress::remote_host)
            && !remote.eq_ignore_ascii_case(&host)
        {
            return Err(MigrationError::OtherHost {
                session: session.to_owned(),
                remote: remote.to_owned(),
                source_name: source.to_owned(),
                host,
            });
        }
        let items = self.record_adopted(source, session, &state, progress.as_ref())?;
        Ok(Adopted {
            source: source.to_owned(),
            session: session.to_owned(),
            state,
            items,
            log_read: progress.is_some(),
        })
    }

    /// The session's master log folded, or `None` when it cannot be read in time.
    async fn adopted_log(&self, session: &str) -> Option<SessionProgress> {
        let fetch = self
            .client()
            .fetch_transfer_session_log(session, "master.log");
        let text = tokio::time::timeout(LOG_PATIENCE, fetch).await.ok()?.ok()?;
        let mut parser = MasterLogParser::new();
        let mut progress = SessionProgress::new();
        progress.apply_all(&parser.feed_whole(text.as_bytes()).unwrap_or_default());
        Some(progress)
    }

    fn record_adopted(
        &self,
        source: &str,
        session: &str,
        state: &SessionState,
        progress: Option<&SessionProgress>,
    ) -> Result<BTreeMap<ItemStatus, usize>, MigrationError> {
        let mut counts = BTreeMap::new();
        self.journal.commit(|j| {
            let record = j.sources.entry(source.to_owned()).or_default();
            // `created_at` is when it was adopted: WHM does not say when it was created.
            record.session = Some(SessionRecord::new(session, "adopt", state.clone()));
            for (key, item) in progress.iter().flat_map(|p| p.items()) {
                let status = adopted_status(item.state());
                *counts.entry(status).or_default() += 1;
                crate::apply::enqueue::record(
                    j,
                    source,
                    &queue_key(&key.item_type, &key.item),
                    session,
                    status,
                );
            }
        })?;
        Ok(counts)
    }
}

/// The journal status of an item an adopted session's log shows in `state`: one not
/// started yet is in the queue.
fn adopted_status(state: ItemState) -> ItemStatus {
    match state {
        ItemState::Pending => ItemStatus::Queued,
        ItemState::Transferring => ItemStatus::Transferring,
        ItemState::AwaitingRestore | ItemState::Restoring => ItemStatus::Restoring,
        done => ItemStatus::from_log(done),
    }
}
