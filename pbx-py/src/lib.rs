//! Python bindings for pbx: the module `pbx`. Each function converts types and errors and
//! calls `pbx-core`; no logic lives here. One file per core module; errors are converted in
//! one place (the `error` module).

mod arg;
mod call;
mod cdr;
mod config;
mod convert;
mod direction;
mod error;
mod extensions;
mod groups;
mod hours;
mod phone;
mod sideloader;

use pyo3::prelude::*;

/// The field names of a CDR template: `"20"`, `"27"` or a comma list of 3CX field names.
///
/// Raises `ConfigError` naming the unknown field or the problem.
#[pyfunction]
#[pyo3(signature = (template = "27".to_owned()), text_signature = "(template='27')")]
fn template_fields(
    #[pyo3(from_py_with = crate::arg::template)] template: String,
) -> PyResult<Vec<&'static str>> {
    use error::CoreResult;
    let template: pbx_core::cdr::FieldTemplate = template.parse().py()?;
    Ok(template.names())
}

/// The core vocabulary: every code pbx-core defines for the values this module publishes as
/// strings (`{"skip_reason": ["INTERNAL", …], "direction_rule": […], …}`), so a test can check
/// that each one is accepted, documented in `pbx.pyi` and mapped (tests/test_vocabulary.py).
#[pyfunction]
fn _vocabulary() -> std::collections::BTreeMap<&'static str, Vec<&'static str>> {
    pbx_core::vocabularies::all_codes().into_iter().collect()
}

/// The exception class this module raises for a core error category code
/// (`PBX_PARSE_ERROR` → `ParseError`); `ConfigError` for an unknown code.
#[pyfunction]
fn _error_class<'py>(py: Python<'py>, code: &str) -> PyResult<Bound<'py, pyo3::types::PyType>> {
    use error::CoreResult;
    let category: pbx_core::ErrorCategory = code.parse().py()?;
    Ok(error::exception(category, String::new()).get_type(py))
}

/// The `pbx` Python module.
#[pymodule]
fn pbx(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PbxError", py.get_type::<error::PbxError>())?;
    m.add("ParseError", py.get_type::<error::ParseError>())?;
    m.add("ConfigError", py.get_type::<error::ConfigError>())?;
    // `ConfigError.issues` items: a named tuple, so `issue.path` works as in Node and
    // `path, value, message = issue` as before.
    let issue = py
        .import("collections")?
        .getattr("namedtuple")?
        .call1(("ConfigIssue", ("path", "value", "message")))?;
    issue.setattr("__module__", "pbx")?;
    issue.setattr(
        "__doc__",
        "One problem of a configuration: `path` (e.g. `business_hours.monday[1]`), `value` (the value found, or None) and `message`.",
    )?;
    m.add("ConfigIssue", issue)?;
    m.add_class::<cdr::PyCdr>()?;
    m.add_class::<cdr::PyCdrParser>()?;
    m.add_class::<direction::PyClassification>()?;
    m.add_class::<call::PyCallMapper>()?;
    // The name before the bindings were aligned (Node calls it `CallMapper` too).
    m.add("MappingConfig", py.get_type::<call::PyCallMapper>())?;
    m.add_class::<call::PySkip>()?;
    m.add_class::<extensions::PyExtensionMap>()?;
    m.add_class::<extensions::PyUser>()?;
    m.add_class::<config::PyConfig>()?;
    m.add_class::<hours::PyBusinessHours>()?;
    m.add_class::<groups::PyGroupMonitor>()?;
    m.add_class::<groups::PyMonitorState>()?;
    m.add_class::<phone::PyNormalizedNumber>()?;
    m.add_class::<sideloader::PySideloader>()?;
    m.add_function(wrap_pyfunction!(template_fields, m)?)?;
    m.add_function(wrap_pyfunction!(phone::normalize_number, m)?)?;
    m.add_function(wrap_pyfunction!(phone::normalize_numbers, m)?)?;
    m.add_function(wrap_pyfunction!(call::classify, m)?)?;
    m.add_function(wrap_pyfunction!(call::to_call_request, m)?)?;
    m.add_function(wrap_pyfunction!(call::map_lines, m)?)?;
    m.add_function(wrap_pyfunction!(call::map_lines_json, m)?)?;
    m.add_function(wrap_pyfunction!(groups::evaluate_groups, m)?)?;
    m.add_function(wrap_pyfunction!(config::load_config, m)?)?;
    // Test hooks: attributes of the native module `pbx.pbx`, not in `__all__` (so the package
    // `pbx`, `from pbx import *` and the stubs leave them out).
    m.setattr("_vocabulary", wrap_pyfunction!(_vocabulary, m)?)?;
    m.setattr("_error_class", wrap_pyfunction!(_error_class, m)?)?;
    Ok(())
}
