//! One save cadence for a journal that several sources change at once.
//!
//! Each save rewrites the *whole* journal (every source's items), atomically and with
//! fsync. Saving it per source and per batch made 50 concurrent enqueue loops write a
//! 10,000-record journal hundreds of times; here the changes of all sources share one
//! dirty flag and at most one save per [`SAVE_EVERY`], plus a final [`flush`]
//! (`SaveCadence::flush`) by whoever needs its own changes on disk.
//!
//! Every writer of the file (this cadence and the direct saves around session creation
//! and state changes) takes its snapshot under the journal's lock and holds the
//! `writing` lock from then until it is written, so snapshots reach the file in the
//! order they were taken: the file never goes back in time. While a flusher
//! ([`keep_saved`](SaveCadence::keep_saved)) runs, changes leave saving to it, and it
//! writes a copy of a local journal outside the journal's lock: 10,000 enqueue answers
//! recorded one at a time do not wait for a serialization and an fsync every interval.

use crate::journal::{Journal, JournalError, JournalStore};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
// tokio's clock, so tests can pause it; outside a runtime it is the system's.
use tokio::time::Instant;

/// The longest the saved journal lags behind the changes made through the cadence.
pub const SAVE_EVERY: Duration = Duration::from_millis(100);

/// A shared "unsaved changes" flag with a time-based save cadence.
#[derive(Debug)]
pub struct SaveCadence {
    dirty: AtomicBool,
    /// Woken when the first unsaved change is made.
    changed: tokio::sync::Notify,
    last_save: Mutex<Instant>,
    saves: AtomicU64,
    /// The last save failed and none succeeded since.
    failing: AtomicBool,
    /// Held from a snapshot's taking to its write (see the module's comment).
    writing: Mutex<()>,
    /// How many flushers run: while one does, changes leave saving to it.
    flushers: AtomicUsize,
}

impl Default for SaveCadence {
    fn default() -> Self {
        Self {
            dirty: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
            last_save: Mutex::new(Instant::now()),
            saves: AtomicU64::new(0),
            failing: AtomicBool::new(false),
            writing: Mutex::new(()),
            flushers: AtomicUsize::new(0),
        }
    }
}

impl SaveCadence {
    /// A cadence whose first interval starts now.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `change` to the journal and saves it if the last save through this
    /// cadence is at least [`SAVE_EVERY`] old and no flusher runs; otherwise the change
    /// waits for the flusher, the next due save or a [`flush`](Self::flush).
    pub fn change<R>(
        &self,
        state: &JournalStore,
        journal: &Mutex<Journal>,
        change: impl FnOnce(&mut Journal) -> R,
    ) -> R {
        let mut j = lock(journal);
        let out = change(&mut j);
        if !self.dirty.swap(true, Ordering::SeqCst) {
            self.changed.notify_one();
        }
        if self.flushers.load(Ordering::SeqCst) > 0 {
            return out;
        }
        let due = {
            let mut last = self
                .last_save
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = last.elapsed() >= SAVE_EVERY;
            if due {
                *last = Instant::now();
            }
            due
        };
        if due && let Err(e) = self.save_locked(state, &mut j) {
            // Kept (`failing`) for the next call that changes a server to report.
            tracing::debug!("the journal could not be saved: {e}");
        }
        out
    }

    /// Saves the journal now if any change made through this cadence is not on disk.
    /// Changes are recorded under the journal's lock, so a save that cleared the flag
    /// after a change took a snapshot holding it; one still being written is waited
    /// for, and saved again here if it failed.
    pub fn flush(
        &self,
        state: &JournalStore,
        journal: &Mutex<Journal>,
    ) -> Result<(), JournalError> {
        let mut j = lock(journal);
        let _writing = lock(&self.writing);
        if self.dirty.load(Ordering::SeqCst) {
            self.save_written(state, &mut j)
        } else {
            Ok(())
        }
    }

    /// Like [`flush`](Self::flush), but a local journal is copied under its lock and
    /// written outside it, so changes go on while it is written.
    fn flush_behind(
        &self,
        state: &JournalStore,
        journal: &Mutex<Journal>,
    ) -> Result<(), JournalError> {
        if state.is_shared() {
            // A shared save merges what other runs saved into the journal itself.
            return self.flush(state, journal);
        }
        let j = lock(journal);
        let writing = lock(&self.writing);
        if !self.dirty.load(Ordering::SeqCst) {
            return Ok(());
        }
        // Cleared with the copy taken: a change made after it sets the flag again.
        self.dirty.store(false, Ordering::SeqCst);
        let mut copy = j.clone();
        drop(j);
        let result = self.write(state, &mut copy);
        drop(writing);
        result
    }

