//! The destination's live module schemas: for `validate --online`, and as new
//! snapshots for `schemas pull`.

use crate::journal::write_atomic;
use crate::manifest::Diagnostics;
use crate::migration::{Migration, MigrationError, Notify};
use crate::modules::{ModuleCatalog, ModuleSchema, ModuleSnapshot, diff_schemas};
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
