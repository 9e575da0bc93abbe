//! Property tests: chunking does not change the events, and no input panics.

use proptest::prelude::{
    Just, Strategy, any, prop, prop_assert, prop_assert_eq, prop_oneof, proptest,
};
use serde_json::{Value, json};

use super::fixture_log;
use super::handwritten::LOG;
use crate::translog::{
    EventKind, ItemLogParser, MasterLogParser, SessionProgress, failure_excerpt, parse_item_log,
    parse_master_log,
};

/// Both fixtures and the hand-written log, one after the other.
fn corpus() -> Vec<u8> {
    let mut all = fixture_log(1);
    all.push_str(&fixture_log(2));
    all.push_str(LOG);
    all.into_bytes()
}

/// Arbitrary JSON values, shallow enough to stay fast.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z“” 0-9/]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,14}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const ACTIONS: &[&str] = &[
    "start",
    "resume",
    "initiator",
    "version",
    "queue_count",
    "queue_size",
    "remotehost",
    "process-item",
    "start-item",
    "success-item",
    "warning-item",
    "failed-item",
    "child-failed",
    "pausing",
    "pause",
    "aborting",
    "abort",
    "fail",
    "complete",
    "percentage",
    "summary",
    "other",
];

proptest! {
    #[test]
    fn chunked_feed_equals_one_feed(cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40)) {
        let log = corpus();
        let whole = parse_master_log(&log);
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(log.len() + 1)).collect();
        at.sort_unstable();
        let mut parser = MasterLogParser::new();
        let mut events = Vec::new();
        let mut start = 0;
        for cut in at.into_iter().chain([log.len()]) {
            parser.feed_into(&log[start..cut], &mut events);
            start = cut;
        }
        events.extend(parser.finish());
        prop_assert_eq!(events, whole);
    }

    #[test]
    fn growing_whole_feeds_equal_one_feed(cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20)) {
        let log = corpus();
        let whole = parse_master_log(&log);
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(log.len() + 1)).collect();
        at.sort_unstable();
        let mut parser = MasterLogParser::new();
        let mut events = Vec::new();
        for cut in at.into_iter().chain([log.len()]) {
            parser.feed_whole_into(&log[..cut], &mut events).unwrap();
        }
        events.extend(parser.finish());
        prop_assert_eq!(events, whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(
            prop_oneof![any::<u8>(), Just(b'\n'), Just(b'{'), Just(b'"'), Just(b'}')],
            0..600,
        ),
        chunk in 1usize..64,
    ) {
        let newlines = memchr::memchr_iter(b'\n', &bytes).count();
        let mut parser = MasterLogParser::new();
        let mut events = Vec::new();
        for piece in bytes.chunks(chunk) {
            events.extend(parser.feed(piece));
        }
        events.extend(parser.finish());
        prop_assert!(events.len() <= newlines + 1);
        prop_assert!(events.windows(2).all(|w| w[0].line < w[1].line));
        SessionProgress::new().apply_all(&events);

        let mut items = ItemLogParser::new();
        let mut item_events = items.feed(&bytes);
        item_events.extend(items.finish());
        prop_assert!(item_events.len() <= newlines + 1);
        prop_assert!(failure_excerpt(&item_events, 20).lines.len() <= 20);
    }

    #[test]
    fn any_json_object_is_never_malformed(
        action in prop::sample::select(ACTIONS),
        msg in json_value(),
        extra in json_value(),
        item in json_value(),
        child in json_value(),
    ) {
        let record = json!({
            "type": "control",
            "pid": extra.clone(),
            "contents": {
                "action": action,
                "msg": msg,
                "item": item,
                "child_number": child,
                "queue": extra.clone(),
                "percentage": extra.clone(),
                "warnings": extra,
            },
        });
        let line = format!("{record}\n");
        let events = parse_master_log(line.as_bytes());
        prop_assert_eq!(events.len(), 1);
        prop_assert!(!matches!(events[0].kind, EventKind::Malformed { .. }), "{:?}", events[0]);
        let item_events = parse_item_log(line.as_bytes());
        prop_assert_eq!(item_events.len(), 1);
    }
}
