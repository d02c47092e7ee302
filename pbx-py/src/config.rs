//! `pbx.Config` over `pbx_core::config`.

use pbx_sources::FileError;
use std::collections::HashMap;
use std::path::PathBuf;

use pbx_core::call::CallMapper;
use pbx_core::config::Config;
use pyo3::prelude::*;
use pyo3::types::PyDict;

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

/// Reads a configuration file as `pbx-sideloader --config` does: at most
/// `MAX_CONFIG_BYTES` (1 MiB) are read, so `/dev/zero` or a FIFO cannot grow memory. Every
/// failure is an `OSError` naming the file (`filename`): `FileNotFoundError` for a missing
/// one, `[Errno 27] it is over the limit of 1048576 bytes: '/dev/zero'` (errno `EFBIG`) for
/// one over the limit.
pub(crate) fn read_config(path: &std::path::Path) -> PyResult<String> {
    use pyo3::exceptions::PyOSError;
    // OSError(errno, strerror, filename): Python picks the subclass (FileNotFoundError,
    // PermissionError, …) from errno, and its text names the file.
    const EINVAL: i32 = 22;
    const EFBIG: i32 = 27;
    let name = path.display().to_string();
    let (errno, strerror) =
        match pbx_sources::bounded::read_file_limited(path, pbx_core::config::MAX_CONFIG_BYTES) {
            Ok(text) => return Ok(text),
            Err(pbx_sources::Error::File(FileError::ReadFile { source, .. })) => {
                match source.raw_os_error() {
                    Some(errno) => {
                        let text = source.to_string();
                        let strerror = text
                            .strip_suffix(&format!(" (os error {errno})"))
                            .unwrap_or(&text)
                            .to_owned();
                        (errno, strerror)
                    }
                    // A directory, or not UTF-8 text.
                    None => (EINVAL, source.to_string()),
                }
            }
            Err(pbx_sources::Error::File(FileError::FileTooLarge { limit, .. })) => {
                (EFBIG, format!("it is over the limit of {limit} bytes"))
            }
            Err(e) => (EINVAL, e.to_string()),
        };
    Err(PyOSError::new_err((errno, strerror, name)))
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
        let text = py.detach(|| read_config(&path))?;
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

    /// `call_api` without the token: a dict `{"base_url", "has_token", "timeout_secs",
    /// "concurrency", "max_attempts", "insecure_skip_tls_verify"}` (as Node's
    /// `Config.callApi`). The token itself: `call_api_token()`.
    #[getter]
    fn call_api<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.inner.call_api;
        let d = PyDict::new(py);
        d.set_item("base_url", &c.base_url)?;
        d.set_item("has_token", c.token.as_ref().is_some_and(|t| !t.is_empty()))?;
        d.set_item("timeout_secs", c.timeout.as_secs_f64())?;
        d.set_item("concurrency", c.concurrency)?;
        d.set_item("max_attempts", c.max_attempts)?;
        d.set_item("insecure_skip_tls_verify", c.insecure_skip_tls_verify)?;
        Ok(d)
    }

    /// The call API's bearer token, or None. A method, not an attribute, so printing the
    /// configuration's attributes never shows it.
    fn call_api_token(&self) -> Option<String> {
        self.inner
            .call_api
            .token
            .as_ref()
            .map(|t| t.expose().to_owned())
    }

    /// `xapi` without the secret: a dict `{"base_url", "client_id", "refresh_secs",
    /// "insecure_skip_tls_verify"}`, or None when the section is absent.
    #[getter]
    fn xapi<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(x) = &self.inner.xapi else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("base_url", &x.base_url)?;
        d.set_item("client_id", &x.client_id)?;
        d.set_item("refresh_secs", x.refresh.as_secs_f64())?;
        d.set_item("insecure_skip_tls_verify", x.insecure_skip_tls_verify)?;
        Ok(Some(d))
    }

    /// The XAPI client secret, or None (a method, as `call_api_token`).
    fn xapi_client_secret(&self) -> Option<String> {
        self.inner
            .xapi
            .as_ref()
            .map(|x| x.client_secret.expose().to_owned())
    }

    /// `extensions.from_xapi`: whether users are also read from XAPI `/Users`.
    #[getter]
    fn extensions_from_xapi(&self) -> bool {
        self.inner.extensions_from_xapi
    }

    /// The direction policy: a dict `{"trunk_dns", "service_dns", "extension_digits": (from,
    /// to), "extension_ranges": [(from, to), …], "min_external_digits"}`.
    #[getter]
    fn direction<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = &self.inner.direction;
        let d = PyDict::new(py);
        d.set_item("trunk_dns", &p.trunk_dns)?;
        d.set_item("service_dns", &p.service_dns)?;
        d.set_item(
            "extension_digits",
            (*p.extension_digits.start(), *p.extension_digits.end()),
        )?;
        let ranges: Vec<(u64, u64)> = p
            .extension_ranges
            .iter()
            .map(|r| (*r.start(), *r.end()))
            .collect();
        d.set_item("extension_ranges", ranges)?;
        d.set_item("min_external_digits", p.min_external_digits)?;
        Ok(d)
    }

    /// Where business hours come from: `"schedule"` (`BusinessHours.from_config`), `"xapi"`
    /// (`BusinessHours.from_xapi`), or None when not configured.
    #[getter]
    fn business_hours_source(&self) -> Option<&'static str> {
        self.inner.business_hours.as_ref().map(|h| h.source_code())
    }

    /// `groups`: a dict `{"enabled", "interval_secs", "debounce", "include", "exclude",
    /// "groups_with_own_hours"}` (the ids `BusinessHours.from_config_group` knows, sorted).
    #[getter]
    fn groups<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let g = &self.inner.groups;
        let mut own: Vec<&String> = g.hours.keys().collect();
        own.sort();
        let d = PyDict::new(py);
        d.set_item("enabled", g.enabled)?;
        d.set_item("interval_secs", g.interval.as_secs_f64())?;
        d.set_item("debounce", g.monitor.debounce)?;
        d.set_item("include", &g.monitor.include)?;
        d.set_item("exclude", &g.monitor.exclude)?;
        d.set_item("groups_with_own_hours", own)?;
        Ok(d)
    }

    /// `polling.interval` in seconds: how often a database source is polled.
    #[getter]
    fn poll_interval_secs(&self) -> f64 {
        self.inner.poll_interval.as_secs_f64()
    }

    /// `polling.batch_size`: records per batch.
    #[getter]
    fn batch_size(&self) -> usize {
        self.inner.batch_size
    }

    /// `quarantine.path`: the quarantine file.
    #[getter]
    fn quarantine_path(&self) -> &str {
        &self.inner.quarantine_path
    }

    /// `http.listen`: the status/health listener, `ip:port`.
    #[getter]
    fn http_listen(&self) -> String {
        self.inner.service.http.listen.to_string()
    }

    /// `logging.level`.
    #[getter]
    fn log_level(&self) -> &str {
        &self.inner.service.logging.level
    }

    /// `logging.format`: `"text"` or `"json"`.
    #[getter]
    fn log_format(&self) -> &'static str {
        self.inner.service.logging.format.code()
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
