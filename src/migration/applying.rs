//! Apply: plan again (a saved plan must still match), refuse blockers, then queue what
//! is missing, start, follow and report — idempotently, and stoppable at any moment
//! without losing or doubling work on the servers.

use crate::apply::execute::{Context, execute};
use crate::apply::monitor::Watcher;
use crate::apply::poll::PollPolicy;
use crate::domain::SessionState;
use crate::journal::Journal;
use crate::migration::settings::{self, Credentials};
use crate::migration::{
    Migration, MigrationError, Notify, PlanScope, Planned, SourceWatcher, apply_report,
};
use crate::plan::{Plan, render};
use crate::report::{ApplyReport, Progress, ProgressMode};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// How to apply.
#[derive(Debug)]
pub struct ApplyOptions {
    /// What was given to `apply`: the manifest or a saved plan (for messages).
    pub target: PathBuf,
    /// The saved plan, when the target is one: applied only if it still matches.
    pub saved: Option<Plan>,
    /// `--wave`.
    pub wave: Option<String>,
    /// How progress is shown.
    pub progress: ProgressMode,
}

/// How an apply ended (errors aside).
#[derive(Debug)]
pub enum ApplyOutcome {
    /// The plan has blocking items; nothing was queued or started.
    Blocked(Box<Plan>),
    /// Nothing to queue and nothing running.
    NoChanges(Box<Plan>),
    /// Stopped while planning: nothing was queued or started.
    InterruptedPlanning,
    /// Stopped while sessions run: they keep running on the destination.
    Interrupted(Interrupted),
    /// The sessions ran; the report.
    Applied(ApplyReport),
}

/// What an interrupted apply leaves behind, per the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interrupted {
    /// Sessions started, still running on the destination: (source, session id).
    pub running: Vec<(String, String)>,
    /// Sessions not started yet; their queued items wait for the next apply.
    pub waiting: Vec<(String, String)>,
    /// Why the journal could not be saved on the way out, if it could not.
    pub unsaved: Option<String>,
}

