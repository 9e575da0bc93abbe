//! The semantic rules, run on the deserialized model with the spans of the first pass:
//! destination shape and TLS settings, paths, source credentials per session kind, and
//! every item against its module schema (including duplicates across the manifest).

use std::collections::HashMap;
use std::ops::Range;

use super::account_schema::PER_ACCOUNT_KEYS;
use super::diagnostic::Diagnostic;
use super::items::{ItemEntry, ItemOrigin, source_items};
use super::model::{Destination, Manifest, Source};
use super::origin::Origin;
use super::secret::{SecretRef, resolve_path};
use crate::modules::{
    ItemProblem, ModuleCatalog, SessionContext, SessionKind, UniqueKeys, check_value, did_you_mean,
    names, validate_item,
};

struct Rules<'a> {
    origin: &'a Origin,
    out: Vec<Diagnostic>,
}

impl Rules<'_> {
    fn error(
        &mut self,
        code: &'static str,
        span: Option<Range<usize>>,
        message: String,
        help: String,
    ) {
        self.out
            .push(Diagnostic::error(code, message).at(span).help(help));
    }

    fn warning(
        &mut self,
        code: &'static str,
        span: Option<Range<usize>>,
        message: String,
        help: String,
    ) {
        self.out
            .push(Diagnostic::warning(code, message).at(span).help(help));
    }

    fn value(&self, path: &str) -> Option<Range<usize>> {
        self.origin.value_span(path)
    }

    fn key(&self, path: &str) -> Option<Range<usize>> {
        self.origin.key_span(path)
    }
}

/// Runs every semantic rule. Paths in the model are still as written (relative).
pub(crate) fn check(manifest: &Manifest, catalog: &ModuleCatalog) -> Vec<Diagnostic> {
    let mut rules = Rules {
        origin: &manifest.origin,
        out: Vec::new(),
    };
    destination(&mut rules, &manifest.destination);
    state_rules(&mut rules, &manifest.state);
    defaults(&mut rules, manifest, catalog);
    let mut unique = UniqueKeys::new();
    let mut names_seen: HashMap<&str, usize> = HashMap::new();
    for (i, source) in manifest.sources.iter().enumerate() {
        let path = format!("sources[{i}]");
        if names_seen.insert(&source.name, i).is_some() {
            rules.error(
                "duplicate-source",
                rules.value(&format!("{path}.name")),
                format!("source name {:?} is used twice", source.name),
                "give each [[sources]] entry its own name".to_owned(),
            );
        }
        source_rules(&mut rules, source, &path);
        items(&mut rules, manifest, i, catalog, &mut unique);
    }
    if manifest.sources.is_empty() && !rules.origin.has("sources") {
        rules.warning(
            "no-sources",
            Some(0..0),
            "the manifest has no [[sources]]; there is nothing to transfer".to_owned(),
            "add a [[sources]] table".to_owned(),
        );
    }
    rules.out
}

/// `[state]`: an S3 backend names its bucket, and its endpoint is encrypted unless it
/// is on this machine; the local backend takes none of the bucket's keys.
fn state_rules(rules: &mut Rules<'_>, state: &super::model::StateBackend) {
    use super::model::BackendKind;
    if state.backend == BackendKind::Local {
        let set = [
            ("bucket", state.bucket.is_some()),
            ("prefix", state.prefix.is_some()),
            ("region", state.region.is_some()),
            ("endpoint", state.endpoint.is_some()),
            ("lease_seconds", state.lease_seconds.is_some()),
        ];
        for (key, _) in set.iter().filter(|(_, on)| *on) {
            rules.error(
                "state-local",
                rules.key(&format!("state.{key}")),
                format!("`{key}` is for a shared state backend, and [state] uses the local one"),
                "add backend = \"s3\" to [state], or remove the key".to_owned(),
            );
        }
        return;
    }
    if state.bucket.as_deref().is_none_or(str::is_empty) && !rules.origin.has("state.bucket") {
        rules.error(
            "missing-key",
            rules.value("state"),
            "[state] with backend = \"s3\" needs a `bucket`".to_owned(),
            "add bucket = \"my-migrations\"".to_owned(),
        );
    }
    if let Some(endpoint) = &state.endpoint {
        endpoint_rules(rules, endpoint);
    }
}

