//! The journal of one migration behind one handle: every reader and writer of the
//! journal goes through it, and every save's failure reaches whoever must not go on.
//!
//! Two ways to change it:
//! - [`JournalHandle::change`]: saved within [`SAVE_EVERY`](super::SAVE_EVERY) by the
//!   shared cadence (10,000 enqueue marks must not cost 10,000 fsyncs);
//! - [`JournalHandle::commit`]: saved now, for what must be on disk before the next
//!   call to a server (a session-create mark, a new session's id);
//!   [`JournalHandle::commit_together`] is the same for tasks that may commit at once
//!   (each source's enqueue marks): they share writes.
//!
//! A save that fails is remembered until a later one succeeds, and
//! [`JournalHandle::ready`], called before every call that changes a server, returns it:
//! the run stops before the call instead of changing the server with a journal that
//! does not know it.

use super::backend::JournalStore;
use super::cadence::SaveCadence;
use super::lease::LeaseHolder;
use super::store::{Journal, JournalError};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The journal of a migration, its store and its save cadence.
#[derive(Debug)]
pub struct JournalHandle {
    state: JournalStore,
    journal: Mutex<Journal>,
    saves: SaveCadence,
    /// The shared backend's lease, when this run holds it: checked with every save's
    /// failure by [`ready`](Self::ready), released when the handle is dropped.
    lease: Option<LeaseHolder>,
}

impl JournalHandle {
    /// Creates the state directory if needed and reads the journal; a missing journal
    /// is written, empty, so the migration's state exists from its first command.
    pub fn open(state: impl Into<JournalStore>) -> Result<Self, JournalError> {
        let state = state.into();
        if let JournalStore::Local(dir) = &state {
            dir.ensure()?;
        }
        let journal = state.load()?;
        let fresh = state.is_new()?;
        let handle = Self::with(state, journal);
        if fresh {
            handle.commit(|_| ())?;
        }
        Ok(handle)
    }

    /// A handle over `journal`, saved to `state`.
    pub fn with(state: impl Into<JournalStore>, journal: Journal) -> Self {
        Self {
            state: state.into(),
            journal: Mutex::new(journal),
            saves: SaveCadence::new(),
            lease: None,
        }
    }

    /// The handle of a run holding the shared backend's `lease`.
    #[must_use]
    pub fn holding(mut self, lease: LeaseHolder) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Where the journal is stored.
    pub fn state(&self) -> &JournalStore {
        &self.state
    }

    /// The shared backend's lease this run holds, if any.
    pub fn lease(&self) -> Option<&LeaseHolder> {
        self.lease.as_ref()
    }

    /// Completes when this run loses its lease (never on the local backend).
    pub async fn lease_lost(&self) -> String {
        match &self.lease {
            Some(lease) => lease.lost().await,
            None => std::future::pending().await,
        }
    }

    fn check_lease(&self) -> Result<(), JournalError> {
        match &self.lease {
            Some(lease) => lease.check().map_err(JournalError::Lease),
            None => Ok(()),
        }
    }

    /// Reads the journal.
    pub fn read<R>(&self, read: impl FnOnce(&Journal) -> R) -> R {
        read(&self.lock())
    }

    /// A copy of the journal as it is now.
    pub fn snapshot(&self) -> Journal {
        self.lock().clone()
    }

    /// Applies `change`; it is saved within the cadence's interval (or by the next
    /// [`flush`](Self::flush)). A failed save is kept for [`ready`](Self::ready).
    pub fn change<R>(&self, change: impl FnOnce(&mut Journal) -> R) -> R {
        self.saves.change(&self.state, &self.journal, change)
    }

    /// Applies `change` and saves the journal now, with every change made before it.
    /// Refused once this run lost its lease: what it records is about to be done on a
    /// server.
    pub fn commit<R>(&self, change: impl FnOnce(&mut Journal) -> R) -> Result<R, JournalError> {
        self.check_lease()?;
        self.saves.commit(&self.state, &self.journal, change)
    }

