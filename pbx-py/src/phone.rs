//! `pbx.normalize_number`, `pbx.normalize_numbers` and `pbx.NormalizedNumber` over
//! `pbx_core::phone`.

use pbx_core::phone::{Normalized, NormalizedValues, NumberPolicy, normalize, normalize_batch};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use crate::arg;
use crate::convert::{methods, repr_opt, repr_str};
use crate::error::CoreResult;

/// A normalized phone number: the same fields as the Rust type's JSON form.
#[pyclass(name = "NormalizedNumber", module = "pbx", eq, frozen)]
#[derive(PartialEq)]
pub(crate) struct PyNormalizedNumber(Normalized);

methods! { PyNormalizedNumber, |n| {
    value -> Option<&str> = n.0.value(),
        "The E.164 number or the extension; None for anonymous and invalid.";
    extension -> Option<&str> = match &n.0 {
        Normalized::E164 { extension, .. } => extension.as_deref(),
        _ => None,
    }, "An extension written after an external number (`ext. 12`: digits), or None.";
    raw -> Option<&str> = match &n.0 {
        Normalized::Invalid { raw, .. } => Some(raw.as_str()),
        _ => None,
    }, "The input of an invalid number, or None.";
}
    /// `"e164"`, `"internal"`, `"anonymous"` or `"invalid"` (an interned `str`).
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        PyString::intern(py, self.0.kind())
    }

    /// Why a number is invalid (`"too_short"`, `"not_a_number"`, …; interned), or None.
    #[getter]
    fn reason<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.reason_code().map(|r| PyString::intern(py, r))
    }

    fn __repr__(&self) -> String {
        format!(
            "NormalizedNumber(kind={}, value={}, extension={}, raw={}, reason={})",
            repr_str(self.0.kind()),
            repr_opt(self.value()),
            repr_opt(self.extension()),
            repr_opt(self.raw()),
            repr_opt(self.reason_code()),
        )
    }
}

impl PyNormalizedNumber {
    fn reason_code(&self) -> Option<&'static str> {
        match &self.0 {
            Normalized::Invalid { reason, .. } => Some(reason.code()),
            _ => None,
        }
    }
}

/// Normalizes one number to E.164 with a default region (ISO 3166 alpha-2, e.g. `"US"`):
/// `Ext.101` and short numbers stay internal extensions, withheld callers are anonymous.
/// Raises `ConfigError` for an unknown region.
#[pyfunction]
#[pyo3(signature = (raw, default_region = "US".to_owned()),
    text_signature = "(raw, default_region='US')")]
pub(crate) fn normalize_number(
    #[pyo3(from_py_with = arg::raw)] raw: String,
    #[pyo3(from_py_with = arg::default_region)] default_region: String,
) -> PyResult<PyNormalizedNumber> {
    let policy = NumberPolicy::from_codes("default_region", Some(&default_region), None).py()?;
    Ok(PyNormalizedNumber(normalize(&raw, &policy)))
}

/// Normalizes many numbers in one call, without holding the GIL while working. Element `i`
/// of the result is `normalize_number(raws[i], default_region).value` — the E.164 number or
/// the extension, None for a withheld or invalid number — the compact form for bulk work; with
/// `detailed=True` it is the whole `NormalizedNumber`.
#[pyfunction]
#[pyo3(signature = (raws, default_region = "US".to_owned(), *, detailed = false),
    text_signature = "(raws, default_region='US', *, detailed=False)")]
pub(crate) fn normalize_numbers<'py>(
    py: Python<'py>,
    raws: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = arg::default_region)] default_region: String,
    #[pyo3(from_py_with = arg::detailed)] detailed: bool,
) -> PyResult<Bound<'py, PyList>> {
    let policy = NumberPolicy::from_codes("default_region", Some(&default_region), None).py()?;
    let not_str = |what: &str, obj: &Bound<'_, PyAny>| {
        let got = obj
            .get_type()
            .name()
            .map_or_else(|_| "?".into(), |n| n.to_string());
        PyTypeError::new_err(format!("normalize_numbers: raws{what}{got}"))
    };
    if raws.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "normalize_numbers: raws must be a sequence of str, not a str (use normalize_number)",
        ));
    }
    let items = raws
        .try_iter()
        .map_err(|_| not_str(" must be a sequence of str, not ", raws))?;
    // All inputs in one buffer (one copy each, no allocation per input).
    let (mut text, mut ends) = (String::new(), Vec::new());
    for item in items {
        let item = item?;
        let s = item
            .cast::<PyString>()
            .map_err(|_| not_str(": expected str items, got ", &item))?;
        text.push_str(&s.to_cow()?);
        ends.push(text.len());
    }
    let inputs = || {
        ends.iter()
            .scan(0, |at, &end| Some(&text[std::mem::replace(at, end)..end]))
    };
    if detailed {
        let out = py.detach(|| normalize_batch(inputs(), &policy));
        return PyList::new(py, out.into_iter().map(PyNormalizedNumber));
    }
    // The answers in one buffer, each `str` made from it.
    let values = py.detach(|| NormalizedValues::new(inputs(), &policy));
    PyList::new(py, values.iter().map(|v| v.map(|s| PyString::new(py, s))))
}
