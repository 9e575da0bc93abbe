//! Queueing a source's items and starting its session, safe to repeat.
//!
//! `enqueue_transfer_item` is not idempotent by itself, but WHM refuses a second item
//! with the same primary key in a session (REFERENCE §4.9 step 7). So after a lost
//! answer the item is enqueued again into the same session, never another: a success
//! means the first call had not landed, and a refusal means it is in the queue or that
//! the server refused it for another reason. The refusal's wording is not read
//! (REFERENCE §8: a server may word or translate it differently), so such an item is
//! "queued, unconfirmed" ([`ItemStatus::Unconfirmed`]): the session starts with it and
//! its master log decides (`process-item` records, and `queue_count` for the report).
//! An item that never shows there was not queued: the report says so and the next run
//! queues it, once this session has ended. A refusal of an item no earlier call could
//! have queued is a failed enqueue: the source stops, naming it. WHM has no call that
//! lists a session's queue.

use crate::apply::ApplyError;
use crate::domain::SessionState;
use crate::journal::{ItemRecord, ItemStatus, Journal, JournalHandle, now};
use crate::plan::{ItemPlan, SetBy, queue_key};
use crate::whm::{WhmClient, WhmError};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How many times an enqueue or start whose answer was lost is asked again.
const RECONCILE_ATTEMPTS: u32 = 8;

/// How many `enqueue_transfer_item` calls one session gets in flight by default
/// (`destination.enqueues_per_session`). Nothing documents that WHM takes concurrent
/// enqueues into one session, and one at a time costs little (docs/benchmarks.md,
/// "Enqueues one at a time"): sessions of several sources still enqueue in parallel.
pub const ENQUEUES_PER_SESSION: usize = 1;

/// How many are in flight at once over all sources together: they all land on the one
/// destination.
pub const ENQUEUES_AT_ONCE: usize = 64;

/// Slots for the enqueue calls in flight over all sources, [`ENQUEUES_AT_ONCE`] in all.
pub fn enqueue_slots() -> Semaphore {
    Semaphore::new(ENQUEUES_AT_ONCE)
}

/// How a source's enqueues ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enqueued {
    /// Queued: the server said so.
    pub queued: usize,
    /// Queued, unconfirmed: an answer was lost and asking again was refused.
    pub unconfirmed: usize,
}

impl Enqueued {
    /// The remark on `session`'s enqueues.
    pub fn describe(&self, session: &str) -> String {
        let unconfirmed = if self.unconfirmed > 0 {
            format!(
                ", {} queued, unconfirmed (an answer was lost and asking again was refused: the session's log will show whether they are in its queue)",
                self.unconfirmed
            )
        } else {
            String::new()
        };
        format!(
            "session {session}: queued {} item(s){unconfirmed}",
            self.queued
        )
    }
}

/// What one item's enqueue ended as.
enum Outcome {
    Queued,
    Unconfirmed,
}

/// Where a source's items are enqueued, and how.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The session.
    pub session: &'a str,
    /// The manifest's name for the source.
    pub source: &'a str,
    /// How many enqueue calls this session keeps in flight (at least 1).
    pub at_once: usize,
}

/// Enqueues `items` into the target session, `at_once` at a time, recording each in
/// the journal. Returns how many were queued and how many are queued, unconfirmed.
///
/// Every item is recorded `enqueuing` in this session and saved before the first call:
/// a later run then knows which items an earlier call may have queued (a refusal of
/// those is "unconfirmed", of the others a failure). Answers go through the journal's
/// cadence, which every source shares; the caller flushes it (what it leaves unsaved
/// is at most one interval old). No enqueue is sent while the journal cannot be saved.
pub async fn enqueue_items(
    client: &WhmClient,
    target: Target<'_>,
    items: &[(&ItemPlan, &[(String, String)])],
    journal: &JournalHandle,
    slots: &Semaphore,
) -> Result<Enqueued, ApplyError> {
    use futures::StreamExt as _;
    let Target {
        session, source, ..
    } = target;
    let sent_before = sent_before(journal, source, session);
    // Sources mark their items at once: they share the writes.
    journal
        .commit_together(|j| {
            let at = now();
            for (item, _) in items {
                let key = queue_key(&item.module, &item.key);
                record_at(j, source, &key, session, ItemStatus::Enqueuing, &at);
                set_wave(j, source, &key, item.wave.as_deref());
            }
        })
        .await?;
    // WHM orders a queue by type, priority and key, never by arrival (REFERENCE §5.4),
    // so the order of the calls does not matter. The `slots` are shared by every
    // source, so many sources do not multiply the load on the destination.
    let outcomes = futures::stream::iter(items)
        .map(|(item, params)| {
            let sent_before = &sent_before;
            async move {
                let _slot = slots.acquire().await.ok();
                let key = queue_key(&item.module, &item.key);
                journal.ready()?;
                let params = params_to_send(item, params);
                let maybe_there = sent_before.contains(&key);
                let outcome = enqueue_one(client, session, &item.module, &params, maybe_there)
                    .await
                    .map_err(|error| refused(journal, target, &key, error))?;
                let state = match outcome {
                    Outcome::Queued => ItemStatus::Queued,
                    Outcome::Unconfirmed => ItemStatus::Unconfirmed,
                };
                journal.change(|j| record(j, source, &key, session, state));
                Ok::<_, ApplyError>(outcome)
            }
        })
        .buffer_unordered(target.at_once.max(1));
    futures::pin_mut!(outcomes);
    let mut done = Enqueued::default();
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Ok(Outcome::Queued) => done.queued += 1,
            Ok(Outcome::Unconfirmed) => done.unconfirmed += 1,
            // Enqueues still in flight are dropped; their items stay `enqueuing` and
            // the next run's enqueue into this session settles them.
            Err(e) => return Err(e),
        }
    }
    // Not flushed here: the cadence's owner saves what is left within SAVE_EVERY
    // (`apply::execute`), so many sources ending their enqueues together share saves.
    Ok(done)
}

