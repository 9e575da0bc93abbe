//! `init`: writing a manifest from the servers. One session is opened on the
//! destination (journalled and discarded by `analysis_session`, like `verify`'s), the
//! destination's inventory is read once, and the plan's own diff decides which items
//! are written and which are left out (commented, with why), so `plan` of the result
//! shows every written item as `transfer`.

use crate::domain::RemoteAnalysis;
use crate::init::{
    self, Entry, EntryKind, InitError, InitRequest, WaveSummary, entries, into, text,
};
use crate::manifest::{Manifest, SecretScope};
use crate::migration::settings::{self, Credentials};
use crate::migration::{Migration, MigrationError, Notify, OpenOptions, StateFlags};
use crate::modules::ModuleCatalog;
use crate::plan::observe::destination_inventory;
use crate::plan::schedule;
use crate::plan::{
    Action, Check, DestinationInventory, ItemPlan, Observed, ObservedSource, SessionKind,
    Throughput, diff, queue_key,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How many times the items are decided at most (each pass can only leave more out).
const DECIDE_PASSES: usize = 4;

/// Where the manifest goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitTarget {
    /// Standard output; the state directory is `.whm-migrate` in the working directory.
    Stdout,
    /// A new file (refused when it exists).
    Out(PathBuf),
    /// An existing manifest the source is added to.
    Into(PathBuf),
}

impl InitTarget {
    /// The manifest's path (a stand-in in the working directory for stdout).
    fn path(&self) -> &Path {
        match self {
            Self::Stdout => Path::new("whm-migrate.toml"),
            Self::Out(p) | Self::Into(p) => p,
        }
    }
}

/// What `init` wrote.
#[derive(Debug, Clone)]
pub struct Initialized {
    /// The whole manifest (with `--into`, the whole file as written).
    pub text: String,
    /// The file written (`None`: the text is for standard output).
    pub written: Option<PathBuf>,
    /// The source's items, each written or left out.
    pub entries: Vec<Entry>,
    /// The waves, with their estimates, when asked for.
    pub waves: Vec<WaveSummary>,
    /// The throughput the wave estimates assume.
    pub throughput: Throughput,
    /// What a user source's init cannot know (it has no analysis).
    pub limits: Option<String>,
}

/// What a user source's init cannot write, told in the file and on the terminal.
pub const USER_SOURCE_LIMITS: &str = "a user session has no analysis (WHM analyses root sessions only): init checked that the destination accepts the host and password, and wrote only the account named by --user, without its domain, size or owner; a user session cannot move packages or feature lists. Add the account's `domain` so plan can tell it from another account of that name";

/// Writes the manifest `request` describes to `target`.
pub async fn init(
    request: &InitRequest,
    target: &InitTarget,
    state: StateFlags<'_>,
    notify: &dyn Notify,
) -> Result<Initialized, MigrationError> {
    if request.waves == Some(0) {
        return Err(InitError::NoWaves.into());
    }
    if request.source.kind == SessionKind::User && request.source.user.is_none() {
        return Err(InitError::UserAccountMissing.into());
    }
    let base = Base::new(request, target)?;
    let manifest = parse(target, &base.text(&text::source(&request.source, &[], &[])))?;
    // Only the new source's credentials: `--into` must not need the others'.
    let options = OpenOptions {
        secrets: SecretScope::DestinationAndSource(manifest.sources.len().saturating_sub(1)),
        ..OpenOptions::locked("init", state)
    };
    let migration = Migration::open_loaded(manifest, target.path(), options, notify).await?;
    let written = migration
        .write_manifest(request, target, &base, notify)
        .await;
    migration.close().await;
    written
}

/// The manifest around the new source: a new head, or the existing file.
enum Base {
    Fresh(String),
    Into(into::Existing),
}

impl Base {
    fn new(request: &InitRequest, target: &InitTarget) -> Result<Self, MigrationError> {
        let source = &request.source;
        if let InitTarget::Into(path) = target {
            let text = std::fs::read_to_string(path).map_err(|e| InitError::IntoUnreadable {
                path: path.clone(),
                detail: e.to_string(),
            })?;
            let existing = into::read(path, text)?;
            existing.check_new(path, &source.name, &source.host, source.kind.as_str())?;
            return Ok(Self::Into(existing));
        }
        if let InitTarget::Out(path) = target {
            if path.exists() {
                return Err(InitError::Exists { path: path.clone() }.into());
            }
            // Before a session is opened, not after the analysis was read.
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
            if let Some(dir) = dir.filter(|d| !d.is_dir()) {
                return Err(MigrationError::Write {
                    path: path.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("the folder {} does not exist", dir.display()),
                    ),
                });
            }
        }
        let dest = request
            .destination
            .as_ref()
            .ok_or(InitError::NoDestination)?;
        let lead = [
            format!(
                "Written by `whm-migrate init` from {}: review it, then `whm-migrate plan` it.",
                source.host
            ),
            "Secrets are references only: export the variables named below before running."
                .to_owned(),
        ];
        Ok(Self::Fresh(text::head(&request.name, dest, &lead)))
    }

    /// The manifest with `source` (a `[[sources]]` table) in it.
    fn text(&self, source: &str) -> String {
        match self {
            Self::Fresh(head) => format!("{head}\n{source}"),
            Self::Into(existing) => existing.with(source),
        }
    }
}

