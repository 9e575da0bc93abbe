//! The destination's live module schemas: for `validate --online`, as new snapshots
//! for `schemas pull`, and for `plan`, whose enqueues carry only the keys they list.

use crate::journal::{LiveSchemas, write_atomic};
use crate::manifest::Diagnostics;
use crate::migration::{Migration, MigrationError, Notify};
use crate::modules::{ModuleCatalog, ModuleSchema, ModuleSnapshot, diff_schemas};
use crate::plan::live::ServerKeys;
use crate::plan::{Desired, Observed, Plan, live};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

impl Migration {
    /// Validates the manifest against the destination's live module schemas, telling
    /// `notify` where each differs from the bundled snapshot.
    pub async fn validate_online(&self, notify: &dyn Notify) -> Diagnostics {
        let mut live = ModuleCatalog::bundled();
        for module in ModuleCatalog::bundled().modules() {
            let Some(schema) = self.live_schema(&module.name).await.ok() else {
                continue;
            };
            for d in diff_schemas(&module.schema, &schema) {
                notify.warn(&format!(
                    "{}: the live schema differs from the bundled one: {d}",
                    module.name
                ));
            }
            live.set_schema(&module.name, schema, None);
        }
        self.manifest.validate_against(&live)
    }

    /// Writes every bundled module's live schema into `dir` in the snapshot format;
    /// returns how many were written. A module the server does not describe is told
    /// to `notify` and skipped.
    pub async fn pull_schemas(
        &self,
        dir: &Path,
        notify: &dyn Notify,
    ) -> Result<usize, MigrationError> {
        let ids = self.client().available_transfer_modules().await?;
        std::fs::create_dir_all(dir).map_err(|source| MigrationError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut written = 0;
        for module in ModuleCatalog::bundled().modules() {
            let name = &module.name;
            let schema = match self.live_schema(name).await {
                Ok(s) => s,
                Err(e) => {
                    notify.warn(&format!("{name}: not pulled: {e}"));
                    continue;
                }
            };
            let type_id = ids
                .get(name.as_str())
                .map_or_else(|| module.type_id.to_string(), ToString::to_string);
            let doc = ModuleSnapshot {
                module: name.clone(),
                type_id,
                schema,
            };
            let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            text.push('\n');
            let path = dir.join(format!("{name}.json"));
            write_atomic(dir, &path, text.as_bytes())
                .map_err(|source| MigrationError::Write { path, source })?;
            written += 1;
        }
        Ok(written)
    }

    /// Restricts what `plan` sends to the keys the destination's live schemas have:
    /// reads them for the modules of the items apply would send (see
    /// [`Self::server_keys`]), removes the keys they lack from `desired`, records the
    /// keys in `observed` for the schedule, and tells each source plan what was left
    /// out. Nothing is read when nothing would be sent.
    pub(crate) async fn restrict_to_server(
        &self,
        desired: &mut Desired,
        observed: &mut Observed,
        plan: &mut Plan,
    ) -> Result<(), MigrationError> {
        let modules: BTreeSet<String> = plan
            .sources
            .iter()
            .flat_map(|s| &s.items)
            .filter(|i| i.is_actionable())
            .map(|i| i.module.clone())
            .collect();
        if modules.is_empty() {
            return Ok(());
        }
        // One destination serves every source: any analysis tells its version.
        let version = observed
            .sources
            .iter()
            .find_map(|s| s.analysis.as_ref()?.local.version.clone())
            .filter(|v| !v.trim().is_empty());
        let server = self.server_keys(version.as_deref(), &modules).await?;
        for (source, mut unsent) in plan
            .sources
            .iter_mut()
            .zip(live::restrict(desired, &server))
        {
            // Told only for the items apply would send.
            let sent: BTreeSet<(&str, &str)> = source
                .items
                .iter()
                .filter(|i| i.is_actionable())
                .map(|i| (i.module.as_str(), i.key.as_str()))
                .collect();
            for u in &mut unsent {
                u.items
                    .retain(|k| sent.contains(&(u.module.as_str(), k.as_str())));
            }
            unsent.retain(|u| !u.items.is_empty());
            source.unsent = unsent;
        }
        observed.server_keys = Some(server);
        Ok(())
    }

    /// The live schema keys of `modules`: from the journal when it holds them for
    /// `version`, else read (one call per module) and recorded for that version. A
    /// destination whose version is unknown (no analysis was read: only user sources,
    /// or no session) is asked each time, since an upgrade could not be noticed.
    async fn server_keys(
        &self,
        version: Option<&str>,
        modules: &BTreeSet<String>,
    ) -> Result<ServerKeys, MigrationError> {
        let remembered = version.and_then(|v| {
            self.journal
                .read(|j| j.live_schemas.clone().filter(|l| l.version == v))
        });
        let mut read = BTreeMap::new();
        let mut keys = BTreeMap::new();
        for module in modules {
            if let Some(k) = remembered.as_ref().and_then(|r| r.modules.get(module)) {
                keys.insert(module.clone(), k.clone());
                continue;
            }
            let schema = self.client().transfer_module_schema(module).await?;
            let k: BTreeSet<String> = schema.keys.into_keys().collect();
            if k.is_empty() {
                return Err(crate::whm::WhmError::Config(format!(
                    "{module}: the destination's transfer_module_schema lists no keys"
                ))
                .into());
            }
            read.insert(module.clone(), k.clone());
            keys.insert(module.clone(), k);
        }
        if let Some(v) = version
            && !read.is_empty()
        {
            self.journal.commit(|j| {
                let live = j.live_schemas.get_or_insert_with(LiveSchemas::default);
                if live.version != v {
                    *live = LiveSchemas {
                        version: v.to_owned(),
                        modules: BTreeMap::new(),
                    };
                }
                live.modules.extend(read);
            })?;
        }
        Ok(ServerKeys {
            version: version.map(str::to_owned),
            modules: keys,
        })
    }

    /// A module's live schema in the snapshot form (the answer's `{"def": …}` keys).
    async fn live_schema(&self, module: &str) -> Result<ModuleSchema, MigrationError> {
        let schema = self.client().transfer_module_schema(module).await?;
        serde_json::to_value(&schema)
            .and_then(serde_json::from_value)
            .map_err(|e| {
                crate::whm::WhmError::Config(format!(
                    "{module}: the live schema is not understood: {e}"
                ))
                .into()
            })
    }
}
