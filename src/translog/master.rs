//! The incremental master-log parser: bytes in, [`Event`]s out.

use super::decode::decode_master;
use super::event::Event;
use super::lines::{LineSplitter, LogReplaced};

/// Parses `master.log` incrementally.
///
/// Feed it chunks as they arrive ([`feed`](Self::feed)), or the whole file each time
/// `fetch_transfer_session_log` returns it ([`feed_whole`](Self::feed_whole)); either way
/// every complete line becomes exactly one [`Event`] (blank lines are skipped, and a
/// line that is not a JSON object becomes [`EventKind::Malformed`](super::EventKind)).
/// Nothing here panics on input or stops the stream.
#[derive(Debug, Default, Clone)]
pub struct MasterLogParser {
    lines: LineSplitter,
}

impl MasterLogParser {
    /// A parser at the start of a log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the complete lines of the next chunk, keeping an unfinished last line.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        self.feed_into(bytes, &mut out);
        out
    }

    /// Like [`feed`](Self::feed), pushing onto the caller's `out`.
    pub fn feed_into(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        self.lines
            .feed(bytes, |n, line| out.push(decode_master(n, line)));
    }

    /// Takes the whole log again and parses only the bytes past those already taken.
    ///
    /// Fails without changing anything when the file is shorter than what was already
    /// taken or its first bytes changed: the log was replaced, so call
    /// [`reset`](Self::reset) and feed it again. Only the length and the first 256
    /// bytes are checked: a replacement that is longer and starts alike goes unnoticed.
    pub fn feed_whole(&mut self, whole_file: &[u8]) -> Result<Vec<Event>, LogReplaced> {
        let mut out = Vec::new();
        self.feed_whole_into(whole_file, &mut out)?;
        Ok(out)
    }

    /// Like [`feed_whole`](Self::feed_whole), pushing onto the caller's `out`.
    pub fn feed_whole_into(
        &mut self,
        whole_file: &[u8],
        out: &mut Vec<Event>,
    ) -> Result<(), LogReplaced> {
        self.lines
            .feed_whole(whole_file, |n, line| out.push(decode_master(n, line)))
    }

    /// Takes the file's bytes at `offset`, for a fresh copy of the whole log read in
    /// pieces from its first byte on (as a streamed `fetch_transfer_session_log`
    /// arrives): parses only the bytes past those already taken. Check the copy's first
    /// bytes with [`head_matches`](Self::head_matches) before the first piece past them,
    /// and its length with [`check_len`](Self::check_len) once it has ended.
    pub fn feed_at_into(&mut self, offset: usize, bytes: &[u8], out: &mut Vec<Event>) {
        self.lines
            .feed_at(offset, bytes, |n, line| out.push(decode_master(n, line)));
    }

    /// Whether a fresh copy's first bytes (up to 256 of them) agree with the log taken
    /// so far; if not, the log was replaced: [`reset`](Self::reset).
    pub fn head_matches(&self, file_head: &[u8]) -> bool {
        self.lines.head_matches(file_head)
    }

    /// Fails when a fresh copy, `len` bytes long, is shorter than what was taken: the
    /// log was replaced.
    pub fn check_len(&self, len: usize) -> Result<(), LogReplaced> {
        self.lines.check_len(len)
    }

    /// Parses an unfinished last line, for a finished log that lacks the final `\n`.
    ///
    /// Call it only once the log is complete: a line still being written would be
    /// parsed half-written.
    pub fn finish(&mut self) -> Option<Event> {
        let mut out = None;
        self.lines
            .finish(|n, line| out = Some(decode_master(n, line)));
        out
    }

    /// Forgets everything, to parse a new or replaced log from its start.
    pub fn reset(&mut self) {
        self.lines.reset();
    }

    /// Bytes taken so far, including an unfinished last line.
    pub fn consumed(&self) -> usize {
        self.lines.consumed()
    }

    /// True when an unfinished last line is waiting for its `\n`.
    pub fn has_partial_line(&self) -> bool {
        self.lines.has_partial()
    }
}

/// Parses a complete master log at once (including a last line without `\n`).
pub fn parse_master_log(log: &[u8]) -> Vec<Event> {
    let mut parser = MasterLogParser::new();
    let mut events = parser.feed(log);
    events.extend(parser.finish());
    events
}
