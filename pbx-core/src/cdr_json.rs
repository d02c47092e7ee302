//! Each CDR line as one JSON object (JSON lines), allocation-free: the output of `pbx-convert` and
//! the bulk form of the bindings' `map_lines` / `mapLines`, written once here.
//!
//! Each line becomes one JSON object, `line` and exactly one of
//!
//! - `call`: the call API's `PbxCallRequest` ([`crate::call::CallRequest`]'s JSON),
//! - `skipped`: why the call is not delivered (the [`SkipReason`] text),
//! - `error`: `{"field":…,"value":…,"message":…}` for a line that cannot be read or mapped.
//!
//! ```
//! use pbx_core::call::CallMapper;
//! use pbx_core::cdr::{CdrParser, FieldTemplate};
//! use pbx_core::cdr_json::{LineKind, LineWriter};
//! let parser = CdrParser::new(FieldTemplate::v16_20());
//! let mapper = CallMapper::default();
//! let mut w = LineWriter::new(&parser, &mapper);
//! let mut out = Vec::new();
//! let kind = w.write_line(3, b"Call 1,a_1,,2020/06/29 07:56:32,,,,Ext.101,Ext.102,101,102,,,,,,,,,", &mut out);
//! assert_eq!(kind, LineKind::Skipped);
//! assert_eq!(out, br#"{"line":3,"skipped":"internal call (internal calls are not sent)"}"#);
//! out.clear();
//! assert_eq!(w.write_line(4, b"Call 2,bad", &mut out), LineKind::Error);
//! assert!(out.starts_with(br#"{"line":4,"error":{"field":null,"value":null,"message":"line 4: "#));
//! ```

use std::io::Write;

use serde::Serialize;

use crate::Location;
use crate::call::{CallMapper, MappedJson, SkipReason};
use crate::cdr::CdrParser;

/// What one written line holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LineKind {
    /// `call`.
    Call,
    /// `skipped`.
    Skipped,
    /// `error`.
    Error,
}

/// Writes one JSON object per CDR line (see the [module documentation](self)), reusing one
/// scratch buffer for the records: no allocation per line apart from errors and the
/// `NoOwnerEmail` skip.
#[derive(Debug)]
pub struct LineWriter<'m> {
    parser: &'m CdrParser,
    mapper: &'m CallMapper,
    scratch: Vec<u8>,
}

/// A line that is not a call.
#[derive(Serialize)]
struct Output<'a> {
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<Reason<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorOut<'a>>,
}

/// A skip reason, serialized as its text (`Display` of a `SkipReason`; `Debug` of an outcome
/// this writer does not know).
enum Reason<'a> {
    Skip(&'a SkipReason),
    Other(&'a MappedJson),
}

impl Serialize for Reason<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Reason::Skip(r) => s.collect_str(r),
            Reason::Other(m) => s.collect_str(&format_args!("{m:?}")),
        }
    }
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    field: Option<&'static str>,
    value: Option<&'a str>,
    message: Message<'a>,
}

struct Message<'a>(&'a crate::Error);

impl Serialize for Message<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

impl<'m> LineWriter<'m> {
    /// A writer parsing with `parser` and mapping with `mapper`.
    pub fn new(parser: &'m CdrParser, mapper: &'m CallMapper) -> Self {
        LineWriter {
            parser,
            mapper,
            scratch: Vec::with_capacity(1024),
        }
    }

    /// Appends the JSON object for line `line_no` (its text `line`, any line ending) to `out`,
    /// without a line break. A blank line is `{"line":N,"skipped":"blank line"}`.
    pub fn write_line(&mut self, line_no: u64, line: &[u8], out: &mut Vec<u8>) -> LineKind {
        let start = out.len();
        let result = if line.iter().all(u8::is_ascii_whitespace) {
            Ok(MappedJson::Skipped(SkipReason::BlankLine))
        } else {
            // Written optimistically: a call's object is this prefix, the request and `}`.
            let _ = write!(out, "{{\"line\":{line_no},\"call\":");
            self.parser
                .parse_ref(line_no, line, &mut self.scratch)
                .and_then(|cdr| self.mapper.map_json(&cdr, out))
                .map_err(|e| e.located(Location::Line(line_no)))
        };
        if let Ok(MappedJson::Call) = result {
            out.push(b'}');
            return LineKind::Call;
        }
        out.truncate(start);
        let mut output = Output {
            line: line_no,
            skipped: None,
            error: None,
        };
        let kind = match &result {
            Ok(MappedJson::Skipped(reason)) => {
                output.skipped = Some(Reason::Skip(reason));
                LineKind::Skipped
            }
            Ok(other) => {
                output.skipped = Some(Reason::Other(other));
                LineKind::Skipped
            }
            Err(e) => {
                output.error = Some(ErrorOut {
                    field: e.field(),
                    value: e.value(),
                    message: Message(e),
                });
                LineKind::Error
            }
        };
        // Writing to a `Vec` cannot fail, and every value here serializes.
        let _ = serde_json::to_writer(&mut *out, &output);
        kind
    }

    /// One JSON array of the objects of `lines` (each `(line_no, text)`): the bulk form of
    /// the bindings' `map_lines_json` / `mapLinesJson`.
    ///
    /// ```
    /// use pbx_core::call::CallMapper;
    /// use pbx_core::cdr::{CdrParser, FieldTemplate};
    /// use pbx_core::cdr_json::LineWriter;
    /// let (parser, mapper) = (CdrParser::new(FieldTemplate::v16_20()), CallMapper::default());
    /// let lines: [(u64, &[u8]); 2] = [(1, b" "), (2, b"")];
    /// let json = LineWriter::new(&parser, &mapper).write_array(lines);
    /// assert_eq!(json, br#"[{"line":1,"skipped":"blank line"},{"line":2,"skipped":"blank line"}]"#);
    /// ```
    pub fn write_array<'l>(&mut self, lines: impl IntoIterator<Item = (u64, &'l [u8])>) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 << 16);
        out.push(b'[');
        for (n, line) in lines {
            if out.len() > 1 {
                out.push(b',');
            }
            self.write_line(n, line, &mut out);
        }
        out.push(b']');
        out
    }

    /// Appends the `error` object for line `line_no` that could not be handed to
    /// [`LineWriter::write_line`] — say, a line longer than the reader keeps
    /// ([`crate::Error::LineTooLong`]) — without a line break.
    ///
    /// ```
    /// use pbx_core::{Error, Location};
    /// use pbx_core::call::CallMapper;
    /// use pbx_core::cdr::{CdrParser, FieldTemplate};
    /// use pbx_core::cdr_json::LineWriter;
    /// let (parser, mapper) = (CdrParser::new(FieldTemplate::v16_20()), CallMapper::default());
    /// let mut out = Vec::new();
    /// let e = Error::LineTooLong { at: Location::Line(7), len: 70_000, max: 65_536 };
    /// LineWriter::new(&parser, &mapper).write_error(7, &e, &mut out);
    /// assert!(out.starts_with(br#"{"line":7,"error":{"field":null,"value":null,"message":"line 7: line is 70000 bytes"#));
    /// ```
    pub fn write_error(&mut self, line_no: u64, error: &crate::Error, out: &mut Vec<u8>) {
        let output = Output {
            line: line_no,
            skipped: None,
            error: Some(ErrorOut {
                field: error.field(),
                value: error.value(),
                message: Message(error),
            }),
        };
        let _ = serde_json::to_writer(&mut *out, &output);
    }
}
