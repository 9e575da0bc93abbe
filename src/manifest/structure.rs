//! The lenient first pass over the spanned TOML document: it reports every unknown key
//! (with a "did you mean"), wrong type, literal secret and missing key at once, records the
//! span of every key, and prunes the document in place (bad entries removed) so serde can
//! deserialize it and the semantic rules can still run. Pruning in place keeps one copy of
//! the document alive, not two (10,000 accounts are ~10 MB of table nodes).

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::diagnostic::Diagnostic;
use super::gates::{CHECK_NAMES, GATE_KEYS, SOURCE_LEVEL_CHECKS, risk_names, source_risk_names};
use super::origin::{Loc, SpanIndex};
use super::secret::suggested_env_var;
use crate::modules::did_you_mean;

/// What a key's value must be.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expect {
    /// A non-empty string.
    Str,
    /// A non-empty string of `[A-Za-z0-9._-]`.
    Name,
    /// A non-empty string naming a file.
    Path,
    /// A boolean.
    Bool,
    /// An integer in an inclusive range.
    Int(i64, i64),
    /// The manifest version (1).
    Version,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// `{ env = "VAR" }` or `{ file = "PATH" }`.
    Secret(SecretField),
    /// A table.
    Table(&'static TableSpec),
    /// An array of tables.
    Tables(&'static TableSpec),
    /// A table of module keys with scalar values (`[defaults.accounts]`).
    ItemMap,
    /// An array of account tables (fixed keys plus module keys, checked later).
    Accounts,
    /// An array of pre-flight check names (`waive`).
    Checks,
    /// An array of source-level risk names (a `[[sources]]` table's `acknowledge`).
    SourceRisks,
}

/// Which names a gate list takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    /// Pre-flight checks (`waive`).
    Checks,
    /// An item's risks (`acknowledge` on an account).
    ItemRisks,
    /// A source's risks (`acknowledge` on `[[sources]]`).
    SourceRisks,
}

/// Which secret, to suggest an environment variable name.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SecretField {
    Token,
    Password,
    RootPassword,
    Passphrase,
}

/// The keys a table accepts.
#[derive(Debug)]
pub(crate) struct TableSpec {
    /// How to name the table in messages: `[destination]`.
    pub place: &'static str,
    pub keys: &'static [(&'static str, Expect)],
    pub required: &'static [&'static str],
    /// Keys that belong to a child table, for a better hint: (key, where it belongs).
    pub elsewhere: &'static [(&'static [(&'static str, Expect)], &'static str)],
}

const NAME_HELP: &str =
    "use only ASCII letters, digits, `.`, `_` and `-`: names end up in file names and journal keys";

pub(crate) static SESSION_KEYS: &[(&str, Expect)] = &[
    ("transfer_threads", Expect::Int(1, u32::MAX as i64)),
    ("restore_threads", Expect::Int(1, u32::MAX as i64)),
    ("unrestricted_restore", Expect::Bool),
    ("copy_reseller_privs", Expect::Bool),
    ("compressed", Expect::Bool),
    ("unencrypted", Expect::Bool),
    ("use_backups", Expect::Bool),
    ("low_priority", Expect::Bool),
    ("enable_custom_pkgacct", Expect::Bool),
    ("session_timeout", Expect::Int(1, i64::MAX)),
];

static SESSION: TableSpec = TableSpec {
    place: "[sources.session]",
    keys: SESSION_KEYS,
    required: &[],
    elsewhere: &[],
};

static FEATURE_LIST: TableSpec = TableSpec {
    place: "[[sources.feature_lists]]",
    keys: &[
        ("name", Expect::Str),
        ("wave", Expect::Str),
        ("waive", Expect::Checks),
    ],
    required: &["name"],
    elsewhere: &[],
};

static PACKAGE: TableSpec = TableSpec {
    place: "[[sources.packages]]",
    keys: &[
        ("name", Expect::Str),
        ("wave", Expect::Str),
        ("waive", Expect::Checks),
    ],
    required: &["name"],
    elsewhere: &[],
};

