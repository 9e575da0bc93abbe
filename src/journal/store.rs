//! The journal: what this migration has done on the servers, per source: its session
//! ids and each item's last known state. Written atomically, 0600, never a secret.
//!
//! The destination stays the source of truth: losing this file must never cause a
//! duplicate transfer, only a slower, more careful resume.

use crate::domain::SessionState;
use crate::translog::ItemState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The journal's format version.
pub const JOURNAL_VERSION: u32 = 1;

/// Errors reading or writing the journal.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum JournalError {
    /// The state directory or journal could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    #[diagnostic(
        code(journal::io),
        help("check that the state directory exists and is writable (set it with --state-dir)")
    )]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The shared store could not be reached or refused the call.
    #[error("cannot {action} the journal {url}: {detail}")]
    #[diagnostic(
        code(journal::store),
        help(
            "check the bucket, the endpoint and the AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE); nothing more was sent to a WHM server"
        )
    )]
    Store {
        /// What was being done.
        action: &'static str,
        /// The journal object.
        url: String,
        /// The store's error.
        detail: String,
    },
    /// Another run changed the same part of the shared journal differently.
    #[error(
        "the journal {url} was changed by another run at {place}, where this run changed it too"
    )]
    #[diagnostic(
        code(journal::conflict),
        help(
            "nothing was overwritten: the other run's change stays. Check `whm-migrate status MANIFEST` and run the command again"
        )
    )]
    Conflict {
        /// The journal object.
        url: String,
        /// Where (a JSON pointer).
        place: String,
    },
    /// This run no longer holds the migration's lock.
    #[error("{0}")]
    #[diagnostic(
        code(journal::lease),
        help(
            "the sessions this run started keep running on the destination; once the lock is free, `whm-migrate apply` follows them (it never queues an item twice)"
        )
    )]
    Lease(String),
    /// The journal is not valid JSON of the expected shape.
    #[error("the journal {} is damaged: {detail}", path.display())]
    #[diagnostic(code(journal::damaged))]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
        /// The session ids still legible in it, and what to do.
        #[help]
        recovery: String,
    },
}

/// The whole journal of one migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// [`JOURNAL_VERSION`].
    pub format_version: u32,
    /// The migration id.
    pub migration: String,
    /// Per source name.
    pub sources: BTreeMap<String, SourceRecord>,
    /// The key names of the destination's live module schemas, as last read, for the
    /// version it reported then: a later plan against that version reads them from here.
    /// Journals of earlier releases have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_schemas: Option<LiveSchemas>,
}

/// What a destination's `transfer_module_schema` answered, per module, for one version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LiveSchemas {
    /// The version the destination reported (the analysis' `local.version`).
    pub version: String,
    /// Module name → the keys its schema has.
    pub modules: BTreeMap<String, BTreeSet<String>>,
}

impl Default for Journal {
    /// An empty journal of the current format.
    fn default() -> Self {
        Self {
            format_version: JOURNAL_VERSION,
            migration: String::new(),
            sources: BTreeMap::new(),
            live_schemas: None,
        }
    }
}

impl Journal {
    /// Reads what earlier releases wrote differently: a session retired because the
    /// server no longer knew it was written with the state name `GONE`.
    fn upgrade(&mut self) {
        for source in self.sources.values_mut() {
            for old in &mut source.previous_sessions {
                if old.retired.is_none() && old.state.name() == "GONE" {
                    old.retired = Some(Retired::UnknownToServer);
                }
            }
        }
    }
}

/// What the journal knows of one source.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The session in use, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionRecord>,
    /// Set just before a create call, cleared once its id is recorded: if a crash
    /// happens in between, a session may exist on the server that nobody recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_started: Option<String>,
    /// Earlier `create_started` marks never cleared by a recorded id: each may be a
    /// PENDING session on the destination holding the source's password. Kept (and
    /// reported by every run) until `cleanup --forget-unrecorded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrecorded_sessions: Vec<String>,
    /// Sessions a `plan --no-keep` running beside an apply on a shared backend opened
    /// to read the analysis, by a token of that plan run. Never the source's current
    /// session (an apply never reuses one); each is discarded when its plan ends, and
    /// one left by a plan that died is reported like an unrecorded session.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub probes: BTreeMap<String, Probe>,
    /// Earlier sessions of this source (finished, failed or given up).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_sessions: Vec<SessionRecord>,
    /// Item (`Module/key`) → last known state.
    #[serde(default)]
    pub items: BTreeMap<String, ItemRecord>,
    /// Figures of this source's sessions that ran to completion under an apply (the
    /// newest last), for the measured throughput.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<super::throughput::RunRecord>,
}