/// The source's items an earlier call may have queued in `session`: every item the
/// journal places there, but those whose enqueue was refused outright.
fn sent_before(journal: &JournalHandle, source: &str, session: &str) -> HashSet<String> {
    journal.read(|j| {
        j.sources
            .get(source)
            .map(|s| {
                s.items
                    .iter()
                    .filter(|(_, r)| r.session == session && r.state != ItemStatus::Refused)
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// The error of an item's failed enqueue. A refusal (a result-0 answer) is recorded as
/// such, with its reason, and names the item; anything else leaves the item
/// `enqueuing` (it may have landed).
fn refused(journal: &JournalHandle, target: Target<'_>, key: &str, error: WhmError) -> ApplyError {
    if error.api_reason().is_none() {
        return error.into();
    }
    journal.change(|j| {
        record(j, target.source, key, target.session, ItemStatus::Refused);
        if let Some(rec) = j
            .sources
            .get_mut(target.source)
            .and_then(|s| s.items.get_mut(key))
        {
            rec.failure = Some(error.to_string());
        }
    });
    ApplyError::Refused {
        item: key.to_owned(),
        session: target.session.to_owned(),
        error,
    }
}

/// The manifest's parameters for `item`, plus the analysis' size when the manifest
/// set none (WHM uses it to pick the home partition and check disk space) and the
/// `priority` and `prerequisite_user` the schedule chose (what the manifest sets wins).
fn params_to_send(item: &ItemPlan, params: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = params.to_vec();
    if let Some(size) = item.size
        && size > 0
        && !out.iter().any(|(k, _)| k == "size")
    {
        out.push(("size".to_owned(), size.to_string()));
    }
    let mut add = |name: &str, value: Option<String>, by: Option<SetBy>| {
        if let Some(value) = value
            && by == Some(SetBy::Schedule)
            && !out.iter().any(|(k, _)| k == name)
        {
            out.push((name.to_owned(), value));
        }
    };
    add(
        "priority",
        item.priority.map(|p| p.to_string()),
        item.priority_by,
    );
    add(
        "prerequisite_user",
        item.prerequisite_user.clone(),
        item.prerequisite_by,
    );
    out
}

/// Enqueues one item, asking again while answers are lost. `maybe_there`: an earlier
/// run's call may have queued it in this session.
async fn enqueue_one(
    client: &WhmClient,
    session: &str,
    module: &str,
    params: &[(String, String)],
    maybe_there: bool,
) -> Result<Outcome, WhmError> {
    let mut attempt = 0;
    let mut maybe_there = maybe_there;
    loop {
        match client.enqueue_transfer_item(session, module, params).await {
            Ok(()) => return Ok(Outcome::Queued),
            // Refused, whatever the words: after a call that may have landed, it is in
            // the queue or not at all, and only the session's log can tell.
            Err(e) if maybe_there && e.api_reason().is_some() && !e.is_unknown_session(session) => {
                tracing::debug!(session, module, "enqueue refused after a lost answer ({e})");
                return Ok(Outcome::Unconfirmed);
            }
            // A timeout, a broken connection, a 5xx or a garbled answer after the
            // request was sent: the call may have landed. Ask the same session again.
            Err(e) if !e.server_did_not_act() || e.is_transient() => {
                if attempt >= RECONCILE_ATTEMPTS {
                    return Err(e);
                }
                attempt += 1;
                maybe_there |= !e.server_did_not_act();
                tracing::debug!(session, module, "enqueue answer lost ({e}); asking again");
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Starts (or resumes) `session`. A lost answer is reconciled by reading the state:
/// a running session needs nothing more, and starting a running session is harmless.
pub async fn start_session(client: &WhmClient, session: &str) -> Result<(), WhmError> {
    let mut attempt = 0;
    loop {
        match client.start_transfer_session(session).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_transient() && attempt < RECONCILE_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(backoff(attempt)).await;
                if let Ok(state) = client.get_transfer_session_state(session).await
                    && (state.is_active() || state == SessionState::Completed)
                {
                    return Ok(());
                }
            }
            Err(e) => return Err(e),
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(6)).min(5_000))
}

/// Records an item's state in the journal (its wave, once recorded, stays).
pub fn record(journal: &mut Journal, source: &str, key: &str, session: &str, state: ItemStatus) {
    record_at(journal, source, key, session, state, &now());
}

/// Like [`record`], dated `at`: a change of many items at once takes one timestamp.
pub fn record_at(
    journal: &mut Journal,
    source: &str,
    key: &str,
    session: &str,
    state: ItemStatus,
    at: &str,
) {
    let items = &mut journal.sources.entry(source.to_owned()).or_default().items;
    let rec = ItemRecord {
        session: session.to_owned(),
        state,
        updated_at: at.to_owned(),
        failure: None,
        wave: None,
    };
    match items.get_mut(key) {
        Some(old) => {
            *old = ItemRecord {
                wave: old.wave.take(),
                ..rec
            }
        }
        None => {
            items.insert(key.to_owned(), rec);
        }
    }
}

/// Records the wave an item is queued in.
fn set_wave(journal: &mut Journal, source: &str, key: &str, wave: Option<&str>) {
    if let Some(rec) = journal
        .sources
        .get_mut(source)
        .and_then(|s| s.items.get_mut(key))
    {
        rec.wave = wave.map(str::to_owned);
    }
}
