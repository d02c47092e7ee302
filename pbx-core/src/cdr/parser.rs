//! The CDR line parser: a field template plus RFC 4180 splitting (by `csv-core`).

use super::borrowed::CdrRef;
use super::field::{Field, FieldTemplate};
use super::record::Cdr;
use super::value::{
    Chain, ChangeReason, PartyNumber, PartyNumberRef, PartyType, TerminationReason, parse_chain,
    parse_duration, parse_timestamp, trim,
};
use crate::error::{Error, Location};

/// The most fields a line may hold before it is refused as not being a CDR line.
pub const MAX_FIELDS: usize = 64;

/// The default longest line accepted, in bytes (64 KiB).
pub const DEFAULT_MAX_LINE_LEN: usize = 64 * 1024;

/// Parses 3CX CDR text lines with a given field template.
///
/// A line is split as RFC 4180 CSV (quoted fields, `""` inside quotes), its CR/LF ending and a
/// trailing comma are ignored, the `Call ` 3CX writes in front of every line is taken off the
/// first field whatever that field is, bytes that are not UTF-8 are decoded lossily, and white space
/// around each field is trimmed. Each field is
/// then read into its type; a value that cannot be read is an [`Error::InvalidValue`] naming the
/// line, field, raw value and what was expected. Unknown reason and type values are kept, not
/// errors. The parser holds no state between lines, so one bad line never affects another.
///
/// ```
/// use pbx_core::cdr::{CdrParser, FieldTemplate, PartyType};
/// let parser = CdrParser::new(FieldTemplate::v20_27());
/// let line = "Call 288831,4cc2c72490010000_26808,00:00:25,2024/06/17 05:59:49,2024/06/17 05:59:58,\
///     2024/06/17 06:00:23,TerminatedBySrc,Ext.10016,+46703014082,10016,10020,+46703014082,,\
///     +46703014082,10020,default,1,0.43,default,Chain: Ext.10016;+46703014082;,Extension,Line,\
///     Line,Backup no2,+46703014082,+46703014082,\r\n";
/// let cdr = parser.parse_line(1, line)?;
/// assert_eq!(cdr.history_id.as_deref(), Some("288831"));
/// assert_eq!(cdr.talk_seconds(), 25);
/// assert_eq!(cdr.to_type, Some(PartyType::ExternalLine));
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CdrParser {
    template: FieldTemplate,
    max_line_len: usize,
    csv: csv_core::Reader,
}

impl Default for CdrParser {
    /// A parser for the 27-field layout.
    fn default() -> Self {
        Self::new(FieldTemplate::default())
    }
}

impl CdrParser {
    /// A parser for lines laid out as `template`.
    pub fn new(template: FieldTemplate) -> Self {
        CdrParser {
            template,
            max_line_len: DEFAULT_MAX_LINE_LEN,
            // NFA mode: the reader is cloned for every line, and csv-core's `Clone` of its DFA
            // copies only part of the tables (the clone then misreads every line).
            csv: csv_core::ReaderBuilder::new().nfa(true).build(),
        }
    }

    /// Sets the longest line accepted, in bytes (default [`DEFAULT_MAX_LINE_LEN`]).
    ///
    /// ```
    /// use pbx_core::cdr::CdrParser;
    /// let p = CdrParser::default().with_max_line_len(10);
    /// assert!(matches!(p.parse_line(1, "Call 1,0123456789"), Err(pbx_core::Error::LineTooLong { .. })));
    /// ```
    pub fn with_max_line_len(mut self, max: usize) -> Self {
        self.max_line_len = max;
        self
    }

    /// The template this parser reads.
    pub fn template(&self) -> &FieldTemplate {
        &self.template
    }

    /// Parses one line (text). `line_no` is used in errors only.
    ///
    /// # Errors
    /// [`Error::EmptyLine`], [`Error::LineTooLong`], [`Error::FieldCount`],
    /// [`Error::TooManyFields`] or [`Error::InvalidValue`], each naming the line.
    pub fn parse_line(&self, line_no: u64, line: &str) -> Result<Cdr, Error> {
        self.parse_bytes(line_no, line.as_bytes())
    }

