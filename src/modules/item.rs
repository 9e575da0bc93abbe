//! Queue items: their values, the rules an item must meet before it is enqueued, and its
//! `enqueue_transfer_item` form parameters.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::catalog::{CatalogModule, SessionKind};
use super::field_type::{FieldKind, FieldType, TEXT_MAX_BYTES};

/// A value of a module key as written in a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemValue {
    /// A flag (`true`/`false`), sent as `1`/`0`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
}

impl ItemValue {
    /// `a boolean`, `an integer` or `a string`, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "an integer",
            Self::Str(_) => "a string",
        }
    }

    /// The value as the form parameter WHM expects (`1`/`0` for booleans).
    pub fn to_param(&self) -> String {
        match self {
            Self::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
            Self::Int(i) => i.to_string(),
            Self::Str(s) => s.clone(),
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is `true`.
    pub fn is_true(&self) -> bool {
        matches!(self, Self::Bool(true))
    }
}

impl fmt::Display for ItemValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// An item's keys as they will be sent: only the keys actually set.
pub type Item = BTreeMap<String, ItemValue>;

/// What item rules need to know about the session the item goes into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionContext {
    /// Root or user session.
    pub kind: SessionKind,
    /// Whether the session is created with `unrestricted_restore=1`.
    pub unrestricted_restore: bool,
}

/// One rule an item breaks. `key()` names the key to point at, when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemProblem {
    /// The module's schema has no such key; WHM rejects the whole item.
    UnknownKey {
        /// The key.
        key: String,
        /// The closest valid key, if one is close.
        suggestion: Option<String>,
    },
    /// A flag given as something other than a boolean.
    NotAFlag {
        /// The key.
        key: String,
        /// The type found.
        found: &'static str,
    },
    /// A value of the wrong type.
    WrongType {
        /// The key.
        key: String,
        /// What the schema wants.
        expected: String,
        /// The type found.
        found: &'static str,
    },
    /// A string longer than its column.
    TooLong {
        /// The key.
        key: String,
        /// The column's limit.
        max: usize,
        /// The value's length.
        len: usize,
        /// `characters` or `bytes`.
        unit: &'static str,
    },
    /// An integer outside its column's range.
    OutOfRange {
        /// The key.
        key: String,
        /// The value.
        value: i64,
        /// The smallest allowed.
        min: i64,
        /// The largest allowed.
        max: i64,
    },
    /// A required key is missing (or empty).
    MissingRequired {
        /// The key.
        key: String,
    },
    /// The module cannot be enqueued in this kind of session.
    ModuleNotAllowed {
        /// The module.
        module: String,
        /// The session's kind.
        kind: SessionKind,
    },
    /// `force` or `skipaccount` with `user` different from `localuser`.
    NeedsSameUser {
        /// `force` or `skipaccount`.
        key: String,
        /// The item's `user`.
        user: String,
        /// The item's `localuser`.
        localuser: String,
    },
    /// `customip` without `ip = true`.
    CustomIpNeedsIp,
    /// `force` in a session created with `unrestricted_restore = true`.
    ForceWithUnrestrictedRestore,
    /// The same primary key twice in one session.
    DuplicatePrimary {
        /// The primary key column.
        key: String,
        /// The repeated value.
        value: String,
    },
    /// The same `localuser` twice in the manifest.
    DuplicateLocaluser {
        /// The repeated value.
        value: String,
    },
}

