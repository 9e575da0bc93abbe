//! The plan: one action per manifest item, per source, plus warnings. Its JSON form is
//! stable and versioned (`format_version`); field order is the declaration order.

use crate::domain::SessionState;
use crate::modules::ModuleKind;
use crate::plan::input::SessionKind;
use serde::{Deserialize, Serialize};

/// The plan's JSON format version; bump on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// A complete plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The migration id.
    pub migration: String,
    /// The manifest the plan was made from (set by `plan --out`, so `apply PLAN.json`
    /// can find it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// Counts over every source.
    pub summary: Summary,
    /// Per source, in manifest order.
    pub sources: Vec<SourcePlan>,
    /// Digests that let `apply PLAN.json` refuse a stale plan.
    pub fingerprint: Fingerprint,
    /// The wave this plan covers (`plan --wave NAME`); absent for the whole manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    /// Bytes and estimated duration over every source, and the throughput assumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<PlanEstimate>,
}

impl Plan {
    /// Whether `apply` has anything to do: items to queue, items an earlier run queued,
    /// or a session an earlier run started (running or paused) to follow.
    pub fn has_work(&self) -> bool {
        self.summary.has_changes()
            || self.summary.already_queued > 0
            || self.sources.iter().any(|s| {
                s.session
                    .as_ref()
                    .is_some_and(|x| !x.created && x.state != SessionState::Pending)
            })
    }
}

/// The estimate over every source (they run in parallel: the longest one decides).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEstimate {
    /// Bytes the sessions move (items to transfer and items already queued).
    pub bytes: u64,
    /// The estimated makespan, in milliseconds.
    pub duration_ms: u64,
    /// The throughput the estimate assumed.
    pub throughput: Throughput,
}

/// One source's schedule estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceEstimate {
    /// Items the session processes (to transfer or already queued).
    pub items: usize,
    /// Bytes they move.
    pub bytes: u64,
    /// TRANSFER workers the estimate models (the manifest's option, else WHM's default 1,
    /// capped at 9 and at the number of items).
    pub transfer_threads: u32,
    /// RESTORE workers, likewise.
    pub restore_threads: u32,
    /// The estimated duration of the session, in milliseconds.
    pub duration_ms: u64,
    /// The throughput this source's estimate assumed, when not the plan's: what this
    /// source's own earlier sessions measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
}

/// How fast one worker moves data, as the estimate assumes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throughput {
    /// Bytes per second one TRANSFER worker moves.
    pub transfer_bytes_per_second: u64,
    /// Bytes per second one RESTORE worker processes; absent when the restore time is
    /// folded into `transfer_bytes_per_second` (a measured throughput).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_bytes_per_second: Option<u64>,
    /// Fixed time every item step takes, in milliseconds.
    pub step_overhead_ms: u64,
    /// Where the figures come from.
    pub from: ThroughputSource,
}

/// Where an assumed throughput comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThroughputSource {
    /// The stated defaults (`plan::schedule::DEFAULT_THROUGHPUT`).
    Default,
    /// Measured from this migration's earlier applies (the journal).
    Measured,
    /// Given by the caller (for example a rehearsal's `--speed`).
    Given,
}

/// Who decided an item's `priority` or `prerequisite_user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetBy {
    /// The manifest sets it explicitly; the schedule leaves it alone.
    Manifest,
    /// The schedule chose it (largest first; a reseller before the accounts it owns).
    Schedule,
}

/// The plan of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePlan {
    /// The manifest's name for the source.
    pub name: String,
    /// Its host.
    pub host: String,
    /// Root or user credentials.
    pub kind: SessionKind,
    /// The session used, if any.
    pub session: Option<SessionRef>,
    /// Bytes, workers and estimated duration of this source's session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<SourceEstimate>,
    /// The source-level checks (no items) in their first-layout form: `code` is the
    /// check name. [`SourcePlan::checks`] has every check.
    pub warnings: Vec<Warning>,
    /// Pre-flight checks: source-level ones first, then per item (docs/checks.md).
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Keys the plan would send that the destination's live schema lacks: never sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsent: Vec<UnsentKey>,
    /// One entry per manifest item, in processing order (module id, then key).
    pub items: Vec<ItemPlan>,
}