    /// Parses one line given as raw bytes (any encoding; non-UTF-8 bytes become U+FFFD).
    ///
    /// ```
    /// use pbx_core::cdr::CdrParser;
    /// let p = CdrParser::new("historyid,from-dispname".parse()?);
    /// let cdr = p.parse_bytes(1, b"Call 9,Jos\xe9 Pe\xf1a")?; // Latin-1 from a Windows build
    /// assert_eq!(cdr.from_dispname.as_deref(), Some("Jos\u{fffd} Pe\u{fffd}a"));
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`CdrParser::parse_line`].
    pub fn parse_bytes(&self, line_no: u64, line: &[u8]) -> Result<Cdr, Error> {
        let mut scratch = Vec::new();
        self.parse_ref(line_no, line, &mut scratch)
            .map(|cdr| cdr.to_cdr())
    }

    /// Parses one line without copying its text: the zero-copy form of
    /// [`CdrParser::parse_bytes`], with the same checks and errors. The record borrows from
    /// `line`, or from `scratch` for a line with quoted fields or bytes that are not UTF-8 (the
    /// unquoted or decoded text is written there); reusing one `scratch` for every line keeps
    /// the path free of allocation.
    ///
    /// ```
    /// use pbx_core::cdr::CdrParser;
    /// let p = CdrParser::new("historyid,from-dispname".parse()?);
    /// let mut scratch = Vec::new();
    /// let cdr = p.parse_ref(1, b"Call 9,\"Pe\"\"a, Jo\"\r\n", &mut scratch)?;
    /// assert_eq!(cdr.from_dispname, Some("Pe\"a, Jo"));
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`CdrParser::parse_line`].
    pub fn parse_ref<'a>(
        &self,
        line_no: u64,
        line: &'a [u8],
        scratch: &'a mut Vec<u8>,
    ) -> Result<CdrRef<'a>, Error> {
        let at = || Location::Line(line_no);
        let line = trim_line_end(line);
        if line.len() > self.max_line_len {
            return Err(Error::LineTooLong {
                at: at(),
                len: line.len(),
                max: self.max_line_len,
            });
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::EmptyLine { at: at() });
        }
        // 3CX writes `Call ` in front of every line, whatever the template's first field is
        // (`historyid` in the presets, `time-start` in a site's own order): it is no part of
        // that field. Taken off the line (so a quoted first field behind it reads as quoted),
        // or else off a first field that holds it inside quotes (below).
        let (line, prefixed) = match line.get(..5) {
            Some(head) if head.eq_ignore_ascii_case(b"call ") => (&line[5..], true),
            _ => (line, false),
        };
        let too_many = || Error::TooManyFields {
            at: at(),
            max: MAX_FIELDS,
        };
        // Text that is not UTF-8 is decoded lossily as a whole into `scratch`: delimiters are
        // ASCII, never part of an invalid sequence, so each field decodes as it would alone.
        let line_text = std::str::from_utf8(line).ok();
        let quoted = memchr::memchr3(b'"', b'\n', b'\r', line).is_some();
        scratch.clear();
        if line_text.is_none() {
            scratch.extend_from_slice(String::from_utf8_lossy(line).as_bytes());
        }
        let decoded_len = scratch.len();
        // Field `i` is `buf[bounds[i].0..bounds[i].1]`.
        let mut bounds = [(0usize, 0usize); MAX_FIELDS];
        let mut nfields = 0;
        if quoted {
            // Quotes or stray line breaks: let csv-core split it (RFC 4180), unquoting into
            // `scratch` after the decoded text.
            let len = if line_text.is_some() {
                line.len()
            } else {
                decoded_len
            };
            scratch.resize(decoded_len + len, 0);
            let (decoded, unquoted) = scratch.split_at_mut(decoded_len);
            let src: &[u8] = if line_text.is_some() { line } else { decoded };
            let mut ends = [0usize; MAX_FIELDS];
            let (n, left_over) = self.split(src, unquoted, &mut ends).ok_or_else(too_many)?;
            if left_over {
                return Err(Error::InvalidValue {
                    at: at(),
                    field: "line",
                    value: String::from_utf8_lossy(src).into_owned(),
                    expected: "one CDR record on one line (this one holds a line break)",
                });
            }
            for i in 0..n {
                bounds[i] = (if i == 0 { 0 } else { ends[i - 1] }, ends[i]);
            }
            nfields = n;
        }
        let scratch: &'a [u8] = scratch;
        let text: &'a str = match (quoted, line_text) {
            (false, Some(text)) => text,
            (false, None) => std::str::from_utf8(&scratch[..decoded_len]).unwrap_or_default(),
            // Unquoting removes ASCII quotes only: valid text stays valid.
            (true, _) => std::str::from_utf8(&scratch[decoded_len..]).unwrap_or_default(),
        };
        if !quoted {
            // No quote anywhere: RFC 4180 fields are exactly the comma-separated pieces.
            let mut start = 0;
            for end in memchr::memchr_iter(b',', text.as_bytes()).chain([text.len()]) {
                if nfields == MAX_FIELDS {
                    return Err(too_many());
                }
                bounds[nfields] = (start, end);
                start = end + 1;
                nfields += 1;
            }
        }
        if nfields > 0 && !prefixed {
            let (start, end) = bounds[0];
            let first = text.get(start..end).unwrap_or_default();
            let kept = strip_call_prefix(first.trim_start());
            bounds[0].0 = end - kept.len();
        }
        let field_at = |i: usize| text.get(bounds[i].0..bounds[i].1).unwrap_or_default();
        let expected = self.template.len();
        // A trailing comma leaves one more, empty field: 3CX writes lines that way.
        let found = if nfields == expected + 1 && field_at(nfields - 1).is_empty() {
            expected
        } else {
            nfields
        };
        if found != expected {
            return Err(Error::FieldCount {
                at: at(),
                expected,
                found,
            });
        }
        let mut cdr = CdrRef::default();
        for (i, &field) in self.template.fields().iter().enumerate() {
            set_ref(&mut cdr, field, trim(field_at(i)), &at)?;
        }
        Ok(cdr)
    }

    /// The `time-start` of a line, read without parsing the rest of it — to skip lines
    /// cheaply (a backfill's range). `None` when it cannot be told that way: the template has
    /// no `time-start`, a quote comes before or in it (only the full parse reads quoting), the
    /// field is missing, empty or not a time. Whatever it says, [`CdrParser::parse_bytes`]
    /// is the truth: for a line it parses, both give the same `time_start`.
    ///
    /// ```
    /// use pbx_core::cdr::CdrParser;
    /// let p = CdrParser::new("historyid,callid,duration,time-start,to-no".parse()?);
    /// let t = p.peek_time_start(b"Call 4,00A_1,00:00:05,2026/11/02 17:02:11,101\r\n").unwrap();
    /// assert_eq!(t.to_rfc3339(), "2026-11-02T17:02:11+00:00");
    /// assert_eq!(p.peek_time_start(b"Call 4,\"00A,1\",00:00:05,2026/11/02 17:02:11,101"), None);
    /// assert_eq!(p.peek_time_start(b"Call 4,00A_1,00:00:05,,101"), None);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn peek_time_start(&self, line: &[u8]) -> Option<chrono::DateTime<chrono::Utc>> {
        let index = self
            .template
            .fields()
            .iter()
            .position(|f| *f == Field::TimeStart)?;
        let line = trim_line_end(line);
        let line = match line.get(..5) {
            Some(head) if head.eq_ignore_ascii_case(b"call ") => &line[5..],
            _ => line,
        };
        let mut start = 0;
        for (i, end) in memchr::memchr_iter(b',', line)
            .chain([line.len()])
            .enumerate()
        {
            if i == index {
                if memchr::memchr(b'"', &line[..end]).is_some() {
                    return None;
                }
                let text = std::str::from_utf8(&line[start..end]).ok()?;
                let text = if i == 0 {
                    strip_call_prefix(text.trim_start())
                } else {
                    text
                };
                let text = trim(text);
                return if text.is_empty() {
                    None
                } else {
                    parse_timestamp(text)
                };
            }
            start = end + 1;
        }
        None
    }

    /// Splits `line` into fields. Returns how many fields and whether input was left over
    /// after the first record (a line break inside the line), or `None` past [`MAX_FIELDS`].
    fn split(
        &self,
        line: &[u8],
        out: &mut [u8],
        ends: &mut [usize; MAX_FIELDS],
    ) -> Option<(usize, bool)> {
        use csv_core::ReadRecordResult as R;
        let mut csv = self.csv.clone();
        let (mut input, mut nout, mut nend) = (line, 0, 0);
        loop {
            // An empty `input` tells csv-core the data has ended, which closes the last field.
            let (res, nin, o, e) = csv.read_record(input, &mut out[nout..], &mut ends[nend..]);
            input = &input[nin..];
            nout += o;
            nend += e;
            match res {
                R::InputEmpty => {}
                R::Record | R::End => return Some((nend, !input.is_empty())),
                R::OutputEndsFull => return None,
                // Unreachable: `out` is as long as the line and output never outgrows input.
                R::OutputFull => return Some((nend, true)),
            }
        }
    }
}

