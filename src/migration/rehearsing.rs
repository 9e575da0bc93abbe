//! Rehearsal: observe like `plan` (or read a saved plan's observed state), then play
//! the migration on an embedded simulator built from it with `apply`'s own executor and
//! report, running apply again after a fault as an operator would, and predict the
//! makespan in real-world time.

use crate::apply::monitor::Watcher;
use crate::journal::{StateDir, StepPace, measured_pace, measured_throughput};
use crate::manifest::Manifest;
use crate::migration::settings::{self, Credentials};
use crate::migration::{
    Migration, MigrationError, Notify, PlanScope, SourceWatcher, apply_report, load_manifest,
};
use crate::modules::ModuleCatalog;
use crate::plan::{Action, Desired, Observed, Plan, diff, render};
use crate::rehearse::faults::FaultPlan;
use crate::rehearse::narrate::{differences, makespan, opening, predicted_times};
use crate::rehearse::scale::{Scale, SourceWork, default_speed};
use crate::rehearse::{Options, Rehearsal, Round, observed_path};
use crate::report::{ApplyReport, Progress, ProgressMode};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// How many times a rehearsal runs `apply` again after a fault stopped a run, as an
/// operator would.
const MAX_ROUNDS: usize = 4;

/// How to rehearse.
#[derive(Debug, Clone, Copy)]
pub struct RehearseOptions {
    /// Inject faults from this seed.
    pub faults: Option<u64>,
    /// MB/s per transfer worker; default: measured by earlier applies.
    pub speed: Option<f64>,
    /// How progress is shown.
    pub progress: ProgressMode,
}

/// What a rehearsal starts from.
pub struct Prepared {
    manifest: Manifest,
    manifest_path: PathBuf,
    state_flag: Option<PathBuf>,
    desired: Desired,
    observed: Observed,
    plan: Plan,
    state_root: PathBuf,
    /// The throughput this migration's earlier applies measured, from its journal
    /// (local or shared).
    measured: Option<u64>,
    /// The step costs they were fitted to, when they kept them.
    pace: Option<StepPace>,
}

/// How a rehearsal ended.
#[derive(Debug)]
pub enum Rehearsed {
    /// Apply would refuse the plan.
    Blocked(Box<Plan>),
    /// Apply would change nothing.
    NothingToDo(Box<Plan>),
    /// Stopped by the user; nothing real was changed.
    Interrupted,
    /// The last run of apply's report (each run's report was told as it ended).
    Ran(Box<ApplyReport>),
}

impl Migration {
    /// Observes the real servers exactly as `plan` does, then releases any session that
    /// observing created, so no source password stays on the destination. A saved plan
    /// that no longer matches is refused.
    pub async fn prepare_rehearsal(
        self,
        saved: Option<(&Path, &Plan)>,
        notify: &dyn Notify,
    ) -> Result<Prepared, MigrationError> {
        let planned = match self.plan(&PlanScope::default(), "rehearse", notify).await {
            Ok(planned) => planned,
            Err(e) => {
                self.close().await;
                return Err(e);
            }
        };
        let stale = saved.is_some_and(|(_, s)| s.fingerprint != planned.plan.fingerprint);
        self.discard_pending(&planned.plan, true, notify).await;
        let (measured, pace) = self
            .journal
            .read(|j| (measured_throughput(j), measured_pace(j)));
        let prepared = Prepared {
            state_root: self.state_root.clone(),
            measured,
            pace,
            manifest_path: self.path.clone(),
            state_flag: self.state_flag.clone(),
            desired: planned.desired,
            observed: planned.observed,
            plan: planned.plan,
            manifest: self.manifest,
        };
        self.destination.close().await;
        drop(self.lock);
        match saved {
            Some((path, _)) if stale => Err(MigrationError::StalePlan {
                plan: path.to_path_buf(),
                manifest: prepared.manifest_path,
            }),
            _ => Ok(prepared),
        }
    }
}

impl Prepared {
    /// The arguments that name this manifest (and its state directory) in a command to
    /// run next, as the reports print them.
    pub fn rerun_args(&self) -> String {
        crate::migration::rerun_args(&self.manifest_path, self.state_flag.as_deref())
    }

