//! The shared backend's lock: a lease object created only if absent, renewed by its
//! holder every third of the lease, taken over by another run once it expired.
//!
//! The holder checks its lease before every call that changes a server: once a
//! renewal has been missing for long enough that the lease could soon be taken over,
//! it changes nothing more and stops with an error. A lock left by a killed run frees
//! itself when its lease runs out; `whm-migrate unlock` breaks one by hand.

use super::shared::{Objects, SharedStore, StoreError, Version, Write};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The lock object's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// This holding's id (`whm-migrate unlock MANIFEST ID`).
    pub id: String,
    /// The holder's host name.
    pub host: String,
    /// The holder's process id.
    pub pid: u32,
    /// The command holding it (`apply`, `cleanup`, …).
    pub command: String,
    /// The CI job running it, when the environment names one (GitHub, GitLab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_job: Option<String>,
    /// When it was taken (RFC 3339, UTC).
    pub acquired_at: String,
    /// When it runs out unless renewed (RFC 3339, UTC).
    pub expires_at: String,
    /// Set by a clean release or by `unlock`: free to take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<String>,
}

impl LeaseRecord {
    fn new(command: &str, lease: Duration) -> Self {
        let now = chrono::Utc::now();
        Self {
            id: format!("{:016x}", rand::random::<u64>()),
            host: host_name(),
            pid: std::process::id(),
            command: command.to_owned(),
            ci_job: ci_job_url(),
            acquired_at: stamp(now),
            expires_at: stamp(now + lease),
            released: None,
        }
    }

    /// Whether another run may take it: released, or its lease ran out.
    fn is_free(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.released.is_some()
            || chrono::DateTime::parse_from_rfc3339(&self.expires_at).map_or(true, |at| at < now)
    }

    /// Who holds it, for messages.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "lock {} held by {} on {} (pid {}) since {}, lease until {}",
            self.id, self.command, self.host, self.pid, self.acquired_at, self.expires_at
        );
        if let Some(job) = &self.ci_job {
            put!(out, ", CI job {job}");
        }
        out
    }
}

fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map_or_else(|| "unknown host".to_owned(), |h| h.trim().to_owned())
}

/// The CI job's web address, from the variables GitHub Actions and GitLab CI set.
pub fn ci_job_url() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(url) = var("CI_JOB_URL") {
        return Some(url);
    }
    Some(format!(
        "{}/{}/actions/runs/{}",
        var("GITHUB_SERVER_URL")?,
        var("GITHUB_REPOSITORY")?,
        var("GITHUB_RUN_ID")?
    ))
}

/// Why the shared lock could not be taken or kept.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LeaseError {
    /// Another run holds it.
    #[error("another whm-migrate is working on this migration: {holder} ({url})")]
    #[diagnostic(
        code(lock::held),
        help(
            "wait for it (`--lock-timeout 30m` waits for the lock), or follow it with `whm-migrate status`; if that run is gone its lease runs out by itself, or break it with `whm-migrate unlock MANIFEST {id}` once you are sure it is gone"
        )
    )]
    Held {
        /// The lock object.
        url: String,
        /// Who holds it.
        holder: String,
        /// Its id.
        id: String,
    },
    /// The lock object is not one whm-migrate wrote.
    #[error("the lock object {url} is damaged: {detail}")]
    #[diagnostic(
        code(lock::damaged),
        help(
            "check who wrote it; if no whm-migrate runs on this migration, delete the object in the bucket"
        )
    )]
    Damaged {
        /// The lock object.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The store could not be reached or refused the call.
    #[error("cannot {action} the lock {url}: {detail}")]
    #[diagnostic(
        code(lock::store),
        help(
            "check the bucket, the endpoint and the AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE)"
        )
    )]
    Store {
        /// What was being done.
        action: &'static str,
        /// The lock object.
        url: String,
        /// The store's error.
        detail: String,
    },
    /// `unlock` named a lock that is not the one held.
    #[error("{url} is not held by {asked}: {now}")]
    #[diagnostic(
        code(lock::not_that_one),
        help("copy the id from the message of the run that reported the lock")
    )]
    NotThatOne {
        /// The lock object.
        url: String,
        /// The id given.
        asked: String,
        /// What the lock object holds now.
        now: String,
    },
}

