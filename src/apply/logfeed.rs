//! Feeding the master log to its parser from streamed whole-file fetches.
//!
//! Every `fetch_transfer_session_log` sends the whole file again (REFERENCE §4.12), and
//! the client hands it over piece by piece as it arrives. A [`Fetch`] takes those
//! pieces: it checks the copy's first bytes against the log parsed so far (a replaced
//! log starts over), parses only the bytes past what was taken, and folds the events
//! in small batches while the answer is still arriving, so nothing grows with the log's
//! length. It also remembers where the copy's last line ended in its escaped text
//! ([`LogMark`]), so the next copy is not decoded again up to there.

use crate::translog::{Event, LOG_HEAD_LEN, MasterLogParser};
use crate::whm::{LogMark, LogSink};

/// Events are folded in batches of about this many while a fetch is arriving.
const BATCH: usize = 256;

/// Where a fetch's events go, as they are parsed.
pub trait Fold: Send {
    /// The log was replaced: forget every event folded before.
    fn reset(&mut self);
    /// New events, in log order.
    fn fold(&mut self, events: &[Event]);
}

/// Collects the events (and forgets them on a reset).
impl Fold for Vec<Event> {
    fn reset(&mut self) {
        self.clear();
    }

    fn fold(&mut self, events: &[Event]) {
        self.extend_from_slice(events);
    }
}

/// How a fetch ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchEnd {
    /// It folded new events.
    pub new_events: bool,
    /// The log's end record has been parsed (and everything after it folded).
    pub ended: bool,
    /// The copy was shorter than what had been parsed: the log was replaced and the
    /// parser starts over, so fetch again at once.
    pub replaced: bool,
    /// The copy did not match where the last one ended, so it was not read: fetch
    /// again at once (decoding it all).
    pub resync: bool,
}

/// The master log's parser, kept across fetches.
#[derive(Debug, Default)]
pub struct LogFollower {
    parser: MasterLogParser,
    /// Where the last copy's parsed lines ended in its escaped text.
    mark: Option<LogMark>,
    /// A copy did not match its mark: this server escapes the log differently from one
    /// answer to the next, so every copy is decoded in full (not fetched twice).
    marks_off: bool,
}

impl LogFollower {
    /// A follower at the start of the log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of the log parsed so far.
    pub fn consumed(&self) -> usize {
        self.parser.consumed()
    }

    /// Starts taking a fresh copy of the log; `fold` receives its events.
    pub fn fetch<'a>(&'a mut self, fold: &'a mut dyn Fold) -> Fetch<'a> {
        Fetch {
            parser: &mut self.parser,
            mark: &mut self.mark,
            marks_off: &mut self.marks_off,
            new_mark: None,
            reset: false,
            resync: false,
            handed: 0,
            fold,
            pos: 0,
            head: Vec::with_capacity(LOG_HEAD_LEN),
            head_done: false,
            events: Vec::new(),
            folded: false,
            ended: false,
        }
    }
}

/// One fresh copy of the log being taken; see the module docs.
pub struct Fetch<'a> {
    parser: &'a mut MasterLogParser,
    mark: &'a mut Option<LogMark>,
    marks_off: &'a mut bool,
    /// This copy's last line end.
    new_mark: Option<LogMark>,
    /// The parser started over during this copy.
    reset: bool,
    /// The copy did not match the mark it skipped to.
    resync: bool,
    /// Decoded bytes handed over (the first ones, and those after a skip).
    handed: usize,
    fold: &'a mut dyn Fold,
    /// Where the next piece starts in the file.
    pos: usize,
    /// The copy's first bytes, until there are enough to compare.
    head: Vec<u8>,
    head_done: bool,
    events: Vec<Event>,
    folded: bool,
    /// The log's end record has been parsed.
    ended: bool,
}

impl LogSink for Fetch<'_> {
    fn log_bytes(&mut self, bytes: &[u8]) {
        self.handed += bytes.len();
        let mut bytes = bytes;
        if !self.head_done {
            let take = (LOG_HEAD_LEN - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.head.len() < LOG_HEAD_LEN {
                return;
            }
            self.resolve_head();
        }
        self.feed(bytes);
    }

    fn resume(&mut self) -> Option<LogMark> {
        // Only past a head that matched, to the end of exactly what was parsed.
        (*self.mark).filter(|m| {
            self.head_done
                && !self.reset
                && m.len == self.parser.consumed()
                && !self.parser.has_partial_line()
        })
    }

    fn skipped_to(&mut self, len: usize) {
        self.pos = len;
    }

    fn marked(&mut self, mark: LogMark) {
        self.new_mark = Some(mark);
    }

    fn resume_failed(&mut self) {
        self.resync = true;
    }
}

