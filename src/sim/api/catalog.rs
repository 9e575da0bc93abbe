//! Fixed catalogues: `available_transfer_modules`, `transfer_module_schema`
//! (REFERENCE §4.1–4.2) and `restore_modules_summary` (§4.16, served from the documented
//! fixture).

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use super::envelope::Reply;
use super::params::Params;
use crate::sim::modules;
use crate::sim::state::Inner;

/// `available_transfer_modules`: every module → its type id as a digit string.
pub fn available_transfer_modules() -> Reply {
    let map: Map<String, Value> = modules::all()
        .iter()
        .map(|m| (m.name.clone(), json!(m.type_id.to_string())))
        .collect();
    Reply::ok(json!({ "modules": map }))
}

/// `transfer_module_schema`, without the keys the simulator plays an older server
/// without.
pub fn transfer_module_schema(inner: &mut Inner, p: &Params) -> Reply {
    let name = match p.required(&mut inner.rng, "module", "transfer_module_schema") {
        Ok(n) => n,
        Err(r) => return r,
    };
    match modules::get(name) {
        Some(m) => {
            let mut schema = m.schema_json();
            if let Some(keys) = schema.get_mut("keys").and_then(Value::as_object_mut) {
                keys.retain(|k, _| !inner.schema_lacks.contains(k));
            }
            if schema
                .get("prerequisite")
                .and_then(Value::as_str)
                .is_some_and(|p| inner.schema_lacks.iter().any(|k| k == p))
                && let Some(obj) = schema.as_object_mut()
            {
                obj.remove("prerequisite");
            }
            Reply::ok(json!({ "schema": schema }))
        }
        None => Reply::fail(format!(
            "The transfer session module “{name}” does not exist."
        )),
    }
}

static RESTORE_MODULES: LazyLock<Value> = LazyLock::new(|| {
    let doc: Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/whm-api/restore_modules_summary--1.json"
    ))
    .expect("embedded restore_modules_summary fixture");
    doc["data"].clone()
});

/// `restore_modules_summary`: the documented list of restore modules.
pub fn restore_modules_summary() -> Reply {
    Reply::ok(RESTORE_MODULES.clone())
}
