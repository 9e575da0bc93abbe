//! Session log files in the line-delimited JSON format of REFERENCE §7 (current form:
//! numeric `pid`, `time`, `indent: 0`, `partial: 0`), written with serde_json. Records
//! are built in that form and laid out as the session's [`LogLayout`] says when written.
//!
//! A file is "unfinished" (on a server: `.NAME`) until its final record; then it is
//! "renamed" to `NAME`. `master.log` finishes when the session reaches a terminal state,
//! an item log after its success/failure record.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::effects::Restored;
use super::options::LogLayout;

/// One log file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFile {
    /// The bytes written so far.
    pub text: LogText,
    /// Whether it has been renamed to its plain name.
    pub finished: bool,
    /// Records written so far: picks each record's layout under [`LogLayout::Mixed`].
    #[serde(default)]
    pub records: u64,
}

/// Append-only text kept in sealed chunks: a copy of a long log (to answer a fetch
/// outside the simulator's lock) is a few reference counts and one short tail, not a
/// copy of tens of megabytes while every worker waits for the lock — on a real server
/// the workers write their files while the API reads them.
#[derive(Debug, Clone, Default)]
pub struct LogText {
    sealed: Vec<Arc<str>>,
    tail: String,
}

/// The size at which the tail is sealed into a chunk.
const CHUNK: usize = 64 * 1024;

impl LogText {
    /// Appends `text`.
    pub fn push_str(&mut self, text: &str) {
        self.tail.push_str(text);
        if self.tail.len() >= CHUNK {
            self.sealed.push(Arc::from(std::mem::take(&mut self.tail)));
        }
    }

    /// Appends one character.
    pub fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]));
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.sealed.iter().map(|c| c.len()).sum::<usize>() + self.tail.len()
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for LogText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in &self.sealed {
            f.write_str(chunk)?;
        }
        f.write_str(&self.tail)
    }
}

impl From<LogText> for String {
    fn from(text: LogText) -> Self {
        let mut out = String::with_capacity(text.len());
        for chunk in &text.sealed {
            out.push_str(chunk);
        }
        out.push_str(&text.tail);
        out
    }
}

impl LogText {
    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.sealed
            .iter()
            .map(|c| &**c)
            .chain(std::iter::once(self.tail.as_str()))
            .flat_map(str::bytes)
    }
}

impl PartialEq for LogText {
    fn eq(&self, other: &Self) -> bool {
        // Chunk boundaries differ with the history of appends: compare the bytes.
        self.len() == other.len() && self.bytes().eq(other.bytes())
    }
}

impl Eq for LogText {}

impl Serialize for LogText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LogText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut text = LogText::default();
        text.push_str(&String::deserialize(deserializer)?);
        Ok(text)
    }
}

/// The master log's name.
pub const MASTER: &str = "master.log";
/// The master's standard error.
pub const ERROR_LOG: &str = "master.error_log";

/// Epoch seconds now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The log-file name of an item's step: `item-QUEUE_Module_key`.
pub fn item_log_name(queue: &str, module: &str, key: &str) -> String {
    format!("item-{queue}_{module}_{key}")
}

/// Appends one record to a file (creating it unfinished), laid out as `layout` says.
pub fn append(logs: &mut BTreeMap<String, LogFile>, layout: LogLayout, file: &str, record: &Value) {
    let f = logs.entry(file.to_owned()).or_default();
    let nth = f.records;
    f.records += 1;
    let laid_out;
    let record = match layout {
        LogLayout::Reference => record,
        LogLayout::Docs => {
            laid_out = lay_out(record, true, is_item_step, true);
            &laid_out
        }
        // Each record in turn: `type` at the top, inside `contents`, absent wherever an
        // `action` says the kind; the pid's typing changes on a different beat, so every
        // pairing shows up.
        LogLayout::Mixed => {
            let (nested, bare): (bool, fn(&str) -> bool) = match nth % 3 {
                0 => (false, |_| false),
                1 => (true, |_| false),
                _ => (true, |_| true),
            };
            laid_out = lay_out(record, nested, bare, nth % 2 == 1);
            &laid_out
        }
    };
    // serde_json straight to a string, not through `Display`'s formatter.
    f.text
        .push_str(&serde_json::to_string(record).unwrap_or_default());
    f.text.push('\n');
}

/// The actions the guide prints with no `type` at all (`process-item`, `success-item`;
/// the other item steps alike).
fn is_item_step(action: &str) -> bool {
    action.ends_with("-item")
}

