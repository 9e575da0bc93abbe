//! A module's queue schema (`transfer_module_schema`'s `data.schema`), the bundled snapshot
//! file format, and the comparison of two schemas for `validate --online`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::field_type::FieldType;

/// One key of a module schema: the server's `def` string and its parsed type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaKey {
    /// The `def` string exactly as the server or snapshot wrote it.
    pub def: String,
    /// The parsed type.
    pub ty: FieldType,
}

/// The column layout of one transfer module.
///
/// Deserializes from both the bundled snapshots (`keys: {NAME: "def"}`) and a live
/// response (`keys: {NAME: {"def": "..."}}`); `prerequisite` may be `"prerequisite_user"`,
/// `"user"` (old guide) or missing. Serializes to the snapshot form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleSchema {
    /// Key name to type.
    pub keys: BTreeMap<String, SchemaKey>,
    /// The primary key columns (one in practice).
    pub primary: Vec<String>,
    /// The columns that must be supplied on enqueue.
    pub required: Vec<String>,
    /// The column that names a prerequisite item, for account modules.
    pub prerequisite: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDef {
    Plain(String),
    Object { def: String },
}

#[derive(Deserialize)]
struct RawSchema {
    keys: BTreeMap<String, RawDef>,
    #[serde(default)]
    primary: Vec<String>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    prerequisite: Option<String>,
}

impl<'de> Deserialize<'de> for ModuleSchema {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawSchema::deserialize(deserializer)?;
        let mut keys = BTreeMap::new();
        for (name, def) in raw.keys {
            let def = match def {
                RawDef::Plain(def) | RawDef::Object { def } => def,
            };
            let ty = FieldType::parse(&def)
                .map_err(|e| D::Error::custom(format!("schema key `{name}`: {e}")))?;
            keys.insert(name, SchemaKey { def, ty });
        }
        Ok(Self {
            keys,
            primary: raw.primary,
            required: raw.required,
            prerequisite: raw.prerequisite.filter(|p| !p.is_empty()),
        })
    }
}

impl Serialize for ModuleSchema {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            keys: BTreeMap<&'a str, &'a str>,
            primary: &'a [String],
            required: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            prerequisite: Option<&'a str>,
        }
        Out {
            keys: self
                .keys
                .iter()
                .map(|(k, v)| (k.as_str(), v.def.as_str()))
                .collect(),
            primary: &self.primary,
            required: &self.required,
            prerequisite: self.prerequisite.as_deref(),
        }
        .serialize(serializer)
    }
}

impl ModuleSchema {
    /// The type of `key`, if the module knows it.
    pub fn key(&self, key: &str) -> Option<&FieldType> {
        self.keys.get(key).map(|k| &k.ty)
    }

    /// The first primary key column (`user`, `package`, `featurelist`, `name`).
    pub fn primary_key(&self) -> Option<&str> {
        self.primary.first().map(String::as_str)
    }
}

/// A bundled snapshot file, `schemas/modules/NAME.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleSnapshot {
    /// The module name, for example `AccountRemoteRoot`.
    pub module: String,
    /// The type id as `available_transfer_modules` returns it (a digit string).
    pub type_id: String,
    /// The schema.
    pub schema: ModuleSchema,
}

/// One difference between a bundled and a live schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaDifference {
    /// The live schema has a key the bundled one lacks.
    KeyAdded {
        /// The key.
        key: String,
        /// Its live `def`.
        def: String,
    },
    /// The bundled schema has a key the live one lacks (items setting it will fail).
    KeyRemoved {
        /// The key.
        key: String,
        /// Its bundled `def`.
        def: String,
    },
    /// The key's type or default differs.
    DefChanged {
        /// The key.
        key: String,
        /// The bundled `def`.
        bundled: String,
        /// The live `def`.
        live: String,
    },
    /// The primary key columns differ.
    PrimaryChanged {
        /// Bundled.
        bundled: Vec<String>,
        /// Live.
        live: Vec<String>,
    },
    /// The required columns differ (compared as sets).
    RequiredChanged {
        /// Bundled.
        bundled: Vec<String>,
        /// Live.
        live: Vec<String>,
    },
}

