//! Bars mode: indicatif bars on a terminal.
//!
//! One overall bar per source (items finished / total, the session state, failures and
//! bytes when known), under it a spinner line per item being transferred or restored;
//! finished items, notes and state changes are printed above the bars as plain lines
//! (the same words as plain mode, without timestamps). Lines are written with the bars
//! suspended, so nothing is torn; indicatif redraws at most 20 times a second, so
//! nothing flickers. Finishing or dropping the renderer clears every bar.
//!
//! `--progress bars` off a terminal draws no bars (indicatif hides its target) but
//! still prints the lines.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::event::{ItemChange, ProgressEvent, SourceTotals};
use super::format::{bytes, duration, left_short};
use super::plain;
use super::progress::{Render, Sink};
use crate::domain;
use crate::text::for_terminal;
use crate::translog::{ItemKey, ItemState};

const SOURCE_TEMPLATE: &str = "{spinner} {prefix} [{bar:30}] {pos}/{len} items  {msg}";
const ITEM_TEMPLATE: &str = "  {spinner} {prefix}: {msg}";
const ALL_TEMPLATE: &str = "{spinner} all sources: {msg}";
const TICK: Duration = Duration::from_millis(120);

/// One source's bars.
struct SourceBars {
    overall: ProgressBar,
    /// Item lines in display order.
    items: Vec<(ItemKey, ProgressBar)>,
    state: Option<domain::SessionState>,
    totals: Option<SourceTotals>,
    level: Option<String>,
    /// The session's expected time left.
    left: Option<Duration>,
}

/// Draws bars with indicatif and prints lines above them to a sink.
pub(crate) struct BarsRenderer {
    multi: MultiProgress,
    sink: Sink,
    sources: HashMap<String, SourceBars>,
    /// The overall line above the sources' bars: items over every source, and the
    /// longest time left.
    all: Option<ProgressBar>,
}

impl BarsRenderer {
    /// Bars on stderr (hidden by indicatif when stderr is not a terminal).
    pub(crate) fn stderr() -> Self {
        Self::new(ProgressDrawTarget::stderr(), Box::new(std::io::stderr()))
    }

    /// Bars drawn nowhere; the lines above them go to `sink` (for tests).
    pub(crate) fn hidden(sink: Sink) -> Self {
        Self::new(ProgressDrawTarget::hidden(), sink)
    }

    fn new(target: ProgressDrawTarget, sink: Sink) -> Self {
        Self {
            multi: MultiProgress::with_draw_target(target),
            sink,
            sources: HashMap::new(),
            all: None,
        }
    }

    fn print(&mut self, line: &str) {
        let sink = &mut self.sink;
        self.multi.suspend(|| {
            // Progress is best-effort: a closed or full terminal must not stop the migration.
            let _ = writeln!(sink, "{}", for_terminal(line));
            let _ = sink.flush();
        });
    }

    fn style(template: &str) -> ProgressStyle {
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    }

    fn ticking(&self, bar: &ProgressBar) {
        if !self.multi.is_hidden() {
            bar.enable_steady_tick(TICK);
        }
    }

    fn source(&mut self, source: &str) -> &mut SourceBars {
        if !self.sources.contains_key(source) {
            let overall = self.multi.add(
                ProgressBar::new(0)
                    .with_style(Self::style(SOURCE_TEMPLATE))
                    .with_prefix(source.to_owned()),
            );
            self.ticking(&overall);
            self.sources.insert(
                source.to_owned(),
                SourceBars {
                    overall,
                    items: Vec::new(),
                    state: None,
                    totals: None,
                    level: None,
                    left: None,
                },
            );
        }
        self.sources
            .get_mut(source)
            .unwrap_or_else(|| unreachable!("inserted above"))
    }

