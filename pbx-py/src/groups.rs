//! `pbx.GroupMonitor`, `pbx.MonitorState` and `pbx.evaluate_groups` over `pbx_core::groups`.

use std::collections::HashMap;

use pbx_core::groups::{
    Alert, AlertAction, AlertId, AlertRequest, CallGroup, GroupKind, GroupMember, GroupMonitor,
    MonitorConfig, MonitorState, OpenAlert,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::config::PyConfig;
use crate::convert::{json_arg, to_py_json, utc};
use crate::hours::PyBusinessHours;

/// The coverage monitor's settings: business hours (per group where given), `debounce`
/// (consecutive failing checks before an alert opens), and which group ids to watch
/// (`include`, empty: all) or never watch (`exclude`).
#[pyclass(name = "GroupMonitor", module = "pbx", frozen)]
pub(crate) struct PyGroupMonitor {
    inner: GroupMonitor,
}

#[pymethods]
impl PyGroupMonitor {
    #[new]
    #[pyo3(signature = (hours, debounce = 2, include = Vec::new(), exclude = Vec::new(),
        group_hours = HashMap::new()))]
    fn new(
        #[pyo3(from_py_with = crate::arg::hours)] hours: PyBusinessHours,
        #[pyo3(from_py_with = crate::arg::debounce)] debounce: u32,
        #[pyo3(from_py_with = crate::arg::include)] include: Vec<String>,
        #[pyo3(from_py_with = crate::arg::exclude)] exclude: Vec<String>,
        #[pyo3(from_py_with = crate::arg::group_hours)] group_hours: HashMap<
            String,
            PyBusinessHours,
        >,
    ) -> Self {
        let inner = GroupMonitor::new(hours.inner)
            .with_config(MonitorConfig {
                debounce,
                include,
                exclude,
            })
            .with_group_hours(
                group_hours
                    .into_iter()
                    .map(|(id, h)| (id, h.inner))
                    .collect(),
            );
        PyGroupMonitor { inner }
    }

    /// The monitor a loaded `Config` describes (`groups` and `business_hours`). `hours` gives
    /// the business hours when the configuration takes them from XAPI (or overrides them);
    /// without either, `ValueError`.
    #[staticmethod]
    #[pyo3(signature = (config, hours = None))]
    fn from_config(
        #[pyo3(from_py_with = crate::arg::config)] config: PyRef<'_, PyConfig>,
        #[pyo3(from_py_with = crate::arg::hours)] hours: Option<PyBusinessHours>,
    ) -> PyResult<Self> {
        let inner = GroupMonitor::from_config(&config.inner, hours.map(|h| h.inner))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyGroupMonitor { inner })
    }

    /// One coverage check at `now` (an aware datetime) over a snapshot of the groups: the
    /// same as `evaluate_groups(monitor, groups, state, now)`, which documents the shapes.
    fn evaluate<'py>(
        &self,
        groups: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = crate::arg::state)] mut state: PyRefMut<'py, PyMonitorState>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        evaluate_with(&self.inner, groups, &mut state, now)
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "GroupMonitor(debounce={}, include={:?}, exclude={:?})",
            c.debounce, c.include, c.exclude
        )
    }
}

/// What the monitor remembers between checks (failure counts, open alerts). Keep it across
/// runs with `to_json()` / `MonitorState.from_json(text)` so a restart neither posts an alert
/// again nor forgets one.
#[pyclass(name = "MonitorState", module = "pbx")]
#[derive(Default)]
pub(crate) struct PyMonitorState {
    inner: MonitorState,
}

#[pymethods]
impl PyMonitorState {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// The state as JSON text.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// A state saved by `to_json`. Raises `ValueError` for anything else.
    #[staticmethod]
    fn from_json(#[pyo3(from_py_with = crate::arg::text)] text: String) -> PyResult<Self> {
        Ok(PyMonitorState {
            inner: serde_json::from_str(&text)
                .map_err(|e| PyValueError::new_err(format!("not a monitor state: {e}")))?,
        })
    }

    /// Records the backend's id of the alert just opened for `group_id`.
    fn record_alert_id(
        &mut self,
        #[pyo3(from_py_with = crate::arg::group_id)] group_id: String,
        #[pyo3(from_py_with = crate::arg::alert_id)] alert_id: String,
    ) {
        self.inner.record_alert_id(&group_id, AlertId(alert_id));
    }

    /// Records the backend's answer to an "open" action: `request` is the action's `request`,
    /// `alert` the alert the backend answered (a dict). True when it is the group's own alert
    /// (same `callGroupId` and `alertType`: its id is recorded); otherwise the open is undone
    /// (the next check posts again) and False is returned — never resolve that alert. Raises
    /// `ValueError` for a `request` or `alert` of another shape.
    fn record_opened(
        &mut self,
        request: &Bound<'_, PyAny>,
        alert: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let request =
            crate::convert::mapping_arg("request", request, "the `request` of an open action")?;
        let request: AlertRequest = serde_json::from_value(json_arg(request)?).map_err(|e| {
            PyValueError::new_err(format!("not the request of an open action: {e}"))
        })?;
        let alert = crate::convert::mapping_arg("alert", alert, "an alert of the backend")?;
        let alert: Alert = serde_json::from_value(json_arg(alert)?)
            .map_err(|e| PyValueError::new_err(format!("not an alert: {e}")))?;
        Ok(self.inner.record_opened(&request, &alert))
    }