    /// Reads a saved plan and the observed state saved beside it; contacts no server
    /// and needs no secret.
    pub fn offline(
        manifest_path: &Path,
        target: &Path,
        saved: Option<&Plan>,
        state_dir: Option<&Path>,
        notify: &dyn Notify,
    ) -> Result<Self, MigrationError> {
        let Some(saved) = saved else {
            return Err(MigrationError::Offline(
                format!(
                    "--offline rehearses a saved plan, and {} is not one",
                    target.display()
                ),
                format!(
                    "save one with `whm-migrate plan {} --out plan.json`, then `whm-migrate rehearse plan.json --offline`",
                    target.display()
                ),
            ));
        };
        let manifest = load_manifest(manifest_path, notify)?;
        let observed = read_observed(manifest_path, target)?;
        let desired = settings::desired(&manifest, &ModuleCatalog::bundled());
        let mut plan = diff(&desired, &observed);
        plan.manifest.clone_from(&saved.manifest);
        if plan.fingerprint != saved.fingerprint {
            return Err(MigrationError::Offline(
                format!(
                    "the saved plan {} does not match the manifest {} or {}: one changed since the plan was made",
                    target.display(),
                    manifest_path.display(),
                    observed_path(target).display()
                ),
                format!(
                    "make a new plan with `whm-migrate plan {} --out {}`",
                    manifest_path.display(),
                    target.display()
                ),
            ));
        }
        let state_root = settings::state_dir(state_dir, manifest_path);
        // Offline: only the local journal is read (a shared one needs the network).
        let journal = StateDir::new(&state_root, &manifest.name).load().ok();
        let measured = journal.as_ref().and_then(measured_throughput);
        let pace = journal.as_ref().and_then(measured_pace);
        Ok(Self {
            measured,
            pace,
            state_root,
            manifest_path: manifest_path.to_path_buf(),
            state_flag: state_dir.map(Path::to_path_buf),
            manifest,
            desired,
            observed,
            plan,
        })
    }

    /// Plays the migration on the simulated copy: up to [`MAX_ROUNDS`] runs of apply,
    /// each one's report told to `notify` as it ends, then the predicted makespan.
    pub async fn rehearse<S, F>(
        self,
        options: RehearseOptions,
        notify: &dyn Notify,
        stop: S,
    ) -> Result<Rehearsed, MigrationError>
    where
        S: Fn() -> F,
        F: Future<Output = ()>,
    {
        if self.plan.summary.has_blockers() {
            return Ok(Rehearsed::Blocked(Box::new(self.plan)));
        }
        if !self.plan.summary.has_changes() && self.plan.summary.already_queued == 0 {
            return Ok(Rehearsed::NothingToDo(Box::new(self.plan)));
        }
        let (scale, faults) = self.scale(options, notify);
        let (roots, users) = settings::access(&self.manifest, Credentials::Rehearsal);
        let mut rehearsal = Rehearsal::start(
            &self.desired,
            &self.observed,
            Options {
                state: StateDir::new(self.state_root.join("rehearse"), &self.manifest.name),
                scale,
                faults,
                roots,
                users,
                enqueues_per_session: self.manifest.destination.enqueues_per_session(),
            },
        )
        .await?;
        let rounds = self
            .rounds(&mut rehearsal, options, scale, notify, stop)
            .await;
        // The simulated world is kept in the rehearsal's state directory; nothing more
        // is needed from it here.
        drop(rehearsal.finish().await);
        let Some(rounds) = rounds? else {
            return Ok(Rehearsed::Interrupted);
        };
        notify.report(&makespan(&self.plan, &rounds, &scale, options.faults));
        Ok(rounds.into_iter().last().map_or(
            Rehearsed::NothingToDo(Box::new(self.plan)),
            |(_, report)| Rehearsed::Ran(Box::new(report)),
        ))
    }

    /// The time scale (from `--speed` or the journal's measured runs) and the faults,
    /// told to `notify`.
    fn scale(&self, options: RehearseOptions, notify: &dyn Notify) -> (Scale, Option<FaultPlan>) {
        let work: Vec<SourceWork> = self
            .plan
            .sources
            .iter()
            .zip(&self.manifest.sources)
            .map(|(source, manifest_source)| {
                let moving = source
                    .items
                    .iter()
                    .filter(|i| matches!(i.action, Action::Transfer | Action::AlreadyQueued));
                SourceWork {
                    bytes: moving
                        .clone()
                        .filter_map(|i| i.size)
                        .fold(0, u64::saturating_add),
                    items: moving.count(),
                    threads: manifest_source.session.transfer_threads.unwrap_or(1),
                }
            })
            .collect();
        // Step by step when earlier sessions' steps were fitted: their bytes over their
        // time already hold the restores and the fixed costs, which `Scale::new` adds.
        let (scale, speed_from) = match (options.speed, self.pace) {
            (Some(speed), _) => (Scale::new(speed, &work), "given with --speed"),
            (None, Some(pace)) => (
                Scale::paced(pace, &work),
                "measured from this migration's earlier applies, step by step",
            ),
            (None, None) => {
                let (speed, from) = default_speed(self.measured);
                (Scale::new(speed, &work), from)
            }
        };
        let faults = options
            .faults
            .map(|seed| FaultPlan::new(seed, &self.desired));
        notify.info(&opening(&self.plan, &scale, speed_from, faults.as_ref()));
        (scale, faults)
    }

