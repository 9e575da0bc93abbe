//! Queueing a source's items and starting its session, safe to repeat.
//!
//! `enqueue_transfer_item` is not idempotent by itself, but WHM refuses a second item
//! with the same primary key in a session ("already exists in the queue"). So after a
//! lost answer the item is enqueued again and that refusal proves it had landed: the
//! server, not a blind retry, decides. WHM has no call that lists a session's queue.

use crate::apply::ApplyError;
use crate::domain::SessionState;
use crate::journal::{ItemRecord, ItemStatus, Journal, JournalHandle, now};
use crate::plan::{ItemPlan, SetBy, queue_key};
use crate::whm::{EnqueueOutcome, WhmClient, WhmError};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How many times an enqueue or start whose answer was lost is asked again.
const RECONCILE_ATTEMPTS: u32 = 8;

/// How many `enqueue_transfer_item` calls one source keeps in flight.
pub const ENQUEUES_PER_SOURCE: usize = 16;

/// How many are in flight at once over all sources together: they all land on the one
/// destination.
pub const ENQUEUES_AT_ONCE: usize = 64;

/// Slots for the enqueue calls in flight over all sources, [`ENQUEUES_AT_ONCE`] in all.
pub fn enqueue_slots() -> Semaphore {
    Semaphore::new(ENQUEUES_AT_ONCE)
}

/// Enqueues `items` into `session`, a few at a time, recording each in the
/// journal. Returns how many were newly queued and how many were already there.
///
/// The journal is saved through its cadence, which every source shares: the server
/// is the record of what is queued (a repeated enqueue is refused as "already exists
/// in the queue"), and the session id is on disk before the first enqueue, so the
/// journal only spares the next run from asking again. A crash repeats at most one
/// save interval of enqueues, whatever the number of sources. The caller flushes the
/// cadence (what it leaves unsaved is at most one interval old). No enqueue is sent
/// while the journal cannot be saved.
pub async fn enqueue_items(
    client: &WhmClient,
    session: &str,
    items: &[(&ItemPlan, &[(String, String)])],
    source: &str,
    journal: &JournalHandle,
    slots: &Semaphore,
) -> Result<(usize, usize), ApplyError> {
    use futures::StreamExt as _;
    // WHM orders a queue by type, priority and key, never by arrival (REFERENCE §5.4),
    // so several enqueues may be in flight at once: at a real server's round trip, one
    // at a time would make 10,000 accounts wait minutes before the session starts. The
    // `slots` are shared by every source, so many sources do not multiply the load on
    // the destination.
    let outcomes = futures::stream::iter(items)
        .map(|(item, params)| async move {
            let _slot = slots.acquire().await.ok();
            let key = queue_key(&item.module, &item.key);
            journal.ready()?;
            journal.change(|j| {
                record(j, source, &key, session, ItemStatus::Enqueuing);
                set_wave(j, source, &key, item.wave.as_deref());
            });
            let params = params_to_send(item, params);
            let outcome = enqueue_one(client, session, &item.module, &params).await?;
            journal.change(|j| {
                record(j, source, &key, session, ItemStatus::Queued);
            });
            Ok::<_, ApplyError>(outcome)
        })
        .buffer_unordered(ENQUEUES_PER_SOURCE);
    futures::pin_mut!(outcomes);
    let mut queued = 0;
    let mut already = 0;
    let mut failed = None;
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Ok(EnqueueOutcome::Queued) => queued += 1,
            Ok(EnqueueOutcome::AlreadyQueued) => already += 1,
            Err(e) => {
                // Enqueues still in flight are dropped; their items stay `enqueuing` and
                // the next run's enqueue settles them.
                failed = Some(e);
                break;
            }
        }
    }
    // Not flushed here: the cadence's owner saves what is left within SAVE_EVERY
    // (`apply::execute`), so many sources ending their enqueues together share saves.
    match failed {
        Some(e) => Err(e),
        None => Ok((queued, already)),
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

async fn enqueue_one(
    client: &WhmClient,
    session: &str,
    module: &str,
    params: &[(String, String)],
) -> Result<EnqueueOutcome, WhmError> {
    let mut attempt = 0;
    let mut lost_once = false;
    loop {
        match client.enqueue_transfer_item(session, module, params).await {
            // An "already queued" after a lost answer means our earlier call landed.
            Ok(EnqueueOutcome::AlreadyQueued) if lost_once => return Ok(EnqueueOutcome::Queued),
            Ok(outcome) => return Ok(outcome),
            Err(e) if e.is_transient() && attempt < RECONCILE_ATTEMPTS => {
                attempt += 1;
                lost_once = true;
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
    let items = &mut journal.sources.entry(source.to_owned()).or_default().items;
    let wave = items.get(key).and_then(|r| r.wave.clone());
    items.insert(
        key.to_owned(),
        ItemRecord {
            session: session.to_owned(),
            state,
            updated_at: now(),
            failure: None,
            wave,
        },
    );
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
