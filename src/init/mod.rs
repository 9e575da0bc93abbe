//! `init`: a manifest written from the servers instead of by hand.
//!
//! The source's analysis (one root session, opened and discarded by the migration
//! layer) lists its accounts, packages and the feature lists those packages use; the
//! plan's own diff says which of them the destination already has. This module is the
//! pure part: the request ([`InitRequest`]), the items found ([`Entry`]), the waves
//! balanced by bytes ([`waves`]), the TOML text ([`text`]) and the splice of a new
//! source into an existing manifest ([`into`]). It never touches the network or the
//! terminal.

pub mod entries;
pub mod into;
pub mod report;
pub mod text;
pub mod waves;

pub use entries::{Entry, EntryKind, candidates};
pub use waves::{Wave, WaveSummary, balance};

use crate::plan::SessionKind;
use std::path::PathBuf;

/// How the destination's certificate is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The operating system's roots.
    System,
    /// `pin_sha256`: exactly the certificate with this SHA-256 fingerprint.
    Pin(String),
    /// `ca_file`: a PEM file, as the manifest writes it (relative to its folder, or
    /// absolute).
    CaFile(PathBuf),
}

/// The destination of a new manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationSpec {
    /// The WHM URL.
    pub url: String,
    /// The environment variable holding the API token (its value is never written).
    pub token_env: String,
    /// Certificate trust.
    pub trust: Trust,
}

/// The source to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// The manifest's name for it.
    pub name: String,
    /// Its host.
    pub host: String,
    /// Root (an analysis lists everything) or user (one account's own password).
    pub kind: SessionKind,
    /// The login user (root sources) or the cPanel account (user sources).
    pub user: Option<String>,
    /// The environment variable holding the password (its value is never written).
    pub password_env: String,
}

/// What `init` is asked to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitRequest {
    /// The migration's name (`name = …`); ignored with `--into`, whose file names it.
    pub name: String,
    /// The destination; `None` with `--into` (the file has it).
    pub destination: Option<DestinationSpec>,
    /// The source.
    pub source: SourceSpec,
    /// Spread the accounts over this many waves.
    pub waves: Option<u32>,
}

/// The name a source gets when none is given: its host's first label, or an IP
/// address whole (its first label, `10` of `10.0.0.5`, would name every server of a
/// network alike), cleaned to the characters a name allows.
pub fn default_source_name(host: &str) -> String {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let label = if host.parse::<std::net::IpAddr>().is_ok() {
        host
    } else {
        host.split('.').next().unwrap_or(host)
    };
    let cleaned: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "source".to_owned()
    } else {
        cleaned
    }
}

/// The migration name when none is given: `SOURCE-to-DEST`, DEST named from the
/// destination URL's host as a source is.
pub fn default_name(source_name: &str, url: &str) -> String {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| {
            url.split_once("://")
                .map_or(url, |(_, rest)| rest)
                .split(['/', ':'])
                .next()
                .unwrap_or("")
                .to_owned()
        });
    format!("{source_name}-to-{}", default_source_name(&host))
}

/// Errors of `init` itself (the servers' and the manifest's have their own types).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InitError {
    /// `--out` names a file that exists.
    #[error("{} exists; init does not overwrite a manifest", path.display())]
    #[diagnostic(
        code(init::exists),
        help(
            "choose another --out, remove the file first, or add this source to it with `--into {}`",
            path.display()
        )
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// `--into` a manifest that already has a source of that name or host.
    #[error("{} already has a source {what}", path.display())]
    #[diagnostic(
        code(init::source_taken),
        help(
            "each source is one transfer session: give the new one another --source-name, or edit the existing [[sources]] table"
        )
    )]
    SourceTaken {
        /// The manifest.
        path: PathBuf,
        /// `named “old1”` or `for host old1.example.com (“old1”)`.
        what: String,
    },
    /// `--into` a file that is not TOML toml_edit can keep byte for byte.
    #[error("cannot read {} as TOML: {detail}", path.display())]
    #[diagnostic(
        code(init::into_unreadable),
        help("`whm-migrate validate {}` shows what is wrong with it", path.display())
    )]
    IntoUnreadable {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// `--kind user` without the cPanel account's name.
    #[error("a user source needs the cPanel account's name: --user ACCOUNT")]
    #[diagnostic(
        code(init::user_account),
        help(
            "a user session logs in with one account's own password; name that account with --user"
        )
    )]
    UserAccountMissing,
    /// Neither `--url` nor `--into`.
    #[error("init needs the destination")]
    #[diagnostic(
        code(init::destination),
        help("give --url and --token-env, or add the source to an existing manifest with --into")
    )]
    NoDestination,
    /// `--waves 0`.
    #[error("--waves must be at least 1")]
    #[diagnostic(code(init::waves))]
    NoWaves,
}

#[cfg(test)]
mod name_tests {
    use super::{default_name, default_source_name};

    #[test]
    fn a_host_is_named_by_its_first_label_and_an_address_whole() {
        assert_eq!(default_source_name("old1.example.com"), "old1");
        assert_eq!(default_source_name("10.0.0.5"), "10.0.0.5");
        assert_eq!(default_source_name("2001:db8::5"), "2001-db8--5");
        assert_eq!(default_source_name("[2001:db8::5]"), "2001-db8--5");
        assert_eq!(default_source_name("caf\u{e9}.example"), "caf-");
        assert_eq!(default_source_name(""), "source");
    }

    #[test]
    fn a_migration_is_named_after_both_servers_whatever_the_url_holds() {
        assert_eq!(
            default_name("old1", "https://new1.example.com:2087"),
            "old1-to-new1"
        );
        assert_eq!(
            default_name("10.0.0.5", "https://10.0.0.9:2087/"),
            "10.0.0.5-to-10.0.0.9"
        );
        assert_eq!(
            default_name("old1", "https://[2001:db8::9]:2087"),
            "old1-to-2001-db8--9"
        );
        assert_eq!(default_name("old1", "new1.example.com"), "old1-to-new1");
    }
}
