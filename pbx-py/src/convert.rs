//! Type conversions shared by the binding modules: JSON values and aware datetimes.

use chrono::{DateTime, Utc};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A mapping argument (a dict or any `Mapping`), or a `TypeError` naming it.
pub(crate) fn mapping_arg<'a, 'py>(
    name: &str,
    obj: &'a Bound<'py, PyAny>,
    expected: &str,
) -> PyResult<&'a Bound<'py, PyAny>> {
    if obj.cast::<PyMapping>().is_ok() || obj.cast::<PyDict>().is_ok() {
        return Ok(obj);
    }
    let got = obj.get_type().name()?;
    Err(PyTypeError::new_err(format!(
        "argument '{name}' must be {expected}, not {got}"
    )))
}

/// An aware `datetime` → UTC. A naive one (no `tzinfo`, or `utcoffset()` is None) is a
/// `ValueError`: pbx never guesses a timezone.
pub(crate) fn utc(dt: &Bound<'_, PyAny>) -> PyResult<DateTime<Utc>> {
    let py = dt.py();
    let datetime = py.import("datetime")?;
    if !dt.is_instance(&datetime.getattr("datetime")?)? {
        return Err(PyTypeError::new_err(format!(
            "expected a datetime.datetime, got {}",
            dt.get_type().name()?
        )));
    }
    if dt.call_method0("utcoffset")?.is_none() {
        return Err(PyValueError::new_err(format!(
            "naive datetime {}: pass an aware datetime (with tzinfo), e.g. \
             datetime.now(timezone.utc) or dt.replace(tzinfo=ZoneInfo(\"America/Anchorage\"))",
            dt.str()?
        )));
    }
    let utc = datetime.getattr("timezone")?.getattr("utc")?;
    dt.call_method1("astimezone", (utc,))?.extract()
}

/// A serializable core value → the Python value `json.loads` gives for its JSON (dict keys in
/// the order Rust serializes them).
pub(crate) fn to_py_json<'py, T: Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(v)
        .map_err(|e| PyRuntimeError::new_err(format!("cannot serialize: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// `repr` of an optional string, Python style: `'x'` or `None`.
pub(crate) fn repr_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_owned(), repr_str)
}

/// `repr` of a string, Python style.
pub(crate) fn repr_str(s: &str) -> String {
    format!("'{}'", s.escape_debug())
}

/// A Python value made of dicts (string keys), lists, tuples, strings, numbers, booleans and
/// None → JSON. Anything else is a `TypeError` naming its type.
pub(crate) fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else if obj.is_instance_of::<PyInt>() {
        match obj.extract::<i64>() {
            Ok(i) => Ok(Value::from(i)),
            Err(_) => Ok(Value::from(obj.extract::<u64>()?)),
        }
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        Ok(serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .unwrap_or(Value::Null))
    } else if let Ok(s) = obj.cast::<PyString>() {
        Ok(Value::String(s.to_cow()?.into_owned()))
    } else if obj.is_instance_of::<PyDict>() || obj.cast::<PyMapping>().is_ok() {
        let mut map = serde_json::Map::new();
        for item in obj.call_method0("items")?.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            let key: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!("mapping keys must be str, not {}", k.get_type()))
            })?;
            map.insert(key, py_to_json(&v)?);
        }
        Ok(Value::Object(map))
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        Ok(Value::Array(
            obj.try_iter()?
                .map(|item| py_to_json(&item?))
                .collect::<PyResult<_>>()?,
        ))
    } else {
        Err(PyTypeError::new_err(format!(
            "cannot convert {} to a JSON value",
            obj.get_type()
        )))
    }
}

/// JSON text or a JSON-like Python value (dict, list, …) as the core type `T`: a `ValueError`
/// `not valid JSON: …` for text that is not JSON, `{what}: …` for another shape.
pub(crate) fn json_as<T: DeserializeOwned>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let value = match obj.cast::<PyString>() {
        Ok(s) => serde_json::from_str(&s.to_cow()?)
            .map_err(|e| PyValueError::new_err(format!("not valid JSON: {e}")))?,
        Err(_) => py_to_json(obj)?,
    };
    serde_json::from_value(value).map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
}

/// A `dict` of `key => value` pairs in this order (a view no core type serializes).
macro_rules! dict {
    ($py:expr; $($key:literal => $value:expr),* $(,)?) => {{
        let d = pyo3::types::PyDict::new($py);
        (|| -> PyResult<_> { $(d.set_item($key, $value)?;)* Ok(d) })()
    }};
}
pub(crate) use dict;

/// The `#[pymethods]` of a class: one getter per `name -> Type = value, "doc";` (`value` an
/// expression of `$v`, the object; their names in `GETTERS`), then the methods that follow
/// (rustfmt leaves a `methods! { … }` body alone: keep it formatted as rustfmt would).
macro_rules! methods {
    ($ty:ty, |$v:ident| { $($name:ident -> $ret:ty = $get:expr, $doc:literal;)* } $($rest:tt)*) => {
        #[pymethods]
        #[allow(clippy::wrong_self_convention)] // `Cdr.from_no` and the like are 3CX's names
        impl $ty {
            #[allow(dead_code)]
            const GETTERS: &[&str] = &[$(stringify!($name)),*];
            $(
                #[doc = $doc]
                #[getter]
                fn $name(&self) -> $ret {
                    let $v = self;
                    $get
                }
            )*
            $($rest)*
        }
    };
}
pub(crate) use methods;

/// A mapping of str → str (a dict, `os.environ`, any `Mapping`) → a `HashMap`.
pub(crate) fn str_map(
    obj: &Bound<'_, PyAny>,
) -> PyResult<std::collections::HashMap<String, String>> {
    obj.call_method0("items")?
        .try_iter()?
        .map(|item| item?.extract::<(String, String)>())
        .collect()
}
