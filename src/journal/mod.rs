//! Local state of a migration: the journal (session ids, item states) and the lock.

mod lock;
mod store;

pub use lock::{LockError, MigrationLock};
pub use store::{
    ItemRecord, JOURNAL_VERSION, Journal, JournalError, SessionRecord, SourceRecord, StateDir, now,
    unrecorded_warning, write_atomic,
};