pub(crate) static SOURCE_KEYS: &[(&str, Expect)] = &[
    ("name", Expect::Name),
    ("host", Expect::Str),
    ("kind", Expect::Enum(&["root", "user"])),
    ("port", Expect::Int(1, 65535)),
    ("user", Expect::Str),
    ("password", Expect::Secret(SecretField::Password)),
    ("root_password", Expect::Secret(SecretField::RootPassword)),
    ("sshkey_name", Expect::Str),
    ("sshkey_passphrase", Expect::Secret(SecretField::Passphrase)),
    (
        "root_escalation_method",
        Expect::Enum(&["su", "sudo", "none"]),
    ),
    (
        "comm_transport",
        Expect::Enum(&["ssh", "whostmgr", "whostmgr_insecure"]),
    ),
    ("session", Expect::Table(&SESSION)),
    ("feature_lists", Expect::Tables(&FEATURE_LIST)),
    ("packages", Expect::Tables(&PACKAGE)),
    ("accounts", Expect::Accounts),
    ("waive", Expect::Checks),
    ("acknowledge", Expect::SourceRisks),
];

static SOURCE: TableSpec = TableSpec {
    place: "[[sources]]",
    keys: SOURCE_KEYS,
    required: &["name", "host", "kind"],
    elsewhere: &[(SESSION_KEYS, "[sources.session]")],
};

static SIMULATOR: TableSpec = TableSpec {
    place: "[destination.simulator]",
    keys: &[
        ("world", Expect::Path),
        ("transfer_mb_s", Expect::Int(1, 1_000_000_000)),
    ],
    required: &["world"],
    elsewhere: &[],
};

static TIMEOUT_KEYS: &[(&str, Expect)] = &[
    ("connect_secs", Expect::Int(1, i64::MAX)),
    ("request_secs", Expect::Int(1, i64::MAX)),
    ("long_request_secs", Expect::Int(1, i64::MAX)),
];

static TIMEOUTS: TableSpec = TableSpec {
    place: "[destination.timeouts]",
    keys: TIMEOUT_KEYS,
    required: &[],
    elsewhere: &[],
};

static DESTINATION: TableSpec = TableSpec {
    place: "[destination]",
    keys: &[
        ("url", Expect::Str),
        ("simulator", Expect::Table(&SIMULATOR)),
        ("user", Expect::Str),
        ("token", Expect::Secret(SecretField::Token)),
        ("ca_file", Expect::Path),
        ("pin_sha256", Expect::Str),
        ("insecure", Expect::Bool),
        ("timeouts", Expect::Table(&TIMEOUTS)),
        ("enqueues_per_session", Expect::Int(1, 64)),
    ],
    required: &[],
    elsewhere: &[(TIMEOUT_KEYS, "[destination.timeouts]")],
};

static DEFAULTS: TableSpec = TableSpec {
    place: "[defaults]",
    keys: &[("accounts", Expect::ItemMap)],
    required: &[],
    elsewhere: &[],
};

static STATE: TableSpec = TableSpec {
    place: "[state]",
    keys: &[
        ("backend", Expect::Enum(&["local", "s3"])),
        ("bucket", Expect::Str),
        ("prefix", Expect::Str),
        ("region", Expect::Str),
        ("endpoint", Expect::Str),
        ("lease_seconds", Expect::Int(10, 3600)),
    ],
    required: &[],
    elsewhere: &[],
};

static VERIFY: TableSpec = TableSpec {
    place: "[verify]",
    keys: &[
        ("disk_tolerance_percent", Expect::Int(0, 100)),
        ("files_tolerance_percent", Expect::Int(0, 100)),
        ("http_port", Expect::Int(1, 65535)),
        ("https_port", Expect::Int(1, 65535)),
        ("http_timeout_seconds", Expect::Int(1, 300)),
        ("http_concurrency", Expect::Int(1, 64)),
    ],
    required: &[],
    elsewhere: &[],
};