impl Fetch<'_> {
    /// How many decoded bytes of this copy were handed over: all of them, or its first
    /// ones and what follows the skip.
    pub fn handed(&self) -> usize {
        self.handed
    }

    /// Ends the fetch. `len` is the copy's length when it arrived whole, `None` when it
    /// failed part way (what arrived before the failure is the log's all the same).
    pub fn end(mut self, len: Option<usize>) -> FetchEnd {
        if self.resync {
            // Nothing past the head was parsed; this copy and every later one are
            // decoded in full.
            *self.mark = None;
            *self.marks_off = true;
            self.flush();
            return FetchEnd {
                new_events: self.folded,
                resync: true,
                ..FetchEnd::default()
            };
        }
        if !self.head_done {
            self.resolve_head();
        }
        if let Some(len) = len
            && self.parser.check_len(len).is_err()
        {
            self.parser.reset();
            self.fold.reset();
            *self.mark = None;
            return FetchEnd {
                replaced: true,
                ..FetchEnd::default()
            };
        }
        let ended = self.ended;
        if ended && let Some(last) = self.parser.finish() {
            self.events.push(last);
        }
        self.flush();
        if self.reset {
            *self.mark = None;
        }
        if let Some(mark) = self.new_mark
            && !*self.marks_off
            && mark.len == self.parser.consumed()
            && !self.parser.has_partial_line()
        {
            *self.mark = Some(mark);
        }
        FetchEnd {
            new_events: self.folded,
            ended,
            ..FetchEnd::default()
        }
    }

    /// Compares the copy's first bytes with the log parsed so far, starts over if they
    /// differ, then parses them.
    fn resolve_head(&mut self) {
        self.head_done = true;
        if !self.parser.head_matches(&self.head) {
            self.parser.reset();
            self.fold.reset();
            self.reset = true;
        }
        let head = std::mem::take(&mut self.head);
        self.feed(&head);
    }

    fn feed(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let first = self.events.len();
        self.parser.feed_at_into(self.pos, bytes, &mut self.events);
        self.pos += bytes.len();
        self.ended |= self.events[first..].iter().any(Event::is_session_end);
        if self.events.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.events.is_empty() {
            self.folded = true;
            self.fold.fold(&self.events);
            self.events.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Fold, LogFollower};
    use crate::translog::{Event, parse_master_log};
    use crate::whm::{CallSite, LogDecoder, LogSink};

    #[derive(Default)]
    struct Got {
        events: Vec<Event>,
        batches: usize,
        resets: usize,
    }

    impl Fold for Got {
        fn reset(&mut self) {
            self.resets += 1;
            self.events.clear();
        }

        fn fold(&mut self, events: &[Event]) {
            self.batches += 1;
            self.events.extend_from_slice(events);
        }
    }

    fn record(n: usize) -> String {
        format!(
            "{{\"type\":\"control\",\"contents\":{{\"action\":\"start-item\",\"child_number\":1,\"queue\":\"TRANSFER\",\"item\":\"user{n}\",\"item_type\":\"AccountRemoteRoot\",\"item_name\":\"Account\",\"local_item\":\"user{n}\"}}}}\n"
        )
    }

    fn end_record() -> &'static str {
        "{\"type\":\"control\",\"contents\":{\"action\":\"complete\",\"child_number\":0}}\n"
    }

    /// Takes `copy` in pieces of `size` into `got`; `whole` when it arrived entire.
    fn take(
        f: &mut LogFollower,
        got: &mut Got,
        copy: &[u8],
        size: usize,
        whole: bool,
    ) -> super::FetchEnd {
        let mut fetch = f.fetch(got);
        for piece in copy.chunks(size) {
            fetch.log_bytes(piece);
        }
        fetch.end(whole.then_some(copy.len()))
    }

    #[test]
    fn growing_copies_in_any_pieces_yield_each_event_once() {
        let full: String = (0..600).map(record).collect::<String>() + end_record();
        let expected = format!("{:?}", parse_master_log(full.as_bytes()));
        for size in [1, 7, 100, 4096, full.len()] {
            let mut f = LogFollower::new();
            let mut got = Got::default();
            // Copies cut at arbitrary points, each a prefix of the next.
            for cut in [3, 200, 257, 10_000, full.len() / 2, full.len()] {
                let end = take(&mut f, &mut got, &full.as_bytes()[..cut], size, true);
                assert_eq!(end.ended, cut == full.len());
            }
            assert_eq!(got.resets, 0);
            assert_eq!(format!("{:?}", got.events), expected, "pieces of {size}");
        }
    }

    #[test]
    fn a_long_copy_is_folded_in_batches_with_the_unterminated_last_line() {
        let full: String = (0..1000).map(record).collect::<String>() + end_record() + "{\"x\":1}";
        let mut f = LogFollower::new();
        let mut got = Got::default();
        let end = take(&mut f, &mut got, full.as_bytes(), 16 << 10, true);
        assert!(got.batches > 2, "batches while arriving: {}", got.batches);
        assert_eq!(got.events.len(), 1002, "the unterminated last line too");
        assert!(got.events[1000].is_session_end());
        assert!(end.ended && end.new_events);
    }

    #[test]
    fn a_replaced_log_starts_over() {
        let full: String = (0..20).map(record).collect();
        let mut f = LogFollower::new();
        let mut got = Got::default();
        take(&mut f, &mut got, full.as_bytes(), 64, true);
        assert_eq!(got.events.len(), 20);
        // Another file: its first bytes differ.
        let other: String = (100..105).map(record).collect();
        let end = take(&mut f, &mut got, other.as_bytes(), 64, true);
        assert_eq!((got.resets, got.events.len()), (1, 5));
        assert!(!end.replaced);
        // The same start, but shorter than what was parsed.
        let end = take(&mut f, &mut got, &other.as_bytes()[..300], 64, true);
        assert_eq!((got.resets, got.events.len()), (2, 0));
        assert!(end.replaced);
        assert_eq!(f.consumed(), 0);
    }

    #[test]
    fn a_fetch_cut_short_keeps_what_arrived() {
        let full: String = (0..50).map(record).collect();
        let mut f = LogFollower::new();
        let mut got = Got::default();
        let end = take(&mut f, &mut got, &full.as_bytes()[..1000], 100, false);
        assert!(!end.replaced && end.new_events);
        let first = got.events.len();
        assert!(first > 0 && first < 50);
        take(&mut f, &mut got, full.as_bytes(), 100, true);
        assert_eq!(got.events.len(), 50);
        assert_eq!(got.resets, 0);
    }

    const SITE: CallSite<'static> = CallSite {
        server: "h:2087",
        function: "fetch_transfer_session_log",
        session_id: Some("s1"),
    };

    /// A `fetch_transfer_session_log` answer holding `log`, escaped by serde_json
    /// (which leaves `/` alone) or with every `/` escaped as `\/` (as some encoders do).
    fn answer(log: &str, slash: bool) -> Vec<u8> {
        let body = serde_json::to_string(&serde_json::json!({
            "data": {"log": log},
            "metadata": {"result": 1, "reason": "OK"},
        }))
        .unwrap();
        if slash {
            body.replace('/', "\\/")
        } else {
            body
        }
        .into_bytes()
    }

    /// Takes one answer through the decoder in pieces of `size`; returns how the fetch
    /// ended and how many decoded bytes it was handed.
    fn fetch_answer(
        f: &mut LogFollower,
        got: &mut Got,
        body: &[u8],
        size: usize,
    ) -> (super::FetchEnd, usize) {
        let mut fetch = f.fetch(got);
        let mut decoder = LogDecoder::new(&mut fetch);
        for piece in body.chunks(size) {
            decoder.push(piece);
        }
        let len = decoder.finish(SITE).expect("a log answer");
        let handed = fetch.handed();
        (fetch.end(Some(len)), handed)
    }

    /// A record with text that escapes (quotes, `/`, a newline inside a string, UTF-8).
    fn rich(n: usize) -> String {
        format!(
            "{{\"type\":\"control\",\"contents\":{{\"action\":\"success-item\",\"child_number\":2,\"queue\":\"RESTORE\",\"item\":\"user{n}\",\"item_type\":\"AccountRemoteRoot\",\"msg\":\"“user{n}” /home/user{n} ✓ \\\\n 𝄞\"}}}}\n"
        )
    }

    #[test]
    fn a_growing_log_is_decoded_past_its_last_line_end_only_with_the_same_events() {
        let full: String = (0..2000).map(rich).collect::<String>() + end_record();
        let expected = format!("{:?}", parse_master_log(full.as_bytes()));
        for size in [5, 333, 4096, 1 << 20] {
            let mut f = LogFollower::new();
            let mut got = Got::default();
            let mut given = 0;
            let cuts = [
                full.len() / 4,
                full.len() / 2,
                full.len() / 2,
                full.len() * 3 / 4,
            ];
            for cut in cuts {
                // Copies cut at a line end, as a server sends a log being written.
                let cut = full[..cut].rfind('\n').unwrap() + 1;
                let (end, n) = fetch_answer(&mut f, &mut got, &answer(&full[..cut], false), size);
                assert!(!end.resync && !end.replaced, "pieces of {size}");
                given += n;
            }
            let last = fetch_answer(&mut f, &mut got, &answer(&full, false), size);
            assert!(last.0.ended);
            given += last.1;
            assert_eq!(got.resets, 0);
            assert_eq!(format!("{:?}", got.events), expected, "pieces of {size}");
            // Copies decoded whole would hand over 3.25 logs; skipping, each copy hands
            // over its first RESUME_AFTER bytes and what is new: about one log.
            assert!(
                given < full.len() * 5 / 4,
                "pieces of {size}: {given} of {}",
                full.len()
            );
        }
    }

    #[test]
    fn a_copy_escaped_differently_is_fetched_again_in_full_with_the_same_events() {
        let full: String = (0..300).map(rich).collect::<String>() + end_record();
        let expected = format!("{:?}", parse_master_log(full.as_bytes()));
        let half = full[..full.len() / 2].rfind('\n').unwrap() + 1;
        for size in [7, 4096] {
            let mut f = LogFollower::new();
            let mut got = Got::default();
            fetch_answer(&mut f, &mut got, &answer(&full[..half], false), size);
            // Another encoder: `/` escaped. The skip's compared bytes differ.
            let (end, _) = fetch_answer(&mut f, &mut got, &answer(&full, true), size);
            assert!(end.resync && !end.ended, "pieces of {size}");
            // The follower fetches again; without a mark the copy is decoded in full.
            let (end, given) = fetch_answer(&mut f, &mut got, &answer(&full, true), size);
            assert!(end.ended && !end.resync, "pieces of {size}");
            assert_eq!(given, full.len(), "pieces of {size}");
            // Later copies too: a server escaping differently from one answer to the
            // next is not asked for every copy twice.
            let (end, given) = fetch_answer(&mut f, &mut got, &answer(&full, false), size);
            assert!(!end.resync && given == full.len(), "pieces of {size}");
            assert_eq!(got.resets, 0);
            assert_eq!(format!("{:?}", got.events), expected, "pieces of {size}");
        }
    }

    #[test]
    fn a_copy_shorter_than_the_mark_is_fetched_again_then_seen_as_replaced() {
        let full: String = (0..300).map(rich).collect();
        let mut f = LogFollower::new();
        let mut got = Got::default();
        fetch_answer(&mut f, &mut got, &answer(&full, false), 1000);
        // The same start, ending before the last copy's last line end.
        let short = &full[..=full[..full.len() / 2].rfind('\n').unwrap()];
        let (end, _) = fetch_answer(&mut f, &mut got, &answer(short, false), 1000);
        assert!(end.resync);
        let (end, _) = fetch_answer(&mut f, &mut got, &answer(short, false), 1000);
        assert!(end.replaced);
        let (end, _) = fetch_answer(&mut f, &mut got, &answer(short, false), 1000);
        assert!(!end.replaced && !end.resync);
        assert_eq!(
            format!("{:?}", got.events),
            format!("{:?}", parse_master_log(short.as_bytes()))
        );
    }

    #[test]
    fn another_log_with_a_different_head_is_not_skipped() {
        let first: String = (0..300).map(rich).collect();
        let other: String = (1000..1400).map(rich).collect();
        let mut f = LogFollower::new();
        let mut got = Got::default();
        fetch_answer(&mut f, &mut got, &answer(&first, false), 4096);
        let (end, given) = fetch_answer(&mut f, &mut got, &answer(&other, false), 4096);
        assert!(!end.resync && !end.replaced);
        assert_eq!(given, other.len(), "decoded in full");
        assert_eq!(got.resets, 1);
        assert_eq!(
            format!("{:?}", got.events),
            format!("{:?}", parse_master_log(other.as_bytes()))
        );
    }
}
