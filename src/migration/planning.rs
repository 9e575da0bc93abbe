//! Planning: observe the servers, diff with the manifest, estimate; and what `plan`
//! leaves behind (saved plans, sessions it created).

use crate::domain::SessionState;
use crate::journal::{
    Retired, SessionRecord, measured_pace, measured_throughput, source_pace, write_atomic,
};
use crate::migration::cleanup::Discarded;
use crate::migration::settings::{self, Credentials};
use crate::migration::{Migration, MigrationError, Notify};
use crate::modules::ModuleCatalog;
use crate::plan::observe::observe;
use crate::plan::schedule::{self, Pools};
use crate::plan::{Desired, Observed, Plan, Throughput, diff, render, waves};
use std::path::{Path, PathBuf};

/// What part of the manifest a plan covers and how it estimates.
#[derive(Debug, Clone, Default)]
pub struct PlanScope {
    /// Only this wave (see [`crate::plan::waves`]).
    pub wave: Option<String>,
    /// The throughput to assume; default: measured from the journal, else
    /// [`schedule::DEFAULT_THROUGHPUT`].
    pub throughput: Option<Throughput>,
}

/// A plan and what it was made from.
#[derive(Debug)]
pub struct Planned {
    /// The desired state (of the wave planned).
    pub desired: Desired,
    /// The plan.
    pub plan: Plan,
    /// What observing found (a rehearsal builds its world from it).
    pub observed: Observed,
}

