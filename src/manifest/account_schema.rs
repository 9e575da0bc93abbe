//! The JSON Schema of an account table and of `[defaults.accounts]`, generated from the
//! bundled AccountRemoteRoot module schema so editors autocomplete every key with its type.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use super::gates;
use crate::modules::{FieldKind, FieldType, ModuleCatalog, names};

/// Keys of an account that cannot come from `[defaults.accounts]`.
pub const PER_ACCOUNT_KEYS: [&str; 4] = ["user", "localuser", "domain", WAVE_KEY];

/// The account key naming its wave: whm-migrate's own, never sent to WHM. Set per
/// account only: a default wave would silently move every unlabelled account with it.
pub const WAVE_KEY: &str = "wave";

/// What each account key means (REFERENCE §4.9), for editor tooltips.
fn describe(key: &str) -> &'static str {
    match key {
        "user" => "The account's name on the source (the queue's primary key).",
        "localuser" => "The name to create on the destination; defaults to `user`.",
        "domain" => "The account's main domain.",
        WAVE_KEY => {
            "The wave the account moves in (`plan`/`apply --wave NAME`); without one it moves only in a run without `--wave`."
        }
        "detected_remote_user" => "The name the source reports.",
        "replaceip" => {
            "`all` rewrites every matching A record to the new IP; `basic` only the cPanel-managed ones."
        }
        "ip" => "Give the account a dedicated IP (or a shared one if none is free).",
        "customip" => "A specific IP for the account; needs `ip = true`.",
        "reseller" => "Make the account a reseller.",
        "skipres" => "Skip restoring the account's reseller privileges.",
        "force" => {
            "Overwrite an existing account of the same name. Needs `localuser` = `user`; not with `unrestricted_restore`."
        }
        "skipaccount" => "Do not (re)create the account. Needs `localuser` = `user`.",
        "skiphomedir" => "Skip the home directory.",
        "skipacctdb" => "Skip the account's databases.",
        "skipbwdata" => "Skip bandwidth data.",
        "skipsubdomains" => "Skip subdomains.",
        "skipemail" => "Skip email.",
        "shared_mysql_server" => "The two servers share a MySQL server.",
        "overwrite_all_dbs" => "Overwrite every database of the same name.",
        "overwrite_all_dbusers" => "Overwrite every database user of the same name.",
        "overwrite_sameowner_dbs" => "Overwrite databases of the same name and owner.",
        "overwrite_sameowner_dbusers" => "Overwrite database users of the same name and owner.",
        "overwrite_with_delete" => "Delete everything of the account on the destination first.",
        "xferpoint" => "Express Transfer.",
        "live_transfer" => "Live Transfer.",
        "mail_location" => "`.local`, `.existing` (the default), or a linked mail node's alias.",
        "priority" => "Processing priority; lower runs first (default 255).",
        "prerequisite_user" => "The `user` of another account that must finish first.",
        "size" => "The expected size in bytes (picks the home partition; disk-space checks).",
        "files" => "The expected file count.",
        "copypoint" | "cpmovefile" => "A local restore input path (AccountLocal).",
        "disabled" => "A comma-separated list of restore modules to skip.",
        "keep_local_cpuser_values" => "A comma-separated list of cPanel user values to keep.",
        _ => "A key of the account module's schema.",
    }
}

/// The JSON Schema of one module key's value.
pub fn key_schema(key: &str, ty: &FieldType) -> Value {
    let mut schema = match ty.kind {
        _ if ty.is_flag() => json!({"type": "boolean", "default": false}),
        FieldKind::Char { max } | FieldKind::VarChar { max } => {
            json!({"type": "string", "maxLength": max})
        }
        FieldKind::Text => json!({"type": "string"}),
        FieldKind::Int | FieldKind::BigIntUnsigned => {
            let (min, max) = ty.int_range().unwrap_or((i64::MIN, i64::MAX));
            let mut s = json!({"type": "integer", "minimum": min, "maximum": max});
            if let Some(default) = ty.default {
                s["default"] = json!(default);
            }
            s
        }
    };
    schema["description"] = json!(describe(key));
    schema
}

fn account_properties(skip: &[&str]) -> Map<String, Value> {
    let catalog = ModuleCatalog::bundled();
    let module = catalog
        .get(names::ACCOUNT_ROOT)
        .expect("AccountRemoteRoot is bundled");
    module
        .schema
        .keys
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, key)| (k.clone(), key_schema(k, &key.ty)))
        .chain(gate_properties())
        .collect()
}

/// `waive` and `acknowledge`: manifest-only lists, never sent to WHM.
fn gate_properties() -> [(String, Value); 2] {
    [
        (
            "waive".to_owned(),
            gates::names_value(
                gates::CHECK_NAMES.iter().copied(),
                "Pre-flight checks to waive for this account, by name (see docs/checks.md).",
            ),
        ),
        (
            "acknowledge".to_owned(),
            gates::names_value(
                gates::risk_names(),
                "Risks of this account's options to acknowledge, by name (see docs/checks.md).",
            ),
        ),
    ]
}

/// Schema-only type for `[[sources.accounts]]`.
pub struct AccountSchema;

impl JsonSchema for AccountSchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Account".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut properties = account_properties(&[]);
        properties.insert(
            WAVE_KEY.to_owned(),
            json!({"type": "string", "minLength": 1, "description": describe(WAVE_KEY)}),
        );
        json_schema!({
            "description": "An account to move: `user`, optional `domain` and `localuser` (defaults to `user`), and any key of the AccountRemoteRoot / AccountRemoteUser schema.",
            "type": "object",
            "properties": properties,
            "required": ["user"],
            "additionalProperties": false
        })
    }
}

/// Schema-only type for `[defaults.accounts]`.
pub struct AccountDefaultsSchema;

impl JsonSchema for AccountDefaultsSchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AccountDefaults".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let properties = account_properties(&PER_ACCOUNT_KEYS);
        json_schema!({
            "description": "Account keys applied to every account that does not set them.",
            "type": "object",
            "properties": properties,
            "additionalProperties": false
        })
    }
}
