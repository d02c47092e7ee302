//! `pbx.normalize_number`, `pbx.normalize_numbers` and `pbx.NormalizedNumber` over
//! `pbx_core::phone`.

use pbx_core::phone::{Normalized, NumberPolicy, Region, normalize, normalize_ref};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use crate::convert::{repr_opt, repr_str};
use crate::error::CoreResult;

/// A normalized phone number. `kind` is `"e164"`, `"internal"`, `"anonymous"` or
/// `"invalid"`; `value` is the E.164 number or the extension (None for anonymous and invalid);
/// `extension` is an extension written after an external number (`ext. 12`); `raw` is the
/// input of an invalid number and `reason` why it is invalid (`"too_short"`, `"not_a_number"`,
/// …; None otherwise). The same fields as the Rust type's JSON form.
#[pyclass(name = "NormalizedNumber", module = "pbx", frozen)]
pub(crate) struct PyNormalizedNumber {
    /// `"e164"`, `"internal"`, `"anonymous"` or `"invalid"` (an interned `str` in Python).
    kind: &'static str,
    /// The E.164 number or the extension; None for anonymous and invalid.
    #[pyo3(get)]
    value: Option<String>,
    /// An extension written after an external number (digits), or None.
    #[pyo3(get)]
    extension: Option<String>,
    /// The input of an invalid number, or None.
    #[pyo3(get)]
    raw: Option<String>,
    /// Why a number is invalid (`"too_short"`, `"not_a_number"`, …), or None (interned).
    reason: Option<&'static str>,
}

/// The same Python `str` object for every use of one of the few `kind` and `reason` codes.
fn interned<'py>(py: Python<'py>, code: &'static str) -> Bound<'py, PyString> {
    PyString::intern(py, code)
}

#[pymethods]
impl PyNormalizedNumber {
    /// `"e164"`, `"internal"`, `"anonymous"` or `"invalid"`.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        interned(py, self.kind)
    }

    /// Why a number is invalid, or None.
    #[getter]
    fn reason<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.reason.map(|r| interned(py, r))
    }

    fn __repr__(&self) -> String {
        format!(
            "NormalizedNumber(kind={}, value={}, extension={}, raw={}, reason={})",
            repr_str(self.kind),
            repr_opt(self.value.as_deref()),
            repr_opt(self.extension.as_deref()),
            repr_opt(self.raw.as_deref()),
            repr_opt(self.reason),
        )
    }

    fn __eq__(&self, other: &Self) -> bool {
        (
            &self.kind,
            &self.value,
            &self.extension,
            &self.raw,
            &self.reason,
        ) == (
            &other.kind,
            &other.value,
            &other.extension,
            &other.raw,
            &other.reason,
        )
    }
}

/// The core type's fields (the names of its serde form: `kind`, `value`, `extension`, `raw`,
/// `reason`), read without going through JSON: batches of a million numbers cross here.
fn wrap(n: Normalized) -> PyNormalizedNumber {
    let mut out = PyNormalizedNumber {
        kind: n.kind(),
        value: n.value().map(str::to_owned),
        extension: None,
        raw: None,
        reason: None,
    };
    match n {
        Normalized::E164 { extension, .. } => out.extension = extension,
        Normalized::Invalid { raw, reason } => {
            out.raw = Some(raw);
            out.reason = Some(reason.code());
        }
        _ => {}
    }
    out
}

fn policy(py: Python<'_>, default_region: &str) -> PyResult<NumberPolicy> {
    Ok(NumberPolicy::new(
        Region::parse("default_region", default_region).py(py)?,
    ))
}

/// Normalizes one number to E.164 with a default region (ISO 3166 alpha-2, e.g. `"US"`):
/// `Ext.101` and short numbers stay internal extensions, withheld callers are anonymous.
/// Raises `ConfigError` for an unknown region.
#[pyfunction]
#[pyo3(signature = (raw, default_region = "US".to_owned()),
    text_signature = "(raw, default_region='US')")]
pub(crate) fn normalize_number(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::arg::raw)] raw: String,
    #[pyo3(from_py_with = crate::arg::default_region)] default_region: String,
) -> PyResult<PyNormalizedNumber> {
    let policy = policy(py, &default_region)?;
    Ok(wrap(normalize(&raw, &policy)))
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
    #[pyo3(from_py_with = crate::arg::default_region)] default_region: String,
    #[pyo3(from_py_with = crate::arg::detailed)] detailed: bool,
) -> PyResult<Bound<'py, PyList>> {
    let policy = policy(py, &default_region)?;
    if raws.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "normalize_numbers: raws must be a sequence of str, not a str (use normalize_number)",
        ));
    }
    let items = raws.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "normalize_numbers: raws must be a sequence of str, not {}",
            raws.get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string())
        ))
    })?;
    // All inputs in one buffer (one copy each, no object per input).
    let mut text = String::new();
    let mut ends = Vec::new();
    for item in items {
        let item = item?;
        let s = item.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "normalize_numbers: raws: expected str items, got {}",
                item.get_type()
                    .name()
                    .map_or_else(|_| "?".into(), |n| n.to_string())
            ))
        })?;
        text.push_str(&s.to_cow()?);
        ends.push(text.len());
    }
    let inputs = || {
        ends.iter().scan(0, |start, &end| {
            Some(&text[std::mem::replace(start, end)..end])
        })
    };
    if detailed {
        let out = py.detach(|| {
            inputs()
                .map(|raw| normalize(raw, &policy))
                .collect::<Vec<_>>()
        });
        return PyList::new(py, out.into_iter().map(wrap));
    }
    // The answers in one buffer too: `None` or the end of the value in `values`.
    let (values, spans) = py.detach(|| {
        let mut values = String::with_capacity(text.len());
        let spans: Vec<Option<(usize, usize)>> = inputs()
            .map(|raw| {
                normalize_ref(raw, &policy, None, |n| {
                    n.value().map(|v| {
                        let start = values.len();
                        values.push_str(v);
                        (start, values.len())
                    })
                })
            })
            .collect();
        (values, spans)
    });
    PyList::new(
        py,
        spans
            .into_iter()
            .map(|span| span.map(|(a, b)| PyString::new(py, &values[a..b]))),
    )
}
