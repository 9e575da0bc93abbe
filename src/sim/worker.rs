//! A queue worker of a running session: picks items per REFERENCE §5.4, simulates
//! each step's time, applies its effects, and writes the worker's master-log records
//! and the item logs (§7). Pause stops it after its current item; abort at once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::effects;
use super::faults::kind;
use super::logs::{self, ERROR_LOG, MASTER};
use super::modules;
use super::session::{ItemState, Session, SessionKind, SessionState};
use super::state::{Inner, Shared};
use super::stats::SimStats;

/// The two queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queue {
    Transfer,
    Restore,
}

impl Queue {
    fn name(self) -> &'static str {
        match self {
            Self::Transfer => "TRANSFER",
            Self::Restore => "RESTORE",
        }
    }
}

/// How a worker ended.
pub(crate) enum Exit {
    Done,
    Stopped,
    Crashed { queue: Queue, child: u32 },
}

/// What a worker may do next.
enum Pick {
    Done,
    Wait,
    Item(usize),
}

pub(crate) fn obj(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn pick(s: &Session, queue: Queue) -> Pick {
    let open = |st: ItemState| match queue {
        Queue::Transfer => st.transfer_open(),
        Queue::Restore => st.restore_open(),
    };
    let Some(cur) = s
        .items
        .iter()
        .filter(|i| open(i.state))
        .map(|i| i.type_id)
        .min()
    else {
        return Pick::Done;
    };
    let ready = match queue {
        Queue::Transfer => ItemState::TransferPending,
        Queue::Restore => ItemState::RestorePending,
    };
    let prereq_done =
        |key: &Option<String>, module: &str| match key.as_deref().filter(|k| !k.is_empty()) {
            None => true,
            Some(k) => s.item(module, k).is_none_or(|p| !open(p.state)),
        };
    s.items
        .iter()
        .enumerate()
        .filter(|(_, i)| {
            i.type_id == cur && i.state == ready && prereq_done(&i.prerequisite, &i.module)
        })
        .min_by(|(_, a), (_, b)| (a.priority, &a.key).cmp(&(b.priority, &b.key)))
        .map_or(Pick::Wait, |(idx, _)| Pick::Item(idx))
}

/// Everything a worker needs to know about the item it took.
struct Job {
    idx: usize,
    size: u64,
    /// The step takes no time (the TRANSFER step of a local restore, REFERENCE §5.3).
    instant: bool,
    fields: Map<String, Value>,
    logfile: String,
}

fn begin(
    inner: &mut Inner,
    id: &str,
    queue: Queue,
    child: u32,
    pid: u32,
    idx: usize,
) -> Option<Job> {
    let s = inner.sessions.get_mut(id)?;
    let host = s.source_key.clone();
    let instant = queue == Queue::Transfer && s.kind == SessionKind::Local;
    let item = &mut s.items[idx];
    item.state = match queue {
        Queue::Transfer => ItemState::TransferInprogress,
        Queue::Restore => ItemState::RestoreInprogress,
    };
    let def = modules::get(&item.module)?;
    let fields = logs::item_fields(
        queue.name(),
        &item.key,
        &item.local,
        &item.module,
        def.item_name(),
    );
    let logfile = logs::item_log_name(queue.name(), &item.module, &item.key);
    let data_size = inner
        .world
        .sources
        .get(&host)
        .and_then(|src| src.account(&item.key))
        .filter(|_| def.is_account())
        .map_or(item.size, |a| a.bytesused.max(item.size));
    let start = logs::item_start(queue.name(), def.item_name(), &item.key, &item.local, pid);
    let size = item.size;
    let mut with = |action: &str, msg: Option<Value>| {
        let mut extra = fields.clone();
        if let Some(m) = msg {
            extra.insert("msg".into(), m);
        }
        logs::append(
            &mut s.logs,
            MASTER,
            &logs::control(pid, child, action, extra),
        );
    };
    with("start", None);
    with("process-item", Some(json!(logfile)));
    with("start-item", Some(json!({ "size": size })));
    s.logs.remove(&logfile);
    logs::append(&mut s.logs, &logfile, &start);
    Some(Job {
        idx,
        size: data_size,
        instant,
        fields,
        logfile,
    })
}

pub(crate) async fn worker(
    shared: Arc<Shared>,
    id: String,
    queue: Queue,
    child: u32,
    pid: u32,
    mut cancel: watch::Receiver<bool>,
) -> Exit {
    let mut changed = shared.changed.subscribe();
    loop {
        let job = {
            let mut inner = shared.lock();
            let Some(s) = inner.sessions.get_mut(&id) else {
                return Exit::Stopped;
            };
            if *cancel.borrow()
                || s.state != SessionState::Running && s.state != SessionState::Pausing
            {
                return Exit::Stopped;
            }
            match pick(s, queue) {
                Pick::Done => {
                    let extra = obj(&[("queue", json!(queue.name()))]);
                    logs::append(
                        &mut s.logs,
                        MASTER,
                        &logs::control(pid, child, "complete", extra),
                    );
                    drop(inner);
                    shared.touch();
                    return Exit::Done;
                }
                _ if s.state == SessionState::Pausing => return Exit::Stopped,
                Pick::Wait => None,
                Pick::Item(idx) => begin(&mut inner, &id, queue, child, pid, idx),
            }
        };
        let Some(job) = job else {
            changed.mark_unchanged();
            tokio::select! {
                _ = changed.changed() => {}
                _ = cancel.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            continue;
        };
        shared.touch();
        let scale = shared.config.time_scale;
        let rate = match queue {
            Queue::Transfer => scale.bytes_per_second,
            Queue::Restore => scale.restore_bytes_per_second,
        };
        let quarter = if job.instant {
            Duration::ZERO
        } else {
            scale.duration(job.size, rate) / 4
        };
        for pct in [25, 50, 75, 100] {
            tokio::select! {
                () = tokio::time::sleep(quarter) => {}
                _ = cancel.changed() => {
                    aborted_item(&shared, &id, &job, pid);
                    return Exit::Stopped;
                }
            }
            if let Some(s) = shared.lock().sessions.get_mut(&id) {
                logs::append(&mut s.logs, &job.logfile, &logs::percentage(pct, pid));
            }
        }
        let crashed = {
            let mut inner = shared.lock();
            match queue {
                Queue::Transfer => end_transfer(&mut inner, &id, &job, child, pid),
                Queue::Restore => {
                    end_restore(&mut inner, &id, &job, child, pid);
                    false
                }
            }
        };
        shared.touch();
        if crashed {
            return Exit::Crashed { queue, child };
        }
    }
}

/// An abort interrupted the item: its log ends failed, the master writes nothing more.
fn aborted_item(shared: &Shared, id: &str, job: &Job, pid: u32) {
    let mut inner = shared.lock();
    if let Some(s) = inner.sessions.get_mut(id) {
        let text = "The transfer session was aborted.";
        s.items[job.idx].state = ItemState::Failed;
        s.items[job.idx].failure = Some(text.into());
        logs::append(
            &mut s.logs,
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
        s.items[job.idx].crashes += 1;
        s.items[job.idx].state = ItemState::TransferPending;
        let failures: u32 = s.items.iter().map(|i| i.crashes).sum();
        let max = s.items.len();
        let master_pid = s.pid.unwrap_or(pid);
        let msg = obj(&[("msg", json!(format!("{failures}/{max}")))]);
        logs::append(
            &mut s.logs,
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
        return true;
    }
    let scripted = faults.fail_transfer.get(&key).cloned();
    if scripted.is_some() {
        SimStats::bump(&mut stats.faults, kind::FAIL_TRANSFER);
    }
    let outcome = match scripted {
        Some(text) => Err(text),
        None => effects::transfer(world, s, &s.items[job.idx]),
    };
    match outcome {
        Ok(()) => {
            let item = &mut s.items[job.idx];
            item.state = ItemState::RestorePending;
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
            logs::append(&mut s.logs, &job.logfile, &logs::item_msg("out", &out, pid));
            succeed(s, job, child, pid, size, &[]);
        }
        Err(text) => fail_item(s, job, child, pid, &text),
    }
    false
}

fn end_restore(inner: &mut Inner, id: &str, job: &Job, child: u32, pid: u32) {
    let Inner {
        world,
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
        None => effects::restore(world, s, &item),
    };
    let is_account = modules::get(&item.module).is_some_and(modules::ModuleDef::is_account);
    match outcome {
        Ok(warnings) => {
            s.items[job.idx].state = ItemState::Completed;
            SimStats::bump(
                &mut stats.item_restores,
                &format!("{}/{}", item.module, item.key),
            );
            if is_account {
                SimStats::bump(&mut stats.restores, &item.local);
            }
            let out = format!("Restoring “{}” …", item.local);
            logs::append(&mut s.logs, &job.logfile, &logs::item_msg("out", &out, pid));
            for w in &warnings {
                logs::append(&mut s.logs, &job.logfile, &logs::item_msg("warn", w, pid));
            }
            if is_account {
                logs::append(
                    &mut s.logs,
                    &job.logfile,
                    &logs::summary(warnings.len(), pid),
                );
            }
            succeed(s, job, child, pid, item.size, &warnings);
        }
        Err(text) => {
            s.items[job.idx].state = ItemState::Failed;
            s.items[job.idx].failure = Some(text.clone());
            item_failed_log(s, &job.logfile, pid, &text);
            let mut extra = job.fields.clone();
            extra.insert("msg".into(), logs::failed_msg(item.size, &text));
            logs::append(
                &mut s.logs,
                MASTER,
                &logs::control(pid, child, "failed-item", extra),
            );
        }
    }
}

fn succeed(s: &mut Session, job: &Job, child: u32, pid: u32, size: u64, warnings: &[String]) {
    logs::append(
        &mut s.logs,
        &job.logfile,
        &logs::item_msg("success", "Success.", pid),
    );
    if let Some(f) = s.logs.get_mut(&job.logfile) {
        f.finished = true;
    }
    let action = if warnings.is_empty() {
        "success-item"
    } else {
        "warning-item"
    };
    let mut extra = job.fields.clone();
    extra.insert("msg".into(), logs::success_msg(size, warnings.len(), None));
    logs::append(
        &mut s.logs,
        MASTER,
        &logs::control(pid, child, action, extra),
    );
}

fn item_failed_log(s: &mut Session, logfile: &str, pid: u32, text: &str) {
    logs::append(
        &mut s.logs,
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
    let item = &mut s.items[job.idx];
    item.state = ItemState::Failed;
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
        MASTER,
        &logs::control(pid, child, "start-item", start),
    );
    let mut failed = restore_fields;
    failed.insert("msg".into(), json!({ "size": size, "failure": text }));
    logs::append(
        &mut s.logs,
        MASTER,
        &logs::control(pid, child, "failed-item", failed),
    );
    s.logs.remove(&restore_log);
    logs::append(
        &mut s.logs,
        &restore_log,
        &logs::item_start("RESTORE", item_name, &key, &local, pid),
    );
    item_failed_log(s, &restore_log, pid, text);
}