/// Drops a trailing `\n`, `\r\n` or `\r`.
fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads one field's text (already trimmed; empty = absent) into the borrowed record.
fn set_ref<'a>(
    cdr: &mut CdrRef<'a>,
    field: Field,
    raw: &'a str,
    at: &dyn Fn() -> Location,
) -> Result<(), Error> {
    let text = (!raw.is_empty()).then_some(raw);
    let number = || text.map(PartyNumberRef::parse);
    let kind = || text.map(PartyType::parse);
    match field {
        Field::HistoryId => cdr.history_id = Some(strip_call_prefix(raw)).filter(|s| !s.is_empty()),
        Field::CallId => cdr.call_id = text,
        Field::Duration => cdr.duration = read_duration(field, raw, at)?,
        Field::TimeStart => cdr.time_start = read_time(field, raw, at)?,
        Field::TimeAnswered => cdr.time_answered = read_time(field, raw, at)?,
        Field::TimeEnd => cdr.time_end = read_time(field, raw, at)?,
        Field::ReasonTerminated => cdr.reason_terminated = text,
        Field::FromNo => cdr.from_no = number(),
        Field::ToNo => cdr.to_no = number(),
        Field::FromDn => cdr.from_dn = text,
        Field::ToDn => cdr.to_dn = text,
        Field::DialNo => cdr.dial_no = number(),
        Field::ReasonChanged => cdr.reason_changed = text,
        Field::FinalNumber => cdr.final_number = number(),
        Field::FinalDn => cdr.final_dn = text,
        Field::BillCode => cdr.bill_code = text,
        Field::BillRate => cdr.bill_rate = text,
        Field::BillCost => cdr.bill_cost = text,
        Field::BillName => cdr.bill_name = text,
        Field::Chain => cdr.chain = Chain::parse(raw),
        Field::FromType => cdr.from_type = kind(),
        Field::ToType => cdr.to_type = kind(),
        Field::FinalType => cdr.final_type = kind(),
        Field::FromDispname => cdr.from_dispname = text,
        Field::ToDispname => cdr.to_dispname = text,
        Field::FinalDispname => cdr.final_dispname = text,
        Field::MissedQueueCalls => cdr.missed_queue_calls = text,
    }
    Ok(())
}

