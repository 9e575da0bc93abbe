//! The exact schedule the simulator's thread pools would achieve with zero client
//! overhead: every item is queued and the session started at time 0, then the pools
//! work as `src/sim/worker.rs` does (REFERENCE §5.4): each TRANSFER worker takes the
//! next item in (priority, key) order as soon as it is free; an item becomes ready for
//! RESTORE when its TRANSFER ends; each free RESTORE worker takes the ready item with
//! the lowest (priority, key). Every item here is an account of one module type without
//! a reseller, so the priorities `plan` sends are largest first (ties by key): the
//! ideal is that order's schedule with zero client overhead. Step times use the
//! simulator's own [`TimeScale::duration`], so only its timer granularity is left out.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::Duration;
use whm_migrate::sim::TimeScale;

/// The simulator caps each pool at 9 threads and at the number of open items.
fn pool(threads: u32, items: usize) -> usize {
    usize::try_from(threads.clamp(1, 9)).unwrap_or(1).min(items)
}

/// The ideal makespan of one session whose items are `(key, bytes)`.
pub fn session(items: &[(String, u64)], threads: u32, scale: &TimeScale) -> Duration {
    if items.is_empty() {
        return Duration::ZERO;
    }
    // The plan's priority order: largest first, ties by key.
    let mut sorted: Vec<&(String, u64)> = items.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rank: BTreeMap<&str, usize> = sorted
        .iter()
        .enumerate()
        .map(|(i, (key, _))| (key.as_str(), i))
        .collect();
    // TRANSFER: everything is ready at 0, so this is list scheduling in priority order.
    let mut free: BinaryHeap<Reverse<Duration>> =
        std::iter::repeat_n(Reverse(Duration::ZERO), pool(threads, items.len())).collect();
    let mut transferred: Vec<(Duration, &str, u64)> = Vec::with_capacity(sorted.len());
    for (key, size) in sorted {
        let Reverse(at) = free.pop().expect("a worker");
        let end = at + scale.duration(*size, scale.bytes_per_second);
        transferred.push((end, key, *size));
        free.push(Reverse(end));
    }
    transferred.sort();
    // RESTORE: event-driven; a worker freed at t picks the ready item of lowest priority
    // (then key) at t.
    let mut idle = pool(threads, items.len());
    let mut busy: BinaryHeap<Reverse<Duration>> = BinaryHeap::new();
    let mut ready: BTreeMap<usize, u64> = BTreeMap::new();
    let mut next = 0;
    let mut now = Duration::ZERO;
    let mut last = Duration::ZERO;
    loop {
        while busy.peek().is_some_and(|Reverse(t)| *t <= now) {
            busy.pop();
            idle += 1;
        }
        while next < transferred.len() && transferred[next].0 <= now {
            ready.insert(rank[transferred[next].1], transferred[next].2);
            next += 1;
        }
        while idle > 0 {
            let Some((_, size)) = ready.pop_first() else {
                break;
            };
            let end = now + scale.duration(size, scale.restore_bytes_per_second);
            last = last.max(end);
            busy.push(Reverse(end));
            idle -= 1;
        }
        let next_free = busy.peek().map(|Reverse(t)| *t);
        let next_ready = transferred.get(next).map(|t| t.0);
        now = match (next_free, next_ready) {
            (None, None) => return last,
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_items_one_thread_pipeline() {
        let scale = TimeScale {
            bytes_per_second: 1000,
            restore_bytes_per_second: 1000,
            item_overhead_ms: 0,
        };
        let items = vec![("a".to_owned(), 1000), ("b".to_owned(), 1000)];
        // a: T 0-1 R 1-2; b: T 1-2 R 2-3.
        assert_eq!(session(&items, 1, &scale), Duration::from_secs(3));
    }
}
