//! `pbx.CallMapper` (formerly `MappingConfig`), `pbx.classify`, `pbx.Skip`,
//! `pbx.to_call_request` and `pbx.map_lines` over `pbx_core::call`. Names and semantics follow
//! the Node binding (`CallMapper`, `classify`, `toCallRequest`, `mapLines`).

use pbx_core::Location;
use pbx_core::call::{CallMapper, CallRequest, Mapped, MappingCodes, SkipReason};
use pbx_core::cdr::{CdrParser, Lines};
use pbx_core::cdr_json::LineWriter;
use pbx_core::direction::DirectionPolicy;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::arg;
use crate::cdr::{PyCdr, PyCdrParser};
use crate::config::PyConfig;
use crate::convert::{mapping_arg, methods, repr_opt, repr_str, to_py_json};
use crate::direction::PyClassification;
use crate::error::{CoreResult, error_value};
use crate::extensions::PyExtensionMap;

/// Maps CDRs to call requests without a configuration file (`MappingConfig`: its former
/// name; `pbx.pyi` documents the arguments).
#[pyclass(name = "CallMapper", module = "pbx", frozen)]
pub(crate) struct PyCallMapper(CallMapper);

#[pymethods]
impl PyCallMapper {
    #[new]
    #[pyo3(signature = (timezone = "UTC".to_owned(), extensions = None,
        internal_calls = "skip".to_owned(), default_region = "US".to_owned(),
        trunk_dns = Vec::new(), service_dns = Vec::new(), number_format = "e164".to_owned(),
        call_id_prefix = "3cx".to_owned()),
        text_signature = "(timezone='UTC', extensions=None, internal_calls='skip', default_region='US', trunk_dns=..., service_dns=..., number_format='e164', call_id_prefix='3cx')")]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments
    fn new(
        #[pyo3(from_py_with = arg::timezone)] timezone: String,
        extensions: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = arg::internal_calls)] internal_calls: String,
        #[pyo3(from_py_with = arg::default_region)] default_region: String,
        #[pyo3(from_py_with = arg::trunk_dns)] trunk_dns: Vec<String>,
        #[pyo3(from_py_with = arg::service_dns)] service_dns: Vec<String>,
        #[pyo3(from_py_with = arg::number_format)] number_format: String,
        #[pyo3(from_py_with = arg::call_id_prefix)] call_id_prefix: String,
    ) -> PyResult<Self> {
        let options = MappingCodes {
            timezone: Some(&timezone),
            default_region: Some(&default_region),
            internal_calls: Some(&internal_calls),
            number_format: Some(&number_format),
            call_id_prefix: Some(&call_id_prefix),
        };
        let options = options.options("default_region").py()?;
        let direction = DirectionPolicy {
            trunk_dns,
            service_dns,
            ..DirectionPolicy::default()
        };
        let expected = "an ExtensionMap or a mapping of extension → email or {email, name}";
        let extensions = match extensions.map(|e| (e, e.cast::<PyExtensionMap>())) {
            None => Default::default(),
            Some((_, Ok(map))) => map.borrow().0.clone(),
            Some((e, Err(_))) => {
                PyExtensionMap::new(Some(mapping_arg("extensions", e, expected)?), None)?.0
            }
        };
        Ok(PyCallMapper(CallMapper::new(
            options, direction, extensions,
        )))
    }

    fn __repr__(&self) -> String {
        let o = self.0.options();
        format!(
            "CallMapper(timezone={}, internal_calls={}, default_region={}, number_format={}, extensions=<{} users>)",
            repr_str(o.timezone.name()),
            repr_str(o.internal_calls.code()),
            repr_str(o.default_region.as_str()),
            repr_str(o.number_format.code()),
            self.0.extensions().len()
        )
    }

    /// The mapper a loaded `Config` describes (timezone, extension map, direction policy,
    /// internal calls, default region).
    #[staticmethod]
    fn from_config(#[pyo3(from_py_with = arg::config)] config: PyRef<'_, PyConfig>) -> Self {
        PyCallMapper(config.mapper.clone())
    }

    /// `classify(cdr, self)`.
    fn classify(
        slf: PyRef<'_, Self>,
        #[pyo3(from_py_with = arg::cdr)] cdr: PyRef<'_, PyCdr>,
    ) -> PyClassification {
        classify(cdr, MapperArg::Mapping(slf))
    }

    /// `to_call_request(cdr, self)`.
    fn map<'py>(
        slf: PyRef<'py, Self>,
        #[pyo3(from_py_with = arg::cdr)] cdr: PyRef<'py, PyCdr>,
    ) -> PyResult<Bound<'py, PyAny>> {
        to_call_request(cdr, MapperArg::Mapping(slf))
    }

    /// The decision trail of one record (`pbx_core::explain`), with `text`.
    #[pyo3(signature = (record, parser = None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
        parser: Option<PyRef<'py, PyCdrParser>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let explanation = if let Ok(cdr) = record.cast::<PyCdr>() {
            let e = self.0.explain(&cdr.get().inner);
            match cdr.get().line {
                Some(n) => e.at(Location::Line(n).to_string()),
                None => e,
            }
        } else {
            let text: String = record
                .extract()
                .map_err(|_| PyTypeError::new_err("record: expected a CDR line (str) or a Cdr"))?;
            let default = CdrParser::default();
            let parser = parser.as_deref().map_or(&default, |p| &p.0);
            self.0.explain_line(parser, 1, text.as_bytes())
        };
        explanation_dict(py, &explanation, explanation.to_string())
    }

    /// `map_lines_json(parser, lines, self)`.
    #[pyo3(name = "map_lines_json")]
    fn map_lines_json_method<'py>(
        slf: PyRef<'py, Self>,
        #[pyo3(from_py_with = arg::parser)] parser: PyRef<'py, PyCdrParser>,
        lines: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        map_lines_json(parser, lines, MapperArg::Mapping(slf))
    }

    /// `map_lines(parser, lines, self)`.
    #[pyo3(name = "map_lines")]
    fn map_lines_method<'py>(
        slf: PyRef<'py, Self>,
        #[pyo3(from_py_with = arg::parser)] parser: PyRef<'py, PyCdrParser>,
        lines: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        map_lines(parser, lines, MapperArg::Mapping(slf))
    }
}

