//! `pbx.Cdr` and `pbx.CdrParser` over `pbx_core::cdr`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pbx_core::Error;
use pbx_core::cdr::{Cdr, CdrParser, Field, parse_lines};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::convert::{repr_opt, repr_str};
use crate::error::{CoreResult, to_py};

/// One parsed 3CX call record. Every field is optional (None when empty or not in the
/// template). Times are aware UTC datetimes; `duration` is the talk time as a timedelta
/// (None: unanswered); number fields are as 3CX wrote them (`Ext.101`, `+19075551234`);
/// reasons and types are their 3CX names. `line` is the line it was read from.
#[pyclass(name = "Cdr", module = "pbx", frozen)]
#[derive(Clone)]
pub(crate) struct PyCdr {
    pub(crate) inner: Arc<Cdr>,
    pub(crate) line: Option<u64>,
}

impl PyCdr {
    /// A field as text, as 3CX wrote it ([`pbx_core::cdr::FieldValue`]'s `Display`).
    fn text(&self, field: Field) -> Option<String> {
        self.inner.get(field).map(|v| v.to_string())
    }
}

#[pymethods]
impl PyCdr {
    /// The 1-based line it was read from (None when not read from a line).
    #[getter]
    fn line(&self) -> Option<u64> {
        self.line
    }
    /// `historyid` without its `Call ` prefix.
    #[getter]
    fn history_id(&self) -> Option<String> {
        self.text(Field::HistoryId)
    }
    /// `callid`.
    #[getter]
    fn call_id(&self) -> Option<String> {
        self.text(Field::CallId)
    }
    /// `duration`: talk time; None when unanswered.
    #[getter]
    fn duration(&self) -> Option<Duration> {
        self.inner.duration
    }
    /// `time-start` (UTC).
    #[getter]
    fn time_start(&self) -> Option<DateTime<Utc>> {
        self.inner.time_start
    }
    /// `time-answered` (UTC).
    #[getter]
    fn time_answered(&self) -> Option<DateTime<Utc>> {
        self.inner.time_answered
    }
    /// `time-end` (UTC).
    #[getter]
    fn time_end(&self) -> Option<DateTime<Utc>> {
        self.inner.time_end
    }
    /// `reason-terminated` (3CX's older vocabulary where it has a name).
    #[getter]
    fn reason_terminated(&self) -> Option<String> {
        self.text(Field::ReasonTerminated)
    }
    /// `from-no`.
    #[getter]
    fn get_from_no(&self) -> Option<String> {
        self.text(Field::FromNo)
    }
    /// `to-no`.
    #[getter]
    fn to_no(&self) -> Option<String> {
        self.text(Field::ToNo)
    }
    /// `from-dn`.
    #[getter]
    fn get_from_dn(&self) -> Option<String> {
        self.text(Field::FromDn)
    }
    /// `to-dn`.
    #[getter]
    fn to_dn(&self) -> Option<String> {
        self.text(Field::ToDn)
    }
    /// `dial-no`.
    #[getter]
    fn dial_no(&self) -> Option<String> {
        self.text(Field::DialNo)
    }
    /// `reason-changed`.
    #[getter]
    fn reason_changed(&self) -> Option<String> {
        self.text(Field::ReasonChanged)
    }
    /// `final-number`.
    #[getter]
    fn final_number(&self) -> Option<String> {
        self.text(Field::FinalNumber)
    }
    /// `final-dn`.
    #[getter]
    fn final_dn(&self) -> Option<String> {
        self.text(Field::FinalDn)
    }
    /// `bill-code`.
    #[getter]
    fn bill_code(&self) -> Option<String> {
        self.text(Field::BillCode)
    }
    /// `bill-rate`, as written.
    #[getter]
    fn bill_rate(&self) -> Option<String> {
        self.text(Field::BillRate)
    }
    /// `bill-cost`, as written.
    #[getter]
    fn bill_cost(&self) -> Option<String> {
        self.text(Field::BillCost)
    }
    /// `bill-name`.
    #[getter]
    fn bill_name(&self) -> Option<String> {
        self.text(Field::BillName)
    }
    /// `chain`: every endpoint, in order.
    #[getter]
    fn chain(&self) -> Vec<String> {
        self.inner.chain.iter().map(ToString::to_string).collect()
    }
    /// `from-type`.
    #[getter]
    fn get_from_type(&self) -> Option<String> {
        self.text(Field::FromType)
    }
    /// `to-type`.
    #[getter]
    fn to_type(&self) -> Option<String> {
        self.text(Field::ToType)
    }
    /// `final-type`.
    #[getter]
    fn final_type(&self) -> Option<String> {
        self.text(Field::FinalType)
    }
    /// `from-dispname`.
    #[getter]
    fn get_from_dispname(&self) -> Option<String> {
        self.text(Field::FromDispname)
    }
    /// `to-dispname`.
    #[getter]
    fn to_dispname(&self) -> Option<String> {
        self.text(Field::ToDispname)
    }
    /// `final-dispname`.
    #[getter]
    fn final_dispname(&self) -> Option<String> {
        self.text(Field::FinalDispname)
    }
    /// `missed-queue-calls`, as written.
    #[getter]
    fn missed_queue_calls(&self) -> Option<String> {
        self.text(Field::MissedQueueCalls)
    }
    /// Talk time in whole seconds: `duration`, else `time-end − time-answered`, else 0.
    #[getter]
    fn talk_seconds(&self) -> u64 {
        self.inner.talk_seconds()
    }
    /// True when the call was answered (it has a talk time or an answer time).
    #[getter]
    fn is_answered(&self) -> bool {
        self.inner.is_answered()
    }

