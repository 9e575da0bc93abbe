//! Parameters of the calls that log in to a source (REFERENCE §4.3, §4.4, §4.7). They
//! carry passwords, so they are built into a form body only, never a URL, and their
//! `Debug` output shows no secret.

use secrecy::{ExposeSecret, SecretString};

/// The `create_remote_*` session options (REFERENCE §4.3). `None` leaves the server's
/// default in place: nothing is sent for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOptions {
    /// Transfer workers (the server caps it at 9).
    pub transfer_threads: Option<u32>,
    /// Restore workers (the server caps it at 9).
    pub restore_threads: Option<u32>,
    /// Skip Restricted Restore.
    pub unrestricted_restore: Option<bool>,
    /// Copy reseller privileges.
    pub copy_reseller_privs: Option<bool>,
    /// Compress data in transit.
    pub compressed: Option<bool>,
    /// Turn SSL off between the servers (also turns streaming off).
    pub unencrypted: Option<bool>,
    /// Reuse a source backup younger than 24 h.
    pub use_backups: Option<bool>,
    /// Run the source-side work at low priority.
    pub low_priority: Option<bool>,
    /// Use the source's custom packaging script.
    pub enable_custom_pkgacct: Option<bool>,
    /// Initial guess of the source's type (`cpanel`); detection overwrites it.
    pub remote_server_type: Option<String>,
    /// Session timeout in seconds (accepted by servers; not documented as public).
    pub session_timeout: Option<u64>,
}

impl SessionOptions {
    /// The form parameters of the options that are set (booleans as `1`/`0`).
    pub fn form(&self) -> Vec<(String, String)> {
        let mut form = Vec::new();
        self.push(&mut form);
        form
    }

    fn push(&self, form: &mut Vec<(String, String)>) {
        let mut num = |k: &str, v: Option<u64>| {
            if let Some(v) = v {
                form.push((k.to_owned(), v.to_string()));
            }
        };
        num("transfer_threads", self.transfer_threads.map(u64::from));
        num("restore_threads", self.restore_threads.map(u64::from));
        num("session_timeout", self.session_timeout);
        for (k, v) in [
            ("unrestricted_restore", self.unrestricted_restore),
            ("copy_reseller_privs", self.copy_reseller_privs),
            ("compressed", self.compressed),
            ("unencrypted", self.unencrypted),
            ("use_backups", self.use_backups),
            ("low_priority", self.low_priority),
            ("enable_custom_pkgacct", self.enable_custom_pkgacct),
        ] {
            if let Some(v) = v {
                form.push((k.to_owned(), if v { "1" } else { "0" }.to_owned()));
            }
        }
        if let Some(t) = &self.remote_server_type {
            form.push(("remote_server_type".to_owned(), t.clone()));
        }
    }
}

/// How to log in to a source: the fields shared by session creation and the
/// credential check.
#[derive(Debug, Clone, Default)]
pub struct SourceLogin {
    /// The source server (IP or host name).
    pub host: String,
    /// The login user, e.g. `root`.
    pub user: String,
    /// The login user's password.
    pub password: Option<SecretString>,
    /// The SSH port (server default 22).
    pub port: Option<u16>,
    /// `su`, `sudo` or `none`, for a non-root login user.
    pub root_escalation_method: Option<String>,
    /// Root's password, for `su`.
    pub root_password: Option<SecretString>,
    /// The name of a key in the destination root's SSH key store.
    pub sshkey_name: Option<String>,
    /// That key's passphrase.
    pub sshkey_passphrase: Option<SecretString>,
}

impl SourceLogin {
    fn push(&self, form: &mut Vec<(String, String)>) {
        form.push(("host".to_owned(), self.host.clone()));
        form.push(("user".to_owned(), self.user.clone()));
        if let Some(p) = self.port {
            form.push(("port".to_owned(), p.to_string()));
        }
        let plain = [
            ("root_escalation_method", &self.root_escalation_method),
            ("sshkey_name", &self.sshkey_name),
        ];
        for (k, v) in plain {
            if let Some(v) = v {
                form.push((k.to_owned(), v.clone()));
            }
        }
        let secret = [
            ("password", &self.password),
            ("root_password", &self.root_password),
            ("sshkey_passphrase", &self.sshkey_passphrase),
        ];
        for (k, v) in secret {
            if let Some(v) = v {
                form.push((k.to_owned(), v.expose_secret().to_owned()));
            }
        }
    }
}

/// `create_remote_root_transfer_session` parameters.
#[derive(Debug, Clone, Default)]
pub struct RootSessionRequest {
    /// How to log in to the source.
    pub login: SourceLogin,
    /// `ssh`, `whostmgr` or `whostmgr_insecure` (server default `ssh`).
    pub comm_transport: Option<String>,
    /// Session options.
    pub options: SessionOptions,
}

impl RootSessionRequest {
    /// The form body. Holds secrets: send it, never log it.
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        let mut form = Vec::new();
        self.login.push(&mut form);
        if let Some(t) = &self.comm_transport {
            form.push(("comm_transport".to_owned(), t.clone()));
        }
        self.options.push(&mut form);
        form
    }
}

/// `create_remote_user_transfer_session` parameters.
#[derive(Debug, Clone)]
pub struct UserSessionRequest {
    /// The source server.
    pub host: String,
    /// The cPanel account's password (the account is named at enqueue time).
    pub password: SecretString,
    /// Skip Restricted Restore (the docs allow only 1; servers accept 0).
    pub unrestricted_restore: bool,
}

impl UserSessionRequest {
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        vec![
            ("host".to_owned(), self.host.clone()),
            (
                "password".to_owned(),
                self.password.expose_secret().to_owned(),
            ),
            (
                "unrestricted_restore".to_owned(),
                if self.unrestricted_restore { "1" } else { "0" }.to_owned(),
            ),
        ]
    }
}

/// `remote_basic_credential_check` parameters.
#[derive(Debug, Clone, Default)]
pub struct CredentialCheckRequest {
    /// How to log in to the source.
    pub login: SourceLogin,
    /// Seconds to wait for the source.
    pub timeout: Option<u64>,
}

impl CredentialCheckRequest {
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        let mut form = Vec::new();
        self.login.push(&mut form);
        if let Some(t) = self.timeout {
            form.push(("timeout".to_owned(), t.to_string()));
        }
        form
    }
}

#[cfg(test)]
mod tests {
    use super::{RootSessionRequest, SessionOptions, SourceLogin};
    use secrecy::SecretString;

    #[test]
    fn unset_options_are_not_sent_and_debug_hides_secrets() {
        let req = RootSessionRequest {
            login: SourceLogin {
                host: "old1".into(),
                user: "root".into(),
                password: Some(SecretString::from("s3cr3t-sentinel")),
                ..SourceLogin::default()
            },
            comm_transport: None,
            options: SessionOptions {
                transfer_threads: Some(2),
                unrestricted_restore: Some(false),
                ..SessionOptions::default()
            },
        };
        let form = req.form();
        let keys: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "host",
                "user",
                "password",
                "transfer_threads",
                "unrestricted_restore"
            ]
        );
        assert!(form.contains(&("unrestricted_restore".into(), "0".into())));
        assert!(!format!("{req:?}").contains("s3cr3t-sentinel"));
    }
}
