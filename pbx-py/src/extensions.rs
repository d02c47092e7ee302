//! `pbx.ExtensionMap` and `pbx.User` over `pbx_core::extensions`.

use pbx_core::extensions::{ExtensionMap, OwnerFallback, User};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::config::PyConfig;
use crate::convert::{py_to_json, repr_opt, repr_str};

/// A person behind an extension: `extension`, `email`, `name` (or None).
#[pyclass(name = "User", module = "pbx", frozen, get_all)]
pub(crate) struct PyUser {
    /// The extension number.
    extension: String,
    /// The user's email (what the call API keys calls by).
    email: String,
    /// The display name, or None.
    name: Option<String>,
}

#[pymethods]
impl PyUser {
    fn __repr__(&self) -> String {
        format!(
            "User(extension={}, email={}, name={})",
            repr_str(&self.extension),
            repr_str(&self.email),
            repr_opt(self.name.as_deref())
        )
    }
}

impl From<&User> for PyUser {
    fn from(u: &User) -> Self {
        PyUser {
            extension: u.extension.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
        }
    }
}

/// Extension → user (who owns a call), with an optional fallback email.
///
/// `ExtensionMap(mapping, default_email=None)`: `mapping` maps an extension to an email or to
/// `{"email": ..., "name": ...}` (the same shape as the YAML `extensions.map`). Without
/// `default_email`, calls of an unmapped extension are skipped with the reason.
///
/// `set(extension, email, name=None)` adds or replaces a user; `len(m)` is how many users
/// it holds.
#[pyclass(name = "ExtensionMap", module = "pbx")]
#[derive(Clone)]
pub(crate) struct PyExtensionMap {
    pub(crate) inner: ExtensionMap,
}

#[pymethods]
impl PyExtensionMap {
    #[new]
    #[pyo3(signature = (mapping = None, default_email = None))]
    pub(crate) fn new(
        mapping: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = crate::arg::default_email)] default_email: Option<String>,
    ) -> PyResult<Self> {
        let map = match mapping {
            None => ExtensionMap::new(),
            Some(m) => serde_json::from_value(py_to_json(crate::convert::mapping_arg(
                "mapping",
                m,
                "a mapping of extension → email or {email, name}",
            )?)?)
            .map_err(|e| {
                PyValueError::new_err(format!(
                    "an extension map maps an extension to an email or to {{email, name}}: {e}"
                ))
            })?,
        };
        Ok(Self::wrap(map, default_email))
    }

    /// Reads a YAML mapping of extension → email or `{email, name}`. With `key`, the map is
    /// the value under that top-level key (`key="extensions"` for `examples/data/extensions.yml`).
    #[staticmethod]
    #[pyo3(signature = (text, key = None, default_email = None))]
    fn from_yaml(
        #[pyo3(from_py_with = crate::arg::text)] text: String,
        #[pyo3(from_py_with = crate::arg::key)] key: Option<String>,
        #[pyo3(from_py_with = crate::arg::default_email)] default_email: Option<String>,
    ) -> PyResult<Self> {
        let map = ExtensionMap::from_yaml(&text, key.as_deref())
            .map_err(|e| PyValueError::new_err(format!("not an extension map: {e}")))?;
        Ok(Self::wrap(map, default_email))
    }

    /// The map of a loaded `Config` (`extensions.map` and `extensions.default_email`): the
    /// same as `config.extensions`.
    #[staticmethod]
    fn from_config(#[pyo3(from_py_with = crate::arg::config)] config: PyRef<'_, PyConfig>) -> Self {
        PyExtensionMap {
            inner: config.inner.extensions.clone(),
        }
    }

    /// Adds or replaces the user of `extension`.
    #[pyo3(signature = (extension, email, name = None))]
    fn set(
        &mut self,
        #[pyo3(from_py_with = crate::arg::extension)] extension: String,
        #[pyo3(from_py_with = crate::arg::email)] email: String,
        #[pyo3(from_py_with = crate::arg::name)] name: Option<String>,
    ) {
        let mut user = User::new(extension, email);
        user.name = name;
        self.inner.insert(user);
    }

    /// The user of an extension, or None.
    fn get(
        &self,
        #[pyo3(from_py_with = crate::arg::extension)] extension: String,
    ) -> Option<PyUser> {
        self.inner.get(&extension).map(PyUser::from)
    }

    /// The email a call of this extension is attributed to: the user's, else the fallback
    /// `default_email`, else None.
    fn email_for(
        &self,
        #[pyo3(from_py_with = crate::arg::extension)] extension: String,
    ) -> Option<String> {
        self.inner.email_for(&extension).map(str::to_owned)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, extension: &str) -> bool {
        self.inner.get(extension).is_some()
    }

    fn __repr__(&self) -> String {
        format!("ExtensionMap(<{} users>)", self.inner.len())
    }
}

impl PyExtensionMap {
    fn wrap(map: ExtensionMap, default_email: Option<String>) -> Self {
        let inner = match default_email {
            Some(e) => map.with_fallback(OwnerFallback::DefaultEmail(e)),
            None => map,
        };
        PyExtensionMap { inner }
    }
}
