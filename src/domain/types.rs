//! Typed `data` of the transfer functions (REFERENCE §4.1–§4.18). Every field is
//! lenient about WHM's number/string/null habits; unknown fields are ignored.

use crate::domain::lenient;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `available_transfer_modules`: module name → type id (ids arrive as digit strings).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ModulesData {
    #[serde(default)]
    pub modules: BTreeMap<String, ModuleId>,
}

/// A module type id, sent as `"3000"` or `3000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct ModuleId(#[serde(deserialize_with = "lenient::uint")] pub u64);

/// `transfer_module_schema`: the column layout of one module's queue table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TransferModuleSchema {
    /// Column name → its SQL `def` string.
    #[serde(default)]
    pub keys: BTreeMap<String, KeyDef>,
    /// The primary-key column (one element).
    #[serde(default)]
    pub primary: Vec<String>,
    /// The columns that must be supplied when enqueuing.
    #[serde(default)]
    pub required: Vec<String>,
    /// The column naming a prerequisite item (`prerequisite_user`; `user` in old
    /// servers; absent for non-account modules and in the docs' example).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerequisite: Option<String>,
}

/// One column of a module schema.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyDef {
    /// The SQL type and default, e.g. `char(255) DEFAULT NULL`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub def: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SchemaData {
    pub schema: TransferModuleSchema,
}

/// The answer of both `create_remote_*_transfer_session` functions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedSession {
    /// The new session's id (opaque; its length varies by server version).
    #[serde(deserialize_with = "lenient::string")]
    pub transfer_session_id: String,
    /// The creation steps' log (may contain HTML such as `<strong>`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub create_rawout: String,
    /// The analysis log (root sessions).
    #[serde(default, deserialize_with = "lenient::string")]
    pub analyze_rawout: String,
    /// `metadata.output.warnings`, e.g. transport fallbacks.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// `remote_basic_credential_check`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct CredentialCheck {
    /// The captured progress text.
    #[serde(default, deserialize_with = "lenient::string")]
    pub output: String,
    /// The raw remote output.
    #[serde(default, deserialize_with = "lenient::string")]
    pub response: String,
    /// The escalation method used (not in the docs).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub escalation_method_used: Option<String>,
    /// `metadata.reason` (the remote layer's message, e.g. `Success`).
    #[serde(skip)]
    pub message: String,
}

/// `validate_system_user`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SystemUserCheck {
    /// The account already exists on this server.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub exists: bool,
    /// The name is reserved.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub reserved: bool,
    /// Acceptable for a transferred account (the looser rule).
    #[serde(default, deserialize_with = "lenient::flag")]
    pub valid_for_transfer: bool,
    /// Acceptable for a new account (the strict rule).
    #[serde(default, deserialize_with = "lenient::flag")]
    pub valid_for_new: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PidData {
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    pub pid: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StateData {
    pub state_name: crate::domain::SessionState,
}

/// One step of an account restore, from `restore_modules_summary`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RestoreModule {
    /// The restore module's name (the names the `disabled` enqueue key accepts).
    #[serde(deserialize_with = "lenient::string")]
    pub module: String,
    /// What it restores.
    #[serde(default)]
    pub summary: Vec<String>,
    /// Whether it runs under Restricted Restore.
    #[serde(default, deserialize_with = "lenient::flag")]
    pub restricted_available: bool,
    /// What Restricted Restore changes, when anything.
    #[serde(default)]
    pub restricted_summary: Vec<String>,
    /// Notes, when any.
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RestoreModulesData {
    #[serde(default)]
    pub modules: Vec<RestoreModule>,
}

/// `delete_account_archives`' script output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArchiveCleanup {
    /// The script's standard output lines.
    pub messages: Vec<String>,
    /// The script's standard error.
    pub warnings: Vec<String>,
}

/// `start_local_cpmove_restore` parameters (REFERENCE §4.18): restores a cpmove
/// archive (or an extracted directory) that lies on the destination. Booleans are
/// always sent (as `1`/`0`); `None` options are not sent, leaving the server's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalRestoreRequest {
    /// The archive file or extracted directory on the destination (required).
    pub cpmovepath: String,
    /// Restore under this user name instead of the archive's.
    pub username: Option<String>,
    /// Replace an existing account of the same name.
    pub overwrite: bool,
    /// Give the account a dedicated IP address.
    pub dedicated_ip: bool,
    /// Use Restricted Restore.
    pub restricted: bool,
    /// Which DNS A records to update: `all` (the server's default) or `basic`.
    pub update_a_records: Option<String>,
    /// Delete the archive after the restore.
    pub delete_archive: bool,
    /// Where the account's mail goes (`.local`, `.existing` or a linked node's alias).
    pub mail_location: Option<String>,
}

impl LocalRestoreRequest {
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        let bit = |b: bool| if b { "1" } else { "0" }.to_owned();
        let mut form = vec![("cpmovepath".to_owned(), self.cpmovepath.clone())];
        if let Some(u) = &self.username {
            form.push(("username".to_owned(), u.clone()));
        }
        form.push(("overwrite".to_owned(), bit(self.overwrite)));
        form.push(("dedicated_ip".to_owned(), bit(self.dedicated_ip)));
        form.push(("restricted".to_owned(), bit(self.restricted)));
        if let Some(u) = &self.update_a_records {
            form.push(("update_a_records".to_owned(), u.clone()));
        }
        form.push(("delete_archive".to_owned(), bit(self.delete_archive)));
        if let Some(m) = &self.mail_location {
            form.push(("mail_location".to_owned(), m.clone()));
        }
        form
    }
}

/// `start_local_cpmove_restore`'s answer.
#[derive(Debug, Deserialize)]
pub(crate) struct LocalRestoreData {
    #[serde(deserialize_with = "lenient::string")]
    pub transfer_session_id: String,
}

#[cfg(test)]
mod tests {
    use super::LocalRestoreRequest;

    #[test]
    fn local_restore_form_sends_flags_as_bits_and_skips_unset_options() {
        let req = LocalRestoreRequest {
            cpmovepath: "/home/cpmove-dave.tar.gz".into(),
            overwrite: true,
            ..LocalRestoreRequest::default()
        };
        let form = req.form();
        let keys: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cpmovepath",
                "overwrite",
                "dedicated_ip",
                "restricted",
                "delete_archive"
            ]
        );
        assert_eq!(form[1].1, "1");
        assert_eq!(form[2].1, "0");
        let full = LocalRestoreRequest {
            username: Some("dave2".into()),
            update_a_records: Some("basic".into()),
            mail_location: Some(".local".into()),
            ..req
        }
        .form();
        assert!(full.contains(&("username".to_owned(), "dave2".to_owned())));
        assert!(full.contains(&("update_a_records".to_owned(), "basic".to_owned())));
        assert!(full.contains(&("mail_location".to_owned(), ".local".to_owned())));
    }
}
