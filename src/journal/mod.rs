//! The state of a migration: the journal (session ids, item states) and the lock, in
//! the local state directory or a shared bucket.

mod backend;
mod cadence;
mod handle;
pub mod lease;
mod lock;
mod merge;
pub mod shared;
mod store;
mod throughput;

pub use backend::{JournalStore, SharedJournal};
pub use cadence::{SAVE_EVERY, SaveCadence};
pub use handle::JournalHandle;
pub use lock::{LockError, MigrationLock};
pub use store::{
    ItemRecord, ItemStatus, JOURNAL_VERSION, Journal, JournalError, LiveSchemas, Probe, Retired,
    SessionRecord, SourceRecord, StateDir, now, unrecorded_warning, write_atomic,
};
pub use throughput::{
    MAX_RUNS, RunRecord, StepPace, measured_pace, measured_throughput, source_pace,
};
