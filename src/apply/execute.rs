//! The executor: for each source (concurrently), make sure a usable session exists,
//! queue what the plan says is missing in module order, start, and follow to the end.
//!
//! A session of ours that is already running (an interrupted earlier apply) is followed
//! first, never doubled: new items wait for the next round, once the destination shows
//! what that session restored.

use crate::apply::enqueue::Pacing;
use crate::apply::enqueue::{enqueue_items, lock, record, start_session};
use crate::apply::monitor::{Followed, Watcher, follow};
use crate::apply::poll::PollPolicy;
use crate::domain::{SessionState, UserSessionRequest};
use crate::journal::{Journal, RunRecord, SaveCadence, SessionRecord, StateDir, now};
use crate::plan::{
    Action, Desired, DesiredItem, DesiredSource, ItemPlan, Plan, SourceKind, SourcePlan, queue_key,
};
use crate::translog::{ItemKey, ItemState};
use crate::whm::{WhmClient, WhmError};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Credentials to open a user session for a user source.
#[derive(Debug, Clone)]
pub struct UserAccess {
    /// The manifest's name for the source.
    pub name: String,
    /// The create request.
    pub request: UserSessionRequest,
}

/// What happened to one source.
#[derive(Debug)]
pub struct SourceRun {
    /// The manifest's name for the source.
    pub name: String,
    /// The session used, if any.
    pub session: Option<String>,
    /// Newly queued and already-queued counts.
    pub enqueued: (usize, usize),
    /// Whether an earlier run's session was still running and was followed instead.
    pub resumed: bool,
    /// The followed session, when one ran.
    pub followed: Option<Followed>,
    /// The error that stopped this source, if any.
    pub error: Option<String>,
}

/// What every source's run shares.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The destination.
    pub client: &'a WhmClient,
    /// Where the journal lives.
    pub state: &'a StateDir,
    /// The journal, shared by the sources.
    pub journal: &'a Mutex<Journal>,
    /// State polling.
    pub policy: PollPolicy,
}

/// Runs every source of `plan` (which must have no blockers).
pub async fn execute(
    cx: Context<'_>,
    desired: &Desired,
    plan: &Plan,
    users: &[UserAccess],
    watchers: Vec<Box<dyn Watcher + Send>>,
) -> Vec<SourceRun> {
    // One save cadence for the whole journal, shared by every source's enqueue loop.
    let pacing = &Pacing::new();
    let runs = desired.sources.iter().zip(&plan.sources).zip(watchers).map(
        |((source, source_plan), mut watcher)| async move {
            let user = users.iter().find(|u| u.name == source.name);
            let mut run = SourceRun {
                name: source.name.clone(),
                session: source_plan.session.as_ref().map(|s| s.id.clone()),
                enqueued: (0, 0),
                resumed: false,
                followed: None,
                error: None,
            };
            if let Err(e) = run_source(
                cx,
                pacing,
                source,
                source_plan,
                user,
                watcher.as_mut(),
                &mut run,
            )
            .await
            {
                run.error = Some(e.to_string());
            }
            run
        },
    );
    // Changes go through the cadence, which saves at most every SAVE_EVERY: saving the
    // whole journal per source (after its enqueues, at its start and its end) made 50
    // sources write a 10,000-item journal 150 times, on the task that runs them all.
    // `keep_saved` saves what it left unsaved, so the file lags at most SAVE_EVERY.
    let flusher = pacing.saves.keep_saved(cx.state, cx.journal);
    let all = futures::future::join_all(runs);
    tokio::pin!(all, flusher);
    let runs = loop {
        tokio::select! {
            runs = &mut all => break runs,
            () = &mut flusher => {}
        }
    };
    let _ = pacing.saves.flush(cx.state, cx.journal);
    runs
}

