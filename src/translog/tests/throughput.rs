//! Parsing throughput on a 100 MB master log (ignored: run it in release).
//!
//! `cargo test --release --lib translog::tests::throughput -- --ignored --nocapture`

use std::time::Instant;

use super::fixture_log;
use crate::translog::MasterLogParser;

/// The target of the `apply` monitor: 200 MB/s in release mode.
const MIN_MB_PER_SEC: f64 = 200.0;

#[test]
#[ignore = "a benchmark: 100 MB, meaningful in release mode only"]
fn master_log_parses_at_least_200_mb_per_sec() {
    let mut corpus = fixture_log(1);
    corpus.push_str(&fixture_log(2));
    let target = 100 * 1024 * 1024;
    let mut log = Vec::with_capacity(target + corpus.len());
    while log.len() < target {
        log.extend_from_slice(corpus.as_bytes());
    }
    let mut best = 0.0_f64;
    let mut total = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let mut parser = MasterLogParser::new();
        let mut events = Vec::new();
        total = 0;
        for chunk in log.chunks(64 * 1024) {
            parser.feed_into(chunk, &mut events);
            total += events.len();
            events.clear();
        }
        #[allow(clippy::cast_precision_loss)]
        let mb = log.len() as f64 / 1e6;
        best = best.max(mb / start.elapsed().as_secs_f64());
    }
    eprintln!("{total} events, best {best:.0} MB/s");
    assert_eq!(
        total,
        corpus.lines().filter(|l| !l.is_empty()).count() * (log.len() / corpus.len())
    );
    if !cfg!(debug_assertions) {
        assert!(
            best >= MIN_MB_PER_SEC,
            "{best:.0} MB/s < {MIN_MB_PER_SEC} MB/s"
        );
    }
}
