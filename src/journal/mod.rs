//! Local state of a migration: the journal (session ids, item states) and the lock.

mod cadence;
mod lock;
mod store;
mod throughput;

pub use cadence::{SAVE_EVERY, SaveCadence};
pub use lock::{LockError, MigrationLock};
pub use store::{
    ItemRecord, JOURNAL_VERSION, Journal, JournalError, SessionRecord, SourceRecord, StateDir, now,
    unrecorded_warning, write_atomic,
};
pub use throughput::{MAX_RUNS, RunRecord, measured_throughput};
