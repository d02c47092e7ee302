//! Python bindings for pbx: the module `pbx`. Each function converts types and errors and
//! calls `pbx-core`; no logic lives here.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The field names of a CDR template: `"20"`, `"27"` or a comma list of 3CX field names.
///
/// Raises `ValueError` naming the unknown field or the problem.
#[pyfunction]
#[pyo3(signature = (template = "27"))]
fn template_fields(template: &str) -> PyResult<Vec<&'static str>> {
    let t: pbx_core::cdr::FieldTemplate = template
        .parse()
        .map_err(|e: pbx_core::Error| PyValueError::new_err(e.to_string()))?;
    Ok(t.fields().iter().map(|f| f.name()).collect())
}

/// The `pbx` Python module.
#[pymodule]
fn pbx(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(template_fields, m)?)?;
    Ok(())
}