/// What a holder knows of its lease, shared with its renewals.
#[derive(Debug)]
struct LeaseState {
    record: LeaseRecord,
    version: Version,
    /// When the lease runs out by this process's clock (from the last renewal sent).
    valid_until: Instant,
    /// Set when a renewal found the lock taken by someone else.
    lost: Option<String>,
}

/// A held lease; renewed in the background until released (or dropped).
pub struct LeaseHolder {
    store: Arc<SharedStore>,
    name: String,
    lease: Duration,
    state: Arc<Mutex<LeaseState>>,
    renewals: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for LeaseHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseHolder")
            .field("lock", &self.store.url(&self.name))
            .finish_non_exhaustive()
    }
}

/// Takes the lease `name` for `command`, waiting up to `wait` while another run holds
/// it. Returns the holder and, when an expired lease was taken over, who held it.
pub fn acquire(
    store: &Arc<SharedStore>,
    name: &str,
    command: &str,
    wait: Duration,
) -> Result<(LeaseHolder, Option<LeaseRecord>), LeaseError> {
    let lease = store.settings().lease;
    let url = store.url(name);
    let deadline = Instant::now() + wait;
    let store_err = |action, e: StoreError| LeaseError::Store {
        action,
        url: url.clone(),
        detail: e.to_string(),
    };
    loop {
        let mut mine = LeaseRecord::new(command, lease);
        let sent = Instant::now();
        match store.put(name, to_bytes(&mine), Write::Create) {
            Ok(version) => return Ok((LeaseHolder::start(store, name, mine, version, sent), None)),
            Err(StoreError::Changed) => {}
            Err(e) => return Err(store_err("take", e)),
        }
        let Some((bytes, version)) = store.get(name).map_err(|e| store_err("read", e))? else {
            continue; // released and deleted in between: try again
        };
        let held: LeaseRecord =
            serde_json::from_slice(&bytes).map_err(|e| LeaseError::Damaged {
                url: url.clone(),
                detail: e.to_string(),
            })?;
        if held.is_free(chrono::Utc::now()) {
            mine.acquired_at = stamp(chrono::Utc::now());
            let sent = Instant::now();
            match store.put(name, to_bytes(&mine), Write::Replace(version)) {
                Ok(version) => {
                    let expired = held.released.is_none().then_some(held);
                    return Ok((
                        LeaseHolder::start(store, name, mine, version, sent),
                        expired,
                    ));
                }
                Err(StoreError::Changed) => continue, // someone else was quicker
                Err(e) => return Err(store_err("take", e)),
            }
        }
        if Instant::now() >= deadline {
            return Err(LeaseError::Held {
                url,
                holder: held.describe(),
                id: held.id,
            });
        }
        std::thread::sleep(Duration::from_secs(1).min(deadline - Instant::now()));
    }
}

/// Breaks the lock `name` if `id` holds it; returns what it held.
pub fn unlock(store: &SharedStore, name: &str, id: &str) -> Result<LeaseRecord, LeaseError> {
    let url = store.url(name);
    let store_err = |action, e: StoreError| LeaseError::Store {
        action,
        url: url.clone(),
        detail: e.to_string(),
    };
    let Some((bytes, version)) = store.get(name).map_err(|e| store_err("read", e))? else {
        return Err(LeaseError::NotThatOne {
            url: url.clone(),
            asked: id.to_owned(),
            now: "nobody holds it".to_owned(),
        });
    };
    let mut held: LeaseRecord =
        serde_json::from_slice(&bytes).map_err(|e| LeaseError::Damaged {
            url: url.clone(),
            detail: e.to_string(),
        })?;
    if held.id != id || held.released.is_some() {
        let now = if held.released.is_some() {
            "it is free".to_owned()
        } else {
            held.describe()
        };
        return Err(LeaseError::NotThatOne {
            url,
            asked: id.to_owned(),
            now,
        });
    }
    let was = held.clone();
    held.released = Some(format!(
        "broken by hand on {} (pid {}) at {}",
        host_name(),
        std::process::id(),
        stamp(chrono::Utc::now())
    ));
    store
        .put(name, to_bytes(&held), Write::Replace(version))
        .map_err(|e| store_err("break", e))?;
    Ok(was)
}

fn to_bytes(record: &LeaseRecord) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(record).expect("a lease record serializes");
    bytes.push(b'\n');
    bytes
}

