//! A batch of CDR lines in one buffer: what the bindings' batch calls (`parse_lines`,
//! `map_lines`, `map_lines_json`) take.

use std::borrow::Cow;

use super::{Cdr, CdrParser, split_lines};
use crate::Error;

/// A batch of CDR lines held in one buffer: a whole text, split at its line breaks (CRLF or
/// LF; blank lines passed over, as [`split_lines`] does), or separate lines (element `i` is
/// line `i + 1`, a blank one included), copied end to end without an allocation per line.
///
/// ```
/// use pbx_core::cdr::{CdrParser, Lines};
/// let text = Lines::text(&b"Call 1\r\n\r\nCall 3\r\n"[..]);
/// assert_eq!(text.numbered().map(|(n, _)| n).collect::<Vec<_>>(), [1, 3]);
///
/// let separate: Lines = ["Call 1", "", "Call 3"].into_iter().collect();
/// assert_eq!(separate.numbered().nth(1), Some((2, &b""[..])));
/// let parser = CdrParser::new("historyid".parse()?);
/// let parsed: Vec<_> = separate.parse(&parser).collect();
/// assert_eq!(parsed[2].1.as_ref().unwrap().history_id.as_deref(), Some("3"));
/// assert!(parsed[1].1.is_err()); // the blank element is line 2, and not a record
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Lines<'a> {
    text: Cow<'a, [u8]>,
    /// Where each separate line ends in `text`; `None` for a whole text.
    ends: Option<Vec<usize>>,
}

impl<'a> Lines<'a> {
    /// A whole text (a CDR file's content), borrowed or owned.
    pub fn text(text: impl Into<Cow<'a, [u8]>>) -> Self {
        Lines {
            text: text.into(),
            ends: None,
        }
    }

    /// Adds one separate line. On a whole text, the text so far becomes the first line.
    pub fn push(&mut self, line: &[u8]) {
        let len = self.text.len();
        let ends = self
            .ends
            .get_or_insert_with(|| if len == 0 { Vec::new() } else { vec![len] });
        self.text.to_mut().extend_from_slice(line);
        ends.push(self.text.len());
    }

    /// Each line with its 1-based number.
    pub fn numbered(&self) -> Box<dyn Iterator<Item = (u64, &[u8])> + '_> {
        match &self.ends {
            None => Box::new(split_lines(&self.text)),
            Some(ends) => {
                let starts = std::iter::once(0).chain(ends.iter().copied());
                let lines = starts.zip(ends).map(|(a, &b)| &self.text[a..b]);
                Box::new((1u64..).zip(lines))
            }
        }
    }

    /// Each line's number and its parse result ([`CdrParser::parse_bytes`]).
    pub fn parse<'p>(
        &'p self,
        parser: &'p CdrParser,
    ) -> impl Iterator<Item = (u64, Result<Cdr, Error>)> + 'p {
        self.numbered()
            .map(|(n, line)| (n, parser.parse_bytes(n, line)))
    }
}

impl<'a> From<Cow<'a, str>> for Lines<'a> {
    /// A whole text given as `str`.
    fn from(text: Cow<'a, str>) -> Self {
        match text {
            Cow::Borrowed(t) => Lines::text(t.as_bytes()),
            Cow::Owned(t) => Lines::text(t.into_bytes()),
        }
    }
}

impl<S: AsRef<[u8]>> FromIterator<S> for Lines<'_> {
    fn from_iter<I: IntoIterator<Item = S>>(lines: I) -> Self {
        let mut batch = Lines {
            text: Cow::Owned(Vec::new()),
            ends: Some(Vec::new()),
        };
        lines.into_iter().for_each(|l| batch.push(l.as_ref()));
        batch
    }
}
