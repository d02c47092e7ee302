//! The one error bridge: every `pbx_core::Error` becomes a `pbx.PbxError` subclass carrying the
//! Rust message unchanged and the error's data as attributes.
//!
//! | core error category | Python class | attributes |
//! |---|---|---|
//! | `Parse` (`InvalidValue`, `InvalidColumn`, `FieldCount`, `TooManyFields`, `LineTooLong`, `EmptyLine`), `InvalidCall` | `ParseError` | `line`, `field`, `value` |
//! | `Config` (`InvalidConfig`), `InvalidArgument` (`InvalidSetting`, `UnknownField`, `InvalidTemplate`) | `ConfigError` | `issues` |
//!
//! Every instance also has `kind` ([`pbx_core::ErrorKind::code`]: `invalid_value`, …) and
//! `code` ([`pbx_core::ErrorCategory::code`]: `PBX_PARSE_ERROR`, `PBX_INVALID_CALL`,
//! `PBX_CONFIG_ERROR`, `PBX_INVALID_ARGUMENT`), the codes the Node binding's errors carry.
//! `issues` items are `pbx.ConfigIssue` named tuples `(path, value, message)`
//! ([`pbx_core::Error::issues`]).

use pbx_core::{Error, ErrorCategory, Location};
use pyo3::prelude::*;
use pyo3::{PyErr, Python, create_exception};

create_exception!(
    pbx,
    PbxError,
    pyo3::exceptions::PyException,
    "Base class of every error pbx raises. `kind` names the error (e.g. `invalid_value`); `code` is the stable code the Node binding uses too (e.g. `PBX_PARSE_ERROR`)."
);
create_exception!(
    pbx,
    ParseError,
    PbxError,
    "A CDR record cannot be read. `line` (int or None), `field` (str or None) and `value` (str or None) say where and what."
);
create_exception!(
    pbx,
    ConfigError,
    PbxError,
    "A configuration or setting is unusable. `issues` lists every problem as a `ConfigIssue(path, value or None, message)`."
);

/// The Python exception for a core error: its class by the error's category, `kind` and
/// `code` from the core vocabulary ([`pbx_core::ErrorKind::code`],
/// [`pbx_core::ErrorCategory::code`]).
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let kind = e.kind();
    raise(py, kind.category(), kind.code(), e.to_string(), Some(&e))
}

/// The exception of `category` ([`exception`]) with `kind`, `code` and the data of the core
/// error `e` (none without one: a `ConfigError` then has no `issues`).
pub(crate) fn raise(
    py: Python<'_>,
    category: ErrorCategory,
    kind: &str,
    message: String,
    e: Option<&Error>,
) -> PyErr {
    let err = exception(category, message);
    match attach(py, &err, kind, category.code(), e) {
        Ok(()) => err,
        Err(set) => set,
    }
}

/// The Python class of an error category: `ParseError`, `ConfigError`, or `PbxError` for a
/// category this binding does not know (tests/test_vocabulary.py checks there is none).
pub(crate) fn exception(category: ErrorCategory, message: String) -> PyErr {
    match category {
        ErrorCategory::Parse | ErrorCategory::InvalidCall => ParseError::new_err(message),
        ErrorCategory::Config | ErrorCategory::InvalidArgument => ConfigError::new_err(message),
        _ => PbxError::new_err(message),
    }
}

/// `map_err` for core results inside a binding function (which holds the GIL).
pub(crate) trait CoreResult<T> {
    /// The result with a core error converted by [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> CoreResult<T> for Result<T, Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| Python::attach(|py| to_py(py, e)))
    }
}

/// A core error as the exception object itself, for results that hold errors in place.
pub(crate) fn error_value(py: Python<'_>, e: Error) -> Bound<'_, PyAny> {
    to_py(py, e).into_value(py).into_bound(py).into_any()
}

fn attach(py: Python<'_>, err: &PyErr, kind: &str, code: &str, e: Option<&Error>) -> PyResult<()> {
    let obj = err.value(py);
    obj.setattr("kind", kind)?;
    obj.setattr("code", code)?;
    if err.is_instance_of::<ParseError>(py) {
        obj.setattr("line", e.and_then(Error::location).and_then(Location::line))?;
        obj.setattr("field", e.and_then(Error::field))?;
        obj.setattr("value", e.and_then(Error::value))?;
    } else if err.is_instance_of::<ConfigError>(py) {
        let issue = py.import("pbx")?.getattr("ConfigIssue")?;
        let issues = e.map(Error::issues).unwrap_or_default().into_iter();
        let issues = issues
            .map(|i| issue.call1((i.path, i.value, i.message)))
            .collect::<PyResult<Vec<_>>>()?;
        obj.setattr("issues", issues)?;
    }
    Ok(())
}
