//! `enqueue_transfer_item` with its checks in the order of REFERENCE §4.9.

use std::collections::BTreeMap;

use super::envelope::{Reply, api_failure, xid};
use super::params::{Params, session_lookup};
use crate::sim::modules::{self, Allowed, ModuleDef};
use crate::sim::session::{Item, ItemState, SessionKind};
use crate::sim::state::Inner;
use crate::sim::stats::SimStats;

const FUNCTION: &str = "enqueue_transfer_item";

/// Mail locations accepted besides a linked node's alias (none are simulated).
pub(crate) const MAIL_LOCATIONS: [&str; 2] = [".local", ".existing"];

/// `enqueue_transfer_item`.
pub fn enqueue(inner: &mut Inner, p: &Params, caller: &str) -> Reply {
    match check_and_add(inner, p, caller) {
        Ok(()) => Reply::ok_empty(),
        Err(r) => r,
    }
}

fn check_and_add(inner: &mut Inner, p: &Params, caller: &str) -> Result<(), Reply> {
    // 1. The two common arguments.
    let id = p
        .required(&mut inner.rng, "transfer_session_id", FUNCTION)?
        .to_owned();
    let module_name = p.required(&mut inner.rng, "module", FUNCTION)?.to_owned();
    // 2. Known module; 3. root privileges.
    let def = module_for(&module_name, caller)?;
    // 4. Session id.
    let id = session_lookup(inner, &id, caller)?;
    // 5. Session kind against module kind; 6. live transfer and mail location.
    session_takes(inner, &id, def, p)?;
    // 7. Schema: required keys (empty strings count as present), unknown keys, integers,
    //    then the duplicate primary key.
    let keys: Vec<String> = p
        .keys()
        .into_iter()
        .filter(|k| *k != "transfer_session_id" && *k != "module")
        .map(str::to_owned)
        .collect();
    if let Some(text) = schema_problem(def, p, &keys, &inner.schema_lacks) {
        return Err(schema_failure(inner, &text));
    }
    let key = p.get(&def.primary).unwrap_or_default().to_owned();
    if inner.sessions[&id].item(&def.name, &key).is_some() {
        let text = inner.faults.duplicate_wording.clone().unwrap_or_else(|| {
            format!(
                "An item with a “{}” key value of “{key}” and a type of “{}” already exists in the queue.",
                def.primary, def.name
            )
        });
        return Err(schema_failure(inner, &text));
    }
    let item = new_item(def, key, p, &keys);
    let counted = format!("{}/{}", item.module, item.key);
    if let Some(s) = inner.sessions.get_mut(&id) {
        s.push_item(item);
    }
    let per_session = inner.stats.enqueues.entry(id).or_default();
    SimStats::bump(per_session, &counted);
    Ok(())
}

/// The module named, if it exists and the caller may enqueue it (only root may, but for
/// `RearrangeAccount`).
fn module_for(module_name: &str, caller: &str) -> Result<&'static ModuleDef, Reply> {
    let Some(def) = modules::get(module_name) else {
        return Err(Reply::fail(format!(
            "The transfer session module “{module_name}” does not exist."
        )));
    };
    if caller != "root" && def.name != "RearrangeAccount" {
        return Err(Reply::fail(format!(
            "The transfer session module “{module_name}” can not be enqueued as a non-root user."
        )));
    }
    Ok(def)
}

/// Whether the session can take an item of `def`: its kind (root or user) allows the
/// module, its source supports a live transfer asked for, and the mail location is known.
fn session_takes(inner: &mut Inner, id: &str, def: &ModuleDef, p: &Params) -> Result<(), Reply> {
    let session = &inner.sessions[id];
    let kind_error = match (session.kind, def.allowed()) {
        (SessionKind::RemoteRoot, Allowed::User) => Some(
            "Root-authenticated transfer sessions cannot enqueue items of this type. Try again from a user-authenticated transfer session.",
        ),
        (SessionKind::RemoteUser, Allowed::Root) => Some(
            "User-authenticated transfer sessions cannot enqueue items of this type. Try again from a root-authenticated transfer session.",
        ),
        _ => None,
    };
    if let Some(text) = kind_error {
        return Err(Reply::fail(format!("API failure: {text}\n")));
    }
    if p.get("live_transfer").is_some_and(|v| v.trim() == "1") {
        let supported = inner
            .world
            .sources
            .get(&session.source_key)
            .is_some_and(|s| s.supports_live_transfers);
        if !supported {
            let text = format!(
                "The remote server “{}” does not support Live Transfers.",
                session.host
            );
            return Err(Reply::fail(api_failure(&mut inner.rng, &text)));
        }
    }
    if let Some(loc) = p
        .non_empty("mail_location")
        .filter(|l| !MAIL_LOCATIONS.contains(l))
    {
        let text = format!(
            "The mail location “{loc}” is not valid. Use “.local”, “.existing”, or a linked node’s alias."
        );
        return Err(Reply::fail(api_failure(&mut inner.rng, &text)));
    }
    Ok(())
}

/// The first way the item's `keys` break the module's schema, in WHM's order: a
/// required key missing, an unknown key (one of `lacks` too: an older server's schema),
/// a non-integer where an integer belongs.
fn schema_problem(
    def: &ModuleDef,
    p: &Params,
    keys: &[String],
    lacks: &[String],
) -> Option<String> {
    let module_name = &def.name;
    if let Some(req) = def.required.iter().find(|req| p.get(req).is_none()) {
        return Some(format!(
            "The “{req}” parameter is required for the “{module_name}” module."
        ));
    }
    if let Some(k) = keys
        .iter()
        .find(|k| !def.keys.contains_key(*k) || lacks.contains(k))
    {
        return Some(format!(
            "The “{k}” parameter is not valid for the “{module_name}” module."
        ));
    }
    keys.iter().find_map(|k| {
        let v = p.get(k).unwrap_or_default();
        (def.is_integer_key(k) && !v.is_empty() && !v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| {
                format!(
                    "The “{k}” parameter for the “{module_name}” module must be a nonnegative integer, not “{v}”."
                )
            })
    })
}

/// A schema failure: the text after a transaction id, as WHM writes it.
fn schema_failure(inner: &mut Inner, text: &str) -> Reply {
    Reply::fail(format!("{}{text}", xid(&mut inner.rng)))
}

/// The queued item: the parameters given, the size and priority they set (1 byte and
/// 255 when absent), restored as `localuser` when given, else under its key.
fn new_item(def: &ModuleDef, key: String, p: &Params, keys: &[String]) -> Item {
    let params: BTreeMap<String, String> = keys
        .iter()
        .map(|k| (k.clone(), p.get(k).unwrap_or_default().to_owned()))
        .collect();
    let number = |name: &str, default: u64| {
        params
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let local = params
        .get("localuser")
        .filter(|l| !l.is_empty())
        .cloned()
        .unwrap_or_else(|| key.clone());
    Item {
        module: def.name.clone(),
        type_id: def.type_id,
        key,
        local,
        size: number("size", 1).max(1),
        priority: number("priority", 255),
        prerequisite: def
            .prerequisite
            .as_ref()
            .and_then(|c| params.get(c))
            .filter(|v| !v.is_empty())
            .cloned(),
        params,
        state: ItemState::TransferPending,
        failure: None,
        crashes: 0,
        transferred_at: None,
    }
}
