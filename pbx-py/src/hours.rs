//! `pbx.BusinessHours` over `pbx_core::hours`.

use chrono::{DateTime, Utc};
use pbx_core::hours::BusinessHours;
use pbx_core::hours::xapi::OfficeHours;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::arg;
use crate::config::PyConfig;
use crate::convert::{dict, json_as, mapping_arg, repr_str};
use crate::error::CoreResult;

/// Business hours: a weekly schedule in one IANA timezone with holidays, closures, openings
/// and breaks.
#[pyclass(name = "BusinessHours", module = "pbx", frozen, from_py_object)]
#[derive(Clone)]
pub(crate) struct PyBusinessHours(pub(crate) BusinessHours);

#[pymethods]
impl PyBusinessHours {
    /// The `business_hours` schedule of a loaded `Config`, or None.
    #[staticmethod]
    fn from_config(
        #[pyo3(from_py_with = arg::config)] config: PyRef<'_, PyConfig>,
    ) -> Option<Self> {
        Some(PyBusinessHours(
            config.inner.business_hours_schedule()?.clone(),
        ))
    }

    /// The business hours of a group that has its own in a loaded `Config`, or None.
    #[staticmethod]
    fn from_config_group(
        #[pyo3(from_py_with = arg::config)] config: PyRef<'_, PyConfig>,
        #[pyo3(from_py_with = arg::group_id)] group_id: String,
    ) -> Option<Self> {
        Some(PyBusinessHours(
            config.inner.groups.hours.get(&group_id)?.clone(),
        ))
    }

    /// From 3CX XAPI `GET /OfficeHours`: the JSON text or the decoded dict.
    #[staticmethod]
    fn from_xapi(office_hours: &Bound<'_, PyAny>) -> PyResult<Self> {
        let expected = "the JSON text or the dict of GET /OfficeHours";
        let office_hours = match office_hours.cast::<PyString>() {
            Ok(_) => office_hours,
            Err(_) => mapping_arg("office_hours", office_hours, expected)?,
        };
        let oh: OfficeHours = json_as(office_hours, "not an XAPI OfficeHours object")?;
        Ok(PyBusinessHours(oh.to_business_hours().py()?))
    }

    /// Monday to Friday, one interval (`"09:00-17:00"`), in an IANA timezone.
    #[staticmethod]
    #[pyo3(signature = (timezone, interval = "09:00-17:00".to_owned()),
        text_signature = "(timezone, interval='09:00-17:00')")]
    fn weekdays(
        #[pyo3(from_py_with = arg::timezone)] timezone: String,
        #[pyo3(from_py_with = arg::interval)] interval: String,
    ) -> PyResult<Self> {
        let hours = BusinessHours::from_codes(&timezone, Some(&interval), false);
        Ok(PyBusinessHours(hours.py()?))
    }

    /// Open all the time.
    #[staticmethod]
    fn always(#[pyo3(from_py_with = arg::timezone)] timezone: String) -> PyResult<Self> {
        Ok(PyBusinessHours(
            BusinessHours::from_codes(&timezone, None, true).py()?,
        ))
    }

    /// Never open.
    #[staticmethod]
    fn never(#[pyo3(from_py_with = arg::timezone)] timezone: String) -> PyResult<Self> {
        Ok(PyBusinessHours(
            BusinessHours::from_codes(&timezone, None, false).py()?,
        ))
    }

    /// The schedule's IANA timezone name.
    #[getter]
    fn timezone(&self) -> &'static str {
        self.0.timezone().name()
    }

    /// Whether the office is open at `at` (an aware datetime).
    fn is_open(&self, #[pyo3(from_py_with = arg::at)] at: DateTime<Utc>) -> bool {
        self.0.is_open(at)
    }

    /// Open or closed at `at`, and why: `{"open", "reason", "name"}`.
    fn state<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = arg::at)] at: DateTime<Utc>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let s = self.0.state(at);
        dict!(py; "open" => s.is_open(), "reason" => s.code(), "name" => s.name())
    }

    /// The next change after `at`: `(when, opens)`, or None.
    fn next_change(
        &self,
        #[pyo3(from_py_with = arg::at)] at: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, bool)> {
        self.0.next_change(at)
    }

    fn __repr__(&self) -> String {
        format!(
            "BusinessHours(timezone={})",
            repr_str(self.0.timezone().name())
        )
    }
}
