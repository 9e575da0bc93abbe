//! A short human excerpt of an item log, for a failure report.
//!
//! From a failed item's log we keep what explains the failure: the `failed` text,
//! `error` and `warn` lines, and the last few `out` lines for context, in log order and
//! bounded in count and width.

use super::item::{ItemLogEvent, ItemLogKind};

/// How many trailing `out` lines are kept for context.
pub const OUT_TAIL: usize = 5;

/// The widest excerpt line, in characters; longer lines are cut and end in `…`.
pub const MAX_LINE_CHARS: usize = 300;

/// The kind of an excerpt line, from least to most important.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExcerptLevel {
    /// Captured output (`out`).
    Out,
    /// A warning (`warn`).
    Warn,
    /// An error line (`error`).
    Error,
    /// The failure text (`failed`).
    Failed,
}

/// One line of an excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcerptLine {
    /// The item-log line it came from (1-based).
    pub line: usize,
    /// Its kind.
    pub level: ExcerptLevel,
    /// The text: one physical line, trimmed at the end, at most [`MAX_LINE_CHARS`].
    pub text: String,
}

/// The excerpt: lines in log order, and how many important lines did not fit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excerpt {
    /// The kept lines, in log order.
    pub lines: Vec<ExcerptLine>,
    /// Failed/error/warn/tail-out lines left out to stay within the bound.
    pub omitted: usize,
}

/// Extracts at most `max_lines` lines explaining a failure from an item log's events.
///
/// When there are more candidates than `max_lines`, failure text wins over errors,
/// errors over warnings, warnings over output, and later lines over earlier ones.
pub fn failure_excerpt(events: &[ItemLogEvent], max_lines: usize) -> Excerpt {
    let mut candidates = Vec::new();
    let out_total: usize = events
        .iter()
        .map(|e| match &e.kind {
            ItemLogKind::Out(text) => physical_lines(text).count(),
            _ => 0,
        })
        .sum();
    let mut out_skip = out_total.saturating_sub(OUT_TAIL);
    for event in events {
        let (level, text) = match &event.kind {
            ItemLogKind::Out(t) => (ExcerptLevel::Out, t),
            ItemLogKind::Warn(t) => (ExcerptLevel::Warn, t),
            ItemLogKind::Error(t) => (ExcerptLevel::Error, t),
            ItemLogKind::Failed(t) => (ExcerptLevel::Failed, t),
            _ => continue,
        };
        for text in physical_lines(text) {
            if level == ExcerptLevel::Out && out_skip > 0 {
                out_skip -= 1;
                continue;
            }
            candidates.push(ExcerptLine {
                line: event.line,
                level,
                text: clip(text),
            });
        }
    }
    let omitted = candidates.len().saturating_sub(max_lines);
    if omitted > 0 {
        // Rank by importance, then recency; keep the best, then restore log order.
        let mut ranked: Vec<usize> = (0..candidates.len()).collect();
        ranked.sort_by_key(|&i| std::cmp::Reverse((candidates[i].level, i)));
        let mut keep = vec![false; candidates.len()];
        for &i in ranked.iter().take(max_lines) {
            keep[i] = true;
        }
        let mut flags = keep.into_iter();
        candidates.retain(|_| flags.next().unwrap_or(false));
    }
    Excerpt {
        lines: candidates,
        omitted,
    }
}

/// The non-blank physical lines of a text, trimmed at the end.
fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
}

/// Cuts a line to [`MAX_LINE_CHARS`] characters.
fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
