//! The one printer: data on stdout, messages on stderr, honouring `-q`, `-v`,
//! `--color` and `NO_COLOR`. Meaning never depends on colour.

use crate::manifest::Diagnostics;
use crate::migration::Notify;
use crate::text::for_terminal;
use std::io::Write as _;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Prints for the user.
#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
    color: ColorChoice,
}

impl Printer {
    /// A printer with the global flags applied.
    pub fn new(quiet: bool, color: ColorChoice) -> Self {
        Self { quiet, color }
    }

    /// Whether stderr messages may use colour.
    pub fn stderr_color(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::IsTerminal::is_terminal(&std::io::stderr())
            }
        }
    }

    /// Data for stdout (plans, JSON); printed even with `-q`.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (`| head`) is the reader's choice: nothing to report.
        drop(
            out.write_all(for_terminal(text).as_bytes())
                .and_then(|()| out.flush()),
        );
    }

    /// A progress or status message on stderr; silenced by `-q`.
    pub fn info(&self, text: &str) {
        if !self.quiet {
            Self::stderr_line(text);
        }
    }

    /// A warning on stderr; shown even with `-q`.
    pub fn warn(&self, text: &str) {
        let prefix = if self.stderr_color() {
            "\x1b[33mwarning\x1b[0m"
        } else {
            "warning"
        };
        Self::stderr_line(&format!("{prefix}: {text}"));
    }

    /// An error report (already formatted) on stderr.
    pub fn error(&self, text: &str) {
        Self::stderr_line(text.trim_end());
    }

    /// miette's report handler, coloured like the rest of stderr.
    pub fn install_error_hook(&self) {
        let color = self.stderr_color();
        // Fails only when a hook is already set (tests calling run twice): keep it.
        drop(miette::set_hook(Box::new(move |_| {
            Box::new(
                miette::MietteHandlerOpts::new()
                    .color(color)
                    .unicode(color)
                    .build(),
            )
        })));
    }

    fn stderr_line(text: &str) {
        let mut err = std::io::stderr().lock();
        // A closed stderr leaves nowhere to say so.
        drop(writeln!(err, "{}", for_terminal(text)));
    }
}

impl Notify for Printer {
    fn info(&self, text: &str) {
        Printer::info(self, text);
    }

    fn warn(&self, text: &str) {
        Printer::warn(self, text);
    }

    fn diagnostics(&self, diags: &Diagnostics) {
        self.error(&diags.render_text(self.stderr_color()));
    }

    fn report(&self, text: &str) {
        self.data(text);
    }
}