impl LeaseHolder {
    fn start(
        store: &Arc<SharedStore>,
        name: &str,
        record: LeaseRecord,
        version: Version,
        sent: Instant,
    ) -> Self {
        let lease = store.settings().lease;
        let state = Arc::new(Mutex::new(LeaseState {
            record,
            version,
            valid_until: sent + lease,
            lost: None,
        }));
        let renewals = store.spawn(renew(
            store.objects(),
            name.to_owned(),
            lease,
            state.clone(),
        ));
        Self {
            store: store.clone(),
            name: name.to_owned(),
            lease,
            state,
            renewals: Some(renewals),
        }
    }

    /// The lease's id.
    pub fn id(&self) -> String {
        self.lock().record.id.clone()
    }

    /// Ok while the lease is surely held for a while yet: call it before every call
    /// that changes a server. A lease whose renewals failed for a quarter of it less
    /// than its length is treated as lost already, so the call ends before anyone
    /// could take over.
    pub fn check(&self) -> Result<(), String> {
        let state = self.lock();
        if let Some(lost) = &state.lost {
            return Err(lost.clone());
        }
        if Instant::now() + self.lease / 4 >= state.valid_until {
            return Err(format!(
                "the lease on {} could not be renewed in time (lease {} s): the store did not answer",
                self.store.url(&self.name),
                self.lease.as_secs()
            ));
        }
        Ok(())
    }

    /// Completes once [`check`](Self::check) fails.
    pub async fn lost(&self) -> String {
        loop {
            if let Err(why) = self.check() {
                return why;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Gives the lock back, so the next run takes it at once.
    pub fn release(mut self) {
        self.release_now();
    }

    fn release_now(&mut self) {
        if let Some(task) = self.renewals.take() {
            task.abort();
        }
        let (mut record, version) = {
            let state = self.lock();
            if state.lost.is_some() {
                return;
            }
            (state.record.clone(), state.version.clone())
        };
        record.released = Some(stamp(chrono::Utc::now()));
        record.expires_at = stamp(chrono::Utc::now());
        if let Err(e) = self
            .store
            .put(&self.name, to_bytes(&record), Write::Replace(version))
        {
            // It runs out by itself within the lease.
            tracing::warn!("could not release the lock: {e}");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LeaseState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for LeaseHolder {
    fn drop(&mut self) {
        if self.renewals.is_some() {
            self.release_now();
        }
    }
}

/// Renews the lease every third of it, sooner after a failure, until the lock is
/// found taken by someone else.
async fn renew(objects: Objects, name: String, lease: Duration, state: Arc<Mutex<LeaseState>>) {
    let mut wait = lease / 3;
    loop {
        tokio::time::sleep(wait).await;
        let (mut record, version) = {
            let s = state.lock().unwrap_or_else(PoisonError::into_inner);
            (s.record.clone(), s.version.clone())
        };
        record.expires_at = stamp(chrono::Utc::now() + lease);
        let sent = Instant::now();
        match objects
            .put(&name, to_bytes(&record), Write::Replace(version))
            .await
        {
            Ok(version) => {
                let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
                s.record = record;
                s.version = version;
                s.valid_until = sent + lease;
                wait = lease / 3;
            }
            Err(StoreError::Changed) => {
                let now = match objects.get(&name).await {
                    Ok(Some((bytes, _))) => serde_json::from_slice::<LeaseRecord>(&bytes)
                        .map_or_else(|_| "a damaged lock object".to_owned(), |r| r.describe()),
                    _ => "nobody".to_owned(),
                };
                let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
                s.lost = Some(format!(
                    "the lock was taken from this run (now: {now}); it stopped changing the servers"
                ));
                return;
            }
            Err(e) => {
                tracing::warn!("could not renew the lock: {e}");
                wait = (lease / 12).max(Duration::from_secs(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LeaseRecord;
    use std::time::Duration;

    #[test]
    fn a_lease_is_free_when_released_or_run_out() {
        let mut r = LeaseRecord::new("apply", Duration::from_secs(60));
        let now = chrono::Utc::now();
        assert!(!r.is_free(now));
        assert!(r.is_free(now + chrono::Duration::seconds(61)));
        r.released = Some("x".into());
        assert!(r.is_free(now));
        r.released = None;
        r.expires_at = "garbage".into();
        assert!(
            r.is_free(now),
            "an unreadable expiry cannot keep a lock forever"
        );
        assert!(
            r.describe()
                .contains(&format!("pid {}", std::process::id()))
        );
    }
}
