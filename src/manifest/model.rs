//! The manifest model (DESIGN.md §3): what a TOML manifest deserializes into. The JSON
//! Schema of `schemas/manifest.schema.json` is generated from these types.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::account_schema::{AccountDefaultsSchema, AccountSchema};
use super::origin::Origin;
use super::secret::Secret;
use crate::modules::{ItemValue, SessionKind};

/// A migration: one destination WHM server and the sources to move from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "whm-migrate manifest")]
pub struct Manifest {
    /// The manifest format version. Only 1 exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The migration id; it keys the journal and the lock. Letters, digits, `.`, `_`, `-`.
    #[schemars(pattern(r"^[A-Za-z0-9._-]+$"))]
    pub name: String,
    /// The WHM server whose API runs the transfers.
    pub destination: Destination,
    /// Values applied to every item unless the item sets them.
    #[serde(default, skip_serializing_if = "Defaults::is_empty")]
    pub defaults: Defaults,
    /// The servers to move from; one transfer session each.
    #[serde(default)]
    pub sources: Vec<Source>,
    /// Where the journal and the lock live: the local state directory (the default) or
    /// a shared S3-compatible bucket, for runs on several machines (CI).
    #[serde(default, skip_serializing_if = "StateBackend::is_local_default")]
    pub state: StateBackend,
    /// How `verify` judges a restored account (docs/verify.md).
    #[serde(default, skip_serializing_if = "VerifySettings::is_default")]
    pub verify: VerifySettings,
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) origin: Origin,
}

/// `[verify]`: the tolerances `verify` allows between the source's analysis and the
/// destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySettings {
    /// How far (in percent) the destination's disk use may fall below the source's
    /// before the account fails (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub disk_tolerance_percent: Option<u32>,
    /// How far (in percent) the destination's file count may fall below the source's
    /// before the account fails (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub files_tolerance_percent: Option<u32>,
    /// The port `verify --http` fetches plain HTTP from (default 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub http_port: Option<u16>,
    /// The port `verify --http` fetches HTTPS from (default 443).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub https_port: Option<u16>,
    /// The limit on each `verify --http` request, in seconds (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 300))]
    pub http_timeout_seconds: Option<u64>,
    /// How many domains `verify --http` fetches at once (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 64))]
    pub http_concurrency: Option<u32>,
}

impl VerifySettings {
    /// Whether nothing is set.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The destination WHM server: a URL, or the embedded simulator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["url"]}, {"required": ["simulator"]}]))]
pub struct Destination {
    /// The WHM URL, for example `https://new1.example.com:2087`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Run against the embedded WHM simulator instead of a server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulator: Option<SimulatorRef>,
    /// The WHM user the API token belongs to.
    #[serde(default = "default_root")]
    pub user: String,
    /// The WHM API token: `{ env = "VAR" }` or `{ file = "PATH" }`. Needed with `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// A PEM file of the CA (or the self-signed certificate) to trust, relative to the
    /// manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Trust exactly the server certificate with this SHA-256 fingerprint: 64 hex digits,
    /// colons allowed (`openssl x509 -noout -fingerprint -sha256` prints this form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$"))]
    pub pin_sha256: Option<String>,
    /// Do not verify the server's certificate at all. Dangerous; prefer `pin_sha256`.
    #[serde(default)]
    pub insecure: bool,
    /// Request timeouts, in seconds.
    #[serde(default, skip_serializing_if = "Timeouts::is_empty")]
    pub timeouts: Timeouts,
    /// How many `enqueue_transfer_item` calls apply keeps in flight per session.
    /// Default 1: nothing documents that WHM takes concurrent enqueues into one session,
    /// and the sessions of several sources still enqueue in parallel (at most 64 calls
    /// in flight over all of them). More only saves time at a long round trip; see
    /// docs/manifest.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 64))]
    pub enqueues_per_session: Option<u32>,
}

fn default_root() -> String {
    "root".to_owned()
}

/// The embedded simulator's world.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatorRef {
    /// The simulator's world file, relative to the manifest's folder.
    pub world: PathBuf,
    /// How fast one transfer worker moves data, in MB/s (restores run twice as fast).
    /// Default: 1,000,000 MB/s, so a run is instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1_000_000_000))]
    pub transfer_mb_s: Option<u64>,
}

/// Which store keeps the state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The local state directory (`--state-dir`, default `.whm-migrate` beside the
    /// manifest), with an OS lock.
    #[default]
    Local,
    /// An S3-compatible bucket, with compare-and-swap writes and a leased lock.
    S3,
}

