//! Verifying: the facts `verify` judges, read with read-only calls in a number of
//! requests that does not grow with the accounts: `listaccts`, `listpkgs` and
//! `get_featurelists` once; per root source, a session opened only to read its
//! analysis (create, retrieve, abort); per session that restored items, its master log.
//!
//! The analysis session is opened, journalled and discarded by `analysis_session`
//! (shared with `init`), so no password stays on the destination.

use crate::domain::{AccountQuery, PackageFilter, RootSessionRequest};
use crate::journal::write_atomic;
use crate::migration::settings::{self, Credentials};
use crate::migration::{Migration, MigrationError, Notify, OpenOptions};
use crate::modules::ModuleCatalog;
use crate::plan::{DesiredSource, SessionKind, queue_key, waves};
use crate::verify::{self, DestinationFacts, SourceFacts, Tolerances, VerifyReport};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Opens the migration at `manifest` under the lock, verifies it (or one wave of it)
/// and closes it: `verify`, and `apply --verify` once its apply has ended.
pub async fn verify_manifest(
    manifest: &Path,
    state: crate::migration::StateFlags<'_>,
    wave: Option<&str>,
    notify: &dyn Notify,
) -> Result<VerifyReport, MigrationError> {
    let options = OpenOptions::locked("verify", state);
    let migration = Migration::open(manifest, options, notify).await?;
    let verified = migration.verify(wave, notify).await;
    migration.close().await;
    verified
}

impl Migration {
    /// Verifies the manifest's items (or one wave's) on the destination.
    pub async fn verify(
        &self,
        wave: Option<&str>,
        notify: &dyn Notify,
    ) -> Result<VerifyReport, MigrationError> {
        let manifest = &self.manifest;
        let item_waves = manifest.item_waves();
        let desired = waves::select(
            settings::desired(manifest, &ModuleCatalog::bundled()),
            &item_waves,
            &manifest.wave_names(),
            wave,
        )?;
        self.warn_unrecorded(notify);
        let dest = self.destination_facts().await?;
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
        let items = verify::verify(&desired, &dest, &sources, tol);
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
