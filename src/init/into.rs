//! Adding a source to an existing manifest without touching the rest of it: toml_edit
//! reads the file (keeping every byte's position), the new `[[sources]]` text goes in
//! right after the last existing source's last line (or at the end of a file without
//! sources), and everything else stays as it was, byte for byte: comments, blank
//! lines, key order, quoting.

use crate::init::InitError;
use std::ops::Range;
use std::path::Path;
use toml_edit::{Document, Item, Table};

/// The sources a manifest already has: (name, host, kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    /// The manifest's text.
    pub text: String,
    /// Its sources, in order.
    pub sources: Vec<(String, String, String)>,
    /// The byte offset the new source's text goes at.
    pub insert_at: usize,
}

/// Reads `text` (the file `path`) for a splice.
pub fn read(path: &Path, text: String) -> Result<Existing, InitError> {
    let doc = Document::parse(text.as_str()).map_err(|e| InitError::IntoUnreadable {
        path: path.to_path_buf(),
        detail: e.message().to_owned(),
    })?;
    let mut sources = Vec::new();
    let mut end = None;
    if let Some(array) = doc.get("sources").and_then(Item::as_array_of_tables) {
        for table in array {
            let field = |k: &str| {
                table
                    .get(k)
                    .and_then(Item::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            sources.push((field("name"), field("host"), field("kind")));
            end = end.max(table_end(table));
        }
    }
    let insert_at = end.map_or(text.len(), |e| line_end(&text, e));
    drop(doc);
    Ok(Existing {
        text,
        sources,
        insert_at,
    })
}

/// The furthest byte a table (its header, keys and sub-tables) reaches.
fn table_end(table: &Table) -> Option<usize> {
    let mut end = table.span().map(|r: Range<usize>| r.end);
    for (_, item) in table {
        end = end.max(item_end(item));
    }
    end
}

fn item_end(item: &Item) -> Option<usize> {
    match item {
        Item::None => None,
        Item::Value(v) => v.span().map(|r| r.end),
        Item::Table(t) => table_end(t),
        Item::ArrayOfTables(a) => a.iter().filter_map(table_end).max(),
    }
}

/// The end of the line holding byte `at` (after its newline), so a trailing comment
/// stays with its line.
fn line_end(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |i| at + i + 1)
}

impl Existing {
    /// Refuses a source named `name`, or a root source for a host already there (user
    /// sources share a host: there is one per account).
    pub fn check_new(
        &self,
        path: &Path,
        name: &str,
        host: &str,
        kind: &str,
    ) -> Result<(), InitError> {
        let taken = |what: String| InitError::SourceTaken {
            path: path.to_path_buf(),
            what,
        };
        if self.sources.iter().any(|(n, _, _)| n == name) {
            return Err(taken(format!("named “{name}”")));
        }
        if let Some((n, _, _)) = self
            .sources
            .iter()
            .find(|(_, h, k)| h.eq_ignore_ascii_case(host) && !(kind == "user" && k == "user"))
        {
            return Err(taken(format!("for host {host} (“{n}”)")));
        }
        Ok(())
    }

    /// The text with `source` spliced in (a blank line before it).
    pub fn with(&self, source: &str) -> String {
        let (before, after) = self.text.split_at(self.insert_at);
        let mut out = String::with_capacity(self.text.len() + source.len() + 2);
        out.push_str(before);
        if !before.is_empty() && !before.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
        out.push_str(source);
        if !after.is_empty() && !after.starts_with(['\n', '\r']) {
            out.push('\n');
        }
        out.push_str(after);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# my migration
version = 1
name = "m"

[destination]   # the new box
url = "https://new1.example.com:2087"
token = { env = "T" }

[[sources]]
name = "old1"
host = "old1.example.com"
kind = "root"
password = { env = "P" }

# the shop first
[[sources.accounts]]
user = "shop"   # keep
priority = 1

# tolerances
[verify]
disk_tolerance_percent = 15
"#;

    #[test]
    fn the_new_source_goes_after_the_last_one_and_every_line_stays() {
        let path = Path::new("m.toml");
        let existing = read(path, FILE.to_owned()).unwrap();
        assert_eq!(existing.sources.len(), 1);
        let out = existing.with("[[sources]]\nname = \"old2\"\n");
        assert!(out.starts_with(&FILE[..existing.insert_at]));
        assert!(
            out.contains("priority = 1\n\n[[sources]]\nname = \"old2\"\n\n# tolerances\n[verify]"),
            "{out}"
        );
        for line in FILE.lines() {
            assert!(out.lines().any(|l| l == line), "{line}");
        }
        assert!(existing.check_new(path, "old1", "x", "root").is_err());
        assert!(
            existing
                .check_new(path, "old2", "OLD1.example.com", "root")
                .is_err()
        );
        assert!(
            existing
                .check_new(path, "old2", "old2.example.com", "root")
                .is_ok()
        );
    }
}
