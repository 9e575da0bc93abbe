//! Manifest tests: the example manifests (Rust model and JSON Schema), the broken-manifest
//! corpus (insta snapshots of the full text diagnostics), the committed JSON Schema, secret
//! resolution, and property tests of the loader.

use std::path::{Path, PathBuf};

use proptest::prelude::{ProptestConfig, any, prop, proptest};
use secrecy::ExposeSecret as _;
use whm_migrate::manifest::{self, Manifest, Severity};
use whm_migrate::modules::ModuleCatalog;

const BROKEN: &str = "tests/fixtures/manifests/broken";

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
    assert!(all.len() >= 4, "expected demo.toml and three examples");
    all
}

fn load_ok(path: &Path) -> Manifest {
    manifest::load(path).unwrap_or_else(|d| {
        panic!(
            "{} does not load:\n{}",
            path.display(),
            d.render_text(false)
        )
    })
}

fn insta_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"(/tmp|/var/folders)/[^\s:`]*", "[TEMP]");
    settings.add_filter(
        &regex_escape(&std::env::current_dir().unwrap().display().to_string()),
        "[ROOT]",
    );
    settings
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn every_example_manifest_loads_without_errors() {
    for path in example_manifests() {
        let m = load_ok(&path);
        assert!(!m.warnings().has_errors());
        assert!(!m.sources.is_empty(), "{}", path.display());
    }
}

