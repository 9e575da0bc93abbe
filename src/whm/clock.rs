//! Dating the master log's records on our clock. A record is known to have been written
//! between two reads of the log (after the read before began, before the one that
//! brought it was folded), and its `time` says in which whole second of the server's
//! clock (REFERENCE §7.3). The server's clock is not ours: every record narrows how
//! far ahead of ours it is, and once that is known, a record's second narrows the
//! span between the reads. A log read every few seconds then still dates each step to
//! within about half a second, which is what the time left and the end's margin need.

use std::time::{Duration, Instant};

/// A span of our clock in which something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// No earlier than this.
    pub from: Instant,
    /// No later than this.
    pub to: Instant,
}

impl Span {
    /// The middle of the span: the likeliest instant when nothing else is known.
    pub fn mid(&self) -> Instant {
        self.from + self.to.saturating_duration_since(self.from) / 2
    }

    /// How far either way of [`Self::mid`] it may be.
    pub fn spread(&self) -> Duration {
        self.to.saturating_duration_since(self.from) / 2
    }

    /// The expected time from a moment in this span to a moment in `later`, knowing
    /// the second came after the first, each anywhere in its span. Two spans apart
    /// give the gap between their middles; spans that overlap (a short step whose
    /// start and end one read brought) give more than that, since the end cannot
    /// precede the start: for one span, a third of it, not nothing.
    pub fn gap_to(&self, later: Span) -> Duration {
        // Instants that are one moment still bound an interval to integrate over.
        const POINT: f64 = 1e-9;
        let origin = self.from.min(later.from);
        let secs = |at: Instant| at.saturating_duration_since(origin).as_secs_f64();
        let (a1, b1) = (secs(self.from), secs(self.to).max(secs(self.from) + POINT));
        let (a2, b2) = (
            secs(later.from),
            secs(later.to).max(secs(later.from) + POINT),
        );
        let width = b2 - a2;
        let middle = f64::midpoint(a2, b2);
        // Over starts s in [a1, b1]: the chance the end follows s, and the expected
        // gap times that chance, both integrated in closed form.
        let (mut chance, mut gap) = (0.0, 0.0);
        // s before the end's span: the end always follows, by `middle - s` on average.
        let (lo, hi) = (a1, b1.min(a2));
        if hi > lo {
            chance += hi - lo;
            gap += middle * (hi - lo) - (hi * hi - lo * lo) / 2.0;
        }
        // s within the end's span: the end follows with chance (b2 - s) / width, then
        // by (b2 - s) / 2 on average.
        let (lo, hi) = (a1.max(a2), b1.min(b2));
        if hi > lo {
            chance += ((b2 - lo).powi(2) - (b2 - hi).powi(2)) / (2.0 * width);
            gap += ((b2 - lo).powi(3) - (b2 - hi).powi(3)) / (6.0 * width);
        }
        if chance <= 0.0 || !gap.is_finite() {
            return later.mid().saturating_duration_since(self.mid());
        }
        Duration::from_secs_f64((gap / chance).max(0.0))
    }
}

/// What the server's clock is ahead of ours, in seconds, as far as the records have
/// shown: at least `lo`, less than `hi`.
#[derive(Debug, Clone, Copy)]
pub struct ServerClock {
    base: Instant,
    bounds: Option<(f64, f64)>,
}

impl ServerClock {
    /// A clock that knows nothing yet; `base` is any instant before the first read.
    pub fn new(base: Instant) -> Self {
        Self { base, bounds: None }
    }

    fn secs(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.base).as_secs_f64()
    }

    fn at(&self, secs: f64) -> Instant {
        self.base + Duration::from_secs_f64(secs.max(0.0))
    }

    /// A record stamped `time` (a whole second of the server's clock) was written
    /// within `seen`: narrows the offset. A stamp that contradicts what was learnt (the
    /// server's clock was set) starts the learning over from it.
    #[allow(clippy::cast_precision_loss)] // epoch seconds fit in 52 bits
    pub fn learn(&mut self, time: i64, seen: Span) {
        let t = time as f64;
        let (lo, hi) = (t - self.secs(seen.to), t + 1.0 - self.secs(seen.from));
        self.bounds = match self.bounds {
            Some((a, b)) if a.max(lo) < b.min(hi) => Some((a.max(lo), b.min(hi))),
            _ => Some((lo, hi)),
        };
    }

    /// When a record stamped `time` and first seen within `seen` was written: `seen`
    /// narrowed to the stamp's second on our clock, once the offset is known.
    #[allow(clippy::cast_precision_loss)]
    pub fn date(&self, time: Option<i64>, seen: Span) -> Span {
        let (Some(t), Some((lo, hi))) = (time, self.bounds) else {
            return seen;
        };
        let t = t as f64;
        let from = self.secs(seen.from).max(t - hi);
        let to = self.secs(seen.to).min(t + 1.0 - lo);
        if from > to {
            return seen;
        }
        Span {
            from: self.at(from),
            to: self.at(to),
        }
    }
}

/// One server's clock, shared by everything that reads its logs: every session of a
/// destination narrows the same offset.
#[derive(Debug, Clone)]
pub struct SharedClock(std::sync::Arc<std::sync::Mutex<ServerClock>>);

