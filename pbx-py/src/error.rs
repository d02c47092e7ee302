//! The one error bridge: every `pbx_core::Error` becomes a `pbx.PbxError` subclass carrying the
//! Rust message unchanged and the error's data as attributes.
//!
//! | core error | Python class | attributes |
//! |---|---|---|
//! | `InvalidValue`, `FieldCount`, `TooManyFields`, `LineTooLong`, `EmptyLine`, `InvalidCall` | `ParseError` | `line`, `field`, `value` |
//! | `InvalidConfig`, `InvalidSetting`, `UnknownField`, `InvalidTemplate` | `ConfigError` | `issues` |
//! | anything newer | `PbxError` | |
//!
//! Every instance also has `kind`: the core variant's name in snake_case (`invalid_value`), and
//! `code`: the same stable code the Node binding's errors carry (`PBX_PARSE_ERROR`,
//! `PBX_INVALID_CALL`, `PBX_CONFIG_ERROR`, `PBX_INVALID_ARGUMENT`, `PBX_ERROR`). `issues` items
//! are `pbx.ConfigIssue` named tuples `(path, value, message)`.

use pbx_core::{Error, Location};
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

/// The Python exception for a core error.
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let message = e.to_string();
    let (err, kind, code) = match &e {
        Error::InvalidValue { .. } => (ParseError::new_err(message), "invalid_value", PARSE),
        Error::FieldCount { .. } => (ParseError::new_err(message), "field_count", PARSE),
        Error::TooManyFields { .. } => (ParseError::new_err(message), "too_many_fields", PARSE),
        Error::LineTooLong { .. } => (ParseError::new_err(message), "line_too_long", PARSE),
        Error::EmptyLine { .. } => (ParseError::new_err(message), "empty_line", PARSE),
        Error::InvalidCall { .. } => (
            ParseError::new_err(message),
            "invalid_call",
            "PBX_INVALID_CALL",
        ),
        Error::InvalidConfig { .. } => (
            ConfigError::new_err(message),
            "invalid_config",
            "PBX_CONFIG_ERROR",
        ),
        Error::InvalidSetting { .. } => (ConfigError::new_err(message), "invalid_setting", ARG),
        Error::UnknownField { .. } => (ConfigError::new_err(message), "unknown_field", ARG),
        Error::InvalidTemplate { .. } => (ConfigError::new_err(message), "invalid_template", ARG),
        _ => (PbxError::new_err(message), "other", "PBX_ERROR"),
    };
    if let Err(set) = attach(py, &err, kind, code, &e) {
        return set;
    }
    err
}

/// `code` of a `ParseError` about a line or value (as in the Node binding).
const PARSE: &str = "PBX_PARSE_ERROR";
/// `code` of a `ConfigError` about one argument or setting (as in the Node binding).
const ARG: &str = "PBX_INVALID_ARGUMENT";

/// `map_err` for core results inside a binding function.
pub(crate) trait CoreResult<T> {
    /// The result with a core error converted by [`to_py`].
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> CoreResult<T> for Result<T, Error> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}

fn attach(py: Python<'_>, err: &PyErr, kind: &str, code: &str, e: &Error) -> PyResult<()> {
    let obj = err.value(py);
    obj.setattr("kind", kind)?;
    obj.setattr("code", code)?;
    if err.is_instance_of::<ParseError>(py) {
        let line = match e.location() {
            Some(Location::Line(n)) => Some(*n),
            _ => None,
        };
        obj.setattr("line", line)?;
        obj.setattr("field", e.field())?;
        obj.setattr("value", e.value())?;
    } else if err.is_instance_of::<ConfigError>(py) {
        let issues: Vec<(String, Option<String>, String)> = match e {
            Error::InvalidConfig { issues } => issues
                .iter()
                .map(|i| (i.path.clone(), i.value.clone(), i.message.clone()))
                .collect(),
            Error::InvalidSetting {
                setting,
                value,
                reason,
            } => vec![(setting.clone(), Some(value.clone()), reason.clone())],
            Error::UnknownField { name } => {
                vec![("template".to_owned(), Some(name.clone()), e.to_string())]
            }
            _ => vec![("template".to_owned(), None, e.to_string())],
        };
        let issue = py.import("pbx")?.getattr("ConfigIssue")?;
        let issues = issues
            .into_iter()
            .map(|i| issue.call1(i))
            .collect::<PyResult<Vec<_>>>()?;
        obj.setattr("issues", issues)?;
    }
    Ok(())
}
