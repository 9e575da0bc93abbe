//! A case: a manifest in a scratch directory with its own state directory, run as the
//! binary with the test's secrets in its environment.

use super::run::{Bin, Out, bin};
use super::{SRC_PASSWORD, TOKEN};
use std::path::{Path, PathBuf};

/// A manifest in a scratch directory with its own state directory. Its runs start in
/// that directory with `WHM_TEST_TOKEN` = [`TOKEN`] and `SRC_PW` = [`SRC_PASSWORD`] (or
/// what [`Case::with_env`] set) in their environment.
pub struct Case {
    pub dir: tempfile::TempDir,
    pub manifest: PathBuf,
    pub state: PathBuf,
    env: Vec<(String, String)>,
}

impl Case {
    /// Writes `text` as the manifest `migrate.toml`.
    pub fn new(text: &str) -> Self {
        Self::file("migrate.toml", text)
    }

    /// Writes `text` as the manifest `name`.
    pub fn file(name: &str, text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join(name);
        std::fs::write(&manifest, text).unwrap();
        let state = dir.path().join("state");
        Self {
            dir,
            manifest,
            state,
            env: secrets(),
        }
    }

    /// The demo (`manifests/demo.toml`, its world and its secret) copied into a scratch
    /// directory, its state in the default place (`.whm-migrate` beside the manifest).
    /// The demo needs no secret from the environment; its runs get the usual ones all
    /// the same.
    pub fn demo() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
        let to = dir.path().join("manifests");
        for sub in ["worlds", "demo-secrets"] {
            std::fs::create_dir_all(to.join(sub)).unwrap();
        }
        for file in [
            "demo.toml",
            "worlds/demo.toml",
            "demo-secrets/old1-root-password",
        ] {
            std::fs::copy(from.join(file), to.join(file)).unwrap();
        }
        Self {
            dir,
            manifest: to.join("demo.toml"),
            state: to.join(".whm-migrate"),
            env: secrets(),
        }
    }

    /// Sets `key` to `value` in the environment of every run.
    #[must_use]
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// `name` in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `whm-migrate` started in the scratch directory with the case's environment; the
    /// arguments are the caller's.
    pub fn bin(&self) -> Bin {
        let mut bin = bin().current_dir(self.dir.path());
        for (key, value) in &self.env {
            bin = bin.env(key, value);
        }
        bin
    }

    /// `whm-migrate COMMAND MANIFEST --state-dir STATE EXTRA…` (`--progress plain`
    /// before EXTRA for `apply`).
    pub fn command(&self, command: &str, extra: &[&str]) -> Bin {
        self.command_on(command, &self.manifest, extra)
    }

    /// [`Self::command`] on `target` (a saved plan) instead of the manifest.
    pub fn command_on(&self, command: &str, target: &Path, extra: &[&str]) -> Bin {
        let mut bin = self
            .bin()
            .arg(command)
            .arg(target)
            .arg("--state-dir")
            .arg(&self.state);
        if command == "apply" {
            bin = bin.args(["--progress", "plain"]);
        }
        bin.args(extra)
    }

    /// Runs [`Self::command`] to its end.
    pub async fn run(&self, command: &str, extra: &[&str]) -> Out {
        self.command(command, extra).run().await
    }

    /// The journal file of migration `name`.
    pub fn journal_path(&self, name: &str) -> PathBuf {
        self.state.join(format!("{name}.json"))
    }

    /// The journal of migration `name`, as JSON.
    pub fn journal(&self, name: &str) -> serde_json::Value {
        let path = self.journal_path(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// The step costs the first recorded run of `source` kept, in migration `name`'s
    /// journal.
    pub fn first_run_pace(&self, name: &str, source: &str) -> whm_migrate::journal::StepPace {
        let journal = self.journal(name);
        let pace = &journal["sources"][source]["runs"][0]["pace"];
        serde_json::from_value(pace.clone())
            .unwrap_or_else(|e| panic!("no step costs in the run ({e}): {journal:#}"))
    }
}

/// The environment every case's runs start with.
fn secrets() -> Vec<(String, String)> {
    vec![
        ("WHM_TEST_TOKEN".to_owned(), TOKEN.to_owned()),
        ("SRC_PW".to_owned(), SRC_PASSWORD.to_owned()),
    ]
}
