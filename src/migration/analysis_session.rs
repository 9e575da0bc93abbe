//! Sessions opened only to look, never to move anything: `verify` and `init` read a
//! root session's analysis, `init` checks a user source's login. Each is journalled
//! the way `plan` journals its sessions (the create is marked before the call, so a
//! crash leaves a trace `status` reports like every other unrecorded session) but never
//! as the source's current session: it goes straight to the previous sessions and is
//! discarded once used, so no password stays on the destination.

use crate::domain::{CreatedSession, RemoteAnalysis, RootSessionRequest, SessionState};
use crate::journal::{Retired, SessionRecord, now};
use crate::migration::{Migration, MigrationError, Notify};
use crate::whm::WhmError;
use std::future::Future;

impl Migration {
    /// Opens a root session for source `name`, reads its analysis and discards the
    /// session; `purpose` (`verify`, `init`) is what the journal says created it.
    pub(super) async fn read_analysis(
        &self,
        name: &str,
        request: &RootSessionRequest,
        purpose: &str,
        notify: &dyn Notify,
    ) -> Result<RemoteAnalysis, MigrationError> {
        let client = self.client();
        let id = self
            .open_probe(
                name,
                purpose,
                client.create_remote_root_transfer_session(request),
            )
            .await?;
        let analysis = client.retrieve_transfer_session_remote_analysis(&id).await;
        self.discard_analysis_session(name, &id, notify).await?;
        Ok(analysis?)
    }

    /// Runs `create` with its intent journalled first, and records the session it made
    /// among the source's previous sessions (PENDING until discarded). Returns its id.
    pub(super) async fn open_probe(
        &self,
        name: &str,
        purpose: &str,
        create: impl Future<Output = Result<CreatedSession, WhmError>>,
    ) -> Result<String, MigrationError> {
        self.journal.commit(|j| {
            j.sources
                .entry(name.to_owned())
                .or_default()
                .begin_create(now());
        })?;
        let id = match create.await {
            Ok(c) => c.transfer_session_id,
            Err(e) => {
                if e.server_did_not_act() {
                    self.journal.commit(|j| {
                        j.sources
                            .entry(name.to_owned())
                            .or_default()
                            .forget_create();
                    })?;
                }
                return Err(e.into());
            }
        };
        self.journal.commit(|j| {
            let entry = j.sources.entry(name.to_owned()).or_default();
            let record = SessionRecord::new(&id, purpose, SessionState::Pending);
            entry.previous_sessions.push(record);
            entry.create_started = None;
        })?;
        Ok(id)
    }

    /// Aborts a session [`Migration::open_probe`] opened and records it as discarded;
    /// a failed abort is told, with what to do, and leaves the session recorded as
    /// PENDING.
    pub(super) async fn discard_analysis_session(
        &self,
        name: &str,
        id: &str,
        notify: &dyn Notify,
    ) -> Result<(), MigrationError> {
        if let Err(e) = self.client().abort_transfer_session(id).await {
            notify.warn(&format!(
                "{name}: cannot discard the analysis session {id}: {e}; abort it in WHM » Transfers » Review Transfers and Restores"
            ));
            return Ok(());
        }
        let state = self
            .client()
            .get_transfer_session_state(id)
            .await
            .unwrap_or(SessionState::Aborted);
        self.journal.commit(|j| {
            let entry = j.sources.entry(name.to_owned()).or_default();
            if let Some(r) = entry
                .previous_sessions
                .iter_mut()
                .rev()
                .find(|r| r.id == id)
            {
                r.state = state;
                r.retired = Some(Retired::Discarded);
            }
        })?;
        Ok(())
    }
}