impl SourceRecord {
    /// Marks the start of a session-create call at `at`. A mark still set from an
    /// earlier run means that run died inside the create: keep it as unrecorded.
    pub fn begin_create(&mut self, at: String) {
        if let Some(old) = self.create_started.replace(at) {
            self.unrecorded_sessions.push(old);
        }
    }

    /// Clears the create mark of a create call the server certainly did not run.
    pub fn forget_create(&mut self) {
        self.create_started = None;
    }

    /// When each create call that may have left an unrecorded session started, oldest
    /// first (the current mark last), then the sessions of `plan --no-keep` runs that
    /// are still recorded (a live plan's own, or one a dead plan left).
    pub fn unrecorded(&self) -> Vec<String> {
        let probes = self.probes.values().map(|p| match &p.session {
            Some(id) => format!("{} by a plan beside an apply (session {id})", p.started_at),
            None => format!("{} by a plan beside an apply", p.started_at),
        });
        self.unrecorded_sessions
            .iter()
            .chain(&self.create_started)
            .cloned()
            .chain(probes)
            .collect()
    }
}

/// A session a `plan --no-keep` opened beside a running apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// When its create call started.
    pub started_at: String,
    /// Its id, once the create call answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// The warning every command prints for a create call that may have left an
/// unrecorded session.
pub fn unrecorded_warning(source: &str, started_at: &str) -> String {
    format!(
        "source “{source}”: a session creation started at {started_at} was never recorded; a PENDING session holding this source's password may exist on the destination: find and abort it in WHM » Transfers » Review Transfers and Restores, then run `whm-migrate cleanup MANIFEST --forget-unrecorded`"
    )
}

/// A session this migration created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session id.
    pub id: String,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// Which command created it (`plan` or `apply`).
    pub created_by: String,
    /// Its last known state.
    pub state: SessionState,
    /// Why it is no longer the source's current session (only in `previous_sessions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<Retired>,
    /// When the apply following it expects it to end (RFC 3339, UTC): its live
    /// estimate, for `status` in another process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_end: Option<String>,
}

/// Why a session was retired from being its source's current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Retired {
    /// It reached a terminal state that was read (`state` holds it).
    Ended,
    /// This migration aborted it while PENDING (`cleanup`, `plan --no-keep`).
    Discarded,
    /// The destination answered that it does not know the session.
    UnknownToServer,
    /// Retired by hand (`cleanup --forget`): WHM no longer knows it.
    Forgotten,
}

/// One item's last known state in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemStatus {
    /// An enqueue call was sent and its answer not recorded yet: it may have landed.
    Enqueuing,
    /// In the session's queue.
    Queued,
    /// Queued, unconfirmed: an enqueue's answer was lost and asking again was refused,
    /// for a reason that is not read (REFERENCE §8). It is in the queue or not at all
    /// (WHM refuses a second item with the same key); the session's master log decides.
    Unconfirmed,
    /// The destination refused its enqueue, and no earlier call could have queued it:
    /// not in the queue.
    Refused,
    /// Being transferred.
    Transferring,
    /// Being restored.
    Restoring,
    /// Restored.
    Done,
    /// Restored with warnings.
    Warnings,
    /// Failed in transfer or restore.
    Failed,
    /// The session ended without running it.
    NotRun,
    /// The session ended while it was in flight, with no outcome in the log.
    Unknown,
}

impl ItemStatus {
    /// The status recorded for an item the session's log shows in `state`.
    pub fn from_log(state: ItemState) -> Self {
        match state {
            ItemState::Done => Self::Done,
            ItemState::DoneWithWarnings => Self::Warnings,
            ItemState::Failed => Self::Failed,
            ItemState::Pending => Self::NotRun,
            ItemState::Transferring | ItemState::AwaitingRestore | ItemState::Restoring => {
                Self::Unknown
            }
        }
    }

    /// In the session's queue (queued or in flight), or possibly so (`unconfirmed`: the
    /// session is started with it and its log decides; never enqueued anywhere else
    /// meanwhile). An item left `enqueuing` by a crash may or may not have landed: it is
    /// not counted as queued, and sending it again into the same session is safe.
    pub fn is_queued(self) -> bool {
        matches!(
            self,
            Self::Queued | Self::Unconfirmed | Self::Transferring | Self::Restoring
        )
    }

