//! The "master process" of a running session: TRANSFER and RESTORE worker pools that
//! work the queue per REFERENCE §5.4 (one module type at a time in ascending type id,
//! lower priority then key name first, prerequisites waited for, restores overlapping
//! transfers), writing the master and item logs of §7 as they go.
//!
//! Pause stops each worker after its current item; abort stops them at once. The
//! workers themselves live in `worker.rs`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::faults::kind;
use super::logs::{self, ERROR_LOG, MASTER};
use super::queue::Queue;
use super::session::{Session, SessionState};
use super::state::{Runner, Shared};
use super::stats::SimStats;
use super::worker::{Exit, obj, worker};

/// Writes the master's opening records (fresh start) or a `resume` record.
pub(crate) fn write_opening(s: &mut Session, pid: u32, resume: bool) {
    let master = |action: &str, extra: Map<String, Value>| logs::control(pid, 0, action, extra);
    if resume {
        logs::append(
            &mut s.logs,
            s.log_layout,
            MASTER,
            &master("resume", Map::new()),
        );
        return;
    }
    s.started_once = true;
    let total = s.items.len();
    let size: u64 = s.items.iter().map(|i| i.size).sum();
    let mut recs = vec![
        master("start", Map::new()),
        master("initiator", obj(&[("msg", json!(s.initiator))])),
        master("version", obj(&[("msg", json!(2.3))])),
    ];
    for q in ["TRANSFER", "RESTORE"] {
        recs.push(master(
            "queue_count",
            obj(&[("queue", json!(q)), ("msg", json!(total))]),
        ));
        recs.push(master(
            "queue_size",
            obj(&[("queue", json!(q)), ("msg", json!(size))]),
        ));
    }
    recs.push(master("remotehost", obj(&[("msg", json!(s.host))])));
    for r in &recs {
        logs::append(&mut s.logs, s.log_layout, MASTER, r);
    }
    logs::append_text(&mut s.logs, ERROR_LOG, "");
}

/// Spawns the master task for a session that is now RUNNING (or PAUSING/ABORTING after
/// a simulator restart) and registers it as alive.
pub(crate) fn spawn(shared: &Arc<Shared>, id: &str, pid: u32) {
    let (cancel, rx) = watch::channel(false);
    let task = tokio::spawn(master(shared.clone(), id.to_owned(), pid, rx));
    let mut runners = shared
        .runners
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(old) = runners.insert(id.to_owned(), Runner { cancel, task }) {
        old.task.abort();
    }
}

async fn master(shared: Arc<Shared>, id: String, pid: u32, cancel: watch::Receiver<bool>) {
    // Let `spawn` register us before we can possibly finish.
    tokio::task::yield_now().await;
    let (transfer_n, restore_n) = {
        let inner = shared.lock();
        let Some(s) = inner.sessions.get(&id) else {
            return;
        };
        let cap = |want: u64, open: usize| usize::try_from(want.clamp(1, 9)).unwrap_or(1).min(open);
        (
            cap(
                s.options.transfer_threads,
                s.items.iter().filter(|i| i.state.transfer_open()).count(),
            ),
            cap(
                s.options.restore_threads,
                s.items.iter().filter(|i| i.state.restore_open()).count(),
            ),
        )
    };
    let mut next_pid = pid;
    let mut set = JoinSet::new();
    let mut launch = |set: &mut JoinSet<Exit>, queue: Queue, child: u32| {
        next_pid += 1;
        set.spawn(worker(
            shared.clone(),
            id.clone(),
            queue,
            child,
            next_pid,
            cancel.clone(),
        ));
    };
    for n in 1..=transfer_n {
        launch(&mut set, Queue::Transfer, u32::try_from(n).unwrap_or(1));
    }
    for n in 1..=restore_n {
        launch(&mut set, Queue::Restore, u32::try_from(n).unwrap_or(1));
    }
    while let Some(res) = set.join_next().await {
        if let Ok(Exit::Crashed { queue, child }) = res {
            launch(&mut set, queue, child);
        }
    }
    conclude(&shared, &id, pid).await;
    let mut runners = shared
        .runners
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if runners
        .get(&id)
        .is_some_and(|r| r.task.id() == tokio::task::id())
    {
        runners.remove(&id);
    }
}

/// After the workers stopped: complete, pause or abort the session.
async fn conclude(shared: &Arc<Shared>, id: &str, pid: u32) {
    let next = {
        let mut inner = shared.lock();
        let Some(s) = inner.sessions.get_mut(id) else {
            return;
        };
        let all_done = s.items.iter().all(|i| !i.state.restore_open());
        match s.state {
            SessionState::Aborting => Some((SessionState::Aborted, "abort")),
            SessionState::Pausing if !all_done => {
                logs::append(
                    &mut s.logs,
                    s.log_layout,
                    MASTER,
                    &logs::control(pid, 0, "pause", Map::new()),
                );
                s.state = SessionState::Paused;
                s.pid = None;
                None
            }
            SessionState::Running | SessionState::Pausing => {
                Some((SessionState::Completed, "complete"))
            }
            _ => None,
        }
    };
    shared.touch();
    if let Some((state, action)) = next {
        finish(shared, id, pid, state, action).await;
    }
}

/// Ends a session now: writes the master's final record, finishes the logs, blanks the
/// password and sets the terminal state. With the flicker fault on, the state shown is
/// COMPLETED first and the returned delay says when to set the real one.
pub(crate) fn finish_now(
    shared: &Shared,
    id: &str,
    pid: u32,
    state: SessionState,
    action: &str,
) -> Option<u64> {
    let flicker = {
        let mut inner = shared.lock();
        let flicker_ms = inner.faults.flicker_ms;
        let s = inner.sessions.get_mut(id)?;
        finish_logs(s, pid, action);
        let flicker = flicker_ms > 0 && state != SessionState::Completed;
        s.state = if flicker {
            SessionState::Completed
        } else {
            state
        };
        if flicker {
            SimStats::bump(&mut inner.stats.faults, kind::FLICKER);
        }
        flicker.then_some(flicker_ms)
    };
    shared.touch();
    flicker
}

/// [`finish_now`], then waits out a flicker.
pub(crate) async fn finish(
    shared: &Arc<Shared>,
    id: &str,
    pid: u32,
    state: SessionState,
    action: &str,
) {
    if let Some(ms) = finish_now(shared, id, pid, state, action) {
        end_flicker(shared, id, ms, state).await;
    }
}

/// [`finish_now`]; a flicker is waited out in the background.
pub(crate) fn finish_detached(
    shared: &Arc<Shared>,
    id: &str,
    pid: u32,
    state: SessionState,
    action: &str,
) {
    if let Some(ms) = finish_now(shared, id, pid, state, action) {
        let (shared, id) = (shared.clone(), id.to_owned());
        drop(tokio::spawn(async move {
            end_flicker(&shared, &id, ms, state).await;
        }));
    }
}

async fn end_flicker(shared: &Shared, id: &str, ms: u64, state: SessionState) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    if let Some(s) = shared.lock().sessions.get_mut(id) {
        s.state = state;
    }
    shared.touch();
}

/// Writes the final master record and marks the master logs finished.
pub(crate) fn finish_logs(s: &mut Session, pid: u32, action: &str) {
    logs::append(
        &mut s.logs,
        s.log_layout,
        MASTER,
        &logs::control(pid, 0, action, Map::new()),
    );
    logs::append_text(&mut s.logs, ERROR_LOG, "");
    for name in [MASTER, ERROR_LOG] {
        if let Some(f) = s.logs.get_mut(name) {
            f.finished = true;
        }
    }
    s.password = None;
    s.pid = None;
}