/// A record in the guide's layouts (REFERENCE §7.2, `fetch_transfer_session_log--3.json`):
/// when `nested`, `type` moved into an object `contents`, or left out altogether from a
/// `control` record whose `action` passes `bare`; `pid` written as a string when
/// `pid_text`. A record whose `contents` is text keeps its top-level `type`: nothing
/// else would say what it is.
fn lay_out(record: &Value, nested: bool, bare: fn(&str) -> bool, pid_text: bool) -> Value {
    let mut record = record.clone();
    let Some(m) = record.as_object_mut() else {
        return record;
    };
    if pid_text && let Some(pid) = m.get_mut("pid").filter(|p| p.is_u64()) {
        *pid = json!(pid.to_string());
    }
    let Some(Value::Object(contents)) = m.get("contents").filter(|_| nested) else {
        return record;
    };
    let bare = contents
        .get("action")
        .and_then(Value::as_str)
        .is_some_and(bare);
    let kind = m.remove("type");
    let bare = bare && kind.as_ref().is_some_and(|k| k == "control");
    if let (Some(kind), false, Some(Value::Object(contents))) = (kind, bare, m.get_mut("contents"))
    {
        contents.insert("type".into(), kind);
    }
    record
}

/// Appends plain text to a file.
pub fn append_text(logs: &mut BTreeMap<String, LogFile>, file: &str, text: &str) {
    logs.entry(file.to_owned()).or_default().text.push_str(text);
}

/// A full record: `{"type", "contents", "pid", "indent": 0, "partial": 0}`.
pub fn record(kind: &str, contents: Value, pid: u32) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    m.insert("contents".into(), contents);
    m.insert("pid".into(), json!(pid));
    m.insert("indent".into(), json!(0));
    m.insert("partial".into(), json!(0));
    Value::Object(m)
}

/// A master-log control record; `extra` fields (item fields, `queue`, `msg`) are merged
/// into `contents` after `action`, `child_number` and `time`.
pub fn control(pid: u32, child_number: u32, action: &str, extra: Map<String, Value>) -> Value {
    let mut c = Map::new();
    c.insert("action".into(), json!(action));
    c.insert("child_number".into(), json!(child_number));
    c.insert("time".into(), json!(now()));
    c.extend(extra);
    record("control", Value::Object(c), pid)
}

/// Item fields for master-log records about an item.
pub fn item_fields(
    queue: &str,
    item: &str,
    local_item: &str,
    item_type: &str,
    item_name: &str,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("queue".into(), json!(queue));
    m.insert("item".into(), json!(item));
    m.insert("local_item".into(), json!(local_item));
    m.insert("item_type".into(), json!(item_type));
    m.insert("item_name".into(), json!(item_name));
    m.insert(
        "logfile".into(),
        json!(item_log_name(queue, item_type, item)),
    );
    m
}

/// The `msg` of a `success-item` / `warning-item` record: the counts, and the texts in
/// `contents` (null when there are none, as in the guide's example).
pub(crate) fn success_msg(size: u64, restored: &Restored, message: Option<&str>) -> Value {
    let texts = |t: &[String]| if t.is_empty() { Value::Null } else { json!(t) };
    json!({
        "size": size,
        "warnings": restored.warnings.len(),
        "skipped_items": restored.skipped.len(),
        "dangerous_items": 0,
        "altered_items": restored.altered.len(),
        "contents": {
            "warnings": texts(&restored.warnings),
            "skipped_items": texts(&restored.skipped),
            "dangerous_items": null,
            "altered_items": texts(&restored.altered),
        },
        "message": message,
    })
}

/// The `msg` of a `failed-item` record.
pub fn failed_msg(size: u64, failure: &str) -> Value {
    json!({
        "size": size,
        "failure": failure,
        "warnings": 0,
        "skipped_items": 0,
        "dangerous_items": 0,
        "altered_items": 0,
        "contents": { "warnings": null, "skipped_items": null, "dangerous_items": null, "altered_items": null },
    })
}

/// A `{"msg": [text]}` item-log record of the given type (`out`, `warn`, `success`…).
pub fn item_msg(kind: &str, text: &str, pid: u32) -> Value {
    record(kind, json!({ "msg": [text] }), pid)
}

/// The item log's opening `start` record.
pub fn item_start(queue: &str, item_name: &str, key: &str, local: &str, pid: u32) -> Value {
    let who = if key == local {
        format!("“{key}”")
    } else {
        format!("“{key}” → “{local}”")
    };
    record(
        "start",
        json!({ "msg": [format!("Starting “{queue}” for “{item_name}” {who}.")], "time": now() }),
        pid,
    )
}

/// An item-log `percentage` control record.
pub fn percentage(pct: u32, pid: u32) -> Value {
    record(
        "control",
        json!({ "action": "percentage", "percentage": pct, "time": now() }),
        pid,
    )
}