impl Interrupted {
    /// What an interrupted apply leaves behind: sessions started keep running on the
    /// destination; sessions not started yet wait for the next run.
    pub fn message(&self, rerun: &str) -> String {
        let list = |sessions: &[(String, String)]| {
            sessions
                .iter()
                .map(|(name, id)| format!("{name} (session {id})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = String::from("interrupted: stopped following.");
        if !self.running.is_empty() {
            put!(
                out,
                "\nstill running on the destination: {}",
                list(&self.running)
            );
        }
        if !self.waiting.is_empty() {
            put!(
                out,
                "\nnot started yet (their queued items wait for the next apply): {}",
                list(&self.waiting)
            );
        }
        if let Some(e) = &self.unsaved {
            put!(out, "\nwarning: the journal could not be saved: {e}");
        }
        put!(out, "\nresume with: whm-migrate apply {rerun}");
        if !self.running.is_empty() {
            put!(
                out,
                "\npause or abort with: whm-migrate pause|abort {rerun}"
            );
        }
        out
    }

    fn from_journal(journal: &Journal) -> Self {
        let mut out = Self::default();
        for (name, source) in &journal.sources {
            let Some(session) = &source.session else {
                continue;
            };
            let entry = (name.clone(), session.id.clone());
            if session.state == SessionState::Pending {
                out.waiting.push(entry);
            } else {
                out.running.push(entry);
            }
        }
        out
    }
}

impl Migration {
    /// Applies the manifest (or the saved plan in `options`). `stop` is awaited beside
    /// the work: when it completes the run stops following (sessions keep running on
    /// the destination) and says what it leaves behind.
    pub async fn apply<S, F>(
        self,
        options: ApplyOptions,
        notify: &dyn Notify,
        stop: S,
    ) -> Result<ApplyOutcome, MigrationError>
    where
        S: Fn() -> F,
        F: Future<Output = ()>,
    {
        let started = Instant::now();
        match self.ready_to_run(&options, notify, &stop).await {
            Ok(Ok(planned)) => self.run(planned, options.progress, started, stop).await,
            Ok(Err(outcome)) => {
                self.close().await;
                Ok(outcome)
            }
            Err(e) => {
                self.close().await;
                Err(e)
            }
        }
    }

    /// Plans; the plan when there is work to run, else how the apply ends.
    async fn ready_to_run<S, F>(
        &self,
        options: &ApplyOptions,
        notify: &dyn Notify,
        stop: &S,
    ) -> Result<Result<Planned, ApplyOutcome>, MigrationError>
    where
        S: Fn() -> F,
        F: Future<Output = ()>,
    {
        let scope = PlanScope {
            wave: self.wave(options)?,
            throughput: None,
        };
        // A signal while planning stops before anything is queued; a session create cut
        // short stays marked in the journal and is reported as unrecorded by the next run.
        let planned = tokio::select! {
            planned = self.plan(&scope, "apply", notify) => planned?,
            () = stop() => return Ok(Err(ApplyOutcome::InterruptedPlanning)),
        };
        let saved = options
            .saved
            .as_ref()
            .map(|p| (options.target.as_path(), p));
        self.check_saved(saved, &planned, notify).await?;
        if planned.plan.summary.has_blockers() {
            // A session this run created to read the analysis would otherwise sit
            // PENDING on the destination, holding the source's password.
            self.discard_pending(&planned.plan, true, notify).await;
            return Ok(Err(ApplyOutcome::Blocked(Box::new(planned.plan))));
        }
        if !planned.plan.has_work() {
            return Ok(Err(ApplyOutcome::NoChanges(Box::new(planned.plan))));
        }
        notify.info(&summary_line(&planned.plan));
        Ok(Ok(planned))
    }

    /// The wave to apply: `--wave`, else the saved plan's; they must agree.
    fn wave(&self, options: &ApplyOptions) -> Result<Option<String>, MigrationError> {
        let planned = options.saved.as_ref().and_then(|p| p.wave.as_ref());
        match (&options.wave, planned) {
            (Some(given), Some(planned)) if given != planned => Err(MigrationError::WaveMismatch {
                plan: options.target.clone(),
                manifest: self.path.clone(),
                planned: planned.clone(),
                given: given.clone(),
            }),
            (given, planned) => Ok(given.clone().or_else(|| planned.cloned())),
        }
    }

    /// Queues, starts and follows every source of `planned`, then reports.
    async fn run<S, F>(
        self,
        planned: Planned,
        progress: ProgressMode,
        started: Instant,
        stop: S,
    ) -> Result<ApplyOutcome, MigrationError>
    where
        S: Fn() -> F,
        F: Future<Output = ()>,
    {
        let Planned { desired, plan, .. } = planned;
        let (_, users) = settings::access(&self.manifest, Credentials::Manifest);
        let enqueues_per_session = self.manifest.destination.enqueues_per_session();
        let Self {
            manifest,
            journal,
            destination,
            lock,
            ..
        } = self;
        // Everything apply needs from the manifest is in `desired` and `users` now; at
        // 10,000 accounts it is megabytes.
        drop(manifest);
        let progress = Arc::new(Progress::new(progress));
        let watchers: Vec<Box<dyn Watcher + Send>> = desired
            .sources
            .iter()
            .map(|s| {
                Box::new(SourceWatcher::new(progress.clone(), &s.name)) as Box<dyn Watcher + Send>
            })
            .collect();
        let cx = Context {
            client: &destination.client,
            journal: &journal,
            policy: PollPolicy::default(),
            enqueues_per_session,
        };
        let outcome = tokio::select! {
            runs = execute(cx, &desired, &plan, &users, watchers) => Ok(runs),
            () = stop() => Err(None),
            // Calls that change a server already refuse once the lease is lost; this
            // ends the follow too, so the run exits instead of watching for hours.
            why = journal.lease_lost() => Err(Some(why)),
        };
        progress.finish();
        let outcome = match outcome {
            Ok(runs) => ApplyOutcome::Applied(apply_report(&plan, &runs, started)),
            Err(Some(why)) => {
                destination.close().await;
                drop(lock);
                return Err(crate::journal::JournalError::Lease(why).into());
            }
            Err(None) => {
                // What the journal holds is saved; a failure is reported with the rest (the
                // destination still knows every session).
                let mut left = journal.read(Interrupted::from_journal);
                left.unsaved = journal.flush().err().map(|e| e.to_string());
                ApplyOutcome::Interrupted(left)
            }
        };
        destination.close().await;
        drop(lock);
        Ok(outcome)
    }
}

/// The plan's summary when apply has work: a plan with nothing new to queue still has
/// an earlier run's queued items or running session to finish.
fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    if s.has_changes() {
        return render::summary_line(plan);
    }
    format!(
        "Nothing new to queue ({} already present, {} already queued): finishing what an earlier run started.",
        s.already_present, s.already_queued
    )
}

/// What to pass `whm-migrate apply` to pick this migration up again: the manifest and,
/// when one was given, the state dir (another one would not find the journal), quoted
/// for a POSIX shell.
pub fn rerun_args(manifest: &Path, state_dir: Option<&Path>) -> String {
    let mut args = shell_quote(&manifest.display().to_string());
    if let Some(dir) = state_dir {
        args.push_str(" --state-dir ");
        args.push_str(&shell_quote(&dir.display().to_string()));
    }
    args
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