/// The manifest a target names, and the saved plan when the target is one (a `.json`
/// file made by `plan --out`).
pub fn load_target(path: &Path) -> Result<(PathBuf, Option<Plan>), MigrationError> {
    if path.extension().is_none_or(|e| e != "json") {
        return Ok((path.to_path_buf(), None));
    }
    let plan_file = |detail: String| MigrationError::PlanFile {
        path: path.to_path_buf(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| plan_file(e.to_string()))?;
    let plan: Plan = serde_json::from_str(&text)
        .map_err(|e| plan_file(format!("not a whm-migrate plan: {e}")))?;
    let manifest = plan
        .manifest
        .clone()
        .ok_or_else(|| plan_file("it does not name its manifest".to_owned()))?;
    Ok((PathBuf::from(manifest), Some(plan)))
}

impl Migration {
    /// Observes and diffs the manifest (or one wave of it). May create one PENDING
    /// session per root source to read its analysis; never enqueues or starts.
    pub async fn plan(
        &self,
        scope: &PlanScope,
        command: &str,
        notify: &dyn Notify,
    ) -> Result<Planned, MigrationError> {
        let manifest = &self.manifest;
        let item_waves = manifest.item_waves();
        let mut desired = waves::select(
            settings::desired(manifest, &ModuleCatalog::bundled()),
            &item_waves,
            &manifest.wave_names(),
            scope.wave.as_deref(),
        )?;
        self.warn_unrecorded(notify);
        let (roots, _) = settings::access(manifest, Credentials::Manifest);
        let mut observed = observe(
            self.client(),
            &desired,
            &roots,
            &self.journal,
            command,
            self.beside,
        )
        .await?;
        let mut plan = diff(&desired, &observed);
        self.restrict_to_server(&mut desired, &mut observed, &mut plan)
            .await?;
        waves::label(&mut plan, &item_waves, scope.wave.as_deref());
        let pools: Vec<Pools> = manifest
            .sources
            .iter()
            .map(|s| Pools::new(s.session.transfer_threads, s.session.restore_threads))
            .collect();
        // Step by step when earlier sessions' steps were fitted, else their bytes
        // over their time, else the stated defaults; a source whose own sessions were
        // fitted at its own pace (its server, its link). A throughput the caller gave
        // holds for every source.
        let (throughput, own) = match scope.throughput {
            Some(given) => (given, Vec::new()),
            None => self.journal.read(|j| {
                let all = measured_pace(j)
                    .map(Throughput::paced)
                    .or_else(|| measured_throughput(j).map(Throughput::measured))
                    .unwrap_or(schedule::DEFAULT_THROUGHPUT);
                let own: Vec<Option<Throughput>> = desired
                    .sources
                    .iter()
                    .map(|s| source_pace(j, &s.name).map(Throughput::paced))
                    .collect();
                (all, own)
            }),
        };
        schedule::schedule_paced(&mut plan, &desired, &observed, &pools, throughput, &own);
        plan.manifest = std::path::absolute(&self.path)
            .ok()
            .map(|p| p.display().to_string());
        Ok(Planned {
            desired,
            plan,
            observed,
        })
    }

    /// Refuses `saved` when it does not match a fresh plan; the PENDING sessions the
    /// fresh plan created are discarded first, so none is left holding a password.
    pub async fn check_saved(
        &self,
        saved: Option<(&Path, &Plan)>,
        planned: &Planned,
        notify: &dyn Notify,
    ) -> Result<(), MigrationError> {
        let Some((path, saved)) = saved else {
            return Ok(());
        };
        if saved.fingerprint == planned.plan.fingerprint {
            return Ok(());
        }
        self.discard_pending(&planned.plan, true, notify).await;
        Err(MigrationError::StalePlan {
            plan: path.to_path_buf(),
            manifest: self.path.clone(),
        })
    }

    /// Aborts the PENDING sessions `plan` names (only those observing created, with
    /// `only_created`), so none is left holding a source password, and retires them in
    /// the journal. Each outcome is also told to `notify`.
    pub async fn discard_pending(
        &self,
        plan: &Plan,
        only_created: bool,
        notify: &dyn Notify,
    ) -> Vec<Discarded> {
        // Beside a running apply, a PENDING session may be the apply's own.
        let only_created = only_created || self.beside;
        let mut out = Vec::new();
        for source in &plan.sources {
            let Some(session) = &source.session else {
                continue;
            };
            if session.state != SessionState::Pending || (only_created && !session.created) {
                continue;
            }
            let result = self.discard(&source.name, &session.id).await;
            match &result {
                Ok(now) => notify.info(&format!(
                    "{}: discarded session {} (now {now}); the next plan or apply creates a new one",
                    source.name, session.id
                )),
                Err(e) => notify.warn(&format!(
                    "{}: cannot discard session {}: {e}; discard it with `whm-migrate cleanup {}`",
                    source.name,
                    session.id,
                    self.path.display()
                )),
            }
            out.push(Discarded {
                source: source.name.clone(),
                session: session.id.clone(),
                result,
            });
        }
        out
    }

    /// Aborts session `id` of `source` and, when the journal records it as the source's
    /// current session, retires it with its final state. Returns that state.
    pub async fn discard(&self, source: &str, id: &str) -> Result<SessionState, MigrationError> {
        self.journal.ready()?;
        self.client().abort_transfer_session(id).await?;
        // The abort was accepted; a failed read of the state after it changes nothing.
        let state = self
            .client()
            .get_transfer_session_state(id)
            .await
            .unwrap_or(SessionState::Aborted);
        self.journal.commit(|j| {
            let Some(record) = j.sources.get_mut(source) else {
                return;
            };
            if record.session.as_ref().is_some_and(|s| s.id == id)
                && let Some(mut old) = record.session.take()
            {
                old.state = state.clone();
                old.retired = Some(Retired::Discarded);
                record.previous_sessions.push(old);
            } else if let Some(token) = record
                .probes
                .iter()
                .find(|(_, p)| p.session.as_deref() == Some(id))
                .map(|(t, _)| t.clone())
            {
                let probe = record.probes.remove(&token);
                let mut old = SessionRecord::new(id, "plan", state.clone());
                old.created_at = probe.map(|p| p.started_at).unwrap_or(old.created_at);
                old.retired = Some(Retired::Discarded);
                record.previous_sessions.push(old);
            }
        })?;
        Ok(state)
    }
}

/// Writes an apply or rehearsal report's JUnit XML to `path`, atomically.
pub fn save_junit(path: &Path, report: &crate::report::ApplyReport) -> Result<(), MigrationError> {
    save_report(path, &crate::report::write_junit(report))
}

/// Writes an apply or rehearsal report's Markdown to `path`, atomically (a file that
/// already exists is replaced whole); `command` (`apply` or `rehearse`) heads it and
/// `manifest` is named in the next-step hint.
pub fn save_markdown(
    path: &Path,
    report: &crate::report::ApplyReport,
    command: &str,
    manifest: &str,
) -> Result<(), MigrationError> {
    save_report(path, &report.render_markdown(command, manifest))
}

fn save_report(path: &Path, text: &str) -> Result<(), MigrationError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    write_atomic(dir, path, text.as_bytes()).map_err(|source| MigrationError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `plan` to `out` and the observed state beside it (for
/// `rehearse PLAN.json --offline`), atomically.
pub fn save_plan(planned: &Planned, out: &Path) -> Result<(), MigrationError> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let sidecar = crate::rehearse::observed_path(out);
    let write = |path: &Path, bytes: &[u8]| {
        std::fs::create_dir_all(dir)
            .and_then(|()| write_atomic(dir, path, bytes))
            .map_err(|source| MigrationError::Write {
                path: path.to_path_buf(),
                source,
            })
    };
    write(out, render::json(&planned.plan).as_bytes())?;
    write(&sidecar, &crate::rehearse::observed_json(&planned.observed))
}
