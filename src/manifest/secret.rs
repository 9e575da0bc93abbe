//! Secret references (`{ env = "VAR" }` or `{ file = "PATH" }`) and their resolution into
//! `SecretString`s. A secret's value never appears in `Debug` output or in errors.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a secret comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretRef {
    /// An environment variable's value.
    Env(String),
    /// A file's contents (trailing line breaks removed), relative to the manifest's folder.
    File(PathBuf),
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(var) => write!(f, "environment variable {var}"),
            Self::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// A secret: its reference, and its value once [`crate::manifest::resolve_secrets`] ran.
#[derive(Clone)]
pub struct Secret {
    reference: SecretRef,
    value: Option<SecretString>,
}

impl Secret {
    /// An unresolved secret.
    pub fn new(reference: SecretRef) -> Self {
        Self {
            reference,
            value: None,
        }
    }

    /// Where the value comes from.
    pub fn reference(&self) -> &SecretRef {
        &self.reference
    }

    /// The value, if resolved. Use `secrecy::ExposeSecret` to read it.
    pub fn value(&self) -> Option<&SecretString> {
        self.value.as_ref()
    }

    pub(crate) fn reference_mut(&mut self) -> &mut SecretRef {
        &mut self.reference
    }

    /// Reads the value from the environment or the file.
    pub fn resolve(&mut self) -> Result<(), SecretError> {
        let value = match &self.reference {
            SecretRef::Env(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => v,
                Ok(_) => return Err(SecretError::EmptyEnv(var.clone())),
                Err(_) => return Err(SecretError::MissingEnv(var.clone())),
            },
            SecretRef::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| SecretError::File {
                    path: path.clone(),
                    reason: e.kind().to_string(),
                })?;
                let trimmed = text.trim_end_matches(['\n', '\r']);
                if trimmed.is_empty() {
                    return Err(SecretError::EmptyFile(path.clone()));
                }
                trimmed.to_owned()
            }
        };
        self.value = Some(SecretString::from(value));
        Ok(())
    }
}

/// Why a secret could not be read. Never contains the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The variable is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The variable is empty.
    #[error("environment variable {0} is empty")]
    EmptyEnv(String),
    /// The file could not be read.
    #[error("cannot read secret file {}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error kind.
        reason: String,
    },
    /// The file is empty.
    #[error("secret file {} is empty", .0.display())]
    EmptyFile(PathBuf),
}

impl SecretError {
    /// What to do about it.
    pub fn help(&self) -> String {
        match self {
            Self::MissingEnv(var) | Self::EmptyEnv(var) => {
                format!("export {var}=... before running whm-migrate, or use {{ file = \"PATH\" }}")
            }
            Self::File { .. } | Self::EmptyFile(_) => {
                "check the path (relative to the manifest's folder) and its permissions".to_owned()
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.value.is_some() {
            "resolved"
        } else {
            "unresolved"
        };
        write!(f, "Secret({}, {state})", self.reference)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.reference == other.reference
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.reference.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SecretRef::deserialize(deserializer).map(Self::new)
    }
}

impl JsonSchema for Secret {
    fn schema_name() -> Cow<'static, str> {
        "SecretRef".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = SecretRef::json_schema(generator);
        schema.insert(
            "description".into(),
            "A secret, never a literal: `{ env = \"VAR\" }` or `{ file = \"PATH\" }` (relative to the manifest's folder).".into(),
        );
        schema
    }
}

/// The environment variable name to suggest for a secret field: `OLD1_ROOT_PASSWORD`.
pub fn suggested_env_var(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// Joins a relative path onto `base`.
pub(crate) fn resolve_path(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::{Secret, SecretError, SecretRef, suggested_env_var};

    #[test]
    fn debug_never_shows_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, "s3cr3t-value\n").unwrap();
        let mut secret = Secret::new(SecretRef::File(path));
        secret.resolve().unwrap();
        assert_eq!(secret.value().unwrap().expose_secret(), "s3cr3t-value");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        assert!(format!("{secret:?}").contains("resolved"));
    }

    #[test]
    fn missing_sources_are_clear_errors() {
        let mut secret = Secret::new(SecretRef::Env("WHM_MIGRATE_TEST_SURELY_UNSET".into()));
        let err = secret.resolve().unwrap_err();
        assert_eq!(
            err,
            SecretError::MissingEnv("WHM_MIGRATE_TEST_SURELY_UNSET".into())
        );
        assert!(err.help().contains("export WHM_MIGRATE_TEST_SURELY_UNSET="));
        let mut secret = Secret::new(SecretRef::File("/nonexistent/whm-migrate/token".into()));
        assert!(matches!(secret.resolve(), Err(SecretError::File { .. })));
    }

    #[test]
    fn env_var_suggestion() {
        assert_eq!(
            suggested_env_var(&["old1", "root", "password"]),
            "OLD1_ROOT_PASSWORD"
        );
        assert_eq!(
            suggested_env_var(&["new-1.x", "", "token"]),
            "NEW_1_X_TOKEN"
        );
    }
}
