//! The executor: for each source (concurrently), make sure a usable session exists,
//! queue what the plan says is missing in module order, start, and follow to the end.
//!
//! A session of ours that is already running (an interrupted earlier apply) is followed
//! first, never doubled: new items wait for the next round, once the destination shows
//! what that session restored.

use crate::apply::ApplyError;
use crate::apply::enqueue::{
    Enqueued, Target, enqueue_items, enqueue_slots, record_at, start_session,
};
use crate::apply::expected::Recording;
use crate::apply::forecast::{DestinationRestores, SessionShape};
use crate::apply::monitor::{Followed, Watcher, follow};
use crate::apply::poll::PollPolicy;
use crate::domain::{SessionState, UserSessionRequest};
use crate::journal::{ItemStatus, JournalHandle, Retired, RunRecord, SessionRecord, StepPace, now};
use crate::plan::schedule::{Pools, session_jobs};
use crate::plan::{
    Action, Desired, DesiredItem, DesiredSource, ItemPlan, Plan, SessionKind, SourcePlan,
    Throughput, queue_key,
};
use crate::translog::{ItemKey, ItemState, SessionProgress};
use crate::whm::WhmClient;
use std::collections::HashMap;
use tokio::sync::Semaphore;

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
    /// How this run's enqueues ended.
    pub enqueued: Enqueued,
    /// Items that were queued, unconfirmed when the session was followed: only its
    /// log could tell whether they were in its queue.
    pub unconfirmed: Vec<ItemKey>,
    /// Whether an earlier run's session was still running and was followed instead.
    pub resumed: bool,
    /// The followed session, when one ran.
    pub followed: Option<Followed>,
    /// The error that stopped this source, if any.
    pub error: Option<String>,
    /// The plan's estimate of the session, when it gave one.
    pub estimate: Option<std::time::Duration>,
    /// How long the session ran: from this run's start of it (or from when following
    /// an earlier run's session began) until its end was noticed.
    pub took: Option<std::time::Duration>,
}

impl SourceRun {
    /// A run of `source` that has done nothing yet.
    fn new(source: &DesiredSource, plan: &SourcePlan) -> Self {
        Self {
            name: source.name.clone(),
            session: plan.session.as_ref().map(|s| s.id.clone()),
            enqueued: Enqueued::default(),
            unconfirmed: Vec::new(),
            resumed: false,
            followed: None,
            error: None,
            estimate: plan
                .estimate
                .as_ref()
                .map(|e| std::time::Duration::from_millis(e.duration_ms)),
            took: None,
        }
    }
}

/// What every source's run shares.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The destination.
    pub client: &'a WhmClient,
    /// The journal, shared by the sources.
    pub journal: &'a JournalHandle,
    /// State polling.
    pub policy: PollPolicy,
    /// How many enqueue calls each session keeps in flight
    /// (`destination.enqueues_per_session`).
    pub enqueues_per_session: usize,
}

