//! `start_local_cpmove_restore` (REFERENCE §4.18): restores a cpmove archive (or an
//! extracted directory) lying on the destination. It creates a session with the
//! initiator `start_local_cpmove_restore` (§5.1), enqueues one `AccountLocal` item and
//! starts the session, which is then monitored like any other.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::Rng;
use serde_json::json;

use super::create::new_session;
use super::enqueue::MAIL_LOCATIONS;
use super::envelope::{Reply, api_failure};
use super::local::valid_for_transfer;
use super::params::Params;
use crate::sim::modules;
use crate::sim::runner;
use crate::sim::session::{Item, ItemState, SessionKind, SessionOptions, SessionState};
use crate::sim::state::{Inner, Shared};
use crate::sim::stats::SimStats;
use crate::sim::world::LocalArchive;

const FUNCTION: &str = "start_local_cpmove_restore";
const MODULE: &str = "AccountLocal";

fn flag(p: &Params, name: &str) -> bool {
    p.get(name).is_some_and(|v| v.trim() == "1")
}

/// `start_local_cpmove_restore`.
pub fn start_local_cpmove_restore(shared: &Arc<Shared>, p: &Params, caller: &str) -> Reply {
    let started = {
        let mut inner = shared.lock();
        create_and_start(&mut inner, p, caller)
    };
    match started {
        Ok((id, pid)) => {
            runner::spawn(shared, &id, pid);
            shared.touch();
            Reply::ok(json!({ "transfer_session_id": id }))
        }
        Err(r) => r,
    }
}

/// A restore's arguments, checked: the archive and what it is restored as.
struct Restore {
    archive: LocalArchive,
    /// The user name it is restored under: `username`, else the archive's user.
    local: String,
    update_a_records: String,
    mail_location: Option<String>,
}

/// Checks the arguments, creates the session with its one item and marks it RUNNING.
/// Returns the session id and the master pid.
fn create_and_start(inner: &mut Inner, p: &Params, caller: &str) -> Result<(String, u32), Reply> {
    // Unconfirmed: restoring needs root; the wording follows enqueue's refusal.
    if caller != "root" {
        return Err(Reply::fail(format!(
            "The “{FUNCTION}” function can not be called as a non-root user."
        )));
    }
    let restore = checked(inner, p)?;
    let Some(def) = modules::get(MODULE) else {
        return Err(Reply::fail(format!(
            "The transfer session module “{MODULE}” does not exist."
        )));
    };
    let opts = SessionOptions {
        transfer_threads: 1,
        restore_threads: 1,
        unrestricted: !flag(p, "restricted"),
        copy_reseller_privs: false,
    };
    // The reference is silent on the host part of a local session's id: the
    // destination's own hostname is used (the "remote" host is this server).
    let host = inner.world.destination.hostname.clone();
    let id = new_session(inner, SessionKind::Local, &host, "", caller, opts);
    let pid = inner.rng.random_range(2000..60000);
    let counted = format!("{MODULE}/{}", restore.archive.user);
    let s = inner.sessions.get_mut(&id).expect("just created");
    s.push_item(restore.item(def.type_id, p));
    s.state = SessionState::Running;
    s.pid = Some(pid);
    runner::write_opening(s, pid, false);
    let per_session = inner.stats.enqueues.entry(id.clone()).or_default();
    SimStats::bump(per_session, &counted);
    Ok((id, pid))
}

/// The arguments in the order they are checked: the archive's path, `update_a_records`,
/// `mail_location`, that the archive exists, and the user name it is restored under.
fn checked(inner: &mut Inner, p: &Params) -> Result<Restore, Reply> {
    let path = p
        .required(&mut inner.rng, "cpmovepath", FUNCTION)?
        .to_owned();
    let update_a_records = p.non_empty("update_a_records").unwrap_or("all").to_owned();
    if !matches!(update_a_records.as_str(), "all" | "basic") {
        // Unconfirmed wording.
        let text = format!(
            "The “update_a_records” parameter must be “all” or “basic”, not “{update_a_records}”."
        );
        return Err(Reply::fail(api_failure(&mut inner.rng, &text)));
    }
    let mail_location = p.non_empty("mail_location").map(str::to_owned);
    if let Some(loc) = mail_location
        .as_deref()
        .filter(|l| !MAIL_LOCATIONS.contains(l))
    {
        let text = format!(
            "The mail location “{loc}” is not valid. Use “.local”, “.existing”, or a linked node’s alias."
        );
        return Err(Reply::fail(api_failure(&mut inner.rng, &text)));
    }
    let Some(archive) = inner.world.destination.archive(&path).cloned() else {
        // Unconfirmed: the wording of a restore whose archive path does not exist.
        return Err(Reply::fail(format!(
            "The system could not find a cpmove archive or directory at “{path}”."
        )));
    };
    let local = p
        .non_empty("username")
        .map_or_else(|| archive.user.clone(), str::to_owned);
    let reserved = inner.world.destination.reserved_usernames.contains(&local);
    if reserved || !valid_for_transfer(&local) {
        // Unconfirmed wording.
        let text = format!("“{local}” is not a valid username on this system.");
        return Err(Reply::fail(api_failure(&mut inner.rng, &text)));
    }
    Ok(Restore {
        archive,
        local,
        update_a_records,
        mail_location,
    })
}

impl Restore {
    /// The session's one `AccountLocal` item, with the flags `p` sets as bits.
    fn item(self, type_id: u32, p: &Params) -> Item {
        let bit = |b: bool| if b { "1" } else { "0" }.to_owned();
        let mut params: BTreeMap<String, String> = BTreeMap::from([
            ("user".into(), self.archive.user.clone()),
            ("localuser".into(), self.local.clone()),
            ("cpmovefile".into(), self.archive.path.clone()),
            ("force".into(), bit(flag(p, "overwrite"))),
            ("ip".into(), bit(flag(p, "dedicated_ip"))),
            // Not schema keys: kept for the restore step.
            ("delete_archive".into(), bit(flag(p, "delete_archive"))),
            ("update_a_records".into(), self.update_a_records),
        ]);
        if let Some(loc) = self.mail_location {
            params.insert("mail_location".into(), loc);
        }
        Item {
            module: MODULE.into(),
            type_id,
            key: self.archive.user,
            local: self.local,
            size: self.archive.bytesused.max(1),
            priority: 255,
            prerequisite: None,
            params,
            state: ItemState::TransferPending,
            failure: None,
            crashes: 0,
            transferred_at: None,
        }
    }
}
