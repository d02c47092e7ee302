//! `pbx.Config` over `pbx_core::config`.

use pbx_sources::bounded;
use std::collections::HashMap;
use std::path::PathBuf;

use pbx_core::call::CallMapper;
use pbx_core::config::Config;
use pbx_core::config_views::{CallApiView, GroupsView, XapiView};
use pbx_core::direction::PolicyParts;
use pbx_sources::runtime::{ServiceConfig, load_config_with};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arg;
use crate::convert::{dict, methods, repr_str, str_map, to_py_json};
use crate::error::CoreResult;
use crate::extensions::PyExtensionMap;

/// `Config.load(path, env)` (Node: `loadConfig(path, env)`).
#[pyfunction]
#[pyo3(signature = (path, env = None))]
pub(crate) fn load_config(
    py: Python<'_>,
    #[pyo3(from_py_with = arg::path)] path: PathBuf,
    env: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyConfig> {
    PyConfig::load(py, path, env)
}

/// Reads a configuration file as `pbx-sideloader --config` does (at most
/// `MAX_CONFIG_BYTES`); every failure is an `OSError` naming the file (`bounded::os_error`).
pub(crate) fn read_config(path: &std::path::Path) -> PyResult<String> {
    let max = pbx_core::config::MAX_CONFIG_BYTES;
    bounded::read_file_limited(path, max).map_err(|e| {
        let (errno, strerror) = bounded::os_error(&e);
        let filename = path.display().to_string();
        pyo3::exceptions::PyOSError::new_err((errno, strerror, filename))
    })
}

/// The validated sideloader configuration (the YAML of `examples/config/sideloader.yml`).
#[pyclass(name = "Config", module = "pbx", frozen)]
pub(crate) struct PyConfig {
    pub(crate) inner: Config,
    /// Its service settings (`http`, `logging`, `ha`, `quarantine`).
    service: ServiceConfig,
    /// The call mapper the configuration describes (built once, for classify/to_call_request).
    pub(crate) mapper: CallMapper,
}

methods! { PyConfig, |c| {
    timezone -> &'static str = c.inner.timezone.name(), "`pbx.timezone`: the PBX's IANA timezone.";
    cdr_template -> String = c.inner.cdr_template.to_string(), "`pbx.cdr_template`: field names.";
    default_region -> &str = c.inner.default_region.as_str(), "`phone.default_region`.";
    internal_calls -> &'static str = c.inner.internal_calls.code(), "`direction.internal_calls`.";
    source_kind -> &'static str = c.inner.source.kind().code(), "`source.kind` (`\"file\"`, …).";
    trunk_dns -> Vec<String> = c.inner.direction.trunk_dns.clone(), "`direction.trunk_dns`.";
    service_dns -> Vec<String> = c.inner.direction.service_dns.clone(), "`direction.service_dns`.";
    groups_enabled -> bool = c.inner.groups.enabled, "`groups.enabled`.";
    extensions_from_xapi -> bool = c.inner.extensions_from_xapi, "`extensions.from_xapi`.";
    poll_interval_secs -> f64 = c.inner.poll_interval.as_secs_f64(), "`polling.interval` (s).";
    batch_size -> usize = c.inner.batch_size, "`polling.batch_size`: records per batch.";
    quarantine_path -> &str = &c.service.quarantine_path, "`quarantine.path`: the quarantine file.";
    http_listen -> String = c.service.http.listen.to_string(), "`http.listen`: `ip:port`.";
    log_level -> &str = &c.service.logging.level, "`logging.level`.";
    log_format -> &'static str = c.service.logging.format.code(), "`logging.format`.";
    business_hours_source -> Option<&'static str> =
        c.inner.business_hours.as_ref().map(|h| h.source_code()),
        "Where business hours come from: `\"schedule\"`, `\"xapi\"`, or None.";
    extensions -> PyExtensionMap = PyExtensionMap(c.inner.extensions.clone()),
        "`extensions`: the extension map with its fallback.";
}
    /// Reads and validates a configuration file.
    #[staticmethod]
    #[pyo3(signature = (path, env = None))]
    pub(crate) fn load(
        py: Python<'_>,
        #[pyo3(from_py_with = arg::path)] path: PathBuf,
        env: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let text = py.detach(|| read_config(&path))?;
        Self::from_yaml(py, text, env)
    }

    /// Reads and validates a configuration from YAML text. Raises `ConfigError`.
    #[staticmethod]
    #[pyo3(signature = (text, env = None))]
    fn from_yaml(
        py: Python<'_>,
        #[pyo3(from_py_with = arg::text)] text: String,
        env: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let env: Option<HashMap<String, String>> = env.map(str_map).transpose()?;
        let (config, service) = py.detach(|| load_config_with(&text, env.as_ref())).py()?;
        let mapper = config.call_mapper();
        Ok(PyConfig {
            inner: config,
            service,
            mapper,
        })
    }

    /// `call_api` without the token (`call_api_token()`): `CallApiSettings`.
    #[getter]
    fn call_api<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_json(py, &CallApiView::from(&self.inner.call_api))
    }

    /// The call API's bearer token, or None (a method, so it never shows as an attribute).
    fn call_api_token(&self) -> Option<String> {
        let token = self.inner.call_api.token.as_ref();
        token.map(|t| t.expose().to_owned())
    }

    /// `xapi` without the secret: `XapiSettings`, or None when the section is absent.
    #[getter]
    fn xapi<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let xapi = self.inner.xapi.as_ref().map(XapiView::from);
        xapi.map(|x| to_py_json(py, &x)).transpose()
    }

    /// The XAPI client secret, or None (a method, as `call_api_token`).
    fn xapi_client_secret(&self) -> Option<String> {
        let xapi = self.inner.xapi.as_ref();
        xapi.map(|x| x.client_secret.expose().to_owned())
    }

    /// The direction policy: `DirectionSettings` (ranges as `(from, to)` tuples).
    #[getter]
    fn direction<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = PolicyParts::from(&self.inner.direction);
        dict!(py; "trunk_dns" => p.trunk_dns, "service_dns" => p.service_dns,
            "extension_digits" => p.extension_digits, "extension_ranges" => p.extension_ranges,
            "min_external_digits" => p.min_external_digits)
    }

    /// `groups`: `GroupSettings` (`groups_with_own_hours`: the ids
    /// `BusinessHours.from_config_group` knows, sorted).
    #[getter]
    fn groups<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_json(py, &GroupsView::from(&self.inner.groups))
    }

    fn __repr__(&self) -> String {
        format!(
            "Config(timezone={}, default_region={}, extensions=<{} users>)",
            repr_str(self.inner.timezone.name()),
            repr_str(self.inner.default_region.as_str()),
            self.inner.extensions.len()
        )
    }
}
