//! What the progress display is told: the changes [`Progress`](super::Progress) finds by
//! diffing successive [`SessionProgress`] folds, and the executor's own news.

use std::time::Duration;

use serde::Serialize;

use super::format::{bytes, counts_phrase, first_line, item_label, left_words, plural};
use crate::domain;
use crate::translog::{ItemCounts, ItemKey, ItemProgress, ItemState, Queue, SessionProgress};

/// One item whose state changed since the display last showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemChange {
    /// The item.
    pub key: ItemKey,
    /// Its local name when it differs.
    pub local_item: Option<String>,
    /// The new state.
    pub state: ItemState,
    /// Its size, when known.
    pub size: Option<u64>,
    /// Its counts so far.
    pub counts: ItemCounts,
    /// The failure text, for `Failed`.
    pub failure: Option<String>,
    /// The step that failed, for `Failed`.
    pub failed_step: Option<Queue>,
    /// For a finished item, where its source stands after it.
    pub tally: Option<Tally>,
}

/// Where a source stands: items finished of all, and the time left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Items finished in any way.
    pub finished: usize,
    /// All items.
    pub total: usize,
    /// The session's expected time left, when estimated.
    pub left: Option<Duration>,
}

impl Tally {
    /// `14/60, about 12 min left` (just `14/60` without an estimate).
    pub fn phrase(&self) -> String {
        match self.left {
            Some(left) => format!("{}/{}, {}", self.finished, self.total, left_words(left)),
            None => format!("{}/{}", self.finished, self.total),
        }
    }
}

impl ItemChange {
    /// The change for an item now in `progress.state()`.
    pub fn of(key: &ItemKey, progress: &ItemProgress) -> Self {
        Self {
            key: key.clone(),
            local_item: progress.local_item.clone(),
            state: progress.state(),
            size: progress.size,
            counts: progress.counts,
            failure: progress.failure.clone(),
            failed_step: progress.failed_step.clone(),
            tally: None,
        }
    }

    /// The line shown for the change: `bob: restored (14/60, about 12 min left)`.
    pub fn line(&self) -> String {
        match &self.tally {
            Some(tally) => format!("{}: {} ({})", self.label(), self.phrase(), tally.phrase()),
            None => format!("{}: {}", self.label(), self.phrase()),
        }
    }

    /// `bob`, `bob → bob2`, `package pkg1`.
    pub fn label(&self) -> String {
        item_label(
            &self.key.item_type,
            &self.key.item,
            self.local_item.as_deref(),
        )
    }

    /// The new state in words: `transferring (1.21 KiB)`, `restored (2 warnings)`,
    /// `FAILED in TRANSFER: text`. Failures are in capitals so they stand out without
    /// colour.
    pub fn phrase(&self) -> String {
        let size = self
            .size
            .map(|n| format!(" ({})", bytes(n)))
            .unwrap_or_default();
        match self.state {
            ItemState::Pending => "pending".to_owned(),
            ItemState::Transferring => format!("transferring{size}"),
            ItemState::AwaitingRestore => "transferred, waiting for restore".to_owned(),
            ItemState::Restoring => format!("restoring{size}"),
            ItemState::Done => "restored".to_owned(),
            ItemState::DoneWithWarnings => format!("restored ({})", counts_phrase(&self.counts)),
            ItemState::Failed => {
                let step = self
                    .failed_step
                    .as_ref()
                    .map(|q| format!(" in {q}"))
                    .unwrap_or_default();
                let text = self.failure.as_deref().map_or("", first_line);
                if text.is_empty() {
                    format!("FAILED{step}")
                } else {
                    format!("FAILED{step}: {text}")
                }
            }
        }
    }
}

/// Counts over one source's items, for the overall bar and the end-of-source line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SourceTotals {
    /// All items: the largest of planned, seen in the log, and the log's `queue_count`.
    pub total: usize,
    /// Done cleanly.
    pub done: usize,
    /// Done with warnings, skipped, dangerous or altered items.
    pub done_with_warnings: usize,
    /// Failed.
    pub failed: usize,
    /// Transferring, waiting for restore, or restoring.
    pub in_progress: usize,
    /// Sum of the sizes of finished items, when the session's total size is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_done: Option<u64>,
    /// The session's total size (`queue_size`), when logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_total: Option<u64>,
}

