//! Checks of what a hostile server's bytes can do to the client, shared by the
//! proptests (`tests/hostile.rs`) and the fuzz targets (`fuzz/fuzz_targets/*.rs`
//! include this file): each takes arbitrary bytes, panics only on a real failure, and
//! uses nothing but the crate's public API and serde_json.

use serde_json::{Value, json};
use whm_migrate::plan::schedule::{self, Pools};
use whm_migrate::plan::{Desired, Observed, Throughput, diff, render};
use whm_migrate::whm::answers::{FUNCTIONS, decode_answer};
use whm_migrate::whm::{CallSite, LogDecoder, LogMark, LogSink, RESUME_AFTER, WhmError};

const SITE: CallSite<'static> = CallSite {
    server: "hostile:2087",
    function: "fetch_transfer_session_log",
    session_id: Some("s1"),
};

/// Decodes a log answer pushed in the pieces `cuts` gives (offsets, any order or
/// range): the log's text, or the error as text.
fn decode_log(body: &[u8], cuts: &[u8]) -> Result<Vec<u8>, String> {
    let mut text = Vec::new();
    let mut decoder = LogDecoder::new(&mut text);
    let mut at = 0;
    for cut in cuts {
        let end = (at + usize::from(*cut)).min(body.len());
        decoder.push(&body[at..end]);
        at = end;
    }
    decoder.push(&body[at..]);
    let len = decoder.finish(SITE).map_err(|e| e.to_string())?;
    assert_eq!(len, text.len(), "the length returned is the text's");
    Ok(text)
}

/// The streaming log decoder on any body: however it is cut into pieces, the same text
/// or the same error, never a panic. The first bytes of `data` say where to cut it.
pub fn log_decoder_on_any_body(data: &[u8]) {
    let (cuts, body) = data.split_at(
        data.len()
            .min(usize::from(data.first().copied().unwrap_or(0) % 8)),
    );
    let whole = decode_log(body, &[]);
    let pieces = decode_log(body, cuts);
    assert_eq!(whole, pieces, "cut at {cuts:?}");
    let bytewise = decode_log(body, &vec![1; body.len()]);
    assert_eq!(whole, bytewise, "pushed byte by byte");
}

/// A sink that resumes a second copy of a log at the mark the first copy left, as the
/// log follower does.
struct Resuming<'a> {
    earlier: &'a [u8],
    offer: Option<LogMark>,
    text: Vec<u8>,
    skipped: bool,
    failed: bool,
}

impl LogSink for Resuming<'_> {
    fn log_bytes(&mut self, bytes: &[u8]) {
        self.text.extend_from_slice(bytes);
    }
    fn resume(&mut self) -> Option<LogMark> {
        self.offer
    }
    fn skipped_to(&mut self, len: usize) {
        self.skipped = true;
        self.text = self.earlier[..len].to_vec();
    }
    fn resume_failed(&mut self) {
        self.failed = true;
    }
}

/// Records the mark a copy leaves.
#[derive(Default)]
struct Marking {
    text: Vec<u8>,
    mark: Option<LogMark>,
}

impl LogSink for Marking {
    fn log_bytes(&mut self, bytes: &[u8]) {
        self.text.extend_from_slice(bytes);
    }
    fn marked(&mut self, mark: LogMark) {
        self.mark = Some(mark);
    }
}

/// A log of any text (lines of `data`, repeated past [`RESUME_AFTER`]), fetched twice:
/// the second copy, skipping to the first one's mark and cut anywhere, gives the same
/// text as the first.
pub fn log_resume_on_any_text(data: &[u8]) {
    let line = String::from_utf8_lossy(data).replace('\n', " ");
    let mut log = String::new();
    while log.len() <= RESUME_AFTER * 2 {
        log.push_str(&line);
        log.push('\n');
    }
    let body = serde_json::to_vec(&json!({
        "metadata": {"result": 1, "reason": "OK"},
        "data": {"log": log},
    }))
    .expect("a JSON body");
    let mut first = Marking::default();
    let mut decoder = LogDecoder::new(&mut first);
    decoder.push(&body);
    decoder.finish(SITE).expect("a log answer decodes");
    assert_eq!(first.text, log.as_bytes());
    let mut second = Resuming {
        earlier: &first.text,
        offer: first.mark,
        text: Vec::new(),
        skipped: false,
        failed: false,
    };
    let mut decoder = LogDecoder::new(&mut second);
    let step = 1 + usize::from(data.first().copied().unwrap_or(0));
    for chunk in body.chunks(step) {
        decoder.push(chunk);
    }
    decoder.finish(SITE).expect("the second copy decodes");
    assert!(!second.failed, "the same log resumes");
    assert!(
        second.skipped,
        "a log this long leaves a mark past the start"
    );
    assert_eq!(second.text, log.as_bytes());
}

