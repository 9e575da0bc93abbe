//! Building the report from the log: each source's [`SessionProgress`] and planned
//! items become [`ItemOutcome`]s, with a reason for every item that did not finish.

use std::collections::BTreeSet;

use super::summary::{
    FIRST_MESSAGES, FlaggedItem, ItemOutcome, Outcome, OutcomeCounts, SourceReport,
};
use crate::domain;
use crate::translog::{Excerpt, ItemKey, ItemProgress, ItemState, SessionOutcome, SessionProgress};

impl ItemOutcome {
    /// An item the plan found already on the destination.
    pub fn already_present(key: &ItemKey) -> Self {
        Self {
            module: key.item_type.clone(),
            key: key.item.clone(),
            localuser: None,
            outcome: Outcome::AlreadyPresent,
            size: None,
        }
    }

    /// The item's key.
    pub fn item_key(&self) -> ItemKey {
        ItemKey::new(&self.module, &self.key)
    }

    fn of(
        key: &ItemKey,
        item: Option<&ItemProgress>,
        ended: Option<&domain::SessionState>,
    ) -> Self {
        let default = ItemProgress::default();
        let p = item.unwrap_or(&default);
        let c = &p.counts;
        let outcome = match p.state() {
            ItemState::Done => Outcome::Done,
            ItemState::DoneWithWarnings => Outcome::DoneWithWarnings {
                warnings: c.warnings,
                skipped: c.skipped_items,
                dangerous: c.dangerous_items,
                altered: c.altered_items,
                first_messages: p.messages.iter().take(FIRST_MESSAGES).cloned().collect(),
            },
            ItemState::Failed => Outcome::Failed {
                failure: p
                    .failure
                    .clone()
                    .unwrap_or_else(|| "failed (the log gives no reason)".to_owned()),
                excerpt: Vec::new(),
            },
            state => Outcome::NotRun {
                reason: not_run_reason(state, ended),
            },
        };
        Self {
            module: key.item_type.clone(),
            key: key.item.clone(),
            localuser: p.local_item.clone().filter(|l| *l != key.item),
            outcome,
            size: p.size,
        }
    }
}

/// Why an unfinished item did not finish, given the session's final state name.
fn not_run_reason(state: ItemState, ended: Option<&domain::SessionState>) -> String {
    use domain::SessionState::{Aborted, Completed, Failed};
    let doing = match state {
        ItemState::Transferring => Some("transferring"),
        ItemState::AwaitingRestore => Some("waiting for restore"),
        ItemState::Restoring => Some("restoring"),
        _ => None,
    };
    match (ended, doing) {
        (Some(Completed), None) => {
            "the session COMPLETED without the log ever mentioning it".to_owned()
        }
        (Some(Completed), Some(doing)) => {
            format!("the session COMPLETED while it was still {doing}")
        }
        (Some(end @ (Aborted | Failed)), None) => {
            format!("the session ended {end} before it started")
        }
        (Some(end @ (Aborted | Failed)), Some(doing)) => {
            format!("the session ended {end} while it was {doing}")
        }
        (Some(state), None) => {
            format!("not started when apply stopped following the session ({state})")
        }
        (Some(state), Some(doing)) => {
            format!("still {doing} when apply stopped following the session ({state})")
        }
        (None, None) => "not started when apply stopped following the session".to_owned(),
        (None, Some(doing)) => {
            format!("still {doing} when apply stopped following the session")
        }
    }
}

