//! Incremental line splitting shared by the master-log and item-log parsers.
//!
//! Bytes come in arbitrary chunks ([`LineSplitter::feed`]) or as the whole file again
//! and again ([`LineSplitter::feed_whole`], for `fetch_transfer_session_log`, which has
//! no offset parameter). Complete lines are handed on, trimmed of ASCII whitespace
//! (so `\r\n` works) and with blank lines skipped; an unfinished last line is kept
//! until its `\n` arrives or [`LineSplitter::finish`] is called.

use memchr::{memchr, memchr_iter};

/// How many leading bytes are remembered to notice a replaced file.
pub const HEAD_LEN: usize = 256;

/// A whole-file feed that cannot continue where the last one stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogReplaced {
    /// The file is shorter than what was already parsed.
    #[error(
        "the log is {len} bytes long, shorter than the {consumed} bytes already parsed: it was \
         rotated or replaced\nhelp: call reset() and feed the whole file again"
    )]
    Shorter {
        /// Bytes parsed before this call.
        consumed: usize,
        /// Length of the file given now.
        len: usize,
    },
    /// The file's first bytes differ from those parsed before.
    #[error(
        "the log's first bytes differ from those already parsed: it was replaced\nhelp: call \
         reset() and feed the whole file again"
    )]
    Changed,
}

/// Splits incoming bytes into numbered lines, keeping an unfinished last line.
#[derive(Debug, Default, Clone)]
pub(crate) struct LineSplitter {
    /// The unfinished last line.
    partial: Vec<u8>,
    /// Bytes taken so far (complete lines and `partial`).
    consumed: usize,
    /// Lines handed on or skipped so far.
    line: usize,
    /// The first bytes taken, up to [`HEAD_LEN`].
    head: Vec<u8>,
}

impl LineSplitter {
    /// Bytes taken so far, including an unfinished last line.
    pub(crate) fn consumed(&self) -> usize {
        self.consumed
    }

    /// True when an unfinished last line is waiting.
    pub(crate) fn has_partial(&self) -> bool {
        !self.partial.is_empty()
    }

    /// Takes the next chunk; calls `on_line(number, line)` for each complete non-blank line.
    pub(crate) fn feed(&mut self, bytes: &[u8], mut on_line: impl FnMut(usize, &[u8])) {
        if self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
        self.consumed += bytes.len();
        let mut rest = bytes;
        if !self.partial.is_empty() {
            let Some(nl) = memchr(b'\n', rest) else {
                self.partial.extend_from_slice(rest);
                return;
            };
            let mut buf = std::mem::take(&mut self.partial);
            buf.extend_from_slice(&rest[..nl]);
            self.emit(&buf, &mut on_line);
            buf.clear();
            self.partial = buf;
            rest = &rest[nl + 1..];
        }
        let mut start = 0;
        for nl in memchr_iter(b'\n', rest) {
            self.emit(&rest[start..nl], &mut on_line);
            start = nl + 1;
        }
        self.partial.extend_from_slice(&rest[start..]);
    }

    /// Takes the whole file again and feeds only the bytes past those already taken.
    pub(crate) fn feed_whole(
        &mut self,
        whole: &[u8],
        on_line: impl FnMut(usize, &[u8]),
    ) -> Result<(), LogReplaced> {
        if whole.len() < self.consumed {
            return Err(LogReplaced::Shorter {
                consumed: self.consumed,
                len: whole.len(),
            });
        }
        if !whole.starts_with(&self.head) {
            return Err(LogReplaced::Changed);
        }
        self.feed(&whole[self.consumed..], on_line);
        Ok(())
    }

    /// Whether `file_head`, the first bytes of a fresh copy of the file, agrees with
    /// the first bytes taken so far (as far as both go).
    pub(crate) fn head_matches(&self, file_head: &[u8]) -> bool {
        let n = file_head.len().min(self.head.len());
        file_head[..n] == self.head[..n]
    }

    /// Fails when a fresh copy of the file, `len` bytes long, is shorter than what was
    /// already taken.
    pub(crate) fn check_len(&self, len: usize) -> Result<(), LogReplaced> {
        if len < self.consumed {
            return Err(LogReplaced::Shorter {
                consumed: self.consumed,
                len,
            });
        }
        Ok(())
    }