pub(crate) static ROOT: TableSpec = TableSpec {
    place: "the top level",
    keys: &[
        ("version", Expect::Version),
        ("name", Expect::Name),
        ("destination", Expect::Table(&DESTINATION)),
        ("defaults", Expect::Table(&DEFAULTS)),
        ("sources", Expect::Tables(&SOURCE)),
        ("state", Expect::Table(&STATE)),
        ("verify", Expect::Table(&VERIFY)),
    ],
    required: &["version", "name", "destination"],
    elsewhere: &[
        (SOURCE_KEYS, "[[sources]]"),
        (SESSION_KEYS, "[sources.session]"),
    ],
};

/// The first pass's results.
pub(crate) struct Walked<'i> {
    pub pruned: Spanned<DeTable<'i>>,
    pub spans: SpanIndex,
    pub diagnostics: Vec<Diagnostic>,
    pub redactions: Vec<Range<usize>>,
}

/// Runs the first pass over a parsed document, pruning it in place.
pub(crate) fn walk(mut doc: Spanned<DeTable<'_>>) -> Walked<'_> {
    let mut walker = Walker::default();
    let root_span = 0..0;
    walker.table(&ROOT, doc.get_mut(), &root_span, "");
    Walked {
        pruned: doc,
        spans: walker.spans,
        diagnostics: walker.diagnostics,
        redactions: walker.redactions,
    }
}

#[derive(Default)]
struct Walker {
    spans: SpanIndex,
    diagnostics: Vec<Diagnostic>,
    redactions: Vec<Range<usize>>,
    /// For secret hints inside a source: (source name, login user or "").
    source_hint: Option<(String, String)>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn article(type_str: &str) -> String {
    let a = if type_str.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{a} {type_str}")
}

impl Walker {
    fn error(&mut self, code: &'static str, span: Range<usize>, message: String, help: String) {
        self.diagnostics
            .push(Diagnostic::error(code, message).at(Some(span)).help(help));
    }

    fn wrong_type(
        &mut self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
        expected: &str,
        help: String,
    ) {
        let found = article(value.get_ref().type_str());
        self.error(
            "wrong-type",
            value.span(),
            format!("`{key}` must be {expected}, found {found}"),
            help,
        );
    }

    /// Checks a table against `spec` and removes the entries that failed.
    fn table(
        &mut self,
        spec: &TableSpec,
        table: &mut DeTable<'_>,
        span: &Range<usize>,
        path: &str,
    ) {
        let mut bad = Vec::new();
        for (key, value) in table.iter_mut() {
            let name = key.get_ref().as_ref();
            let Some((_, expect)) = spec.keys.iter().find(|(k, _)| *k == name) else {
                if secret_looking(spec, name) && !is_reference(value.get_ref()) {
                    self.redactions.push(value.span());
                }
                self.unknown_key(spec, name, key.span());
                bad.push(name.to_owned());
                continue;
            };
            let child = join(path, name);
            self.spans.insert(
                child.clone(),
                Loc {
                    key: key.span(),
                    value: value.span(),
                },
            );
            if !self.value(*expect, name, value, &child) {
                bad.push(name.to_owned());
            }
        }
        for required in spec.required {
            if !table.keys().any(|k| k.get_ref() == required) {
                let example = match *required {
                    "version" => "version = 1".to_owned(),
                    "kind" => "kind = \"root\"".to_owned(),
                    "destination" => "a [destination] table".to_owned(),
                    other => format!("{other} = \"...\""),
                };
                self.error(
                    "missing-key",
                    span.clone(),
                    format!("missing `{required}` in {}", spec.place),
                    format!("add {example}"),
                );
            }
        }
        remove_keys(table, &bad);
    }

    fn unknown_key(&mut self, spec: &TableSpec, name: &str, span: Range<usize>) {
        let help = if std::ptr::eq(spec, &raw const STATE) && credential_like(name) {
            "credentials never go in the manifest: whm-migrate reads the bucket's from the AWS environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or profile (AWS_PROFILE); remove this key".to_owned()
        } else if let Some(s) = did_you_mean(name, spec.keys.iter().map(|(k, _)| *k)) {
            format!("did you mean `{s}`?")
        } else if let Some((_, place)) = spec
            .elsewhere
            .iter()
            .find(|(keys, _)| keys.iter().any(|(k, _)| *k == name))
        {
            format!("`{name}` belongs in {place}")
        } else {
            let valid: Vec<&str> = spec.keys.iter().map(|(k, _)| *k).collect();
            format!("valid keys here: {}", valid.join(", "))
        };
        self.error(
            "unknown-key",
            span,
            format!("unknown key `{name}` in {}", spec.place),
            help,
        );
    }

    /// Checks one value (and prunes a table or an array in place); false when the entry
    /// must be removed.
    fn value(
        &mut self,
        expect: Expect,
        key: &str,
        value: &mut Spanned<DeValue<'_>>,
        path: &str,
    ) -> bool {
        let span = value.span();
        match (expect, value.get_mut()) {
            (Expect::Table(spec), DeValue::Table(t)) => self.table(spec, t, &span, path),
            (Expect::Tables(spec), DeValue::Array(items)) => self.tables(spec, key, items, path),
            (Expect::ItemMap, DeValue::Table(t)) => self.scalars(t, path, &[]),
            (Expect::Accounts, DeValue::Array(items)) => self.accounts(key, items, path),
            (Expect::Checks, _) => {
                // Only packages and feature lists reach here as items; `[[sources]]`
                // waives for the whole source.
                let item_level = path.contains("packages") || path.contains("feature_lists");
                self.gate_names(key, value, Gate::Checks, item_level);
            }
            (Expect::SourceRisks, _) => self.gate_names(key, value, Gate::SourceRisks, false),
            _ => return self.single(expect, key, value),
        }
        // A container keeps its place: its bad entries were pruned inside it.
        true
    }

    /// Checks a value that is not pruned inside: a scalar, a secret, or something else
    /// where a table or an array of tables belongs. False when the entry must be removed.
    fn single(&mut self, expect: Expect, key: &str, value: &Spanned<DeValue<'_>>) -> bool {
        match expect {
            Expect::Str | Expect::Path | Expect::Name => self.string(expect, key, value),
            Expect::Bool => {
                matches!(value.get_ref(), DeValue::Boolean(_))
                    || self.reject(
                        key,
                        value,
                        "a boolean",
                        format!("write `{key} = true` or `{key} = false`"),
                    )
            }
            Expect::Int(min, max) => self.integer(min, max, key, value),
            Expect::Version => self.version(key, value),
            Expect::Enum(allowed) => self.one_of(allowed, key, value),
            Expect::Secret(field) => self.secret(field, key, value),
            // Checked and pruned in `value`, whatever its type.
            Expect::Checks | Expect::SourceRisks => true,
            // A container of the right type was checked in `value`.
            Expect::Table(spec) => {
                self.reject(key, value, "a table", format!("write it as {}", spec.place))
            }
            Expect::Tables(spec) => self.reject(
                key,
                value,
                "an array of tables",
                format!("write each entry as {}", spec.place),
            ),
            Expect::ItemMap => self.reject(
                key,
                value,
                "a table",
                "write it as [defaults.accounts]".to_owned(),
            ),
            Expect::Accounts => self.reject(
                key,
                value,
                "an array of tables",
                "write each entry as [[sources.accounts]]".to_owned(),
            ),
        }
    }

    /// Reports a value of the wrong type; false, as the entry must be removed.
    fn reject(
        &mut self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
        expected: &str,
        help: String,
    ) -> bool {
        self.wrong_type(key, value, expected, help);
        false
    }

    /// `Str`, `Path` or `Name`: a non-empty string; a name only of `[A-Za-z0-9._-]`.
    fn string(&mut self, expect: Expect, key: &str, value: &Spanned<DeValue<'_>>) -> bool {
        let DeValue::String(s) = value.get_ref() else {
            return self.reject(
                key,
                value,
                "a string",
                format!("put the value in quotes: `{key} = \"...\"`"),
            );
        };
        if s.is_empty() {
            self.error(
                "empty-value",
                value.span(),
                format!("`{key}` must not be empty"),
                format!("give `{key}` a value, or remove it"),
            );
            return false;
        }
        if !matches!(expect, Expect::Name)
            || s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return true;
        }
        self.error(
            "bad-name",
            value.span(),
            format!("`{key}` {s:?} may only contain ASCII letters, digits, `.`, `_` and `-`"),
            NAME_HELP.to_owned(),
        );
        false
    }

    /// An integer from `min` to `max`.
    fn integer(&mut self, min: i64, max: i64, key: &str, value: &Spanned<DeValue<'_>>) -> bool {
        if !matches!(value.get_ref(), DeValue::Integer(_)) {
            return self.reject(
                key,
                value,
                "an integer",
                format!("write a number without quotes, like `{key} = 2`"),
            );
        }
        if int_value(value.get_ref()).is_some_and(|n| (min..=max).contains(&n)) {
            return true;
        }
        self.error(
            "out-of-range",
            value.span(),
            format!("`{key}` is out of range ({min} to {max})"),
            format!("use a whole number from {min} to {max}"),
        );
        false
    }

    /// The manifest version: the integer 1.
    fn version(&mut self, key: &str, value: &Spanned<DeValue<'_>>) -> bool {
        let Some(written) = value.get_ref().as_integer() else {
            return self.reject(
                key,
                value,
                "the integer 1",
                "write `version = 1`".to_owned(),
            );
        };
        if int_value(value.get_ref()) == Some(1) {
            return true;
        }
        self.error(
            "unknown-version",
            value.span(),
            format!("unknown manifest version {written}; this whm-migrate reads version 1"),
            "write `version = 1`, or upgrade whm-migrate".to_owned(),
        );
        false
    }

    /// One of the `allowed` strings.
    fn one_of(&mut self, allowed: &[&str], key: &str, value: &Spanned<DeValue<'_>>) -> bool {
        let DeValue::String(s) = value.get_ref() else {
            return self.reject(
                key,
                value,
                &format!("one of {}", quoted(allowed)),
                format!("write `{key} = \"{}\"`", allowed[0]),
            );
        };
        if allowed.contains(&s.as_ref()) {
            return true;
        }
        let help = match did_you_mean(s, allowed.iter().copied()) {
            Some(m) => format!("did you mean \"{m}\"?"),
            None => format!("use one of: {}", quoted(allowed)),
        };
        self.error(
            "invalid-value",
            value.span(),
            format!("`{key}` must be one of {}, found {s:?}", quoted(allowed)),
            help,
        );
        false
    }

    /// Module keys: scalar values only (`strings` must be strings); keys are checked
    /// against the module schema later.
    fn scalars(&mut self, table: &mut DeTable<'_>, path: &str, strings: &[&str]) {
        let mut bad = Vec::new();
        for (key, value) in table.iter_mut() {
            let name = key.get_ref().as_ref();
            self.spans.insert(
                join(path, name),
                Loc {
                    key: key.span(),
                    value: value.span(),
                },
            );
            if GATE_KEYS.contains(&name) {
                let gate = if name == "waive" {
                    Gate::Checks
                } else {
                    Gate::ItemRisks
                };
                self.gate_names(name, value, gate, true);
            } else if !self.module_value(name, value, strings.contains(&name)) {
                bad.push(name.to_owned());
            }
        }
        remove_keys(table, &bad);
    }

    /// One module key's value: a string when `string` (the account's own keys), else a
    /// boolean, a 64-bit integer or a string. False when the entry must be removed.
    fn module_value(&mut self, name: &str, value: &Spanned<DeValue<'_>>, string: bool) -> bool {
        match value.get_ref() {
            DeValue::String(s) if string && s.is_empty() => {
                self.error(
                    "empty-value",
                    value.span(),
                    format!("`{name}` must not be empty"),
                    format!("give `{name}` a value, or remove it"),
                );
                false
            }
            DeValue::String(_) => true,
            _ if string => self.reject(
                name,
                value,
                "a string",
                format!("put the value in quotes: `{name} = \"...\"`"),
            ),
            DeValue::Boolean(_) => true,
            DeValue::Integer(_) if int_value(value.get_ref()).is_some() => true,
            DeValue::Integer(_) => {
                self.error(
                    "out-of-range",
                    value.span(),
                    format!("`{name}` does not fit in a 64-bit integer"),
                    "use a smaller number".to_owned(),
                );
                false
            }
            _ => self.reject(
                name,
                value,
                "a boolean, an integer or a string",
                "module keys take true/false, whole numbers or strings".to_owned(),
            ),
        }
    }

    /// Records where an entry of an array of tables (`place`) is; returns it as a table,
    /// or reports that it is not one.
    fn entry<'t, 'd>(
        &mut self,
        key: &str,
        item: &'t mut Spanned<DeValue<'d>>,
        item_path: &str,
        place: &str,
    ) -> Option<&'t mut DeTable<'d>> {
        let span = item.span();
        self.spans.insert(
            item_path.to_owned(),
            Loc {
                key: span.clone(),
                value: span,
            },
        );
        if !matches!(item.get_ref(), DeValue::Table(_)) {
            self.wrong_type(
                key,
                item,
                "an array of tables",
                format!("write each entry as {place}"),
            );
            return None;
        }
        match item.get_mut() {
            DeValue::Table(t) => Some(t),
            _ => None,
        }
    }

    /// `[[sources]]`, `[[sources.packages]]`, `[[sources.feature_lists]]`: each entry is
    /// checked against `spec`; entries that are not tables or miss a required key are
    /// removed.
    fn tables(&mut self, spec: &TableSpec, key: &str, items: &mut DeArray<'_>, path: &str) {
        let mut keep = Vec::with_capacity(items.len());
        for (i, item) in items.iter_mut().enumerate() {
            let item_path = format!("{path}[{i}]");
            let item_span = item.span();
            let Some(t) = self.entry(key, item, &item_path, spec.place) else {
                keep.push(false);
                continue;
            };
            if spec.place == "[[sources]]" {
                self.source_hint = Some(source_hint(t));
            }
            let missing = spec
                .required
                .iter()
                .any(|r| !t.keys().any(|k| k.get_ref() == r));
            self.table(spec, t, &item_span, &item_path);
            self.source_hint = None;
            keep.push(!missing);
        }
        retain_items(items, &keep);
    }

    /// `[[sources.accounts]]`: fixed keys plus module keys; an entry without a valid
    /// `user` is removed.
    fn accounts(&mut self, key: &str, items: &mut DeArray<'_>, path: &str) {
        let has_user = |t: &DeTable<'_>| t.keys().any(|k| k.get_ref() == "user");
        let mut keep = Vec::with_capacity(items.len());
        for (i, item) in items.iter_mut().enumerate() {
            let item_path = format!("{path}[{i}]");
            let item_span = item.span();
            let Some(t) = self.entry(key, item, &item_path, "[[sources.accounts]]") else {
                keep.push(false);
                continue;
            };
            let written = has_user(t);
            self.scalars(t, &item_path, &["user", "domain", "localuser", "wave"]);
            let kept = has_user(t);
            if !written {
                self.error(
                    "missing-key",
                    item_span,
                    "missing `user` in [[sources.accounts]]".to_owned(),
                    "add user = \"...\" (the account's name on the source)".to_owned(),
                );
            }
            keep.push(kept);
        }
        retain_items(items, &keep);
    }

    /// `waive = [...]` (check names) or `acknowledge = [...]` (risk names): every name
    /// must be known; unknown ones are reported (with a "did you mean") and dropped.
    fn gate_names(
        &mut self,
        key: &str,
        value: &mut Spanned<DeValue<'_>>,
        gate: Gate,
        item_level: bool,
    ) {
        let checks = gate == Gate::Checks;
        let (what, known): (&str, Vec<&str>) = match gate {
            Gate::Checks => ("pre-flight check", CHECK_NAMES.to_vec()),
            Gate::ItemRisks => ("risk", risk_names().collect()),
            Gate::SourceRisks => ("source risk", source_risk_names().collect()),
        };
        let example = format!("write `{key} = [\"{}\"]`", known[0]);
        let DeValue::Array(names) = value.get_mut() else {
            self.wrong_type(key, value, "an array of names", example);
            *value = Spanned::new(value.span(), DeValue::Array(DeArray::new()));
            return;
        };
        let mut keep = Vec::with_capacity(names.len());
        for name in names.iter() {
            let DeValue::String(s) = name.get_ref() else {
                self.wrong_type(key, name, "a name in quotes", example.clone());
                keep.push(false);
                continue;
            };
            if known.contains(&s.as_ref()) {
                if checks && item_level && SOURCE_LEVEL_CHECKS.contains(&s.as_ref()) {
                    self.diagnostics.push(
                        Diagnostic::warning(
                            "source-level-check",
                            format!("`{key}` here cannot waive {s:?}: that check concerns the whole source, not an item"),
                        )
                        .at(Some(name.span()))
                        .help(format!("waive it on the [[sources]] table: waive = [{s:?}]")),
                    );
                }
                keep.push(true);
                continue;
            }
            keep.push(false);
            let help = match did_you_mean(s, known.iter().copied()) {
                Some(m) => format!("did you mean \"{m}\"?"),
                None => format!("known {what} names: {}", quoted(&known)),
            };
            self.error(
                "unknown-name",
                name.span(),
                format!("`{key}` names an unknown {what} {s:?}"),
                help,
            );
        }
        retain_items(names, &keep);
    }

    /// A secret reference: `{ env = "VAR" }` or `{ file = "PATH" }`. A literal string is
    /// an error, and masked (`"***"`) where the diagnostics quote the manifest.
    fn secret(&mut self, field: SecretField, key: &str, value: &Spanned<DeValue<'_>>) -> bool {
        let span = value.span();
        match value.get_ref() {
            DeValue::Table(t) => self.secret_table(field, key, t, span),
            DeValue::String(_) => {
                self.redactions.push(span.clone());
                self.error(
                    "literal-secret",
                    span,
                    format!("`{key}` is a literal secret; manifests must not contain secrets"),
                    format!(
                        "write `{key} = {{ env = \"{}\" }}` and set that variable, or use {{ file = \"PATH\" }}",
                        self.env_hint(field)
                    ),
                );
                false
            }
            _ => {
                // A number or a date where a secret reference belongs is a secret too.
                self.redactions.push(span);
                let help = format!("write `{key} = {{ env = \"{}\" }}`", self.env_hint(field));
                self.reject(key, value, "a secret reference", help)
            }
        }
    }

    /// The table of a secret reference: only `env` or `file`, exactly one, a non-empty
    /// string.
    fn secret_table(
        &mut self,
        field: SecretField,
        key: &str,
        table: &DeTable<'_>,
        span: Range<usize>,
    ) -> bool {
        let mut ok = true;
        for (k, v) in table {
            let name = k.get_ref().as_ref();
            if !matches!(name, "env" | "file") {
                let near = did_you_mean(name, ["env", "file"]);
                // Whatever stands in a secret table but a reference (or a misspelled
                // one: `evn`) may be the secret itself.
                if near.is_none() {
                    self.redactions.push(v.span());
                }
                let help = match near {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "a secret is { env = \"VAR\" } or { file = \"PATH\" }".to_owned(),
                };
                self.error(
                    "unknown-key",
                    k.span(),
                    format!("unknown key `{name}` in secret `{key}`"),
                    help,
                );
                ok = false;
            } else if !matches!(v.get_ref(), DeValue::String(s) if !s.is_empty()) {
                ok = self.reject(
                    name,
                    v,
                    "a non-empty string",
                    format!("write `{key} = {{ {name} = \"...\" }}`"),
                );
            }
        }
        if ok && table.len() != 1 {
            self.error(
                "invalid-secret",
                span,
                format!("secret `{key}` must have exactly one of `env` or `file`"),
                format!("write `{key} = {{ env = \"{}\" }}`", self.env_hint(field)),
            );
            ok = false;
        }
        ok
    }

    fn env_hint(&self, field: SecretField) -> String {
        let (source, user) = self
            .source_hint
            .clone()
            .unwrap_or_else(|| (String::new(), String::new()));
        match field {
            SecretField::Token => "WHM_API_TOKEN".to_owned(),
            SecretField::Password => suggested_env_var(&[&source, &user, "password"]),
            SecretField::RootPassword => suggested_env_var(&[&source, "root", "password"]),
            SecretField::Passphrase => suggested_env_var(&[&source, "sshkey", "passphrase"]),
        }
    }
}

/// Whether a `[state]` key names a credential (`access_key_id`, `aws_secret_access_key`,
/// `session_token`, `password`…).
fn credential_like(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["key", "secret", "token", "password", "credential", "aws_"]
        .iter()
        .any(|w| name.contains(w))
}

/// Whether an unknown key's value may be a secret: its name says so (`password`,
/// `passphrase`, `secret`, `token`, …, misspelled too), or the key it is closest to
/// takes a secret reference (`root_pasword` → `root_password`).
fn secret_looking(spec: &TableSpec, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let named = [
        "pass",
        "pwd",
        "secret",
        "token",
        "credential",
        "private",
        "apikey",
        "api_key",
    ]
    .iter()
    .any(|word| lower.contains(word));
    let near_secret = did_you_mean(name, spec.keys.iter().map(|(k, _)| *k)).is_some_and(|s| {
        spec.keys
            .iter()
            .any(|(k, e)| *k == s && matches!(e, Expect::Secret(_)))
    });
    named || near_secret || (std::ptr::eq(spec, &raw const STATE) && credential_like(name))
}

/// Whether `value` is a secret reference's shape (`{ env = … }`, `{ file = … }`): it
/// names where a secret is, not the secret, so it is shown.
fn is_reference(value: &DeValue<'_>) -> bool {
    matches!(value, DeValue::Table(t)
        if t.iter().all(|(k, _)| matches!(k.get_ref().as_ref(), "env" | "file")))
}

fn source_hint(t: &DeTable<'_>) -> (String, String) {
    let get = |k: &str| {
        t.iter()
            .find(|(key, _)| key.get_ref() == k)
            .and_then(|(_, v)| v.get_ref().as_str().map(str::to_owned))
    };
    let name = get("name").unwrap_or_else(|| "source".to_owned());
    let user = match get("kind").as_deref() {
        Some("user") => String::new(),
        _ => get("user").unwrap_or_else(|| "root".to_owned()),
    };
    (name, user)
}

fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A TOML integer as i64, if it fits.
pub(crate) fn int_value(value: &DeValue<'_>) -> Option<i64> {
    let int = value.as_integer()?;
    i64::from_str_radix(int.as_str(), int.radix()).ok()
}

/// Removes the entries named in `bad`.
fn remove_keys(table: &mut DeTable<'_>, bad: &[String]) {
    for name in bad {
        table.remove(name.as_str());
    }
}

/// Keeps the array entries whose `keep` flag is set, in order.
fn retain_items(items: &mut DeArray<'_>, keep: &[bool]) {
    if keep.iter().all(|k| *k) {
        return;
    }
    let old = std::mem::replace(items, DeArray::new());
    *items = old
        .into_iter()
        .zip(keep)
        .filter_map(|(item, keep)| keep.then_some(item))
        .collect();
}