/// Classifies a call's direction with the settings of `config` (a `Config` or
/// `CallMapper`): type fields first, then configured trunk DNs, then number patterns.
#[pyfunction]
pub(crate) fn classify(
    #[pyo3(from_py_with = arg::cdr)] cdr: PyRef<'_, PyCdr>,
    #[pyo3(from_py_with = arg::config)] config: MapperArg<'_>,
) -> PyClassification {
    PyClassification(config.mapper().classify(&cdr.inner))
}

/// The settings a mapping function takes: a loaded `Config` or a `CallMapper`.
#[derive(FromPyObject)]
pub(crate) enum MapperArg<'py> {
    Config(PyRef<'py, PyConfig>),
    Mapping(PyRef<'py, PyCallMapper>),
}

impl MapperArg<'_> {
    pub(crate) fn mapper(&self) -> &CallMapper {
        match self {
            MapperArg::Config(c) => &c.mapper,
            MapperArg::Mapping(m) => &m.0,
        }
    }
}

/// A call not sent to the API, and why.
#[pyclass(name = "Skip", module = "pbx", eq, frozen)]
#[derive(PartialEq)]
pub(crate) struct PySkip(SkipReason);

methods! { PySkip, |s| {
    reason -> &str = s.0.code(), "The stable code (`SkipReason::code`: `\"INTERNAL\"`, …).";
    message -> String = s.0.to_string(),
        "Why the call is not sent, in words (a `MISSED_UNROUTED` one names the DN).";
    extension -> Option<&str> = s.0.extension(),
        "The extension without a user email (`NO_OWNER_EMAIL`), else None.";
}
    fn __repr__(&self) -> String {
        format!(
            "Skip(reason={}, message={}, extension={})",
            repr_str(self.reason()),
            repr_str(&self.message()),
            repr_opt(self.extension())
        )
    }
}

