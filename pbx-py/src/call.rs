//! `pbx.MappingConfig`, `pbx.Skip` and `pbx.to_call_request` over `pbx_core::call`.

use pbx_core::Location;
use pbx_core::call::{CallMapper, CallRequest, InternalCalls, Mapped, parse_timezone};
use pbx_core::phone::Region;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::cdr::{PyCdr, PyCdrParser};
use crate::config::PyConfig;
use crate::convert::{repr_str, to_py_json};
use crate::error::{CoreResult, to_py};
use crate::extensions::PyExtensionMap;

/// How CDRs become call requests, without a whole configuration file.
///
/// `MappingConfig(timezone="UTC", extensions=None, internal_calls="skip", default_region="US",
/// trunk_dns=(), service_dns=())`: `timezone` is the PBX's IANA zone (timestamps carry its
/// offset); `extensions` an `ExtensionMap` or a dict of extension → email or {email, name};
/// `internal_calls` is `"skip"` or `"as_outbound"`; `trunk_dns` / `service_dns` are the DNs of
/// trunks and of queues, ring groups, IVRs and voicemail, used when records carry no type
/// fields. Raises `ConfigError` for an unusable setting.
#[pyclass(name = "MappingConfig", module = "pbx", frozen)]
pub(crate) struct PyMappingConfig {
    mapper: CallMapper,
}

#[pymethods]
impl PyMappingConfig {
    #[new]
    #[pyo3(signature = (timezone = "UTC", extensions = None, internal_calls = "skip",
        default_region = "US", trunk_dns = Vec::new(), service_dns = Vec::new()))]
    fn new(
        py: Python<'_>,
        timezone: &str,
        extensions: Option<&Bound<'_, PyAny>>,
        internal_calls: &str,
        default_region: &str,
        trunk_dns: Vec<String>,
        service_dns: Vec<String>,
    ) -> PyResult<Self> {
        let mut mapper = CallMapper::default();
        mapper.options.timezone = parse_timezone("timezone", timezone).py(py)?;
        mapper.options.default_region = Region::parse("default_region", default_region).py(py)?;
        mapper.options.internal_calls = match internal_calls {
            "skip" => InternalCalls::Skip,
            "as_outbound" => InternalCalls::AsOutbound,
            other => {
                return Err(to_py(
                    py,
                    pbx_core::Error::InvalidSetting {
                        setting: "internal_calls".into(),
                        value: other.into(),
                        reason: "is not skip or as_outbound".into(),
                    },
                ));
            }
        };
        if let Some(ext) = extensions {
            mapper.extensions = match ext.cast::<PyExtensionMap>() {
                Ok(m) => m.get().inner.clone(),
                Err(_) => PyExtensionMap::new(Some(ext), None)?.inner,
            };
        }
        mapper.direction.trunk_dns = trunk_dns;
        mapper.direction.service_dns = service_dns;
        Ok(PyMappingConfig { mapper })
    }

    fn __repr__(&self) -> String {
        let o = &self.mapper.options;
        format!(
            "MappingConfig(timezone={}, internal_calls={:?}, default_region={}, extensions=<{} users>)",
            repr_str(o.timezone.name()),
            o.internal_calls,
            repr_str(o.default_region.as_str()),
            self.mapper.extensions.len()
        )
    }
}

/// The settings a mapping function takes: a loaded `Config` or a `MappingConfig`.
#[derive(FromPyObject)]
pub(crate) enum MapperArg<'py> {
    Config(PyRef<'py, PyConfig>),
    Mapping(PyRef<'py, PyMappingConfig>),
}

impl MapperArg<'_> {
    pub(crate) fn mapper(&self) -> &CallMapper {
        match self {
            MapperArg::Config(c) => &c.mapper,
            MapperArg::Mapping(m) => &m.mapper,
        }
    }
}

/// A call not sent to the API, and why (`reason`, the same text as in Rust).
#[pyclass(name = "Skip", module = "pbx", frozen, get_all)]
pub(crate) struct PySkip {
    /// Why the call is not sent (the Rust `SkipReason` text).
    reason: String,
}

#[pymethods]
impl PySkip {
    fn __repr__(&self) -> String {
        format!("Skip(reason={})", repr_str(&self.reason))
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.reason == other.reason
    }
}

/// Maps one CDR to the call API's `PbxCallRequest`: a dict with exactly its camelCase keys
/// (`phoneNumber`, `callDuration`, `callOwnerExtension`, `callOwnerEmail`, `callDirection`,
/// `timestamp`, `pbxCallId`), or a `Skip` with the reason (internal call, no owner, owner
/// without email, …). Raises `ParseError` when the record lacks what every call needs (a start
/// time, an id).
#[pyfunction]
pub(crate) fn to_call_request<'py>(
    py: Python<'py>,
    cdr: PyRef<'py, PyCdr>,
    config: MapperArg<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let located = |e: pbx_core::Error| match cdr.line {
        Some(n) => e.located(Location::Line(n)),
        None => e,
    };
    match config.mapper().map(&cdr.inner).map_err(located).py(py)? {
        Mapped::Call(call) => to_py_json(py, &call),
        other => Ok(Bound::new(py, skip(other))?.into_any()),
    }
}

/// The fast path: parses CDR lines with `parser` and maps each record with `config`, in one
/// call and without holding the GIL while working. `lines` is a `str` (split at line breaks,
/// blank lines passed over) or a list (one line per element). Returns `(line, outcome)` for
/// each line, the outcome being the call request dict, a `Skip`, or the `ParseError` of a line
/// that cannot be read or mapped (returned, not raised). The same as `parse_lines` followed by
/// `to_call_request` on each record.
#[pyfunction]
pub(crate) fn map_lines<'py>(
    py: Python<'py>,
    parser: PyRef<'py, PyCdrParser>,
    lines: &Bound<'py, PyAny>,
    config: MapperArg<'py>,
) -> PyResult<Bound<'py, PyList>> {
    let mapper = config.mapper();
    let results = parser.run(py, lines, |n, cdr| {
        mapper.map(&cdr).map_err(|e| e.located(Location::Line(n)))
    })?;
    // One JSON document for all the calls, decoded at once.
    let calls: Vec<&CallRequest> = results
        .iter()
        .filter_map(|(_, r)| match r {
            Ok(Ok(Mapped::Call(c))) => Some(c),
            _ => None,
        })
        .collect();
    let mut decoded = to_py_json(py, &calls)?.try_iter()?;
    let out = PyList::empty(py);
    for (line, r) in results {
        let outcome = match r.and_then(|m| m) {
            Ok(Mapped::Call(_)) => decoded
                .next()
                .ok_or_else(|| PyRuntimeError::new_err("fewer decoded calls than calls"))??,
            Ok(other) => Bound::new(py, skip(other))?.into_any(),
            Err(e) => to_py(py, e).into_value(py).into_bound(py).into_any(),
        };
        out.append((line, outcome))?;
    }
    Ok(out)
}

fn skip(m: Mapped) -> PySkip {
    PySkip {
        reason: match m {
            Mapped::Skipped(reason) => reason.to_string(),
            other => format!("{other:?}"),
        },
    }
}