#[test]
fn every_example_manifest_matches_the_json_schema() {
    let schema = manifest::manifest_json_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for path in example_manifests() {
        let text = std::fs::read_to_string(&path).unwrap();
        let instance: serde_json::Value = toml::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn json_schema_rejects_what_the_loader_rejects_structurally() {
    let schema = manifest::manifest_json_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for name in [
        "unknown-key-destination",
        "unknown-key-source",
        "wrong-type-port",
        "invalid-enum-kind",
        "url-and-simulator",
        "neither-url-nor-simulator",
        "unknown-version",
        "bad-name",
        "flag-not-boolean",
        "char-too-long",
        "literal-secret-token",
    ] {
        let text = std::fs::read_to_string(format!("{BROKEN}/{name}.toml")).unwrap();
        let instance: serde_json::Value = toml::from_str(&text).unwrap();
        assert!(
            !validator.is_valid(&instance),
            "{name} passes the JSON Schema"
        );
    }
}

#[test]
fn serde_model_agrees_with_the_lenient_loader() {
    for path in example_manifests() {
        let loaded = load_ok(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let direct: Manifest = toml::from_str(&text).unwrap();
        assert_eq!(direct.name, loaded.name);
        // Secret file paths differ on purpose: the loader resolves them from the
        // manifest's folder. Everything else must agree.
        assert_eq!(direct.sources.len(), loaded.sources.len());
        for (d, l) in direct.sources.iter().zip(&loaded.sources) {
            assert_eq!((&d.name, &d.host, d.kind), (&l.name, &l.host, l.kind));
            assert_eq!(d.session, l.session);
            assert_eq!(d.feature_lists, l.feature_lists);
            assert_eq!(d.packages, l.packages);
            assert_eq!(d.accounts, l.accounts);
            assert_eq!(d.password.is_some(), l.password.is_some());
        }
        assert_eq!(direct.defaults, loaded.defaults);
        assert_eq!(direct.destination.url, loaded.destination.url);
    }
}

#[test]
fn committed_json_schema_is_fresh() {
    let path = Path::new("schemas/manifest.schema.json");
    let fresh = manifest::manifest_json_schema_text();
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == fresh,
        "schemas/manifest.schema.json is stale; regenerate it with `{}` (or run the tests with UPDATE_SCHEMA=1)",
        manifest::SCHEMA_REGEN_COMMAND
    );
}

#[test]
fn json_schema_describes_account_keys_with_types() {
    let schema = manifest::manifest_json_schema();
    let account = &schema["definitions"]["Account"]["properties"];
    assert_eq!(account["skiphomedir"]["type"], "boolean");
    assert_eq!(account["priority"]["type"], "integer");
    assert_eq!(account["priority"]["default"], 255);
    assert_eq!(account["domain"]["maxLength"], 255);
    assert_eq!(
        schema["definitions"]["Account"]["additionalProperties"],
        false
    );
    let defaults = &schema["definitions"]["AccountDefaults"]["properties"];
    assert!(defaults.get("user").is_none());
    assert!(defaults.get("force").is_some());
}

#[test]
fn broken_corpus_is_large_enough() {
    assert!(manifests_in(BROKEN).len() >= 30);
}

#[test]
fn broken_manifests_snapshot() {
    let settings = insta_settings();
    for path in manifests_in(BROKEN) {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Err(diags) = manifest::load(&path) else {
            panic!("{} loads but is in the broken corpus", path.display())
        };
        assert!(diags.has_errors(), "{name}");
        for d in &diags {
            if d.severity == Severity::Error && d.code != "not-utf8" {
                assert!(d.span.is_some(), "{name}: {} has no location", d.code);
                assert!(d.help.is_some(), "{name}: {} has no help", d.code);
            }
        }
        let text = diags.render_text(false);
        assert!(
            !text.contains("do-not-print"),
            "{name} leaks a secret:\n{text}"
        );
        assert!(!text.contains('\x1b'));
        settings.bind(|| insta::assert_snapshot!(format!("broken__{name}"), text));
    }
}

#[test]
fn all_problems_of_a_file_are_reported_at_once() {
    let diags = manifest::load(format!("{BROKEN}/three-problems.toml")).unwrap_err();
    assert_eq!(diags.error_count(), 3);
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["unknown-key", "not-a-flag", "out-of-range"]);
    let diags = manifest::load(format!("{BROKEN}/syntax-multiple.toml")).unwrap_err();
    assert_eq!(diags.error_count(), 3);
}

#[test]
fn json_form_for_ci() {
    let diags = manifest::load(format!("{BROKEN}/three-problems.toml")).unwrap_err();
    insta_settings().bind(|| insta::assert_snapshot!("three_problems_json", diags.render_json()));
    let json = diags.to_json();
    assert_eq!(json[0].line, 7);
    assert_eq!(json[0].column, 1);
    assert_eq!(json[0].help.as_deref(), Some("did you mean `token`?"));
}

#[test]
fn missing_file_is_a_diagnostic() {
    let diags = manifest::load("tests/fixtures/manifests/no-such-manifest.toml").unwrap_err();
    assert_eq!(diags.iter().next().unwrap().code, "unreadable");
}

#[test]
fn colour_only_on_request() {
    let diags = manifest::load(format!("{BROKEN}/unknown-key-source.toml")).unwrap_err();
    assert!(
        diags
            .render_text(true)
            .contains("\x1b[1;31merror[unknown-key]")
    );
    assert!(!diags.render_text(false).contains('\x1b'));
}

#[test]
fn queue_items_apply_defaults_and_send_only_set_keys() {
    let m = load_ok(Path::new("manifests/demo.toml"));
    let items = m.queue_items(0, &ModuleCatalog::bundled());
    let keys: Vec<(&str, &str)> = items.iter().map(|i| (i.module, i.key())).collect();
    assert_eq!(
        keys,
        [
            ("FeatureListRemoteRoot", "reseller-basic"),
            ("PackageRemoteRoot", "starter"),
            ("PackageRemoteRoot", "business"),
            ("AccountRemoteRoot", "alice"),
            ("AccountRemoteRoot", "bob"),
            ("AccountRemoteRoot", "carol"),
        ]
    );
    let bob = items[4].enqueue_params();
    let bob: Vec<(&str, &str)> = bob.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        bob,
        [
            ("module", "AccountRemoteRoot"),
            ("domain", "bob.example"),
            ("localuser", "bob2"),
            ("skipbwdata", "1"),
            ("skiphomedir", "0"),
            ("user", "bob"),
        ]
    );
    let package = items[1].enqueue_params();
    assert_eq!(package.len(), 2, "{package:?}");
}

#[test]
fn validate_against_a_live_catalog() {
    let m = load_ok(Path::new("manifests/examples/root-whole-server.toml"));
    assert!(!m.validate_against(&ModuleCatalog::bundled()).has_errors());
    let mut live = ModuleCatalog::bundled();
    let schema = serde_json::from_str(
        r#"{"keys":{"user":{"def":"char(255) DEFAULT NULL"},"localuser":{"def":"char(255) DEFAULT NULL"},"domain":{"def":"char(255) DEFAULT NULL"}},"primary":["user"],"required":["user","localuser"]}"#,
    )
    .unwrap();
    live.set_schema("AccountRemoteRoot", schema, None);
    let diags = m.validate_against(&live);
    assert!(diags.has_errors());
    let text = diags.render_text(false);
    assert!(text.contains("root-whole-server.toml:"), "{text}");
    assert!(
        text.contains("`reseller` is not a key of the AccountRemoteRoot module"),
        "{text}"
    );
}

