//! The docs cannot drift from the code: every manifest key of the JSON Schema is named in
//! `docs/manifest.md`, and every `whm-migrate` command line in the CI recipes of
//! `docs/ci.md` parses with the real command-line definition.

use clap::CommandFactory as _;
use serde_json::Value;
use std::collections::BTreeSet;
use whm_migrate::cli::args::Cli;

fn read_doc(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every property name of `schema`, following `$ref`s into `definitions` / `$defs`.
fn schema_properties(root: &Value) -> BTreeSet<String> {
    fn walk(
        root: &Value,
        node: &Value,
        seen_refs: &mut BTreeSet<String>,
        out: &mut BTreeSet<String>,
    ) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref")
                    && seen_refs.insert(reference.clone())
                {
                    let target = reference
                        .strip_prefix('#')
                        .and_then(|pointer| root.pointer(pointer))
                        .unwrap_or_else(|| panic!("unresolvable $ref {reference}"));
                    walk(root, target, seen_refs, out);
                }
                if let Some(Value::Object(props)) = map.get("properties") {
                    for (name, sub) in props {
                        out.insert(name.clone());
                        walk(root, sub, seen_refs, out);
                    }
                }
                for (key, sub) in map {
                    // Definitions are reached through `$ref`s only; properties above.
                    if !matches!(key.as_str(), "properties" | "definitions" | "$defs") {
                        walk(root, sub, seen_refs, out);
                    }
                }
            }
            Value::Array(items) => {
                for sub in items {
                    walk(root, sub, seen_refs, out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut BTreeSet::new(), &mut out);
    out
}

#[test]
fn every_manifest_key_of_the_schema_is_documented() {
    let schema = whm_migrate::manifest::manifest_json_schema();
    let keys = schema_properties(&schema);
    // The walk must reach nested tables, secrets and account keys, not just the top.
    for expected in [
        "version",
        "connect_secs",
        "transfer_threads",
        "env",
        "file",
        "world",
        "skiphomedir",
        "localuser",
    ] {
        assert!(
            keys.contains(expected),
            "the schema walk missed `{expected}`: {keys:?}"
        );
    }
    let doc = read_doc("manifest.md");
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !doc.contains(&format!("`{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/manifest.md does not document these manifest keys (write each as `key`): {missing:?}"
    );
    // And the key tables list nothing the schema does not have.
    let stale: Vec<String> = key_table_rows(&doc)
        .into_iter()
        .filter(|k| !keys.contains(k))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/manifest.md documents keys the schema does not have: {stale:?}"
    );
}

/// The first cells of the rows of every table whose header starts with `| key |`.
fn key_table_rows(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_key_table = false;
    for line in doc.lines() {
        if line.starts_with("| key |") {
            in_key_table = true;
            continue;
        }
        if !line.starts_with('|') {
            in_key_table = false;
            continue;
        }
        if in_key_table && !line.starts_with("|---") {
            let cell = line.split('|').nth(1).unwrap_or_default().trim();
            out.push(cell.trim_matches('`').to_owned());
        }
    }
    out
}

/// The bodies of the fenced ```yaml blocks of a Markdown text.
fn yaml_blocks(doc: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```yaml") => current = Some(String::new()),
            Some(_) if line.trim_start().starts_with("```") => blocks.extend(current.take()),
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```yaml block");
    blocks
}

/// Every `whm-migrate …` command line in `text`, as argv words. A mention is
/// `whm-migrate` standing alone (after a blank, a quote or `(`) and followed by a space
/// and a word; the command line runs to the end of the line (joining `\` continuations)
/// or to a shell operator.
fn command_lines(text: &str) -> Vec<Vec<String>> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    let needle = "whm-migrate";
    let mut from = 0;
    while let Some(pos) = joined[from..].find(needle) {
        let start = from + pos;
        let end = start + needle.len();
        from = end;
        let before = joined[..start].chars().next_back();
        let standalone = before.is_none_or(|c| c.is_whitespace() || "\"'(`".contains(c));
        let rest = &joined[end..];
        let followed_by_word = rest.starts_with(' ')
            && rest[1..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-');
        if !standalone || !followed_by_word {
            continue;
        }
        let line = rest.lines().next().unwrap_or_default();
        let cut = line
            .find([';', '|', '&', '>', '<', ')', '#'])
            .unwrap_or(line.len());
        let mut argv = vec![needle.to_owned()];
        argv.extend(shell_words(&line[..cut]));
        out.push(argv);
    }
    out
}

/// Splits on blanks, honouring single and double quotes (no expansion).
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Parses `argv` with the real clap definition: the subcommand, every flag and every
/// value must exist. Returns the subcommand's name.
fn check_command(argv: &[String]) -> Result<String, String> {
    let matches = Cli::command()
        .try_get_matches_from(argv)
        .map_err(|e| format!("`{}`: {}", argv.join(" "), e.render()))?;
    let (name, sub) = matches
        .subcommand()
        .ok_or_else(|| format!("`{}`: no subcommand", argv.join(" ")))?;
    Ok(match sub.subcommand_name() {
        Some(inner) => format!("{name} {inner}"),
        None => name.to_owned(),
    })
}

#[test]
fn the_command_checker_rejects_what_does_not_exist() {
    let lines = command_lines(
        "run: whm-migrate plan plan.toml --bogus\n  whm-migrate purge plan.toml\n  whm-migrate plan p.toml --format yaml\n",
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    for argv in &lines {
        assert!(check_command(argv).is_err(), "accepted {argv:?}");
    }
    let ok = command_lines(
        "key: whm-migrate-state-1\nrun: |\n  whm-migrate apply \"$MANIFEST\" \\\n    --junit report.xml > out.txt # note\n",
    );
    assert_eq!(ok.len(), 1, "{ok:?}");
    assert_eq!(check_command(&ok[0]), Ok("apply".to_owned()));
}

#[test]
fn the_ci_recipes_parse_and_use_only_real_commands_and_flags() {
    let doc = read_doc("ci.md");
    let blocks = yaml_blocks(&doc);
    assert!(
        blocks.len() >= 2,
        "docs/ci.md should hold the GitHub and GitLab pipelines"
    );
    let mut used = BTreeSet::new();
    let mut errors = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        if let Err(e) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(block) {
            errors.push(format!("yaml block {}: not valid YAML: {e}", i + 1));
        }
        let lines = command_lines(block);
        if lines.is_empty() {
            errors.push(format!("yaml block {} runs no whm-migrate command", i + 1));
        }
        for argv in lines {
            match check_command(&argv) {
                Ok(name) => {
                    used.insert(name);
                }
                Err(e) => errors.push(format!("yaml block {}: {e}", i + 1)),
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    for needed in ["validate", "plan", "apply"] {
        assert!(
            used.contains(needed),
            "no pipeline runs `whm-migrate {needed}`"
        );
    }
    // The comment lookup relies on the marker the Markdown plan starts with.
    let marker = whm_migrate::plan::render::markdown_marker("NAME");
    assert!(
        doc.contains(&marker),
        "docs/ci.md should show the marker {marker}"
    );
}

#[test]
fn the_init_page_uses_only_real_commands_and_flags() {
    let doc = read_doc("init.md");
    let shell: String = doc
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    let lines = command_lines(&shell);
    let mut inits = 0;
    for argv in &lines {
        match check_command(argv) {
            Ok(name) => inits += usize::from(name == "init"),
            Err(e) => panic!("docs/init.md: {e}"),
        }
    }
    assert!(
        inits >= 3,
        "docs/init.md should show init, --waves and --into: {lines:?}"
    );
}
