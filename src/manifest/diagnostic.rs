//! Diagnostics for a manifest: every problem of a file with its `file:line:col`, rendered
//! as text (source line, caret, `help:`) or as JSON for CI annotations.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

/// How bad a diagnostic is. Errors make `load` fail; warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The manifest cannot be used.
    Error,
    /// Worth a look; the manifest is still usable.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// A manifest's text, kept to show source lines, with the byte ranges of literal secrets
/// that must never be shown.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The name to show (the path as given).
    pub name: String,
    /// The text.
    pub text: String,
    line_starts: Vec<usize>,
    redactions: Vec<Range<usize>>,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceFile({:?}, {} bytes)", self.name, self.text.len())
    }
}

impl SourceFile {
    /// A source file from its display name and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            name: name.into(),
            text,
            line_starts,
            redactions: Vec::new(),
        }
    }

    /// Marks a byte range as secret: it is masked in every rendered source line.
    pub fn redact(&mut self, range: Range<usize>) {
        self.redactions.push(range);
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.floor_char_boundary(offset.min(self.text.len()));
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let col = self.text[self.line_starts[line]..offset].chars().count() + 1;
        (line + 1, col)
    }

    fn floor_char_boundary(&self, mut offset: usize) -> usize {
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// The byte range of a 1-based line, without its line break.
    fn line_range(&self, line: usize) -> Range<usize> {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next - 1);
        let end = if self.text[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        start..end
    }

    /// Renders a line with secrets masked, and the display column of each byte offset in it.
    fn render_line(&self, line: usize) -> (String, Vec<usize>) {
        let range = self.line_range(line);
        let mut out = String::new();
        let mut cols = vec![0; range.len() + 1];
        let mut col = 0;
        let mut masked_until = None;
        for (i, ch) in self.text[range.clone()].char_indices() {
            let abs = range.start + i;
            for c in &mut cols[i..i + ch.len_utf8()] {
                *c = col;
            }
            if masked_until.is_some_and(|end| abs < end) {
                continue;
            }
            if let Some(r) = self.redactions.iter().find(|r| r.contains(&abs)) {
                out.push_str("\"***\"");
                col += 5;
                masked_until = Some(r.end);
                continue;
            }
            out.push(if ch == '\t' { ' ' } else { ch });
            col += 1;
        }
        cols[range.len()] = col;
        (out, cols)
    }
}

/// One problem found in a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code, for example `unknown-key`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// Where, as a byte range of the file; `None` for problems of the whole file.
    pub span: Option<Range<usize>>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            help: None,
            span: None,
        }
    }

    /// A warning.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    /// Sets the location.
    #[must_use]
    pub fn at(mut self, span: Option<Range<usize>>) -> Self {
        self.span = span;
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// One entry of the JSON form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonDiagnostic {
    /// The file name as given.
    pub file: String,
    /// 1-based line (0 when the problem has no location).
    pub line: usize,
    /// 1-based column in characters (0 when the problem has no location).
    pub column: usize,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The stable code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do, if known.
    pub help: Option<String>,
}