impl ItemProblem {
    /// The key the problem is about, to point at in the manifest.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::UnknownKey { key, .. }
            | Self::NotAFlag { key, .. }
            | Self::WrongType { key, .. }
            | Self::TooLong { key, .. }
            | Self::OutOfRange { key, .. }
            | Self::MissingRequired { key }
            | Self::NeedsSameUser { key, .. }
            | Self::DuplicatePrimary { key, .. } => Some(key),
            Self::CustomIpNeedsIp => Some("customip"),
            Self::ForceWithUnrestrictedRestore => Some("force"),
            Self::DuplicateLocaluser { .. } => Some("localuser"),
            Self::ModuleNotAllowed { .. } => None,
        }
    }

    /// A stable code for CI annotations and snapshots.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownKey { .. } => "unknown-key",
            Self::NotAFlag { .. } => "not-a-flag",
            Self::WrongType { .. } => "wrong-type",
            Self::TooLong { .. } => "too-long",
            Self::OutOfRange { .. } => "out-of-range",
            Self::MissingRequired { .. } => "missing-key",
            Self::ModuleNotAllowed { .. } => "module-not-allowed",
            Self::NeedsSameUser { .. } => "needs-same-user",
            Self::CustomIpNeedsIp => "customip-needs-ip",
            Self::ForceWithUnrestrictedRestore => "force-with-unrestricted-restore",
            Self::DuplicatePrimary { .. } => "duplicate-item",
            Self::DuplicateLocaluser { .. } => "duplicate-localuser",
        }
    }

    /// The message, naming `module`.
    pub fn message(&self, module: &str) -> String {
        match self {
            Self::UnknownKey { key, .. } => format!("`{key}` is not a key of the {module} module"),
            Self::NotAFlag { key, found } => {
                format!("`{key}` is a flag and must be true or false, found {found}")
            }
            Self::WrongType {
                key,
                expected,
                found,
            } => format!("`{key}` must be {expected}, found {found}"),
            Self::TooLong {
                key,
                max,
                len,
                unit,
            } => format!("`{key}` is {len} {unit} long; the {module} column holds at most {max}"),
            Self::OutOfRange {
                key,
                value,
                min,
                max,
            } => format!("`{key}` = {value} is out of range ({min} to {max})"),
            Self::MissingRequired { key } => {
                format!("missing `{key}`, which the {module} module requires")
            }
            Self::ModuleNotAllowed { module, kind } => {
                format!("a {kind} transfer session cannot enqueue {module} items")
            }
            Self::NeedsSameUser {
                key,
                user,
                localuser,
            } => format!(
                "`{key} = true` needs `localuser` to equal `user`, but user is {user:?} and localuser is {localuser:?}"
            ),
            Self::CustomIpNeedsIp => "`customip` needs `ip = true`".to_owned(),
            Self::ForceWithUnrestrictedRestore => {
                "`force = true` cannot be used in a session with `unrestricted_restore = true`"
                    .to_owned()
            }
            Self::DuplicatePrimary { key, value } => format!(
                "{module} item with {key} {value:?} appears twice in this source; WHM queues a primary key once per session"
            ),
            Self::DuplicateLocaluser { value } => format!(
                "localuser {value:?} is used more than once in the manifest; each destination account can be created once"
            ),
        }
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        match self {
            Self::UnknownKey {
                suggestion: Some(s),
                ..
            } => format!("did you mean `{s}`?"),
            Self::UnknownKey { .. } => {
                "remove it; WHM rejects items with keys outside the module's schema".to_owned()
            }
            Self::NotAFlag { key, .. } => format!("write `{key} = true` or `{key} = false`"),
            Self::WrongType { .. } => "change the value's type".to_owned(),
            Self::TooLong { .. } => "shorten the value".to_owned(),
            Self::OutOfRange { min, max, .. } => format!("use a value from {min} to {max}"),
            Self::MissingRequired { key } => format!("add `{key} = ...`"),
            Self::ModuleNotAllowed { kind, .. } => match kind {
                SessionKind::User => {
                    "move these items to a source with `kind = \"root\"`, or remove them".to_owned()
                }
                SessionKind::Root => {
                    "move these items to a source with `kind = \"user\"`".to_owned()
                }
            },
            Self::NeedsSameUser { key, .. } => {
                format!("remove `{key}`, or set `localuser` to the source user name")
            }
            Self::CustomIpNeedsIp => "add `ip = true`, or remove `customip`".to_owned(),
            Self::ForceWithUnrestrictedRestore => {
                "set `unrestricted_restore = false` in [sources.session], or remove `force`"
                    .to_owned()
            }
            Self::DuplicatePrimary { .. } => "remove one of the two entries".to_owned(),
            Self::DuplicateLocaluser { .. } => {
                "give one of them another `localuser`, or remove the duplicate".to_owned()
            }
        }
    }
}

