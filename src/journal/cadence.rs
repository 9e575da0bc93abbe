//! One save cadence for a journal that several sources change at once.
//!
//! Each save rewrites the *whole* journal (every source's items), atomically and with
//! fsync. Saving it per source and per batch made 50 concurrent enqueue loops write a
//! 10,000-record journal hundreds of times; here the changes of all sources share one
//! dirty flag and at most one save per [`SAVE_EVERY`] (or per 40 times the last save's
//! time, when saves are slow), plus a final [`flush`] (`SaveCadence::flush`) by whoever
//! needs its own changes on disk.
//!
//! Every writer of the file (this cadence and the direct saves around session creation
//! and state changes) takes its snapshot under the journal's lock and holds the
//! `writing` lock from then until it is written, or (a task's write on a blocking
//! thread) checks under `writing` that no newer snapshot was written before writing
//! its own: the file never goes back in time. While a flusher
//! ([`keep_saved`](SaveCadence::keep_saved)) runs, changes leave saving to it, and it
//! writes a copy of a local journal outside the journal's lock, on a blocking thread:
//! 10,000 enqueue answers recorded one at a time do not wait for a serialization and
//! an fsync every interval.
//!
//! Flushes are group commits: every change is counted, every write knows the count its
//! snapshot held, and a flush returns once a write holding every change made before it
//! is on disk, whoever wrote it. [`commit_together`](SaveCadence::commit_together) and
//! [`flush_together`](SaveCadence::flush_together) are for tasks: the write runs on a
//! blocking thread while the task goes on, and callers that arrive meanwhile wait for
//! it and share the next one. 50 sources of one apply (polled by one task) marking
//! their items before enqueueing them, then flushing before their sessions start,
//! wrote a 10,000-item journal 100 times one after another on that task: about 0.6 s
//! of serialization in which no source sent anything.

use crate::journal::{Journal, JournalError, JournalStore};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
// tokio's clock, so tests can pause it; outside a runtime it is the system's.
use tokio::time::Instant;

/// The longest the saved journal lags behind the changes made through the cadence,
/// while its saves are quick; see [`Cadence::interval`] for when they are not.
pub const SAVE_EVERY: Duration = Duration::from_millis(100);

/// Saves are spaced at least this many times as far apart as the last one took: a
/// large journal (10,000 items take ~6 ms to write) or a slow store then costs at
/// most 1/40 of the time in saves, instead of a save every interval whatever it costs.
const SAVE_SPACING: u32 = 40;

/// A shared "unsaved changes" flag with a time-based save cadence.
#[derive(Debug, Default)]
pub struct SaveCadence(Arc<Cadence>);

impl std::ops::Deref for SaveCadence {
    type Target = Cadence;

    fn deref(&self) -> &Cadence {
        &self.0
    }
}

/// A cadence's state, shared with the writes [`SaveCadence::flush_together`] runs on
/// a blocking thread.
#[derive(Debug)]
pub struct Cadence {
    dirty: AtomicBool,
    /// Woken when the first unsaved change is made.
    changed: tokio::sync::Notify,
    last_save: Mutex<Instant>,
    saves: AtomicU64,
    /// The last save failed and none succeeded since.
    failing: AtomicBool,
    /// Held from a snapshot's taking to its write (see the module's comment), or by a
    /// write of an earlier snapshot that checks, under it, that none newer was written.
    writing: Mutex<()>,
    /// A write of [`SaveCadence::flush_together`] is under way.
    in_flight: AtomicBool,
    /// How many flushers run: while one does, changes leave saving to it.
    flushers: AtomicUsize,
    /// How many changes were made (counted under the journal's lock).
    changes: AtomicU64,
    /// The count of changes the last successful write's snapshot held.
    saved: AtomicU64,
    /// Woken after every write.
    written: tokio::sync::Notify,
    /// How long the last write took, in microseconds.
    took_micros: AtomicU64,
}

