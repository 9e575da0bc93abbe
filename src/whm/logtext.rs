//! `fetch_transfer_session_log`'s `data.log`, decoded from the response body as it
//! arrives.
//!
//! The call has no offset parameter (REFERENCE §4.12): every poll returns the whole
//! file, tens of megabytes at 10,000 items, as one escaped JSON string. Reading the
//! body into memory and then decoding it kept several copies of the log alive per poll.
//! Here the body goes through [`LogDecoder`] chunk by chunk: the text of `data.log` is
//! unescaped and handed to a [`LogSink`] as it comes, and only the rest of the answer
//! (the envelope with an empty log, a few hundred bytes) is kept, to be checked by the
//! same envelope decoder as every other call once the body ends. No JSON crate streams
//! one huge string value out of an async body in pieces (serde_json, struson and
//! jiter-based readers hold the whole string or need a blocking reader), hence this
//! small scanner.

use crate::whm::envelope::{self, CallSite};
use crate::whm::error::WhmError;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Receives a log file's bytes in order, from its first, as they are decoded.
///
/// A sink that has taken an earlier copy of the same log may let the decoder skip the
/// part it already has ([`resume`](Self::resume)): the escaped text up to a
/// [`LogMark`] of the earlier copy is then received but not decoded, which at tens of
/// megabytes per fetch is most of the decoding.
pub trait LogSink: Send {
    /// The file's next bytes.
    fn log_bytes(&mut self, bytes: &[u8]);

    /// Asked once, after at least the copy's first [`RESUME_AFTER`] bytes went to
    /// [`log_bytes`](Self::log_bytes): where this copy may skip to. `None` decodes it all.
    fn resume(&mut self) -> Option<LogMark> {
        None
    }

    /// The copy skipped to the mark [`resume`](Self::resume) gave: its next bytes start
    /// at `len`.
    fn skipped_to(&mut self, _len: usize) {}

    /// The copy's last line end, once it has been decoded whole: a later copy of the
    /// same log may skip to it.
    fn marked(&mut self, _mark: LogMark) {}

    /// The copy's escaped text did not match the mark it skipped to (or ended before
    /// it): nothing past its first bytes was given, and its length is unknown. Fetch
    /// it again without skipping.
    fn resume_failed(&mut self) {}
}

/// How many escaped bytes before a [`LogMark`] are compared before skipping to it.
pub const MARK_TAIL: usize = 32;

/// How many of a copy's bytes are decoded before [`LogSink::resume`] is asked (the
/// sink compares the first bytes with the log it has taken, to notice a replaced log).
pub const RESUME_AFTER: usize = 4096;

/// A line end in a copy of `data.log`: its escaped text's first `raw` bytes decode to
/// the log's first `len` bytes, the last of them a newline. A later copy of the same
/// log is escaped the same way, so its first `raw` bytes need not be decoded again;
/// `tail`, the escaped bytes just before `raw`, is compared first, so a copy escaped
/// differently (or another log) is decoded in full instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogMark {
    /// Escaped bytes of the string's text up to and including the newline's escape.
    pub raw: usize,
    /// Decoded bytes up to and including the newline.
    pub len: usize,
    /// The last [`MARK_TAIL`] escaped bytes before `raw`.
    pub tail: [u8; MARK_TAIL],
}

/// Whether the log's text is being skipped to a mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Receiving, not decoding, up to the mark.
    To(LogMark),
    /// Decoding: before the sink is asked (see `ask_at`), after a skip, or with nothing
    /// to skip to.
    No,
    /// The text did not match the mark: the rest of the answer is ignored.
    Failed,
}

/// Collects the whole text.
impl LogSink for Vec<u8> {
    fn log_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// The most of the answer outside `data.log` that is kept: a log answer's envelope is
/// a few hundred bytes; anything much larger is not a log answer (an HTML page, say),
/// and its first part is enough to describe it.
const MAX_REST: usize = 1 << 20;

/// How deep the answer may nest before it is refused (serde_json's own limit is 128).
const MAX_DEPTH: usize = 128;

/// Decoded bytes are handed on in runs of about this size, not per escape.
const FLUSH_AT: usize = 32 << 10;

/// What the scanner is inside of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// Between tokens (or inside a number or literal).
    Between,
    /// Inside a string other than the log; `escaped` after a backslash.
    Str { key: bool, escaped: bool },
    /// Inside the text of `data.log`.
    Log,
    /// Past a failed skip: nothing more is read.
    Abandoned,
}