/// Runs every source of `plan` (which must have no blockers). The journal is flushed
/// at the end; a failure to save it is each stopped source's error.
pub async fn execute(
    cx: Context<'_>,
    desired: &Desired,
    plan: &Plan,
    users: &[UserAccess],
    watchers: Vec<Box<dyn Watcher + Send>>,
) -> Vec<SourceRun> {
    // Nothing is sent to a server while the journal cannot be saved: one save now
    // finds a store that is already broken before the first call.
    if let Err(e) = cx.journal.commit(|_| ()) {
        return desired
            .sources
            .iter()
            .zip(&plan.sources)
            .map(|(source, source_plan)| SourceRun {
                error: Some(e.to_string()),
                ..SourceRun::new(source, source_plan)
            })
            .collect();
    }
    // The enqueue slots are shared by every source: they all land on one destination.
    let slots = &enqueue_slots();
    // So are the restores: each session's tell the others' pace.
    let restores = &DestinationRestores::default();
    let throughput = plan.estimate.as_ref().map(|e| e.throughput);
    let runs = desired.sources.iter().zip(&plan.sources).zip(watchers).map(
        |((source, source_plan), mut watcher)| async move {
            let user = users.iter().find(|u| u.name == source.name);
            let mut run = SourceRun::new(source, source_plan);
            let job = SourceJob {
                cx,
                slots,
                source,
                plan: source_plan,
                user,
                // The source's own, when its earlier sessions measured one.
                throughput: source_plan
                    .estimate
                    .as_ref()
                    .and_then(|e| e.throughput)
                    .or(throughput),
                restores,
            };
            if let Err(e) = job.run(watcher.as_mut(), &mut run).await {
                run.error = Some(e.to_string());
            }
            run
        },
    );
    // Changes go through the journal's cadence, which saves at most every SAVE_EVERY:
    // saving the whole journal per source (after its enqueues, at its start and its
    // end) made 50 sources write a 10,000-item journal 150 times, on the task that runs
    // them all. `keep_saved` saves what it left unsaved, so the file lags at most
    // SAVE_EVERY.
    let flusher = cx.journal.keep_saved();
    let all = futures::future::join_all(runs);
    tokio::pin!(all, flusher);
    let mut runs = loop {
        tokio::select! {
            runs = &mut all => break runs,
            () = &mut flusher => {}
        }
    };
    if let Err(e) = cx.journal.flush() {
        for run in runs.iter_mut().filter(|r| r.error.is_none()) {
            run.error = Some(format!("the outcome is not in the journal: {e}"));
        }
    }
    runs
}

/// One source's part of an apply.
struct SourceJob<'a> {
    cx: Context<'a>,
    slots: &'a Semaphore,
    source: &'a DesiredSource,
    plan: &'a SourcePlan,
    user: Option<&'a UserAccess>,
    /// The throughput the plan's estimates assume.
    throughput: Option<Throughput>,
    /// The restores finished on the destination, for the live estimates.
    restores: &'a DestinationRestores,
}

impl SourceJob<'_> {
    async fn run(
        &self,
        watcher: &mut (dyn Watcher + Send),
        run: &mut SourceRun,
    ) -> Result<(), ApplyError> {
        let observed = self.plan.session.as_ref().map(|s| s.state.clone());
        // A recorded session that is not waiting to be (re)started is at work, or in a
        // state this client cannot name, or unread: follow it; enqueue nothing into it,
        // and never replace it (a terminal one was retired by the plan).
        if let (Some(id), Some(s)) = (run.session.clone(), &observed)
            && !matches!(s, SessionState::Pending | SessionState::Paused)
        {
            run.resumed = true;
            self.note_state(&id, s);
            watcher.note(&format!(
                "following session {id}, started by an earlier run"
            ));
            return self.follow(&id, None, watcher, run).await;
        }
        let items = self.items_to_queue();
        let resume_queued = self
            .plan
            .items
            .iter()
            .any(|i| i.action == Action::AlreadyQueued);
        if items.is_empty() && !resume_queued {
            return Ok(());
        }
        let session = match (&run.session, &observed) {
            (Some(id), Some(SessionState::Pending | SessionState::Paused)) => id.clone(),
            _ => self.create_session().await?,
        };
        run.session = Some(session.clone());
        let journal = self.cx.journal;
        let target = Target {
            session: &session,
            source: &self.source.name,
            at_once: self.cx.enqueues_per_session,
        };
        let enqueued = enqueue_items(self.cx.client, target, &items, journal, self.slots).await?;
        run.enqueued = enqueued;
        watcher.note(&enqueued.describe(&session));
        let started = std::time::Instant::now();
        // What was queued is on disk before the session starts (a write shared with the
        // sources whose enqueues ended meanwhile).
        journal.flush_together().await?;
        journal.ready()?;
        start_session(self.cx.client, &session).await?;
        self.note_state(&session, &SessionState::Running);
        self.follow(&session, Some(started), watcher, run).await
    }

    /// The plan's items to enqueue, with their parameters. Items an earlier run left
    /// `enqueuing` are planned as transfers and sent again into the same session;
    /// queued, unconfirmed ones are not: the session's log decides about them.
    fn items_to_queue(&self) -> Vec<(&ItemPlan, &[(String, String)])> {
        // Indexed: a scan of the source's items per planned item is quadratic.
        let mut desired: HashMap<(&str, &str), &DesiredItem> = HashMap::new();
        for d in &self.source.items {
            desired
                .entry((d.module.as_str(), d.key.as_str()))
                .or_insert(d);
        }
        // Borrowed: the parameters sent are built per enqueue, a few at a time, not
        // copied for every item up front.
        self.plan
            .items
            .iter()
            .filter(|i| i.action == Action::Transfer)
            .filter_map(|i| {
                desired
                    .get(&(i.module.as_str(), i.key.as_str()))
                    .map(|d| (i, d.params.as_slice()))
            })
            .collect()
    }

    /// Follows `session` to its end and records the outcome; `started` is when this
    /// run started it (its run is measured then).
    async fn follow(
        &self,
        session: &str,
        started: Option<std::time::Instant>,
        watcher: &mut (dyn Watcher + Send),
        run: &mut SourceRun,
    ) -> Result<(), ApplyError> {
        let keys = self.queued_keys(session);
        run.unconfirmed = self.unconfirmed_keys(session);
        let since = started.unwrap_or_else(std::time::Instant::now);
        watcher.started(session, &keys, run.estimate);
        let shape = self.shape();
        let mut recording = Recording {
            inner: watcher,
            journal: self.cx.journal,
            source: &self.source.name,
            session,
            recorded: None,
        };
        let followed = follow(
            self.cx.client,
            session,
            &keys,
            self.cx.policy,
            shape,
            // Started by this run: RUNNING, as the start's success says (REFERENCE
            // §4.10), without a read.
            started.map(|_| SessionState::Running),
            &mut recording,
        )
        .await?;
        recording.finished(&followed.state);
        run.took = Some(since.elapsed());
        // One change, so the end costs one save of the journal. A session an earlier
        // run started is recorded by its step costs alone: its start was not seen here.
        let measured = match started {
            _ if followed.state != SessionState::Completed => None,
            Some(t) => measured_run(self.plan, session, t.elapsed(), followed.pace),
            None => followed.pace.and_then(|pace| {
                measured_run(self.plan, session, std::time::Duration::ZERO, Some(pace))
            }),
        };
        self.settle(session, &followed, measured, &run.unconfirmed);
        run.error = paused(session, &followed);
        run.followed = Some(followed);
        Ok(())
    }
}