#[test]
fn secrets_resolve_from_env_and_files_relative_to_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    std::fs::write(dir.path().join("secrets/whm.token"), "TOKEN-VALUE-xyz\n").unwrap();
    let path = dir.path().join("m.toml");
    std::fs::write(
        &path,
        r#"version = 1
name = "s"
[destination]
url = "https://new1.example.com:2087"
token = { file = "secrets/whm.token" }
[[sources]]
name = "old1"
host = "old1.example.com"
kind = "root"
password = { env = "PATH" }
root_password = { env = "WHM_MIGRATE_TEST_UNSET_VARIABLE" }
[[sources.accounts]]
user = "bob"
"#,
    )
    .unwrap();
    let mut m = manifest::load(&path).unwrap();
    let err = m
        .resolve_secrets(whm_migrate::manifest::SecretScope::All)
        .unwrap_err();
    let text = err.render_text(false);
    assert!(
        text.contains("WHM_MIGRATE_TEST_UNSET_VARIABLE is not set"),
        "{text}"
    );
    assert!(text.contains(":11:17: error[secret-unavailable]"), "{text}");
    assert!(
        text.contains("help: export WHM_MIGRATE_TEST_UNSET_VARIABLE="),
        "{text}"
    );
    let token = m.destination.token.as_ref().unwrap();
    let shown = format!("{m:?}");
    assert!(!shown.contains("TOKEN-VALUE"));
    assert_eq!(token.value().unwrap().expose_secret(), "TOKEN-VALUE-xyz");
    assert!(m.sources[0].password.as_ref().unwrap().value().is_some());
}

fn never_panics(text: &str) {
    let catalog = ModuleCatalog::bundled();
    let result = manifest::parse_str("fuzz.toml", text, Path::new("."), &catalog);
    if let Err(d) = result {
        let _ = d.render_text(false);
        let _ = d.render_text(true);
        let _ = d.render_json();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        never_panics(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn toml_ish_text_never_panics(text in r#"([a-z_]{1,12} = ("[a-zé ]{0,8}"|[0-9-]{1,12}|true|\{ (env|file|world) = "x" \}|\[1, "a"\])\n|\[\[?(sources|destination|sources\.accounts|defaults\.accounts)\]\]?\n|#[^\n]{0,5}\n|\t\r\n){0,30}"#) {
        never_panics(&text);
    }

    #[test]
    fn mutated_examples_never_panic(which in 0usize..4, at in any::<prop::sample::Index>(), insert in "[\\[\\]{}=\"'\\n#a-z0-9.,é -]{0,6}", cut in 0usize..8) {
        let paths = example_manifests();
        let text = std::fs::read_to_string(&paths[which % paths.len()]).unwrap();
        let mut pos = at.index(text.len() + 1);
        while !text.is_char_boundary(pos) { pos -= 1; }
        let mut end = (pos + cut).min(text.len());
        while !text.is_char_boundary(end) { end -= 1; }
        let end = end.max(pos);
        let mutated = format!("{}{}{}", &text[..pos], insert, &text[end..]);
        never_panics(&mutated);
    }
}

#[test]
fn odd_but_valid_manifests_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifests/odd");
    let mut loaded = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let manifest = load_ok(&path);
        assert!(!manifest.name.is_empty());
        loaded += 1;
    }
    assert_eq!(loaded, 3);
    let unicode = load_ok(&dir.join("unicode-domains.toml"));
    assert_eq!(
        unicode.sources[0].accounts[1].domain.as_deref(),
        Some("東京.example")
    );
    assert_eq!(
        unicode.sources[0].packages[0].name, "Paket Grün ",
        "trailing space kept"
    );
    let long = load_ok(&dir.join("long-values.toml"));
    assert_eq!(
        long.sources[0].accounts[0].domain.as_deref().map(str::len),
        Some(255)
    );
    let empty = load_ok(&dir.join("empty-lists.toml"));
    assert!(empty.sources[0].accounts.is_empty());
}

