//! The names a manifest may `waive` (pre-flight checks) or `acknowledge` (risks). They
//! live here, not in the plan, because the loader rejects unknown names at load time
//! and the manifest does not depend on the plan. `docs/checks.md` describes each one.

/// Every pre-flight check, by its stable name.
pub const CHECK_NAMES: &[&str] = &[
    "module-error",
    "module-warning",
    "disk-use-unknown",
    "older-destination",
    "roundcube-dbtype-mismatch",
    "database-taken",
    "not-enough-ips",
    "owner-missing",
    "live-transfer-unsupported",
    "localuser-refused",
];

/// The checks that concern a whole source, not items: only a `[[sources]]` table's
/// `waive` reaches them.
pub const SOURCE_LEVEL_CHECKS: &[&str] = &[
    "module-error",
    "module-warning",
    "disk-use-unknown",
    "older-destination",
    "roundcube-dbtype-mismatch",
];

/// Every risk, by its stable name, with the account key that carries it.
pub const RISKS: &[(&str, &str)] = &[
    ("force", "force"),
    ("overwrite-with-delete", "overwrite_with_delete"),
    ("overwrite-all-dbs", "overwrite_all_dbs"),
    ("overwrite-all-dbusers", "overwrite_all_dbusers"),
    ("overwrite-sameowner-dbs", "overwrite_sameowner_dbs"),
    ("overwrite-sameowner-dbusers", "overwrite_sameowner_dbusers"),
    ("dns-cutover", "xferpoint"),
    ("live-transfer", "live_transfer"),
];

/// Every risk a whole source's settings may carry, by its stable name, with the setting
/// that carries it: acknowledged in the `[[sources]]` table's `acknowledge`.
pub const SOURCE_RISKS: &[(&str, &str)] = &[
    (
        "plain-text-transport",
        "comm_transport = \"whostmgr_insecure\"",
    ),
    ("unencrypted-transfer", "session.unencrypted = true"),
];

/// The source-level risk names alone, in [`SOURCE_RISKS`] order.
pub fn source_risk_names() -> impl Iterator<Item = &'static str> {
    SOURCE_RISKS.iter().map(|(name, _)| *name)
}

/// The JSON Schema of a source's `acknowledge` list: source-level risk names.
pub fn source_acknowledge_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    names_schema(
        source_risk_names(),
        "Risks of this source's settings to acknowledge, by name (see docs/checks.md).",
    )
}

/// The risk names alone, in [`RISKS`] order.
pub fn risk_names() -> impl Iterator<Item = &'static str> {
    RISKS.iter().map(|(name, _)| *name)
}

/// The risk an account key carries when set to true, if any.
pub fn risk_of_key(key: &str) -> Option<&'static str> {
    RISKS.iter().find(|(_, k)| *k == key).map(|(name, _)| *name)
}

/// The manifest keys that hold check or risk names instead of module keys: they are never
/// sent to WHM.
pub const GATE_KEYS: [&str; 2] = ["waive", "acknowledge"];

/// The JSON Schema of a `waive` list: check names.
pub fn waive_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    names_schema(
        CHECK_NAMES.iter().copied(),
        "Pre-flight checks to waive, by name (see docs/checks.md).",
    )
}

/// The JSON Schema of an `acknowledge` list: risk names.
pub fn acknowledge_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    names_schema(
        risk_names(),
        "Risks to acknowledge, by name (see docs/checks.md).",
    )
}

/// The JSON Schema value of a list of names.
pub fn names_value(
    names: impl Iterator<Item = &'static str>,
    description: &str,
) -> serde_json::Value {
    let names: Vec<&str> = names.collect();
    serde_json::json!({
        "description": description,
        "type": "array",
        "items": { "type": "string", "enum": names },
        "uniqueItems": true
    })
}

fn names_schema(names: impl Iterator<Item = &'static str>, description: &str) -> schemars::Schema {
    schemars::Schema::try_from(names_value(names, description)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{CHECK_NAMES, RISKS, risk_of_key};

    #[test]
    fn names_are_unique_kebab_case() {
        let all: Vec<&str> = CHECK_NAMES
            .iter()
            .copied()
            .chain(RISKS.iter().map(|(n, _)| *n))
            .collect();
        for name in &all {
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{name}"
            );
        }
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len(), "a name is used twice");
    }

    #[test]
    fn express_transfer_is_the_dns_cutover_risk() {
        assert_eq!(risk_of_key("xferpoint"), Some("dns-cutover"));
        assert_eq!(risk_of_key("skiphomedir"), None);
    }
}
