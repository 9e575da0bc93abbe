//! The manifest: a TOML file that names the destination WHM server, the sources and what
//! to move from each (DESIGN.md §3).
//!
//! [`load`] parses and validates a file against the bundled module schemas and returns
//! either the [`Manifest`] or every problem at once as [`Diagnostics`] (text with source
//! line and caret, or JSON). [`Manifest::validate_against`] re-checks a loaded manifest
//! against another (live) catalog; [`Manifest::resolve_secrets`] reads the secrets.

mod account_schema;
mod diagnostic;
pub mod gates;
mod items;
mod model;
mod origin;
mod rules;
mod secret;
mod structure;
mod waves;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize as _;
use serde::de::IntoDeserializer as _;

pub use diagnostic::{Diagnostic, Diagnostics, JsonDiagnostic, Severity, SourceFile};
pub use items::QueueItem;

/// Which secrets a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretScope {
    /// The destination's token and every source's credentials (plan, apply).
    All,
    /// Only the destination's token (status, control, schemas).
    Destination,
    /// The destination's token and the credentials of the source at this index
    /// (`init --into`, which reads only the source it adds).
    DestinationAndSource(usize),
}
pub use model::{
    Account, AccountDefaults, BackendKind, CommTransport, Defaults, Destination, EscalationMethod,
    FeatureList, Manifest, Package, SessionOptions, SimulatorRef, Source, StateBackend, Timeouts,
    VerifySettings,
};
pub use secret::{Secret, SecretError, SecretRef};

use crate::modules::ModuleCatalog;
use origin::Origin;
use secret::resolve_path;

/// The command that regenerates `schemas/manifest.schema.json`.
pub const SCHEMA_REGEN_COMMAND: &str = "whm-migrate schema > schemas/manifest.schema.json";

/// Reads, parses and validates a manifest against the bundled module schemas.
pub fn load(path: impl AsRef<Path>) -> Result<Manifest, Diagnostics> {
    load_with(path, &ModuleCatalog::bundled())
}

/// Like [`load`], validating items against `catalog` (for example with live schemas).
pub fn load_with(path: impl AsRef<Path>, catalog: &ModuleCatalog) -> Result<Manifest, Diagnostics> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                return Err(file_error(
                    &name,
                    "not-utf8",
                    "the manifest is not valid UTF-8".to_owned(),
                    "save the file as UTF-8",
                ));
            }
        },
        Err(e) => {
            return Err(file_error(
                &name,
                "unreadable",
                format!("cannot read the manifest: {e}"),
                "check the path and its permissions",
            ));
        }
    };
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_str(&name, &text, &base_dir, catalog)
}

fn file_error(name: &str, code: &'static str, message: String, help: &str) -> Diagnostics {
    Diagnostics::new(
        Arc::new(SourceFile::new(name, "")),
        vec![Diagnostic::error(code, message).help(help)],
    )
}

/// Parses and validates manifest text. `name` is shown in diagnostics; relative paths in
/// the manifest resolve from `base_dir`.
pub fn parse_str(
    name: &str,
    text: &str,
    base_dir: &Path,
    catalog: &ModuleCatalog,
) -> Result<Manifest, Diagnostics> {
    let mut file = SourceFile::new(name, text);
    let (doc, syntax) = toml::de::DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        redact_secret_lines(&mut file);
        let diags = syntax
            .iter()
            .map(|e| {
                Diagnostic::error("syntax", format!("TOML syntax: {}", e.message()))
                    .at(Some(e.span().unwrap_or(0..0)))
                    .help("fix the TOML syntax here; the other checks run once the file parses")
            })
            .collect();
        return Err(Diagnostics::new(Arc::new(file), diags));
    }
    let walked = structure::walk(doc);
    for range in walked.redactions {
        file.redact(range);
    }
    let file = Arc::new(file);
    let mut diags = walked.diagnostics;
    let first_pass_failed = !diags.is_empty();
    let mut manifest = match Manifest::deserialize(walked.pruned.into_deserializer()) {
        Ok(m) => m,
        Err(e) => {
            if !first_pass_failed {
                diags.push(Diagnostic::error("invalid", e.message().to_owned()).at(e.span()));
            }
            return Err(Diagnostics::new(file, diags));
        }
    };
    manifest.origin = Origin {
        file: Some(file.clone()),
        spans: Arc::new(walked.spans),
        base_dir: base_dir.to_path_buf(),
        warnings: Vec::new(),
        resolved: false,
    };
    diags.extend(rules::check(&manifest, catalog));
    let all = Diagnostics::new(file, diags);
    if all.has_errors() {
        return Err(all);
    }
    manifest.resolve_paths();
    manifest.origin.warnings = all.iter().cloned().collect();
    Ok(manifest)
}