fn invalid(field: Field, raw: &str, at: &dyn Fn() -> Location, expected: &'static str) -> Error {
    Error::InvalidValue {
        at: at(),
        field: field.name(),
        value: raw.to_owned(),
        expected,
    }
}

/// A time field (trimmed; empty = absent).
fn read_time(
    field: Field,
    raw: &str,
    at: &dyn Fn() -> Location,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Error> {
    if raw.is_empty() {
        return Ok(None);
    }
    parse_timestamp(raw).map(Some).ok_or_else(|| {
        invalid(
            field,
            raw,
            at,
            "a UTC time like 2024/06/17 05:59:49 (separators / . or -)",
        )
    })
}

/// The talk time field (trimmed; empty = unanswered).
fn read_duration(
    field: Field,
    raw: &str,
    at: &dyn Fn() -> Location,
) -> Result<Option<std::time::Duration>, Error> {
    if raw.is_empty() {
        return Ok(None);
    }
    parse_duration(raw).map(Some).ok_or_else(|| {
        invalid(
            field,
            raw,
            at,
            "a talk time HH:MM:SS, or empty when unanswered",
        )
    })
}

fn opt(raw: &str) -> Option<String> {
    (!raw.is_empty()).then(|| raw.to_owned())
}

/// Reads one field's text (already trimmed; empty = absent) into `cdr`. Shared by the line
/// parser and the site-table mapping; `at` places an error.
pub(super) fn set_field(
    cdr: &mut Cdr,
    field: Field,
    raw: &str,
    at: &dyn Fn() -> Location,
) -> Result<(), Error> {
    let number = |raw: &str| (!raw.is_empty()).then(|| PartyNumber::parse(raw));
    let kind = |raw: &str| (!raw.is_empty()).then(|| PartyType::parse(raw));
    match field {
        Field::HistoryId => cdr.history_id = opt(strip_call_prefix(raw)),
        Field::CallId => cdr.call_id = opt(raw),
        Field::Duration => cdr.duration = read_duration(field, raw, at)?,
        Field::TimeStart => cdr.time_start = read_time(field, raw, at)?,
        Field::TimeAnswered => cdr.time_answered = read_time(field, raw, at)?,
        Field::TimeEnd => cdr.time_end = read_time(field, raw, at)?,
        Field::ReasonTerminated => {
            cdr.reason_terminated = (!raw.is_empty()).then(|| TerminationReason::parse(raw))
        }
        Field::FromNo => cdr.from_no = number(raw),
        Field::ToNo => cdr.to_no = number(raw),
        Field::FromDn => cdr.from_dn = opt(raw),
        Field::ToDn => cdr.to_dn = opt(raw),
        Field::DialNo => cdr.dial_no = number(raw),
        Field::ReasonChanged => {
            cdr.reason_changed = (!raw.is_empty()).then(|| ChangeReason::parse(raw))
        }
        Field::FinalNumber => cdr.final_number = number(raw),
        Field::FinalDn => cdr.final_dn = opt(raw),
        Field::BillCode => cdr.bill_code = opt(raw),
        Field::BillRate => cdr.bill_rate = opt(raw),
        Field::BillCost => cdr.bill_cost = opt(raw),
        Field::BillName => cdr.bill_name = opt(raw),
        Field::Chain => cdr.chain = parse_chain(raw),
        Field::FromType => cdr.from_type = kind(raw),
        Field::ToType => cdr.to_type = kind(raw),
        Field::FinalType => cdr.final_type = kind(raw),
        Field::FromDispname => cdr.from_dispname = opt(raw),
        Field::ToDispname => cdr.to_dispname = opt(raw),
        Field::FinalDispname => cdr.final_dispname = opt(raw),
        Field::MissedQueueCalls => cdr.missed_queue_calls = opt(raw),
    }
    Ok(())
}

/// `Call 23193` → `23193`, `Call 2024/09/09 02:06:33` → `2024/09/09 02:06:33`
/// (case-insensitive; a value without the prefix is kept).
fn strip_call_prefix(raw: &str) -> &str {
    match raw.get(..5) {
        Some(head) if head.eq_ignore_ascii_case("call ") => raw[5..].trim_start(),
        _ => raw,
    }
}

/// Iterates over the lines of a CDR text (CRLF or LF), parsing each; blank lines are passed
/// over. Each item is the 1-based line number and the result for that line.
///
/// ```
/// use pbx_core::cdr::{parse_lines, CdrParser};
/// let p = CdrParser::new("historyid,duration".parse()?);
/// let results: Vec<_> = parse_lines(&p, b"Call 1,00:00:05\r\nCall 2,bad\r\n\r\nCall 3,\r\n").collect();
/// assert_eq!(results.len(), 3);
/// assert!(results[0].1.is_ok());
/// assert_eq!(results[1].0, 2);
/// assert!(results[1].1.is_err()); // one bad line does not stop the others
/// assert_eq!(results[2].0, 4);
/// # Ok::<(), pbx_core::Error>(())
/// ```
pub fn parse_lines<'a>(
    parser: &'a CdrParser,
    text: &'a [u8],
) -> impl Iterator<Item = (u64, Result<Cdr, Error>)> + 'a {
    split_lines(text).map(|(n, l)| (n, parser.parse_bytes(n, l)))
}