    fn item(&mut self, source: &str, change: &ItemChange) {
        let multi = self.multi.clone();
        let hidden = multi.is_hidden();
        let bars = self.source(source);
        let existing = bars.items.iter().position(|(k, _)| *k == change.key);
        let active = matches!(change.state, ItemState::Transferring | ItemState::Restoring);
        match (existing, active) {
            (Some(i), true) => bars.items[i]
                .1
                .set_message(for_terminal(&change.phrase()).into_owned()),
            (None, true) => {
                let after = bars.items.last().map_or(&bars.overall, |(_, b)| b);
                let bar = multi.insert_after(
                    after,
                    ProgressBar::new_spinner()
                        .with_style(Self::style(ITEM_TEMPLATE))
                        .with_prefix(for_terminal(&change.label()).into_owned())
                        .with_message(for_terminal(&change.phrase()).into_owned()),
                );
                if !hidden {
                    bar.enable_steady_tick(TICK);
                }
                bars.items.push((change.key.clone(), bar));
            }
            (Some(i), false) => {
                let (_, bar) = bars.items.remove(i);
                bar.finish_and_clear();
                multi.remove(&bar);
            }
            (None, false) => {}
        }
        if change.state.is_finished() {
            self.print(&format!("{source} {}", change.line()));
        }
    }

    fn refresh(bars: &SourceBars) {
        let mut parts = Vec::new();
        if let Some(state) = &bars.state {
            parts.push(state.name().to_owned());
        }
        if let Some(totals) = &bars.totals {
            bars.overall.set_length(totals.total as u64);
            bars.overall.set_position(totals.finished() as u64);
            if totals.failed > 0 {
                parts.push(format!("{} FAILED", totals.failed));
            }
            if totals.done_with_warnings > 0 {
                parts.push(format!("{} with warnings", totals.done_with_warnings));
            }
            if let (Some(done), Some(total)) = (totals.bytes_done, totals.bytes_total) {
                parts.push(format!("{} / {}", bytes(done), bytes(total)));
            }
        }
        if let Some(level) = &bars.level {
            parts.push(level.clone());
        }
        if let Some(left) = bars.left {
            parts.push(left_short(left));
        }
        bars.overall.set_message(parts.join(" · "));
    }

    /// The overall line: items finished over every source, and the longest time left.
    fn refresh_all(&mut self, overall: Option<Duration>) {
        if self.all.is_none() {
            let bar = self.multi.insert(
                0,
                ProgressBar::new_spinner().with_style(Self::style(ALL_TEMPLATE)),
            );
            self.ticking(&bar);
            self.all = Some(bar);
        }
        let (finished, total) = self
            .sources
            .values()
            .filter_map(|b| b.totals)
            .fold((0, 0), |(f, t), x| (f + x.finished(), t + x.total));
        let mut message = format!("{finished}/{total} items");
        if let Some(left) = overall {
            message.push_str(" · ");
            message.push_str(&left_short(left));
        }
        if let Some(all) = &self.all {
            all.set_message(message);
        }
    }

    fn clear(&mut self) {
        for (_, bars) in self.sources.drain() {
            for (_, bar) in bars.items {
                bar.finish_and_clear();
            }
            bars.overall.finish_and_clear();
        }
        if let Some(all) = self.all.take() {
            all.finish_and_clear();
        }
        // Progress is best-effort: a closed or full terminal must not stop the migration.
        let _ = self.multi.clear();
    }
}