fn endpoint_rules(rules: &mut Rules<'_>, endpoint: &str) {
    let span = rules.value("state.endpoint");
    let help = "write it like https://s3.example.com (http:// only for a store on this machine)";
    match reqwest::Url::parse(endpoint) {
        Err(e) => rules.error(
            "invalid-url",
            span,
            format!("`endpoint` is not a valid URL: {e}"),
            help.to_owned(),
        ),
        Ok(parsed) => {
            let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            match parsed.scheme() {
                "https" => {}
                "http" if loopback => {}
                "http" => rules.error(
                    "insecure-url",
                    span,
                    "`endpoint` uses http: the journal and the signed requests would cross the network unencrypted".to_owned(),
                    help.to_owned(),
                ),
                other => rules.error(
                    "invalid-url",
                    span,
                    format!("`endpoint` has scheme {other:?}"),
                    help.to_owned(),
                ),
            }
        }
    }
}

/// `[destination]`: how it is reached, its TLS settings, and the files it names.
fn destination(rules: &mut Rules<'_>, d: &Destination) {
    reached(rules, d);
    tls_rules(rules, d);
    destination_files(rules, d);
}

/// A real server (`url`, with a `token`) or the embedded simulator: exactly one.
fn reached(rules: &mut Rules<'_>, d: &Destination) {
    match (&d.url, &d.simulator) {
        (Some(_), Some(_)) => rules.error(
            "destination-both",
            rules.key("destination.simulator"),
            "[destination] sets both `url` and `simulator`".to_owned(),
            "keep `url` for a real server, or `simulator` for the embedded simulator".to_owned(),
        ),
        (None, None) if !rules.origin.has("destination.url") && !rules.origin.has("destination.simulator") => rules.error(
            "destination-neither",
            rules.value("destination"),
            "[destination] needs `url` or `simulator`".to_owned(),
            "add url = \"https://whm.example.com:2087\", or simulator = { world = \"world.toml\" }"
                .to_owned(),
        ),
        _ => {}
    }
    if let Some(url) = &d.url {
        url_rules(rules, url);
        if d.token.is_none() && !rules.origin.has("destination.token") {
            rules.error(
                "missing-key",
                rules.value("destination"),
                "[destination] with a `url` needs an API `token`".to_owned(),
                "add token = { env = \"WHM_API_TOKEN\" }".to_owned(),
            );
        }
    }
}

/// A pin must parse, and `insecure` conflicts with the ways of trusting a certificate.
fn tls_rules(rules: &mut Rules<'_>, d: &Destination) {
    if let Some(pin) = &d.pin_sha256
        && super::model::parse_pin(pin).is_none()
    {
        rules.error(
            "invalid-value",
            rules.value("destination.pin_sha256"),
            "`pin_sha256` must be 64 hex digits (colons allowed)".to_owned(),
            "print it with `openssl x509 -in cert.pem -noout -fingerprint -sha256`".to_owned(),
        );
    }
    if d.insecure {
        for key in ["ca_file", "pin_sha256"] {
            if rules.origin.has(&format!("destination.{key}")) {
                rules.error(
                    "conflict",
                    rules.key(&format!("destination.{key}")),
                    format!("`insecure = true` turns certificate checks off, so `{key}` would be ignored"),
                    format!("remove `insecure`, or remove `{key}`"),
                );
            }
        }
        if d.url.is_some() {
            rules.warning(
                "insecure",
                rules.key("destination.insecure"),
                "`insecure = true`: the server's certificate is not verified".to_owned(),
                "prefer `pin_sha256` or `ca_file` for a self-signed certificate".to_owned(),
            );
        }
    }
}