/// Which key an object's current value belongs to (only `data` and `log` matter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Data,
    Log,
    Other,
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    Object {
        expect_key: bool,
        key: Key,
        /// This object is the top-level object's `data`.
        is_data: bool,
    },
    Array,
}

/// Decodes a `fetch_transfer_session_log` answer pushed in chunks; see the module docs.
pub struct LogDecoder<'s> {
    sink: &'s mut dyn LogSink,
    /// The answer without the log's text (its string left empty), up to [`MAX_REST`].
    rest: Vec<u8>,
    rest_overflow: bool,
    received: usize,
    stack: Vec<Frame>,
    too_deep: bool,
    lex: Lex,
    /// The key being read (its raw bytes, escapes and all).
    key: Vec<u8>,
    log_seen: bool,
    log_len: usize,
    /// An escape of the log's text cut by a chunk boundary.
    esc: [u8; 6],
    esc_len: usize,
    /// A `\uD8xx` high surrogate waiting for its low half.
    high: Option<u32>,
    out: Vec<u8>,
    /// Escaped bytes of the log's text taken before the current piece.
    raw: usize,
    /// The last [`MARK_TAIL`] of them.
    tail: [u8; MARK_TAIL],
    /// In the current piece: the index past the last newline escape and the decoded
    /// length there.
    newline: Option<(usize, usize)>,
    /// The last line end decoded.
    mark: Option<LogMark>,
    skip: Skip,
    /// The decoded length at which the sink is asked where to skip to.
    ask_at: usize,
}

impl<'s> LogDecoder<'s> {
    /// A decoder handing the log's bytes to `sink`.
    pub fn new(sink: &'s mut dyn LogSink) -> Self {
        Self {
            sink,
            rest: Vec::new(),
            rest_overflow: false,
            received: 0,
            stack: Vec::new(),
            too_deep: false,
            lex: Lex::Between,
            key: Vec::new(),
            log_seen: false,
            log_len: 0,
            esc: [0; 6],
            esc_len: 0,
            high: None,
            out: Vec::new(),
            raw: 0,
            tail: [0; MARK_TAIL],
            newline: None,
            mark: None,
            skip: Skip::No,
            ask_at: RESUME_AFTER,
        }
    }

