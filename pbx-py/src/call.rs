//! `pbx.CallMapper` (formerly `MappingConfig`), `pbx.Skip`, `pbx.to_call_request` and
//! `pbx.map_lines` over `pbx_core::call`. Names and semantics follow the Node binding
//! (`CallMapper`, `toCallRequest`, `mapLines`).

use pbx_core::Location;
use pbx_core::call::{CallMapper, CallRequest, Mapped, MappingOptions, SkipReason, parse_timezone};
use pbx_core::cdr::split_lines;
use pbx_core::cdr_json::LineWriter;
use pbx_core::direction::DirectionPolicy;
use pbx_core::phone::Region;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::cdr::{PyCdr, PyCdrParser};
use crate::config::PyConfig;
use crate::convert::{repr_str, to_py_json};
use crate::direction::PyClassification;
use crate::error::{CoreResult, to_py};
use crate::extensions::PyExtensionMap;

/// Maps CDRs to call requests (direction, owner, other party, owner email, timestamp in the
/// PBX's timezone, `pbxCallId`), without a whole configuration file; `CallMapper.from_config`
/// gives the one a `Config` describes. (`MappingConfig` is its former name.)
///
/// `CallMapper(timezone="UTC", extensions=None, internal_calls="skip", default_region="US",
/// trunk_dns=(), service_dns=(), number_format="e164", call_id_prefix="3cx")`: `timezone` is
/// the PBX's IANA zone (timestamps carry its offset); `extensions` an `ExtensionMap` or a dict
/// of extension → email or {email, name}; `internal_calls` is `"skip"` or `"as_outbound"`;
/// `trunk_dns` / `service_dns` are the DNs of trunks and of queues, ring groups, IVRs and
/// voicemail, used when records carry no type fields; `number_format` how `phoneNumber` is
/// written (`"e164"`, `"international"`, `"national"` or `"rfc3966"`); `call_id_prefix` the
/// prefix of `pbxCallId`. Raises `ConfigError` for an unusable setting.
#[pyclass(name = "CallMapper", module = "pbx", frozen)]
pub(crate) struct PyCallMapper {
    mapper: CallMapper,
}

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
        py: Python<'_>,
        #[pyo3(from_py_with = crate::arg::timezone)] timezone: String,
        extensions: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = crate::arg::internal_calls)] internal_calls: String,
        #[pyo3(from_py_with = crate::arg::default_region)] default_region: String,
        #[pyo3(from_py_with = crate::arg::trunk_dns)] trunk_dns: Vec<String>,
        #[pyo3(from_py_with = crate::arg::service_dns)] service_dns: Vec<String>,
        #[pyo3(from_py_with = crate::arg::number_format)] number_format: String,
        #[pyo3(from_py_with = crate::arg::call_id_prefix)] call_id_prefix: String,
    ) -> PyResult<Self> {
        let options = MappingOptions {
            timezone: parse_timezone("timezone", &timezone).py(py)?,
            default_region: Region::parse("default_region", &default_region).py(py)?,
            internal_calls: internal_calls.parse().py(py)?,
            number_format: number_format.parse().py(py)?,
            call_id_prefix,
        };
        let direction = DirectionPolicy {
            trunk_dns,
            service_dns,
            ..DirectionPolicy::default()
        };
        let extensions = match extensions {
            None => Default::default(),
            Some(ext) => match ext.cast::<PyExtensionMap>() {
                Ok(m) => m.borrow().inner.clone(),
                Err(_) => {
                    let ext = crate::convert::mapping_arg(
                        "extensions",
                        ext,
                        "an ExtensionMap or a mapping of extension → email or {email, name}",
                    )?;
                    PyExtensionMap::new(Some(ext), None)?.inner
                }
            },
        };
        Ok(PyCallMapper {
            mapper: CallMapper::new(options, direction, extensions),
        })
    }

    fn __repr__(&self) -> String {
        let o = self.mapper.options();
        format!(
            "CallMapper(timezone={}, internal_calls={}, default_region={}, number_format={}, extensions=<{} users>)",
            repr_str(o.timezone.name()),
            repr_str(o.internal_calls.code()),
            repr_str(o.default_region.as_str()),
            repr_str(o.number_format.code()),
            self.mapper.extensions().len()
        )
    }

    /// The mapper a loaded `Config` describes (timezone, extension map, direction policy,
    /// internal calls, default region).
    #[staticmethod]
    fn from_config(#[pyo3(from_py_with = crate::arg::config)] config: PyRef<'_, PyConfig>) -> Self {
        PyCallMapper {
            mapper: config.mapper.clone(),
        }
    }

    /// `classify(cdr, self)`.
    fn classify(
        &self,
        #[pyo3(from_py_with = crate::arg::cdr)] cdr: PyRef<'_, PyCdr>,
    ) -> PyClassification {
        crate::direction::classify_with(&self.mapper, &cdr)
    }

    /// `to_call_request(cdr, self)`.
    fn map<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = crate::arg::cdr)] cdr: PyRef<'py, PyCdr>,
    ) -> PyResult<Bound<'py, PyAny>> {
        map_one(py, &self.mapper, &cdr)
    }

    /// The decision trail of one record (`pbx_core::explain`, the same decisions `map`
    /// takes): `record` is a CDR line (read with `parser`, by default the 27-field layout)
    /// or a `Cdr`. Returns a dict — `pbx_call_id`, `location`, `fields`, `direction`,
    /// `owner`, `other_party`, `email`, `talk_time`, `outcome` (`kind` `call` with
    /// `request`, `skipped` with `reason`, `refused` with `error`) — and `text`, the
    /// readable rendering. Never raises for a bad line: its outcome is `refused`.
    #[pyo3(signature = (record, parser = None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
        parser: Option<PyRef<'py, PyCdrParser>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let explanation = match record.cast::<PyCdr>() {
            Ok(cdr) => {
                let cdr = cdr.borrow();
                let e = self.mapper.explain(&cdr.inner);
                match cdr.line {
                    Some(n) => e.at(Location::Line(n).to_string()),
                    None => e,
                }
            }
            Err(_) => {
                let text: String = record.extract().map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err(
                        "record: expected a CDR line (str) or a Cdr",
                    )
                })?;
                let default;
                let parser = match &parser {
                    Some(p) => &p.inner,
                    None => {
                        default = pbx_core::cdr::CdrParser::default();
                        &default
                    }
                };
                self.mapper.explain_line(parser, 1, text.as_bytes())
            }
        };
        explanation_dict(py, &explanation, explanation.to_string())
    }

    /// `map_lines_json(parser, lines, self)`.
    #[pyo3(name = "map_lines_json")]
    fn map_lines_json_method<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = crate::arg::parser)] parser: PyRef<'py, PyCdrParser>,
        lines: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        run_map_lines_json(py, &parser, lines, &self.mapper)
    }

    /// `map_lines(parser, lines, self)`.
    #[pyo3(name = "map_lines")]
    fn map_lines_method<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = crate::arg::parser)] parser: PyRef<'py, PyCdrParser>,
        lines: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        run_map_lines(py, &parser, lines, &self.mapper)
    }
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
            MapperArg::Mapping(m) => &m.mapper,
        }
    }
}