impl Default for Cadence {
    fn default() -> Self {
        Self {
            dirty: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
            last_save: Mutex::new(Instant::now()),
            saves: AtomicU64::new(0),
            failing: AtomicBool::new(false),
            writing: Mutex::new(()),
            in_flight: AtomicBool::new(false),
            flushers: AtomicUsize::new(0),
            changes: AtomicU64::new(0),
            saved: AtomicU64::new(0),
            written: tokio::sync::Notify::new(),
            took_micros: AtomicU64::new(0),
        }
    }
}

impl SaveCadence {
    /// A cadence whose first interval starts now.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `change` to the journal and saves it if the last save through this
    /// cadence is at least one [`interval`](Cadence::interval) old and no flusher runs;
    /// otherwise the change waits for the flusher, the next due save or a
    /// [`flush`](Self::flush).
    pub fn change<R>(
        &self,
        state: &JournalStore,
        journal: &Mutex<Journal>,
        change: impl FnOnce(&mut Journal) -> R,
    ) -> R {
        let mut j = lock(journal);
        let out = change(&mut j);
        self.changed(&j);
        if self.flushers.load(Ordering::SeqCst) > 0 {
            return out;
        }
        let due = {
            let mut last = self
                .last_save
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = last.elapsed() >= self.interval();
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

    /// Counts a change just made to `_j` (held locked by the caller: the count and the
    /// journal move together) and wakes a flusher.
    fn changed(&self, _j: &Journal) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        if !self.dirty.swap(true, Ordering::SeqCst) {
            self.changed.notify_one();
        }
    }

    /// Applies `change` and returns once it is on disk with every change made before
    /// it (by this write or one another flush made meanwhile).
    pub fn commit<R>(
        &self,
        state: &JournalStore,
        journal: &Mutex<Journal>,
        change: impl FnOnce(&mut Journal) -> R,
    ) -> Result<R, JournalError> {
        let out = self.record(journal, change);
        self.flush(state, journal)?;
        Ok(out)
    }

    /// Applies `change` and counts it, under the journal's lock.
    fn record<R>(&self, journal: &Mutex<Journal>, change: impl FnOnce(&mut Journal) -> R) -> R {
        let mut j = lock(journal);
        let out = change(&mut j);
        self.changed(&j);
        out
    }

    /// Returns once every change made before this call is on disk, writing the journal
    /// if no write under way or already done holds them. Concurrent flushes share
    /// writes: those that arrive while one is written wait for it, and the first of
    /// them whose changes it lacks writes for all the others.
    pub fn flush(
        &self,
        state: &JournalStore,
        journal: &Mutex<Journal>,
    ) -> Result<(), JournalError> {
        // The caller's changes were counted under the journal's lock before this call.
        let target = self.changes.load(Ordering::SeqCst);
        let held = || self.saved.load(Ordering::SeqCst) >= target;
        if held() {
            return Ok(());
        }
        // A write under way may hold them: wait for it without holding the journal.
        drop(lock(&self.writing));
        if held() {
            return Ok(());
        }
        let j = lock(journal);
        let writing = lock(&self.writing);
        if held() {
            return Ok(());
        }
        let result = self.write_snapshot(state, j);
        drop(writing);
        self.written.notify_waiters();
        result
    }

    /// Like [`commit`](Self::commit), but waits for a write under way without blocking
    /// the thread, and shares the next write with whoever waits beside it.
    pub async fn commit_together<R>(
        &self,
        state: &JournalStore,
        journal: &Mutex<Journal>,
        change: impl FnOnce(&mut Journal) -> R,
    ) -> Result<R, JournalError> {
        let out = self.record(journal, change);
        self.flush_together(state, journal).await?;
        Ok(out)
    }

    /// Like [`flush`](Self::flush), for a task: a local journal's copy is written on a
    /// blocking thread while the task goes on, and callers that arrive while it is
    /// written wait for it, then the first whose changes it lacks writes for all.
    pub async fn flush_together(
        &self,
        state: &JournalStore,
        journal: &Mutex<Journal>,
    ) -> Result<(), JournalError> {
        // Callers polled by one task (the sources of an apply) reach this one after
        // another: a turn lets those ready to change the journal do so first, so the
        // first to come back writes for all of them.
        tokio::task::yield_now().await;
        let target = self.changes.load(Ordering::SeqCst);
        loop {
            // Registered before the check: a write ending between the two wakes it.
            let written = self.written.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            if self.saved.load(Ordering::SeqCst) >= target {
                return Ok(());
            }
            if !self.in_flight.swap(true, Ordering::SeqCst) {
                return self.write_together(state, journal).await;
            }
            written.await;
        }
    }

    /// Writes the journal as this cadence's one write under way (`in_flight` is set).
    async fn write_together(
        &self,
        state: &JournalStore,
        journal: &Mutex<Journal>,
    ) -> Result<(), JournalError> {
        let done = |result| {
            self.in_flight.store(false, Ordering::SeqCst);
            self.written.notify_waiters();
            result
        };
        let JournalStore::Local(dir) = state else {
            // A shared save merges what other runs saved into the journal itself.
            let j = lock(journal);
            let writing = lock(&self.writing);
            let result = self.write_snapshot(state, j);
            drop(writing);
            return done(result);
        };
        let (mut copy, upto) = {
            let j = lock(journal);
            // The flag is cleared with the copy taken: a change after it sets it again.
            self.dirty.store(false, Ordering::SeqCst);
            (j.clone(), self.changes.load(Ordering::SeqCst))
        };
        let cadence = Arc::clone(&self.0);
        let store = JournalStore::Local(dir.clone());
        let write = tokio::task::spawn_blocking(move || {
            let writing = lock(&cadence.writing);
            // A newer snapshot written meanwhile holds this one: writing it would take
            // the file back in time.
            let result = if cadence.saved.load(Ordering::SeqCst) >= upto {
                Ok(())
            } else {
                cadence.write(&store, &mut copy, upto)
            };
            drop(writing);
            cadence.in_flight.store(false, Ordering::SeqCst);
            cadence.written.notify_waiters();
            result
        });
        match write.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only when the runtime shuts down: nothing says the copy was written.
            Err(_) => done(Err(JournalError::Io {
                action: "write",
                path: dir.journal_path(),
                source: std::io::Error::other("the runtime stopped before the journal was written"),
            })),
        }
    }