/// `[state]`: where the journal and the lock live. Credentials for the bucket come from
/// the AWS environment and profile (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AWS_PROFILE`, web identity), never from the manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateBackend {
    /// `local` (default) or `s3`.
    #[serde(default)]
    pub backend: BackendKind,
    /// The bucket (with `backend = "s3"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Prepended to the object names: `<prefix><name>.json` and `<prefix><name>.lock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The bucket's region, when the environment does not set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The store's URL, for S3-compatible stores; `http://` only for loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The lock's lease in seconds (default 60): a run that dies holding the lock frees
    /// it after this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 3600))]
    pub lease_seconds: Option<u64>,
}

impl StateBackend {
    /// The lease when the manifest does not set one.
    pub const DEFAULT_LEASE_SECONDS: u64 = 60;

    fn is_local_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Request timeouts in seconds; unset values use the client's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Connecting to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub connect_secs: Option<u64>,
    /// An ordinary API call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub request_secs: Option<u64>,
    /// Slow calls: session creation (SSH login and analysis) and log fetches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub long_request_secs: Option<u64>,
}

impl Timeouts {
    /// Whether none is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Values applied to items that do not set them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Account keys (any key of the account module except `user`, `localuser`, `domain`).
    #[serde(default)]
    #[schemars(with = "AccountDefaultsSchema")]
    pub accounts: AccountDefaults,
}

impl Defaults {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

/// `[defaults.accounts]`: module keys for every account, plus check names to waive and
/// risk names to acknowledge for every account (added to each account's own lists).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDefaults {
    /// Pre-flight checks waived for every account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waive: Vec<String>,
    /// Risks acknowledged for every account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledge: Vec<String>,
    /// Module keys, for example `skiphomedir = true`.
    #[serde(flatten)]
    pub keys: BTreeMap<String, ItemValue>,
}

impl AccountDefaults {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.waive.is_empty() && self.acknowledge.is_empty() && self.keys.is_empty()
    }
}

/// How a non-root login becomes root on the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EscalationMethod {
    /// `su`, with `root_password` (or `password`).
    Su,
    /// `sudo` (the server's default when `user` is not root).
    Sudo,
    /// No escalation.
    None,
}

/// How the destination talks to the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommTransport {
    /// SSH (the default).
    Ssh,
    /// The source's WHM port, TLS verified.
    Whostmgr,
    /// The source's WHM port, TLS not verified.
    WhostmgrInsecure,
}

impl EscalationMethod {
    /// The form value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Su => "su",
            Self::Sudo => "sudo",
            Self::None => "none",
        }
    }
}

impl CommTransport {
    /// The form value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ssh => "ssh",
            Self::Whostmgr => "whostmgr",
            Self::WhostmgrInsecure => "whostmgr_insecure",
        }
    }
}

/// A source server: one transfer session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// A short name, unique in the manifest (used by `--source` and in the journal).
    #[schemars(pattern(r"^[A-Za-z0-9._-]+$"))]
    pub name: String,
    /// The source server's host name or IP address.
    #[schemars(length(min = 1))]
    pub host: String,
    /// `root`: create_remote_root_transfer_session; `user`: create_remote_user_transfer_session
    /// (one cPanel account's own password).
    pub kind: SessionKind,
    /// The source's SSH port (root sources; default 22).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// The login user on the source (root sources; default `root`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The login user's password (root sources) or the cPanel account's password (user
    /// sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Root's password, for `root_escalation_method = "su"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_password: Option<Secret>,
    /// The name of a key in root's SSH key store on the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sshkey_name: Option<String>,
    /// The passphrase of `sshkey_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sshkey_passphrase: Option<Secret>,
    /// How a non-root `user` becomes root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_escalation_method: Option<EscalationMethod>,
    /// How the destination reaches the source (default `ssh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm_transport: Option<CommTransport>,
    /// Options of the session's create call.
    #[serde(default, skip_serializing_if = "SessionOptions::is_empty")]
    pub session: SessionOptions,
    /// Pre-flight checks waived for this whole source: its source-level checks
    /// (`older-destination`…) and every item's (see docs/checks.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::gates::waive_schema")]
    pub waive: Vec<String>,
    /// Risks of this source's settings, acknowledged (`plain-text-transport`,
    /// `unencrypted-transfer`; see docs/checks.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::gates::source_acknowledge_schema")]
    pub acknowledge: Vec<String>,
    /// Feature lists to move (FeatureListRemoteRoot; root sources).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_lists: Vec<FeatureList>,
    /// Packages to move (PackageRemoteRoot; root sources).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    /// Accounts to move (AccountRemoteRoot for root sources, AccountRemoteUser for user
    /// sources).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<Account>,
}

impl Source {
    /// The login user: `user`, or `root`.
    pub fn login_user(&self) -> &str {
        self.user.as_deref().unwrap_or("root")
    }