    /// Takes the next chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        self.received += chunk.len();
        let mut i = 0;
        while i < chunk.len() {
            if self.too_deep {
                return;
            }
            match self.lex {
                Lex::Abandoned => return,
                Lex::Log => i += self.log_text(&chunk[i..]),
                Lex::Str { key, escaped } => {
                    let b = chunk[i];
                    self.keep(b);
                    if key {
                        self.key.push(b);
                    }
                    self.lex = match (escaped, b) {
                        (false, b'"') => {
                            if key {
                                self.end_key();
                            }
                            Lex::Between
                        }
                        (false, b'\\') => Lex::Str { key, escaped: true },
                        _ => Lex::Str {
                            key,
                            escaped: false,
                        },
                    };
                    i += 1;
                }
                Lex::Between => {
                    let b = chunk[i];
                    self.keep(b);
                    self.structural(b);
                    i += 1;
                }
            }
        }
        self.flush();
    }

    /// Checks the whole answer once the body has ended and returns the log's length.
    /// A missing or null `data` or `log` is an empty log; a number is its text.
    ///
    /// After a failed skip ([`LogSink::resume_failed`]) the answer was not read past the
    /// log's first bytes: `Ok(0)`, and the sink knows to fetch again.
    pub fn finish(mut self, site: CallSite<'_>) -> Result<usize, WhmError> {
        self.flush();
        if matches!(self.skip, Skip::To(_) | Skip::Failed) {
            self.sink.resume_failed();
            return Ok(0);
        }
        if let Some(mark) = self.mark {
            self.sink.marked(mark);
        }
        if self.too_deep {
            return Err(site.not_json(format!("JSON nested more than {MAX_DEPTH} levels deep")));
        }
        if self.lex == Lex::Log {
            return Err(site.not_json(format!(
                "truncated JSON ({} bytes, cut off inside data.log after {} bytes of log)",
                self.received, self.log_len
            )));
        }
        if self.rest_overflow {
            let what = envelope::describe_body(&self.rest, None);
            return Err(site.not_json(format!(
                "{what}, {} bytes in all: not a log answer",
                self.received
            )));
        }
        let (metadata, data) = envelope::decode_borrowed(&self.rest, site)?;
        envelope::Envelope {
            metadata,
            data: None,
        }
        .success(site)?;
        let data = data.map(RawValue::get).filter(|d| *d != "null");
        let log = match data {
            None => None,
            Some(text) => serde_json::from_str::<RawLogData<'_>>(text)
                .map_err(|e| envelope::shape(site, "data", e.to_string()))?
                .log
                .map(RawValue::get),
        };
        match log {
            // A string's text has gone to the sink already.
            None | Some("null") => {}
            Some(text) if text.starts_with('"') => {}
            // A number (or anything else a lenient server sends): its text as it stands.
            Some(text) => {
                let text = text.as_bytes().to_vec();
                self.emit(&text);
                self.flush();
            }
        }
        Ok(self.log_len)
    }

    fn keep(&mut self, b: u8) {
        if self.rest.len() < MAX_REST {
            self.rest.push(b);
        } else {
            self.rest_overflow = true;
        }
    }

    /// Tracks containers and keys; starts the log's text when its string opens.
    fn structural(&mut self, b: u8) {
        match b {
            b'{' | b'[' => {
                if self.stack.len() >= MAX_DEPTH {
                    self.too_deep = true;
                    return;
                }
                let is_data = self.stack.len() == 1
                    && matches!(
                        self.stack.last(),
                        Some(Frame::Object {
                            key: Key::Data,
                            expect_key: false,
                            ..
                        })
                    );
                self.stack.push(if b == b'{' {
                    Frame::Object {
                        expect_key: true,
                        key: Key::Other,
                        is_data,
                    }
                } else {
                    Frame::Array
                });
            }
            b'}' | b']' => {
                self.stack.pop();
            }
            b':' => {
                if let Some(Frame::Object { expect_key, .. }) = self.stack.last_mut() {
                    *expect_key = false;
                }
            }
            b',' => {
                if let Some(Frame::Object {
                    expect_key, key, ..
                }) = self.stack.last_mut()
                {
                    *expect_key = true;
                    *key = Key::Other;
                }
            }
            b'"' => {
                self.lex = match self.stack.last() {
                    Some(Frame::Object {
                        expect_key: true, ..
                    }) => {
                        self.key.clear();
                        Lex::Str {
                            key: true,
                            escaped: false,
                        }
                    }
                    Some(Frame::Object {
                        expect_key: false,
                        key: Key::Log,
                        is_data: true,
                    }) if !self.log_seen => {
                        self.log_seen = true;
                        Lex::Log
                    }
                    _ => Lex::Str {
                        key: false,
                        escaped: false,
                    },
                };
            }
            _ => {}
        }
    }

    /// Names the key just read (its closing quote is the last byte of `self.key`).
    fn end_key(&mut self) {
        let raw = &self.key[..self.key.len().saturating_sub(1)];
        let name = if raw.contains(&b'\\') {
            let mut quoted = Vec::with_capacity(raw.len() + 2);
            quoted.push(b'"');
            quoted.extend_from_slice(raw);
            quoted.push(b'"');
            serde_json::from_slice::<String>(&quoted).unwrap_or_default()
        } else {
            String::from_utf8_lossy(raw).into_owned()
        };
        let kind = match name.as_str() {
            "data" => Key::Data,
            "log" => Key::Log,
            _ => Key::Other,
        };
        if let Some(Frame::Object { key, .. }) = self.stack.last_mut() {
            *key = kind;
        }
        self.key.clear();
    }

    /// Decodes the log's text from the start of `bytes`; returns how many it used.
    fn log_text(&mut self, bytes: &[u8]) -> usize {
        let used = self.log_piece(bytes);
        if let Some((at, len)) = self.newline.take() {
            self.mark = Some(LogMark {
                raw: self.raw + at,
                len,
                tail: tail_before(&self.tail, bytes, at),
            });
        }
        self.tail = tail_before(&self.tail, bytes, used);
        self.raw += used;
        used
    }

    /// Asks the sink, once enough of the copy has been decoded, where it may skip to.
    fn ask(&mut self, at: usize) {
        self.flush();
        self.ask_at = usize::MAX;
        self.skip = match self.sink.resume() {
            // The compared tail must lie wholly in what is skipped.
            Some(mark) if mark.raw >= self.raw + at + MARK_TAIL && mark.len > self.log_len => {
                Skip::To(mark)
            }
            _ => Skip::No,
        };
    }

    /// Receives `bytes` from `i` on without decoding them, up to the mark; there
    /// compares the tail and goes on decoding, or gives up on the copy. Returns where
    /// decoding goes on (`bytes.len()` while the mark is further on).
    fn skip_to(&mut self, mark: LogMark, bytes: &[u8], i: usize) -> usize {
        let i = i + (mark.raw - (self.raw + i)).min(bytes.len() - i);
        if self.raw + i < mark.raw {
            return i;
        }
        if tail_before(&self.tail, bytes, i) == mark.tail {
            self.log_len = mark.len;
            self.sink.skipped_to(mark.len);
            self.skip = Skip::No;
            i
        } else {
            self.skip = Skip::Failed;
            self.lex = Lex::Abandoned;
            bytes.len()
        }
    }

    /// [`log_text`](Self::log_text) without the line-end bookkeeping.
    fn log_piece(&mut self, bytes: &[u8]) -> usize {
        let mut i = 0;
        if let Skip::To(mark) = self.skip {
            i = self.skip_to(mark, bytes, i);
        }
        while i < bytes.len() {
            // One comparison in the loop: `ask_at` is past any length once asked.
            if self.log_len >= self.ask_at && self.esc_len == 0 && self.high.is_none() {
                self.ask(i);
                if let Skip::To(mark) = self.skip {
                    i = self.skip_to(mark, bytes, i);
                }
                continue;
            }
            if self.esc_len > 0 {
                // Complete the escape a chunk boundary cut.
                // Two bytes tell the kind; a `\u` escape takes six.
                let need =
                    |esc: &[u8; 6], len: usize| if len >= 2 && esc[1] == b'u' { 6 } else { 2 };
                while self.esc_len < need(&self.esc, self.esc_len) && i < bytes.len() {
                    self.esc[self.esc_len] = bytes[i];
                    self.esc_len += 1;
                    i += 1;
                }
                let need = need(&self.esc, self.esc_len);
                if self.esc_len < need {
                    continue;
                }
                let esc = self.esc;
                self.esc_len = 0;
                self.escape(&esc[..need]);
                if esc[1] == b'n' {
                    self.newline = Some((i, self.log_len));
                }
                continue;
            }
            let rest = &bytes[i..];
            let Some(at) = memchr::memchr2(b'\\', b'"', rest) else {
                self.text(rest);
                return bytes.len();
            };
            self.text(&rest[..at]);
            i += at;
            if rest[at] == b'"' {
                self.lone_high();
                self.keep(b'"');
                self.lex = Lex::Between;
                return i + 1;
            }
            // A backslash: decode the escape if it is whole here, else keep its start.
            let escape = &bytes[i..];
            if self.high.is_none()
                && let Some(byte) = escape.get(1).and_then(|&c| simple_escape(c))
            {
                // The usual case, `\"` above all, without the general path.
                self.log_len += 1;
                self.out.push(byte);
                if self.out.len() >= FLUSH_AT {
                    self.flush();
                }
                i += 2;
                if byte == b'\n' {
                    self.newline = Some((i, self.log_len));
                }
                continue;
            }
            let need = match escape.get(1) {
                Some(b'u') => 6,
                _ => 2,
            };
            if escape.len() >= need {
                self.escape(&escape[..need]);
                i += need;
            } else {
                self.esc[..escape.len()].copy_from_slice(escape);
                self.esc_len = escape.len();
                return bytes.len();
            }
        }
        bytes.len()
    }

    /// Plain text of the log.
    fn text(&mut self, text: &[u8]) {
        if !text.is_empty() {
            self.lone_high();
            self.emit(text);
        }
    }

    /// One whole escape (`\n`, `\uXXXX`, …). A broken escape or a lone surrogate
    /// becomes U+FFFD, as a lenient JSON decoder would make it.
    fn escape(&mut self, esc: &[u8]) {
        let ch = match esc[1] {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let Some(v) = std::str::from_utf8(&esc[2..6])
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                else {
                    self.lone_high();
                    return self.char(char::REPLACEMENT_CHARACTER);
                };
                if (0xD800..0xDC00).contains(&v) {
                    self.lone_high();
                    self.high = Some(v);
                    return;
                }
                if (0xDC00..0xE000).contains(&v) {
                    let c = self.high.take().map_or(char::REPLACEMENT_CHARACTER, |hi| {
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (v - 0xDC00))
                            .unwrap_or(char::REPLACEMENT_CHARACTER)
                    });
                    return self.char(c);
                }
                char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            _ => char::REPLACEMENT_CHARACTER,
        };
        self.lone_high();
        self.char(ch);
    }

    /// A high surrogate not followed by its low half.
    fn lone_high(&mut self) {
        if self.high.take().is_some() {
            self.char(char::REPLACEMENT_CHARACTER);
        }
    }

    fn char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.emit(c.encode_utf8(&mut buf).as_bytes());
    }

    fn emit(&mut self, bytes: &[u8]) {
        self.log_len += bytes.len();
        self.out.extend_from_slice(bytes);
        if self.out.len() >= FLUSH_AT {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.out.is_empty() {
            self.sink.log_bytes(&self.out);
            self.out.clear();
        }
    }
}