    /// Restored on the destination by this migration.
    pub fn is_restored(self) -> bool {
        matches!(self, Self::Done | Self::Warnings)
    }

    /// The name the journal writes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Enqueuing => "enqueuing",
            Self::Queued => "queued",
            Self::Unconfirmed => "unconfirmed",
            Self::Refused => "refused",
            Self::Transferring => "transferring",
            Self::Restoring => "restoring",
            Self::Done => "done",
            Self::Warnings => "warnings",
            Self::Failed => "failed",
            Self::NotRun => "not-run",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl SessionRecord {
    /// A session `created_by` a command now, in `state`.
    pub fn new(id: &str, created_by: &str, state: SessionState) -> Self {
        Self {
            id: id.to_owned(),
            created_at: now(),
            created_by: created_by.to_owned(),
            state,
            retired: None,
            expected_end: None,
        }
    }
}

/// One item's last known state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// The session it was queued in.
    pub session: String,
    /// Its last known status.
    pub state: ItemStatus,
    /// When the state was recorded (RFC 3339, UTC).
    pub updated_at: String,
    /// The failure text, for failed items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The wave the item was queued in (`apply --wave NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
}

/// The current time as the journal writes it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Where the journal and the lock of a migration live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    dir: PathBuf,
    migration: String,
}

impl StateDir {
    /// The state directory `dir` for migration `name`.
    pub fn new(dir: impl Into<PathBuf>, migration: &str) -> Self {
        Self {
            dir: dir.into(),
            migration: migration.to_owned(),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/<name>.json`.
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.migration))
    }

    /// `<dir>/<name>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(format!("{}.lock", self.migration))
    }

    /// Creates the directory (0700) if needed.
    pub fn ensure(&self) -> Result<(), JournalError> {
        create_private_dir(&self.dir).map_err(|source| JournalError::Io {
            action: "create the state directory",
            path: self.dir.clone(),
            source,
        })
    }

    /// Reads the journal; a missing file is an empty journal.
    pub fn load(&self) -> Result<Journal, JournalError> {
        let path = self.journal_path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Journal {
                    migration: self.migration.clone(),
                    ..Journal::default()
                });
            }
            Err(source) => {
                return Err(JournalError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        parse(&bytes, &path)
    }

    /// Writes the journal atomically: temp file, fsync, rename, fsync of the directory.
    pub fn save(&self, journal: &Journal) -> Result<(), JournalError> {
        self.ensure()?;
        let path = self.journal_path();
        let io = |action, source| JournalError::Io {
            action,
            path: path.clone(),
            source,
        };
        // Never an empty file in the journal's place: a failed serialization is an error.
        let mut bytes =
            serde_json::to_vec_pretty(journal).map_err(|e| io("serialize", e.into()))?;
        bytes.push(b'\n');
        write_atomic(&self.dir, &path, &bytes).map_err(|e| io("write", e))
    }
}

/// Reads a journal saved as `bytes` at `path` (a file or an object's URL).
pub(super) fn parse(bytes: &[u8], path: &Path) -> Result<Journal, JournalError> {
    let damaged = |detail: String| JournalError::Damaged {
        recovery: recovery(path, &legible_sessions(bytes)),
        path: path.to_path_buf(),
        detail,
    };
    let mut journal: Journal = serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
    journal.upgrade();
    if journal.format_version != JOURNAL_VERSION {
        return Err(damaged(format!(
            "format version {} is not {JOURNAL_VERSION}",
            journal.format_version
        )));
    }
    Ok(journal)
}

/// The session ids a damaged journal still shows: the string values of its `"id"` and
/// `"session"` keys, in order of appearance, each once.
fn legible_sessions(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut found: Vec<String> = Vec::new();
    for key in ["\"id\"", "\"session\""] {
        let mut rest = text.as_ref();
        while let Some(at) = rest.find(key) {
            rest = &rest[at + key.len()..];
            let value = rest
                .trim_start()
                .strip_prefix(':')
                .map(str::trim_start)
                .and_then(|v| v.strip_prefix('"'))
                .and_then(|v| v.split_once('"'))
                .map(|(id, _)| id);
            if let Some(id) = value.filter(|id| !id.is_empty() && !id.contains('\\'))
                && !found.iter().any(|f| f == id)
            {
                found.push(id.to_owned());
            }
        }
    }
    found
}

/// What to do about a damaged journal: no claim of safety, the steps that keep work
/// from being done twice.
fn recovery(path: &Path, sessions: &[String]) -> String {
    let named = if sessions.is_empty() {
        "No session id is legible in it; look for this migration's sessions".to_owned()
    } else {
        format!(
            "It names these sessions: {}; look for them",
            sessions.join(", ")
        )
    };
    format!(
        "a session it recorded may still be running, and a new apply would transfer again what that session moves. {named} in WHM » Transfers » Review Transfers and Restores. Move {} aside, re-attach each session that is still pending, running or paused with `whm-migrate adopt MANIFEST --source NAME SESSION_ID`, and only then run plan or apply",
        path.display()
    )
}

/// Writes `bytes` to `path` atomically and privately (0600), durable on return.
pub fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(private_file())
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

#[cfg(unix)]
fn private_file() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o600)
}

