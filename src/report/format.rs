//! Small text helpers shared by the progress modes and the report: item labels, item
//! results in words and timestamps; durations and sizes come from [`crate::units`], so
//! every output spells them alike.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::modules::ModuleKind;
use crate::translog::ItemCounts;
pub use crate::units::{bytes, duration};

/// A time left in words, for plain lines: `less than a minute left`, `about 12 min
/// left`, `about 2 h 05 min left`; rounded up to the minute (an estimate, not a clock).
pub fn left_words(left: std::time::Duration) -> String {
    let mins = left.as_secs().div_ceil(60);
    match mins {
        0 => "less than a minute left".to_owned(),
        1..60 => format!("about {mins} min left"),
        _ => format!("about {} h {:02} min left", mins / 60, mins % 60),
    }
}

/// A time left for a bar: `~45s left`, `~12m left`, `~2h05m left`.
pub fn left_short(left: std::time::Duration) -> String {
    let secs = left.as_secs();
    match secs {
        0..60 => format!("~{secs}s left"),
        60..3600 => format!("~{}m left", secs.div_ceil(60)),
        _ => format!(
            "~{}h{:02}m left",
            secs / 3600,
            (secs % 3600).div_ceil(60).min(59)
        ),
    }
}

/// How an item is named for people: accounts by user (`bob`, or `bob → bob2` when
/// restored under another name), other modules by kind and name (`package pkg1`).
pub fn item_label(module: &str, key: &str, local: Option<&str>) -> String {
    let mut label = match ModuleKind::of(module) {
        ModuleKind::Account => key.to_owned(),
        ModuleKind::Package => format!("package {key}"),
        ModuleKind::FeatureList => format!("feature list {key}"),
        ModuleKind::Other if module.is_empty() => key.to_owned(),
        ModuleKind::Other => format!("{module} {key}"),
    };
    if let Some(local) = local.filter(|l| *l != key) {
        put!(label, " → {local}");
    }
    label
}

/// The non-zero counts in words: `2 warnings, 1 dangerous, 1 altered`.
pub fn counts_phrase(counts: &ItemCounts) -> String {
    let mut parts = Vec::new();
    if counts.warnings > 0 {
        parts.push(plural(counts.warnings, "warning", "warnings"));
    }
    if counts.skipped_items > 0 {
        parts.push(format!("{} skipped", counts.skipped_items));
    }
    if counts.dangerous_items > 0 {
        parts.push(format!("{} dangerous", counts.dangerous_items));
    }
    if counts.altered_items > 0 {
        parts.push(format!("{} altered", counts.altered_items));
    }
    parts.join(", ")
}

/// `1 item`, `2 items`.
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A UTC timestamp to the second: `2026-11-27T01:02:03Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The first line of a text, for one-line messages (failure texts may hold stack traces).
pub fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::{bytes, counts_phrase, duration, first_line, item_label};
    use crate::translog::ItemCounts;
    use std::time::Duration;

    #[test]
    fn labels_counts_and_durations_read_well() {
        assert_eq!(item_label("AccountRemoteRoot", "bob", None), "bob");
        assert_eq!(
            item_label("AccountRemoteRoot", "bob", Some("bob2")),
            "bob → bob2"
        );
        assert_eq!(item_label("AccountRemoteRoot", "bob", Some("bob")), "bob");
        assert_eq!(item_label("PackageRemoteRoot", "p1", None), "package p1");
        assert_eq!(
            item_label("FeatureListRemoteRoot", "basic", None),
            "feature list basic"
        );
        assert_eq!(item_label("Other", "x", None), "Other x");
        let counts = ItemCounts {
            warnings: 1,
            skipped_items: 0,
            dangerous_items: 2,
            altered_items: 1,
        };
        assert_eq!(counts_phrase(&counts), "1 warning, 2 dangerous, 1 altered");
        assert_eq!(duration(Duration::from_secs(45)), "45s");
        assert_eq!(duration(Duration::from_secs(723)), "12m03s");
        assert_eq!(duration(Duration::from_secs(7500)), "2h05m");
        assert_eq!(first_line("\n  boom \nat line 3"), "boom");
    }

    #[test]
    fn durations_and_sizes_have_one_spelling() {
        assert_eq!(duration(Duration::ZERO), "0s");
        assert_eq!(duration(Duration::from_micros(300)), "0s");
        assert_eq!(duration(Duration::from_millis(350)), "350ms");
        assert_eq!(duration(Duration::from_millis(59_999)), "59s");
        assert_eq!(duration(Duration::from_secs(60)), "1m00s");
        assert_eq!(duration(Duration::from_secs(7199)), "1h59m");
        assert_eq!(duration(Duration::from_secs(3600 * 30)), "30h00m");
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(10 * 1024 * 1024 * 1024), "10.00 GiB");
    }
}
