//! Every answer the client decodes, from the bytes of a body: the typed `data` of each
//! function of REFERENCE §4 the client calls, decoded into the same types and through
//! the same envelope as [`WhmClient`](super::WhmClient) does. One entry point without a
//! server, so that any body, however hostile, can be tried against all of them (the
//! proptests and the `typed_answers` fuzz target do).

use crate::domain::wire::{
    AcctData, FeatureListsData, LocalRestoreData, ModulesData, PidData, PkgData,
    RestoreModulesData, SchemaData, StateData,
};
use crate::domain::{CreatedSession, CredentialCheck, RemoteAnalysis, SystemUserCheck};
use crate::whm::envelope::{CallSite, Envelope, decode, decode_any};
use crate::whm::error::WhmError;

/// The functions whose answers the client decodes.
pub const FUNCTIONS: &[&str] = &[
    "available_transfer_modules",
    "transfer_module_schema",
    "create_remote_root_transfer_session",
    "create_remote_user_transfer_session",
    "start_local_cpmove_restore",
    "analyze_transfer_session_remote",
    "retrieve_transfer_session_remote_analysis",
    "remote_basic_credential_check",
    "validate_system_user",
    "enqueue_transfer_item",
    "start_transfer_session",
    "get_transfer_session_state",
    "pause_transfer_session",
    "abort_transfer_session",
    "restore_modules_summary",
    "delete_account_archives",
    "listaccts",
    "accountsummary",
    "listpkgs",
    "get_featurelists",
];

/// Decodes `body` as the answer of `function` (one of [`FUNCTIONS`]; any other name is
/// decoded as an envelope only) and describes what the client takes from it, or the
/// error the client reports.
pub fn decode_answer(function: &str, body: &[u8]) -> Result<String, WhmError> {
    let site = CallSite {
        server: "answer",
        function,
        session_id: None,
    };
    if function == "accountsummary" {
        return account_summary(body, site);
    }
    let env = decode(body, site)?;
    Ok(match function {
        "available_transfer_modules" => format!("{:?}", env.data::<ModulesData>(site)?),
        "transfer_module_schema" => format!("{:?}", env.data::<SchemaData>(site)?),
        "create_remote_root_transfer_session" | "create_remote_user_transfer_session" => {
            format!("{:?}", env.data::<CreatedSession>(site)?)
        }
        "start_local_cpmove_restore" => format!("{:?}", env.data::<LocalRestoreData>(site)?),
        "retrieve_transfer_session_remote_analysis" => {
            format!("{:?}", env.data::<RemoteAnalysis>(site)?)
        }
        "remote_basic_credential_check" => format!("{:?}", env.data::<CredentialCheck>(site)?),
        "validate_system_user" => format!("{:?}", env.data::<SystemUserCheck>(site)?),
        "start_transfer_session" => format!("{:?}", env.data::<PidData>(site)?),
        "get_transfer_session_state" => format!("{:?}", env.data::<StateData>(site)?),
        "restore_modules_summary" => format!("{:?}", env.data::<RestoreModulesData>(site)?),
        "listaccts" => format!("{:?}", env.data::<AcctData>(site)?),
        "listpkgs" => format!("{:?}", env.data::<PkgData>(site)?),
        "get_featurelists" => format!("{:?}", env.data::<FeatureListsData>(site)?),
        // Writes whose answer is the envelope alone (its messages and warnings).
        _ => format!("{:?}", env.metadata),
    })
}

/// `accountsummary` answers a missing account with a failure carrying an empty
/// `data.acct` (REFERENCE §4.22); the client takes that for "no such account".
fn account_summary(body: &[u8], site: CallSite<'_>) -> Result<String, WhmError> {
    let env: Envelope = decode_any(body, site)?;
    if !env.metadata.success {
        let empty = env
            .data
            .as_ref()
            .and_then(|_| env.data::<AcctData>(site).ok())
            .and_then(|d| d.acct)
            .is_some_and(|a| a.is_empty());
        if empty {
            return Ok("no such account".to_owned());
        }
        return env.success(site).map(|_| String::new());
    }
    Ok(format!("{:?}", env.data::<AcctData>(site)?))
}
