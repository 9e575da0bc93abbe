//! When a running session will end, estimated from how fast the master log shows its
//! work getting done. The state poll uses it to stop backing off in time: without it, a
//! poll backed off to several seconds notices the end up to that late.

use crate::translog::{ItemState, SessionProgress};
use std::time::{Duration, Instant};

/// The furthest end an estimate gives: a year.
const MAX_WAIT_SECS: f64 = 86_400.0 * 365.0;

/// The work a session's items stand for: bytes where the log gives the queue's total
/// size (`queue_size`, REFERENCE §7), items otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    /// Work finished: a restored or failed item counts whole, a transferred one half.
    pub done: f64,
    /// All the work.
    pub total: f64,
    /// Every known item is past its TRANSFER step (only restores are left).
    pub transferred: bool,
}

impl Work {
    /// Measures `progress`. Weighed by bytes, an item the log has not sized weighs the
    /// mean (`queue_size` over the item count).
    #[allow(clippy::cast_precision_loss)] // an estimate: 52 bits of bytes are plenty
    pub fn of(progress: &SessionProgress) -> Self {
        let known = progress.items().count();
        let count = progress
            .queue_count()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
            .max(known);
        let bytes = progress.queue_size().filter(|&size| size > 0 && count > 0);
        let (total, mean) = match bytes {
            Some(size) => (size as f64, size as f64 / count as f64),
            None => (count as f64, 1.0),
        };
        let mut work = Work {
            done: 0.0,
            total,
            transferred: known > 0,
        };
        for (_, item) in progress.items() {
            let weight = match (bytes, item.size) {
                (Some(_), Some(size)) => size as f64,
                _ => mean,
            };
            let state = item.state();
            work.done += weight
                * match state {
                    s if s.is_finished() => 1.0,
                    ItemState::AwaitingRestore | ItemState::Restoring => 0.5,
                    _ => 0.0,
                };
            if matches!(state, ItemState::Pending | ItemState::Transferring) {
                work.transferred = false;
            }
        }
        work.total = work.total.max(work.done);
        work
    }
}

/// The session's end, extrapolated from the work done since it was first measured.
#[derive(Debug, Default)]
pub struct EndEstimate {
    /// When the work was first measured, and how much was done then (a resumed
    /// session's earlier work does not count towards the rate).
    first: Option<(Instant, f64)>,
    /// When every item was first seen transferred.
    transferred: Option<Instant>,
}