/// The CA file, a token file and the simulator's world must exist (a world not yet:
/// a warning).
fn destination_files(rules: &mut Rules<'_>, d: &Destination) {
    let base = &if rules.origin.resolved {
        std::path::PathBuf::new()
    } else {
        rules.origin.base_dir.clone()
    };
    if let Some(ca) = &d.ca_file
        && !resolve_path(base, ca).is_file()
    {
        rules.error(
            "missing-file",
            rules.value("destination.ca_file"),
            format!("`ca_file` {} does not exist", ca.display()),
            "paths are relative to the manifest's folder".to_owned(),
        );
    }
    if let Some(token) = &d.token
        && let SecretRef::File(path) = token.reference()
        && !resolve_path(base, path).is_file()
    {
        rules.error(
            "missing-file",
            rules.value("destination.token.file"),
            format!("token file {} does not exist", path.display()),
            "paths are relative to the manifest's folder".to_owned(),
        );
    }
    if let Some(sim) = &d.simulator
        && !resolve_path(base, &sim.world).is_file()
    {
        rules.warning(
            "missing-file",
            rules.value("destination.simulator.world"),
            format!(
                "simulator world {} does not exist (yet)",
                sim.world.display()
            ),
            "paths are relative to the manifest's folder".to_owned(),
        );
    }
}

fn url_rules(rules: &mut Rules<'_>, url: &str) {
    let span = rules.value("destination.url");
    match reqwest::Url::parse(url) {
        Err(e) => rules.error(
            "invalid-url",
            span,
            format!("`url` is not a valid URL: {e}"),
            "write it like https://whm.example.com:2087".to_owned(),
        ),
        Ok(parsed) => {
            let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            match parsed.scheme() {
                "https" => {}
                "http" if loopback => {}
                "http" => rules.error(
                    "insecure-url",
                    span,
                    "`url` uses http: the API token would cross the network unencrypted".to_owned(),
                    "use https:// and port 2087".to_owned(),
                ),
                other => rules.error(
                    "invalid-url",
                    span,
                    format!("`url` has scheme {other:?}; WHM is reached over https"),
                    "write it like https://whm.example.com:2087".to_owned(),
                ),
            }
            if parsed.host_str().is_none_or(str::is_empty) {
                rules.error(
                    "invalid-url",
                    rules.value("destination.url"),
                    "`url` has no host".to_owned(),
                    "write it like https://whm.example.com:2087".to_owned(),
                );
            }
        }
    }
}

fn defaults(rules: &mut Rules<'_>, manifest: &Manifest, catalog: &ModuleCatalog) {
    let Some(module) = catalog.get(names::ACCOUNT_ROOT) else {
        return;
    };
    for (key, value) in &manifest.defaults.accounts.keys {
        let path = format!("defaults.accounts.{key}");
        if PER_ACCOUNT_KEYS.contains(&key.as_str()) {
            rules.error(
                "per-account-key",
                rules.key(&path),
                format!("`{key}` is set per account; it cannot have a default"),
                format!("move `{key}` into each [[sources.accounts]]"),
            );
            continue;
        }
        match module.schema.key(key) {
            None => {
                let help = match did_you_mean(key, module.schema.keys.keys().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "remove it; WHM rejects items with keys outside the module's schema"
                        .to_owned(),
                };
                rules.error(
                    "unknown-key",
                    rules.key(&path),
                    format!("`{key}` is not a key of the {} module", module.name),
                    help,
                );
            }
            Some(ty) => {
                if let Some(problem) = check_value(key, ty, value) {
                    let span = rules.value(&path);
                    rules.error(
                        problem.code(),
                        span,
                        problem.message(&module.name),
                        problem.help(),
                    );
                }
            }
        }
    }
}