/// The last [`MARK_TAIL`] bytes before index `at` of `bytes`, `before` holding the last
/// ones before `bytes` began.
fn tail_before(before: &[u8; MARK_TAIL], bytes: &[u8], at: usize) -> [u8; MARK_TAIL] {
    let mut tail = [0; MARK_TAIL];
    if at >= MARK_TAIL {
        tail.copy_from_slice(&bytes[at - MARK_TAIL..at]);
    } else {
        tail[..MARK_TAIL - at].copy_from_slice(&before[at..]);
        tail[MARK_TAIL - at..].copy_from_slice(&bytes[..at]);
    }
    tail
}

/// The byte a one-character escape stands for (`\"`, `\n`, …).
fn simple_escape(c: u8) -> Option<u8> {
    Some(match c {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 8,
        b'f' => 12,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => return None,
    })
}

#[derive(Deserialize)]
struct RawLogData<'a> {
    #[serde(borrow, default)]
    log: Option<&'a RawValue>,
}

#[cfg(test)]
mod tests {
    use super::{LogDecoder, LogSink};
    use crate::whm::envelope::CallSite;
    use crate::whm::error::WhmError;

    /// Decodes a whole body at once into `sink`; returns the log's length.
    fn decode_log_into(
        body: &[u8],
        site: CallSite<'_>,
        sink: &mut dyn LogSink,
    ) -> Result<usize, WhmError> {
        let mut decoder = LogDecoder::new(sink);
        decoder.push(body);
        decoder.finish(site)
    }