impl EndEstimate {
    /// A new estimate, with nothing measured yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the work measured at `now`; returns when the session should end: at the
    /// rate seen so far, and no later than when every item was transferred. The rate
    /// extrapolates items done one after another; a few items done side by side end
    /// sooner than it says, and the restores left once every item is transferred are the
    /// shorter half of the work (the state poll backs off again by how long they take).
    /// `None` while neither is known.
    pub fn update(&mut self, now: Instant, work: Work) -> Option<Instant> {
        if work.transferred {
            self.transferred.get_or_insert(now);
        }
        let by_rate = self.by_rate(now, work);
        match (by_rate, self.transferred) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn by_rate(&mut self, now: Instant, work: Work) -> Option<Instant> {
        let (since, done_then) = match self.first {
            // A log that started over (or a first look): measure from here.
            Some((since, done_then)) if work.done >= done_then => (since, done_then),
            _ => {
                self.first = Some((now, work.done));
                return None;
            }
        };
        let progress = work.done - done_then;
        let elapsed = now.saturating_duration_since(since).as_secs_f64();
        if progress <= 0.0 || elapsed <= 0.0 {
            return None;
        }
        let left = (work.total - work.done).max(0.0);
        // Bounded: a few items done in a long session must not overflow an Instant
        // (and `min` takes the bound over a NaN).
        let secs = (left * elapsed / progress).min(MAX_WAIT_SECS);
        Some(now + Duration::from_secs_f64(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::{EndEstimate, Work};
    use crate::translog::{Event, EventKind, ItemKey, ItemRef, ItemReport, Queue, SessionProgress};
    use std::time::{Duration, Instant};

    fn event(
        queue: Queue,
        user: &str,
        kind: fn(ItemRef, Option<u64>) -> EventKind,
        size: Option<u64>,
    ) -> Event {
        Event {
            line: 0,
            time: None,
            pid: None,
            child: Some(1),
            kind: kind(
                ItemRef {
                    queue: Some(queue),
                    item: user.into(),
                    local_item: None,
                    item_type: Some("AccountRemoteRoot".into()),
                    item_name: Some("Account".into()),
                    logfile: None,
                },
                size,
            ),
        }
    }

    fn started(item: ItemRef, size: Option<u64>) -> EventKind {
        EventKind::ItemStarted { item, size }
    }

    fn succeeded(item: ItemRef, _: Option<u64>) -> EventKind {
        EventKind::ItemSucceeded {
            item,
            report: ItemReport::default(),
        }
    }

    fn session(users: &[&str]) -> SessionProgress {
        let mut p = SessionProgress::new();
        for user in users {
            p.expect(ItemKey::new("AccountRemoteRoot", *user));
        }
        p
    }

    fn finish(p: &mut SessionProgress, user: &str, size: Option<u64>) {
        p.apply(&event(Queue::Transfer, user, started, size));
        p.apply(&event(Queue::Transfer, user, succeeded, None));
        p.apply(&event(Queue::Restore, user, started, None));
        p.apply(&event(Queue::Restore, user, succeeded, None));
    }

    proptest::proptest! {
        /// Hostile sizes and counts (zero, u64::MAX, a queue smaller than its items)
        /// and any measured work, even NaN or infinite: an estimate or none, within a
        /// year, never a panic.
        #[test]
        fn hostile_sizes_and_work_never_panic_and_stay_bounded(
            sizes in proptest::collection::vec(proptest::option::of(proptest::prop_oneof![
                proptest::prelude::Just(0u64), proptest::prelude::Just(u64::MAX), proptest::prelude::any::<u64>()
            ]), 0..6),
            queue_size in proptest::option::of(proptest::prop_oneof![
                proptest::prelude::Just(0u64), proptest::prelude::Just(u64::MAX), proptest::prelude::any::<u64>()
            ]),
            queue_count in proptest::option::of(proptest::prelude::any::<u64>()),
            looks in proptest::collection::vec((0u64..1_000_000, proptest::num::f64::ANY, proptest::num::f64::ANY, proptest::prelude::any::<bool>()), 0..6),
        ) {
            let names: Vec<String> = (0..sizes.len()).map(|i| format!("u{i}")).collect();
            let users: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut p = session(&users);
            for (user, size) in users.iter().zip(&sizes) {
                finish(&mut p, user, *size);
            }
            p.apply(&Event { line: 0, time: None, pid: None, child: None,
                kind: EventKind::QueueSize { queue: Some(Queue::Transfer), size: queue_size } });
            p.apply(&Event { line: 0, time: None, pid: None, child: None,
                kind: EventKind::QueueCount { queue: Some(Queue::Transfer), count: queue_count } });
            let w = Work::of(&p);
            proptest::prop_assert!(w.done.is_finite() && w.total.is_finite(), "{w:?}");
            proptest::prop_assert!(w.done >= 0.0 && w.total >= w.done, "{w:?}");
            let t0 = Instant::now();
            let mut eta = EndEstimate::new();
            let year = Duration::from_secs(86_400 * 365);
            let _ = eta.update(t0, w);
            for (ms, done, total, transferred) in looks {
                let now = t0 + Duration::from_millis(ms);
                if let Some(end) = eta.update(now, Work { done, total, transferred }) {
                    proptest::prop_assert!(end <= now + year);
                }
            }
        }
    }

    #[test]
    fn work_counts_restored_items_whole_and_transferred_ones_half() {
        let mut p = session(&["a", "b", "c", "d"]);
        let w = Work::of(&p);
        assert_eq!((w.done, w.total), (0.0, 4.0));
        finish(&mut p, "a", None);
        p.apply(&event(Queue::Transfer, "b", started, None));
        p.apply(&event(Queue::Transfer, "b", succeeded, None));
        let w = Work::of(&p);
        assert_eq!((w.done, w.total), (1.5, 4.0));
        finish(&mut p, "c", None);
        let w = Work::of(&p);
        assert_eq!((w.done, w.total), (2.5, 4.0), "b is still half done");
        assert!(!w.transferred, "d is pending");
        finish(&mut p, "d", None);
        assert!(Work::of(&p).transferred, "only b's restore is left");
        assert!(
            !Work::of(&SessionProgress::new()).transferred,
            "nothing known"
        );
    }

    #[test]
    fn work_is_weighed_by_bytes_when_the_log_gives_the_queue_size() {
        let mut p = session(&["small", "big", "unknown"]);
        finish(&mut p, "small", Some(100));
        p.apply(&event(Queue::Transfer, "big", started, Some(900)));
        let w = Work::of(&p);
        assert_eq!((w.done, w.total), (1.0, 3.0), "no queue_size: items");
        p.apply(&Event {
            line: 0,
            time: None,
            pid: None,
            child: None,
            kind: EventKind::QueueSize {
                queue: Some(Queue::Transfer),
                size: Some(3_000),
            },
        });
        let w = Work::of(&p);
        assert_eq!((w.done, w.total), (100.0, 3_000.0));
        // An item the log has not sized weighs the mean: 3,000 over 3 items.
        p.apply(&event(Queue::Transfer, "unknown", started, None));
        p.apply(&event(Queue::Transfer, "unknown", succeeded, None));
        assert!((Work::of(&p).done - 600.0).abs() < 1e-9);
    }

    #[test]
    fn the_end_is_extrapolated_from_the_rate_since_the_first_look() {
        let t0 = Instant::now();
        let mut eta = EndEstimate::new();
        let work = |done: f64| Work {
            done,
            total: 10.0,
            transferred: false,
        };
        // A resumed session: 4 of 10 were done before this run looked.
        assert_eq!(eta.update(t0, work(4.0)), None, "no rate yet");
        assert_eq!(
            eta.update(t0 + Duration::from_secs(1), work(4.0)),
            None,
            "no progress"
        );
        // 2 more in 2 s: 4 left take 4 s more.
        let end = eta
            .update(t0 + Duration::from_secs(2), work(6.0))
            .expect("a rate");
        assert_eq!(end, t0 + Duration::from_secs(6));
        // A log that started over is measured afresh.
        assert_eq!(eta.update(t0 + Duration::from_secs(3), work(1.0)), None);
        let end = eta
            .update(t0 + Duration::from_secs(4), work(2.0))
            .expect("a rate");
        assert_eq!(end, t0 + Duration::from_secs(12));
        // All done: the end is now.
        let end = eta
            .update(t0 + Duration::from_secs(5), work(10.0))
            .expect("a rate");
        assert_eq!(end, t0 + Duration::from_secs(5));
    }

    #[test]
    fn the_end_is_due_no_later_than_when_every_item_was_transferred() {
        let t0 = Instant::now();
        let mut eta = EndEstimate::new();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let work = |done: f64, transferred: bool| Work {
            done,
            total: 2.0,
            transferred,
        };
        assert_eq!(eta.update(at(0), work(0.0, false)), None);
        // Two items side by side: the small one's transfer says "6 s more" at that rate.
        assert_eq!(eta.update(at(2), work(0.5, false)), Some(at(8)));
        // Both transferred: only restores are left, the end is due now.
        assert_eq!(eta.update(at(3), work(1.0, true)), Some(at(3)));
        assert_eq!(
            eta.update(at(4), work(1.5, true)),
            Some(at(3)),
            "it stays due"
        );
    }
}