async fn run_source(
    cx: Context<'_>,
    pacing: &Pacing,
    source: &DesiredSource,
    source_plan: &SourcePlan,
    user: Option<&UserAccess>,
    watcher: &mut (dyn Watcher + Send),
    run: &mut SourceRun,
) -> Result<(), WhmError> {
    let Context {
        client,
        state,
        journal,
        policy,
    } = cx;
    let observed_state = source_plan
        .session
        .as_ref()
        .map(|s| SessionState::from_name(&s.state));
    // An earlier run's session still at work: follow it; enqueue nothing into it.
    if let (Some(id), Some(s)) = (&run.session, &observed_state)
        && s.is_active()
    {
        run.resumed = true;
        note_state(&pacing.saves, journal, state, &source.name, id, s);
        watcher.note(&format!(
            "following session {id}, started by an earlier run"
        ));
        let keys = queued_keys(journal, &source.name, id);
        let followed = follow(client, id, &keys, policy, watcher).await?;
        settle(
            &pacing.saves,
            journal,
            state,
            &source.name,
            id,
            &followed,
            None,
        );
        run.error = paused(id, &followed);
        run.followed = Some(followed);
        return Ok(());
    }
    // An item whose enqueue was in flight when an earlier run stopped may or may not
    // be in the queue: ask again (WHM answers "already exists in the queue" if it is).
    let uncertain = uncertain_keys(journal, &source.name, run.session.as_deref());
    // Indexed: a scan of the source's items per planned item is quadratic.
    let mut desired: HashMap<(&str, &str), &DesiredItem> = HashMap::new();
    for d in &source.items {
        desired
            .entry((d.module.as_str(), d.key.as_str()))
            .or_insert(d);
    }
    // Borrowed: the parameters sent are built per enqueue, a few at a time, not
    // copied for every item up front.
    let items: Vec<(&ItemPlan, &[(String, String)])> = source_plan
        .items
        .iter()
        .filter(|i| {
            i.action == Action::Transfer
                || (i.action == Action::AlreadyQueued
                    && uncertain.contains(&queue_key(&i.module, &i.key)))
        })
        .filter_map(|i| {
            desired
                .get(&(i.module.as_str(), i.key.as_str()))
                .map(|d| (i, d.params.as_slice()))
        })
        .collect();
    let resume_queued = source_plan
        .items
        .iter()
        .any(|i| i.action == Action::AlreadyQueued);
    if items.is_empty() && !resume_queued {
        return Ok(());
    }
    let session = match (&run.session, &observed_state) {
        (Some(id), Some(SessionState::Pending | SessionState::Paused)) => id.clone(),
        _ => create_session(client, source, user, state, journal).await?,
    };
    run.session = Some(session.clone());
    let (queued, already) = enqueue_items(
        client,
        &session,
        &items,
        &source.name,
        state,
        journal,
        pacing,
    )
    .await?;
    run.enqueued = (queued, already);
    watcher.note(&format!(
        "session {session}: queued {queued} item(s){}",
        if already > 0 {
            format!(", {already} already in the queue")
        } else {
            String::new()
        }
    ));
    let started = std::time::Instant::now();
    start_session(client, &session).await?;
    note_state(
        &pacing.saves,
        journal,
        state,
        &source.name,
        &session,
        &SessionState::Running,
    );
    let keys = queued_keys(journal, &source.name, &session);
    let followed = follow(client, &session, &keys, policy, watcher).await?;
    // One change, so the end costs one save of the journal.
    let measured = (followed.state == SessionState::Completed)
        .then(|| measured_run(source_plan, &session, started.elapsed()))
        .flatten();
    settle(
        &pacing.saves,
        journal,
        state,
        &source.name,
        &session,
        &followed,
        measured,
    );
    run.error = paused(&session, &followed);
    run.followed = Some(followed);
    Ok(())
}

/// The bytes and elapsed time of a session this run started and saw complete, for the
/// throughput later plans assume.
fn measured_run(
    source_plan: &SourcePlan,
    session: &str,
    elapsed: std::time::Duration,
) -> Option<RunRecord> {
    let estimate = source_plan.estimate.as_ref()?;
    let wave = source_plan
        .items
        .iter()
        .filter(|i| i.action == Action::Transfer)
        .find_map(|i| i.wave.clone());
    Some(RunRecord {
        session: session.to_owned(),
        finished_at: now(),
        wave,
        items: estimate.items,
        bytes: estimate.bytes,
        elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        transfer_threads: estimate.transfer_threads,
    })
}

/// A session paused on the destination stops this run: say so (apply's next run
/// starts it again).
fn paused(session: &str, followed: &Followed) -> Option<String> {
    (followed.state == SessionState::Paused).then(|| {
        format!(
            "session {session} was paused on the destination before it finished; re-run apply to resume it, or abort it"
        )
    })
}