impl SharedClock {
    /// A clock that knows nothing yet.
    pub fn new() -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(
            ServerClock::new(Instant::now()),
        )))
    }

    /// The clock, to learn from or date with.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, ServerClock> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::{ServerClock, Span};
    use std::time::{Duration, Instant};

    const EPOCH: i64 = 1_800_000_000;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Records written at `written` (ms on our clock) with the server's clock `ahead`
    /// ms ahead, each read `lag` ms later, after a read `every` ms before that.
    fn learnt(base: Instant, ahead: u64, lag: u64, every: u64, written: &[u64]) -> ServerClock {
        let mut clock = ServerClock::new(base);
        for &w in written {
            let stamp = EPOCH + i64::try_from((w + ahead) / 1000).unwrap();
            let seen = Span {
                from: base + ms((w + lag).saturating_sub(every)),
                to: base + ms(w + lag),
            };
            clock.learn(stamp, seen);
        }
        clock
    }

    #[test]
    fn stamps_narrow_a_wide_read_span_to_about_their_second() {
        let base = Instant::now();
        let ahead = 400;
        // Records from dense reads, at many phases of the server's
        // seconds, pin the offset down.
        let written: Vec<u64> = (0..20).map(|i| 1_000 + i * 1_370).collect();
        let clock = learnt(base, ahead, 100, 150, &written);
        // A record written at 30.2 s, read at 32 s after a read at 28 s.
        let seen = Span {
            from: base + ms(28_000),
            to: base + ms(32_000),
        };
        let stamp = EPOCH + (30_200 + 400) / 1000;
        let dated = clock.date(Some(stamp), seen);
        assert!(dated.spread() <= ms(650), "{dated:?}");
        let truth = base + ms(30_200);
        assert!(dated.from <= truth && truth <= dated.to, "{dated:?}");
        assert_eq!(seen.spread(), ms(2_000), "the read span alone");
    }

    #[test]
    fn sparse_reads_never_date_a_record_outside_its_read_span_or_away_from_the_truth() {
        let base = Instant::now();
        let written: Vec<u64> = (0..30).map(|i| 500 + i * 1_130).collect();
        let clock = learnt(base, 2_700, 3_900, 4_000, &written);
        for w in [5_100_u64, 17_450, 33_020] {
            let seen = Span {
                from: base + ms(w - 1_000),
                to: base + ms(w + 3_000),
            };
            let dated = clock.date(
                Some(EPOCH + i64::try_from((w + 2_700) / 1000).unwrap()),
                seen,
            );
            let truth = base + ms(w);
            assert!(dated.from >= seen.from && dated.to <= seen.to, "{dated:?}");
            assert!(dated.from <= truth && truth <= dated.to, "{dated:?} {w}");
        }
    }

    #[test]
    fn without_a_stamp_or_before_any_the_read_span_stands() {
        let base = Instant::now();
        let seen = Span {
            from: base + ms(1_000),
            to: base + ms(3_000),
        };
        assert_eq!(ServerClock::new(base).date(Some(EPOCH), seen), seen);
        let clock = learnt(base, 0, 500, 1_000, &[100, 1_700, 2_300]);
        assert_eq!(clock.date(None, seen), seen);
        assert_eq!(seen.mid(), base + ms(2_000));
    }

    #[test]
    fn a_server_clock_that_was_set_is_learnt_again() {
        let base = Instant::now();
        let mut clock = learnt(base, 0, 500, 1_000, &[100, 1_700, 2_300, 3_900]);
        // The server's clock jumps an hour ahead: the old bounds contradict the stamp.
        let seen = Span {
            from: base + ms(5_000),
            to: base + ms(6_000),
        };
        clock.learn(EPOCH + 3_600 + 5, seen);
        let dated = clock.date(Some(EPOCH + 3_600 + 5), seen);
        assert!(dated.from >= seen.from && dated.to <= seen.to, "{dated:?}");
    }

    fn span(base: Instant, from: u64, to: u64) -> Span {
        Span {
            from: base + ms(from),
            to: base + ms(to),
        }
    }

    #[test]
    fn the_gap_between_two_spans_apart_is_between_their_middles() {
        let base = Instant::now();
        let gap = span(base, 0, 1_000).gap_to(span(base, 3_000, 5_000));
        assert_eq!(gap.as_millis(), 3_500);
        // A moment to a moment.
        let gap = span(base, 200, 200).gap_to(span(base, 700, 700));
        assert_eq!(gap.as_millis(), 500);
    }

    #[test]
    fn a_start_and_an_end_dated_to_one_span_are_a_third_of_it_apart() {
        let base = Instant::now();
        let one = span(base, 0, 3_000);
        let gap = one.gap_to(one).as_secs_f64();
        assert!((gap - 1.0).abs() < 1e-6, "{gap}");
        // The end narrowed to the second half: 7/9 s, more than the 0.75 s between
        // the middles.
        let gap = span(base, 0, 2_000)
            .gap_to(span(base, 1_000, 2_000))
            .as_secs_f64();
        assert!((gap - 7.0 / 9.0).abs() < 1e-6, "{gap}");
    }
}