/// A call not sent to the API, and why: `reason` is a stable code (`"INTERNAL"`,
/// `"UNKNOWN_DIRECTION"`, `"NO_OWNER"`, `"NO_OWNER_EMAIL"`, `"BLANK_LINE"`, `"OUTSIDE_RANGE"`,
/// `"MISSED_UNROUTED"`, `"MISSED_OUTSIDE_HOURS"`: `pbx_core::call::SkipReason::code`, the Node
/// binding's `skipped.reason`), `message` the Rust text (a `MISSED_UNROUTED` one names the
/// DN), `extension` the extension of a `NO_OWNER_EMAIL` skip (None otherwise).
#[pyclass(name = "Skip", module = "pbx", frozen, get_all)]
pub(crate) struct PySkip {
    /// The stable code.
    reason: &'static str,
    /// Why the call is not sent, in words (the Rust `SkipReason` text).
    message: String,
    /// The extension without a user email (`NO_OWNER_EMAIL`), else None.
    extension: Option<String>,
}

#[pymethods]
impl PySkip {
    fn __repr__(&self) -> String {
        format!(
            "Skip(reason={}, message={}, extension={})",
            repr_str(self.reason),
            repr_str(&self.message),
            crate::convert::repr_opt(self.extension.as_deref())
        )
    }

