//! Any bytes as a master log and an item log, fed in two chunks and whole: events out,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use whm_migrate::translog::{MasterLogParser, SessionProgress, parse_item_log};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
    let mut parser = MasterLogParser::new();
    let mut events = parser.feed(&data[..split]);
    events.extend(parser.feed(&data[split..]));
    events.extend(parser.finish());
    let mut progress = SessionProgress::new();
    progress.apply_all(&events);
    let _ = progress.totals();
    let mut whole = MasterLogParser::new();
    let _ = whole.feed_whole(data);
    let _ = parse_item_log(data);
});
