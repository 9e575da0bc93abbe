//! The application layer: a migration opened once (manifest, secrets, state, lock,
//! destination client), then planned, applied, rehearsed, cleaned up, inspected and
//! controlled through library calls with typed results and typed errors.
//!
//! The command line parses, calls one of these, prints the result and maps it to an
//! exit status; it holds no migration logic. Messages meant for the user while a call
//! runs (warnings, "discarded session …") go through [`Notify`], which the command
//! line implements with its printer.

mod adopt;
mod analysis_session;
mod applying;
mod cleanup;
mod control;
mod error;
mod initializing;
mod planning;
pub mod process;
mod rehearsing;
mod report;
mod schemas;
pub mod settings;
pub mod state;
mod verifying;
mod watch;

pub use adopt::Adopted;
pub use applying::{ApplyOptions, ApplyOutcome, Interrupted, rerun_args};
pub use cleanup::{Cleaned, CleanupOptions, Discarded};
pub use control::{Action, Controlled, LogLine};
pub use error::MigrationError;
pub use initializing::{InitTarget, Initialized, init};
pub use planning::{PlanScope, Planned, load_target, save_junit, save_markdown, save_plan};
pub use rehearsing::{Prepared, RehearseOptions, Rehearsed};
pub use report::apply_report;
pub use state::{Access, StateFlags, Transfer};
pub use verifying::{VerifyOptions, save_verify_junit, verify_manifest};
pub use watch::SourceWatcher;

use crate::journal::{JournalHandle, MigrationLock, unrecorded_warning};
use crate::manifest::{Diagnostics, Manifest, SecretRef, SecretScope};
use crate::whm::WhmClient;
use settings::Destination;
use std::path::{Path, PathBuf};

/// Where a migration's messages go while a call runs.
pub trait Notify: Send + Sync {
    /// A progress or status message.
    fn info(&self, text: &str);
    /// A warning.
    fn warn(&self, text: &str);
    /// The warnings of a valid manifest.
    fn diagnostics(&self, diags: &Diagnostics);
    /// A part of the command's result, as soon as it is known (a rehearsal's report of
    /// each run of apply).
    fn report(&self, text: &str);
}

/// How to open a migration.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions<'a> {
    /// `--state-dir` and `--lock-timeout`.
    pub state: StateFlags<'a>,
    /// Whether the command takes the migration's lock.
    pub access: Access,
    /// The secrets the command needs.
    pub secrets: SecretScope,
}

impl<'a> OpenOptions<'a> {
    /// Every secret, under the lock held by `command`.
    pub fn locked(command: &'static str, state: StateFlags<'a>) -> Self {
        Self {
            state,
            access: Access::Locked(command),
            secrets: SecretScope::All,
        }
    }

    /// Every secret, beside a running apply when the backend can merge their writes.
    pub fn beside(command: &'static str, state: StateFlags<'a>) -> Self {
        Self {
            access: Access::Beside(command),
            ..Self::locked(command, state)
        }
    }

    /// Only the destination's token, without the lock.
    pub fn unlocked(state: StateFlags<'a>) -> Self {
        Self {
            state,
            access: Access::Read,
            secrets: SecretScope::Destination,
        }
    }
}

/// An open migration.
pub struct Migration {
    path: PathBuf,
    state_flag: Option<PathBuf>,
    /// The local state directory (the journal's, or only local files' with a shared
    /// backend).
    state_root: PathBuf,
    /// Opened beside a running apply on a shared backend (no lock held).
    beside: bool,
    manifest: Manifest,
    journal: JournalHandle,
    destination: Destination,
    /// Held until the migration is closed (the OS releases it if the process dies).
    lock: Option<MigrationLock>,
}

impl Migration {
    /// Loads and checks the manifest, resolves the secrets `options` asks for, opens
    /// the state (taking the lock when asked) and the destination.
    pub async fn open(
        path: &Path,
        options: OpenOptions<'_>,
        notify: &dyn Notify,
    ) -> Result<Self, MigrationError> {
        let manifest = load_manifest(path, notify)?;
        Self::open_loaded(manifest, path, options, notify).await
    }

    /// Like [`Migration::open`] for a manifest already in memory (`init`'s, before it
    /// is written): `path` is where it is or will be.
    pub async fn open_loaded(
        mut manifest: Manifest,
        path: &Path,
        options: OpenOptions<'_>,
        notify: &dyn Notify,
    ) -> Result<Self, MigrationError> {
        manifest
            .resolve_secrets(options.secrets)
            .map_err(MigrationError::Manifest)?;
        let state_root = settings::state_dir(options.state.dir, path);
        let state::Opened { journal, lock } = state::open(
            &manifest,
            &state_root,
            options.access,
            options.state.lock_wait,
            notify,
        )?;
        let destination = settings::destination(&manifest, &state_root).await?;
        for w in destination.client.warnings() {
            notify.warn(w);
        }
        Ok(Self {
            path: path.to_path_buf(),
            state_flag: options.state.dir.map(Path::to_path_buf),
            state_root,
            beside: matches!(options.access, Access::Beside(_)) && journal.state().is_shared(),
            manifest,
            journal,
            destination,
            lock,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The journal.
    pub fn journal(&self) -> &JournalHandle {
        &self.journal
    }

    /// The destination's client.
    pub fn client(&self) -> &WhmClient {
        &self.destination.client
    }

    /// What to pass `whm-migrate apply` to pick this migration up again.
    pub fn rerun_args(&self) -> String {
        rerun_args(&self.path, self.state_flag.as_deref())
    }

    /// Warns about every session-create call that may have left an unrecorded session.
    fn warn_unrecorded(&self, notify: &dyn Notify) {
        self.journal.read(|j| {
            for (source, record) in &j.sources {
                for at in record.unrecorded() {
                    notify.warn(&unrecorded_warning(source, &at));
                }
            }
        });
    }

    /// Stops the embedded simulator (persisting its world) and releases the lock.
    pub async fn close(self) {
        self.destination.close().await;
        drop(self.lock);
    }
}

/// Loads a manifest, reporting its warnings and secret files others can read.
pub fn load_manifest(path: &Path, notify: &dyn Notify) -> Result<Manifest, MigrationError> {
    let manifest = crate::manifest::load(path).map_err(MigrationError::Manifest)?;
    let warnings = manifest.warnings();
    if !warnings.is_empty() {
        notify.diagnostics(&warnings);
    }
    warn_open_secret_files(notify, &manifest);
    Ok(manifest)
}

/// Warns about secret files other users can read. Not for the embedded simulator's
/// demo credentials, which a clone checks out world-readable.
fn warn_open_secret_files(notify: &dyn Notify, manifest: &Manifest) {
    if manifest.destination.simulator.is_some() {
        return;
    }
    let mut secrets: Vec<&crate::manifest::Secret> = Vec::new();
    secrets.extend(manifest.destination.token.as_ref());
    for s in &manifest.sources {
        secrets.extend(s.password.as_ref());
        secrets.extend(s.root_password.as_ref());
        secrets.extend(s.sshkey_passphrase.as_ref());
    }
    for secret in secrets {
        if let SecretRef::File(path) = secret.reference()
            && readable_by_others(path)
        {
            notify.warn(&format!(
                "the secret file {} can be read by other users; restrict it with `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}