#[cfg(not(unix))]
fn private_file() -> std::fs::Permissions {
    std::fs::metadata(".")
        .map(|m| m.permissions())
        .unwrap_or_else(|_| unreachable!())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Creates `dir` (0700), or makes an existing one private: the journal names sessions
/// and hosts, and the lock beside it must not be replaceable by another user.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "it is open to other users (mode {:o}) and cannot be made private ({e}); run `chmod 700 {}`",
                        mode & 0o777,
                        dir.display()
                    ),
                )
            })?;
            tracing::debug!(dir = %dir.display(), "state directory made private (was {:o})", mode & 0o777);
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::{ItemRecord, SessionRecord, StateDir};

    #[test]
    fn the_journal_round_trips_privately() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("state"), "m1");
        let mut j = state.load().unwrap();
        assert!(j.sources.is_empty());
        let src = j.sources.entry("old1".into()).or_default();
        src.session = Some(SessionRecord {
            id: "s1".into(),
            created_at: super::now(),
            created_by: "plan".into(),
            state: crate::domain::SessionState::Pending,
            retired: None,
            expected_end: None,
        });
        src.items.insert(
            "AccountRemoteRoot/bob".into(),
            ItemRecord {
                session: "s1".into(),
                state: super::ItemStatus::Queued,
                updated_at: super::now(),
                failure: None,
                wave: Some("night-1".into()),
            },
        );
        state.save(&j).unwrap();
        assert_eq!(state.load().unwrap(), j);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(state.journal_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(state.dir()).unwrap().permissions().mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(state.dir()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_damaged_journal_names_its_sessions_and_the_safe_steps() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path(), "m1");
        // Cut short in the middle of a write by something other than this program.
        let whole = r#"{"format_version":1,"migration":"m1","sources":{"old1":{"session":{"id":"old1examplecocopya20261206034106222J","created_at":"2026-12-06T03:41:06Z","created_by":"apply","state":"RUNNING"},"items":{"AccountRemoteRoot/bob":{"session":"old1examplecocopya20261206034106222J","state":"queued","updated_at":"x"}},"previous_sessions":[{"id":"old1examplecocopya2026120603000000aaaa""#;
        std::fs::write(state.journal_path(), whole).unwrap();
        let err = state.load().unwrap_err();
        assert!(err.to_string().contains("is damaged"), "{err}");
        let super::JournalError::Damaged { recovery: text, .. } = err else {
            panic!("{err:?}");
        };
        assert!(
            text.contains(
                "old1examplecocopya20261206034106222J, old1examplecocopya2026120603000000aaaa"
            ),
            "{text}"
        );
        assert!(text.contains("Review Transfers and Restores"), "{text}");
        assert!(text.contains("whm-migrate adopt"), "{text}");
        assert!(!text.contains("nothing is transferred twice"), "{text}");
        std::fs::write(state.journal_path(), b"{not json").unwrap();
        let err = state.load().unwrap_err();
        assert!(
            format!("{err:?}").contains("No session id is legible"),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_open_state_directory_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        StateDir::new(&dir, "m1").ensure().unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_create_mark_left_by_a_dead_run_is_kept_as_unrecorded() {
        let mut r = super::SourceRecord::default();
        r.begin_create("t1".into());
        assert_eq!(r.unrecorded(), ["t1"]);
        // The run died; the next one starts its own create.
        r.begin_create("t2".into());
        r.create_started = None; // t2's id was recorded
        assert_eq!(r.unrecorded(), ["t1"]);
        r.begin_create("t3".into());
        assert_eq!(r.unrecorded(), ["t1", "t3"]);
    }
}