/// Checks one value against its key's type.
pub fn check_value(key: &str, ty: &FieldType, value: &ItemValue) -> Option<ItemProblem> {
    if ty.is_flag() {
        return match value {
            ItemValue::Bool(_) => None,
            other => Some(ItemProblem::NotAFlag {
                key: key.to_owned(),
                found: other.type_name(),
            }),
        };
    }
    let wrong = |expected: String| ItemProblem::WrongType {
        key: key.to_owned(),
        expected,
        found: value.type_name(),
    };
    match (ty.kind, value) {
        (FieldKind::Char { max } | FieldKind::VarChar { max }, ItemValue::Str(s)) => {
            let len = s.chars().count();
            let max = max as usize;
            (len > max).then(|| ItemProblem::TooLong {
                key: key.to_owned(),
                max,
                len,
                unit: "characters",
            })
        }
        (FieldKind::Text, ItemValue::Str(s)) => {
            (s.len() > TEXT_MAX_BYTES).then(|| ItemProblem::TooLong {
                key: key.to_owned(),
                max: TEXT_MAX_BYTES,
                len: s.len(),
                unit: "bytes",
            })
        }
        (FieldKind::Int | FieldKind::BigIntUnsigned, ItemValue::Int(i)) => {
            let (min, max) = ty.int_range().unwrap_or((i64::MIN, i64::MAX));
            (!(min..=max).contains(i)).then(|| ItemProblem::OutOfRange {
                key: key.to_owned(),
                value: *i,
                min,
                max,
            })
        }
        (FieldKind::Int | FieldKind::BigIntUnsigned, _) => Some(wrong("an integer".to_owned())),
        (_, _) => Some(wrong("a string".to_owned())),
    }
}

/// The closest of `candidates` to `word`, if one is close enough to suggest: a small edit
/// distance (transpositions count once) or a high Jaro-Winkler similarity.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let max_edits = (lower.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|c| {
            let c_lower = c.to_ascii_lowercase();
            let edits = strsim::osa_distance(&lower, &c_lower);
            let similarity = strsim::jaro_winkler(&lower, &c_lower);
            (edits <= max_edits || similarity >= 0.85).then_some((edits, similarity, c))
        })
        .min_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| b.1.total_cmp(&a.1))
                .then_with(|| a.2.cmp(b.2))
        })
        .map(|(_, _, c)| c)
}

/// Checks one item against its module: module allowed for the session kind, keys known,
/// values fit, required keys present, and the cross-field rules of `enqueue_transfer_item`
/// (`force`/`skipaccount` need `user == localuser`; `force` not with an unrestricted
/// session; `customip` needs `ip`). Duplicates are checked across items by
/// [`UniqueKeys`].
pub fn validate_item(
    module: &CatalogModule,
    session: SessionContext,
    item: &Item,
) -> Vec<ItemProblem> {
    let mut problems = Vec::new();
    if !module.allows(session.kind) {
        problems.push(ItemProblem::ModuleNotAllowed {
            module: module.name.clone(),
            kind: session.kind,
        });
    }
    let schema = &module.schema;
    for (key, value) in item {
        match schema.key(key) {
            None => problems.push(ItemProblem::UnknownKey {
                key: key.clone(),
                suggestion: did_you_mean(key, schema.keys.keys().map(String::as_str))
                    .map(str::to_owned),
            }),
            Some(ty) => problems.extend(check_value(key, ty, value)),
        }
    }
    for key in &schema.required {
        let present = match item.get(key) {
            Some(ItemValue::Str(s)) => !s.is_empty(),
            Some(_) => true,
            None => false,
        };
        if !present {
            problems.push(ItemProblem::MissingRequired { key: key.clone() });
        }
    }
    let user = item.get("user").and_then(ItemValue::as_str);
    let localuser = item.get("localuser").and_then(ItemValue::as_str);
    for key in ["force", "skipaccount"] {
        if item.get(key).is_some_and(ItemValue::is_true)
            && let (Some(user), Some(localuser)) = (user, localuser)
            && user != localuser
        {
            problems.push(ItemProblem::NeedsSameUser {
                key: key.to_owned(),
                user: user.to_owned(),
                localuser: localuser.to_owned(),
            });
        }
    }
    if item.get("force").is_some_and(ItemValue::is_true) && session.unrestricted_restore {
        problems.push(ItemProblem::ForceWithUnrestrictedRestore);
    }
    let customip = item
        .get("customip")
        .is_some_and(|v| v.as_str().is_none_or(|s| !s.is_empty()));
    if customip && !item.get("ip").is_some_and(ItemValue::is_true) {
        problems.push(ItemProblem::CustomIpNeedsIp);
    }
    problems
}

/// Tracks primary keys per session and `localuser`s across a manifest.
#[derive(Debug, Default)]
pub struct UniqueKeys {
    primary: std::collections::HashSet<(String, String)>,
    localusers: std::collections::HashSet<String>,
}

impl UniqueKeys {
    /// A tracker for one session's primary keys (the `localuser` set is kept across
    /// sessions; call [`UniqueKeys::next_session`] between sources).
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the primary keys seen so far, keeping the `localuser`s.
    pub fn next_session(&mut self) {
        self.primary.clear();
    }