/// A key left out of the items' enqueues because the destination's live
/// `transfer_module_schema` lacks it (an older server), and what that costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsentKey {
    /// The transfer module.
    pub module: String,
    /// The key.
    pub key: String,
    /// Who set it: the manifest, or the schedule.
    pub set_by: SetBy,
    /// The items (primary-key values) it was left out of.
    pub items: Vec<String>,
    /// What leaving it out costs, in one line.
    pub cost: String,
}

/// The session a source plan refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRef {
    /// The session id.
    pub id: String,
    /// Its state when observed.
    pub state: SessionState,
    /// True when the plan created it.
    pub created: bool,
    /// Why its state could not be read, when it could not (`state` is then the
    /// journal's last known one): its items are in flight, unconfirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfirmed: Option<String>,
}

/// What the plan does with one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemPlan {
    /// The transfer module.
    pub module: String,
    /// The primary-key value.
    pub key: String,
    /// For accounts: the destination user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub localuser: Option<String>,
    /// For accounts: the main domain (from the manifest or the analysis).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Bytes to move (the analysis' `bytesused`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The action.
    pub action: Action,
    /// Why, in one line, for anything but a plain transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The conflicts found, also when `force` overrides them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// The wave the manifest puts the item in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    /// For accounts apply queues: the `priority` sent (lower goes first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Who chose `priority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_by: Option<SetBy>,
    /// For accounts: the `prerequisite_user` sent (the account that finishes each step
    /// first, e.g. the reseller that owns this one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerequisite_user: Option<String>,
    /// Who chose `prerequisite_user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerequisite_by: Option<SetBy>,
    /// The risky options the item sets (docs/checks.md), acknowledged or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<Risk>,
}

impl ItemPlan {
    /// Whether this item is an account (as opposed to a package or feature list).
    pub fn is_account(&self) -> bool {
        ModuleKind::of(&self.module) == ModuleKind::Account
    }

    /// Whether apply would queue (or run) this item.
    pub fn is_actionable(&self) -> bool {
        matches!(self.action, Action::Transfer | Action::AlreadyQueued)
    }

    /// The risks apply refuses: set, not acknowledged, on an item apply would run.
    pub fn unacknowledged_risks(&self) -> impl Iterator<Item = &Risk> {
        self.risks
            .iter()
            .filter(|r| !r.acknowledged && self.is_actionable())
    }
}

// --- Pre-flight checks and risks (docs/checks.md) ---------------------------------------

/// How much a check matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops `plan` (exit 1) and `apply` unless waived.
    Blocker,
    /// Shown; never stops anything.
    Warning,
}

impl Severity {
    /// `blocker` or `warning`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Blocker => "blocker",
            Self::Warning => "warning",
        }
    }
}

/// One finding of a pre-flight check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Check {
    /// The stable name, also what `waive` takes (e.g. `older-destination`).
    pub name: String,
    /// Blocker or warning.
    pub severity: Severity,
    /// The items it concerns as queue keys (`AccountRemoteRoot/alice`); empty for a
    /// source-level check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// What was found, in one line.
    pub message: String,
    /// What to do about it, in one line.
    pub fix: String,
    /// Whether the manifest waives it (a waived check is shown, never enforced).
    #[serde(default)]
    pub waived: bool,
}

impl Check {
    /// Whether it stops `plan` and `apply`.
    pub fn blocks(&self) -> bool {
        self.severity == Severity::Blocker && !self.waived
    }
}

/// A risky option an item sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Risk {
    /// The stable name, also what `acknowledge` takes (e.g. `dns-cutover`).
    pub name: String,
    /// The account key that carries it (e.g. `xferpoint`).
    pub key: String,
    /// Whether the manifest acknowledges it for this item.
    pub acknowledged: bool,
}

/// The action for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Queue it.
    Transfer,
    /// The destination already has it: nothing to do.
    AlreadyPresent,
    /// Already in the session's queue: nothing to enqueue.
    AlreadyQueued,
    /// The destination has something in the way; blocks apply unless `force`.
    Conflict,
    /// The source does not have it.
    MissingOnSource,
    /// The manifest item is invalid.
    Invalid,
}

impl Action {
    /// Every action, in display order.
    pub const ALL: [Action; 6] = [
        Action::Transfer,
        Action::AlreadyPresent,
        Action::AlreadyQueued,
        Action::Conflict,
        Action::MissingOnSource,
        Action::Invalid,
    ];

