//! Why a migration call failed: each error says what happened, where, and what to do.

use crate::journal::{JournalError, LockError};
use crate::manifest::Diagnostics;
use crate::migration::settings::DestinationError;
use crate::plan::observe::ObserveError;
use crate::plan::waves::UnknownWave;
use crate::rehearse::RehearseError;
use crate::whm::WhmError;
use std::path::PathBuf;

/// A migration call's error.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MigrationError {
    /// The manifest has errors (or a secret could not be read): the diagnostics name
    /// each place and its fix.
    #[error("the manifest has {} error(s)", .0.error_count())]
    #[diagnostic(code(manifest::invalid))]
    Manifest(Diagnostics),
    /// The journal could not be read or written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Journal(#[from] JournalError),
    /// The migration's lock is held or cannot be taken.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(#[from] LockError),
    /// The shared lock is held, or cannot be taken or broken.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lease(#[from] crate::journal::lease::LeaseError),
    /// `unlock` on a migration whose state is local.
    #[error(
        "this migration keeps its state in the local state directory, whose lock needs no unlock"
    )]
    #[diagnostic(
        code(lock::local),
        help(
            "the operating system frees a local lock when its holder exits; if one is held, that process is still running (its pid is in the message that named the lock)"
        )
    )]
    LocalUnlock,
    /// `state pull|push` on a migration whose state is local.
    #[error("the manifest names no shared state backend")]
    #[diagnostic(
        code(state::local),
        help(
            "add a [state] table with backend = \"s3\" and its bucket (docs/manifest.md), then push the local journal into it"
        )
    )]
    NoSharedBackend,
    /// `state pull|push` would replace a journal that knows sessions the other lacks.
    #[error("{to} records sessions the journal being moved does not: {}", sessions.join(", "))]
    #[diagnostic(
        code(state::would_lose),
        help(
            "losing them would let a later apply transfer their items again; pull or merge first, or pass --replace if you are sure they are finished and no longer needed"
        )
    )]
    StateWouldLose {
        /// Where it would be written.
        to: String,
        /// The sessions it would forget.
        sessions: Vec<String>,
    },
    /// The destination could not be opened.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Destination(Box<DestinationError>),
    /// A call to the destination failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Whm(Box<WhmError>),
    /// Observing the servers failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Observe(Box<ObserveError>),
    /// The rehearsal could not be set up.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Rehearse(Box<RehearseError>),
    /// `--wave` named a wave the manifest does not use.
    #[error(transparent)]
    #[diagnostic(transparent)]
    UnknownWave(#[from] UnknownWave),
    /// `--source` named a source the manifest does not have.
    #[error("the manifest has no source named “{0}”")]
    #[diagnostic(
        code(migration::unknown_source),
        help("the manifest's sources are listed under [[sources]] with their `name`")
    )]
    UnknownSource(String),
    /// No source records this session as its current one.
    #[error("no source of this migration records session “{0}” as its current session")]
    #[diagnostic(
        code(migration::not_recorded),
        help("`whm-migrate status MANIFEST` lists each source's session")
    )]
    NotRecorded(String),
    /// `adopt` of a session while the journal records another one for the source.
    #[error(
        "the journal records session “{session}” for source “{source_name}”; adopting another would hide it"
    )]
    #[diagnostic(
        code(migration::already_recorded),
        help(
            "if WHM no longer knows session {session}, retire it first with `whm-migrate cleanup MANIFEST --forget {session}`"
        )
    )]
    AlreadyRecorded {
        /// The source.
        source_name: String,
        /// The session the journal records.
        session: String,
    },
    /// `adopt` of a session whose log says it moves another host's accounts.
    #[error(
        "session “{session}” moves accounts from {remote}, not from source “{source_name}” ({host})"
    )]
    #[diagnostic(
        code(migration::other_host),
        help("adopt it to the source whose host is {remote}, with `--source`")
    )]
    OtherHost {
        /// The session.
        session: String,
        /// The host its master log names.
        remote: String,
        /// The source named.
        source_name: String,
        /// That source's host.
        host: String,
    },
    /// A saved plan could not be read.
    #[error("cannot read the plan {}: {detail}", path.display())]
    #[diagnostic(
        code(migration::plan_file),
        help("make it with `whm-migrate plan MANIFEST --out PLAN.json`")
    )]
    PlanFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A saved plan no longer matches the manifest or the servers.
    #[error("the saved plan {} is stale: the manifest or the servers changed since it was made", plan.display())]
    #[diagnostic(
        code(migration::stale_plan),
        help("make a new plan with `whm-migrate plan {} --out {}`, review it, then use it", manifest.display(), plan.display())
    )]
    StalePlan {
        /// The saved plan.
        plan: PathBuf,
        /// Its manifest.
        manifest: PathBuf,
    },
    /// `--wave` names another wave than the saved plan covers.
    #[error("the saved plan {} covers wave “{planned}”, not “{given}”", plan.display())]
    #[diagnostic(
        code(migration::wave_mismatch),
        help("apply the plan as it is (drop --wave), or make a plan of wave “{given}” with `whm-migrate plan {} --wave {given} --out PLAN.json`", manifest.display())
    )]
    WaveMismatch {
        /// The saved plan.
        plan: PathBuf,
        /// Its manifest.
        manifest: PathBuf,
        /// The wave it covers.
        planned: String,
        /// The wave asked for.
        given: String,
    },
    /// `rehearse --offline` needs a saved plan and the observed state beside it.
    #[error("{0}")]
    #[diagnostic(code(migration::offline))]
    Offline(String, #[help] String),
    /// `verify --http` could not set up its HTTP clients.
    #[error("cannot fetch the sites: {0}")]
    #[diagnostic(
        code(migration::site_fetch),
        help("run `verify` without --http to check the accounts alone")
    )]
    SiteFetch(String),
    /// `init` refused or could not read what it was given.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Init(#[from] crate::init::InitError),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    #[diagnostic(code(migration::write))]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl From<DestinationError> for MigrationError {
    fn from(e: DestinationError) -> Self {
        Self::Destination(Box::new(e))
    }
}

impl From<WhmError> for MigrationError {
    fn from(e: WhmError) -> Self {
        Self::Whm(Box::new(e))
    }
}

impl From<ObserveError> for MigrationError {
    fn from(e: ObserveError) -> Self {
        Self::Observe(Box::new(e))
    }
}

impl From<RehearseError> for MigrationError {
    fn from(e: RehearseError) -> Self {
        Self::Rehearse(Box::new(e))
    }
}
