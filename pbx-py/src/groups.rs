//! `pbx.GroupMonitor`, `pbx.MonitorState` and `pbx.evaluate_groups` over `pbx_core::groups`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pbx_core::groups::{
    Alert, AlertAction, AlertId, AlertRequest, CallGroup, GroupKind, GroupMember, GroupMonitor,
    MonitorConfig, MonitorState, OpenAlert,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::arg;
use crate::config::PyConfig;
use crate::convert::{dict, json_as, mapping_arg, to_py_json};
use crate::hours::PyBusinessHours;

/// The coverage monitor's settings: business hours, debounce, include/exclude.
#[pyclass(name = "GroupMonitor", module = "pbx", frozen)]
pub(crate) struct PyGroupMonitor(GroupMonitor);

#[pymethods]
impl PyGroupMonitor {
    #[new]
    #[pyo3(signature = (hours, debounce = 2, include = Vec::new(), exclude = Vec::new(),
        group_hours = HashMap::new()))]
    fn new(
        #[pyo3(from_py_with = arg::hours)] hours: PyBusinessHours,
        #[pyo3(from_py_with = arg::debounce)] debounce: u32,
        #[pyo3(from_py_with = arg::include)] include: Vec<String>,
        #[pyo3(from_py_with = arg::exclude)] exclude: Vec<String>,
        #[pyo3(from_py_with = arg::group_hours)] group_hours: HashMap<String, PyBusinessHours>,
    ) -> Self {
        let config = MonitorConfig {
            debounce,
            include,
            exclude,
        };
        let group_hours = group_hours.into_iter().map(|(id, h)| (id, h.0));
        let inner = GroupMonitor::new(hours.0)
            .with_config(config)
            .with_group_hours(group_hours.collect());
        PyGroupMonitor(inner)
    }

    /// The monitor a loaded `Config` describes (`groups` and `business_hours`). `hours` gives
    /// the business hours when the configuration takes them from XAPI (or overrides them);
    /// without either, `ValueError`.
    #[staticmethod]
    #[pyo3(signature = (config, hours = None))]
    fn from_config(
        #[pyo3(from_py_with = arg::config)] config: PyRef<'_, PyConfig>,
        #[pyo3(from_py_with = arg::hours)] hours: Option<PyBusinessHours>,
    ) -> PyResult<Self> {
        let inner = GroupMonitor::from_config(&config.inner, hours.map(|h| h.0))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyGroupMonitor(inner))
    }

    /// `evaluate_groups(self, groups, state, now)`.
    fn evaluate<'py>(
        slf: PyRef<'py, Self>,
        groups: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = arg::state)] state: PyRefMut<'py, PyMonitorState>,
        #[pyo3(from_py_with = arg::now)] now: DateTime<Utc>,
    ) -> PyResult<Bound<'py, PyList>> {
        evaluate_groups(slf, groups, state, now)
    }

    fn __repr__(&self) -> String {
        let c = self.0.config();
        format!(
            "GroupMonitor(debounce={}, include={:?}, exclude={:?})",
            c.debounce, c.include, c.exclude
        )
    }
}

/// What the monitor remembers between checks (serializable).
#[pyclass(name = "MonitorState", module = "pbx")]
#[derive(Default)]
pub(crate) struct PyMonitorState(MonitorState);

#[pymethods]
impl PyMonitorState {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// The state as JSON text.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.0).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// A state saved by `to_json`. Raises `ValueError` for anything else.
    #[staticmethod]
    fn from_json(#[pyo3(from_py_with = arg::text)] text: String) -> PyResult<Self> {
        let inner = serde_json::from_str(&text)
            .map_err(|e| PyValueError::new_err(format!("not a monitor state: {e}")))?;
        Ok(PyMonitorState(inner))
    }

    /// Records the backend's id of the alert just opened for `group_id`.
    fn record_alert_id(
        &mut self,
        #[pyo3(from_py_with = arg::group_id)] group_id: String,
        #[pyo3(from_py_with = arg::alert_id)] alert_id: String,
    ) {
        self.0.record_alert_id(&group_id, AlertId(alert_id));
    }