impl Render for BarsRenderer {
    fn event(&mut self, _time: DateTime<Utc>, source: &str, event: &ProgressEvent) {
        match event {
            ProgressEvent::SourceStarted { planned, .. } => {
                let planned = *planned as u64;
                self.source(source).overall.set_length(planned);
                if let Some(line) = plain::line(source, event) {
                    self.print(&line);
                }
            }
            ProgressEvent::SessionState(state) => {
                let bars = self.source(source);
                bars.state = Some(state.clone());
                Self::refresh(bars);
                if let Some(line) = plain::line(source, event) {
                    self.print(&line);
                }
            }
            ProgressEvent::Item(change) => self.item(source, change),
            ProgressEvent::Totals { totals, left } => {
                let bars = self.source(source);
                bars.totals = Some(*totals);
                bars.level = None;
                bars.left = *left;
                Self::refresh(bars);
            }
            ProgressEvent::TimeLeft { tally, overall, .. } => {
                let bars = self.source(source);
                bars.left = tally.left;
                Self::refresh(bars);
                self.refresh_all(*overall);
            }
            ProgressEvent::Note(_) => {
                if let Some(line) = plain::line(source, event) {
                    self.print(&line);
                }
            }
            ProgressEvent::SessionLevel { state, elapsed } => {
                let bars = self.source(source);
                bars.state.clone_from(state);
                bars.level = Some(format!(
                    "{} elapsed; per-item progress when the log is available",
                    duration(*elapsed)
                ));
                Self::refresh(bars);
            }
            ProgressEvent::SourceFinished { .. } => {
                if let Some(bars) = self.sources.remove(source) {
                    for (_, bar) in bars.items {
                        bar.finish_and_clear();
                        self.multi.remove(&bar);
                    }
                    bars.overall.finish_and_clear();
                    self.multi.remove(&bars.overall);
                }
                if let Some(line) = plain::line(source, event) {
                    self.print(&line);
                }
            }
        }
    }

    fn finish(&mut self, _time: DateTime<Utc>) {
        self.clear();
        // Progress is best-effort: a closed or full terminal must not stop the migration.
        let _ = self.sink.flush();
    }
}

impl Drop for BarsRenderer {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex, PoisonError};

    use indicatif::{ProgressDrawTarget, TermLike};

    use super::BarsRenderer;
    use crate::domain::SessionState;
    use crate::report::event::ItemChange;
    use crate::report::event::{ProgressEvent, SourceTotals};
    use crate::report::progress::Render as _;
    use crate::report::testlog::{SharedBuf, planned, replay, start_time};

    /// A terminal that records what indicatif draws.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl Screen {
        fn push(&self, s: &str) {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_str(s);
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.push(s);
            self.push("\n");
            Ok(())
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.push(s);
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn bars_draw_on_a_terminal_and_items_come_and_go() {
        let screen = Screen::default();
        let lines = SharedBuf::default();
        let mut bars = BarsRenderer::new(
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
            Box::new(lines.clone()),
        );
        let t = start_time();
        bars.event(
            t,
            "old1",
            &ProgressEvent::SourceStarted {
                session_id: "s".into(),
                planned: planned().len(),
                estimate: Some(std::time::Duration::from_secs(600)),
            },
        );
        bars.event(
            t,
            "old1",
            &ProgressEvent::SessionState(SessionState::Running),
        );
        for fold in replay() {
            for (key, item) in fold.items() {
                bars.event(t, "old1", &ProgressEvent::Item(ItemChange::of(key, item)));
            }
            let totals = SourceTotals::of(&fold, planned().len());
            bars.event(
                t,
                "old1",
                &ProgressEvent::Totals {
                    totals,
                    left: Some(std::time::Duration::from_secs(720)),
                },
            );
        }
        assert!(
            bars.sources["old1"].items.is_empty(),
            "finished items leave no line"
        );
        bars.event(
            t,
            "old1",
            &ProgressEvent::TimeLeft {
                tally: crate::report::Tally {
                    finished: 3,
                    total: 4,
                    left: Some(std::time::Duration::from_secs(690)),
                },
                in_progress: 0,
                overall: Some(std::time::Duration::from_secs(3_700)),
            },
        );
        let old1 = bars.sources["old1"].overall.message();
        assert!(old1.ends_with("~12m left"), "{old1}");
        let all = bars.all.as_ref().map(indicatif::ProgressBar::message);
        assert_eq!(all.as_deref(), Some("3/4 items · ~1h02m left"));
        bars.event(
            t,
            "old2",
            &ProgressEvent::SessionLevel {
                state: Some(SessionState::Running),
                elapsed: std::time::Duration::from_secs(75),
            },
        );
        bars.finish(t);
        assert!(bars.sources.is_empty());
        drop(bars);
        let drawn = screen
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        assert!(drawn.contains("old1 ["), "{drawn}");
        assert!(lines.text().contains("old1 alice: FAILED in RESTORE"));
    }
}