    /// The record written back as one CDR line laid out as `template` (`"20"`, `"27"` or a
    /// comma list of 3CX field names; default `"27"`). Raises `ConfigError` for an unusable
    /// template.
    #[pyo3(signature = (template = "27".to_owned()), text_signature = "(self, template='27')")]
    fn to_line(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::arg::template)] template: String,
    ) -> PyResult<String> {
        let t: pbx_core::cdr::FieldTemplate = template.parse().py(py)?;
        Ok(pbx_core::cdr::format_line(&self.inner, &t))
    }

    /// Every attribute above as a dict (same names; times stay datetimes).
    fn to_dict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let d = PyDict::new(py);
        for name in FIELDS {
            d.set_item(*name, slf.getattr(*name)?)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "Cdr(line={}, history_id={}, call_id={}, from_no={}, to_no={})",
            self.line
                .map_or_else(|| "None".to_owned(), |n| n.to_string()),
            repr_opt(self.inner.history_id.as_deref()),
            repr_opt(self.inner.call_id.as_deref()),
            repr_opt(self.text(Field::FromNo).as_deref()),
            repr_opt(self.text(Field::ToNo).as_deref()),
        )
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner && self.line == other.line
    }
}

/// The attribute names `Cdr.to_dict` holds.
const FIELDS: &[&str] = &[
    "line",
    "history_id",
    "call_id",
    "duration",
    "time_start",
    "time_answered",
    "time_end",
    "reason_terminated",
    "from_no",
    "to_no",
    "from_dn",
    "to_dn",
    "dial_no",
    "reason_changed",
    "final_number",
    "final_dn",
    "bill_code",
    "bill_rate",
    "bill_cost",
    "bill_name",
    "chain",
    "from_type",
    "to_type",
    "final_type",
    "from_dispname",
    "to_dispname",
    "final_dispname",
    "missed_queue_calls",
    "talk_seconds",
    "is_answered",
];

/// Parses 3CX CDR text lines laid out as a field template: `"27"` (default), `"20"`, or the
/// PBX's field names in order (`"historyid,callid,duration,…"`). Raises `ConfigError` for an
/// unusable template.
#[pyclass(name = "CdrParser", module = "pbx", frozen)]
pub(crate) struct PyCdrParser {
    pub(crate) inner: CdrParser,
}

#[pymethods]
impl PyCdrParser {
    #[new]
    #[pyo3(signature = (template = "27".to_owned(), max_line_len = None),
        text_signature = "(template='27', max_line_len=None)")]
    fn new(
        py: Python<'_>,
        #[pyo3(from_py_with = crate::arg::template)] template: String,
        #[pyo3(from_py_with = crate::arg::max_line_len)] max_line_len: Option<usize>,
    ) -> PyResult<Self> {
        let mut inner = CdrParser::new(template.parse().py(py)?);
        if let Some(max) = max_line_len {
            inner = inner.with_max_line_len(max);
        }
        Ok(PyCdrParser { inner })
    }

    /// The template's field names, in order.
    #[getter]
    fn fields(&self) -> Vec<&'static str> {
        self.inner
            .template()
            .fields()
            .iter()
            .map(|f| f.name())
            .collect()
    }

    /// Parses one line. Raises `ParseError` (with `line`, `field`, `value`) when it cannot be
    /// read; `line` is only used in errors and as `Cdr.line`.
    #[pyo3(signature = (text, line = 1))]
    fn parse_line(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::arg::text)] text: String,
        #[pyo3(from_py_with = crate::arg::line)] line: u64,
    ) -> PyResult<PyCdr> {
        let cdr = self.inner.parse_line(line, &text).py(py)?;
        Ok(PyCdr {
            inner: Arc::new(cdr),
            line: Some(line),
        })
    }

    /// Parses many lines in one call, without holding the GIL while parsing. A `str` is split
    /// at line breaks (CRLF or LF), blank lines passed over, line numbers counted from 1; a
    /// list gives one result per element (element `i` is line `i + 1`). Each result is a `Cdr`
    /// or the `ParseError` for that line (returned, not raised): one bad line never stops the
    /// others.
    fn parse_lines<'py>(
        &self,
        py: Python<'py>,
        lines: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let results = self.run(py, lines, |_, cdr| cdr)?;
        let out = PyList::empty(py);
        for (line, r) in results {
            match r {
                Ok(cdr) => out.append(PyCdr {
                    inner: Arc::new(cdr),
                    line: Some(line),
                })?,
                Err(e) => out.append(to_py(py, e).into_value(py))?,
            }
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!(
            "CdrParser(template={})",
            repr_str(&self.inner.template().to_string())
        )
    }
}

impl PyCdrParser {
    /// Parses `lines` (a `str`: split at line breaks, blank lines passed over; or a list: one
    /// line per element) and hands each record to `then`, all without the GIL. Each item is
    /// the line number and the result.
    pub(crate) fn run<T: Send>(
        &self,
        py: Python<'_>,
        lines: &Bound<'_, PyAny>,
        then: impl Fn(u64, Cdr) -> T + Sync,
    ) -> PyResult<Vec<(u64, Result<T, Error>)>> {
        let then = |(n, r): (u64, Result<Cdr, Error>)| (n, r.map(|cdr| then(n, cdr)));
        if let Ok(s) = lines.cast::<PyString>() {
            let text = s.to_cow()?;
            Ok(py.detach(|| {
                parse_lines(&self.inner, text.as_bytes())
                    .map(then)
                    .collect()
            }))
        } else {
            let items: Vec<String> = lines
                .extract()
                .map_err(|e| crate::convert::for_arg(lines.py(), "lines", e))?;
            Ok(py.detach(|| {
                items
                    .iter()
                    .zip(1u64..)
                    .map(|(l, n)| then((n, self.inner.parse_line(n, l))))
                    .collect()
            }))
        }
    }
}
