//! Cutting a byte stream (a CDR socket) into lines: sans-IO, bounded, resumable.
//!
//! 3CX ends each CDR line with CRLF; a TCP read may hold half a line, several lines, or a
//! line end split between two reads. [`LineFramer`] is fed whatever a read returned and hands
//! out each complete line, without its line end (`\n` or `\r\n`). It never holds more than
//! `max_line` bytes, so a peer that sends an endless line or binary garbage costs a bounded
//! amount of memory and ends in a [`FrameError`] naming the stream offset — the adapter then
//! drops that connection.
//!
//! Rules:
//! - a line ends at `\n`; one `\r` right before it is removed;
//! - lines that are empty or only whitespace are passed over (keep-alives, doubled line ends);
//! - a line longer than `max_line` bytes (line end excluded) is [`FrameError::TooLong`],
//!   reported as soon as the limit is passed, not when the line ends;
//! - a control byte other than tab, `\r` and `\n` (`0x00`–`0x08`, `0x0b`, `0x0c`,
//!   `0x0e`–`0x1f`, `0x7f`) is [`FrameError::Binary`]: CDR lines are text (bytes ≥ `0x80` are
//!   fine — Windows builds write non-UTF-8 names), and such bytes mean the peer is not a 3CX
//!   CDR stream (a TLS handshake, a port scanner);
//! - a UTF-8 byte-order mark (`EF BB BF`) at the very start of the stream is removed from the
//!   first line ([`strip_bom`]): Windows tools write one, and it is not part of the record;
//! - after an error the framer stays failed: every later call returns the same error;
//! - at the end of the stream, [`LineFramer::finish`] hands out a last line that had no line
//!   end (builds that send one record per connection may close right after it).
//!
//! Feeding a stream in one piece or split at any points gives the same lines and the same
//! error (the `socket_framer` fuzz target checks this).
//!
//! ```
//! use pbx_core::framing::LineFramer;
//!
//! let mut framer = LineFramer::new(1024);
//! let mut lines = Vec::new();
//! framer.push(b"Call 1,a\r\nCall 2,", |l| lines.push(l.to_vec()))?;
//! framer.push(b"b\r", |l| lines.push(l.to_vec()))?;
//! framer.push(b"\n\r\nCall 3,c", |l| lines.push(l.to_vec()))?;
//! framer.finish(|l| lines.push(l.to_vec()))?;
//! assert_eq!(lines, [&b"Call 1,a"[..], b"Call 2,b", b"Call 3,c"]);
//! # Ok::<(), pbx_core::framing::FrameError>(())
//! ```

/// Why a stream cannot be cut into CDR lines. The connection should be dropped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A line grew past the limit without a line end: an endless line, or a peer that does
    /// not send CDR lines. Raise the limit only if real CDR lines are this long.
    #[error(
        "the line starting at byte {start} of the stream is longer than {limit} bytes without a line end"
    )]
    TooLong {
        /// Stream offset of the line's first byte.
        start: u64,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A control byte that never occurs in a CDR line: the peer is not sending CDR text.
    #[error(
        "byte 0x{byte:02x} at offset {offset} of the stream is a control character; the peer is not sending CDR text"
    )]
    Binary {
        /// The byte.
        byte: u8,
        /// Its stream offset.
        offset: u64,
    },
}

/// Cuts a byte stream into lines; see the [module docs](self) for the rules.
#[derive(Clone, Debug)]
pub struct LineFramer {
    max_line: usize,
    partial: Vec<u8>,
    /// Stream offset of the next byte pushed.
    offset: u64,
    failed: Option<FrameError>,
}

/// The UTF-8 byte-order mark, `EF BB BF` (U+FEFF).
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// `text` without a leading UTF-8 byte-order mark: what every reader of CDR text applies to
/// the start of a stream (a file, a socket connection, standard input), so that a record
/// written by a tool that adds one (Notepad, PowerShell's `Out-File`) reads the same as
/// without — the same fields, the same `pbxCallId`. A mark anywhere else is left alone.
///
/// ```
/// use pbx_core::framing::strip_bom;
/// assert_eq!(strip_bom(b"\xEF\xBB\xBFCall 1,a"), b"Call 1,a");
/// assert_eq!(strip_bom(b"Call 1,a"), b"Call 1,a");
/// assert_eq!(strip_bom(b"\xEF\xBB"), b"\xEF\xBB");
/// ```
pub fn strip_bom(text: &[u8]) -> &[u8] {
    text.strip_prefix(UTF8_BOM).unwrap_or(text)
}