/// Masks the value of `password = "..."`-like lines, for files that do not parse.
fn redact_secret_lines(file: &mut SourceFile) {
    let mut ranges = Vec::new();
    let mut offset = 0;
    for line in file.text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let is_secret = ["password", "root_password", "sshkey_passphrase", "token"]
            .iter()
            .any(|k| {
                trimmed
                    .strip_prefix(k)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            });
        if is_secret && let Some(q) = line.find(['"', '\'']) {
            let end = line.trim_end_matches(['\n', '\r']).len();
            if end > q {
                ranges.push(offset + q..offset + end);
            }
        }
        offset += line.len();
    }
    for r in ranges {
        file.redact(r);
    }
}

impl Manifest {
    /// The folder relative paths were resolved from.
    pub fn base_dir(&self) -> &Path {
        &self.origin.base_dir
    }

    /// The warnings found while loading (a loaded manifest has no errors).
    pub fn warnings(&self) -> Diagnostics {
        Diagnostics::new(self.source_file(), self.origin.warnings.clone())
    }

    fn source_file(&self) -> Arc<SourceFile> {
        self.origin
            .file
            .clone()
            .unwrap_or_else(|| Arc::new(SourceFile::new("<manifest>", "")))
    }

    /// Re-checks the manifest against another module catalog (for example the live
    /// schemas of `validate --online`). Returns every error and warning.
    pub fn validate_against(&self, catalog: &ModuleCatalog) -> Diagnostics {
        Diagnostics::new(self.source_file(), rules::check(self, catalog))
    }

    /// The items of source `index`, in processing order, with defaults applied.
    pub fn queue_items(&self, index: usize, catalog: &ModuleCatalog) -> Vec<QueueItem> {
        items::source_items(self, index, catalog)
            .into_iter()
            .map(|e| e.item)
            .collect()
    }

    /// Reads the secrets `scope` needs (environment variables and files). Errors name
    /// the manifest location and never the value.
    pub fn resolve_secrets(&mut self, scope: SecretScope) -> Result<(), Diagnostics> {
        let mut diags = Vec::new();
        let origin = self.origin.clone();
        let mut resolve = |secret: &mut Secret, path: String| {
            if let Err(e) = secret.resolve() {
                diags.push(
                    Diagnostic::error("secret-unavailable", format!("`{path}`: {e}"))
                        .at(origin.value_span(&path))
                        .help(e.help()),
                );
            }
        };
        if let Some(token) = &mut self.destination.token {
            resolve(token, "destination.token".to_owned());
        }
        let sources = match scope {
            SecretScope::All => 0..self.sources.len(),
            SecretScope::Destination => 0..0,
            SecretScope::DestinationAndSource(i) => i..i + 1,
        };
        for (i, source) in self.sources.iter_mut().enumerate() {
            if !sources.contains(&i) {
                continue;
            }
            for (key, secret) in [
                ("password", &mut source.password),
                ("root_password", &mut source.root_password),
                ("sshkey_passphrase", &mut source.sshkey_passphrase),
            ] {
                if let Some(secret) = secret {
                    resolve(secret, format!("sources[{i}].{key}"));
                }
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(Diagnostics::new(self.source_file(), diags))
        }
    }

    /// Makes relative paths (token and secret files, `ca_file`, the simulator world)
    /// relative to the manifest's folder instead of the working directory.
    fn resolve_paths(&mut self) {
        let base: PathBuf = self.origin.base_dir.clone();
        let fix = |p: &mut PathBuf| *p = resolve_path(&base, p);
        if let Some(ca) = &mut self.destination.ca_file {
            fix(ca);
        }
        if let Some(sim) = &mut self.destination.simulator {
            fix(&mut sim.world);
        }
        let mut secrets: Vec<&mut Secret> = Vec::new();
        secrets.extend(self.destination.token.as_mut());
        for s in &mut self.sources {
            secrets.extend(s.password.as_mut());
            secrets.extend(s.root_password.as_mut());
            secrets.extend(s.sshkey_passphrase.as_mut());
        }
        for secret in secrets {
            if let SecretRef::File(p) = secret.reference_mut() {
                fix(p);
            }
        }
        self.origin.resolved = true;
    }
}

/// The JSON Schema of a manifest (draft-07, for taplo / Even Better TOML), as committed in
/// `schemas/manifest.schema.json`.
pub fn manifest_json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<Manifest>();
    let mut value = serde_json::to_value(schema).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "$comment".to_owned(),
            format!("Generated by whm-migrate; do not edit. Regenerate: {SCHEMA_REGEN_COMMAND}")
                .into(),
        );
    }
    value
}

/// [`manifest_json_schema`] as the committed file's text (pretty JSON and a final newline).
pub fn manifest_json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&manifest_json_schema()).unwrap_or_default();
    text.push('\n');
    text
}