impl fmt::Display for SchemaDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyAdded { key, def } => write!(f, "key `{key}` added on the server ({def})"),
            Self::KeyRemoved { key, def } => {
                write!(f, "key `{key}` ({def}) is missing on the server")
            }
            Self::DefChanged { key, bundled, live } => {
                write!(f, "key `{key}` changed from `{bundled}` to `{live}`")
            }
            Self::PrimaryChanged { bundled, live } => write!(
                f,
                "primary key changed from [{}] to [{}]",
                bundled.join(", "),
                live.join(", ")
            ),
            Self::RequiredChanged { bundled, live } => write!(
                f,
                "required keys changed from [{}] to [{}]",
                bundled.join(", "),
                live.join(", ")
            ),
        }
    }
}

/// Compares a bundled schema with a live one. Keys are compared by parsed type, so
/// `INT(1) DEFAULT 0` and `int(1) DEFAULT 0` are the same. The prerequisite column name is
/// not compared: servers spell it differently and the client never sends it implicitly.
pub fn diff_schemas(bundled: &ModuleSchema, live: &ModuleSchema) -> Vec<SchemaDifference> {
    let mut out = Vec::new();
    for (key, b) in &bundled.keys {
        match live.keys.get(key) {
            None => out.push(SchemaDifference::KeyRemoved {
                key: key.clone(),
                def: b.def.clone(),
            }),
            Some(l) if l.ty != b.ty => out.push(SchemaDifference::DefChanged {
                key: key.clone(),
                bundled: b.def.clone(),
                live: l.def.clone(),
            }),
            Some(_) => {}
        }
    }
    for (key, l) in &live.keys {
        if !bundled.keys.contains_key(key) {
            out.push(SchemaDifference::KeyAdded {
                key: key.clone(),
                def: l.def.clone(),
            });
        }
    }
    if bundled.primary != live.primary {
        out.push(SchemaDifference::PrimaryChanged {
            bundled: bundled.primary.clone(),
            live: live.primary.clone(),
        });
    }
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    if sorted(&bundled.required) != sorted(&live.required) {
        out.push(SchemaDifference::RequiredChanged {
            bundled: bundled.required.clone(),
            live: live.required.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{ModuleSchema, SchemaDifference, diff_schemas};

    fn schema(json: &str) -> ModuleSchema {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_snapshot_and_live_forms() {
        let snap = schema(
            r#"{"keys":{"user":"char(255) DEFAULT NULL","force":"int(1) DEFAULT 0"},
                "primary":["user"],"required":["user"],"prerequisite":"prerequisite_user"}"#,
        );
        let live = schema(
            r#"{"keys":{"user":{"def":"char(255) DEFAULT NULL"},"force":{"def":"INT(1) DEFAULT 0"}},
                "primary":["user"],"required":["user"],"prerequisite":"user"}"#,
        );
        assert!(diff_schemas(&snap, &live).is_empty());
        let docs = schema(
            r#"{"keys":{"user":{"def":"char(255) DEFAULT NULL"}},"primary":["user"],"required":["user"]}"#,
        );
        assert_eq!(docs.prerequisite, None);
    }

    #[test]
    fn unknown_def_is_an_error_not_a_panic() {
        let err = serde_json::from_str::<ModuleSchema>(r#"{"keys":{"x":"blob"}}"#).unwrap_err();
        assert!(err.to_string().contains("schema key `x`"), "{err}");
    }

    #[test]
    fn reports_every_kind_of_difference() {
        let bundled = schema(
            r#"{"keys":{"user":"char(255) DEFAULT NULL","a":"int(1) DEFAULT 0","gone":"text"},
                "primary":["user"],"required":["user","localuser"]}"#,
        );
        let live = schema(
            r#"{"keys":{"user":{"def":"char(255) DEFAULT NULL"},"a":{"def":"int(1) DEFAULT 255"},"new":{"def":"text"}},
                "primary":["name"],"required":["user"]}"#,
        );
        let diffs = diff_schemas(&bundled, &live);
        let text: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "key `a` changed from `int(1) DEFAULT 0` to `int(1) DEFAULT 255`",
                "key `gone` (text) is missing on the server",
                "key `new` added on the server (text)",
                "primary key changed from [user] to [name]",
                "required keys changed from [user, localuser] to [user]",
            ]
        );
        assert!(matches!(diffs[0], SchemaDifference::DefChanged { .. }));
    }

    #[test]
    fn serializes_back_to_the_snapshot_form() {
        let s = schema(
            r#"{"keys":{"user":{"def":"char(255) DEFAULT NULL"}},"primary":["user"],"required":["user"]}"#,
        );
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"keys":{"user":"char(255) DEFAULT NULL"},"primary":["user"],"required":["user"]}"#
        );
    }
}