/// The bytes and elapsed time of a session seen complete (elapsed zero when an earlier
/// run started it), and what its steps cost, for the throughput later plans assume.
fn measured_run(
    source_plan: &SourcePlan,
    session: &str,
    elapsed: std::time::Duration,
    pace: Option<StepPace>,
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
        pace,
    })
}

/// The queued, unconfirmed items the session's log never showed, once the session
/// has ended: they were not in its queue.
pub fn not_queued<'a>(followed: &Followed, unconfirmed: &'a [ItemKey]) -> Vec<&'a ItemKey> {
    if !followed.state.is_terminal() {
        return Vec::new();
    }
    unconfirmed
        .iter()
        .filter(|k| {
            followed
                .progress
                .item(k)
                .is_none_or(|p| p.state() == ItemState::Pending)
        })
        .collect()
}

/// Why a queued, unconfirmed item the log never showed is reported as not queued.
pub fn not_queued_reason(progress: &SessionProgress) -> String {
    let count = progress
        .queue_count()
        .map(|n| format!(" (its queue_count: {n} items)"))
        .unwrap_or_default();
    format!(
        "not queued: the answer to its enqueue was lost, asking again was refused, and the session's master log{count} never showed it; the next apply queues it"
    )
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

impl SourceJob<'_> {
    /// Creates a user session (root sessions are created by `plan`, which needs their
    /// analysis). The create mark is on disk before the call, the id right after it.
    async fn create_session(&self) -> Result<String, ApplyError> {
        let name = &self.source.name;
        let Some(user) = self.user.filter(|_| self.source.kind == SessionKind::User) else {
            return Err(ApplyError::NoCredentials(name.clone()));
        };
        let journal = self.cx.journal;
        journal.commit(|j| {
            j.sources
                .entry(name.clone())
                .or_default()
                .begin_create(now());
        })?;
        let created = match self
            .cx
            .client
            .create_remote_user_transfer_session(&user.request)
            .await
        {
            Ok(created) => created,
            Err(e) => {
                if e.server_did_not_act() {
                    journal
                        .commit(|j| j.sources.entry(name.clone()).or_default().forget_create())?;
                }
                return Err(e.into());
            }
        };
        let id = created.transfer_session_id;
        journal.commit(|j| {
            let entry = j.sources.entry(name.clone()).or_default();
            if let Some(mut old) = entry.session.take() {
                old.retired.get_or_insert(Retired::Ended);
                entry.previous_sessions.push(old);
            }
            entry.session = Some(SessionRecord::new(&id, "apply", SessionState::Pending));
            entry.create_started = None;
        })?;
        Ok(id)
    }

    /// The session as the plan scheduled it, for the live time-left estimate.
    fn shape(&self) -> Option<SessionShape> {
        let estimate = self.plan.estimate.as_ref()?;
        let jobs = session_jobs(self.source, self.plan)
            .into_iter()
            .map(|(module, job)| (ItemKey::new(&module, &job.key), job))
            .collect();
        Some(SessionShape {
            jobs,
            pools: Pools {
                transfer: estimate.transfer_threads.max(1),
                restore: estimate.restore_threads.max(1),
            },
            throughput: self.throughput?,
            estimate: Some(std::time::Duration::from_millis(estimate.duration_ms)),
            destination: self.restores.clone(),
        })
    }

    /// Items the journal records as queued, unconfirmed in `session`.
    fn unconfirmed_keys(&self, session: &str) -> Vec<ItemKey> {
        self.cx.journal.read(|j| {
            j.sources
                .get(&self.source.name)
                .map(|r| {
                    r.items
                        .iter()
                        .filter(|(_, i)| i.session == session && i.state == ItemStatus::Unconfirmed)
                        .filter_map(|(k, _)| k.split_once('/'))
                        .map(|(m, key)| ItemKey::new(m, key))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    fn queued_keys(&self, session: &str) -> Vec<ItemKey> {
        self.cx.journal.read(|j| {
            j.sources
                .get(&self.source.name)
                .map(|r| {
                    r.items
                        .iter()
                        .filter(|(_, i)| i.session == session)
                        .filter_map(|(k, _)| k.split_once('/'))
                        .map(|(m, key)| ItemKey::new(m, key))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Records `session`'s state as last seen, so the journal (and an interrupted run's
    /// message) can tell a running session from one still waiting to be started.
    fn note_state(&self, session: &str, seen: &SessionState) {
        self.cx.journal.change(|j| {
            if let Some(rec) = j
                .sources
                .get_mut(&self.source.name)
                .and_then(|s| s.session.as_mut())
                .filter(|r| r.id == session)
            {
                rec.state = seen.clone();
            }
        });
    }

    /// Records the session's end, each item's outcome and the session's measured run
    /// in the journal.
    fn settle(
        &self,
        session: &str,
        followed: &Followed,
        measured: Option<RunRecord>,
        unconfirmed: &[ItemKey],
    ) {
        let source = self.source.name.as_str();
        let absent = not_queued(followed, unconfirmed);
        self.cx.journal.change(|j| {
            if let Some(run) = measured {
                j.record_run(source, run);
            }
            let at = now();
            for (key, item) in followed.progress.items() {
                let qk = queue_key(&key.item_type, &key.item);
                let state = ItemStatus::from_log(item.state());
                record_at(j, source, &qk, session, state, &at);
                if let Some(rec) = j.sources.get_mut(source).and_then(|s| s.items.get_mut(&qk)) {
                    rec.failure.clone_from(&item.failure);
                    if absent.contains(&key) {
                        rec.failure = Some(not_queued_reason(&followed.progress));
                    }
                }
            }
            if let Some(entry) = j.sources.get_mut(source)
                && let Some(rec) = entry.session.as_mut()
                && rec.id == session
            {
                rec.state = followed.state.clone();
                if followed.state.is_terminal() {
                    let old = entry.session.take().map(|mut old| {
                        old.retired = Some(Retired::Ended);
                        old
                    });
                    entry.previous_sessions.extend(old);
                }
            }
        });
    }
}