const USER_SESSION_UNUSED: [&str; 7] = [
    "port",
    "user",
    "root_password",
    "sshkey_name",
    "sshkey_passphrase",
    "root_escalation_method",
    "comm_transport",
];

/// A `[[sources]]` entry: what its session kind needs, and something to transfer.
fn source_rules(rules: &mut Rules<'_>, source: &Source, path: &str) {
    match source.kind {
        SessionKind::Root => root_source(rules, source, path),
        SessionKind::User => user_source(rules, source, path),
    }
    source_risks(rules, source, path);
    let written = ["feature_lists", "packages", "accounts"]
        .iter()
        .any(|k| rules.origin.has(&format!("{path}.{k}")));
    if !written {
        rules.warning(
            "empty-source",
            rules.value(path),
            format!("source {:?} lists nothing to transfer", source.name),
            "add [[sources.accounts]], [[sources.packages]] or [[sources.feature_lists]]"
                .to_owned(),
        );
    }
}

/// Settings that expose the source's credentials or its accounts' data on the network:
/// refused unless the source acknowledges them, and a warning on every run when it does.
fn source_risks(rules: &mut Rules<'_>, source: &Source, path: &str) {
    let risks = [
        (
            "plain-text-transport",
            "comm_transport",
            source.comm_transport == Some(super::model::CommTransport::WhostmgrInsecure),
            "`comm_transport = \"whostmgr_insecure\"` sends the source's root password to it over plain HTTP",
            "use `ssh` (the default) or `whostmgr`",
        ),
        (
            "unencrypted-transfer",
            "session.unencrypted",
            source.session.unencrypted == Some(true),
            "`unencrypted = true` moves the accounts' data (mail, databases, files) without encryption",
            "remove `unencrypted` unless the two servers share a private network",
        ),
    ];
    for (risk, key, set, what, fix) in risks {
        if !set {
            continue;
        }
        let span = rules.value(&format!("{path}.{key}"));
        if source.acknowledge.iter().any(|a| a == risk) {
            rules.warning(risk, span, format!("{what} (acknowledged)"), fix.to_owned());
        } else {
            rules.error(
                "unacknowledged-risk",
                span,
                format!("{what}: the risk `{risk}` is not acknowledged"),
                format!("{fix}, or add acknowledge = [\"{risk}\"] to this [[sources]] table"),
            );
        }
    }
}

/// A root session: credentials to log in with, and thread counts the server caps.
fn root_source(rules: &mut Rules<'_>, source: &Source, path: &str) {
    let written = |k: &str| rules.origin.has(&format!("{path}.{k}"));
    if source.password.is_none()
        && source.sshkey_name.is_none()
        && !written("password")
        && !written("sshkey_name")
    {
        rules.error(
            "missing-credentials",
            rules.value(path),
            format!(
                "root source {:?} has neither `password` nor `sshkey_name`",
                source.name
            ),
            format!(
                "add password = {{ env = \"{}\" }}, or sshkey_name = \"...\"",
                super::secret::suggested_env_var(&[&source.name, source.login_user(), "password"])
            ),
        );
    }
    if source.sshkey_passphrase.is_some() && source.sshkey_name.is_none() {
        rules.error(
            "conflict",
            rules.key(&format!("{path}.sshkey_passphrase")),
            "`sshkey_passphrase` needs `sshkey_name`".to_owned(),
            "add sshkey_name = \"...\", or remove the passphrase".to_owned(),
        );
    }
    for key in ["transfer_threads", "restore_threads"] {
        let value = match key {
            "transfer_threads" => source.session.transfer_threads,
            _ => source.session.restore_threads,
        };
        if value.is_some_and(|v| v > 9) {
            rules.warning(
                "capped",
                rules.value(&format!("{path}.session.{key}")),
                format!("`{key}` above 9 is capped at 9 by the server"),
                format!("set `{key}` to 9 or less"),
            );
        }
    }
}

