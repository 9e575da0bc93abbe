//! The TOML text `init` writes: the manifest's head (version, name, destination) and
//! one `[[sources]]` table with its items. Secrets are written as `{ env = "VAR" }`
//! references only; the values never reach this module.

use crate::init::{DestinationSpec, Entry, EntryKind, SourceSpec, Trust};
use crate::plan::SessionKind;

/// A one-line TOML basic string holding `s`, quoted and escaped (a line break in a
/// name must not break out of a commented-out item).
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => put!(out, "\\u{:04X}", u32::from(c)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `version`, `name` and `[destination]`, with `lead` as comment lines on top.
pub fn head(name: &str, dest: &DestinationSpec, lead: &[String]) -> String {
    let mut out = String::new();
    for line in lead {
        putln!(out, "# {line}");
    }
    putln!(out, "version = 1");
    putln!(out, "name = {}", quoted(name));
    putln!(out);
    putln!(out, "[destination]");
    putln!(out, "url = {}", quoted(&dest.url));
    putln!(out, "token = {{ env = {} }}", quoted(&dest.token_env));
    match &dest.trust {
        Trust::System => {}
        Trust::Pin(fp) => putln!(out, "pin_sha256 = {}", quoted(fp)),
        Trust::CaFile(path) => putln!(out, "ca_file = {}", quoted(&path.display().to_string())),
    }
    out
}

/// The `[[sources]]` table of `spec`, `lead` as comment lines above it, then `entries`
/// (commented out where excluded, with why).
pub fn source(spec: &SourceSpec, lead: &[String], entries: &[Entry]) -> String {
    let mut out = String::new();
    for line in lead {
        putln!(out, "# {line}");
    }
    putln!(out, "[[sources]]");
    putln!(out, "name = {}", quoted(&spec.name));
    putln!(out, "host = {}", quoted(&spec.host));
    putln!(out, "kind = \"{}\"", spec.kind.as_str());
    if spec.kind == SessionKind::Root {
        putln!(
            out,
            "user = {}",
            quoted(spec.user.as_deref().unwrap_or("root"))
        );
    }
    putln!(out, "password = {{ env = {} }}", quoted(&spec.password_env));
    if spec.kind == SessionKind::User {
        putln!(out);
        putln!(out, "[sources.session]");
        putln!(
            out,
            "unrestricted_restore = true   # WHM documents only 1 for user sessions"
        );
    }
    for entry in entries {
        putln!(out);
        out.push_str(&item(entry));
    }
    out
}

/// One item's table, its notes as comments above it; commented out when excluded.
fn item(entry: &Entry) -> String {
    let mut lines = vec![format!("[[{}]]", entry.kind.table())];
    let key = if entry.kind == EntryKind::Account {
        "user"
    } else {
        "name"
    };
    lines.push(format!("{key} = {}", quoted(&entry.key)));
    if let Some(domain) = &entry.domain {
        lines.push(format!("domain = {}", quoted(domain)));
    }
    if let Some(wave) = &entry.wave {
        lines.push(format!("wave = {}", quoted(wave)));
    }
    let mut out = String::new();
    for note in entry.notes.iter().chain(&entry.warnings) {
        putln!(out, "# {}: {note}", entry.key);
    }
    match &entry.excluded {
        None => {
            for line in lines {
                putln!(out, "{line}");
            }
        }
        Some(why) => {
            putln!(out, "# Left out: {why}");
            for line in lines {
                putln!(out, "# {line}");
            }
        }
    }
    out
}

/// The counts above the source's table.
pub fn summary_lead(entries: &[Entry]) -> Vec<String> {
    let count = |k: EntryKind, written: bool| {
        entries
            .iter()
            .filter(|e| e.kind == k && e.excluded.is_none() == written)
            .count()
    };
    let left: usize = [
        EntryKind::FeatureList,
        EntryKind::Package,
        EntryKind::Account,
    ]
    .iter()
    .map(|k| count(*k, false))
    .sum();
    vec![format!(
        "To move: {} feature list(s), {} package(s), {} account(s). Left out (commented, with why): {left}.",
        count(EntryKind::FeatureList, true),
        count(EntryKind::Package, true),
        count(EntryKind::Account, true),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excluded_item_is_commented_out_with_why_and_strings_are_escaped() {
        let mut e = Entry::user_account("dave");
        e.domain = Some("dave.example".into());
        e.notes.push("2 MB".into());
        e.excluded = Some("the destination has it".into());
        let spec = SourceSpec {
            name: "old1".into(),
            host: "old1.example.com".into(),
            kind: SessionKind::Root,
            user: None,
            password_env: "OLD1_PW".into(),
        };
        let text = source(&spec, &[], &[e]);
        assert!(text.contains("# dave: 2 MB\n# Left out: the destination has it\n# [[sources.accounts]]\n# user = \"dave\"\n# domain = \"dave.example\"\n"), "{text}");
        assert!(text.contains("password = { env = \"OLD1_PW\" }"), "{text}");
        assert_eq!(quoted("a \"b\"\n"), r#""a \"b\"\n""#);
    }
}
