//! Transfer-log parsing throughput on a ~100 MB master log built from the documented
//! example logs (target: at least 200 MB/s): the parser alone, and the whole path apply
//! takes, from the `fetch_transfer_session_log` answer as it arrives to events folded.
//! Run: `cargo bench --bench translog`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use whm_migrate::apply::logfeed::{Fold, LogFollower};
use whm_migrate::translog::{Event, MasterLogParser};
use whm_migrate::whm::{CallSite, LogDecoder};

/// Counts the events folded.
struct Count(usize);

impl Fold for Count {
    fn reset(&mut self) {
        self.0 = 0;
    }

    fn fold(&mut self, events: &[Event]) {
        self.0 += events.len();
    }
}

fn fixture_log(n: u32) -> String {
    let path = format!(
        "{}/tests/fixtures/whm-api/fetch_transfer_session_log--{n}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture readable");
    let envelope: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    envelope["data"]["log"]
        .as_str()
        .expect("data.log")
        .to_owned()
}

fn big_log(target: usize) -> Vec<u8> {
    let mut corpus = fixture_log(1);
    corpus.push_str(&fixture_log(2));
    let mut log = Vec::with_capacity(target + corpus.len());
    while log.len() < target {
        log.extend_from_slice(corpus.as_bytes());
    }
    log
}

fn master_log(c: &mut Criterion) {
    let log = big_log(100 * 1024 * 1024);
    let mut group = c.benchmark_group("translog");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.bench_function("master_log_100MB_in_64KiB_chunks", |b| {
        b.iter(|| {
            let mut parser = MasterLogParser::new();
            let mut events = Vec::new();
            let mut total = 0;
            for chunk in log.chunks(64 * 1024) {
                parser.feed_into(chunk, &mut events);
                total += events.len();
                events.clear();
            }
            black_box(total)
        });
    });
    // The answer as the server sends it: the log as one escaped JSON string.
    let body = serde_json::to_vec(&serde_json::json!({
        "metadata": {"result": "1", "reason": "OK"},
        "data": {"log": String::from_utf8(log.clone()).expect("utf-8")},
    }))
    .expect("serializable");
    group.bench_function("answer_100MB_decoded_and_folded_in_64KiB_chunks", |b| {
        let site = CallSite {
            server: "bench:2087",
            function: "fetch_transfer_session_log",
            session_id: None,
        };
        b.iter(|| {
            let mut follower = LogFollower::new();
            let mut count = Count(0);
            let mut fetch = follower.fetch(&mut count);
            let mut decoder = LogDecoder::new(&mut fetch);
            for chunk in body.chunks(64 * 1024) {
                decoder.push(chunk);
            }
            let len = decoder.finish(site).expect("a valid answer");
            fetch.end(Some(len));
            black_box(count.0)
        });
    });
    group.finish();
}

criterion_group!(benches, master_log);
criterion_main!(benches);