    /// Records an item; returns the duplicate problems it causes.
    pub fn record(&mut self, module: &CatalogModule, item: &Item) -> Vec<ItemProblem> {
        let mut problems = Vec::new();
        if let Some(key) = module.schema.primary_key()
            && let Some(value) = item.get(key)
        {
            let value = value.to_param();
            if !self.primary.insert((module.name.clone(), value.clone())) {
                problems.push(ItemProblem::DuplicatePrimary {
                    key: key.to_owned(),
                    value,
                });
            }
        }
        if let Some(localuser) = item.get("localuser").and_then(ItemValue::as_str)
            && module.schema.keys.contains_key("localuser")
            && !self.localusers.insert(localuser.to_owned())
        {
            problems.push(ItemProblem::DuplicateLocaluser {
                value: localuser.to_owned(),
            });
        }
        problems
    }
}

/// The `enqueue_transfer_item` form parameters for a validated item: `module` first, then
/// the item's keys in name order, booleans as `1`/`0`. Only keys actually set are sent
/// (WHM treats an empty parameter as present). The caller adds `transfer_session_id`.
pub fn enqueue_params(module: &str, item: &Item) -> Vec<(String, String)> {
    let mut params = Vec::with_capacity(item.len() + 1);
    params.push(("module".to_owned(), module.to_owned()));
    params.extend(item.iter().map(|(k, v)| (k.clone(), v.to_param())));
    params
}

#[cfg(test)]
mod tests {
    use super::{
        Item, ItemProblem, ItemValue, SessionContext, UniqueKeys, did_you_mean, enqueue_params,
        validate_item,
    };
    use crate::modules::catalog::{ModuleCatalog, SessionKind, names};

