//! The command line as clap sees it: flags and help text, nothing resolved yet.

use crate::cli::printer::ColorChoice;
use crate::sim::LogLayout;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Declarative, reviewable, repeatable cPanel & WHM server-to-server migrations.
#[derive(Debug, Parser)]
#[command(name = "whm-migrate", version, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where the journal and lock live (default: .whm-migrate beside the manifest).
    #[arg(long, global = true, env = "WHM_MIGRATE_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Wait up to this long for the migration's lock when another run holds it
    /// (e.g. 90s, 30m; default: do not wait).
    #[arg(long, global = true, env = "WHM_MIGRATE_LOCK_TIMEOUT", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,
    /// Print only errors, warnings and the requested data.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr (-v: debug, -vv: trace). Never shows secrets.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colours (NO_COLOR is honoured in auto mode).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "WHM_MIGRATE_COLOR"
    )]
    pub color: ColorChoice,
}

impl GlobalArgs {
    /// The state flags, as the migration takes them.
    pub fn state(&self) -> crate::migration::StateFlags<'_> {
        crate::migration::StateFlags {
            dir: self.state_dir.as_deref(),
            lock_wait: self.lock_timeout.unwrap_or_default(),
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a manifest from the servers: every feature list, package and account of
    /// the source, as its analysis lists them.
    ///
    /// Opens one transfer session on the destination to read the source's analysis and
    /// discards it (no password stays on the destination). Items the destination
    /// already has, or that something there is in the way of, are written commented
    /// out with why, so `plan` of the result shows every written item as `transfer`.
    /// Secrets are written as environment references, never as values.
    ///
    /// Example: whm-migrate init --url https://new1.example.com:2087 --token-env WHM_API_TOKEN --source old1.example.com --password-env OLD1_ROOT_PASSWORD --waves 3 --out plan.toml
    ///
    /// Example: whm-migrate init --into plan.toml --source old2.example.com --password-env OLD2_ROOT_PASSWORD
    Init(InitArgs),
    /// Check a manifest: syntax, keys, types and transfer-module rules.
    ///
    /// Example: whm-migrate validate plan.toml --format json
    Validate(ValidateArgs),
    /// Show what apply would do, without changing anything on the servers.
    ///
    /// Planning a root source with missing items opens a PENDING transfer session, which
    /// holds the source's password on the destination until it ends; the next plan or
    /// apply reuses it. With --no-keep (for pull-request plans) that session is discarded
    /// once the plan is printed.
    ///
    /// Example: whm-migrate plan plan.toml --format markdown --out plan.json
    ///
    /// Example: whm-migrate plan plan.toml --format markdown --no-keep > plan.md
    Plan(PlanArgs),
    /// Transfer what the plan says is missing, follow the sessions and report per item.
    ///
    /// Idempotent: a second run changes nothing, an interrupted run resumes. Exit 0 when
    /// everything is done, 3 when some items failed (re-running retries only those, in
    /// a new session), 1 on error.
    ///
    /// Example: whm-migrate apply plan.toml --junit report.xml
    Apply(ApplyArgs),
    /// Play the migration on an embedded simulator built from the observed servers:
    /// the same executor as apply, the same report, and the predicted makespan.
    ///
    /// The real destination only receives the plan's reads (and the create and abort of
    /// a session when the plan needs one). `--faults SEED` injects failures chosen from
    /// the seed (the same seed replays the same per-item outcome); `--offline` rehearses
    /// a plan saved with `plan --out` without contacting any server. Exits like apply.
    ///
    /// Example: whm-migrate rehearse plan.toml --faults 7 --speed 40
    ///
    /// Example: whm-migrate rehearse plan.json --offline
    Rehearse(RehearseArgs),
    /// Show each source's transfer session: its live state and the journal's items.
    ///
    /// Example: whm-migrate status plan.toml --format json
    Status(StatusArgs),
    /// Print a session's master log, or one item's logs (`--item USER`).
    ///
    /// Example: whm-migrate logs plan.toml --item bob
    Logs(LogsArgs),
    /// Ask the running sessions to stop after the items in progress.
    ///
    /// Example: whm-migrate pause plan.toml --source old1
    Pause(ControlArgs),
    /// Start paused sessions again (`start_transfer_session`).
    ///
    /// Example: whm-migrate resume plan.toml
    Resume(ControlArgs),
    /// Stop sessions for good.
    ///
    /// What abort cannot undo: accounts, packages and feature lists already restored
    /// stay on the destination, and an item being restored may be left half done (remove
    /// it in WHM before a retry). An aborted session cannot be restarted; the next
    /// `apply` transfers what is still missing in a new session. Aborting a session that
    /// never started marks it FAILED, which is how WHM discards it.
    ///
    /// Example: whm-migrate abort plan.toml --source old1
    Abort(ControlArgs),
    /// Discard the PENDING (never started) sessions the journal records.
    ///
    /// Each one is aborted (WHM marks a PENDING session FAILED, discarding it and the
    /// source password it holds) and moved to the journal's previous sessions, so the
    /// next plan or apply creates a fresh one. Running, paused or finished sessions are
    /// left alone. Takes the migration lock. Exit 0, or 1 if an abort failed.
    ///
    /// Example: whm-migrate cleanup plan.toml --keep-plan plan.json
    Cleanup(CleanupArgs),
    /// Re-attach a session found in WHM to a source, after the journal was lost or
    /// damaged: the next apply follows it instead of creating another one.
    ///
    /// Reads the session's state and master log and records the session and its items
    /// (queued, done, failed) in the journal. Find the session in WHM » Transfers »
    /// Review Transfers and Restores (its id names the source host).
    ///
    /// Example: whm-migrate adopt plan.toml --source old1 old1examplecocopya20261206034106222J
    Adopt(AdoptArgs),
    /// Print the manifest's JSON Schema, or check the committed copy.
    ///
    /// Example: whm-migrate schema > schemas/manifest.schema.json
    Schema(SchemaArgs),
    /// Manage the bundled transfer-module schema snapshots.
    #[command(subcommand)]
    Schemas(SchemasCommand),
    /// Break the shared state backend's lock by hand, naming the holding's id (a run
    /// that died frees it by itself once its lease runs out).
    ///
    /// Example: whm-migrate unlock plan.toml 3f9c2a7d41e0b6c5
    Unlock(UnlockArgs),
    /// Move the journal between the local state directory and the shared backend,
    /// with the lock held.
    ///
    /// Example: whm-migrate state push plan.toml --state-dir .whm-migrate
    #[command(subcommand)]
    State(StateCommand),
    /// Print shell completions.
    ///
    /// Example: whm-migrate completions bash > /etc/bash_completion.d/whm-migrate
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    ///
    /// Example: whm-migrate man > /usr/local/share/man/man1/whm-migrate.1
    Man,
    /// Check every item arrived whole: exit 0 ok/warning, 3 failed/missing (docs/verify.md).
    ///
    /// Example: whm-migrate verify plan.toml --format markdown --junit verify.xml
    Verify(VerifyArgs),
    /// Run the WHM simulator (WHM API 1 transfer functions) on a world file.
    ///
    /// Example: WHM_SIM_TOKEN=secret whm-migrate sim --world world.toml --listen 127.0.0.1:2087
    Sim(SimArgs),
}

/// Output formats of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum DiagnosticsFormat {
    /// Human-readable, with the source line and a caret.
    #[default]
    Text,
    /// A JSON list, for CI annotations.
    Json,
}

