//! How a simulator instance is configured: listen address, accepted token, result
//! style, state names, log blocking, log layout, time scale, faults, TLS, persistence, the
//! schema keys of an older server, and the RNG seed.

use std::net::SocketAddr;
use std::path::PathBuf;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

use super::faults::Faults;

/// How `metadata.result` is typed on success.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultStyle {
    /// Per function, as the 11.120 handlers do (REFERENCE §3): the string `"1"` for every
    /// transfer function, `validate_system_user` and `listpkgs`; the integer `1` for
    /// `listaccts`, `accountsummary` and `get_featurelists`. Failures are the integer `0`.
    #[default]
    Documented,
    /// Always the strings `"1"` / `"0"`.
    String,
    /// Always the integers `1` / `0` (the OpenAPI description's view).
    Integer,
}

/// Which names `get_transfer_session_state` answers (REFERENCE §4.11: the server and
/// the docs disagree, and a client must accept both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum StateNames {
    /// The session states, as the 11.120 source answers (§5.2): `RUNNING` while the
    /// session works.
    #[default]
    Reference,
    /// The guide's list while the session works: `TRANSFER_INPROGRESS`,
    /// `RESTORE_INPROGRESS`, `TRANSFER_PENDING` or `RESTORE_PENDING` as its queues stand
    /// instead of `RUNNING`; `PENDING`, `COMPLETED` and `FAILED` as the session states.
    /// The list has no name for a pause or an abort: `PAUSING`, `PAUSED`, `ABORTING` and
    /// `ABORTED` are answered as under `reference`.
    Docs,
    /// `WORKING` while the session works: a name no document lists (a newer server's),
    /// which a client must follow, never take for an end or a session to replace.
    Undocumented,
}

/// How log records are laid out (REFERENCE §7.2): where `type` sits and how `pid` is
/// typed. A client must read all three; the simulator writes one so tests can prove it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogLayout {
    /// Current logs: `type` at the top level of every record, numeric `pid`.
    #[default]
    Reference,
    /// The guide's printing (`fetch_transfer_session_log--3.json`): `type` inside
    /// `contents`, no `type` at all on item records (`process-item`, `success-item`…),
    /// `pid` as a string.
    Docs,
    /// Record by record in turn: the reference layout, `type` inside `contents`, no
    /// `type` where `action` tells the kind; `pid` a string on every other record.
    Mixed,
}

/// Simulated throughput, so a "10 GB" account takes milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeScale {
    /// Bytes per second a TRANSFER step moves. Default 1 TB/s (10 GB → 10 ms).
    pub bytes_per_second: u64,
    /// Bytes per second a RESTORE step processes. Default 2 TB/s.
    pub restore_bytes_per_second: u64,
    /// Fixed time every item step takes, in milliseconds. Default 5.
    pub item_overhead_ms: u64,
}

impl Default for TimeScale {
    fn default() -> Self {
        Self {
            bytes_per_second: 1_000_000_000_000,
            restore_bytes_per_second: 2_000_000_000_000,
            item_overhead_ms: 5,
        }
    }
}

impl TimeScale {
    /// This scale slowed down `factor` times (2.0: every step takes twice as long), for
    /// serving long sessions; `factor` must be positive and finite.
    #[must_use]
    pub fn slowed(self, factor: f64) -> Self {
        // Rates and overheads are far below 2^52, so the f64 round trip is exact enough.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let scale = |v: u64, by: f64| (v as f64 * by).round().max(0.0) as u64;
        Self {
            bytes_per_second: scale(self.bytes_per_second, 1.0 / factor).max(1),
            restore_bytes_per_second: scale(self.restore_bytes_per_second, 1.0 / factor).max(1),
            item_overhead_ms: scale(self.item_overhead_ms, factor),
        }
    }