/// All the problems of one manifest file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics {
    file: Arc<SourceFile>,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Diagnostics for `file`, sorted by position (then by code and message).
    pub fn new(file: Arc<SourceFile>, mut items: Vec<Diagnostic>) -> Self {
        items.sort_by(|a, b| {
            let pos = |d: &Diagnostic| d.span.as_ref().map_or((0, 0), |s| (s.start, s.end));
            pos(a)
                .cmp(&pos(b))
                .then_with(|| a.severity.cmp(&b.severity))
                .then_with(|| a.code.cmp(b.code))
                .then_with(|| a.message.cmp(&b.message))
        });
        items.dedup();
        Self { file, items }
    }

    /// The file these are about.
    pub fn file(&self) -> &SourceFile {
        &self.file
    }

    /// Every diagnostic, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// How many diagnostics.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The number of errors.
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Whether any is an error.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// The JSON form: `[{file, line, column, severity, code, message, help}]`.
    pub fn to_json(&self) -> Vec<JsonDiagnostic> {
        self.items
            .iter()
            .map(|d| {
                let (line, column) = d
                    .span
                    .as_ref()
                    .map_or((0, 0), |s| self.file.line_col(s.start));
                JsonDiagnostic {
                    file: self.file.name.clone(),
                    line,
                    column,
                    severity: d.severity,
                    code: d.code,
                    message: d.message.clone(),
                    help: d.help.clone(),
                }
            })
            .collect()
    }

    /// The JSON form as pretty-printed text.
    pub fn render_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_json()).unwrap_or_else(|_| "[]".to_owned())
    }

    /// The text form: for each problem `file:line:col: error[code]: message`, the source
    /// line with a caret under the spot, and a `help:` line; then a summary line. With
    /// `color` false the text has no escape codes (stable for snapshots and CI logs).
    pub fn render_text(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_owned()
            }
        };
        let mut out = String::new();
        for d in &self.items {
            let (sev_color, sev) = match d.severity {
                Severity::Error => ("1;31", "error"),
                Severity::Warning => ("1;33", "warning"),
            };
            let location = match &d.span {
                Some(span) => {
                    let (line, col) = self.file.line_col(span.start);
                    format!("{}:{line}:{col}", self.file.name)
                }
                None => self.file.name.clone(),
            };
            putln!(
                out,
                "{}: {}: {}",
                paint("1", &location),
                paint(sev_color, &format!("{sev}[{}]", d.code)),
                paint("1", &d.message)
            );
            if let Some(span) = &d.span {
                let (line, _) = self.file.line_col(span.start);
                let (text, cols) = self.file.render_line(line);
                let line_start = self.file.line_range(line).start;
                let start = cols[span.start.saturating_sub(line_start).min(cols.len() - 1)];
                let end_offset = span.end.max(span.start + 1).saturating_sub(line_start);
                let end = cols[end_offset.min(cols.len() - 1)].max(start + 1);
                let gutter = line.to_string().len();
                let bar = paint("1;34", "|");
                putln!(
                    out,
                    "{} {bar} {text}",
                    paint("1;34", &format!("{line:>gutter$}"))
                );
                putln!(
                    out,
                    "{:gutter$} {bar} {}{}",
                    "",
                    " ".repeat(start),
                    paint(sev_color, &"^".repeat(end - start))
                );
            }
            if let Some(help) = &d.help {
                putln!(out, "  {} {help}", paint("1;36", "help:"));
            }
            out.push('\n');
        }
        let errors = self.error_count();
        let warnings = self.items.len() - errors;
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        putln!(
            out,
            "{}: {}, {}",
            self.file.name,
            plural(errors, "error"),
            plural(warnings, "warning")
        );
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_text(false))
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Diagnostic, Diagnostics, SourceFile};

    #[test]
    fn line_col_counts_characters() {
        let f = SourceFile::new("m.toml", "a = 1\nné = \"x\"\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(6), (2, 1));
        assert_eq!(f.line_col(10), (2, 4));
        assert_eq!(f.line_col(100), (3, 1));
    }

    #[test]
    fn renders_caret_help_and_masks_secrets() {
        let text = "password = \"hunter2\"\nx = 1\n";
        let mut f = SourceFile::new("m.toml", text);
        f.redact(11..20);
        let d = Diagnostics::new(
            Arc::new(f),
            vec![
                Diagnostic::error("literal-secret", "a literal secret")
                    .at(Some(11..20))
                    .help("use env"),
                Diagnostic::warning("w", "warn").at(Some(21..22)),
            ],
        );
        let out = d.render_text(false);
        assert!(!out.contains("hunter2"), "{out}");
        assert_eq!(
            out,
            "m.toml:1:12: error[literal-secret]: a literal secret\n1 | password = \"***\"\n  |            ^^^^^\n  help: use env\n\nm.toml:2:1: warning[w]: warn\n2 | x = 1\n  | ^\n\nm.toml: 1 error, 1 warning\n"
        );
        let json = d.to_json();
        assert_eq!((json[1].line, json[1].column), (2, 1));
        assert!(d.render_text(true).contains("\x1b["));
    }
}
