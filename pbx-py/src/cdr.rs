//! `pbx.Cdr` and `pbx.CdrParser` over `pbx_core::cdr`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pbx_core::Error;
use pbx_core::cdr::{Cdr, CdrParser, Field as F, Lines};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::arg;
use crate::convert::{methods, repr_opt, repr_str};
use crate::error::{CoreResult, error_value};

/// One parsed 3CX call record (`pbx.pyi` documents its attributes).
#[pyclass(name = "Cdr", module = "pbx", frozen, eq)]
#[derive(Clone, PartialEq)]
pub(crate) struct PyCdr {
    pub(crate) inner: Arc<Cdr>,
    pub(crate) line: Option<u64>,
}

impl PyCdr {
    /// A record read from line `line`.
    pub(crate) fn at(cdr: Cdr, line: u64) -> Self {
        PyCdr {
            inner: Arc::new(cdr),
            line: Some(line),
        }
    }

    /// A field as 3CX wrote it (`FieldValue`'s `Display`).
    fn text(&self, field: F) -> Option<String> {
        self.inner.get(field).map(|v| v.to_string())
    }
}

methods! { PyCdr, |c| {
    line -> Option<u64> = c.line, "The 1-based line it was read from (None: not read from one).";
    history_id -> Option<String> = c.text(F::HistoryId), "`historyid` without its `Call ` prefix.";
    call_id -> Option<String> = c.text(F::CallId), "`callid`.";
    duration -> Option<Duration> = c.inner.duration, "`duration`: talk time; None: unanswered.";
    time_start -> Option<DateTime<Utc>> = c.inner.time_start, "`time-start` (UTC).";
    time_answered -> Option<DateTime<Utc>> = c.inner.time_answered, "`time-answered` (UTC).";
    time_end -> Option<DateTime<Utc>> = c.inner.time_end, "`time-end` (UTC).";
    reason_terminated -> Option<String> = c.text(F::ReasonTerminated),
        "`reason-terminated` (3CX's older vocabulary where it has a name).";
    from_no -> Option<String> = c.text(F::FromNo), "`from-no`.";
    to_no -> Option<String> = c.text(F::ToNo), "`to-no`.";
    from_dn -> Option<String> = c.text(F::FromDn), "`from-dn`.";
    to_dn -> Option<String> = c.text(F::ToDn), "`to-dn`.";
    dial_no -> Option<String> = c.text(F::DialNo), "`dial-no`.";
    reason_changed -> Option<String> = c.text(F::ReasonChanged), "`reason-changed`.";
    final_number -> Option<String> = c.text(F::FinalNumber), "`final-number`.";
    final_dn -> Option<String> = c.text(F::FinalDn), "`final-dn`.";
    bill_code -> Option<String> = c.text(F::BillCode), "`bill-code`.";
    bill_rate -> Option<String> = c.text(F::BillRate), "`bill-rate`, as written.";
    bill_cost -> Option<String> = c.text(F::BillCost), "`bill-cost`, as written.";
    bill_name -> Option<String> = c.text(F::BillName), "`bill-name`.";
    chain -> Vec<String> = c.inner.chain.iter().map(ToString::to_string).collect(),
        "`chain`: every endpoint, in order.";
    from_type -> Option<String> = c.text(F::FromType), "`from-type`.";
    to_type -> Option<String> = c.text(F::ToType), "`to-type`.";
    final_type -> Option<String> = c.text(F::FinalType), "`final-type`.";
    from_dispname -> Option<String> = c.text(F::FromDispname), "`from-dispname`.";
    to_dispname -> Option<String> = c.text(F::ToDispname), "`to-dispname`.";
    final_dispname -> Option<String> = c.text(F::FinalDispname), "`final-dispname`.";
    missed_queue_calls -> Option<String> = c.text(F::MissedQueueCalls),
        "`missed-queue-calls`, as written.";
    talk_seconds -> u64 = c.inner.talk_seconds(),
        "Talk time in whole seconds: `duration`, else `time-end − time-answered`, else 0.";
    is_answered -> bool = c.inner.is_answered(),
        "True when the call was answered (it has a talk time or an answer time).";
}
    /// The record written back as one CDR line laid out as `template`.
    #[pyo3(signature = (template = "27".to_owned()), text_signature = "(self, template='27')")]
    fn to_line(&self, #[pyo3(from_py_with = arg::template)] template: String) -> PyResult<String> {
        let t: pbx_core::cdr::FieldTemplate = template.parse().py()?;
        Ok(pbx_core::cdr::format_line(&self.inner, &t))
    }

    /// Every attribute as a dict (same names; times stay datetimes).
    fn to_dict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(slf.py());
        for name in Self::GETTERS {
            d.set_item(name, slf.getattr(name)?)?;
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
            repr_opt(self.from_no().as_deref()),
            repr_opt(self.to_no().as_deref()),
        )
    }
}

/// Parses 3CX CDR text lines laid out as a field template.
#[pyclass(name = "CdrParser", module = "pbx", frozen)]
pub(crate) struct PyCdrParser(pub(crate) CdrParser);

#[pymethods]
impl PyCdrParser {
    #[new]
    #[pyo3(signature = (template = "27".to_owned(), max_line_len = None),
        text_signature = "(template='27', max_line_len=None)")]
    fn new(
        #[pyo3(from_py_with = arg::template)] template: String,
        #[pyo3(from_py_with = arg::max_line_len)] max_line_len: Option<usize>,
    ) -> PyResult<Self> {
        let inner = CdrParser::new(template.parse().py()?);
        let inner = max_line_len
            .into_iter()
            .fold(inner, CdrParser::with_max_line_len);
        Ok(PyCdrParser(inner))
    }

    /// The template's field names, in order.
    #[getter]
    fn fields(&self) -> Vec<&'static str> {
        self.0.template().names()
    }

    /// Parses one line; `line` is used in errors and as `Cdr.line`.
    #[pyo3(signature = (text, line = 1))]
    fn parse_line(
        &self,
        #[pyo3(from_py_with = arg::text)] text: String,
        #[pyo3(from_py_with = arg::line)] line: u64,
    ) -> PyResult<PyCdr> {
        Ok(PyCdr::at(self.0.parse_line(line, &text).py()?, line))
    }

    /// Parses many lines in one call, without the GIL; bad lines give their `ParseError`.
    fn parse_lines<'py>(
        &self,
        py: Python<'py>,
        lines: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let results = self.run(py, lines, |_, cdr| cdr)?.into_iter();
        PyList::new(
            py,
            results
                .map(|(n, r)| match r {
                    Ok(cdr) => Bound::new(py, PyCdr::at(cdr, n)).map(Bound::into_any),
                    Err(e) => Ok(error_value(py, e)),
                })
                .collect::<PyResult<Vec<_>>>()?,
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "CdrParser(template={})",
            repr_str(&self.0.template().to_string())
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
        let batch = match lines.cast::<PyString>() {
            Ok(s) => Lines::from(s.to_cow()?),
            Err(_) => arg::named::<Vec<String>>("lines", lines)?.iter().collect(),
        };
        let parsed = |(n, r): (u64, Result<Cdr, Error>)| (n, r.map(|cdr| then(n, cdr)));
        Ok(py.detach(|| batch.parse(&self.0).map(parsed).collect()))
    }
}