    /// Undoes an "open" action whose delivery failed, so the next check tries again.
    fn open_failed(&mut self, #[pyo3(from_py_with = crate::arg::group_id)] group_id: String) {
        self.inner.open_failed(&group_id);
    }

    /// Undoes a "resolve" action whose delivery failed (`alert` is the action's `alert`), so
    /// the next check tries again. Not for a resolve the backend answered 404 or 410: that
    /// alert is gone, and the monitor has already forgotten it. Raises `ValueError` for an `alert` of another shape.
    fn resolve_failed(
        &mut self,
        #[pyo3(from_py_with = crate::arg::group_id)] group_id: String,
        alert: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let alert = crate::convert::mapping_arg("alert", alert, "the `alert` of a resolve action")?;
        let alert: OpenAlert = serde_json::from_value(json_arg(alert)?)
            .map_err(|e| PyValueError::new_err(format!("not an alert of a resolve action: {e}")))?;
        self.inner.resolve_failed(&group_id, alert);
        Ok(())
    }

    /// Takes over alerts the backend reports as active (a list of its alert objects, or the
    /// JSON text), so they are resolved later rather than posted again.
    fn adopt_active(&mut self, alerts: &Bound<'_, PyAny>, now: &Bound<'_, PyAny>) -> PyResult<()> {
        let alerts: Vec<Alert> = serde_json::from_value(json_arg(alerts)?)
            .map_err(|e| PyValueError::new_err(format!("not a list of alerts: {e}")))?;
        let now = utc(now).map_err(|e| crate::convert::for_arg(now.py(), "now", e))?;
        self.inner.adopt_active(&alerts, now);
        Ok(())
    }

    /// The ids of the groups with an open alert.
    #[getter]
    fn open_alerts(&self) -> Vec<String> {
        self.inner
            .groups
            .iter()
            .filter(|(_, g)| g.alert.is_some())
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("MonitorState(<{} groups>)", self.inner.groups.len())
    }
}

fn group_from_dict(d: &Bound<'_, PyAny>) -> PyResult<CallGroup> {
    let kind: String = d.get_item("kind")?.extract()?;
    let kind: GroupKind = kind
        .parse()
        .map_err(|e: pbx_core::Error| PyValueError::new_err(e.to_string()))?;
    let members = d
        .get_item("members")?
        .try_iter()?
        .map(|m| {
            let m = m?;
            let name = match m.cast::<PyDict>()?.get_item("name")? {
                Some(n) => n.extract()?,
                None => None,
            };
            Ok(GroupMember {
                extension: m.get_item("extension")?.extract()?,
                name,
                available: m.get_item("available")?.extract()?,
            })
        })
        .collect::<PyResult<_>>()?;
    Ok(CallGroup {
        id: d.get_item("id")?.extract()?,
        name: d.get_item("name")?.extract()?,
        kind,
        members,
    })
}

/// One coverage check at `now` (an aware datetime) over a snapshot of the groups, each a
/// dict `{"id", "name", "kind": "queue" | "ring_group", "members": [{"extension", "name"
/// (optional), "available"}]}`. Updates `state` in place and returns the actions to carry
/// out, each a dict: `{"action": "open", "group_id", "request"}` with `request` the exact
/// `POST /api/alerts/call-groups` body (camelCase), or `{"action": "resolve", "group_id",
/// "alert_type", "alert_id" (or None), "reason": "staffed" | "closed" | "excluded" | "gone",
/// "alert"}` with `alert` the open alert as the state held it (pass it to
/// `MonitorState.resolve_failed` when the resolve could not be delivered).
#[pyfunction]
pub(crate) fn evaluate_groups<'py>(
    #[pyo3(from_py_with = crate::arg::monitor)] monitor: PyRef<'py, PyGroupMonitor>,
    groups: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = crate::arg::state)] mut state: PyRefMut<'py, PyMonitorState>,
    now: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    evaluate_with(&monitor.inner, groups, &mut state, now)
}

/// `evaluate_groups` / `GroupMonitor.evaluate` with the monitor and state borrowed.
fn evaluate_with<'py>(
    monitor: &GroupMonitor,
    groups: &Bound<'py, PyAny>,
    state: &mut PyMonitorState,
    now: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let py = groups.py();
    let groups: Vec<CallGroup> = groups
        .try_iter()?
        .map(|g| group_from_dict(&g?))
        .collect::<PyResult<_>>()?;
    let now = utc(now).map_err(|e| crate::convert::for_arg(now.py(), "now", e))?;
    let actions = monitor.evaluate(now, &groups, &mut state.inner);
    let out = PyList::empty(py);
    for action in actions {
        let d = PyDict::new(py);
        d.set_item("action", action.code())?;
        d.set_item("group_id", action.group_id())?;
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
