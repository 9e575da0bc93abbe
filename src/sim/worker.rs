//! A queue worker of a running session: picks items per REFERENCE §5.4, simulates
//! each step's time, applies its effects, and writes the worker's master-log records
//! and the item logs (§7). Pause stops it after its current item; abort at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::effects::{self, Restored};
use super::faults::kind;
use super::logs::{self, ERROR_LOG, MASTER};
use super::modules;
use super::queue::{Pick, Queue};
use super::session::{ItemState, Session, SessionKind, SessionState};
use super::state::{Inner, Shared};
use super::stats::SimStats;

/// How a worker ended.
pub(crate) enum Exit {
    Done,
    Stopped,
    Crashed { queue: Queue, child: u32 },
}

pub(crate) fn obj(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Everything a worker needs to know about the item it took.
struct Job {
    idx: usize,
    size: u64,
    /// The step takes no time (the TRANSFER step of a local restore, REFERENCE §5.3).
    instant: bool,
    fields: Map<String, Value>,
    logfile: String,
    /// When the item became ready for this step in simulated time (its TRANSFER end).
    ready_at: Option<Instant>,
    /// When this step is due to end in simulated time.
    ends_at: Instant,
}

fn begin(
    inner: &mut Inner,
    id: &str,
    queue: Queue,
    child: u32,
    pid: u32,
    idx: usize,
) -> Option<Job> {
    let Inner {
        world,
        index,
        sessions,
        ..
    } = inner;
    let s = sessions.get_mut(id)?;
    let instant = queue == Queue::Transfer && s.kind == SessionKind::Local;
    s.set_state(
        idx,
        match queue {
            Queue::Transfer => ItemState::TransferInprogress,
            Queue::Restore => ItemState::RestoreInprogress,
        },
    );
    let item = &s.items[idx];
    let def = modules::get(&item.module)?;
    let fields = logs::item_fields(
        queue.name(),
        &item.key,
        &item.local,
        &item.module,
        def.item_name(),
    );
    let logfile = logs::item_log_name(queue.name(), &item.module, &item.key);
    let data_size = index
        .source_account(world, &s.source_key, &item.key)
        .filter(|_| def.is_account())
        .map_or(item.size, |a| a.bytesused.max(item.size));
    let start = logs::item_start(queue.name(), def.item_name(), &item.key, &item.local, pid);
    let size = item.size;
    let ready_at = item.transferred_at.filter(|_| queue == Queue::Restore);
    let mut with = |action: &str, msg: Option<Value>| {
        let mut extra = fields.clone();
        if let Some(m) = msg {
            extra.insert("msg".into(), m);
        }
        logs::append(
            &mut s.logs,
            s.log_layout,
            MASTER,
            &logs::control(pid, child, action, extra),
        );
    };
    with("start", None);
    with("process-item", Some(json!(logfile)));
    with("start-item", Some(json!({ "size": size })));
    s.logs.remove(&logfile);
    logs::append(&mut s.logs, s.log_layout, &logfile, &start);
    Some(Job {
        idx,
        size: data_size,
        instant,
        fields,
        logfile,
        ready_at,
        ends_at: Instant::now(),
    })
}

/// A worker's place: the session and queue it serves, and who it is in the logs.
struct Worker {
    shared: Arc<Shared>,
    id: String,
    queue: Queue,
    child: u32,
    pid: u32,
}

/// What a worker does after looking at its queue.
enum Next {
    /// Play this step.
    Step(Job),
    /// Nothing is ready: wait for a change.
    Wait,
    /// Stop, for this reason.
    Exit(Exit),
}

pub(crate) async fn worker(
    shared: Arc<Shared>,
    id: String,
    queue: Queue,
    child: u32,
    pid: u32,
    cancel: watch::Receiver<bool>,
) -> Exit {
    let worker = Worker {
        shared,
        id,
        queue,
        child,
        pid,
    };
    worker.run(cancel).await
}

impl Worker {
    async fn run(&self, mut cancel: watch::Receiver<bool>) -> Exit {
        let mut changed = self.shared.changed.subscribe();
        // When this worker's last step was due to end, in simulated time (none after a
        // wait).
        let mut free_at: Option<Instant> = None;
        loop {
            let mut job = match self.next(&cancel) {
                Next::Step(job) => job,
                Next::Wait => {
                    free_at = None;
                    changed.mark_unchanged();
                    tokio::select! {
                        _ = changed.changed() => {}
                        _ = cancel.changed() => {}
                        () = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                    continue;
                }
                Next::Exit(exit) => return exit,
            };
            self.shared.touch();
            let length = self.length(&job);
            let start = step_start(free_at, job.ready_at, Instant::now());
            job.ends_at = start + length;
            free_at = Some(job.ends_at);
            if !self.play(&job, start, length, &mut cancel).await {
                aborted_item(&self.shared, &self.id, &job, self.pid);
                return Exit::Stopped;
            }
            if self.end(&job) {
                return Exit::Crashed {
                    queue: self.queue,
                    child: self.child,
                };
            }
        }
    }

    /// Takes the next item from the queue, unless the session stopped, is pausing (the
    /// worker stops after its current item) or has nothing left (`complete`).
    fn next(&self, cancel: &watch::Receiver<bool>) -> Next {
        let (queue, child, pid) = (self.queue, self.child, self.pid);
        let mut inner = self.shared.lock();
        let Some(s) = inner.sessions.get_mut(&self.id) else {
            return Next::Exit(Exit::Stopped);
        };
        if *cancel.borrow() || s.state != SessionState::Running && s.state != SessionState::Pausing
        {
            return Next::Exit(Exit::Stopped);
        }
        match s.pick(queue) {
            Pick::Done => {
                let extra = obj(&[("queue", json!(queue.name()))]);
                logs::append(
                    &mut s.logs,
                    s.log_layout,
                    MASTER,
                    &logs::control(pid, child, "complete", extra),
                );
                drop(inner);
                self.shared.touch();
                Next::Exit(Exit::Done)
            }
            _ if s.state == SessionState::Pausing => Next::Exit(Exit::Stopped),
            Pick::Wait => Next::Wait,
            Pick::Item(idx) => match begin(&mut inner, &self.id, queue, child, pid, idx) {
                Some(job) => Next::Step(job),
                None => Next::Wait,
            },
        }
    }

    /// How long the step takes in simulated time at the session's time scale.
    fn length(&self, job: &Job) -> Duration {
        let scale = self.shared.config.time_scale;
        let rate = match self.queue {
            Queue::Transfer => scale.bytes_per_second,
            Queue::Restore => scale.restore_bytes_per_second,
        };
        if job.instant {
            Duration::ZERO
        } else {
            scale.duration(job.size, rate)
        }
    }

    /// Plays the step from `start`, writing its quarters to the item log; false when an
    /// abort interrupted it.
    async fn play(
        &self,
        job: &Job,
        start: Instant,
        length: Duration,
        cancel: &mut watch::Receiver<bool>,
    ) -> bool {
        for (pct, quarters) in [(25, 1), (50, 2), (75, 3), (100, 4)] {
            tokio::select! {
                () = tokio::time::sleep_until(start + length * quarters / 4) => {}
                _ = cancel.changed() => return false,
            }
            if let Some(s) = self.shared.lock().sessions.get_mut(&self.id) {
                logs::append(
                    &mut s.logs,
                    s.log_layout,
                    &job.logfile,
                    &logs::percentage(pct, self.pid),
                );
            }
        }
        true
    }

    /// Ends the step with its effects; true when the worker "crashed" instead (fault).
    fn end(&self, job: &Job) -> bool {
        let crashed = {
            let mut inner = self.shared.lock();
            match self.queue {
                Queue::Transfer => end_transfer(&mut inner, &self.id, job, self.child, self.pid),
                Queue::Restore => {
                    end_restore(&mut inner, &self.id, job, self.child, self.pid);
                    false
                }
            }
        };
        self.shared.touch();
        crashed
    }
}

/// How late a timer may fire and still be forgiven: tokio's timers have 1 ms
/// resolution and fire after their deadline, never before.
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// When a step starts in simulated time: as soon as the worker was free and the item
/// ready, so the lateness of the timers that ended the previous steps does not add up
/// over thousands of short steps (the pools then keep the schedule that
/// `examples/bench/ideal.rs` replays). No earlier than `TIMER_SLACK` before `now`, so
/// a simulator that falls behind (CPU) still shows as a longer session.
fn step_start(free_at: Option<Instant>, ready_at: Option<Instant>, now: Instant) -> Instant {
    let floor = now.checked_sub(TIMER_SLACK).unwrap_or(now);
    free_at
        .max(ready_at)
        .map_or(now, |due| due.clamp(floor, now))
}

/// An abort interrupted the item: its log ends failed, the master writes nothing more.
fn aborted_item(shared: &Shared, id: &str, job: &Job, pid: u32) {
    let mut inner = shared.lock();
    if let Some(s) = inner.sessions.get_mut(id) {
        let text = "The transfer session was aborted.";
        s.set_state(job.idx, ItemState::Failed);
        s.items[job.idx].failure = Some(text.into());
        logs::append(
            &mut s.logs,
            s.log_layout,
            &job.logfile,
            &logs::item_msg("failed", &format!("Failed: {text}"), pid),
        );
        if let Some(f) = s.logs.get_mut(&job.logfile) {
            f.finished = true;
        }
    }
}

/// Ends a TRANSFER step; returns true when the worker "crashed" instead (fault).
fn end_transfer(inner: &mut Inner, id: &str, job: &Job, child: u32, pid: u32) -> bool {
    let Inner {
        world,
        index,
        sessions,
        stats,
        faults,
        ..
    } = inner;
    let Some(s) = sessions.get_mut(id) else {
        return false;
    };
    let key = s.items[job.idx].key.clone();
    if faults
        .worker_crash
        .get(&key)
        .is_some_and(|n| s.items[job.idx].crashes < *n)
    {
        SimStats::bump(&mut stats.faults, kind::WORKER_CRASH);
        crash(s, job, pid);
        return true;
    }
    let scripted = faults.fail_transfer.get(&key).cloned();
    if scripted.is_some() {
        SimStats::bump(&mut stats.faults, kind::FAIL_TRANSFER);
    }
    let outcome = match scripted {
        Some(text) => Err(text),
        None => effects::transfer(world, index, s, &s.items[job.idx]),
    };
    match outcome {
        Ok(()) => transferred(s, stats, job, child, pid),
        Err(text) => fail_item(s, job, child, pid, &text),
    }
    false
}

/// The worker's child process dies during the item: the item goes back to the queue,
/// and fails once the session's children died more times than it has items.
fn crash(s: &mut Session, job: &Job, pid: u32) {
    s.items[job.idx].crashes += 1;
    s.set_state(job.idx, ItemState::TransferPending);
    let failures: u32 = s.items.iter().map(|i| i.crashes).sum();
    let max = s.items.len();
    let master_pid = s.pid.unwrap_or(pid);
    let msg = obj(&[("msg", json!(format!("{failures}/{max}")))]);
    logs::append(
        &mut s.logs,
        s.log_layout,
        MASTER,
        &logs::control(master_pid, 0, "child-failed", msg),
    );
    logs::append_text(
        &mut s.logs,
        ERROR_LOG,
        &format!("The child process {pid} exited unexpectedly.\n"),
    );
    if usize::try_from(failures).unwrap_or(usize::MAX) > max {
        fail_item(
            s,
            job,
            0,
            master_pid,
            "The child process exited unexpectedly too many times.",
        );
    }
}

/// A TRANSFER step succeeded: the item waits for its restore.
fn transferred(s: &mut Session, stats: &mut SimStats, job: &Job, child: u32, pid: u32) {
    s.set_state(job.idx, ItemState::RestorePending);
    let item = &mut s.items[job.idx];
    item.transferred_at = Some(job.ends_at);
    let is_account = modules::get(&item.module).is_some_and(modules::ModuleDef::is_account);
    let local = s.kind == SessionKind::Local;
    // A local restore copies nothing: no transfer is counted.
    if is_account && !local {
        SimStats::bump(
            &mut stats.transfers,
            &format!("{}/{}", s.source_key, item.key),
        );
    }
    let size = item.size;
    let out = if local {
        let path = item.params.get("cpmovefile").cloned().unwrap_or_default();
        format!("Using the local archive “{path}” for “{}” …", item.key)
    } else {
        format!("Copying “{}” from “{}” …", item.key, s.host)
    };
    logs::append(
        &mut s.logs,
        s.log_layout,
        &job.logfile,
        &logs::item_msg("out", &out, pid),
    );
    succeed(s, job, child, pid, size, &Restored::default());
}

fn end_restore(inner: &mut Inner, id: &str, job: &Job, child: u32, pid: u32) {
    let Inner {
        world,
        index,
        sessions,
        stats,
        faults,
        ..
    } = inner;
    let Some(s) = sessions.get_mut(id) else {
        return;
    };
    let item = s.items[job.idx].clone();
    let scripted = faults.fail_restore.get(&item.key).cloned();
    if scripted.is_some() {
        SimStats::bump(&mut stats.faults, kind::FAIL_RESTORE);
    }
    let outcome = match scripted {
        Some(text) => Err(text),
        None => effects::restore(world, index, s, &item),
    };
    let is_account = modules::get(&item.module).is_some_and(modules::ModuleDef::is_account);
    match outcome {
        Ok(restored) => {
            s.set_state(job.idx, ItemState::Completed);
            SimStats::bump(
                &mut stats.item_restores,
                &format!("{}/{}", item.module, item.key),
            );
            if is_account {
                SimStats::bump(&mut stats.restores, &item.local);
            }
            restored_log(s, &job.logfile, pid, &item.local, &restored, is_account);
            succeed(s, job, child, pid, item.size, &restored);
        }
        Err(text) => {
            s.set_state(job.idx, ItemState::Failed);
            s.items[job.idx].failure = Some(text.clone());
            item_failed_log(s, &job.logfile, pid, &text);
            let mut extra = job.fields.clone();
            extra.insert("msg".into(), logs::failed_msg(item.size, &text));
            logs::append(
                &mut s.logs,
                s.log_layout,
                MASTER,
                &logs::control(pid, child, "failed-item", extra),
            );
        }
    }
}

/// The item log of a successful restore: what it did, its warnings and skipped and
/// altered items, and for an account the `summary` record.
fn restored_log(
    s: &mut Session,
    logfile: &str,
    pid: u32,
    local: &str,
    restored: &Restored,
    is_account: bool,
) {
    let out = format!("Restoring “{local}” …");
    logs::append(
        &mut s.logs,
        s.log_layout,
        logfile,
        &logs::item_msg("out", &out, pid),
    );
    let lines = restored.warnings.iter().chain(&restored.skipped);
    for w in lines.chain(&restored.altered) {
        logs::append(
            &mut s.logs,
            s.log_layout,
            logfile,
            &logs::item_msg("warn", w, pid),
        );
    }
    if is_account {
        logs::append(
            &mut s.logs,
            s.log_layout,
            logfile,
            &logs::summary(restored, pid),
        );
    }
}

fn succeed(s: &mut Session, job: &Job, child: u32, pid: u32, size: u64, restored: &Restored) {
    logs::append(
        &mut s.logs,
        s.log_layout,
        &job.logfile,
        &logs::item_msg("success", "Success.", pid),
    );
    if let Some(f) = s.logs.get_mut(&job.logfile) {
        f.finished = true;
    }
    let action = if restored.is_clean() {
        "success-item"
    } else {
        "warning-item"
    };
    let mut extra = job.fields.clone();
    extra.insert("msg".into(), logs::success_msg(size, restored, None));
    logs::append(
        &mut s.logs,
        s.log_layout,
        MASTER,
        &logs::control(pid, child, action, extra),
    );
}

fn item_failed_log(s: &mut Session, logfile: &str, pid: u32, text: &str) {
    logs::append(
        &mut s.logs,
        s.log_layout,
        logfile,
        &logs::item_msg("failed", &format!("Failed: {text}"), pid),
    );
    if let Some(f) = s.logs.get_mut(logfile) {
        f.finished = true;
    }
}

/// Fails an item in TRANSFER: its log, `failed-item`, then the RESTORE
/// `start-item` + `failed-item` pair with the same text (REFERENCE §5.3).
fn fail_item(s: &mut Session, job: &Job, child: u32, pid: u32, text: &str) {
    s.set_state(job.idx, ItemState::Failed);
    let item = &mut s.items[job.idx];
    item.failure = Some(text.to_owned());
    let (size, key, local, module) = (
        item.size,
        item.key.clone(),
        item.local.clone(),
        item.module.clone(),
    );
    item_failed_log(s, &job.logfile, pid, text);
    let mut extra = job.fields.clone();
    extra.insert("msg".into(), logs::failed_msg(size, text));
    logs::append(
        &mut s.logs,
        s.log_layout,
        MASTER,
        &logs::control(pid, child, "failed-item", extra),
    );
    let item_name = modules::get(&module).map_or("Item", modules::ModuleDef::item_name);
    let restore_fields = logs::item_fields("RESTORE", &key, &local, &module, item_name);
    let restore_log = logs::item_log_name("RESTORE", &module, &key);
    let mut start = restore_fields.clone();
    start.insert("msg".into(), json!({ "size": size }));
    logs::append(
        &mut s.logs,
        s.log_layout,
        MASTER,
        &logs::control(pid, child, "start-item", start),
    );
    let mut failed = restore_fields;
    failed.insert("msg".into(), json!({ "size": size, "failure": text }));
    logs::append(
        &mut s.logs,
        s.log_layout,
        MASTER,
        &logs::control(pid, child, "failed-item", failed),
    );
    s.logs.remove(&restore_log);
    logs::append(
        &mut s.logs,
        s.log_layout,
        &restore_log,
        &logs::item_start("RESTORE", item_name, &key, &local, pid),
    );
    item_failed_log(s, &restore_log, pid, text);
}