/// Parses and checks `text` as `validate` would, as the manifest at `target`.
fn parse(target: &InitTarget, text: &str) -> Result<Manifest, MigrationError> {
    let path = target.path();
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = match target {
        InitTarget::Stdout => "(the manifest init prints)".to_owned(),
        _ => path.display().to_string(),
    };
    crate::manifest::parse_str(&name, text, &base_dir, &ModuleCatalog::bundled())
        .map_err(MigrationError::Manifest)
}

impl Migration {
    /// Observes, decides each item, balances the waves and writes the manifest.
    async fn write_manifest(
        &self,
        request: &InitRequest,
        target: &InitTarget,
        base: &Base,
        notify: &dyn Notify,
    ) -> Result<Initialized, MigrationError> {
        self.warn_unrecorded(notify);
        let source = &request.source;
        let inventory = destination_inventory(self.client()).await?;
        let (analysis, mut entries, mut lead) = self.look(source, notify).await?;
        self.exclude_named_elsewhere(&source.name, &mut entries);
        let observed = observed(&self.manifest, inventory, analysis);
        // Leaving an item out can change what plan says of others (a reseller left
        // out leaves its accounts' owner missing): decide again until nothing changes.
        for _ in 0..DECIDE_PASSES {
            let left_out = entries.iter().filter(|e| e.excluded.is_some()).count();
            let candidate = parse(target, &base.text(&text::source(source, &[], &entries)))?;
            decide(&candidate, &observed, &source.name, &mut entries);
            if entries.iter().filter(|e| e.excluded.is_some()).count() == left_out {
                break;
            }
        }
        let throughput = schedule::DEFAULT_THROUGHPUT;
        let waves = match request.waves {
            Some(n) => init::waves::summaries(&mut entries, n, source.kind, &throughput),
            None => Vec::new(),
        };
        lead.splice(0..0, text::summary_lead(&entries));
        let text = base.text(&text::source(source, &lead, &entries));
        parse(target, &text)?;
        let written = write(target, &text)?;
        Ok(Initialized {
            text,
            written,
            entries,
            waves,
            throughput,
            limits: (source.kind == SessionKind::User).then(|| USER_SOURCE_LIMITS.to_owned()),
        })
    }

    /// The source's analysis (root) or login check (user), its entries and the comment
    /// lines above its table.
    async fn look(
        &self,
        source: &init::SourceSpec,
        notify: &dyn Notify,
    ) -> Result<(Option<RemoteAnalysis>, Vec<Entry>, Vec<String>), MigrationError> {
        let (roots, users) = settings::access(&self.manifest, Credentials::Manifest);
        if source.kind == SessionKind::User {
            let request = users
                .iter()
                .find(|u| u.name == source.name)
                .ok_or_else(|| MigrationError::UnknownSource(source.name.clone()))?;
            let create = self
                .client()
                .create_remote_user_transfer_session(&request.request);
            let id = self.open_probe(&source.name, "init", create).await?;
            self.discard_analysis_session(&source.name, &id, notify)
                .await?;
            let user = source.user.as_deref().unwrap_or_default();
            let lead = vec![format!("Note: {USER_SOURCE_LIMITS}.")];
            return Ok((None, vec![Entry::user_account(user)], lead));
        }
        let request = roots
            .iter()
            .find(|r| r.name == source.name)
            .and_then(|r| r.root.as_ref())
            .ok_or_else(|| MigrationError::UnknownSource(source.name.clone()))?;
        let analysis = self
            .read_analysis(&source.name, request, "init", notify)
            .await?;
        let lead = entries::module_notes(&analysis);
        let found = init::candidates(&analysis);
        Ok((Some(analysis), found, lead))
    }

