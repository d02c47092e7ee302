//! `pbx.Config` over `pbx_core::config`.

use std::collections::HashMap;
use std::path::PathBuf;

use pbx_core::call::CallMapper;
use pbx_core::config::Config;
use pyo3::prelude::*;

use crate::convert::{repr_str, str_map};
use crate::error::CoreResult;
use crate::extensions::PyExtensionMap;

/// Reads and validates a configuration file: the same as `Config.load(path, env)` (and as
/// Node's `loadConfig(path, env)`). Raises `OSError` when it cannot be read, `ConfigError`
/// (every problem with its path) when it is invalid.
#[pyfunction]
#[pyo3(signature = (path, env = None))]
pub(crate) fn load_config(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::arg::path)] path: PathBuf,
    env: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyConfig> {
    PyConfig::load(py, path, env)
}

/// The validated sideloader configuration (the YAML of `examples/config/sideloader.yml`).
///
/// Build it with `Config.load(path)` or `Config.from_yaml(text)`; both raise `ConfigError`
/// whose `issues` lists every problem as (path, value, message). `${VAR}` and
/// `${VAR:-default}` are looked up in `env` (a mapping), or in the process environment when
/// `env` is None. Secrets never appear in `repr`.
#[pyclass(name = "Config", module = "pbx", frozen)]
pub(crate) struct PyConfig {
    pub(crate) inner: Config,
    /// The call mapper the configuration describes (built once, for classify/to_call_request).
    pub(crate) mapper: CallMapper,
}

#[pymethods]
impl PyConfig {
    /// Reads and validates a configuration file. Raises `OSError` when it cannot be read,
    /// `ConfigError` when it is invalid.
    #[staticmethod]
    #[pyo3(signature = (path, env = None))]
    pub(crate) fn load(
        py: Python<'_>,
        #[pyo3(from_py_with = crate::arg::path)] path: PathBuf,
        env: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let text = std::fs::read_to_string(&path)?;
        Self::from_yaml(py, text, env)
    }

    /// Reads and validates a configuration from YAML text. Raises `ConfigError`.
    #[staticmethod]
    #[pyo3(signature = (text, env = None))]
    fn from_yaml(
        py: Python<'_>,
        #[pyo3(from_py_with = crate::arg::text)] text: String,
        env: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let env: Option<HashMap<String, String>> = env.map(str_map).transpose()?;
        let config = py
            .detach(|| match &env {
                Some(vars) => Config::from_yaml(&text, &|n: &str| vars.get(n).cloned()),
                None => Config::from_yaml(&text, &|n: &str| std::env::var(n).ok()),
            })
            .py(py)?;
        let mapper = config.call_mapper();
        Ok(PyConfig {
            inner: config,
            mapper,
        })
    }

    /// `pbx.timezone`: the PBX's IANA timezone name.
    #[getter]
    fn timezone(&self) -> &'static str {
        self.inner.timezone.name()
    }

    /// `pbx.cdr_template`: the CDR field names, comma-separated.
    #[getter]
    fn cdr_template(&self) -> String {
        self.inner.cdr_template.to_string()
    }

    /// `phone.default_region`.
    #[getter]
    fn default_region(&self) -> &str {
        self.inner.default_region.as_str()
    }

    /// `direction.internal_calls`: `"skip"` or `"as_outbound"`.
    #[getter]
    fn internal_calls(&self) -> &'static str {
        self.inner.internal_calls.code()
    }

    /// `source.kind`: `"postgres_cdroutput"`, `"postgres_cl"`, `"postgres_table"`,
    /// `"mssql_table"`, `"socket_listen"`, `"socket_connect"`, `"file"` or `"directory"`
    /// (as Node's `Config.sourceKind`).
    #[getter]
    fn source_kind(&self) -> &'static str {
        self.inner.source.kind().code()
    }

    /// `direction.trunk_dns`.
    #[getter]
    fn trunk_dns(&self) -> Vec<String> {
        self.inner.direction.trunk_dns.clone()
    }

    /// `direction.service_dns`.
    #[getter]
    fn service_dns(&self) -> Vec<String> {
        self.inner.direction.service_dns.clone()
    }

    /// `extensions`: the extension map with its fallback.
    #[getter]
    fn extensions(&self) -> PyExtensionMap {
        PyExtensionMap {
            inner: self.inner.extensions.clone(),
        }
    }

    /// `groups.enabled`.
    #[getter]
    fn groups_enabled(&self) -> bool {
        self.inner.groups.enabled
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