/// Any body as the answer of every function the client calls: a typed answer or an
/// error naming the function, never a panic.
pub fn typed_answers_on_any_body(data: &[u8]) {
    for function in FUNCTIONS {
        if let Err(e) = decode_answer(function, data) {
            let text = e.to_string();
            assert!(text.contains(function), "{function}: {text}");
            let _: &WhmError = &e;
        }
    }
}

/// The values a hostile or broken server puts where the plan expects sizes, counts,
/// names and flags.
fn hostile_value(pick: u8) -> Value {
    match pick % 16 {
        0 => json!(0),
        1 => json!(u64::MAX),
        2 => json!(u64::MAX.to_string()),
        3 => json!("10000000000000000000"),
        4 => json!(-1),
        5 => json!(i64::MIN),
        6 => json!(1e300),
        7 => json!("NaN"),
        8 => json!(""),
        9 => json!("\u{1b}]52;c;aGk=\u{7}\u{1b}[2J"),
        10 => json!("a".repeat(300)),
        11 => Value::Null,
        12 => json!(true),
        13 => json!([]),
        14 => json!({}),
        _ => json!("0M"),
    }
}

/// Replaces leaves of `value` as `data` says: one byte per leaf, in document order; a
/// byte of 0x80 or more replaces the leaf with a hostile value. With `numbers_only`,
/// only numbers are candidates.
fn mutate(value: &mut Value, data: &mut std::slice::Iter<'_, u8>, numbers_only: bool) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| mutate(v, data, numbers_only)),
        Value::Object(map) => map.values_mut().for_each(|v| mutate(v, data, numbers_only)),
        leaf if numbers_only && !leaf.is_number() => {}
        leaf => {
            if let Some(&b) = data.next()
                && b >= 0x80
            {
                *leaf = hostile_value(b);
            }
        }
    }
}

/// The demo migration's manifest, observed state, throughput and pools as `plan` saw
/// them on the simulator.
const PLAN_INPUT: &str = include_str!("../fixtures/hostile/plan-input.json");

/// Plan, schedule and every rendering on the demo's observed state (and throughput
/// and pools) with any of its values replaced by hostile ones (`data` says which; the
/// manifest's side stays as it is): never a panic, and the plan's JSON is JSON. Returns
/// whether the values were taken (false when they do not even decode).
pub fn plan_on_hostile_observed_data(data: &[u8], numbers_only: bool) -> bool {
    let input: Value = serde_json::from_str(PLAN_INPUT).expect("the fixture is JSON");
    let desired = serde_json::from_value::<Desired>(input["desired"].clone())
        .expect("the fixture's desired state decodes");
    let mut server_side = json!([input["observed"], input["throughput"], input["pools"]]);
    mutate(&mut server_side, &mut data.iter(), numbers_only);
    let Ok(observed) = serde_json::from_value::<Observed>(server_side[0].clone()) else {
        return false;
    };
    let Ok(throughput) = serde_json::from_value::<Throughput>(server_side[1].clone()) else {
        return false;
    };
    let pools: Vec<Pools> = server_side[2]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let n = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
            Pools::new(n(&p[0]), n(&p[1]))
        })
        .collect();
    let mut plan = diff(&desired, &observed);
    schedule::schedule(&mut plan, &desired, &observed, &pools, throughput);
    let _ = render::text(&plan);
    let _ = render::markdown(&plan);
    let _ = render::summary_line(&plan);
    let _ = render::gate_report(&plan);
    let _ = render::overall_estimate_line(&plan);
    for source in &plan.sources {
        let _ = render::estimate_line(source);
    }
    let json = render::json(&plan);
    serde_json::from_str::<Value>(&json).expect("the plan's JSON parses");
    true
}
