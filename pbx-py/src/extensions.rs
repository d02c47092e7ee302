//! `pbx.ExtensionMap` and `pbx.User` over `pbx_core::extensions`.

use pbx_core::extensions::{ExtensionMap, User};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::arg;
use crate::config::PyConfig;
use crate::convert::{json_as, mapping_arg, methods, repr_opt, repr_str};

/// A person behind an extension.
#[pyclass(name = "User", module = "pbx", frozen)]
pub(crate) struct PyUser(User);

methods! { PyUser, |u| {
    extension -> &str = &u.0.extension, "The extension number.";
    email -> &str = &u.0.email, "The user's email (what the call API keys calls by).";
    name -> Option<&str> = u.0.name.as_deref(), "The display name, or None.";
}
    fn __repr__(&self) -> String {
        format!(
            "User(extension={}, email={}, name={})",
            repr_str(self.extension()),
            repr_str(self.email()),
            repr_opt(self.name())
        )
    }
}

/// Extension → user (who owns a call), with an optional fallback email.
#[pyclass(name = "ExtensionMap", module = "pbx")]
#[derive(Clone)]
pub(crate) struct PyExtensionMap(pub(crate) ExtensionMap);

#[pymethods]
impl PyExtensionMap {
    #[new]
    #[pyo3(signature = (mapping = None, default_email = None))]
    pub(crate) fn new(
        mapping: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = arg::default_email)] default_email: Option<String>,
    ) -> PyResult<Self> {
        let expected = "a mapping of extension → email or {email, name}";
        let map = match mapping {
            None => ExtensionMap::new(),
            Some(m) => json_as(
                mapping_arg("mapping", m, expected)?,
                "an extension map maps an extension to an email or to {email, name}",
            )?,
        };
        Ok(PyExtensionMap(map.with_default_email(default_email)))
    }

    /// Reads a YAML mapping of extension → email or `{email, name}`, under `key` if given.
    #[staticmethod]
    #[pyo3(signature = (text, key = None, default_email = None))]
    fn from_yaml(
        #[pyo3(from_py_with = arg::text)] text: String,
        #[pyo3(from_py_with = arg::key)] key: Option<String>,
        #[pyo3(from_py_with = arg::default_email)] default_email: Option<String>,
    ) -> PyResult<Self> {
        let map = ExtensionMap::from_yaml(&text, key.as_deref())
            .map_err(|e| PyValueError::new_err(format!("not an extension map: {e}")))?;
        Ok(PyExtensionMap(map.with_default_email(default_email)))
    }

    /// The map of a loaded `Config`: the same as `config.extensions`.
    #[staticmethod]
    fn from_config(#[pyo3(from_py_with = arg::config)] config: PyRef<'_, PyConfig>) -> Self {
        PyExtensionMap(config.inner.extensions.clone())
    }

    /// Adds or replaces the user of `extension`.
    #[pyo3(signature = (extension, email, name = None))]
    fn set(
        &mut self,
        #[pyo3(from_py_with = arg::extension)] extension: String,
        #[pyo3(from_py_with = arg::email)] email: String,
        #[pyo3(from_py_with = arg::name)] name: Option<String>,
    ) {
        let mut user = User::new(extension, email);
        user.name = name;
        self.0.insert(user);
    }

    /// The user of an extension, or None.
    fn get(&self, #[pyo3(from_py_with = arg::extension)] extension: String) -> Option<PyUser> {
        self.0.get(&extension).cloned().map(PyUser)
    }

    /// The email a call of this extension is attributed to, or None.
    fn email_for(
        &self,
        #[pyo3(from_py_with = arg::extension)] extension: String,
    ) -> Option<String> {
        self.0.email_for(&extension).map(str::to_owned)
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __contains__(&self, extension: &str) -> bool {
        self.0.get(extension).is_some()
    }

    fn __repr__(&self) -> String {
        format!("ExtensionMap(<{} users>)", self.0.len())
    }
}