    /// Like [`commit`](Self::commit), for a task: it waits for a write under way
    /// without blocking its thread, and callers waiting together share one write.
    pub async fn commit_together<R>(
        &self,
        change: impl FnOnce(&mut Journal) -> R,
    ) -> Result<R, JournalError> {
        self.check_lease()?;
        self.saves
            .commit_together(&self.state, &self.journal, change)
            .await
    }

    /// Saves now if a change is unsaved.
    pub fn flush(&self) -> Result<(), JournalError> {
        self.saves.flush(&self.state, &self.journal)
    }

    /// Like [`flush`](Self::flush), for a task (see [`commit_together`](Self::commit_together)).
    pub async fn flush_together(&self) -> Result<(), JournalError> {
        self.saves.flush_together(&self.state, &self.journal).await
    }

    /// Ok when every save so far succeeded (or a later one made up for it) and this run
    /// still holds its lease. Call it before each call that changes a server: an
    /// unsaved journal would not know what the call did, and without the lease another
    /// run may be changing the same sessions.
    pub fn ready(&self) -> Result<(), JournalError> {
        self.check_lease()?;
        if self.saves.failing() {
            // The store may be back: try once more before giving up.
            self.saves.save_now(&self.state, &self.journal)?;
        }
        Ok(())
    }

    /// Saves what changes leave unsaved within the cadence's interval, for as long as
    /// it is polled (it never returns). Run it beside the work that changes the
    /// journal, and [`flush`](Self::flush) when that ends.
    pub async fn keep_saved(&self) {
        self.saves.keep_saved(&self.state, &self.journal).await;
    }

    /// How many times the cadence wrote the journal.
    pub fn saves(&self) -> u64 {
        self.saves.saves()
    }

    /// The journal, for the caller to keep.
    pub fn into_inner(self) -> Journal {
        let Self { journal, lease, .. } = self;
        drop(lease);
        journal.into_inner().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::JournalHandle;
    use crate::journal::{Journal, StateDir};

    #[test]
    fn a_failed_save_is_kept_until_ready_reports_it_and_a_later_save_clears_it() {
        let tmp = tempfile::tempdir().unwrap();
        // A state "directory" that is a file: every save fails.
        let blocked = tmp.path().join("blocked");
        std::fs::write(&blocked, b"").unwrap();
        let handle = JournalHandle::with(StateDir::new(&blocked, "m1"), Journal::default());
        assert!(handle.commit(|j| j.migration = "m1".into()).is_err());
        let err = handle.ready().unwrap_err();
        assert!(err.to_string().contains("blocked"), "{err}");
        // Changes through the cadence do not hide the failure.
        handle.change(|j| {
            j.sources.entry("a".into()).or_default();
        });
        assert!(handle.ready().is_err());
        assert!(handle.flush().is_err());
        // The store is back: ready saves, and the changes are on disk.
        std::fs::remove_file(&blocked).unwrap();
        handle.ready().unwrap();
        let on_disk = StateDir::new(&blocked, "m1").load().unwrap();
        assert!(on_disk.sources.contains_key("a"));
        assert_eq!(on_disk.migration, "m1");
    }

    #[tokio::test]
    async fn a_commit_together_that_cannot_be_written_fails_and_a_later_flush_writes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let blocked = tmp.path().join("blocked");
        std::fs::write(&blocked, b"").unwrap();
        let handle = JournalHandle::with(StateDir::new(&blocked, "m1"), Journal::default());
        let err = handle
            .commit_together(|j| j.migration = "m1".into())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("blocked"), "{err}");
        assert!(handle.flush_together().await.is_err());
        std::fs::remove_file(&blocked).unwrap();
        handle.flush_together().await.unwrap();
        assert_eq!(
            StateDir::new(&blocked, "m1").load().unwrap().migration,
            "m1"
        );
    }

    #[test]
    fn commit_saves_at_once_with_earlier_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path(), "m1");
        let handle = JournalHandle::open(state.clone()).unwrap();
        handle.change(|j| {
            j.sources.entry("early".into()).or_default();
        });
        handle
            .commit(|j| {
                j.sources.entry("now".into()).or_default();
            })
            .unwrap();
        let on_disk = state.load().unwrap();
        assert!(on_disk.sources.contains_key("early") && on_disk.sources.contains_key("now"));
        handle.ready().unwrap();
    }
}
