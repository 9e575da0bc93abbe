//! `cleanup`: abort the PENDING sessions the journal records (WHM marks a never-started
//! session FAILED, which discards it and the source password it holds) and retire them
//! in the journal, so the next plan or apply creates a fresh one.

use crate::domain::SessionState;
use crate::journal::{Retired, unrecorded_warning};
use crate::migration::{Migration, MigrationError, Notify};
use crate::whm::WhmError;
use std::collections::BTreeSet;

/// A session `plan --no-keep`, a stale or blocked apply or a rehearsal discarded.
#[derive(Debug)]
pub struct Discarded {
    /// The source.
    pub source: String,
    /// The session id.
    pub session: String,
    /// Its state after the abort, or why it could not be discarded.
    pub result: Result<SessionState, MigrationError>,
}

/// What `cleanup` may do.
#[derive(Debug, Clone, Default)]
pub struct CleanupOptions {
    /// Only this source.
    pub source: Option<String>,
    /// Sessions a saved plan needs: left alone.
    pub keep: BTreeSet<String>,
    /// Forget the marks of session creations that were never recorded.
    pub forget_unrecorded: bool,
    /// Retire this recorded session without asking WHM (`--forget`).
    pub forget: Option<String>,
}

/// What `cleanup` did for one source.
#[derive(Debug)]
pub enum Cleaned {
    /// Forgot these unrecorded session creations (their start times).
    ForgotUnrecorded(Vec<String>),
    /// Retired this session by hand (`--forget`).
    Forgot(String),
    /// No session recorded.
    NoSession,
    /// Kept: a saved plan needs it.
    Kept(String),
    /// The server does not know the session.
    Unknown {
        /// The session id.
        session: String,
        /// The server's reason.
        reason: String,
    },
    /// Left alone: it is not PENDING.
    LeftAlone {
        /// The session id.
        session: String,
        /// Its state.
        state: SessionState,
    },
    /// Discarded; now in this state.
    Discarded {
        /// The session id.
        session: String,
        /// Its state after the abort.
        state: SessionState,
    },
    /// Failed (reading its state or discarding it).
    Failed(MigrationError),
}

impl Cleaned {
    /// What was done, in a line (`Failed` says only that it failed: its error is the
    /// caller's to show).
    pub fn describe(&self, source: &str) -> String {
        match self {
            Self::ForgotUnrecorded(marks) => format!(
                "{source}: forgot {} unrecorded session creation(s) started at {}",
                marks.len(),
                marks.join(", ")
            ),
            Self::Forgot(id) => format!(
                "{source}: forgot session {id}; its items are planned again by the next plan or apply"
            ),
            Self::NoSession => format!("{source}: no session recorded; nothing to clean"),
            Self::Kept(id) => format!("{source}: kept session {id} (the saved plan needs it)"),
            Self::Unknown { session, reason } => format!(
                "{source}: session {session} is unknown to the server ({reason}); nothing to clean"
            ),
            Self::LeftAlone { session, state } => {
                format!("{source}: left session {session} alone ({state}, not PENDING)")
            }
            Self::Discarded { session, state } => {
                format!("{source}: discarded session {session} (now {state})")
            }
            Self::Failed(_) => format!("{source}: failed"),
        }
    }
}

impl Migration {
    /// Discards every PENDING current session of the selected sources, except those
    /// `options.keep` names. Per source, in manifest order, what was done.
    pub async fn cleanup(
        &self,
        options: &CleanupOptions,
        notify: &dyn Notify,
    ) -> Result<Vec<(String, Vec<Cleaned>)>, MigrationError> {
        let sources = self.select_sources(options.source.as_deref())?;
        if let Some(id) = &options.forget {
            return Ok(vec![self.forget(&sources, id)?]);
        }
        let mut out = Vec::new();
        for source in sources {
            let mut done = Vec::new();
            if let Some(forgot) = self.unrecorded_marks(&source, options, notify)? {
                done.push(Cleaned::ForgotUnrecorded(forgot));
            }
            done.push(self.clean_session(&source, &options.keep).await);
            out.push((source, done));
        }
        Ok(out)
    }

    /// Retires session `id`, the current session of one of `sources`, as forgotten.
    fn forget(
        &self,
        sources: &[String],
        id: &str,
    ) -> Result<(String, Vec<Cleaned>), MigrationError> {
        let source = self.journal.commit(|j| {
            let (name, record) = j.sources.iter_mut().find(|(name, r)| {
                sources.contains(name) && r.session.as_ref().is_some_and(|s| s.id == id)
            })?;
            let mut old = record.session.take()?;
            old.retired = Some(Retired::Forgotten);
            record.previous_sessions.push(old);
            Some(name.clone())
        })?;
        match source {
            Some(source) => Ok((source, vec![Cleaned::Forgot(id.to_owned())])),
            None => Err(MigrationError::NotRecorded(id.to_owned())),
        }
    }

    /// The sources `only` selects (all when `None`), in manifest order.
    pub(crate) fn select_sources(&self, only: Option<&str>) -> Result<Vec<String>, MigrationError> {
        if let Some(name) = only
            && !self.manifest.sources.iter().any(|s| s.name == name)
        {
            return Err(MigrationError::UnknownSource(name.to_owned()));
        }
        Ok(self
            .manifest
            .sources
            .iter()
            .filter(|s| only.is_none_or(|n| n == s.name))
            .map(|s| s.name.clone())
            .collect())
    }

    /// Forgets the source's unrecorded-session marks when asked; otherwise warns about
    /// each.
    fn unrecorded_marks(
        &self,
        source: &str,
        options: &CleanupOptions,
        notify: &dyn Notify,
    ) -> Result<Option<Vec<String>>, MigrationError> {
        let marks: Vec<String> = self.journal.read(|j| {
            j.sources
                .get(source)
                .map(crate::journal::SourceRecord::unrecorded)
                .unwrap_or_default()
        });
        if marks.is_empty() {
            return Ok(None);
        }
        if !options.forget_unrecorded {
            for at in &marks {
                notify.warn(&unrecorded_warning(source, at));
            }
            return Ok(None);
        }
        self.journal.commit(|j| {
            if let Some(r) = j.sources.get_mut(source) {
                r.create_started = None;
                r.unrecorded_sessions.clear();
                r.probes.clear();
            }
        })?;
        Ok(Some(marks))
    }

    async fn clean_session(&self, source: &str, keep: &BTreeSet<String>) -> Cleaned {
        let recorded = self
            .journal
            .read(|j| j.sources.get(source).and_then(|r| r.session.clone()));
        let Some(rec) = recorded else {
            return Cleaned::NoSession;
        };
        if keep.contains(&rec.id) {
            return Cleaned::Kept(rec.id);
        }
        let live = match self.client().get_transfer_session_state(&rec.id).await {
            Ok(s) => s,
            Err(WhmError::Api { reason, .. }) => {
                return Cleaned::Unknown {
                    session: rec.id,
                    reason,
                };
            }
            Err(e) => return Cleaned::Failed(e.into()),
        };
        if live != SessionState::Pending {
            return Cleaned::LeftAlone {
                session: rec.id,
                state: live,
            };
        }
        match self.discard(source, &rec.id).await {
            Ok(state) => Cleaned::Discarded {
                session: rec.id,
                state,
            },
            Err(e) => Cleaned::Failed(e),
        }
    }
}