async fn create_session(
    client: &WhmClient,
    source: &DesiredSource,
    user: Option<&UserAccess>,
    state: &StateDir,
    journal: &Mutex<Journal>,
) -> Result<String, WhmError> {
    let Some(user) = user.filter(|_| source.kind == SourceKind::User) else {
        return Err(WhmError::Config(format!(
            "source “{}” has no usable session and no credentials to create one",
            source.name
        )));
    };
    {
        let mut j = lock(journal);
        j.sources
            .entry(source.name.clone())
            .or_default()
            .begin_create(now());
        let _ = state.save(&j);
    }
    let created = match client
        .create_remote_user_transfer_session(&user.request)
        .await
    {
        Ok(created) => created,
        Err(e) => {
            if e.server_did_not_act() {
                crate::plan::observe::forget_create(journal, state, &source.name);
            }
            return Err(e);
        }
    };
    let mut j = lock(journal);
    let entry = j.sources.entry(source.name.clone()).or_default();
    if let Some(old) = entry.session.take() {
        entry.previous_sessions.push(old);
    }
    entry.session = Some(SessionRecord {
        id: created.transfer_session_id.clone(),
        created_at: now(),
        created_by: "apply".to_owned(),
        state: SessionState::Pending.name().to_owned(),
    });
    entry.create_started = None;
    let _ = state.save(&j);
    Ok(created.transfer_session_id)
}

/// Items the journal records as being enqueued into `session` without an answer.
fn uncertain_keys(
    journal: &Mutex<Journal>,
    source: &str,
    session: Option<&str>,
) -> HashSet<String> {
    let Some(session) = session else {
        return HashSet::new();
    };
    let j = lock(journal);
    j.sources
        .get(source)
        .map(|r| {
            r.items
                .iter()
                .filter(|(_, i)| i.session == session && i.state == "enqueuing")
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn queued_keys(journal: &Mutex<Journal>, source: &str, session: &str) -> Vec<ItemKey> {
    let j = lock(journal);
    j.sources
        .get(source)
        .map(|r| {
            r.items
                .iter()
                .filter(|(_, i)| i.session == session)
                .filter_map(|(k, _)| k.split_once('/'))
                .map(|(m, key)| ItemKey::new(m, key))
                .collect()
        })
        .unwrap_or_default()
}

/// Records `session`'s state as last seen, so the journal (and an interrupted run's
/// message) can tell a running session from one still waiting to be started.
fn note_state(
    saves: &SaveCadence,
    journal: &Mutex<Journal>,
    state: &StateDir,
    source: &str,
    session: &str,
    seen: &SessionState,
) {
    saves.change(state, journal, |j| {
        if let Some(rec) = j
            .sources
            .get_mut(source)
            .and_then(|s| s.session.as_mut())
            .filter(|r| r.id == session)
        {
            seen.name().clone_into(&mut rec.state);
        }
    });
}

/// Records the session's end, each item's outcome and the session's measured run in the
/// journal.
fn settle(
    saves: &SaveCadence,
    journal: &Mutex<Journal>,
    state: &StateDir,
    source: &str,
    session: &str,
    followed: &Followed,
    measured: Option<RunRecord>,
) {
    saves.change(state, journal, |j| {
        if let Some(run) = measured {
            j.record_run(source, run);
        }
        for (key, item) in followed.progress.items() {
            let name = match item.state() {
                ItemState::Done => "done",
                ItemState::DoneWithWarnings => "warnings",
                ItemState::Failed => "failed",
                ItemState::Pending => "not-run",
                ItemState::Transferring | ItemState::AwaitingRestore | ItemState::Restoring => {
                    "unknown"
                }
            };
            let qk = queue_key(&key.item_type, &key.item);
            record(j, source, &qk, session, name);
            if let Some(rec) = j.sources.get_mut(source).and_then(|s| s.items.get_mut(&qk)) {
                rec.failure.clone_from(&item.failure);
            }
        }
        if let Some(entry) = j.sources.get_mut(source)
            && let Some(rec) = entry.session.as_mut()
            && rec.id == session
        {
            followed.state.name().clone_into(&mut rec.state);
            if followed.state.is_terminal() {
                let old = entry.session.take();
                entry.previous_sessions.extend(old);
            }
        }
    });
}