/// A user session: the account's password, and none of the options only a root session
/// takes.
fn user_source(rules: &mut Rules<'_>, source: &Source, path: &str) {
    let header = rules.value(path);
    if source.password.is_none() && !rules.origin.has(&format!("{path}.password")) {
        rules.error(
            "missing-credentials",
            header.clone(),
            format!(
                "user source {:?} needs the cPanel account's `password`",
                source.name
            ),
            format!(
                "add password = {{ env = \"{}\" }}",
                super::secret::suggested_env_var(&[&source.name, "password"])
            ),
        );
    }
    for key in USER_SESSION_UNUSED {
        let key_path = format!("{path}.{key}");
        if rules.origin.has(&key_path) {
            rules.error(
                "not-for-user-session",
                rules.key(&key_path),
                format!("`{key}` is not used by a user transfer session"),
                "create_remote_user_transfer_session takes only host, password and unrestricted_restore; remove it or use kind = \"root\"".to_owned(),
            );
        }
    }
    for key in source.session.set_keys() {
        if key != "unrestricted_restore" {
            rules.error(
                "not-for-user-session",
                rules.key(&format!("{path}.session.{key}")),
                format!("session option `{key}` is not used by a user transfer session"),
                "a user session takes only `unrestricted_restore`; remove it or use kind = \"root\"".to_owned(),
            );
        }
    }
    if source.accounts.len() > 1 {
        rules.warning(
            "user-session-accounts",
            header,
            format!(
                "user source {:?} lists {} accounts; a user session logs in with one account's password",
                source.name,
                source.accounts.len()
            ),
            "use one user source per account".to_owned(),
        );
    }
}

fn items(
    rules: &mut Rules<'_>,
    manifest: &Manifest,
    index: usize,
    catalog: &ModuleCatalog,
    unique: &mut UniqueKeys,
) {
    let source = &manifest.sources[index];
    let ctx = SessionContext {
        kind: source.kind,
        unrestricted_restore: source.session.unrestricted_restore.unwrap_or(false),
    };
    unique.next_session();
    let mut reported_modules = Vec::new();
    for entry in source_items(manifest, index, catalog) {
        let Some(module) = catalog.get(entry.item.module) else {
            rules.error(
                "unknown-module",
                rules.value(&entry.path),
                format!("the module catalog has no {} module", entry.item.module),
                "refresh the module schemas with `whm-migrate schemas pull`".to_owned(),
            );
            continue;
        };
        let mut problems = validate_item(module, ctx, &entry.item.values);
        problems.extend(unique.record(module, &entry.item.values));
        for problem in problems {
            if let ItemProblem::ModuleNotAllowed { .. } = problem {
                if reported_modules.contains(&module.name) {
                    continue;
                }
                reported_modules.push(module.name.clone());
            }
            let (span, note) = locate(rules, &entry, &problem);
            let mut message = problem.message(&module.name);
            message.push_str(note);
            rules.error(problem.code(), span, message, problem.help());
        }
    }
}

/// Where to point for a problem: the key as the item wrote it, else the item's header.
fn locate(
    rules: &Rules<'_>,
    entry: &ItemEntry<'_>,
    problem: &ItemProblem,
) -> (Option<Range<usize>>, &'static str) {
    let item_path = entry.path.as_str();
    let Some(key) = problem.key() else {
        return (rules.value(item_path), "");
    };
    match entry.origin(key) {
        Some(ItemOrigin::Written(path)) => {
            let span = match problem {
                ItemProblem::UnknownKey { .. } | ItemProblem::MissingRequired { .. } => {
                    rules.key(&path)
                }
                _ => rules.value(&path),
            };
            (span, "")
        }
        Some(ItemOrigin::Default) => (rules.value(item_path), " (set by [defaults.accounts])"),
        Some(ItemOrigin::FromUser(path)) => (rules.value(&path), " (localuser defaults to user)"),
        None => (rules.value(item_path), ""),
    }
}