    /// Records the backend's answer to an "open" action; False: not the group's own alert.
    fn record_opened(
        &mut self,
        request: &Bound<'_, PyAny>,
        alert: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let request = mapping_arg("request", request, "the `request` of an open action")?;
        let request: AlertRequest = json_as(request, "not the request of an open action")?;
        let alert: Alert = json_as(
            mapping_arg("alert", alert, "an alert of the backend")?,
            "not an alert",
        )?;
        Ok(self.0.record_opened(&request, &alert))
    }

    /// Undoes an "open" action whose delivery failed, so the next check tries again.
    fn open_failed(&mut self, #[pyo3(from_py_with = arg::group_id)] group_id: String) {
        self.0.open_failed(&group_id);
    }

    /// Undoes a "resolve" action whose delivery failed.
    fn resolve_failed(
        &mut self,
        #[pyo3(from_py_with = arg::group_id)] group_id: String,
        alert: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let alert = mapping_arg("alert", alert, "the `alert` of a resolve action")?;
        let alert: OpenAlert = json_as(alert, "not an alert of a resolve action")?;
        self.0.resolve_failed(&group_id, alert);
        Ok(())
    }

    /// Takes over the alerts the backend reports as active.
    fn adopt_active(
        &mut self,
        alerts: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = arg::now)] now: DateTime<Utc>,
    ) -> PyResult<()> {
        let alerts: Vec<Alert> = json_as(alerts, "not a list of alerts")?;
        self.0.adopt_active(&alerts, now);
        Ok(())
    }

    /// The ids of the groups with an open alert.
    #[getter]
    fn open_alerts(&self) -> Vec<String> {
        let open = self.0.groups.iter().filter(|(_, g)| g.alert.is_some());
        open.map(|(id, _)| id.clone()).collect()
    }

    fn __repr__(&self) -> String {
        format!("MonitorState(<{} groups>)", self.0.groups.len())
    }
}

/// A group dict of `evaluate_groups` → the core's `CallGroup`.
fn group_from_dict(d: &Bound<'_, PyAny>) -> PyResult<CallGroup> {
    let kind: String = d.get_item("kind")?.extract()?;
    let kind: GroupKind = kind
        .parse()
        .map_err(|e: pbx_core::Error| PyValueError::new_err(e.to_string()))?;
    let members = d.get_item("members")?.try_iter()?.map(|m| {
        let m = m?;
        Ok(GroupMember {
            extension: m.get_item("extension")?.extract()?,
            name: m
                .cast::<PyDict>()?
                .get_item("name")?
                .map(|n| n.extract())
                .transpose()?
                .flatten(),
            available: m.get_item("available")?.extract()?,
        })
    });
    Ok(CallGroup {
        id: d.get_item("id")?.extract()?,
        name: d.get_item("name")?.extract()?,
        kind,
        members: members.collect::<PyResult<_>>()?,
    })
}

/// One coverage check at `now`: updates `state`, returns the actions to carry out.
#[pyfunction]
pub(crate) fn evaluate_groups<'py>(
    #[pyo3(from_py_with = arg::monitor)] monitor: PyRef<'py, PyGroupMonitor>,
    groups: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = arg::state)] mut state: PyRefMut<'py, PyMonitorState>,
    #[pyo3(from_py_with = arg::now)] now: DateTime<Utc>,
) -> PyResult<Bound<'py, PyList>> {
    let py = groups.py();
    let groups = groups.try_iter()?.map(|g| group_from_dict(&g?));
    let groups: Vec<CallGroup> = groups.collect::<PyResult<_>>()?;
    let out = PyList::empty(py);
    for action in monitor.0.evaluate(now, &groups, &mut state.0) {
        let d = dict!(py; "action" => action.code(), "group_id" => action.group_id())?;
        match action {
            AlertAction::Open(req) => d.set_item("request", to_py_json(py, &req)?)?,
            AlertAction::Resolve { alert, reason, .. } => {
                d.set_item("alert_type", alert.alert_type.to_string())?;
                d.set_item("alert_id", alert.alert_id.clone().map(|id| id.0))?;
                d.set_item("reason", reason.code())?;
                d.set_item("alert", to_py_json(py, &alert)?)?;
            }
            _ => {}
        }
        out.append(d)?;
    }
    Ok(out)
}
