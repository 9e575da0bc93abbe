//! Verifying: the facts `verify` judges, read with read-only calls in a number of
//! requests that does not grow with the accounts: `listaccts`, `listpkgs` and
//! `get_featurelists` once; per root source, a session opened only to read its
//! analysis (create, retrieve, abort); per session that restored items, its master log.
//!
//! The analysis session is opened, journalled and discarded by `analysis_session`
//! (shared with `init`), so no password stays on the destination.
//!
//! With `--http` the sites are fetched too, from both servers' web ports: requests to
//! the sites, none to WHM.

use crate::domain::{AccountQuery, PackageFilter, RootSessionRequest};
use crate::journal::write_atomic;
use crate::migration::settings::{self, Credentials};
use crate::migration::{Migration, MigrationError, Notify, OpenOptions};
use crate::modules::ModuleCatalog;
use crate::plan::{DesiredSource, SessionKind, queue_key, waves};
use crate::verify::fetch::{HttpSettings, SiteTarget, fetch_sites};
use crate::verify::{self, DestinationFacts, ItemVerdict, SourceFacts, Tolerances, VerifyReport};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::Path;

/// How many `list_pops_for` calls are in flight at once.
const MAIL_READS: usize = 4;

/// What `verify` checks besides the accounts.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Only this wave's items.
    pub wave: Option<String>,
    /// Fetch every account's sites from both servers (`--http`).
    pub http: bool,
}

/// Opens the migration at `manifest` under the lock, verifies it (or one wave of it)
/// and closes it: `verify`, and `apply --verify` once its apply has ended.
pub async fn verify_manifest(
    manifest: &Path,
    state: crate::migration::StateFlags<'_>,
    verify: &VerifyOptions,
    notify: &dyn Notify,
) -> Result<VerifyReport, MigrationError> {
    let options = OpenOptions::locked("verify", state);
    let migration = Migration::open(manifest, options, notify).await?;
    let verified = migration.verify(verify, notify).await;
    migration.close().await;
    verified
}

impl Migration {
    /// Verifies the manifest's items (or one wave's) on the destination.
    pub async fn verify(
        &self,
        options: &VerifyOptions,
        notify: &dyn Notify,
    ) -> Result<VerifyReport, MigrationError> {
        let wave = options.wave.as_deref();
        let manifest = &self.manifest;
        let item_waves = manifest.item_waves();
        let desired = waves::select(
            settings::desired(manifest, &ModuleCatalog::bundled()),
            &item_waves,
            &manifest.wave_names(),
            wave,
        )?;
        self.warn_unrecorded(notify);
        let mut dest = self.destination_facts().await?;
        dest.mailboxes = self.mailboxes(&desired.sources, &dest).await;
        let (roots, _) = settings::access(manifest, Credentials::Manifest);
        let mut sources = Vec::new();
        for source in &desired.sources {
            let request = roots
                .iter()
                .find(|a| a.name == source.name)
                .and_then(|a| a.root.as_ref());
            sources.push(self.source_facts(source, request, notify).await?);
        }
        let tol = Tolerances::from_settings(&manifest.verify);
        let mut items = verify::verify(&desired, &dest, &sources, tol);
        if options.http {
            self.check_sites(&desired.sources, &dest, &sources, &mut items, notify)
                .await?;
        }
        Ok(VerifyReport::new(
            &manifest.name,
            wave.map(str::to_owned),
            tol,
            items,
        ))
    }

    /// `listaccts`, `listpkgs` and `get_featurelists`, at once.
    async fn destination_facts(&self) -> Result<DestinationFacts, MigrationError> {
        let want = [
            "user",
            "domain",
            "ip",
            "owner",
            "plan",
            "diskused",
            "inodesused",
            "suspended",
        ]
        .map(str::to_owned)
        .to_vec();
        let query = AccountQuery {
            want,
            ..AccountQuery::default()
        };
        let client = self.client();
        let (accounts, packages, featurelists) = futures::try_join!(
            client.listaccts(&query),
            client.listpkgs(PackageFilter::All),
            client.get_featurelists(),
        )?;
        Ok(DestinationFacts {
            accounts,
            packages: packages.into_iter().map(|p| p.name).collect(),
            featurelists: featurelists.into_iter().collect(),
            ..DestinationFacts::default()
        })
    }

