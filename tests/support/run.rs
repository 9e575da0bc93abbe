//! Running the binary: [`Bin`] builds one invocation, [`Out`] is what a finished run
//! printed, and [`Watched`] is a running one whose stderr a test can wait on.

use super::wait::DEADLINE;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_whm-migrate");

/// How long one run of the binary may take in a test (a guard against hangs, not a
/// timing assertion).
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Settings of the environment the tests run in that would change what the binary does.
const AMBIENT: [&str; 5] = [
    "WHM_MIGRATE_STATE_DIR",
    "WHM_MIGRATE_COLOR",
    "WHM_MIGRATE_PROGRESS",
    "WHM_MIGRATE_LOG",
    "RUST_LOG",
];

/// `whm-migrate`, with stdin closed, its output piped, and none of the [`AMBIENT`]
/// settings of the environment the tests run in.
pub fn bin() -> Bin {
    let mut cmd = std::process::Command::new(BIN);
    for var in AMBIENT {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Bin(cmd)
}

/// One invocation of the binary, built up like a `Command`.
#[derive(Debug)]
pub struct Bin(std::process::Command);

impl Bin {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.0.arg(arg);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.0.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.0.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.0.env_remove(key);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.0.current_dir(dir);
        self
    }

    /// Starts it; it is killed if the test drops it.
    pub fn spawn(self) -> tokio::process::Child {
        let mut cmd = tokio::process::Command::from(self.0);
        cmd.kill_on_drop(true);
        cmd.spawn().expect("the binary starts")
    }

    /// Starts it, reading its stderr as it comes (see [`Watched`]).
    pub fn watched(self) -> Watched {
        Watched::new(self.spawn())
    }

    /// Runs it to its end.
    pub async fn run(self) -> Out {
        finish(self.spawn()).await
    }

    /// Runs it to its end, for a test without a runtime.
    pub fn run_blocking(mut self) -> Out {
        let out = self.0.output().expect("the binary starts");
        Out::new(out.status.code(), out.stdout, out.stderr)
    }
}

/// What a finished run of the binary printed.
#[derive(Debug)]
pub struct Out {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// What a run that exited printed is UTF-8; a killed run's output may stop anywhere.
    fn new(code: Option<i32>, stdout: Vec<u8>, stderr: Vec<u8>) -> Self {
        let text = |what: &str, bytes: Vec<u8>| match code {
            Some(_) => String::from_utf8(bytes)
                .unwrap_or_else(|e| panic!("the binary's {what} is not UTF-8: {e}")),
            None => String::from_utf8_lossy(&bytes).into_owned(),
        };
        Self {
            stdout: text("stdout", stdout),
            stderr: text("stderr", stderr),
            code,
        }
    }

    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "{self:#?}");
    }

    /// Exited with 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Waits for a spawned binary and collects its output.
pub async fn finish(child: tokio::process::Child) -> Out {
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("the run did not finish")
        .unwrap();
    Out::new(out.status.code(), out.stdout, out.stderr)
}

/// A running binary whose stderr is read as it comes, so a test can wait for a line of
/// it (an event the child reports) instead of for a length of time.
pub struct Watched {
    pub child: tokio::process::Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: watch::Receiver<Vec<u8>>,
    stderr_read: JoinHandle<()>,
}

impl Watched {
    fn new(mut child: tokio::process::Child) -> Self {
        let mut out = child.stdout.take().expect("stdout is piped");
        let stdout = tokio::spawn(async move {
            let mut bytes = Vec::new();
            out.read_to_end(&mut bytes).await.unwrap();
            bytes
        });
        let mut err = child.stderr.take().expect("stderr is piped");
        let (tx, stderr) = watch::channel(Vec::new());
        let stderr_read = tokio::spawn(async move {
            let mut chunk = [0; 8192];
            loop {
                let n = err.read(&mut chunk).await.unwrap();
                if n == 0 {
                    return; // closed: dropping `tx` tells the waiters
                }
                tx.send_modify(|all| all.extend_from_slice(&chunk[..n]));
            }
        });
        Self {
            child,
            stdout,
            stderr,
            stderr_read,
        }
    }

    /// Waits until stderr holds `text`: true once it does, false when the child closed
    /// its stderr (it ended) without printing it. Panics after [`DEADLINE`].
    pub async fn wait_for_stderr(&mut self, text: &str) -> bool {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        let seen = |bytes: &[u8]| String::from_utf8_lossy(bytes).contains(text);
        loop {
            if seen(&self.stderr.borrow_and_update()) {
                return true;
            }
            let changed = tokio::time::timeout_at(deadline, self.stderr.changed())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out waiting for {text:?} on stderr:\n{}",
                        String::from_utf8_lossy(&self.stderr.borrow())
                    )
                });
            if changed.is_err() {
                return seen(&self.stderr.borrow());
            }
        }
    }

    /// Waits for the end of the run and collects its output.
    pub async fn finish(mut self) -> Out {
        let status = tokio::time::timeout(RUN_LIMIT, self.child.wait())
            .await
            .expect("the run did not finish")
            .unwrap();
        let stdout = self.stdout.await.unwrap();
        self.stderr_read.await.unwrap();
        let stderr = self.stderr.borrow().clone();
        Out::new(status.code(), stdout, stderr)
    }
}