    /// Returns once a change is unsaved (at once if one is), so a flusher can sleep
    /// while nothing changes instead of waking every interval.
    pub async fn unsaved(&self) {
        // A change between the check and the wait leaves a permit, so no wake-up is
        // lost; a permit left by a change saved since is a wake-up for nothing: wait on.
        while !self.dirty.load(Ordering::SeqCst) {
            self.changed.notified().await;
        }
    }

    /// Saves what changes leave unsaved within [`SAVE_EVERY`], for as long as it is
    /// polled (it never returns); asleep while nothing changes. Run it beside the
    /// work that changes the journal, and [`flush`](Self::flush) when that ends.
    pub async fn keep_saved(&self, state: &JournalStore, journal: &Mutex<Journal>) {
        let _running = Flusher::start(&self.flushers);
        loop {
            self.unsaved().await;
            tokio::time::sleep(SAVE_EVERY).await;
            if let Err(e) = self.flush_behind(state, journal) {
                // Kept (`failing`); the flag stays dirty, so this loop tries again.
                tracing::debug!("the journal could not be saved: {e}");
            }
        }
    }

    /// Whether the last save failed and none succeeded since.
    pub fn failing(&self) -> bool {
        self.failing.load(Ordering::SeqCst)
    }

    /// Saves now, whether or not a change is unsaved.
    pub fn save_now(
        &self,
        state: &JournalStore,
        journal: &Mutex<Journal>,
    ) -> Result<(), JournalError> {
        self.save_locked(state, &mut lock(journal))
    }

    /// How many times this cadence wrote the journal.
    pub fn saves(&self) -> u64 {
        self.saves.load(Ordering::Relaxed)
    }

    /// Saves `j`, which the caller holds locked, once a snapshot being written is.
    pub(super) fn save_locked(
        &self,
        state: &JournalStore,
        j: &mut Journal,
    ) -> Result<(), JournalError> {
        let _writing = lock(&self.writing);
        self.save_written(state, j)
    }

    /// Saves `j`, which the caller holds locked, and holds `writing`.
    fn save_written(&self, state: &JournalStore, j: &mut Journal) -> Result<(), JournalError> {
        self.dirty.store(false, Ordering::SeqCst);
        self.write(state, j)
    }

    /// Writes `j`, a snapshot taken (and the dirty flag cleared) under the journal's
    /// lock; the caller holds `writing` from then until this returns.
    fn write(&self, state: &JournalStore, j: &mut Journal) -> Result<(), JournalError> {
        self.saves.fetch_add(1, Ordering::Relaxed);
        let result = state.save(j);
        // Not on disk: the next due save or flush tries again.
        self.dirty.fetch_or(result.is_err(), Ordering::SeqCst);
        self.failing.store(result.is_err(), Ordering::SeqCst);
        result
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts a running flusher for as long as it lives (a flusher is dropped, never ends).
struct Flusher<'a>(&'a AtomicUsize);

impl<'a> Flusher<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Flusher<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::{SAVE_EVERY, SaveCadence};
    use crate::journal::{Journal, JournalStore, StateDir};
    use std::sync::Mutex;

    /// An empty journal in a temporary state dir (kept while the first value lives),
    /// and a new cadence.
    fn fresh() -> (tempfile::TempDir, JournalStore, Mutex<Journal>, SaveCadence) {
        let tmp = tempfile::tempdir().unwrap();
        let state = JournalStore::from(StateDir::new(tmp.path(), "m1"));
        let journal = Mutex::new(state.load().unwrap());
        (tmp, state, journal, SaveCadence::new())
    }

    #[tokio::test(start_paused = true)]
    async fn changes_within_one_interval_share_a_save_and_flush_writes_them() {
        let (_tmp, state, journal, cadence) = fresh();
        // The first interval starts at creation; the clock is paused, so it moves only
        // as told: a thousand changes over 2.5 intervals cost at most one save each.
        let started = tokio::time::Instant::now();
        for i in 0..1000 {
            cadence.change(&state, &journal, |j| {
                j.sources.entry(format!("s{}", i % 7)).or_default();
            });
            if i % 400 == 399 {
                tokio::time::advance(SAVE_EVERY).await;
            }
        }
        tokio::time::advance(SAVE_EVERY / 2).await;
        let intervals = started.elapsed().as_millis() / SAVE_EVERY.as_millis();
        assert_eq!(intervals, 2);
        assert!(
            u128::from(cadence.saves()) <= intervals,
            "{}",
            cadence.saves()
        );
        cadence.flush(&state, &journal).unwrap();
        assert_eq!(state.load().unwrap().sources.len(), 7);
        // Nothing new: a second flush writes nothing.
        let saves = cadence.saves();
        cadence.flush(&state, &journal).unwrap();
        assert_eq!(cadence.saves(), saves);
    }