    fn __eq__(&self, other: &Self) -> bool {
        (self.reason, &self.message, &self.extension)
            == (other.reason, &other.message, &other.extension)
    }
}

fn map_one<'py>(py: Python<'py>, mapper: &CallMapper, cdr: &PyCdr) -> PyResult<Bound<'py, PyAny>> {
    let located = |e: pbx_core::Error| match cdr.line {
        Some(n) => e.located(Location::Line(n)),
        None => e,
    };
    match mapper.map(&cdr.inner).map_err(located).py(py)? {
        Mapped::Call(call) => to_py_json(py, &call),
        Mapped::Skipped(r) => Ok(Bound::new(py, skip(&r))?.into_any()),
        _ => Err(unknown_outcome()),
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
    #[pyo3(from_py_with = crate::arg::cdr)] cdr: PyRef<'py, PyCdr>,
    #[pyo3(from_py_with = crate::arg::config)] config: MapperArg<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    map_one(py, config.mapper(), &cdr)
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
    #[pyo3(from_py_with = crate::arg::parser)] parser: PyRef<'py, PyCdrParser>,
    lines: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = crate::arg::config)] config: MapperArg<'py>,
) -> PyResult<Bound<'py, PyList>> {
    run_map_lines(py, &parser, lines, config.mapper())
}

/// The bulk form of `map_lines`: the same lines, parsed and mapped in one call without the
/// GIL, returned as the UTF-8 bytes of one JSON array with one object per line — `line` and
/// exactly one of `call` (the call request), `skipped` (the reason in words) or `error`
/// (`field`, `value`, `message`), the objects `pbx-convert` prints — for `json.loads` to read
/// at once. Much faster than `map_lines` for big batches; `map_lines` gives typed objects.
/// A blank element of a list is a `skipped` line (`"blank line"`).
#[pyfunction]
pub(crate) fn map_lines_json<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = crate::arg::parser)] parser: PyRef<'py, PyCdrParser>,
    lines: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = crate::arg::config)] config: MapperArg<'py>,
) -> PyResult<Bound<'py, PyBytes>> {
    run_map_lines_json(py, &parser, lines, config.mapper())
}

fn run_map_lines_json<'py>(
    py: Python<'py>,
    parser: &PyCdrParser,
    lines: &Bound<'py, PyAny>,
    mapper: &CallMapper,
) -> PyResult<Bound<'py, PyBytes>> {
    let write = |numbered: &mut dyn Iterator<Item = (u64, &[u8])>| {
        LineWriter::new(&parser.inner, mapper).write_array(numbered)
    };
    let out = if let Ok(s) = lines.cast::<PyString>() {
        let text = s.to_cow()?;
        py.detach(|| write(&mut split_lines(text.as_bytes())))
    } else {
        // All lines in one buffer (one copy each, no object per line).
        let mut text = String::new();
        let mut ends = Vec::new();
        for item in lines.try_iter()? {
            text.push_str(&item?.cast::<PyString>()?.to_cow()?);
            ends.push(text.len());
        }
        py.detach(|| {
            let mut start = 0;
            write(&mut ends.iter().zip(1u64..).map(|(&end, n)| {
                let line = &text.as_bytes()[start..end];
                start = end;
                (n, line)
            }))
        })
    };
    Ok(PyBytes::new(py, &out))
}

fn run_map_lines<'py>(
    py: Python<'py>,
    parser: &PyCdrParser,
    lines: &Bound<'py, PyAny>,
    mapper: &CallMapper,
) -> PyResult<Bound<'py, PyList>> {
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
            Ok(Mapped::Skipped(r)) => Bound::new(py, skip(&r))?.into_any(),
            Ok(_) => return Err(unknown_outcome()),
            Err(e) => to_py(py, e).into_value(py).into_bound(py).into_any(),
        };
        out.append((line, outcome))?;
    }
    Ok(out)
}

fn skip(r: &SkipReason) -> PySkip {
    PySkip {
        reason: r.code(),
        message: r.to_string(),
        extension: r.extension().map(str::to_owned),
    }
}

/// A mapping outcome of a kind this binding does not know (`Mapped` is `#[non_exhaustive]`).
fn unknown_outcome() -> PyErr {
    PyRuntimeError::new_err("pbx-core returned a mapping outcome this version of pbx does not know")
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
