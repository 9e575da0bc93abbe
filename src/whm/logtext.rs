//! `fetch_transfer_session_log`'s `data.log`, decoded straight from the response body
//! and kept only past a given offset.
//!
//! The call has no offset parameter (REFERENCE §4.12): every poll returns the whole
//! file, megabytes at 10,000 items, as one escaped JSON string. Decoding it into a
//! `String` (and the envelope's `data` into a `Value` or boxed raw value first) keeps
//! several copies of it alive per poll; here the escaped text is read in place and
//! only the bytes a follower has not parsed yet are copied out.

use crate::whm::envelope::{self, CallSite};
use crate::whm::error::WhmError;
use memchr::memchr;
use serde::Deserialize;
use serde_json::value::RawValue;

/// How many leading bytes of the log are returned with every tail, so a follower can
/// tell a replaced file from a grown one.
pub const LOG_HEAD_LEN: usize = 256;

/// A log file as fetched, kept from byte `from` on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogTail {
    /// The whole file's length in bytes.
    pub len: usize,
    /// Its first bytes, up to [`LOG_HEAD_LEN`].
    pub head: Vec<u8>,
    /// Where `tail` starts in the file (the offset asked for, or `len` if that is past
    /// the end).
    pub from: usize,
    /// The file's bytes from `from` to the end.
    pub tail: Vec<u8>,
}

#[derive(Deserialize)]
struct RawLogData<'a> {
    #[serde(borrow, default)]
    log: Option<&'a RawValue>,
}

/// Decodes a `fetch_transfer_session_log` body, keeping `data.log` from byte `skip` on.
/// A missing or null `data` or `log` is an empty log; a number is its text.
pub fn decode_log(body: &[u8], site: CallSite<'_>, skip: usize) -> Result<LogTail, WhmError> {
    let (metadata, data) = envelope::decode_borrowed(body, site)?;
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
    Ok(match log {
        None | Some("null") => unescape_from(b"", skip),
        Some(text) if text.starts_with('"') && text.len() >= 2 => {
            unescape_from(&text.as_bytes()[1..text.len() - 1], skip)
        }
        // A number (or anything else a lenient server sends): its text as it stands.
        Some(text) => {
            let mut sink = Sink::new(skip, text.len());
            sink.push(text.as_bytes());
            sink.finish()
        }
    })
}

/// Unescapes the body of a JSON string (without its quotes), keeping the head and the
/// bytes from `skip` on. The text was validated as JSON by the envelope's parser; a
/// lone surrogate becomes U+FFFD.
fn unescape_from(escaped: &[u8], skip: usize) -> LogTail {
    let mut sink = Sink::new(skip, escaped.len());
    let mut rest = escaped;
    while !rest.is_empty() {
        let Some(at) = memchr(b'\\', rest) else {
            sink.push(rest);
            break;
        };
        sink.push(&rest[..at]);
        rest = &rest[at..];
        let (used, ch) = escape(rest);
        let mut buf = [0u8; 4];
        sink.push(ch.encode_utf8(&mut buf).as_bytes());
        rest = &rest[used.min(rest.len())..];
    }
    sink.finish()
}

/// Decodes the escape at the start of `s` (which starts with `\`): bytes used, char.
fn escape(s: &[u8]) -> (usize, char) {
    match s.get(1) {
        Some(b'"') => (2, '"'),
        Some(b'\\') => (2, '\\'),
        Some(b'/') => (2, '/'),
        Some(b'b') => (2, '\u{8}'),
        Some(b'f') => (2, '\u{c}'),
        Some(b'n') => (2, '\n'),
        Some(b'r') => (2, '\r'),
        Some(b't') => (2, '\t'),
        Some(b'u') => {
            let Some(hi) = hex4(s.get(2..6)) else {
                return (2, char::REPLACEMENT_CHARACTER);
            };
            if (0xD800..0xDC00).contains(&hi)
                && s.get(6..8) == Some(b"\\u")
                && let Some(lo) = hex4(s.get(8..12))
                && (0xDC00..0xE000).contains(&lo)
            {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return (12, char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            (6, char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER))
        }
        _ => (2, char::REPLACEMENT_CHARACTER),
    }
}

fn hex4(digits: Option<&[u8]>) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(digits?).ok()?, 16).ok()
}