    /// Leaves out items another source of the manifest already moves: an account of
    /// the same destination name (which may appear only once in a manifest), a package
    /// or feature list of the same name (the first source's copy wins).
    fn exclude_named_elsewhere(&self, new_source: &str, entries: &mut [Entry]) {
        let mut taken: BTreeMap<(EntryKind, &str), &str> = BTreeMap::new();
        for s in self
            .manifest
            .sources
            .iter()
            .filter(|s| s.name != new_source)
        {
            let accounts = s
                .accounts
                .iter()
                .map(|a| (EntryKind::Account, a.local_user()));
            let packages = s
                .packages
                .iter()
                .map(|p| (EntryKind::Package, p.name.as_str()));
            let lists = s
                .feature_lists
                .iter()
                .map(|f| (EntryKind::FeatureList, f.name.as_str()));
            for key in lists.chain(packages).chain(accounts) {
                taken.entry(key).or_insert(s.name.as_str());
            }
        }
        for e in entries.iter_mut() {
            if let Some(other) = taken.get(&(e.kind, e.key.as_str())) {
                e.excluded = Some(format!(
                    "source “{other}” of this manifest already moves {} “{}”",
                    e.kind.noun(),
                    e.key
                ));
            }
        }
    }
}

/// What the diff needs: the destination, and the new source's analysis at its
/// index (the other sources are not looked at).
fn observed(
    manifest: &Manifest,
    destination: DestinationInventory,
    analysis: Option<RemoteAnalysis>,
) -> Observed {
    let mut sources: Vec<ObservedSource> = manifest
        .sources
        .iter()
        .map(|s| ObservedSource {
            name: s.name.clone(),
            ..ObservedSource::default()
        })
        .collect();
    if let Some(last) = sources.last_mut() {
        last.analysis = analysis;
    }
    Observed {
        destination,
        sources,
        server_keys: None,
    }
}

/// Leaves out every entry the plan would not transfer, or whose own checks block it,
/// with the plan's reason; sets its warnings.
fn decide(manifest: &Manifest, observed: &Observed, source: &str, entries: &mut [Entry]) {
    let desired = settings::desired(manifest, &ModuleCatalog::bundled());
    let plan = diff(&desired, observed);
    let Some(sp) = plan.sources.iter().find(|s| s.name == source) else {
        return;
    };
    let kind = sp.kind;
    // Indexed once: a server of 10,000 accounts must not cost 10,000² comparisons.
    let items: BTreeMap<String, &ItemPlan> = sp
        .items
        .iter()
        .map(|i| (queue_key(&i.module, &i.key), i))
        .collect();
    let mut checks: BTreeMap<&str, Vec<&Check>> = BTreeMap::new();
    for c in &sp.checks {
        for key in &c.items {
            checks.entry(key.as_str()).or_default().push(c);
        }
    }
    for e in entries.iter_mut().filter(|e| e.excluded.is_none()) {
        e.warnings.clear();
        let key = queue_key(e.kind.module(kind), &e.key);
        let Some(item) = items.get(&key) else {
            continue;
        };
        let mut blockers = Vec::new();
        for c in checks.get(key.as_str()).into_iter().flatten() {
            if c.blocks() {
                blockers.push(format!("{} ({}): {}", c.message, c.name, c.fix));
            } else {
                e.warnings.push(format!("check {}: {}", c.name, c.message));
            }
        }
        if item.action != Action::Transfer {
            let mut why = format!(
                "{}: {}",
                item.action.name(),
                item.reason.as_deref().unwrap_or("")
            );
            for c in item.conflicts.iter().map(ToString::to_string) {
                if !why.contains(&c) {
                    why.push_str("; ");
                    why.push_str(&c);
                }
            }
            e.excluded = Some(why);
        } else if !blockers.is_empty() {
            e.excluded = Some(format!(
                "a pre-flight check blocks it: {}",
                blockers.join("; ")
            ));
        }
    }
}

/// Writes the text: a new file never replaces one (checked again at the rename), an
/// existing manifest is replaced atomically with its permissions kept.
fn write(target: &InitTarget, text: &str) -> Result<Option<PathBuf>, MigrationError> {
    let (path, replace) = match target {
        InitTarget::Stdout => return Ok(None),
        InitTarget::Out(p) => (p, false),
        InitTarget::Into(p) => (p, true),
    };
    let failed = |source: std::io::Error| MigrationError::Write {
        path: path.clone(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-init-")
        .tempfile_in(dir)
        .map_err(failed)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(failed)?;
    tmp.as_file().sync_all().map_err(failed)?;
    if replace {
        let perms = std::fs::metadata(path).map_err(failed)?.permissions();
        std::fs::set_permissions(tmp.path(), perms).map_err(failed)?;
        tmp.persist(path).map_err(|e| failed(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                MigrationError::from(InitError::Exists { path: path.clone() })
            } else {
                failed(e.error)
            }
        })?;
    }
    Ok(Some(path.clone()))
}
