//! The shared state backend: a bucket of any S3-compatible store (AWS S3, MinIO, R2,
//! B2, Wasabi) holding `<prefix><migration>.json` (the journal) and
//! `<prefix><migration>.lock` (the lease), so runs on different machines (CI runners)
//! share one state and one lock.
//!
//! Every write is conditional: the journal on its ETag (compare-and-swap), the lease
//! created only if absent. `object_store` does the signing and the conditional puts;
//! it runs on a small runtime of its own so the journal's synchronous save path (which
//! holds the journal's lock, keeping saves in order) can wait for it from any thread.

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpClient, HttpConnector};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt as _, PutMode, PutOptions,
    PutPayload, RetryConfig, UpdateVersion,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Where a shared state lives, from the manifest's `[state]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedSettings {
    /// The bucket.
    pub bucket: String,
    /// Prepended to every object name (`acme/`).
    pub prefix: String,
    /// The region, when the environment does not say it.
    pub region: Option<String>,
    /// The store's URL, for S3-compatible stores (`http://` only on loopback).
    pub endpoint: Option<String>,
    /// The lease of the lock.
    pub lease: Duration,
    /// Keys given by a program embedding the library; `None` (always, from a manifest)
    /// reads the AWS environment and profile.
    pub credentials: Option<AccessKey>,
}

/// An access key given directly (not from a manifest).
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// The key id.
    pub id: String,
    /// The secret (redacted in `Debug`).
    pub secret: secrecy::SecretString,
}

impl PartialEq for AccessKey {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret as _;
        self.id == other.id && self.secret.expose_secret() == other.secret.expose_secret()
    }
}

impl Eq for AccessKey {}

/// What a store call failed with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the object changed (or present, for a create).
    #[error("the object changed since it was read")]
    Changed,
    /// Anything else: the store unreachable, refused credentials, no such bucket.
    #[error("{0}")]
    Failed(String),
}

/// An object's version, for a conditional replace.
pub type Version = UpdateVersion;

/// How to write an object.
#[derive(Debug, Clone)]
pub enum Write {
    /// Only if absent (`If-None-Match: *`).
    Create,
    /// Only if still at this version (`If-Match: <etag>`).
    Replace(Version),
    /// Unconditionally.
    Overwrite,
}

/// A connection to the bucket.
pub struct SharedStore {
    store: Arc<AmazonS3>,
    settings: SharedSettings,
    /// Its own runtime: callers wait on it from inside another runtime's threads.
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStore")
            .field("url", &self.url(""))
            .finish_non_exhaustive()
    }
}

impl Drop for SharedStore {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which may not happen in async code.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Timeouts and retries short enough that a store gone away is noticed well within
/// a lease: a holder must stop before its lease could be taken over.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl SharedStore {
    /// Connects to the bucket with the standard AWS credentials of the environment.
    pub fn connect(settings: &SharedSettings) -> Result<Self, StoreError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_http_connector(Connector)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
            });
        if let Some(key) = &settings.credentials {
            use secrecy::ExposeSecret as _;
            builder = builder
                .with_access_key_id(&key.id)
                .with_secret_access_key(key.secret.expose_secret());
        } else if let Some((key, secret)) = profile_credentials() {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret.0);
            if let Some(token) = secret.1 {
                builder = builder.with_token(token);
            }
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        let plain_http = settings
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        let store = builder
            .with_allow_http(plain_http)
            .build()
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("whm-migrate-state")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Failed(format!("cannot start the store's runtime: {e}")))?;
        Ok(Self {
            store: Arc::new(store),
            settings: settings.clone(),
            runtime: Some(runtime),
        })
    }

    /// The settings it was made with.
    pub fn settings(&self) -> &SharedSettings {
        &self.settings
    }

    /// `s3://bucket/prefix<name>`, for messages.
    pub fn url(&self, name: &str) -> String {
        format!(
            "s3://{}/{}{name}",
            self.settings.bucket, self.settings.prefix
        )
    }

    /// Runs `work` on the store's runtime and waits for it (from any thread, async or
    /// not).
    pub fn block_on<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let rt = self.runtime.as_ref().expect("the runtime lives until drop");
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            // The receiver only goes away with a caller that stopped waiting.
            let _ = tx.send(work.await);
        });
        rx.recv()
            .map_err(|_| StoreError::Failed("the store's runtime stopped".to_owned()))
    }

    /// Spawns `work` on the store's runtime (a lease's renewals).
    pub fn spawn(
        &self,
        work: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .spawn(work)
    }

    /// A handle for async callers on the store's runtime.
    pub fn objects(&self) -> Objects {
        Objects {
            store: self.store.clone(),
            prefix: self.settings.prefix.clone(),
        }
    }

    /// Reads object `name`: its bytes and version, or `None` when absent.
    pub fn get(&self, name: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        let objects = self.objects();
        let name = name.to_owned();
        self.block_on(async move { objects.get(&name).await })?
    }

    /// Writes object `name`.
    pub fn put(&self, name: &str, bytes: Vec<u8>, how: Write) -> Result<Version, StoreError> {
        let objects = self.objects();
        let name = name.to_owned();
        self.block_on(async move { objects.put(&name, bytes, how).await })?
    }
}

