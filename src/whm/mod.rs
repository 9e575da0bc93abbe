//! The WHM API 1 client: one typed async function per transfer call (REFERENCE §4),
//! API-token authentication, TLS on rustls, and tolerance of every documented quirk
//! (REFERENCE §8).
//!
//! ```no_run
//! # async fn demo() -> Result<(), whm_migrate::whm::WhmError> {
//! use whm_migrate::whm::{ClientOptions, TlsMode, WhmClient};
//! let client = WhmClient::new(ClientOptions {
//!     base_url: "https://new1.example.com:2087".into(),
//!     user: "root".into(),
//!     token: std::env::var("WHM_API_TOKEN").unwrap_or_default().into(),
//!     tls: TlsMode::SystemRoots,
//!     timeouts: Default::default(),
//!     retry: Default::default(),
//! })?;
//! let modules = client.available_transfer_modules().await?;
//! # Ok(()) }
//! ```

pub mod answers;
mod api;
pub mod budget;
mod client;
pub mod clock;
mod envelope;
mod error;
mod logtext;
pub mod tls;

pub use client::{BodyLimits, ClientOptions, Effect, RetryPolicy, Slowness, Timeouts, WhmClient};
pub use envelope::{CallSite, Envelope, Metadata, Output, decode, decode_any, describe_body};
pub use error::{WhmError, clean_reason};
pub use logtext::{LogDecoder, LogMark, LogSink, RESUME_AFTER};
pub use tls::TlsMode;