#[test]
fn a_source_level_check_waived_on_an_item_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.toml");
    std::fs::write(
        &path,
        r#"version = 1
name = "w"

[destination]
url = "https://new1.example.com:2087"
token = { env = "T" }

[defaults.accounts]
waive = ["disk-use-unknown"]

[[sources]]
name = "old1"
host = "old1.example.com"
kind = "root"
password = { env = "P" }
waive = ["older-destination"]

[[sources.accounts]]
user = "alice"
waive = ["database-taken", "older-destination"]
"#,
    )
    .unwrap();
    let m = load_ok(&path);
    let warned: Vec<(usize, usize)> = m
        .warnings()
        .to_json()
        .into_iter()
        .filter(|d| d.code == "source-level-check")
        .map(|d| (d.line, d.column))
        .collect();
    // The defaults' and the account's, not the source's own.
    assert_eq!(warned, [(9, 10), (20, 28)]);
    let text = m.warnings().render_text(false);
    assert!(
        text.contains("waive it on the [[sources]] table: waive = [\"older-destination\"]"),
        "{text}"
    );
}

/// Settings that expose the source's root password or its accounts' data on the network
/// are risks: refused until acknowledged, then a warning on every run (issue 20 item 8).
#[tokio::test]
async fn insecure_source_settings_need_acknowledging_and_warn_every_run() {
    use crate::support::Case;
    use crate::support::apply_world::every_item_manifest;
    for (risk, setting) in [
        (
            "plain-text-transport",
            "comm_transport = \"whostmgr_insecure\"\n",
        ),
        (
            "unencrypted-transfer",
            "[sources.session]\nunencrypted = true\n",
        ),
    ] {
        let base = every_item_manifest("risky", "https://new1.example.com:2087");
        let with = |extra: &str| {
            base.replacen(
                "password = { env = \"SRC_PW\" }\n",
                &format!("password = {{ env = \"SRC_PW\" }}\n{extra}"),
                1,
            )
        };
        let refused = Case::new(&with(setting)).run("validate", &[]).await;
        refused.assert_code(1);
        assert!(
            refused.stderr.contains("unacknowledged-risk"),
            "{risk}: {}",
            refused.stderr
        );
        assert!(
            refused
                .stderr
                .contains(&format!("acknowledge = [\"{risk}\"]")),
            "{}",
            refused.stderr
        );
        let acknowledged = format!("acknowledge = [\"{risk}\"]\n{setting}");
        let ok = Case::new(&with(&acknowledged)).run("validate", &[]).await;
        ok.assert_code(0);
        assert!(
            ok.stderr.contains(&format!("warning[{risk}]")),
            "{risk}: {}",
            ok.stderr
        );
    }
}

/// `[state]`: the bucket's keys only with `backend = "s3"`, a bucket required, a
/// plain-text endpoint only on loopback, and credentials never (issue 19 item 3).
#[tokio::test]
async fn the_state_table_is_checked_and_refuses_credentials() {
    use crate::support::Case;
    use crate::support::apply_world::every_item_manifest;
    let base = every_item_manifest("stated", "https://new1.example.com:2087");
    let ok = Case::new(&format!(
        "{base}\n[state]\nbackend = \"s3\"\nbucket = \"b\"\nprefix = \"acme/\"\nendpoint = \"http://127.0.0.1:9000\"\nlease_seconds = 30\n"
    ))
    .run("validate", &[])
    .await;
    ok.assert_code(0);
    for (table, code, says) in [
        (
            "backend = \"s3\"\nbucket = \"b\"\nsecret_access_key = \"AKIA-SECRET-SENTINEL\"\n",
            "unknown-key",
            "AWS_SECRET_ACCESS_KEY",
        ),
        (
            "backend = \"s3\"\nbucket = \"b\"\nendpoint = \"http://s3.example.com\"\n",
            "insecure-url",
            "unencrypted",
        ),
        ("backend = \"s3\"\n", "missing-key", "needs a `bucket`"),
        ("bucket = \"b\"\n", "state-local", "add backend = \"s3\""),
        (
            "backend = \"s3\"\nbucket = \"b\"\nlease_seconds = 2\n",
            "lease_seconds",
            "10",
        ),
    ] {
        let out = Case::new(&format!("{base}\n[state]\n{table}"))
            .run("validate", &[])
            .await;
        out.assert_code(1);
        assert!(
            out.stderr.contains(code) && out.stderr.contains(says),
            "{table}: {}",
            out.stderr
        );
        // A credential written in the manifest is never echoed.
        assert!(
            !out.stderr.contains("AKIA-SECRET-SENTINEL"),
            "{}",
            out.stderr
        );
    }
}