    /// The SSH port: `port`, or 22.
    pub fn ssh_port(&self) -> u16 {
        self.port.unwrap_or(22)
    }
}

/// Options of `create_remote_root_transfer_session` / `create_remote_user_transfer_session`.
/// Unset options are not sent, so the server's defaults apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionOptions {
    /// Transfer workers (the server caps it at 9). Root sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub transfer_threads: Option<u32>,
    /// Restore workers (the server caps it at 9). Root sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub restore_threads: Option<u32>,
    /// Skip Restricted Restore. Items cannot use `force` in such a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unrestricted_restore: Option<bool>,
    /// Copy reseller privileges. Root sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_reseller_privs: Option<bool>,
    /// Compress data in transit. Root sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed: Option<bool>,
    /// Turn SSL off (also turns streaming off). Root sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unencrypted: Option<bool>,
    /// Reuse a source backup less than 24 h old. Root sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_backups: Option<bool>,
    /// Run the source-side work at low priority. Root sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_priority: Option<bool>,
    /// Use a custom packaging script on the source. Root sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_custom_pkgacct: Option<bool>,
    /// The session timeout in seconds (accepted by the server; not documented). Root sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub session_timeout: Option<u64>,
}

impl SessionOptions {
    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The names of the options that are set.
    pub fn set_keys(&self) -> Vec<String> {
        self.to_request()
            .form()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// The options as the client sends them to `create_remote_root_transfer_session`.
    pub fn to_request(&self) -> crate::domain::SessionOptions {
        crate::domain::SessionOptions {
            transfer_threads: self.transfer_threads,
            restore_threads: self.restore_threads,
            unrestricted_restore: self.unrestricted_restore,
            copy_reseller_privs: self.copy_reseller_privs,
            compressed: self.compressed,
            unencrypted: self.unencrypted,
            use_backups: self.use_backups,
            low_priority: self.low_priority,
            enable_custom_pkgacct: self.enable_custom_pkgacct,
            remote_server_type: None,
            session_timeout: self.session_timeout,
        }
    }
}

/// A feature list to move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureList {
    /// The feature list's name on the source.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// Move it only with this wave (`plan`/`apply --wave NAME`). Without one it rides
    /// with every wave, since accounts may need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub wave: Option<String>,
    /// Pre-flight checks waived for this feature list (see docs/checks.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::gates::waive_schema")]
    pub waive: Vec<String>,
}

/// A package to move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// The package's name on the source (trailing spaces are kept).
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// Move it only with this wave (`plan`/`apply --wave NAME`). Without one it rides
    /// with every wave, since accounts may need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub wave: Option<String>,
    /// Pre-flight checks waived for this package (see docs/checks.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::gates::waive_schema")]
    pub waive: Vec<String>,
}

/// An account to move. Besides `user`, `domain` and `localuser`, any key of the account
/// module's schema may be set (type-checked against it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account's name on the source (the queue's primary key).
    pub user: String,
    /// The account's main domain (informational; sent when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The name to create on the destination; defaults to `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localuser: Option<String>,
    /// The wave the account moves in (`plan`/`apply --wave NAME`). Without one it moves
    /// only in a run without `--wave`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    /// Pre-flight checks waived for this account (see docs/checks.md); never sent to WHM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waive: Vec<String>,
    /// Risks acknowledged for this account (see docs/checks.md); never sent to WHM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledge: Vec<String>,
    /// Every other module key, for example `skiphomedir = true`.
    #[serde(flatten)]
    pub keys: BTreeMap<String, ItemValue>,
}

impl Account {
    /// The destination name: `localuser`, or `user`.
    pub fn local_user(&self) -> &str {
        self.localuser.as_deref().unwrap_or(&self.user)
    }
}

impl JsonSchema for Account {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Account".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        AccountSchema::json_schema(generator)
    }
}

/// Parses a `pin_sha256` value: 64 hex digits, colons allowed.
pub(crate) fn parse_pin(pin: &str) -> Option<[u8; 32]> {
    let hex_digits: String = pin.chars().filter(|c| *c != ':').collect();
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut out).ok()?;
    Some(out)
}

impl Destination {
    /// How many enqueue calls apply keeps in flight per session.
    pub fn enqueues_per_session(&self) -> usize {
        self.enqueues_per_session
            .map_or(crate::apply::enqueue::ENQUEUES_PER_SESSION, |n| {
                usize::try_from(n).unwrap_or(1).max(1)
            })
    }

    /// The pinned certificate's SHA-256, if `pin_sha256` is set and valid.
    pub fn pin_sha256_bytes(&self) -> Option<[u8; 32]> {
        self.pin_sha256.as_deref().and_then(parse_pin)
    }
}