impl SourceReport {
    /// The report of one source from its session's fold.
    ///
    /// `final_state` is the last state `get_transfer_session_state` returned; without
    /// it the log's own ending is used. Items are `planned` in order, then items the log
    /// named that were not planned. A planned item the log never finished is
    /// [`Outcome::NotRun`], with a reason that depends on how the session ended.
    pub fn from_progress(
        source: &str,
        session_id: Option<&str>,
        final_state: Option<&domain::SessionState>,
        planned: &[ItemKey],
        progress: &SessionProgress,
    ) -> Self {
        let final_state = final_state.cloned().or_else(|| {
            progress.outcome().map(|o| match o {
                SessionOutcome::Completed => domain::SessionState::Completed,
                SessionOutcome::Aborted => domain::SessionState::Aborted,
                SessionOutcome::Failed => domain::SessionState::Failed,
            })
        });
        let ended = final_state.as_ref();
        let mut items: Vec<ItemOutcome> = planned
            .iter()
            .map(|key| ItemOutcome::of(key, progress.item(key), ended))
            .collect();
        let planned_set: BTreeSet<&ItemKey> = planned.iter().collect();
        let mut dangerous = Vec::new();
        let mut altered = Vec::new();
        for (key, p) in progress.items() {
            if !planned_set.contains(key) {
                items.push(ItemOutcome::of(key, Some(p), ended));
            }
            // Each list keeps its own texts: a dangerous item's report must not be
            // padded with the item's ordinary warnings.
            let flag = |count, messages: &Vec<String>| FlaggedItem {
                module: key.item_type.clone(),
                key: key.item.clone(),
                count,
                messages: messages.clone(),
            };
            if p.counts.dangerous_items > 0 {
                dangerous.push(flag(p.counts.dangerous_items, &p.dangerous));
            }
            if p.counts.altered_items > 0 {
                altered.push(flag(p.counts.altered_items, &p.altered));
            }
        }
        Self {
            source: source.to_owned(),
            session_id: session_id.map(str::to_owned),
            final_state,
            elapsed: None,
            estimate: None,
            duration: None,
            items,
            dangerous,
            altered,
            error: None,
        }
    }

    /// A source that stopped with `error`; its `planned` items did not run.
    pub fn failed(
        source: &str,
        session_id: Option<&str>,
        planned: &[ItemKey],
        error: &str,
    ) -> Self {
        let items = planned
            .iter()
            .map(|key| ItemOutcome {
                module: key.item_type.clone(),
                key: key.item.clone(),
                localuser: None,
                outcome: Outcome::NotRun {
                    reason: "this source stopped with an error".to_owned(),
                },
                size: None,
            })
            .collect();
        Self {
            source: source.to_owned(),
            session_id: session_id.map(str::to_owned),
            items,
            error: Some(error.to_owned()),
            ..Self::default()
        }
    }

    /// Sets the excerpt of a failed item from its item log; false when `key` is not a
    /// failed item of this report.
    pub fn attach_excerpt(&mut self, key: &ItemKey, excerpt: &Excerpt) -> bool {
        let Some(Outcome::Failed { excerpt: lines, .. }) = self
            .items
            .iter_mut()
            .find(|i| i.module == key.item_type && i.key == key.item)
            .map(|i| &mut i.outcome)
        else {
            return false;
        };
        *lines = excerpt.lines.iter().map(|l| l.text.clone()).collect();
        if excerpt.omitted > 0 {
            lines.push(format!("… {} more lines left out", excerpt.omitted));
        }
        true
    }

    /// The failed items' keys (to fetch their item logs for excerpts).
    pub fn failed_keys(&self) -> Vec<ItemKey> {
        self.items
            .iter()
            .filter(|i| matches!(i.outcome, Outcome::Failed { .. }))
            .map(ItemOutcome::item_key)
            .collect()
    }

    /// Outcome counts.
    pub fn counts(&self) -> OutcomeCounts {
        let mut c = OutcomeCounts {
            items: self.items.len(),
            ..OutcomeCounts::default()
        };
        for item in &self.items {
            match item.outcome {
                Outcome::Done => c.done += 1,
                Outcome::DoneWithWarnings { .. } => c.done_with_warnings += 1,
                Outcome::Failed { .. } => c.failed += 1,
                Outcome::NotRun { .. } => c.not_run += 1,
                Outcome::AlreadyPresent => c.already_present += 1,
            }
        }
        c
    }
}