/// The account-restore `summary` control record.
pub(crate) fn summary(restored: &Restored, pid: u32) -> Value {
    record(
        "control",
        json!({
            "action": "summary",
            "warnings": restored.warnings.len(),
            "skipped_items": restored.skipped.len(),
            "dangerous_items": 0,
            "altered_items": restored.altered.len(),
        }),
        pid,
    )
}

/// Looks a log up by the name a caller gives (plain, or dotted while unfinished).
pub fn find<'a>(logs: &'a BTreeMap<String, LogFile>, name: &str) -> Option<&'a LogFile> {
    if let Some(f) = logs.get(name) {
        return Some(f);
    }
    let plain = name.strip_prefix('.')?;
    logs.get(plain).filter(|f| !f.finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_single_lines_with_current_keys() {
        let mut logs = BTreeMap::new();
        append(
            &mut logs,
            LogLayout::Reference,
            MASTER,
            &control(7, 0, "start", Map::new()),
        );
        let text = logs[MASTER].text.to_string();
        let line = text.lines().next().unwrap();
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["pid"], 7);
        assert_eq!(v["indent"], 0);
        assert_eq!(v["contents"]["child_number"], 0);
        assert!(find(&logs, ".master.log").is_some());
        logs.get_mut(MASTER).unwrap().finished = true;
        assert!(find(&logs, ".master.log").is_none() && find(&logs, MASTER).is_some());
    }

    /// The records of `file`, parsed.
    fn lines(logs: &BTreeMap<String, LogFile>, file: &str) -> Vec<Value> {
        let text = logs[file].text.to_string();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn the_docs_layout_prints_records_as_the_guide_does() {
        let mut logs = BTreeMap::new();
        let process = item_fields("TRANSFER", "bob", "bob", "AccountRemoteRoot", "Account");
        for record in [
            control(7, 0, "start", Map::new()),
            control(8, 1, "process-item", process),
            item_msg("out", "copied", 8),
            record("out", json!("plain"), 8),
        ] {
            append(&mut logs, LogLayout::Docs, MASTER, &record);
        }
        let got = lines(&logs, MASTER);
        assert!(
            got.iter()
                .all(|r| r.get("type").is_none() || r["contents"].is_string())
        );
        assert_eq!(
            (&got[0]["pid"], &got[0]["contents"]["type"]),
            (&json!("7"), &json!("control"))
        );
        // An item step has no `type` at all: its `action` says what it is.
        assert_eq!(got[1]["contents"]["action"], "process-item");
        assert!(got[1]["contents"].get("type").is_none());
        assert_eq!(got[2]["contents"]["type"], "out");
        // Text contents cannot hold a `type`: it stays where it was.
        assert_eq!(
            (&got[3]["type"], &got[3]["pid"]),
            (&json!("out"), &json!("8"))
        );
        assert_eq!(logs[MASTER].records, 4);
    }

    #[test]
    fn the_mixed_layout_varies_record_by_record() {
        let mut logs = BTreeMap::new();
        for _ in 0..6 {
            let fields = item_fields("RESTORE", "bob", "bob", "AccountRemoteRoot", "Account");
            append(
                &mut logs,
                LogLayout::Mixed,
                MASTER,
                &control(9, 1, "start-item", fields),
            );
        }
        let got = lines(&logs, MASTER);
        let place = |r: &Value| match (r.get("type"), r["contents"].get("type")) {
            (Some(_), None) => "top",
            (None, Some(_)) => "nested",
            (None, None) => "none",
            (Some(_), Some(_)) => "both",
        };
        let places: Vec<_> = got.iter().map(place).collect();
        assert_eq!(places, ["top", "nested", "none", "top", "nested", "none"]);
        let text_pids: Vec<bool> = got.iter().map(|r| r["pid"].is_string()).collect();
        assert_eq!(text_pids, [false, true, false, true, false, true]);
    }

    #[test]
    fn long_text_is_kept_in_chunks_that_read_back_whole() {
        let mut text = LogText::default();
        let line = "x".repeat(1_000) + "\n";
        for _ in 0..200 {
            text.push_str(&line);
        }
        text.push('é');
        assert!(text.sealed.len() >= 3, "sealed into chunks");
        let whole: String = text.clone().into();
        assert_eq!(whole.len(), 200 * 1_001 + 2);
        assert_eq!(text.len(), whole.len());
        assert_eq!(text.to_string(), whole);
        let json = serde_json::to_string(&text).unwrap();
        let back: LogText = serde_json::from_str(&json).unwrap();
        assert_eq!(back, text);
    }
}
