//! Apply: queue what the plan says is missing, start, follow, report — idempotently.

pub mod enqueue;
pub mod eta;
pub mod execute;
pub mod expected;
pub mod forecast;
pub mod logfeed;
pub mod monitor;
pub mod poll;

use crate::journal::JournalError;
use crate::whm::WhmError;

/// Why a source's apply stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ApplyError {
    /// A call to the destination failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Whm(#[from] WhmError),
    /// The journal could not be saved: nothing more is sent to the server.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Journal(#[from] JournalError),
    /// A user source without a usable session and without its password.
    #[error("source “{0}” has no usable session and no credentials to create one")]
    #[diagnostic(
        code(apply::no_credentials),
        help("set the source's `password` in the manifest (an env or file reference)")
    )]
    NoCredentials(String),
    /// The destination refused an item no earlier call could have queued.
    #[error("the destination refused to queue {item} in session {session}: {error}")]
    #[diagnostic(
        code(apply::enqueue_refused),
        help(
            "it is not queued; the items queued before it wait in the session, which is not started. Fix the cause the server gives and re-run apply"
        )
    )]
    Refused {
        /// The item, `Module/key`.
        item: String,
        /// The session.
        session: String,
        /// The refusal (shown in the message).
        error: WhmError,
    },
}