/// The line as handed out: a byte-order mark removed when it starts the stream.
fn stream_line(line_start: u64, line: &[u8]) -> &[u8] {
    if line_start == 0 {
        strip_bom(line)
    } else {
        line
    }
}

fn is_control(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7f
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

impl LineFramer {
    /// A framer accepting lines of up to `max_line` bytes (line end excluded); 3CX lines are
    /// well under [`crate::cdr::DEFAULT_MAX_LINE_LEN`], a good default.
    pub fn new(max_line: usize) -> Self {
        LineFramer {
            max_line,
            partial: Vec::new(),
            offset: 0,
            failed: None,
        }
    }

    /// Bytes of an unfinished line held back.
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Bytes pushed so far (the stream offset of the next byte).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Feeds the next bytes of the stream; `emit` is called with each line completed by them,
    /// in order.
    ///
    /// # Errors
    /// [`FrameError`] on an over-long line or a control byte; the lines before it have been
    /// emitted, and the framer stays failed.
    pub fn push(&mut self, data: &[u8], mut emit: impl FnMut(&[u8])) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut rest = data;
        while !rest.is_empty() {
            let end = rest.iter().position(|&b| b == b'\n');
            let segment = &rest[..end.unwrap_or(rest.len())];
            let line_start = self.offset - self.partial.len() as u64;
            // The first problem in this segment, by position: a control byte, or the byte that
            // proves the line too long.
            let control = segment.iter().position(|&b| is_control(b));
            let long = self.too_long_at(segment);
            match (control, long) {
                (Some(c), l) if l.is_none_or(|l| c <= l) => {
                    return Err(self.fail(FrameError::Binary {
                        byte: segment[c],
                        offset: self.offset + c as u64,
                    }));
                }
                (_, Some(_)) => {
                    return Err(self.fail(FrameError::TooLong {
                        start: line_start,
                        limit: self.max_line,
                    }));
                }
                _ => {}
            }
            match end {
                None => {
                    self.partial.extend_from_slice(segment);
                    self.offset += segment.len() as u64;
                    rest = &[];
                }
                Some(i) => {
                    let len = self.partial.len() + segment.len();
                    let ends_with_cr = if self.partial.is_empty() || !segment.is_empty() {
                        segment.last() == Some(&b'\r')
                    } else {
                        self.partial.last() == Some(&b'\r')
                    };
                    let line_len = len - usize::from(ends_with_cr);
                    if self.partial.is_empty() {
                        let line = stream_line(line_start, &segment[..line_len]);
                        if !is_blank(line) {
                            emit(line);
                        }
                    } else {
                        self.partial.extend_from_slice(segment);
                        self.partial.truncate(line_len);
                        let line = stream_line(line_start, &self.partial);
                        if !is_blank(line) {
                            emit(line);
                        }
                        self.partial.clear();
                    }
                    self.offset += i as u64 + 1;
                    rest = &rest[i + 1..];
                }
            }
        }
        Ok(())
    }

    /// Ends the stream: a last line without a line end is emitted (a trailing `\r` removed).
    ///
    /// # Errors
    /// The framer's earlier error, if it failed.
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8])) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let line_start = self.offset - self.partial.len() as u64;
        if self.partial.last() == Some(&b'\r') {
            self.partial.pop();
        }
        let line = stream_line(line_start, &self.partial);
        if !is_blank(line) {
            emit(line);
        }
        self.partial.clear();
        Ok(())
    }

    /// The index in `segment` (line bytes, no `\n`) at which the line `partial ++ segment`
    /// is proven longer than the limit: its byte at index `max_line`, unless that byte is a
    /// `\r` (which a `\n` may follow), then the byte after it.
    fn too_long_at(&self, segment: &[u8]) -> Option<usize> {
        let held = self.partial.len();
        let total = held + segment.len();
        let m = self.max_line;
        if total <= m {
            return None;
        }
        let at_m = if m < held {
            self.partial[m]
        } else {
            segment[m - held]
        };
        if at_m != b'\r' {
            Some(m.saturating_sub(held))
        } else if total > m + 1 {
            Some(m + 1 - held)
        } else {
            None
        }
    }

    fn fail(&mut self, e: FrameError) -> FrameError {
        self.partial = Vec::new();
        self.failed = Some(e.clone());
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(max: usize, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Option<FrameError>) {
        let mut f = LineFramer::new(max);
        let mut lines = Vec::new();
        for c in chunks {
            if let Err(e) = f.push(c, |l| lines.push(l.to_vec())) {
                return (lines, Some(e));
            }
        }
        let err = f.finish(|l| lines.push(l.to_vec())).err();
        (lines, err)
    }

    #[test]
    fn crlf_split_between_reads() {
        let (lines, err) = run(100, &[b"a,b\r", b"\nc,d\r", b"\n"]);
        assert_eq!(lines, [b"a,b".to_vec(), b"c,d".to_vec()]);
        assert_eq!(err, None);
    }

    #[test]
    fn endless_line_fails_before_its_end_and_stays_failed() {
        let mut f = LineFramer::new(8);
        let mut n = 0;
        f.push(b"ok\r\n12345", |_| n += 1).unwrap();
        let e = f.push(b"6789", |_| n += 1).unwrap_err();
        assert_eq!(e, FrameError::TooLong { start: 4, limit: 8 });
        assert_eq!(f.buffered(), 0, "memory released");
        assert_eq!(f.push(b"\n", |_| n += 1).unwrap_err(), e);
        assert_eq!(n, 1);
    }

    #[test]
    fn exact_limit_with_crlf_is_accepted() {
        let (lines, err) = run(4, &[b"abcd\r", b"\n"]);
        assert_eq!((lines, err), (vec![b"abcd".to_vec()], None));
        let (_, err) = run(4, &[b"abcde\n"]);
        assert!(matches!(err, Some(FrameError::TooLong { .. })));
    }

    #[test]
    fn binary_is_refused_with_its_offset() {
        let (lines, err) = run(100, &[b"a\n\x16\x03\x01"]);
        assert_eq!(lines, [b"a".to_vec()]);
        assert_eq!(
            err,
            Some(FrameError::Binary {
                byte: 0x16,
                offset: 2
            })
        );
    }

    #[test]
    fn non_utf8_and_tabs_are_text() {
        let (lines, err) = run(100, &[b"J\xf6rg\tx\r\n"]);
        assert_eq!((lines, err), (vec![b"J\xf6rg\tx".to_vec()], None));
    }

    #[test]
    fn a_bom_starting_the_stream_is_removed_however_it_is_split() {
        let want = vec![b"Call 1,a".to_vec(), b"\xEF\xBB\xBFCall 2,b".to_vec()];
        let stream: &[u8] = b"\xEF\xBB\xBFCall 1,a\r\n\xEF\xBB\xBFCall 2,b\r\n";
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(run(100, &[a, b]), (want.clone(), None), "cut at {cut}");
        }
        // Without a line end, and alone on its line.
        assert_eq!(
            run(100, &[b"\xEF\xBB", b"\xBFCall 1,a"]),
            (vec![b"Call 1,a".to_vec()], None)
        );
        assert_eq!(
            run(100, &[b"\xEF\xBB\xBF\r\nCall 1,a\n"]),
            (vec![b"Call 1,a".to_vec()], None)
        );
    }

    proptest! {
        #[test]
        fn splitting_never_changes_the_result(
            data in proptest::collection::vec(prop_oneof![
                Just(b'\r'), Just(b'\n'), Just(b'a'), Just(b' '), Just(0x01u8), Just(0xe9u8)
            ], 0..64),
            cuts in proptest::collection::vec(0usize..64, 0..6),
            max in 0usize..12,
        ) {
            let whole = run(max, &[&data]);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut at = 0;
            for c in cuts {
                chunks.push(&data[at..c]);
                at = c;
            }
            chunks.push(&data[at..]);
            prop_assert_eq!(run(max, &chunks), whole.clone());
            for l in &whole.0 {
                prop_assert!(l.len() <= max && !l.contains(&b'\n'));
            }
        }
    }
}