    /// Writes a snapshot of `j` (a copy written outside its lock, but a shared
    /// journal's save merges into it); the caller holds `writing`.
    fn write_snapshot(
        &self,
        state: &JournalStore,
        mut j: MutexGuard<'_, Journal>,
    ) -> Result<(), JournalError> {
        let upto = self.changes.load(Ordering::SeqCst);
        self.dirty.store(false, Ordering::SeqCst);
        if state.is_shared() {
            return self.write(state, &mut j, upto);
        }
        let mut copy = j.clone();
        drop(j);
        self.write(state, &mut copy, upto)
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

    /// Saves what changes leave unsaved within an [`interval`](Cadence::interval), for
    /// as long as it is polled (it never returns); asleep while nothing changes. Run it
    /// beside the work that changes the journal, and [`flush`](Self::flush) when that
    /// ends.
    pub async fn keep_saved(&self, state: &JournalStore, journal: &Mutex<Journal>) {
        let _running = Flusher::start(&self.flushers);
        loop {
            self.unsaved().await;
            tokio::time::sleep(self.interval()).await;
            // On a blocking thread: the sources this flusher runs beside are polled by
            // one task, which a 10,000-item journal's write held up 5 ms every interval.
            if let Err(e) = self.flush_together(state, journal).await {
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
    fn save_locked(&self, state: &JournalStore, j: &mut Journal) -> Result<(), JournalError> {
        let writing = lock(&self.writing);
        self.dirty.store(false, Ordering::SeqCst);
        let upto = self.changes.load(Ordering::SeqCst);
        let result = self.write(state, j, upto);
        drop(writing);
        self.written.notify_waiters();
        result
    }
}

impl Cadence {
    /// How long changes may wait for a save: [`SAVE_EVERY`], or [`SAVE_SPACING`]
    /// times the last write's time when that is longer.
    pub fn interval(&self) -> Duration {
        spacing(Duration::from_micros(
            self.took_micros.load(Ordering::Relaxed),
        ))
    }

    /// Writes `j`, a snapshot taken (and the dirty flag cleared) under the journal's
    /// lock when `upto` changes had been made; the caller holds `writing` from then
    /// until this returns, and wakes [`written`](Self::written)'s waiters once it has
    /// let `writing` go (woken before, they would find it taken and sleep on).
    fn write(&self, state: &JournalStore, j: &mut Journal, upto: u64) -> Result<(), JournalError> {
        self.saves.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let result = state.save(j);
        let took = started.elapsed();
        self.took_micros.store(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        tracing::trace!(elapsed = ?took, ok = result.is_ok(), "journal written");
        if result.is_ok() {
            self.saved.fetch_max(upto, Ordering::SeqCst);
        }
        // Not on disk: the next due save or flush tries again.
        self.dirty.fetch_or(result.is_err(), Ordering::SeqCst);
        self.failing.store(result.is_err(), Ordering::SeqCst);
        result
    }
}

/// The interval between saves after one that `took` this long.
fn spacing(took: Duration) -> Duration {
    SAVE_EVERY.max(took.saturating_mul(SAVE_SPACING))
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
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                while !stop.load(Ordering::SeqCst) {
                    runtime
                        .block_on(cadence.flush_together(&state, &journal))
                        .unwrap();
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

    #[test]
    fn flushes_waiting_on_a_write_under_way_share_one_write() {
        use std::sync::atomic::Ordering;
        let (_tmp, state, journal, cadence) = fresh();
        // A write under way: every flush waits for it.
        let writing = cadence.writing.lock().unwrap();
        std::thread::scope(|s| {
            let flushes: Vec<_> = (0..8)
                .map(|t| {
                    let (state, journal, cadence) = (&state, &journal, &cadence);
                    s.spawn(move || {
                        cadence.change(state, journal, |j| {
                            j.sources.entry(format!("s{t}")).or_default();
                        });
                        cadence.flush(state, journal).unwrap();
                        // Its own change is on disk when its flush returns.
                        state.load().unwrap().sources.contains_key(&format!("s{t}"))
                    })
                })
                .collect();
            while cadence.changes.load(Ordering::SeqCst) < 8 {
                std::thread::yield_now();
            }
            drop(writing);
            let on_disk: Vec<bool> = flushes.into_iter().map(|f| f.join().unwrap()).collect();
            assert_eq!(on_disk, vec![true; 8]);
        });
        // The first flush to write held every change: the others had nothing to write.
        assert_eq!(cadence.saves(), 1);
        assert_eq!(state.load().unwrap().sources.len(), 8);
    }

    #[tokio::test]
    async fn tasks_committing_while_a_write_is_under_way_wait_without_blocking_and_share_one_write()
    {
        use std::sync::atomic::Ordering;
        let (_tmp, state, journal, cadence) = fresh();
        // A write under way that ends only when this very task says so: a commit that
        // blocked the thread on it would never return.
        cadence.in_flight.store(true, Ordering::SeqCst);
        let commits = futures::future::join_all((0..8).map(|t| {
            cadence.commit_together(&state, &journal, move |j| {
                j.sources.entry(format!("s{t}")).or_default();
            })
        }));
        tokio::pin!(commits);
        assert!(futures::poll!(commits.as_mut()).is_pending());
        assert_eq!(
            cadence.changes.load(Ordering::SeqCst),
            8,
            "all made their change"
        );
        assert_eq!(cadence.saves(), 0);
        // The write ends: one of the eight writes for all.
        cadence.in_flight.store(false, Ordering::SeqCst);
        cadence.written.notify_waiters();
        for result in commits.await {
            result.unwrap();
        }
        assert_eq!(cadence.saves(), 1);
        assert_eq!(state.load().unwrap().sources.len(), 8);
        // Nothing new: a flush writes nothing.
        cadence.flush_together(&state, &journal).await.unwrap();
        assert_eq!(cadence.saves(), 1);
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
        // Without it, a due change saves at once again (due after the interval the
        // flusher's real write leaves, SAVE_EVERY unless the disk was slow).
        drop(flusher);
        tokio::time::advance(cadence.interval()).await;
        cadence.change(&state, &journal, |j| {
            j.sources.entry("b".into()).or_default();
        });
        assert!(state.load().unwrap().sources.contains_key("b"));
    }

    #[tokio::test]
    async fn a_flusher_writes_on_a_blocking_thread_while_the_task_beside_it_goes_on() {
        use std::sync::atomic::Ordering;
        let (_tmp, state, journal, cadence) = fresh();
        // Another thread holds the write lock (a slow disk): the flusher's write waits
        // for it. Released when told, or after 10 s so that a flusher blocking this
        // task's thread fails the test instead of hanging it.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (locked_tx, locked) = std::sync::mpsc::channel::<()>();
        let inner = std::sync::Arc::clone(&cadence.0);
        let holder = std::thread::spawn(move || {
            let _writing = inner.writing.lock().unwrap();
            locked_tx.send(()).unwrap();
            let _ = held.recv_timeout(std::time::Duration::from_secs(10));
        });
        locked.recv().unwrap();
        let flusher = cadence.keep_saved(&state, &journal);
        tokio::pin!(flusher);
        let beside = async {
            cadence.change(&state, &journal, |j| {
                j.sources.entry("a".into()).or_default();
            });
            tokio::time::sleep(SAVE_EVERY * 3).await;
            // This task runs on while the write waits for the disk.
            let under_way = cadence.in_flight.load(Ordering::SeqCst);
            let saves = cadence.saves();
            release.send(()).unwrap();
            // Until the write is done (`saves` counts a write as it begins).
            while cadence.saved.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(SAVE_EVERY / 10).await;
            }
            (under_way, saves)
        };
        tokio::select! {
            () = &mut flusher => unreachable!("a flusher never ends"),
            (under_way, saves) = beside => {
                assert!(under_way, "the write was under way");
                assert_eq!(saves, 0, "and not done while the disk was held");
            }
        }
        holder.join().unwrap();
        assert!(state.load().unwrap().sources.contains_key("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_save_spaces_the_saves_after_it() {
        use std::sync::atomic::Ordering;
        use std::time::Duration;
        let (_tmp, state, journal, cadence) = fresh();
        let change = |name: &str| {
            cadence.change(&state, &journal, |j| {
                j.sources.entry(name.into()).or_default();
            });
        };
        tokio::time::advance(SAVE_EVERY).await;
        change("a");
        assert_eq!(cadence.saves(), 1, "a quick store saves every interval");
        // A write that took 10 ms (a 10,000-item journal, a slow disk): the next is
        // due 40 times later, not after SAVE_EVERY.
        cadence.took_micros.store(10_000, Ordering::Relaxed);
        assert_eq!(cadence.interval(), Duration::from_millis(400));
        tokio::time::advance(SAVE_EVERY).await;
        change("b");
        assert_eq!(cadence.saves(), 1, "not due yet");
        tokio::time::advance(Duration::from_millis(300)).await;
        change("c");
        assert_eq!(cadence.saves(), 2);
        let saved = state.load().unwrap();
        assert!(
            ["a", "b", "c"]
                .iter()
                .all(|k| saved.sources.contains_key(*k))
        );
        // A quick write brings the interval back.
        assert_eq!(super::spacing(Duration::from_micros(500)), SAVE_EVERY);
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