/// `init` options.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The destination's WHM URL (e.g. https://new1.example.com:2087).
    #[arg(long, required_unless_present = "into", conflicts_with = "into")]
    pub url: Option<String>,
    /// The environment variable holding the destination's API token.
    #[arg(
        long,
        value_name = "VAR",
        required_unless_present = "into",
        conflicts_with = "into"
    )]
    pub token_env: Option<String>,
    /// Trust exactly the destination certificate with this SHA-256 fingerprint.
    #[arg(long, value_name = "FP", conflicts_with_all = ["ca_file", "into"])]
    pub pin_sha256: Option<String>,
    /// Trust the destination certificate (or its CA) in this PEM file.
    #[arg(long, value_name = "FILE", conflicts_with = "into")]
    pub ca_file: Option<PathBuf>,
    /// The source server's host name or IP.
    #[arg(long, value_name = "HOST")]
    pub source: String,
    /// The manifest's name for the source (default: the host's first label).
    #[arg(long, value_name = "NAME")]
    pub source_name: Option<String>,
    /// Root login (an analysis lists everything) or one cPanel account's own password.
    #[arg(long, value_enum, default_value_t)]
    pub kind: InitKind,
    /// The login user on the source (root sources; default root), or the cPanel
    /// account (user sources, required).
    #[arg(long)]
    pub user: Option<String>,
    /// The environment variable holding the source password.
    #[arg(long, value_name = "VAR")]
    pub password_env: String,
    /// The migration's name (default: SOURCE-to-DESTINATION).
    #[arg(long, conflicts_with = "into")]
    pub name: Option<String>,
    /// Spread the accounts over N waves balanced by bytes (a reseller with its accounts).
    #[arg(long, value_name = "N")]
    pub waves: Option<u32>,
    /// Write the manifest to this new file (never overwritten) instead of stdout.
    #[arg(long, value_name = "FILE", conflicts_with = "into")]
    pub out: Option<PathBuf>,
    /// Add the source to this existing manifest, keeping the rest of it byte for byte.
    #[arg(long, value_name = "MANIFEST")]
    pub into: Option<PathBuf>,
}