    const SITE: CallSite<'static> = CallSite {
        server: "h:2087",
        function: "fetch_transfer_session_log",
        session_id: Some("s1"),
    };

    fn body(log: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "metadata": {"result": "1", "reason": "OK"},
            "data": {"log": log},
        }))
        .unwrap()
    }

    /// Decodes `body` pushed in chunks of `size` bytes.
    fn chunked(body: &[u8], size: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut d = LogDecoder::new(&mut out);
        for chunk in body.chunks(size.max(1)) {
            d.push(chunk);
        }
        let len = d.finish(SITE).map_err(|e| e.to_string())?;
        assert_eq!(len, out.len());
        Ok(out)
    }

    #[test]
    fn every_chunk_size_gives_the_same_text_as_serde_json() {
        let log = "{\"type\":\"control\",\"contents\":{\"msg\":\"“bob” → \\\\ \\t ✓ 𝄞\"}}\n\
                   {\"type\":\"out\",\"contents\":{\"msg\":[\"a/b\u{8}\u{c}\r\"]}}\n"
            .repeat(4);
        let b = body(&log);
        for size in 1..=b.len() {
            assert_eq!(
                chunked(&b, size).unwrap(),
                log.as_bytes(),
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn key_order_other_keys_and_escaped_key_names_are_tolerated() {
        let cases: &[&[u8]] = &[
            // data before metadata, other keys around the log, nested values.
            br#"{"data":{"x":[1,{"log":"no"}],"log":"a\nb","y":{"log":"z"}},"metadata":{"result":1,"reason":"OK"}}"#,
            // a key spelled with an escape, whitespace everywhere.
            b" { \"metadata\" : { \"result\" : \"1\" } , \"d\\u0061ta\" : { \"l\\u006fg\" : \"a\\nb\" } } ",
            // a string value named "log" outside data is not the log.
            br#"{"log":"no","metadata":{"result":"1"},"data":{"log":"a\nb"}}"#,
        ];
        for (n, b) in cases.iter().enumerate() {
            for size in [1, 3, 7, b.len()] {
                assert_eq!(
                    chunked(b, size).unwrap(),
                    b"a\nb",
                    "case {n}, chunks of {size}"
                );
            }
        }
    }

    #[test]
    fn surrogate_pairs_and_lone_surrogates_decode_across_chunks() {
        let b = br#"{"metadata":{"result":1},"data":{"log":"a\ud834\udd1eb\ud800c\u00e9\udc00\ud800"}}"#;
        for size in 1..=b.len() {
            let got = String::from_utf8(chunked(b, size).unwrap()).unwrap();
            assert_eq!(got, "a𝄞b\u{fffd}cé\u{fffd}\u{fffd}", "chunks of {size}");
        }
    }

    #[test]
    fn missing_null_and_numeric_logs_are_tolerated_and_failures_are_errors() {
        for b in [
            &br#"{"metadata":{"result":"1"}}"#[..],
            br#"{"metadata":{"result":1},"data":null}"#,
            br#"{"metadata":{"result":1},"data":{}}"#,
            br#"{"metadata":{"result":1},"data":{"log":null}}"#,
        ] {
            assert_eq!(decode_log_into(b, SITE, &mut Vec::new()).unwrap(), 0);
        }
        let mut n = Vec::new();
        decode_log_into(
            br#"{"metadata":{"result":1},"data":{"log":12}}"#,
            SITE,
            &mut n,
        )
        .unwrap();
        assert_eq!(n, b"12");
        let fails: &[(&[u8], &str)] = &[
            (br#"{"metadata":{"result":0,"reason":"no"}}"#, "no"),
            (
                b"<html><title>Login</title></html>",
                "HTML page titled “Login”",
            ),
            (
                br#"{"metadata":{"result":1},"data":{"log":"ab"#,
                "cut off inside data.log",
            ),
            (
                br#"{"metadata":{"result":1},"data":{"log":"ab"}"#,
                "truncated",
            ),
            (br#"{"metadata":{"result":1},"data":"x"}"#, "data"),
            (br#"{"data":{"log":"ab"}}"#, "metadata"),
            (b"", "empty"),
        ];
        for (b, says) in fails {
            let err = decode_log_into(b, SITE, &mut Vec::new())
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{err:?} should say {says:?}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = decode_log_into(deep.as_bytes(), SITE, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("nested"), "{err}");
    }

    #[test]
    fn only_the_envelope_is_kept_however_long_the_log() {
        struct Count<'a>(&'a mut usize);
        impl super::LogSink for Count<'_> {
            fn log_bytes(&mut self, bytes: &[u8]) {
                *self.0 += bytes.len();
            }
        }
        let log = "x".repeat(3 << 20);
        let mut count = 0usize;
        let mut sink = Count(&mut count);
        let mut d = LogDecoder::new(&mut sink);
        for chunk in body(&log).chunks(16 << 10) {
            d.push(chunk);
            assert!(d.rest.len() < 100, "the log's text is not kept");
            assert!(d.out.len() < super::FLUSH_AT + (16 << 10));
        }
        assert_eq!(d.finish(SITE).unwrap(), log.len());
        assert_eq!(count, log.len());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_round_trips_in_any_chunks(log in "(\\PC|[\\x00-\\x1f]){0,80}", size in 1usize..40) {
            let got = chunked(&body(&log), size).unwrap();
            proptest::prop_assert_eq!(got, log.as_bytes().to_vec());
        }
    }
}