    /// How long a step over `size` bytes takes at `rate` bytes per second.
    pub fn duration(&self, size: u64, rate: u64) -> std::time::Duration {
        let ms = u128::from(size) * 1000 / u128::from(rate.max(1));
        std::time::Duration::from_millis(self.item_overhead_ms)
            + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }
}

/// A TLS identity to serve HTTPS with.
#[derive(Debug)]
pub struct TlsOptions {
    /// The certificate chain, leaf first.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for TlsOptions {
    fn clone(&self) -> Self {
        Self {
            cert_chain: self.cert_chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl TlsOptions {
    /// From PEM text: one or more certificates, and a PKCS#8, PKCS#1 or SEC1 key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, rustls_pki_types::pem::Error> {
        let cert_chain = CertificateDer::pem_slice_iter(cert_pem).collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)?;
        Ok(Self { cert_chain, key })
    }

    /// From DER: one certificate and a PKCS#8 key.
    pub fn from_der(cert_der: Vec<u8>, pkcs8_key_der: Vec<u8>) -> Self {
        Self {
            cert_chain: vec![CertificateDer::from(cert_der)],
            key: PrivateKeyDer::Pkcs8(pkcs8_key_der.into()),
        }
    }
}

/// Everything [`super::Simulator::start`] needs besides the world.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where to listen; tests use `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// The API user accepted in `Authorization: whm USER:TOKEN` (default `root`).
    pub api_user: String,
    /// The accepted API token (default `SIMTOKEN`). Never logged.
    pub api_token: String,
    /// Result typing; see [`ResultStyle`].
    pub result_style: ResultStyle,
    /// The names `get_transfer_session_state` answers; see [`StateNames`].
    pub state_names: StateNames,
    /// When true, `fetch_transfer_session_log` waits until the requested log is finished,
    /// as the 11.120 handler appears to (REFERENCE §4.12). Default false: the partial file
    /// is returned at once.
    pub blocking_logs: bool,
    /// How log records are laid out; see [`LogLayout`]. Default: the reference layout.
    pub log_layout: LogLayout,
    /// Simulated throughput.
    pub time_scale: TimeScale,
    /// Initial faults (all off by default).
    pub faults: Faults,
    /// Serve HTTPS with this identity instead of plain HTTP.
    pub tls: Option<TlsOptions>,
    /// Persist world and sessions here (atomically, shortly after each change); when the
    /// file exists at start it is loaded instead of the given world.
    pub state_file: Option<PathBuf>,
    /// Keys every module's `transfer_module_schema` leaves out, as an older WHM's does
    /// (REFERENCE §6.2: `priority`, `prerequisite_user` and `keep_local_cpuser_values`
    /// came later); `enqueue_transfer_item` refuses them as any unknown key (§4.9).
    pub schema_lacks: Vec<String>,
    /// Serve the accounts' web sites on the world's IPs (see [`super::web`]).
    pub web: Option<super::web::WebOptions>,
    /// Seed for XIDs, pids, id padding and fault draws.
    pub seed: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_user: "root".into(),
            api_token: "SIMTOKEN".into(),
            result_style: ResultStyle::Documented,
            state_names: StateNames::Reference,
            blocking_logs: false,
            log_layout: LogLayout::Reference,
            time_scale: TimeScale::default(),
            faults: Faults::default(),
            tls: None,
            state_file: None,
            schema_lacks: Vec::new(),
            web: None,
            seed: 0x5eed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn slowed_scales_every_step_length() {
        let base = TimeScale::default();
        let slow = base.slowed(1000.0);
        let ten_gb = 10_000_000_000;
        assert_eq!(
            base.duration(ten_gb, base.bytes_per_second),
            Duration::from_millis(15)
        );
        assert_eq!(
            slow.duration(ten_gb, slow.bytes_per_second),
            Duration::from_secs(15)
        );
        assert_eq!(
            slow.duration(ten_gb, slow.restore_bytes_per_second),
            Duration::from_secs(10)
        );
        assert_eq!(base.slowed(1.0), base);
    }
}
