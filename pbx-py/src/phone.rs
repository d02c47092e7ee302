//! `pbx.normalize_number`, `pbx.normalize_numbers` and `pbx.NormalizedNumber` over
//! `pbx_core::phone`.

use pbx_core::phone::{Normalized, NumberPolicy, Region, normalize, normalize_batch};
use pyo3::prelude::*;

use crate::convert::{repr_opt, repr_str};
use crate::error::CoreResult;

/// A normalized phone number. `kind` is `"e164"`, `"internal"`, `"anonymous"` or
/// `"invalid"`; `value` is the E.164 number or the extension (None for anonymous and invalid);
/// `extension` is an extension written after an external number (`ext. 12`); `raw` is the
/// input of an invalid number and `reason` why it is invalid (`"too_short"`, `"not_a_number"`,
/// …; None otherwise). The same fields as the Rust type's JSON form.
#[pyclass(name = "NormalizedNumber", module = "pbx", frozen, get_all)]
pub(crate) struct PyNormalizedNumber {
    /// `"e164"`, `"internal"`, `"anonymous"` or `"invalid"`.
    kind: String,
    /// The E.164 number or the extension; None for anonymous and invalid.
    value: Option<String>,
    /// An extension written after an external number (digits), or None.
    extension: Option<String>,
    /// The input of an invalid number, or None.
    raw: Option<String>,
    /// Why a number is invalid (`"too_short"`, `"not_a_number"`, …), or None.
    reason: Option<String>,
}

#[pymethods]
impl PyNormalizedNumber {
    fn __repr__(&self) -> String {
        format!(
            "NormalizedNumber(kind={}, value={}, extension={}, raw={}, reason={})",
            repr_str(&self.kind),
            repr_opt(self.value.as_deref()),
            repr_opt(self.extension.as_deref()),
            repr_opt(self.raw.as_deref()),
            repr_opt(self.reason.as_deref()),
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
        kind: n.kind().to_owned(),
        value: n.value().map(str::to_owned),
        extension: None,
        raw: None,
        reason: None,
    };
    match n {
        Normalized::E164 { extension, .. } => out.extension = extension,
        Normalized::Invalid { raw, reason } => {
            out.raw = Some(raw);
            out.reason = Some(reason.code().to_owned());
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
#[pyo3(signature = (raw, default_region = "US"))]
pub(crate) fn normalize_number(
    py: Python<'_>,
    raw: &str,
    default_region: &str,
) -> PyResult<PyNormalizedNumber> {
    let policy = policy(py, default_region)?;
    Ok(wrap(normalize(raw, &policy)))
}

/// Normalizes many numbers in one call, without holding the GIL while working. Element `i`
/// of the result is `normalize_number(raws[i], default_region)`.
#[pyfunction]
#[pyo3(signature = (raws, default_region = "US"))]
pub(crate) fn normalize_numbers(
    py: Python<'_>,
    raws: Vec<String>,
    default_region: &str,
) -> PyResult<Vec<PyNormalizedNumber>> {
    let policy = policy(py, default_region)?;
    let out = py.detach(|| normalize_batch(&raws, &policy));
    Ok(out.into_iter().map(wrap).collect())
}
