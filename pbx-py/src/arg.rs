//! Arguments whose `TypeError` names the parameter in its message, on every Python version.
//!
//! pyo3 names a parameter only in an exception note (`while processing 'raw'`), and notes
//! exist from Python 3.11: on 3.9 and 3.10 the message alone (`'int' object cannot be
//! converted to 'PyString'`) does not say which argument was wrong. A parameter declared
//! `#[pyo3(from_py_with = arg::NAME)]` is extracted by the function of its name below,
//! whose `TypeError` reads `argument 'NAME': …` (as CPython's own argument errors do).

use chrono::{DateTime, Utc};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// `obj` as `T`; a `TypeError` names `name`.
pub(crate) fn named<'a, 'py, T>(name: &str, obj: &'a Bound<'py, PyAny>) -> PyResult<T>
where
    T: FromPyObject<'a, 'py>,
{
    obj.extract::<T>()
        .map_err(|e| name_in_message(obj.py(), name, e.into()))
}

/// A `TypeError` whose message does not start with `argument '{name}'` gets that prefix (its
/// cause is kept); other errors are returned unchanged.
pub(crate) fn name_in_message(py: Python<'_>, name: &str, err: PyErr) -> PyErr {
    if !err.is_instance_of::<PyTypeError>(py) {
        return err;
    }
    let prefix = format!("argument '{name}'");
    let message = err
        .value(py)
        .str()
        .map(|s| s.to_string())
        .unwrap_or_default();
    if message.starts_with(&prefix) {
        return err;
    }
    let named = PyTypeError::new_err(format!("{prefix}: {message}"));
    named.set_cause(py, Some(err));
    named
}

/// One extraction function per parameter name.
macro_rules! parameters {
    ($($name:ident),+ $(,)?) => {
        $(
            #[doc = concat!("The argument `", stringify!($name), "`; see the module doc.")]
            pub(crate) fn $name<'a, 'py, T>(obj: &'a Bound<'py, PyAny>) -> PyResult<T>
            where
                T: FromPyObject<'a, 'py>,
            {
                named(stringify!($name), obj)
            }
        )+
    };
}

parameters! {
    call_id_prefix, cdr, config, debounce, default_email, default_region, detailed, exclude,
    extension, group_hours, group_id, hours, include, internal_calls, key, line, max_line_len,
    monitor, number_format, parser, path, raw, service_dns, state, template, text, timezone,
    trunk_dns, alert_id, interval, email, name, from_, to,
}

/// The aware datetime argument `at`, in UTC ([`crate::convert::utc`]).
pub(crate) fn at(obj: &Bound<'_, PyAny>) -> PyResult<DateTime<Utc>> {
    crate::convert::utc(obj).map_err(|e| name_in_message(obj.py(), "at", e))
}

/// The aware datetime argument `now`, in UTC ([`crate::convert::utc`]).
pub(crate) fn now(obj: &Bound<'_, PyAny>) -> PyResult<DateTime<Utc>> {
    crate::convert::utc(obj).map_err(|e| name_in_message(obj.py(), "now", e))
}