    #[test]
    fn changes_from_many_threads_are_all_on_disk_after_each_ones_flush() {
        let (_tmp, state, journal, cadence) = fresh();
        std::thread::scope(|s| {
            for t in 0..8 {
                let (state, journal, cadence) = (&state, &journal, &cadence);
                s.spawn(move || {
                    for i in 0..200 {
                        cadence.change(state, journal, |j| {
                            j.sources.entry(format!("t{t}-{i}")).or_default();
                        });
                    }
                    cadence.flush(state, journal).unwrap();
                });
            }
        });
        assert_eq!(state.load().unwrap().sources.len(), 8 * 200);
    }

    #[test]
    fn a_flush_has_its_changes_on_disk_while_copies_are_written_beside_it() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let (_tmp, state, journal, cadence) = fresh();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            // A flusher writing copies as fast as it can: a flush may find the flag
            // cleared by a copy still being written, and must wait for it.
            s.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    cadence.flush_behind(&state, &journal).unwrap();
                }
            });
            let writers: Vec<_> = (0..4)
                .map(|t| {
                    let (state, journal, cadence) = (&state, &journal, &cadence);
                    s.spawn(move || {
                        (0..100)
                            .map(|i| format!("t{t}-{i}"))
                            .filter(|key| {
                                cadence.change(state, journal, |j| {
                                    j.sources.entry(key.clone()).or_default();
                                });
                                cadence.flush(state, journal).is_err()
                                    || !state.load().is_ok_and(|j| j.sources.contains_key(key))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let missing: Vec<_> = writers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_default())
                .collect();
            stop.store(true, Ordering::SeqCst);
            assert!(
                missing.is_empty(),
                "not on disk after their flush: {missing:?}"
            );
        });
        assert_eq!(state.load().unwrap().sources.len(), 4 * 100);
    }

    #[tokio::test(start_paused = true)]
    async fn while_a_flusher_runs_changes_leave_saving_to_it() {
        use futures::FutureExt as _;
        let (_tmp, state, journal, cadence) = fresh();
        let mut flusher = Box::pin(cadence.keep_saved(&state, &journal));
        assert!((&mut flusher).now_or_never().is_none(), "it runs");
        tokio::time::advance(SAVE_EVERY * 2).await;
        // Due by the clock, but the flusher saves it, not the change's caller.
        cadence.change(&state, &journal, |j| {
            j.sources.entry("a".into()).or_default();
        });
        assert_eq!(cadence.saves(), 0);
        assert!(!state.load().unwrap().sources.contains_key("a"));
        tokio::select! {
            () = &mut flusher => unreachable!("a flusher never ends"),
            () = tokio::time::sleep(SAVE_EVERY * 2) => {}
        }
        assert_eq!(cadence.saves(), 1);
        assert!(state.load().unwrap().sources.contains_key("a"));
        // Without it, a due change saves at once again.
        drop(flusher);
        tokio::time::advance(SAVE_EVERY).await;
        cadence.change(&state, &journal, |j| {
            j.sources.entry("b".into()).or_default();
        });
        assert!(state.load().unwrap().sources.contains_key("b"));
    }

    #[test]
    fn unsaved_waits_for_a_change_and_not_after_a_flush() {
        use futures::FutureExt as _;
        let (_tmp, state, journal, cadence) = fresh();
        assert!(
            cadence.unsaved().now_or_never().is_none(),
            "nothing changed"
        );
        cadence.change(&state, &journal, |j| {
            j.sources.entry("a".into()).or_default();
        });
        assert!(
            cadence.unsaved().now_or_never().is_some(),
            "a change is unsaved"
        );
        cadence.flush(&state, &journal).unwrap();
        assert!(cadence.unsaved().now_or_never().is_none(), "all saved");
        assert!(state.load().unwrap().sources.contains_key("a"));
    }
}
