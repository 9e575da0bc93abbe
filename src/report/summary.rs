//! The final report of `apply`: what became of every item, per source.
//!
//! Built from each source's [`SessionProgress`](crate::translog::SessionProgress) and planned items
//! ([`SourceReport::from_progress`]), completed by the caller with failure excerpts from
//! item logs ([`SourceReport::attach_excerpt`]) and items the plan found already present.
//! Rendered as text ([`ApplyReport::render_text`]), JSON ([`ApplyReport::to_json`]),
//! JUnit XML ([`write_junit`](super::write_junit)) and Markdown
//! ([`ApplyReport::render_markdown`]).

use std::time::Duration;

use serde::{Serialize, Serializer};

/// How many messages of an item done with warnings the report keeps.
pub const FIRST_MESSAGES: usize = 3;

/// The whole apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// The migration's name (the manifest's `name`).
    pub migration: String,
    /// Wall time of the apply.
    #[serde(rename = "elapsed_secs", serialize_with = "secs")]
    pub elapsed: Duration,
    /// One report per source, in manifest order.
    pub sources: Vec<SourceReport>,
}

/// One source's session and items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    /// The source's name in the manifest.
    pub source: String,
    /// The transfer session, when one was created or reused.
    pub session_id: Option<String>,
    /// The session's last known state name (`COMPLETED`, `ABORTED`, …).
    pub final_state: Option<crate::domain::SessionState>,
    /// Time spent on this source, when measured.
    #[serde(
        rename = "elapsed_secs",
        serialize_with = "opt_secs",
        skip_serializing_if = "Option::is_none"
    )]
    pub elapsed: Option<Duration>,
    /// The plan's estimate of the session when apply started it.
    #[serde(
        rename = "estimate_secs",
        serialize_with = "opt_secs",
        skip_serializing_if = "Option::is_none"
    )]
    pub estimate: Option<Duration>,
    /// How long the session actually ran (from its start, or from when this run began
    /// following an earlier run's session, until its end was noticed).
    #[serde(
        rename = "duration_secs",
        serialize_with = "opt_secs",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<Duration>,
    /// Every item: planned ones in plan order, then any others the log named.
    pub items: Vec<ItemOutcome>,
    /// Items restored with dangerous items, and their messages.
    pub dangerous: Vec<FlaggedItem>,
    /// Items restored with altered items (e.g. a database renamed), and their messages.
    pub altered: Vec<FlaggedItem>,
    /// What stopped this source, if something did.
    pub error: Option<String>,
}

/// What became of one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemOutcome {
    /// The transfer module, e.g. `AccountRemoteRoot`.
    pub module: String,
    /// The item's key on the source (user, package or feature-list name).
    pub key: String,
    /// The local name when it differs from `key`.
    pub localuser: Option<String>,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The item's size in bytes, when logged.
    pub size: Option<u64>,
}

/// An item's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Restored with all counts zero.
    Done,
    /// Restored with warnings, skipped, dangerous or altered items.
    DoneWithWarnings {
        /// Warnings.
        warnings: u64,
        /// Skipped items.
        skipped: u64,
        /// Dangerous items.
        dangerous: u64,
        /// Altered items.
        altered: u64,
        /// The first [`FIRST_MESSAGES`] messages, in log order.
        first_messages: Vec<String>,
    },
    /// A step failed.
    Failed {
        /// The failure text from the master log.
        failure: String,
        /// The lines of the item log that explain it (empty until attached).
        excerpt: Vec<String>,
    },
    /// The item never finished in this session.
    NotRun {
        /// Why, in words.
        reason: String,
    },
    /// The plan found it on the destination already; nothing was transferred.
    AlreadyPresent,
}

impl Outcome {
    /// True for outcomes that need no retry (done, with or without warnings, or present).
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Outcome::Done | Outcome::DoneWithWarnings { .. } | Outcome::AlreadyPresent
        )
    }

    /// The counts of an item restored with warnings, as the log's reports give them.
    pub fn warning_counts(&self) -> Option<crate::translog::ItemCounts> {
        match self {
            Outcome::DoneWithWarnings {
                warnings,
                skipped,
                dangerous,
                altered,
                ..
            } => Some(crate::translog::ItemCounts {
                warnings: *warnings,
                skipped_items: *skipped,
                dangerous_items: *dangerous,
                altered_items: *altered,
            }),
            _ => None,
        }
    }
}

/// An item with dangerous or altered items, for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlaggedItem {
    /// The transfer module.
    pub module: String,
    /// The item's key on the source.
    pub key: String,
    /// How many dangerous (or altered) items the log counted.
    pub count: u64,
    /// The item's dangerous (or altered) texts, in log order.
    pub messages: Vec<String>,
}

/// Outcome counts, for a source or the whole report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    /// All items.
    pub items: usize,
    /// Done cleanly.
    pub done: usize,
    /// Done with warnings.
    pub done_with_warnings: usize,
    /// Failed.
    pub failed: usize,
    /// Not run.
    pub not_run: usize,
    /// Already present on the destination.
    pub already_present: usize,
}

impl OutcomeCounts {
    fn add(&mut self, other: &OutcomeCounts) {
        self.items += other.items;
        self.done += other.done;
        self.done_with_warnings += other.done_with_warnings;
        self.failed += other.failed;
        self.not_run += other.not_run;
        self.already_present += other.already_present;
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `serialize_with` passes a reference
fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

#[allow(clippy::ref_option)] // serde's `serialize_with` passes a reference
fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => secs(d, s),
        None => s.serialize_none(),
    }
}

impl ApplyReport {
    /// Outcome counts over all sources.
    pub fn counts(&self) -> OutcomeCounts {
        let mut c = OutcomeCounts::default();
        for source in &self.sources {
            c.add(&source.counts());
        }
        c
    }

    /// The exit status: 1 when a source stopped with an error, 3 when an item failed
    /// or did not run, 0 when every item is done or already present. Errors outside the
    /// report (a lock, a bad manifest) are the caller's to map to 1.
    pub fn exit_code(&self) -> i32 {
        let c = self.counts();
        if self.sources.iter().any(|s| s.error.is_some()) {
            1
        } else if c.failed + c.not_run > 0 {
            3
        } else {
            0
        }
    }

    /// The report as JSON: `version` (1), the report's fields, `counts` and `exit_code`.
    pub fn to_json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Versioned<'a> {
            version: u32,
            #[serde(flatten)]
            report: &'a ApplyReport,
            counts: OutcomeCounts,
            exit_code: i32,
        }
        serde_json::to_value(Versioned {
            version: 1,
            report: self,
            counts: self.counts(),
            exit_code: self.exit_code(),
        })
        .unwrap_or_default()
    }
}
