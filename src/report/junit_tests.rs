//! JUnit XML: structure (snapshot), escaping, and a small well-formedness check.

use std::time::Duration;

use super::junit::{escape_xml, write_junit};
use super::summary::{ApplyReport, ItemOutcome, Outcome, SourceReport};
use super::summary_tests::sample;

/// A minimal XML check: tags nest and close, attributes are quoted, text and
/// attribute values hold no raw `<` or `&` outside entities, and no character XML 1.0
/// forbids. Returns the element names in document order.
fn check_xml(xml: &str) -> Vec<String> {
    for c in xml.chars() {
        let ok =
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}');
        assert!(ok, "forbidden character {:?}", c as u32);
    }
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start]);
        let end = rest[start..].find('>').expect("tag closes") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, mut attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        while !attrs.trim().is_empty() {
            let (key, value) = attrs.trim_start().split_once("=\"").expect("key=\"value\"");
            assert!(
                key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{key}"
            );
            let close = value.find('"').expect("closing quote");
            check_text(&value[..close]);
            assert!(
                !value[..close].contains(['\n', '\t', '<']),
                "raw whitespace or < in {key}"
            );
            attrs = &value[close + 1..];
        }
        names.push(name.to_owned());
        if !self_closing {
            stack.push(name.to_owned());
        }
    }
    assert!(
        rest.trim().is_empty() && stack.is_empty(),
        "unclosed {stack:?}"
    );
    names
}

fn check_text(text: &str) {
    assert!(!text.contains('<'));
    let mut parts = text.split('&');
    parts.next();
    for part in parts {
        let entity = part.split(';').next().expect("entity");
        assert!(
            ["amp", "lt", "gt", "quot", "apos", "#9", "#10", "#13"].contains(&entity),
            "bad entity &{entity};"
        );
    }
}

#[test]
fn junit_has_a_suite_per_source_and_a_case_per_item() {
    let xml = write_junit(&sample());
    insta::assert_snapshot!("junit", xml);
    let names = check_xml(&xml);
    assert_eq!(names.iter().filter(|n| *n == "testsuite").count(), 2);
    assert_eq!(names.iter().filter(|n| *n == "testcase").count(), 6);
    assert_eq!(names.iter().filter(|n| *n == "failure").count(), 1);
    assert_eq!(names.iter().filter(|n| *n == "skipped").count(), 2);
    assert!(xml.contains(
        r#"<testsuites name="whm-migrate apply old-to-new1" tests="6" failures="1" errors="0" skipped="2" time="723.456">"#
    ));
    assert!(
        xml.contains(r#"<testcase classname="old1.AccountRemoteRoot" name="alice" time="0.000">"#)
    );
}

#[test]
fn escaping_covers_markup_quotes_and_control_characters() {
    assert_eq!(
        escape_xml("a<b & \"c\" 'd' “e” ‘f’ >", true),
        "a&lt;b &amp; &quot;c&quot; &apos;d&apos; “e” ‘f’ &gt;"
    );
    assert_eq!(escape_xml("x\ty\nz\r", true), "x&#9;y&#10;z&#13;");
    assert_eq!(escape_xml("x\ty\nz\r", false), "x\ty\nz&#13;");
    assert_eq!(
        escape_xml("\u{1b}[31mred\u{0}\u{FFFF}", false),
        "\\u{1b}[31mred\\u{0}\\u{ffff}"
    );
}

#[test]
fn hostile_names_and_texts_stay_well_formed() {
    let nasty = "<b>&amp; \"q\" 'a' “typo” \u{1b}[0m\u{7}\u{b}\r\n]]>";
    let mut source = SourceReport::failed("src<&>\"", Some(nasty), &[], nasty);
    source.final_state = Some(crate::domain::SessionState::Unknown(nasty.to_owned()));
    for outcome in [
        Outcome::Failed {
            failure: nasty.to_owned(),
            excerpt: vec![nasty.to_owned()],
        },
        Outcome::NotRun {
            reason: nasty.to_owned(),
        },
        Outcome::DoneWithWarnings {
            warnings: 1,
            skipped: 0,
            dangerous: 0,
            altered: 0,
            first_messages: vec![nasty.to_owned()],
        },
        Outcome::Done,
        Outcome::AlreadyPresent,
    ] {
        source.items.push(ItemOutcome {
            module: nasty.to_owned(),
            key: nasty.to_owned(),
            localuser: None,
            outcome,
            size: None,
        });
    }
    let report = ApplyReport {
        migration: nasty.to_owned(),
        elapsed: Duration::from_secs(1),
        sources: vec![source],
    };
    let xml = write_junit(&report);
    let names = check_xml(&xml);
    assert_eq!(names.iter().filter(|n| *n == "testcase").count(), 6);
    assert_eq!(names.iter().filter(|n| *n == "error").count(), 1);
    assert!(xml.contains(r#"errors="1""#));
    assert!(xml.contains("“typo”"));
}
