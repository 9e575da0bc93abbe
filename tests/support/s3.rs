//! A real S3-compatible server on loopback for the shared state backend's tests:
//! moto's standalone server (PyPI `moto[server]`), installed on first use into a
//! virtualenv under `target/tmp`, started by the tests themselves. It implements the
//! conditional writes (`If-None-Match: *`, `If-Match`) the backend relies on.
//!
//! moto's server is threaded, and its conditional writes check and store in two steps:
//! two writers racing on one ETag could both succeed, which S3 never allows. The tests
//! run it single-threaded, so each request is atomic as on S3.
//!
//! `WHM_TEST_MOTO_PYTHON` may name a Python with `moto[server]` to use instead.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The moto version the tests are known to pass with.
const MOTO: &str = "moto[server]==5.2.6";

/// The credentials the tests give the backend (moto accepts any).
pub const AWS_ENV: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "testing-key-id"),
    ("AWS_SECRET_ACCESS_KEY", "testing-secret"),
    ("AWS_REGION", "us-east-1"),
];

/// A running moto server; stopped on drop (and with the test process).
pub struct S3Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

/// The server shared by the tests of this process (each uses its own bucket).
pub fn shared() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(S3Server::start)
}

impl S3Server {
    /// Starts a server of its own on a free loopback port.
    pub fn start() -> Self {
        let program = moto_python();
        let port = free_port();
        // A watcher ends the server with the test process, even one that is killed.
        let script = format!(
            "\"$0\" -c \"$1\" >/dev/null 2>&1 & m=$!; trap 'kill $m' TERM; while kill -0 {} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; kill $m 2>/dev/null",
            std::process::id()
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&program)
            .arg(format!(
                "import sys, moto.server as m\nrun = m.run_simple\nm.run_simple = lambda *a, **k: run(*a, **dict(k, threaded=False))\nsys.argv = ['moto_server', '-H', '127.0.0.1', '-p', '{port}']\nm.main()"
            ))
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let server = Self {
            child: Some(child),
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto's server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Creates a bucket named after `test` (unique per call) and returns its name.
    pub fn bucket(&self, test: &str) -> String {
        use std::io::{Read as _, Write as _};
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{test}-{}-{n}", std::process::id()).replace('_', "-");
        // moto creates a bucket on an unsigned PUT; one plain request, no client needed.
        let mut stream = std::net::TcpStream::connect(self.address()).unwrap();
        write!(
            stream,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(
            answer.split_whitespace().nth(1) == Some("200"),
            "bucket {name}: {answer}"
        );
        name
    }

    fn address(&self) -> String {
        self.endpoint.trim_start_matches("http://").to_owned()
    }

    /// Stops the server at once (a store that goes away mid-run).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The shell's trap ends the server; then the shell ends.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
        let port = self
            .endpoint
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(
                Instant::now() < deadline,
                "moto_server still listens on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The `[state]` table of a manifest using `bucket` on this server.
    pub fn state_table(&self, bucket: &str, lease_seconds: u64) -> String {
        format!(
            "\n[state]\nbackend = \"s3\"\nbucket = \"{bucket}\"\nprefix = \"ci/\"\nendpoint = \"{}\"\nlease_seconds = {lease_seconds}\n",
            self.endpoint
        )
    }

    /// The object `name` of `bucket`, if any, read with a signed request of the
    /// tests' own (not through whm-migrate's backend).
    pub async fn object(&self, bucket: &str, name: &str) -> Option<String> {
        use object_store::ObjectStoreExt as _;
        let store = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_access_key_id(AWS_ENV[0].1)
            .with_secret_access_key(AWS_ENV[1].1)
            .with_region(AWS_ENV[2].1)
            .with_http_connector(PlainHttp)
            .build()
            .unwrap();
        match store.get(&object_store::path::Path::from(name)).await {
            Ok(got) => Some(String::from_utf8(got.bytes().await.unwrap().to_vec()).unwrap()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("reading {bucket}/{name}: {e}"),
        }
    }
}

/// reqwest for plain http (it has no TLS provider of its own in this build).
#[derive(Debug)]
struct PlainHttp;

impl object_store::client::HttpConnector for PlainHttp {
    fn connect(
        &self,
        _: &object_store::ClientOptions,
    ) -> object_store::Result<object_store::client::HttpClient> {
        let client = ::reqwest::Client::builder()
            .tls_backend_preconfigured(super::tls_config(rustls::RootCertStore::empty()))
            .build()
            .unwrap();
        Ok(object_store::client::HttpClient::new(client))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.kill();
        }
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A Python with `moto[server]`, installed into a virtualenv under `target/tmp` on
/// first use (once, under a file lock shared by concurrent test processes).
fn moto_python() -> PathBuf {
    if let Some(given) = std::env::var_os("WHM_TEST_MOTO_PYTHON") {
        return PathBuf::from(given);
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto-venv");
    let program = venv.join("bin/python");
    std::fs::create_dir_all(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let lock = File::create(Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto-venv.lock")).unwrap();
    lock.lock().unwrap();
    if !venv.join("bin/moto_server").exists() {
        install(&venv);
    }
    program
}

fn install(venv: &Path) {
    let how = format!(
        "the shared-state tests need moto's S3 server: install it with `python3 -m venv {0} && {0}/bin/pip install '{MOTO}'` (or set WHM_TEST_MOTO_PYTHON to a Python that has it)",
        venv.display()
    );
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", MOTO])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        let _ = std::fs::remove_dir_all(venv);
        panic!("{how}");
    }
}