    fn item(pairs: &[(&str, ItemValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }
    fn s(v: &str) -> ItemValue {
        ItemValue::Str(v.to_owned())
    }
    const ROOT: SessionContext = SessionContext {
        kind: SessionKind::Root,
        unrestricted_restore: false,
    };

    #[allow(clippy::trivially_copy_pass_by_ref)]
    fn check(module: &str, ctx: &SessionContext, it: &Item) -> Vec<ItemProblem> {
        let catalog = ModuleCatalog::bundled();
        validate_item(catalog.get(module).unwrap(), *ctx, it)
    }

    fn account(extra: &[(&str, ItemValue)]) -> Item {
        let mut it = item(&[("user", s("bob")), ("localuser", s("bob"))]);
        it.extend(item(extra));
        it
    }

    #[test]
    fn valid_account_passes() {
        let it = account(&[
            ("domain", s("bob.example")),
            ("skiphomedir", ItemValue::Bool(true)),
            ("priority", ItemValue::Int(10)),
            ("size", ItemValue::Int(1 << 40)),
            ("ip", ItemValue::Bool(true)),
            ("customip", s("192.0.2.5")),
            ("force", ItemValue::Bool(true)),
        ]);
        assert_eq!(check(names::ACCOUNT_ROOT, &ROOT, &it), []);
    }

    #[test]
    fn unknown_key_with_suggestion() {
        let p = check(
            names::ACCOUNT_ROOT,
            &ROOT,
            &account(&[("skiphomdir", ItemValue::Bool(true))]),
        );
        assert_eq!(
            p,
            [ItemProblem::UnknownKey {
                key: "skiphomdir".into(),
                suggestion: Some("skiphomedir".into())
            }]
        );
        assert_eq!(did_you_mean("zzzz", ["user", "domain"]), None);
    }

    #[test]
    fn flag_must_be_boolean() {
        let p = check(
            names::ACCOUNT_ROOT,
            &ROOT,
            &account(&[("skipemail", ItemValue::Int(1))]),
        );
        assert_eq!(p[0].code(), "not-a-flag");
    }

    #[test]
    fn char_length_is_counted_in_characters() {
        let ok = "é".repeat(255);
        assert_eq!(
            check(names::ACCOUNT_ROOT, &ROOT, &account(&[("domain", s(&ok))])),
            []
        );
        let long = "é".repeat(256);
        let p = check(
            names::ACCOUNT_ROOT,
            &ROOT,
            &account(&[("domain", s(&long))]),
        );
        assert!(matches!(
            p[0],
            ItemProblem::TooLong {
                len: 256,
                max: 255,
                ..
            }
        ));
    }

    #[test]
    fn integer_ranges() {
        let p = check(
            names::ACCOUNT_ROOT,
            &ROOT,
            &account(&[("priority", ItemValue::Int(1 << 33))]),
        );
        assert_eq!(p[0].code(), "out-of-range");
        let p = check(
            names::ACCOUNT_ROOT,
            &ROOT,
            &account(&[("size", ItemValue::Int(-1))]),
        );
        assert_eq!(p[0].code(), "out-of-range");
        let p = check(
            names::ACCOUNT_ROOT,
            &ROOT,
            &account(&[("priority", ItemValue::Bool(true))]),
        );
        assert_eq!(p[0].code(), "wrong-type");
        let p = check(
            names::ACCOUNT_ROOT,
            &ROOT,
            &account(&[("domain", ItemValue::Int(3))]),
        );
        assert_eq!(p[0].code(), "wrong-type");
    }

    #[test]
    fn required_keys() {
        let p = check(names::ACCOUNT_ROOT, &ROOT, &item(&[("user", s("bob"))]));
        assert_eq!(
            p,
            [ItemProblem::MissingRequired {
                key: "localuser".into()
            }]
        );
        let p = check(names::PACKAGE, &ROOT, &item(&[("package", s(""))]));
        assert_eq!(
            p,
            [ItemProblem::MissingRequired {
                key: "package".into()
            }]
        );
    }

    #[test]
    fn module_kind_rule() {
        let user = SessionContext {
            kind: SessionKind::User,
            unrestricted_restore: false,
        };
        let p = check(names::PACKAGE, &user, &item(&[("package", s("p"))]));
        assert_eq!(p[0].code(), "module-not-allowed");
        let p = check(names::ACCOUNT_USER, &ROOT, &account(&[]));
        assert_eq!(p[0].code(), "module-not-allowed");
        assert_eq!(check(names::ACCOUNT_USER, &user, &account(&[])), []);
    }

    #[test]
    fn force_and_skipaccount_need_same_user() {
        for key in ["force", "skipaccount"] {
            let mut it = account(&[(key, ItemValue::Bool(true))]);
            it.insert("localuser".into(), s("bob2"));
            let p = check(names::ACCOUNT_ROOT, &ROOT, &it);
            assert_eq!(p.len(), 1);
            assert_eq!(p[0].code(), "needs-same-user");
            assert_eq!(p[0].key(), Some(key));
            it.insert(key.into(), ItemValue::Bool(false));
            assert_eq!(check(names::ACCOUNT_ROOT, &ROOT, &it), []);
        }
    }

    #[test]
    fn force_not_with_unrestricted_restore() {
        let ctx = SessionContext {
            kind: SessionKind::Root,
            unrestricted_restore: true,
        };
        let p = check(
            names::ACCOUNT_ROOT,
            &ctx,
            &account(&[("force", ItemValue::Bool(true))]),
        );
        assert_eq!(p, [ItemProblem::ForceWithUnrestrictedRestore]);
    }

    #[test]
    fn customip_needs_ip() {
        let p = check(
            names::ACCOUNT_ROOT,
            &ROOT,
            &account(&[("customip", s("192.0.2.1"))]),
        );
        assert_eq!(p, [ItemProblem::CustomIpNeedsIp]);
        let p = check(
            names::ACCOUNT_ROOT,
            &ROOT,
            &account(&[("customip", s("192.0.2.1")), ("ip", ItemValue::Bool(false))]),
        );
        assert_eq!(p, [ItemProblem::CustomIpNeedsIp]);
    }

    #[test]
    fn duplicates() {
        let catalog = ModuleCatalog::bundled();
        let m = catalog.get(names::ACCOUNT_ROOT).unwrap();
        let mut keys = UniqueKeys::new();
        assert_eq!(keys.record(m, &account(&[])), []);
        let p = keys.record(m, &account(&[]));
        assert_eq!(
            p.iter().map(ItemProblem::code).collect::<Vec<_>>(),
            ["duplicate-item", "duplicate-localuser"]
        );
        keys.next_session();
        let p = keys.record(m, &account(&[]));
        assert_eq!(
            p.iter().map(ItemProblem::code).collect::<Vec<_>>(),
            ["duplicate-localuser"]
        );
    }

    #[test]
    fn enqueue_params_send_only_set_keys() {
        let it = account(&[
            ("skiphomedir", ItemValue::Bool(true)),
            ("force", ItemValue::Bool(false)),
            ("priority", ItemValue::Int(5)),
        ]);
        let params = enqueue_params(names::ACCOUNT_ROOT, &it);
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("module", "AccountRemoteRoot"),
                ("force", "0"),
                ("localuser", "bob"),
                ("priority", "5"),
                ("skiphomedir", "1"),
                ("user", "bob"),
            ]
        );
    }
}