/// A mapping outcome as Python gives it: the call request dict (`call`) or a `Skip`.
fn outcome<'py>(
    py: Python<'py>,
    mapped: Mapped,
    call: impl FnOnce(CallRequest) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    match mapped {
        Mapped::Call(c) => call(c),
        Mapped::Skipped(r) => Ok(Bound::new(py, PySkip(r))?.into_any()),
        // `Mapped` is `#[non_exhaustive]`.
        _ => Err(PyRuntimeError::new_err(
            "pbx-core returned a mapping outcome this version of pbx does not know",
        )),
    }
}

/// Maps one CDR to the call API's `PbxCallRequest` dict, or a `Skip`.
#[pyfunction]
pub(crate) fn to_call_request<'py>(
    #[pyo3(from_py_with = arg::cdr)] cdr: PyRef<'py, PyCdr>,
    #[pyo3(from_py_with = arg::config)] config: MapperArg<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let mapped = config.mapper().map_at(&cdr.inner, cdr.line);
    outcome(cdr.py(), mapped.py()?, |c| to_py_json(cdr.py(), &c))
}

/// The fast path: parses and maps many lines in one call, without the GIL.
#[pyfunction]
pub(crate) fn map_lines<'py>(
    #[pyo3(from_py_with = arg::parser)] parser: PyRef<'py, PyCdrParser>,
    lines: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = arg::config)] config: MapperArg<'py>,
) -> PyResult<Bound<'py, PyList>> {
    let (py, mapper) = (lines.py(), config.mapper());
    let results = parser.run(py, lines, |n, cdr| mapper.map_at(&cdr, Some(n)))?;
    // One JSON document for all the calls, decoded at once.
    let calls: Vec<&CallRequest> = results
        .iter()
        .filter_map(|(_, r)| match r {
            Ok(Ok(Mapped::Call(c))) => Some(c),
            _ => None,
        })
        .collect();
    let mut decoded = to_py_json(py, &calls)?.try_iter()?;
    let mut next_call = |_: CallRequest| {
        decoded
            .next()
            .unwrap_or_else(|| Err(PyRuntimeError::new_err("fewer decoded calls than calls")))
    };
    let out = PyList::empty(py);
    for (line, r) in results {
        let value = match r.and_then(|m| m) {
            Ok(m) => outcome(py, m, &mut next_call)?,
            Err(e) => error_value(py, e),
        };
        out.append((line, value))?;
    }
    Ok(out)
}

/// The bulk form of `map_lines`: one JSON array as UTF-8 bytes.
#[pyfunction]
pub(crate) fn map_lines_json<'py>(
    #[pyo3(from_py_with = arg::parser)] parser: PyRef<'py, PyCdrParser>,
    lines: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = arg::config)] config: MapperArg<'py>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (py, parser, mapper) = (lines.py(), &parser.0, config.mapper());
    let batch = match lines.cast::<PyString>() {
        Ok(s) => Lines::from(s.to_cow()?),
        Err(_) => {
            // All lines in one buffer (one copy each, no object per line).
            let mut batch = Lines::default();
            for item in lines.try_iter()? {
                batch.push(item?.cast::<PyString>()?.to_cow()?.as_bytes());
            }
            batch
        }
    };
    let out = py.detach(|| LineWriter::new(parser, mapper).write_array(batch.numbered()));
    Ok(PyBytes::new(py, &out))
}

/// An explanation as the dict `json.loads` gives for its JSON, with `text` (its rendering).
pub(crate) fn explanation_dict<'py, T: serde::Serialize>(
    py: Python<'py>,
    explanation: &T,
    text: String,
) -> PyResult<Bound<'py, PyAny>> {
    let d = to_py_json(py, explanation)?;
    d.set_item("text", text)?;
    Ok(d)
}
