//! Local state of a migration: the journal (session ids, item states) and the lock.

mod cadence;
mod handle;
mod lock;
mod store;
mod throughput;

pub use cadence::{SAVE_EVERY, SaveCadence};
pub use handle::JournalHandle;
pub use lock::{LockError, MigrationLock};
pub use store::{
    ItemRecord, ItemStatus, JOURNAL_VERSION, Journal, JournalError, LiveSchemas, Retired,
    SessionRecord, SourceRecord, StateDir, now, unrecorded_warning, write_atomic,
};
pub use throughput::{MAX_RUNS, RunRecord, measured_throughput};