/// The kind of source `init` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum InitKind {
    /// Root (or sudo) login: the analysis lists every item.
    #[default]
    Root,
    /// One cPanel account's own password: no analysis, that account only.
    User,
}

/// `validate` options.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The manifest.
    pub manifest: PathBuf,
    /// Also fetch the live module schemas from the destination and report differences.
    #[arg(long)]
    pub online: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DiagnosticsFormat,
}

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PlanFormat {
    /// Like `terraform plan`.
    #[default]
    Text,
    /// Stable, versioned JSON.
    Json,
    /// For a pull-request comment.
    Markdown,
}

/// `plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The manifest.
    pub manifest: PathBuf,
    /// Save the plan (with its fingerprints) for `apply PLAN.json`.
    #[arg(long, value_name = "PLAN.json")]
    pub out: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub format: PlanFormat,
    /// Exit 0 when nothing would change, 2 when something would, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Once the plan is printed (and saved), abort the PENDING sessions it created or
    /// reused, so no source password stays on the destination; the next plan or apply
    /// creates a new session. A plan saved with --out stays valid for `apply PLAN.json`,
    /// which observes again in a new session.
    #[arg(long)]
    pub no_keep: bool,
    /// Act on one wave of the manifest (`wave = "NAME"` on its items): that wave's
    /// items plus the feature lists and packages that name no wave. Without it, the
    /// whole manifest, including accounts that name no wave.
    #[arg(long, value_name = "NAME")]
    pub wave: Option<String>,
}

/// `apply` options.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The manifest, or a plan saved with `plan --out` (refused when stale).
    #[arg(value_name = "MANIFEST|PLAN.json")]
    pub target: PathBuf,
    /// How to show progress: bars on a terminal, plain lines in CI, NDJSON on stdout.
    #[arg(long, value_enum, default_value_t, env = "WHM_MIGRATE_PROGRESS")]
    pub progress: crate::report::ProgressMode,
    /// Also write a JUnit XML report (one test case per item).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the report as Markdown, for a CI job summary or a pull-request
    /// comment: per source the estimate at the start against the actual duration, then
    /// the failed items with their log excerpts. FILE is replaced, not appended to.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Act on one wave of the manifest (`wave = "NAME"` on its items): that wave's
    /// items plus the feature lists and packages that name no wave. Without it, a saved
    /// plan's wave, else the whole manifest, including accounts that name no wave.
    #[arg(long, value_name = "NAME")]
    pub wave: Option<String>,
    /// After a successful apply, run `verify` on it.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: fetch the sites from both servers too (`verify --http`).
    #[arg(long, requires = "verify")]
    pub verify_http: bool,
}

/// `verify` options.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The manifest.
    pub manifest: PathBuf,
    /// Verify one wave (as `plan --wave`).
    #[arg(long, value_name = "NAME")]
    pub wave: Option<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub format: PlanFormat,
    /// Also write a JUnit XML report (one test case per item).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Fetch `/` of every account's domains from the destination's IP and from the
    /// source (domain as Host and TLS name, no DNS change) and compare status and title.
    #[arg(long)]
    pub http: bool,
}

/// `rehearse` options.
#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// The manifest, or a plan saved with `plan --out`.
    #[arg(value_name = "MANIFEST|PLAN.json")]
    pub target: PathBuf,
    /// Inject the fault matrix, chosen deterministically from this seed.
    #[arg(long, value_name = "SEED")]
    pub faults: Option<u64>,
    /// Transfer throughput to simulate, in MB/s (default: 50, see docs/rehearse.md).
    #[arg(long, value_name = "MB/s", value_parser = parse_speed)]
    pub speed: Option<f64>,
    /// Rehearse a saved plan (and the observed state saved beside it) without
    /// contacting any server.
    #[arg(long)]
    pub offline: bool,
    /// How to show progress: bars on a terminal, plain lines in CI, NDJSON on stdout.
    #[arg(long, value_enum, default_value_t, env = "WHM_MIGRATE_PROGRESS")]
    pub progress: crate::report::ProgressMode,
    /// Also write a JUnit XML report of the rehearsal's last run.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the rehearsal's report as Markdown (as `apply --markdown`).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

fn parse_speed(text: &str) -> Result<f64, String> {
    crate::units::positive(text).ok_or_else(|| format!("“{text}” is not a throughput: give megabytes per second as a positive number, e.g. --speed 40"))
}