/// The bucket's objects, for async code running on the store's runtime.
#[derive(Debug, Clone)]
pub struct Objects {
    store: Arc<AmazonS3>,
    prefix: String,
}

impl Objects {
    fn path(&self, name: &str) -> ObjectPath {
        ObjectPath::from(format!("{}{name}", self.prefix))
    }

    /// Reads object `name`: its bytes and version, or `None` when absent.
    pub async fn get(&self, name: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        let got = match self.store.get(&self.path(name)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(failed(&e)),
        };
        let version = Version {
            e_tag: got.meta.e_tag.clone(),
            version: got.meta.version.clone(),
        };
        let bytes = got.bytes().await.map_err(|e| failed(&e))?;
        Ok(Some((bytes.to_vec(), version)))
    }

    /// Writes object `name`.
    pub async fn put(&self, name: &str, bytes: Vec<u8>, how: Write) -> Result<Version, StoreError> {
        let mode = match how {
            Write::Create => PutMode::Create,
            Write::Replace(v) => PutMode::Update(v),
            Write::Overwrite => PutMode::Overwrite,
        };
        match self
            .store
            .put_opts(
                &self.path(name),
                PutPayload::from(bytes),
                PutOptions::from(mode),
            )
            .await
        {
            Ok(done) => Ok(done.into()),
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => Err(StoreError::Changed),
            Err(e) => Err(failed(&e)),
        }
    }
}

/// The store's error, on one line (its chain of causes included: the outermost alone
/// often says only "generic S3 error").
fn failed(e: &dyn std::error::Error) -> StoreError {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    StoreError::Failed(text.replace('\n', " "))
}

/// Our HTTP client for the store: rustls with ring and the system's roots, like the
/// WHM client, and timeouts of our own.
#[derive(Debug)]
struct Connector;

impl HttpConnector for Connector {
    fn connect(&self, _: &ClientOptions) -> object_store::Result<HttpClient> {
        let generic = |e: String| object_store::Error::Generic {
            store: "S3",
            source: e.into(),
        };
        let tls = crate::whm::tls::client_config(
            &crate::whm::tls::TlsMode::SystemRoots,
            &crate::whm::tls::SeenCertificate::default(),
        )
        .map_err(generic)?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(5))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| generic(e.to_string()))?;
        Ok(HttpClient::new(client))
    }
}

/// The shared credentials file's keys for `AWS_PROFILE` (default `default`), when the
/// environment has no keys of its own: the part of the AWS profile chain a CI runner or
/// an admin's machine uses. (Web identity, container and instance credentials come from
/// `object_store`'s own chain.)
fn profile_credentials() -> Option<(String, (String, Option<String>))> {
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        return None;
    }
    let path = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::home_dir().map(|h| h.join(".aws/credentials")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
    let section = profile_section(&text, &profile);
    let key = section.get("aws_access_key_id")?.clone();
    let secret = section.get("aws_secret_access_key")?.clone();
    Some((key, (secret, section.get("aws_session_token").cloned())))
}

/// The `key = value` pairs of `[profile]` in an INI-style AWS credentials file.
fn profile_section(text: &str, profile: &str) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == profile;
        } else if inside && let Some((k, v)) = line.split_once('=') {
            out.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::profile_section;

    #[test]
    fn a_profile_section_is_read_alone() {
        let text = "[default]\naws_access_key_id = A\n\n[ci]\naws_access_key_id=B\naws_secret_access_key = S \n# note\n[other]\naws_access_key_id = C\n";
        let ci = profile_section(text, "ci");
        assert_eq!(ci.get("aws_access_key_id").map(String::as_str), Some("B"));
        assert_eq!(
            ci.get("aws_secret_access_key").map(String::as_str),
            Some("S")
        );
        assert_eq!(ci.len(), 2);
        assert!(profile_section(text, "missing").is_empty());
    }
}