    /// The name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
            Self::AlreadyPresent => "already-present",
            Self::AlreadyQueued => "already-queued",
            Self::Conflict => "conflict",
            Self::MissingOnSource => "missing-on-source",
            Self::Invalid => "invalid",
        }
    }

    /// Whether the item stops `apply`.
    pub fn blocks_apply(self) -> bool {
        matches!(self, Self::Conflict | Self::MissingOnSource | Self::Invalid)
    }
}

/// Something on the destination in an item's way.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Conflict {
    /// The destination has an account of that user name, for another domain.
    UserExists {
        /// The user name.
        user: String,
        /// The existing account's domain.
        domain: String,
    },
    /// The domain belongs to another destination user.
    DomainTaken {
        /// The domain.
        domain: String,
        /// Its owner on the destination.
        owner: String,
    },
    /// A database of the account exists on the destination under another owner.
    DatabaseTaken {
        /// `MYSQL` or `PGSQL`.
        engine: String,
        /// The database name.
        name: String,
        /// Its owner on the destination.
        owner: String,
    },
    /// A database user of the account exists on the destination under another owner.
    DatabaseUserTaken {
        /// `MYSQL` or `PGSQL`.
        engine: String,
        /// The database user name.
        name: String,
        /// Its owner on the destination.
        owner: String,
    },
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UserExists { user, domain } => {
                write!(
                    f,
                    "user “{user}” exists on the destination (domain {domain})"
                )
            }
            Self::DomainTaken { domain, owner } => {
                write!(f, "domain {domain} belongs to destination user “{owner}”")
            }
            Self::DatabaseTaken {
                engine,
                name,
                owner,
            } => write!(
                f,
                "{engine} database “{name}” belongs to destination user “{owner}”"
            ),
            Self::DatabaseUserTaken {
                engine,
                name,
                owner,
            } => write!(
                f,
                "{engine} database user “{name}” belongs to destination user “{owner}”"
            ),
        }
    }
}

/// A plan-level warning from the analysis.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    /// A stable name, e.g. `module-warning`, `older-destination`.
    pub code: String,
    /// The text.
    pub message: String,
}

/// Counts by action, and bytes to transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Items to queue.
    pub transfer: usize,
    /// Items already on the destination.
    pub already_present: usize,
    /// Items already queued.
    pub already_queued: usize,
    /// Items blocked by a conflict.
    pub conflict: usize,
    /// Items the source lacks.
    pub missing_on_source: usize,
    /// Invalid items.
    pub invalid: usize,
    /// Bytes the transfers will move (known sizes only).
    pub bytes_to_transfer: u64,
    /// Pre-flight checks that block (blockers not waived).
    #[serde(default)]
    pub blocking_checks: usize,
    /// Checks the manifest waives.
    #[serde(default)]
    pub waived_checks: usize,
    /// Items apply would run that set a risk the manifest does not acknowledge.
    #[serde(default)]
    pub unacknowledged_risks: usize,
}

impl Summary {
    /// Counts one item.
    pub fn add(&mut self, item: &ItemPlan) {
        match item.action {
            Action::Transfer => {
                self.transfer += 1;
                self.bytes_to_transfer = self
                    .bytes_to_transfer
                    .saturating_add(item.size.unwrap_or(0));
            }
            Action::AlreadyPresent => self.already_present += 1,
            Action::AlreadyQueued => self.already_queued += 1,
            Action::Conflict => self.conflict += 1,
            Action::MissingOnSource => self.missing_on_source += 1,
            Action::Invalid => self.invalid += 1,
        }
    }

    /// The count for one action.
    pub fn count(&self, action: Action) -> usize {
        match action {
            Action::Transfer => self.transfer,
            Action::AlreadyPresent => self.already_present,
            Action::AlreadyQueued => self.already_queued,
            Action::Conflict => self.conflict,
            Action::MissingOnSource => self.missing_on_source,
            Action::Invalid => self.invalid,
        }
    }

    /// Whether applying would change anything on the servers.
    pub fn has_changes(&self) -> bool {
        self.transfer > 0
    }

    /// Whether anything blocks apply: an item's action, a check, or a risk not
    /// acknowledged.
    pub fn has_blockers(&self) -> bool {
        self.conflict
            + self.missing_on_source
            + self.invalid
            + self.blocking_checks
            + self.unacknowledged_risks
            > 0
    }
}

/// Digests of the plan's inputs (hex SHA-256).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Of the desired state (the manifest as the plan read it).
    pub manifest: String,
    /// Of the observed state, without volatile parts (session states).
    pub observed: String,
}