/// Output formats of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum StatusFormat {
    /// One line per source.
    #[default]
    Text,
    /// A JSON list.
    Json,
}

/// `status` options.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The manifest.
    pub manifest: PathBuf,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: StatusFormat,
}

/// `logs` options.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The manifest.
    pub manifest: PathBuf,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Show this item's (source user, package or feature list) logs instead.
    #[arg(long, value_name = "USER")]
    pub item: Option<String>,
    /// Keep printing new master-log lines until the session ends.
    #[arg(long)]
    pub follow: bool,
}

/// `pause`, `resume`, `abort` options.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The manifest.
    pub manifest: PathBuf,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
}

/// `cleanup` options.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The manifest.
    pub manifest: PathBuf,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Keep the sessions this saved plan (from `plan --out`) names.
    #[arg(long, value_name = "PLAN.json")]
    pub keep_plan: Option<PathBuf>,
    /// Forget the journal's marks of session creations that were never recorded, once
    /// you have found and aborted those sessions in WHM » Transfers » Review Transfers
    /// and Restores (or made sure none exists).
    #[arg(long)]
    pub forget_unrecorded: bool,
    /// Retire the recorded session SESSION_ID without asking WHM, when WHM no longer
    /// knows it (purged, server rebuilt) but cannot say so. Its items are then planned
    /// again: first make sure in WHM that the session does not run.
    #[arg(long, value_name = "SESSION_ID")]
    pub forget: Option<String>,
}

/// `adopt` options.
#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// The manifest.
    pub manifest: PathBuf,
    /// The source the session moves accounts from.
    #[arg(long)]
    pub source: String,
    /// The session id, as WHM shows it.
    pub session_id: String,
}

/// `schema` options.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Fail when schemas/manifest.schema.json differs from the generated schema.
    #[arg(long)]
    pub check: bool,
}

/// `schemas` subcommands.
#[derive(Debug, Subcommand)]
pub enum SchemasCommand {
    /// Refresh schemas/modules/*.json from the destination's transfer_module_schema.
    ///
    /// Example: whm-migrate schemas pull plan.toml
    Pull(SchemasPullArgs),
}

/// `unlock` options.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The manifest whose `[state]` names the shared backend.
    pub manifest: PathBuf,
    /// The lock's id, as the message naming its holder printed it.
    pub lock_id: String,
}

/// `state` subcommands.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy the shared backend's journal into the local state directory.
    Pull(StateArgs),
    /// Copy the local journal into the shared backend (moving a migration to it).
    Push(StateArgs),
}

/// `state pull|push` options.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The manifest whose `[state]` names the shared backend.
    pub manifest: PathBuf,
    /// Replace a journal that records sessions the one moved does not.
    #[arg(long)]
    pub replace: bool,
}

/// `schemas pull` options.
#[derive(Debug, Args)]
pub struct SchemasPullArgs {
    /// The manifest naming the destination.
    pub manifest: PathBuf,
    /// Where the snapshots go.
    #[arg(long, default_value = "schemas/modules")]
    pub dir: PathBuf,
}

/// `completions` options.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `sim` options.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// The world file (source hosts, accounts, destination).
    #[arg(long, value_name = "WORLD.toml")]
    pub world: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:2087")]
    pub listen: std::net::SocketAddr,
    /// The environment variable holding the API token the simulator accepts.
    #[arg(long, default_value = "WHM_SIM_TOKEN", value_name = "VAR")]
    pub token_env: String,
    /// Keep the simulated world (and sessions) in this file across restarts.
    #[arg(long, value_name = "FILE")]
    pub state_file: Option<PathBuf>,
    /// Slow simulated time down this many times (default 1: a 10 GB account moves in
    /// 10 ms); e.g. 1000 for sessions that last long enough to watch, pause or abort.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = positive_factor)]
    pub time_scale: f64,
    /// The state names answered while a session runs: `reference` (the server's) or `docs`.
    #[arg(long, value_enum, default_value_t)]
    pub state_names: crate::sim::StateNames,
    /// Where log records put `type`: reference, docs (the guide's printing) or mixed.
    #[arg(long, value_enum, default_value_t)]
    pub log_layout: LogLayout,
    /// Play an older server: leave KEY out of every module's schema, refuse it on enqueue.
    #[arg(long, value_name = "KEY")]
    pub schema_lacks: Vec<String>,
    /// Serve the accounts' web sites on the world's IPs (HTTP and HTTPS on free ports,
    /// printed), for `verify --http`.
    #[arg(long)]
    pub web: bool,
}

/// A positive, finite number for `--time-scale`.
fn positive_factor(text: &str) -> Result<f64, String> {
    crate::units::positive(text).ok_or_else(|| format!("expected a positive number, not “{text}”"))
}
