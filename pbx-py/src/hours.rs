//! `pbx.BusinessHours` over `pbx_core::hours`.

use chrono::{DateTime, Utc};
use pbx_core::call::parse_timezone;
use pbx_core::hours::BusinessHours;
use pbx_core::hours::xapi::OfficeHours;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::PyConfig;
use crate::convert::{json_arg, repr_str, utc};
use crate::error::CoreResult;

/// Business hours: a weekly schedule in one IANA timezone with holidays, closures, openings
/// and breaks. Queries take an aware `datetime` (a naive one raises `ValueError`) and never
/// read a clock.
#[pyclass(name = "BusinessHours", module = "pbx", frozen, from_py_object)]
#[derive(Clone)]
pub(crate) struct PyBusinessHours {
    pub(crate) inner: BusinessHours,
}

#[pymethods]
impl PyBusinessHours {
    /// The `business_hours` schedule of a loaded `Config`, or None when it has none: the
    /// section is absent, or says `from_xapi: true` (`config.business_hours_source` is then
    /// `"xapi"`: build them with `BusinessHours.from_xapi` from `GET /OfficeHours`).
    #[staticmethod]
    fn from_config(
        #[pyo3(from_py_with = crate::arg::config)] config: PyRef<'_, PyConfig>,
    ) -> Option<Self> {
        config
            .inner
            .business_hours_schedule()
            .map(|h| PyBusinessHours { inner: h.clone() })
    }

    /// The business hours of a group that has its own in a loaded `Config`
    /// (`groups.hours.<group_id>`), or None (`config.groups["groups_with_own_hours"]` lists
    /// those ids).
    #[staticmethod]
    fn from_config_group(
        #[pyo3(from_py_with = crate::arg::config)] config: PyRef<'_, PyConfig>,
        #[pyo3(from_py_with = crate::arg::group_id)] group_id: String,
    ) -> Option<Self> {
        config
            .inner
            .groups
            .hours
            .get(&group_id)
            .map(|h| PyBusinessHours { inner: h.clone() })
    }

    /// From 3CX XAPI `GET /OfficeHours`: the JSON text or the decoded dict. Raises
    /// `ValueError` for JSON that is not an OfficeHours object, `ConfigError` for unusable
    /// values (an unknown time zone, a bad period).
    #[staticmethod]
    fn from_xapi(py: Python<'_>, office_hours: &Bound<'_, PyAny>) -> PyResult<Self> {
        let office_hours = if office_hours.cast::<pyo3::types::PyString>().is_ok() {
            office_hours
        } else {
            crate::convert::mapping_arg(
                "office_hours",
                office_hours,
                "the JSON text or the dict of GET /OfficeHours",
            )?
        };
        let oh: OfficeHours = serde_json::from_value(json_arg(office_hours)?)
            .map_err(|e| PyValueError::new_err(format!("not an XAPI OfficeHours object: {e}")))?;
        Ok(PyBusinessHours {
            inner: oh.to_business_hours().py(py)?,
        })
    }

    /// Monday to Friday, one interval (`"09:00-17:00"`), in an IANA timezone.
    #[staticmethod]
    #[pyo3(signature = (timezone, interval = "09:00-17:00".to_owned()),
        text_signature = "(timezone, interval='09:00-17:00')")]
    fn weekdays(
        py: Python<'_>,
        #[pyo3(from_py_with = crate::arg::timezone)] timezone: String,
        #[pyo3(from_py_with = crate::arg::interval)] interval: String,
    ) -> PyResult<Self> {
        let tz = parse_timezone("timezone", &timezone).py(py)?;
        Ok(PyBusinessHours {
            inner: BusinessHours::weekdays(tz, interval.parse().py(py)?),
        })
    }

    /// Open all the time.
    #[staticmethod]
    fn always(
        py: Python<'_>,
        #[pyo3(from_py_with = crate::arg::timezone)] timezone: String,
    ) -> PyResult<Self> {
        let tz = parse_timezone("timezone", &timezone).py(py)?;
        Ok(PyBusinessHours {
            inner: BusinessHours::always(tz),
        })
    }

    /// Never open.
    #[staticmethod]
    fn never(
        py: Python<'_>,
        #[pyo3(from_py_with = crate::arg::timezone)] timezone: String,
    ) -> PyResult<Self> {
        let tz = parse_timezone("timezone", &timezone).py(py)?;
        Ok(PyBusinessHours {
            inner: BusinessHours::never(tz),
        })
    }

    /// The schedule's IANA timezone name.
    #[getter]
    fn timezone(&self) -> &'static str {
        self.inner.timezone().name()
    }

    /// Whether the office is open at `at` (an aware datetime).
    fn is_open(&self, at: &Bound<'_, PyAny>) -> PyResult<bool> {
        let at = utc(at).map_err(|e| crate::convert::for_arg(at.py(), "at", e))?;
        Ok(self.inner.is_open(at))
    }

    /// Open or closed at `at` (an aware datetime), and why: a dict `{"open": bool, "reason":
    /// str, "name": str | None}` with `reason` pbx-core's `HoursState` code (`"interval"`,
    /// `"extra_opening"`, `"always"` when open; `"outside_hours"`, `"holiday"`,
    /// `"extra_closure"`, `"break"`, `"never"` when closed) and `name` the holiday's or
    /// closure's name when that is the reason.
    fn state<'py>(&self, at: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        let py = at.py();
        let at = utc(at).map_err(|e| crate::convert::for_arg(py, "at", e))?;
        let s = self.inner.state(at);
        let d = PyDict::new(py);
        d.set_item("open", s.is_open())?;
        d.set_item("reason", s.code())?;
        d.set_item("name", s.name())?;
        Ok(d)
    }

    /// The next change after `at`: `(when, opens)` with `when` an aware UTC datetime and
    /// `opens` True when the office opens then; None when nothing changes any more.
    fn next_change(&self, at: &Bound<'_, PyAny>) -> PyResult<Option<(DateTime<Utc>, bool)>> {
        let at = utc(at).map_err(|e| crate::convert::for_arg(at.py(), "at", e))?;
        Ok(self.inner.next_change(at))
    }

    fn __repr__(&self) -> String {
        format!(
            "BusinessHours(timezone={})",
            repr_str(self.inner.timezone().name())
        )
    }
}