impl SourceTotals {
    /// Totals from a fold, counting `planned` items the log has not named yet.
    pub fn of(progress: &SessionProgress, planned: usize) -> Self {
        let t = progress.totals();
        let expected = t
            .expected
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0);
        let bytes_total = progress.queue_size();
        let bytes_done = bytes_total.map(|_| {
            progress
                .items()
                .filter(|(_, p)| p.state().is_finished())
                .filter_map(|(_, p)| p.size)
                .fold(0, u64::saturating_add)
        });
        Self {
            total: planned.max(t.known).max(expected),
            done: t.done,
            done_with_warnings: t.done_with_warnings,
            failed: t.failed,
            in_progress: t.in_progress,
            bytes_done,
            bytes_total,
        }
    }

    /// Items finished in any way.
    pub fn finished(&self) -> usize {
        self.done + self.done_with_warnings + self.failed
    }

    /// `3 items: 1 done, 1 done with warnings, 1 failed`.
    pub fn phrase(&self) -> String {
        let mut parts = vec![format!("{} done", self.done)];
        if self.done_with_warnings > 0 {
            parts.push(format!("{} done with warnings", self.done_with_warnings));
        }
        if self.failed > 0 {
            parts.push(format!("{} failed", self.failed));
        }
        let unfinished = self.total.saturating_sub(self.finished());
        if unfinished > 0 {
            parts.push(format!("{unfinished} unfinished"));
        }
        format!(
            "{}: {}",
            plural(self.total as u64, "item", "items"),
            parts.join(", ")
        )
    }
}

/// What happened, for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressEvent {
    /// The executor began following a session.
    SourceStarted {
        /// The session id.
        session_id: String,
        /// How many items the plan put in it.
        planned: usize,
        /// The plan's estimate of the session, when it gave one.
        estimate: Option<Duration>,
    },
    /// The session's state changed.
    SessionState(domain::SessionState),
    /// An item changed state.
    Item(ItemChange),
    /// New totals after an update that changed something.
    Totals {
        /// The totals.
        totals: SourceTotals,
        /// The session's expected time left, when estimated.
        left: Option<Duration>,
    },
    /// The time left, passed on at least every second while the session runs.
    TimeLeft {
        /// Where the source stands.
        tally: Tally,
        /// Items transferring, waiting for restore or restoring.
        in_progress: usize,
        /// The longest time left of every source still running.
        overall: Option<Duration>,
    },
    /// A free message from the executor.
    Note(String),
    /// Session-level progress while per-item events are unavailable.
    SessionLevel {
        /// The last state seen, if any.
        state: Option<domain::SessionState>,
        /// Time since the session was started.
        elapsed: Duration,
    },
    /// The executor stopped following the session.
    SourceFinished {
        /// The final state.
        state: domain::SessionState,
        /// The final totals, when any update was seen.
        totals: Option<SourceTotals>,
    },
}

#[cfg(test)]
mod tests {
    use super::ItemChange;
    use crate::translog::{ItemCounts, ItemKey, ItemState, Queue};

    fn change(state: ItemState) -> ItemChange {
        ItemChange {
            key: ItemKey::new("AccountRemoteRoot", "bob"),
            local_item: None,
            state,
            size: Some(2048),
            counts: ItemCounts {
                warnings: 2,
                ..ItemCounts::default()
            },
            failure: Some("\nno space left\ntrace".into()),
            failed_step: Some(Queue::Restore),
            tally: None,
        }
    }

    #[test]
    fn phrases_name_the_state_in_words() {
        assert_eq!(
            change(ItemState::Transferring).phrase(),
            "transferring (2.00 KiB)"
        );
        assert_eq!(
            change(ItemState::DoneWithWarnings).phrase(),
            "restored (2 warnings)"
        );
        assert_eq!(
            change(ItemState::Failed).phrase(),
            "FAILED in RESTORE: no space left"
        );
        assert_eq!(change(ItemState::Pending).phrase(), "pending");
    }
}