    /// `list_pops_for` of every account to verify that the destination has: the one
    /// request per account `verify` allows itself, a few at a time.
    async fn mailboxes(
        &self,
        desired: &[DesiredSource],
        dest: &DestinationFacts,
    ) -> HashMap<String, Result<Vec<String>, String>> {
        let users: BTreeSet<String> = desired
            .iter()
            .flat_map(|s| &s.items)
            .filter(|i| i.is_account() && i.problems.is_empty())
            .map(|i| i.localuser.clone().unwrap_or_else(|| i.key.clone()))
            .filter(|u| dest.account(u).is_some())
            .collect();
        let client = self.client();
        futures::stream::iter(users)
            .map(|user| async move {
                let pops = client.list_pops_for(&user).await.map_err(|e| e.to_string());
                (user, pops)
            })
            .buffer_unordered(MAIL_READS)
            .collect()
            .await
    }

    /// Fetches every verified account's sites from both servers and adds their `site`
    /// checks.
    async fn check_sites(
        &self,
        desired: &[DesiredSource],
        dest: &DestinationFacts,
        sources: &[SourceFacts],
        items: &mut [ItemVerdict],
        notify: &dyn Notify,
    ) -> Result<(), MigrationError> {
        let settings = HttpSettings::from_settings(&self.manifest.verify);
        let mut addresses = BTreeMap::new();
        for s in desired {
            addresses.insert(s.name.clone(), address_of(&s.host).await);
        }
        let (indices, targets): (Vec<usize>, Vec<SiteTarget>) =
            verify::http::targets(items, dest, sources, &addresses)
                .into_iter()
                .unzip();
        notify.info(&format!(
            "fetching {} domain(s) from the destination and the sources",
            targets.len()
        ));
        let answers = fetch_sites(&targets, &settings)
            .await
            .map_err(MigrationError::SiteFetch)?;
        verify::http::add_site_checks(items, indices.into_iter().zip(answers));
        Ok(())
    }

    /// One source's analysis (root sources with accounts to verify) and restore results.
    async fn source_facts(
        &self,
        source: &DesiredSource,
        request: Option<&RootSessionRequest>,
        notify: &dyn Notify,
    ) -> Result<SourceFacts, MigrationError> {
        let mut facts = SourceFacts {
            name: source.name.clone(),
            ..SourceFacts::default()
        };
        let has_accounts = source
            .items
            .iter()
            .any(|i| i.is_account() && i.problems.is_empty());
        match (source.kind, request) {
            (SessionKind::Root, Some(request)) if has_accounts => {
                facts.analysis = Some(
                    self.read_analysis(&source.name, request, "verify", notify)
                        .await?,
                );
            }
            (SessionKind::User, _) => {
                facts.no_analysis = Some(
                    "a user source has no analysis (WHM analyses root sessions only)".to_owned(),
                );
            }
            _ => {}
        }
        self.read_restore_logs(source, &mut facts).await;
        Ok(facts)
    }

    /// Reads the master log of each session the journal says restored one of the
    /// source's items: one request per session, not per item.
    async fn read_restore_logs(&self, source: &DesiredSource, facts: &mut SourceFacts) {
        let keys: BTreeSet<String> = source
            .items
            .iter()
            .map(|i| queue_key(&i.module, &i.key))
            .collect();
        let by_session: BTreeMap<String, BTreeSet<String>> = self.journal.read(|j| {
            let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            if let Some(record) = j.sources.get(&source.name) {
                for (key, item) in &record.items {
                    if keys.contains(key) && item.state.is_restored() {
                        map.entry(item.session.clone())
                            .or_default()
                            .insert(key.clone());
                    }
                }
            }
            map
        });
        for (session, keys) in by_session {
            match self
                .client()
                .fetch_transfer_session_log(&session, "master.log")
                .await
            {
                Ok(text) => facts.read_master_log(text.as_bytes(), &keys),
                Err(e) => {
                    for key in keys {
                        let why =
                            format!("the master log of session {session} could not be read: {e}");
                        facts.log_errors.insert(key, why);
                    }
                }
            }
        }
    }
}

/// A source's address for its sites: its `host` as an IP, or resolved.
async fn address_of(host: &str) -> Result<IpAddr, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse() {
        return Ok(ip);
    }
    match tokio::net::lookup_host((bare, 0)).await {
        Ok(mut addrs) => addrs
            .next()
            .map(|a| a.ip())
            .ok_or_else(|| format!("{host} resolves to no address")),
        Err(e) => Err(format!("cannot resolve {host}: {e}")),
    }
}

/// Writes a verification's JUnit XML to `path`, atomically.
pub fn save_verify_junit(path: &Path, report: &VerifyReport) -> Result<(), MigrationError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let xml = verify::render::junit(report);
    write_atomic(dir, path, xml.as_bytes()).map_err(|source| MigrationError::Write {
        path: path.to_path_buf(),
        source,
    })
}