/// Collects the unescaped bytes: the head, and the tail past `skip`.
struct Sink {
    skip: usize,
    pos: usize,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Sink {
    fn new(skip: usize, escaped_len: usize) -> Self {
        // The unescaped text is at most as long as the escaped one; a whole-file read
        // reserves that once instead of growing by doubling.
        let tail = if skip == 0 {
            Vec::with_capacity(escaped_len)
        } else {
            Vec::new()
        };
        Self {
            skip,
            pos: 0,
            head: Vec::new(),
            tail,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let start = self.pos;
        let end = start + bytes.len();
        if start < LOG_HEAD_LEN {
            let n = (LOG_HEAD_LEN - start).min(bytes.len());
            self.head.extend_from_slice(&bytes[..n]);
        }
        if end > self.skip {
            let from = self.skip.saturating_sub(start);
            self.tail.extend_from_slice(&bytes[from..]);
        }
        self.pos = end;
    }

    fn finish(mut self) -> LogTail {
        self.tail.shrink_to_fit();
        LogTail {
            len: self.pos,
            head: self.head,
            from: self.skip.min(self.pos),
            tail: self.tail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LOG_HEAD_LEN, decode_log};
    use crate::whm::envelope::CallSite;

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

    #[test]
    fn every_offset_gives_the_same_bytes_as_decoding_the_whole_string() {
        let log = "{\"type\":\"control\",\"contents\":{\"msg\":\"“bob” → \\\\ \\t ✓ 𝄞\"}}\n\
                   {\"type\":\"out\",\"contents\":{\"msg\":[\"a/b\u{8}\u{c}\r\"]}}\n"
            .repeat(4);
        let b = body(&log);
        for skip in 0..=log.len() + 3 {
            let got = decode_log(&b, SITE, skip).unwrap();
            assert_eq!(got.len, log.len());
            assert_eq!(got.from, skip.min(log.len()));
            assert_eq!(
                got.tail,
                &log.as_bytes()[skip.min(log.len())..],
                "skip {skip}"
            );
            assert_eq!(got.head, &log.as_bytes()[..LOG_HEAD_LEN.min(log.len())]);
        }
    }

    #[test]
    fn surrogate_pairs_and_lone_surrogates_decode() {
        let b = br#"{"metadata":{"result":1},"data":{"log":"a\ud834\udd1eb\ud800c\u00e9"}}"#;
        let got = decode_log(b, SITE, 0).unwrap();
        assert_eq!(String::from_utf8(got.tail).unwrap(), "a𝄞b\u{fffd}cé");
    }

    #[test]
    fn missing_null_and_numeric_logs_are_tolerated_and_failures_are_errors() {
        for b in [
            &br#"{"metadata":{"result":"1"}}"#[..],
            br#"{"metadata":{"result":1},"data":null}"#,
            br#"{"metadata":{"result":1},"data":{}}"#,
            br#"{"metadata":{"result":1},"data":{"log":null}}"#,
        ] {
            assert_eq!(decode_log(b, SITE, 0).unwrap().len, 0);
        }
        let n = decode_log(br#"{"metadata":{"result":1},"data":{"log":12}}"#, SITE, 0).unwrap();
        assert_eq!(n.tail, b"12");
        let err = decode_log(br#"{"metadata":{"result":0,"reason":"no"}}"#, SITE, 0);
        assert!(err.is_err());
        assert!(decode_log(b"<html><title>x</title></html>", SITE, 0).is_err());
        assert!(decode_log(br#"{"metadata":{"result":1},"data":{"log":"ab"#, SITE, 0).is_err());
        assert!(decode_log(br#"{"metadata":{"result":1},"data":"x"}"#, SITE, 0).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_round_trips_at_any_offset(log in "(\\PC|[\\x00-\\x1f]){0,80}", skip in 0usize..100) {
            let got = decode_log(&body(&log), SITE, skip).unwrap();
            let from = skip.min(log.len());
            proptest::prop_assert_eq!(got.tail, log.as_bytes()[from..].to_vec());
        }
    }
}
