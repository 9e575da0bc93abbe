//! Where a journal is kept: the local state directory, or a shared bucket where every
//! save is a compare-and-swap on the object's ETag.

use super::merge::merge;
use super::shared::{SharedStore, StoreError, Version, Write};
use super::store::{Journal, JournalError, StateDir, parse};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// How many times a save merges another writer's change and tries again before it
/// gives up (each round means another writer saved in between).
const MERGE_ROUNDS: u32 = 60;

/// A random pause before round `round`, growing, so writers that keep meeting spread
/// out instead of colliding again.
fn backoff(round: u32) -> std::time::Duration {
    let cap = 10u64 << round.min(6);
    std::time::Duration::from_millis(rand::random_range(0..=cap))
}

/// A journal's store.
#[derive(Debug)]
pub enum JournalStore {
    /// A file in the local state directory.
    Local(StateDir),
    /// An object in a shared bucket.
    Shared(SharedJournal),
}

impl From<StateDir> for JournalStore {
    fn from(dir: StateDir) -> Self {
        Self::Local(dir)
    }
}

impl JournalStore {
    /// Reads the journal (an empty one when there is none yet).
    pub fn load(&self) -> Result<Journal, JournalError> {
        match self {
            Self::Local(dir) => dir.load(),
            Self::Shared(shared) => shared.load(),
        }
    }

    /// Saves `journal`. On the shared store, a change another run saved since this one
    /// read is merged into `journal` (see [`super::merge`]).
    pub fn save(&self, journal: &mut Journal) -> Result<(), JournalError> {
        match self {
            Self::Local(dir) => dir.save(journal),
            Self::Shared(shared) => shared.save(journal),
        }
    }

    /// Whether the journal does not exist yet.
    pub fn is_new(&self) -> Result<bool, JournalError> {
        match self {
            Self::Local(dir) => Ok(!dir.journal_path().exists()),
            Self::Shared(shared) => Ok(shared.base().is_none()),
        }
    }

    /// Whether it is the shared backend.
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Shared(_))
    }

    /// Where it is, for messages: a path or an `s3://` URL.
    pub fn location(&self) -> String {
        match self {
            Self::Local(dir) => dir.journal_path().display().to_string(),
            Self::Shared(shared) => shared.url(),
        }
    }
}

/// The journal object of one migration in a shared bucket, with the version this run
/// last read or wrote (the base of its next compare-and-swap).
#[derive(Debug)]
pub struct SharedJournal {
    store: Arc<SharedStore>,
    object: String,
    base: Mutex<Option<(serde_json::Value, Version)>>,
}

impl SharedJournal {
    /// The journal of `migration` in `store`.
    pub fn new(store: Arc<SharedStore>, migration: &str) -> Self {
        Self {
            store,
            object: format!("{migration}.json"),
            base: Mutex::new(None),
        }
    }

    /// The object's URL.
    pub fn url(&self) -> String {
        self.store.url(&self.object)
    }

    fn base(&self) -> std::sync::MutexGuard<'_, Option<(serde_json::Value, Version)>> {
        self.base.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn store_error(&self, action: &'static str, e: &StoreError) -> JournalError {
        JournalError::Store {
            action,
            url: self.url(),
            detail: e.to_string(),
        }
    }

    /// Reads the journal and remembers its version.
    pub fn load(&self) -> Result<Journal, JournalError> {
        let migration = self.object.trim_end_matches(".json");
        let Some(journal) = self.read()? else {
            *self.base() = None;
            return Ok(Journal {
                migration: migration.to_owned(),
                ..Journal::default()
            });
        };
        let (journal, value, version) = journal;
        *self.base() = Some((value, version));
        Ok(journal)
    }

    #[allow(clippy::type_complexity)]
    fn read(&self) -> Result<Option<(Journal, serde_json::Value, Version)>, JournalError> {
        let Some((bytes, version)) = self
            .store
            .get(&self.object)
            .map_err(|e| self.store_error("read", &e))?
        else {
            return Ok(None);
        };
        let journal = parse(&bytes, &PathBuf::from(self.url()))?;
        let value = to_value(&journal);
        Ok(Some((journal, value, version)))
    }

    /// Writes `journal` if the object is still at the version last seen; otherwise
    /// merges the other writer's change into it and tries again.
    pub fn save(&self, journal: &mut Journal) -> Result<(), JournalError> {
        let mut base = self.base();
        let mut ours = to_value(journal);
        for round in 0..MERGE_ROUNDS {
            // Written even when unchanged: a commit is also the proof that the store
            // still takes writes before the next call to a server.
            let how = match &*base {
                Some((_, version)) => Write::Replace(version.clone()),
                None => Write::Create,
            };
            match self.store.put(&self.object, to_bytes(journal), how) {
                Ok(version) => {
                    *base = Some((ours, version));
                    return Ok(());
                }
                Err(StoreError::Changed) => {}
                Err(e) => return Err(self.store_error("write", &e)),
            }
            let Some((_, theirs, version)) = self.read()? else {
                // Deleted since: write ours as a new object.
                *base = None;
                continue;
            };
            let seen = base
                .as_ref()
                .map_or_else(|| to_value(&Journal::default()), |(v, _)| v.clone());
            let merged = merge(&seen, &ours, &theirs).map_err(|c| JournalError::Conflict {
                url: self.url(),
                place: c.0,
            })?;
            *journal = serde_json::from_value(merged.clone()).map_err(|e| JournalError::Store {
                action: "merge",
                url: self.url(),
                detail: e.to_string(),
            })?;
            ours = merged;
            *base = Some((theirs, version));
            std::thread::sleep(backoff(round));
        }
        Err(JournalError::Store {
            action: "write",
            url: self.url(),
            detail: format!("other runs changed it {MERGE_ROUNDS} times in a row"),
        })
    }
}

fn to_value(journal: &Journal) -> serde_json::Value {
    serde_json::to_value(journal).expect("a journal serializes")
}

fn to_bytes(journal: &Journal) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(journal).expect("a journal serializes");
    bytes.push(b'\n');
    bytes
}
