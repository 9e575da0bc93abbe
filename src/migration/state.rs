//! Opening a migration's state (journal and lock) in the backend its manifest names,
//! and the commands that act on the state itself: `unlock`, `state pull|push`.

use crate::journal::lease::{self, LeaseRecord};
use crate::journal::shared::{SharedSettings, SharedStore};
use crate::journal::{
    JournalError, JournalHandle, JournalStore, LockError, MigrationLock, SharedJournal, StateDir,
};
use crate::manifest::{BackendKind, Manifest};
use crate::migration::{MigrationError, Notify};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The state flags every command takes.
#[derive(Debug, Clone, Copy, Default)]
pub struct StateFlags<'a> {
    /// `--state-dir`: the local state directory (default `.whm-migrate` beside the
    /// manifest); with a shared backend it holds only local files (rehearsals).
    pub dir: Option<&'a Path>,
    /// `--lock-timeout`: how long to wait for a lock another run holds.
    pub lock_wait: Duration,
}

/// How a command uses the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Holds the lock (`plan`, `apply`, `cleanup`, …).
    Locked(&'static str),
    /// Reads beside a running apply (status, logs, pause…): no lock, no writes.
    Read,
    /// Writes beside a running apply without the lock (`plan --no-keep` on a shared
    /// backend): every write is a compare-and-swap merged with the holder's. On the
    /// local backend, which cannot merge, it holds the lock like `Locked`.
    Beside(&'static str),
}

/// An opened state: the journal (holding the shared lease when taken) and the local
/// lock when taken.
pub(super) struct Opened {
    pub journal: JournalHandle,
    pub lock: Option<MigrationLock>,
}

/// The shared backend's settings, when the manifest names one.
pub fn shared_settings(manifest: &Manifest) -> Option<SharedSettings> {
    let state = &manifest.state;
    (state.backend == BackendKind::S3).then(|| SharedSettings {
        bucket: state.bucket.clone().unwrap_or_default(),
        prefix: state.prefix.clone().unwrap_or_default(),
        region: state.region.clone(),
        endpoint: state.endpoint.clone(),
        lease: Duration::from_secs(
            state
                .lease_seconds
                .unwrap_or(crate::manifest::StateBackend::DEFAULT_LEASE_SECONDS),
        ),
        credentials: None,
    })
}

/// Connects to the manifest's shared backend, if it names one.
pub fn connect(manifest: &Manifest) -> Result<Option<Arc<SharedStore>>, MigrationError> {
    let Some(settings) = shared_settings(manifest) else {
        return Ok(None);
    };
    SharedStore::connect(&settings)
        .map(|s| Some(Arc::new(s)))
        .map_err(|e| {
            MigrationError::Journal(JournalError::Store {
                action: "open",
                url: format!("s3://{}/{}", settings.bucket, settings.prefix),
                detail: e.to_string(),
            })
        })
}

/// Opens the journal of `manifest` for `access`.
pub(super) fn open(
    manifest: &Manifest,
    root: &Path,
    access: Access,
    wait: Duration,
    notify: &dyn Notify,
) -> Result<Opened, MigrationError> {
    let local = StateDir::new(root, &manifest.name);
    let Some(store) = connect(manifest)? else {
        return open_local(local, access, wait);
    };
    let journal = JournalStore::Shared(SharedJournal::new(store.clone(), &manifest.name));
    let journal = match access {
        Access::Read => {
            let read = journal.load()?;
            JournalHandle::with(journal, read)
        }
        Access::Beside(_) => JournalHandle::open(journal)?,
        Access::Locked(command) => {
            let lease = take_lease(&store, &manifest.name, command, wait, notify)?;
            JournalHandle::open(journal)?.holding(lease)
        }
    };
    Ok(Opened {
        journal,
        lock: None,
    })
}

fn open_local(local: StateDir, access: Access, wait: Duration) -> Result<Opened, MigrationError> {
    let (Access::Locked(command) | Access::Beside(command)) = access else {
        // Beside a running apply: read the journal as it is, never create the dir.
        let journal = local.load()?;
        return Ok(Opened {
            journal: JournalHandle::with(local, journal),
            lock: None,
        });
    };
    local.ensure()?;
    let deadline = Instant::now() + wait;
    let lock = loop {
        match MigrationLock::acquire(&local.lock_path(), command) {
            Err(LockError::Held { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(500).min(deadline - Instant::now()));
            }
            other => break other?,
        }
    };
    Ok(Opened {
        journal: JournalHandle::open(local)?,
        lock: Some(lock),
    })
}

fn take_lease(
    store: &Arc<SharedStore>,
    name: &str,
    command: &str,
    wait: Duration,
    notify: &dyn Notify,
) -> Result<lease::LeaseHolder, MigrationError> {
    let (lease, expired) = lease::acquire(store, &lock_object(name), command, wait)?;
    if let Some(previous) = expired {
        notify.warn(&format!(
            "took over the lock of {}: its lease ran out without a renewal ({}). If that run is still alive it stops before its next change to a server",
            store.url(&lock_object(name)),
            previous.describe()
        ));
    }
    Ok(lease)
}

fn lock_object(migration: &str) -> String {
    format!("{migration}.lock")
}

/// Breaks the shared lock `id` of `manifest` by hand; returns what it held.
pub fn unlock(manifest: &Manifest, id: &str) -> Result<LeaseRecord, MigrationError> {
    let Some(store) = connect(manifest)? else {
        return Err(MigrationError::LocalUnlock);
    };
    Ok(lease::unlock(&store, &lock_object(&manifest.name), id)?)
}

/// Which way `state pull|push` moves the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// From the shared backend into the local state directory.
    Pull,
    /// From the local state directory into the shared backend.
    Push,
}

/// Moves the journal between the local state directory and the shared backend, with
/// the shared lock held. Refuses to replace a journal that knows sessions the one
/// moved does not, unless `replace`. Returns where it was written.
pub fn transfer(
    manifest: &Manifest,
    root: &Path,
    way: Transfer,
    replace: bool,
    flags: StateFlags<'_>,
    notify: &dyn Notify,
) -> Result<String, MigrationError> {
    let Some(store) = connect(manifest)? else {
        return Err(MigrationError::NoSharedBackend);
    };
    let lease = take_lease(&store, &manifest.name, "state", flags.lock_wait, notify)?;
    let local = StateDir::new(root, &manifest.name);
    let shared = JournalStore::Shared(SharedJournal::new(store, &manifest.name));
    let local_store = JournalStore::from(local.clone());
    let (from, to) = match way {
        Transfer::Pull => (&shared, &local_store),
        Transfer::Push => (&local_store, &shared),
    };
    let mut moved = from.load()?;
    let there = to.load()?;
    let sessions = |j: &crate::journal::Journal| -> Vec<String> {
        j.sources
            .values()
            .flat_map(|s| s.session.iter().chain(&s.previous_sessions))
            .map(|s| s.id.clone())
            .collect()
    };
    let lost: Vec<String> = sessions(&there)
        .into_iter()
        .filter(|id| !sessions(&moved).contains(id))
        .collect();
    if !lost.is_empty() && !replace {
        return Err(MigrationError::StateWouldLose {
            to: to.location(),
            sessions: lost,
        });
    }
    if way == Transfer::Pull {
        local.ensure()?;
    }
    to.save(&mut moved)?;
    lease.release();
    Ok(to.location())
}