/// The non-blank lines of a CDR text (CRLF or LF) with their 1-based line numbers, found with
/// `memchr`: the line splitting of [`parse_lines`], for the zero-copy path
/// ([`CdrParser::parse_ref`] on each line). A byte-order mark starting the text is not part of
/// its first line ([`crate::framing::strip_bom`]).
///
/// ```
/// use pbx_core::cdr::split_lines;
/// let lines: Vec<_> = split_lines(b"a\r\n\r\nb").collect();
/// assert_eq!(lines, [(1, &b"a\r"[..]), (3, &b"b"[..])]);
/// assert_eq!(split_lines(b"\xEF\xBB\xBFa").next(), Some((1, &b"a"[..])));
/// ```
pub fn split_lines(text: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    let text = crate::framing::strip_bom(text);
    // The pieces between line feeds (as `split` would give them), found with memchr.
    let ends = memchr::memchr_iter(b'\n', text).chain([text.len()]);
    let mut start = 0;
    ends.map(move |end| {
        let line = &text[start..end];
        start = end + 1;
        line
    })
    .enumerate()
    .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
    .map(|(i, l)| (i as u64 + 1, l))
}

#[cfg(test)]
mod tests {
    // A full line read by the parser, then every field read back from the record by name.
    use super::*;

    #[test]
    fn every_field_of_a_full_line_reads_by_name() {
        let line = "Call 288831,4cc2c72490010000_26808,00:00:25,2024/06/17 05:59:49,2024/06/17 05:59:58,\
            2024/06/17 06:00:23,TerminatedBySrc,Ext.10016,+46703014082,10016,10020,+46703014082,ReplacedDst,\
            +46703014082,10020,default,1,0.43,default,Chain: Ext.10016;+46703014082;,Extension,Line,\
            Line,Backup no2,+46703014082,+46703014082,3";
        let cdr = CdrParser::new(FieldTemplate::v20_27())
            .parse_line(1, line)
            .unwrap();
        for field in Field::ALL {
            let value = cdr.get(field).unwrap_or_else(|| panic!("{field} is empty"));
            let by_name = cdr.get(field.name().replace('-', "_").parse().unwrap());
            assert_eq!(by_name, Some(value), "{field}");
            assert!(!value.to_string().is_empty(), "{field}");
        }
        assert_eq!(
            cdr.get(Field::Chain).unwrap().to_string(),
            "Ext.10016;+46703014082"
        );
        assert!(Cdr::default().get(Field::Chain).is_none());
        assert!(Field::ALL.iter().all(|f| Cdr::default().get(*f).is_none()));
    }
}
