//! `verify`: evidence, per item, that a migration arrived whole. The checks are a pure
//! function of what the servers said ([`facts`]), judged in [`checks`] and rendered for
//! review in [`render`]; `migration::verifying` gathers the facts with read-only calls.
//! With `--http`, [`fetch`] fetches each account's sites from both servers and
//! [`sites`] compares the answers.

pub mod checks;
pub mod facts;
pub mod fetch;
pub mod http;
pub mod render;
pub mod sites;

#[cfg(test)]
mod checks_tests;

use serde::{Deserialize, Serialize};

pub use checks::verify;
pub use facts::{DestinationFacts, SourceFacts};

/// The version of the JSON report (docs/verify-json.md).
pub const VERIFY_JSON_VERSION: u32 = 1;

/// One item's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check passed.
    Ok,
    /// Every check passed or warned.
    Warning,
    /// A check failed.
    Failed,
    /// The item is not on the destination under the expected name.
    NotTransferred,
}

impl Verdict {
    /// The name reports print.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Failed => "failed",
            Self::NotTransferred => "not-transferred",
        }
    }

    /// Whether the verdict blocks a cutover (`failed`, `not-transferred`).
    pub fn is_bad(self) -> bool {
        matches!(self, Self::Failed | Self::NotTransferred)
    }
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// It holds.
    Pass,
    /// It holds with something a reviewer should read.
    Warn,
    /// It does not hold.
    Fail,
    /// It could not be checked (the detail says why).
    Skipped,
}

/// One check behind a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What is checked: `account`, `domain`, `owner`, `package`, `disk`, `files`,
    /// `databases`, `database-users`, `domains`, `restore-log`, `exists`; `site` (one
    /// per domain) with `--http`.
    pub name: String,
    /// How it came out.
    pub outcome: Outcome,
    /// What was found, naming what is missing or off.
    pub detail: String,
}

impl Check {
    pub(crate) fn new(name: &str, outcome: Outcome, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            outcome,
            detail: detail.into(),
        }
    }
}

/// One manifest item's verdict with its checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemVerdict {
    /// The manifest's name for the source.
    pub source: String,
    /// The transfer module, e.g. `AccountRemoteRoot`.
    pub module: String,
    /// The item's key on the source (user, package or feature-list name).
    pub key: String,
    /// For accounts: the user name expected on the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localuser: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// The checks behind it, in a fixed order.
    pub checks: Vec<Check>,
}

impl ItemVerdict {
    /// `alice`, or `bob → bob2` for a renamed account.
    pub fn label(&self) -> String {
        match &self.localuser {
            Some(l) if *l != self.key => format!("{} → {l}", self.key),
            _ => self.key.clone(),
        }
    }

    /// The checks that did not pass (failed, then warned).
    pub fn problems(&self) -> impl Iterator<Item = &Check> {
        let fails = self.checks.iter().filter(|c| c.outcome == Outcome::Fail);
        fails.chain(self.checks.iter().filter(|c| c.outcome == Outcome::Warn))
    }
}

/// How far the destination may fall below the source's analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tolerances {
    /// Disk use, percent below the source.
    pub disk_percent: u32,
    /// File count, percent below the source.
    pub files_percent: u32,
}

impl Default for Tolerances {
    /// 10% of disk use, 5% of files (docs/verify.md argues both).
    fn default() -> Self {
        Self {
            disk_percent: 10,
            files_percent: 5,
        }
    }
}

impl Tolerances {
    /// The manifest's `[verify]` settings over the defaults.
    pub fn from_settings(s: &crate::manifest::VerifySettings) -> Self {
        let d = Self::default();
        Self {
            disk_percent: s.disk_tolerance_percent.unwrap_or(d.disk_percent),
            files_percent: s.files_tolerance_percent.unwrap_or(d.files_percent),
        }
    }
}

/// How many items got each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    /// `ok`.
    pub ok: usize,
    /// `warning`.
    pub warning: usize,
    /// `failed`.
    pub failed: usize,
    /// `not-transferred`.
    pub not_transferred: usize,
}

/// The whole verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// [`VERIFY_JSON_VERSION`].
    pub version: u32,
    /// The migration's name.
    pub migration: String,
    /// The wave verified, when one was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    /// The tolerances applied.
    pub tolerances: Tolerances,
    /// The counts per verdict.
    pub counts: VerdictCounts,
    /// One verdict per item, in manifest order per source.
    pub items: Vec<ItemVerdict>,
}

impl VerifyReport {
    /// Builds the report and its counts.
    pub fn new(
        migration: &str,
        wave: Option<String>,
        tolerances: Tolerances,
        items: Vec<ItemVerdict>,
    ) -> Self {
        let mut counts = VerdictCounts::default();
        for i in &items {
            match i.verdict {
                Verdict::Ok => counts.ok += 1,
                Verdict::Warning => counts.warning += 1,
                Verdict::Failed => counts.failed += 1,
                Verdict::NotTransferred => counts.not_transferred += 1,
            }
        }
        Self {
            version: VERIFY_JSON_VERSION,
            migration: migration.to_owned(),
            wave,
            tolerances,
            counts,
            items,
        }
    }

    /// Whether any item failed or is missing.
    pub fn has_bad(&self) -> bool {
        self.counts.failed + self.counts.not_transferred > 0
    }

    /// 3 when any item failed or is missing, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.has_bad() { 3 } else { 0 }
    }
}