    /// Runs apply on the simulated copy until a run ends without a fault's stop (or
    /// [`MAX_ROUNDS`]). `None` when `stop` came first.
    async fn rounds<S, F>(
        &self,
        rehearsal: &mut Rehearsal,
        options: RehearseOptions,
        scale: Scale,
        notify: &dyn Notify,
        stop: S,
    ) -> Result<Option<Vec<(Round, ApplyReport)>>, MigrationError>
    where
        S: Fn() -> F,
        F: Future<Output = ()>,
    {
        let rerun = self.rerun_args();
        let mut rounds = Vec::new();
        for number in 1..=MAX_ROUNDS {
            let Some(sim_plan) = self.round_plan(rehearsal, number, options, notify).await? else {
                continue;
            };
            if number > 1 && !sim_plan.has_work() {
                break;
            }
            if number > 1 && sim_plan.summary.has_blockers() {
                notify.report(&render::text(&sim_plan));
                notify.warn("after a fault, the simulated copy has blocking items; apply would refuse to run again");
                break;
            }
            let progress = Arc::new(Progress::new(options.progress));
            let started = Instant::now();
            let round = tokio::select! {
                round = rehearsal.execute(&self.desired, sim_plan, self.watchers(&progress)) => round,
                () = stop() => {
                    progress.finish();
                    return Ok(None);
                }
            };
            progress.finish();
            let mut report = apply_report(&round.plan, &round.runs, started);
            predicted_times(&mut report, &round, &scale);
            notify.report(&format!(
                "Rehearsal, run {number} of apply (times predicted at {} MB/s):\n{}",
                scale.speed_mb_s,
                report.render_text(&rerun)
            ));
            let again = round.needs_rerun();
            if let Some(event) = round.event {
                notify.info(&format!(
                    "rehearsal: {} struck during run {number}",
                    event.describe()
                ));
            }
            rounds.push((round, report));
            if !again {
                break;
            }
            if number < MAX_ROUNDS {
                notify.info(&format!(
                    "rehearsal: run {number} was stopped before the end; running apply again, as an operator would"
                ));
            }
        }
        Ok(Some(rounds))
    }

    /// The plan of run `number` against the simulated copy. An injected fault can hit
    /// the planning reads or the session create (a lost answer stops a real apply
    /// too): then `None`, and the operator runs apply again.
    async fn round_plan(
        &self,
        rehearsal: &Rehearsal,
        number: usize,
        options: RehearseOptions,
        notify: &dyn Notify,
    ) -> Result<Option<Plan>, MigrationError> {
        match rehearsal.plan(&self.desired).await {
            Ok(plan) => {
                if number == 1 {
                    for line in differences(&self.plan, &plan) {
                        notify.warn(&line);
                    }
                }
                Ok(Some(plan))
            }
            Err(e) if options.faults.is_some() && number < MAX_ROUNDS => {
                notify.warn(&format!(
                    "rehearsal: run {number} of apply stopped while planning: {e}; running apply again, as an operator would"
                ));
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn watchers(&self, progress: &Arc<Progress>) -> Vec<Box<dyn Watcher + Send>> {
        self.desired
            .sources
            .iter()
            .map(|s| {
                Box::new(SourceWatcher::new(progress.clone(), &s.name)) as Box<dyn Watcher + Send>
            })
            .collect()
    }
}

/// The observed state saved beside a plan by `plan --out`.
fn read_observed(manifest_path: &Path, target: &Path) -> Result<Observed, MigrationError> {
    let sidecar = observed_path(target);
    let offline = |what: String| {
        MigrationError::Offline(
            what,
            format!(
                "make the plan again with `whm-migrate plan {} --out {}`",
                manifest_path.display(),
                target.display()
            ),
        )
    };
    let text = std::fs::read_to_string(&sidecar).map_err(|e| {
        offline(format!(
            "cannot read {}, the observed state saved with the plan: {e}",
            sidecar.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        offline(format!(
            "{} is not a saved observed state: {e}",
            sidecar.display()
        ))
    })
}