    /// Takes the file's bytes at `offset`, for a fresh copy of the whole file read in
    /// pieces from its first byte on: feeds only the bytes past those already taken.
    /// The pieces must come in order, so none can start past what was taken.
    pub(crate) fn feed_at(
        &mut self,
        offset: usize,
        bytes: &[u8],
        on_line: impl FnMut(usize, &[u8]),
    ) {
        let end = offset + bytes.len();
        debug_assert!(offset <= self.consumed, "a piece past a gap");
        if end > self.consumed && offset <= self.consumed {
            self.feed(&bytes[self.consumed - offset..], on_line);
        }
    }

    /// Hands on an unfinished last line (a finished log may lack the final `\n`).
    pub(crate) fn finish(&mut self, mut on_line: impl FnMut(usize, &[u8])) {
        if !self.partial.is_empty() {
            let buf = std::mem::take(&mut self.partial);
            self.emit(&buf, &mut on_line);
        }
    }

    /// Forgets everything, as for a new file.
    pub(crate) fn reset(&mut self) {
        self.partial.clear();
        self.head.clear();
        self.consumed = 0;
        self.line = 0;
    }

    fn emit(&mut self, raw: &[u8], on_line: &mut impl FnMut(usize, &[u8])) {
        self.line += 1;
        let line = raw.trim_ascii();
        if !line.is_empty() {
            on_line(self.line, line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LineSplitter, LogReplaced};

    fn collect(s: &mut LineSplitter, chunks: &[&[u8]]) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for chunk in chunks {
            s.feed(chunk, |n, l| {
                out.push((n, String::from_utf8_lossy(l).into_owned()));
            });
        }
        out
    }

    #[test]
    fn splits_across_chunks_and_skips_blanks() {
        let mut s = LineSplitter::default();
        let got = collect(&mut s, &[b"ab", b"c\n\n  \r\nd", b"e\r", b"\nf"]);
        assert_eq!(got, vec![(1, "abc".into()), (4, "de".into())]);
        assert!(s.has_partial());
        let mut last = Vec::new();
        s.finish(|n, l| last.push((n, l.to_vec())));
        assert_eq!(last, vec![(5, b"f".to_vec())]);
        assert!(!s.has_partial());
    }

    #[test]
    fn whole_feeds_parse_only_new_bytes() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        s.feed_whole(b"a\nb", |n, _| lines.push(n)).unwrap();
        s.feed_whole(b"a\nbc\nd\n", |n, _| lines.push(n)).unwrap();
        assert_eq!(lines, vec![1, 2, 3]);
        assert_eq!(s.consumed(), 7);
        assert_eq!(
            s.feed_whole(b"a\n", |_, _| {}),
            Err(LogReplaced::Shorter {
                consumed: 7,
                len: 2
            })
        );
        assert_eq!(
            s.feed_whole(b"X\nbc\nd\nmore\n", |_, _| {}),
            Err(LogReplaced::Changed)
        );
        s.reset();
        assert_eq!(s.consumed(), 0);
        s.feed_whole(b"X\n", |n, _| lines.push(n)).unwrap();
        assert_eq!(lines, vec![1, 2, 3, 1]);
    }

    #[test]
    fn pieces_at_offsets_match_whole_feeds() {
        let file = b"a\nbc\nd\nef";
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        // A first copy, 3 bytes long, in two pieces.
        s.feed_at(0, b"a\n", |n, l| lines.push((n, l.to_vec())));
        s.feed_at(2, b"b", |n, l| lines.push((n, l.to_vec())));
        assert_eq!(s.consumed(), 3);
        // A second, whole copy, in pieces of 4: the first 3 bytes are not fed again.
        assert!(s.head_matches(&file[..4]));
        assert!(s.check_len(file.len()).is_ok());
        for (i, piece) in file.chunks(4).enumerate() {
            s.feed_at(i * 4, piece, |n, l| lines.push((n, l.to_vec())));
        }
        assert_eq!(
            lines,
            vec![(1, b"a".to_vec()), (2, b"bc".to_vec()), (3, b"d".to_vec())]
        );
        // A shorter file or another start cannot continue.
        assert!(s.check_len(2).is_err());
        assert!(!s.head_matches(b"X\nbc"));
        assert!(s.head_matches(b"a\nbc\nd\nef and more"));
    }
}
