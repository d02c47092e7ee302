//! `pbx_core::groups`: call-group coverage evaluation (`evaluateGroups`, `GroupMonitor`).

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::groups::{self as core, AlertAction};

use crate::args::{JsonArray, JsonObject, arg, opt_arg};
use crate::config::Config;
use crate::error::{OrThrow, invalid_argument};
use crate::hours::{BusinessHours, instant};

/// A member of a call group.
#[napi(object)]
pub struct GroupMember {
    /// The member's extension.
    pub extension: String,
    /// Display name.
    pub name: Option<String>,
    /// Logged in, registered and in an available profile.
    pub available: bool,
}

/// A snapshot of one call group.
#[napi(object)]
pub struct CallGroup {
    /// The group's number, used as `callGroupId`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `queue` or `ring_group` (pbx-core's `GroupKind` codes; `ringGroup` is accepted too).
    #[napi(ts_type = "GroupKind | 'ringGroup'")]
    pub kind: String,
    /// Its members.
    pub members: Vec<GroupMember>,
}

/// The call API's `POST /api/alerts/call-groups` body.
#[napi(object)]
pub struct AlertRequest {
    /// The group's id.
    pub call_group_id: String,
    /// The group's name.
    pub call_group_name: String,
    /// `NO_ASSIGNED_USERS` or `NO_AVAILABLE_USERS`.
    pub alert_type: String,
    /// The message.
    pub alert_message: String,
}

/// What to do: post an alert (`open`) or resolve one (`resolve`).
#[napi(object)]
pub struct GroupAction {
    /// `open` or `resolve` (pbx-core's `AlertAction` codes).
    #[napi(ts_type = "AlertActionCode")]
    pub action: String,
    /// The group's id.
    pub group_id: String,
    /// The alert's type.
    pub alert_type: String,
    /// For `open`: the request to post.
    pub request: Option<AlertRequest>,
    /// For `resolve`: the backend's alert id, when known (else find it among the active
    /// alerts by group id).
    pub alert_id: Option<String>,
    /// For `resolve`: pbx-core's `ResolveReason` code (`staffed`, `closed`, `excluded` or
    /// `gone`).
    #[napi(ts_type = "ResolveReason")]
    pub reason: Option<String>,
    /// For `resolve`: the alert being resolved, as the monitor state holds it (pass it to
    /// `alertResolveFailed` when the resolve could not be delivered).
    #[napi(ts_type = "Record<string, unknown>")]
    pub alert: Option<serde_json::Value>,
}

/// The result of one check: the actions and the monitor state to keep for the next check.
#[napi(object)]
pub struct GroupEvaluation {
    /// What to do, in order.
    pub actions: Vec<GroupAction>,
    /// The new state (JSON-serializable; store it to survive restarts).
    #[napi(ts_type = "Record<string, unknown>")]
    pub state: serde_json::Value,
}

/// Settings of the coverage monitor.
#[napi(object)]
#[derive(Default)]
pub struct MonitorOptions {
    /// Consecutive failing checks before an alert opens (default 2).
    pub debounce: Option<u32>,
    /// Only these group ids (default: all).
    pub include: Option<Vec<String>>,
    /// Never these group ids.
    pub exclude: Option<Vec<String>>,
}

fn read_state(env: &Env, state: Option<serde_json::Value>) -> Result<core::MonitorState> {
    match state {
        None | Some(serde_json::Value::Null) => Ok(core::MonitorState::default()),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| invalid_argument(env, format!("monitor state: {e}"))),
    }
}

fn write_state(env: &Env, state: &core::MonitorState) -> Result<serde_json::Value> {
    serde_json::to_value(state).map_err(|e| invalid_argument(env, format!("monitor state: {e}")))
}

fn to_core_group(env: &Env, g: CallGroup) -> Result<core::CallGroup> {
    let kind = g
        .kind
        .parse::<core::GroupKind>()
        .map_err(|e| invalid_argument(env, format!("group {}: {e}", g.id)))?;
    Ok(core::CallGroup {
        id: g.id,
        name: g.name,
        kind,
        members: g
            .members
            .into_iter()
            .map(|m| core::GroupMember {
                extension: m.extension,
                name: m.name,
                available: m.available,
            })
            .collect(),
    })
}

fn to_action(a: AlertAction) -> GroupAction {
    let mut out = GroupAction {
        action: a.code().to_owned(),
        group_id: a.group_id().to_owned(),
        alert_type: String::new(),
        request: None,
        alert_id: None,
        reason: None,
        alert: None,
    };
    match a {
        AlertAction::Open(r) => {
            out.alert_type = String::from(r.alert_type.clone());
            out.request = Some(AlertRequest {
                call_group_id: r.call_group_id,
                call_group_name: r.call_group_name,
                alert_type: String::from(r.alert_type),
                alert_message: r.alert_message,
            });
        }
        AlertAction::Resolve { alert, reason, .. } => {
            out.alert_type = String::from(alert.alert_type.clone());
            out.alert_id = alert.alert_id.as_ref().map(ToString::to_string);
            out.alert = serde_json::to_value(&alert).ok();
            out.reason = Some(reason.code().to_owned());
        }
        _ => {}
    }
    out
}

/// The coverage monitor: business hours (and per-group hours) plus settings.
#[napi]
pub struct GroupMonitor {
    inner: core::GroupMonitor,
}

#[napi]
impl GroupMonitor {
    /// A monitor with one set of business hours.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "BusinessHours")] hours: Unknown<'_>,
        #[napi(ts_arg_type = "MonitorOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> Result<Self> {
        let hours: ClassInstance<BusinessHours> = arg(&env, "new GroupMonitor", "hours", hours)?;
        let options = opt_arg(&env, "new GroupMonitor", "options", options)?;
        Ok(Self::with_options(&hours, options))
    }

    /// The monitor a configuration describes (`groups.debounce`, `include`, `exclude`, and
    /// `groups.hours` per group), with `hours` for every other group.
    #[napi(factory)]
    pub fn from_config(
        env: Env,
        #[napi(ts_arg_type = "Config")] config: Unknown<'_>,
        #[napi(ts_arg_type = "BusinessHours")] hours: Unknown<'_>,
    ) -> Result<Self> {
        let f = "GroupMonitor.fromConfig";
        let config: ClassInstance<Config> = arg(&env, f, "config", config)?;
        let hours: ClassInstance<BusinessHours> = arg(&env, f, "hours", hours)?;
        let inner = core::GroupMonitor::from_config(&config.inner, Some(hours.inner.clone()))
            .or_throw(&env)?;
        Ok(GroupMonitor { inner })
    }

    /// One check at `now` over a snapshot of the groups, from the previous `state` (`null`
    /// for the first check). Throws `PBX_INVALID_ARGUMENT` for a state or group it cannot
    /// read.
    #[napi]
    pub fn evaluate(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Array<CallGroup>")] groups: Unknown<'_>,
        #[napi(ts_arg_type = "Record<string, unknown> | null | undefined")] state: Option<
            Unknown<'_>,
        >,
        #[napi(ts_arg_type = "Date")] now: Unknown<'_>,
    ) -> Result<GroupEvaluation> {
        self.evaluate_args(&env, "GroupMonitor.evaluate", groups, state, now)
    }
}

impl GroupMonitor {
    /// `evaluate` with its arguments read for `function`.
    fn evaluate_args(
        &self,
        env: &Env,
        function: &str,
        groups: Unknown<'_>,
        state: Option<Unknown<'_>>,
        now: Unknown<'_>,
    ) -> Result<GroupEvaluation> {
        let groups: Vec<CallGroup> = arg(env, function, "groups", groups)?;
        let state = state_arg(env, function, state)?;
        let now = instant(env, &arg(env, function, "now", now)?)?;
        let env = *env;
        let mut state = read_state(&env, state)?;
        let groups = groups
            .into_iter()
            .map(|g| to_core_group(&env, g))
            .collect::<Result<Vec<_>>>()?;
        let actions = self.inner.evaluate(now, &groups, &mut state);
        let state = write_state(&env, &state)?;
        Ok(GroupEvaluation {
            actions: actions.into_iter().map(to_action).collect(),
            state,
        })
    }
}

/// One coverage check with one set of business hours: `new GroupMonitor(hours, options)
/// .evaluate(groups, state, now)`.
#[napi]
pub fn evaluate_groups(
    env: Env,
    #[napi(ts_arg_type = "BusinessHours")] hours: Unknown<'_>,
    #[napi(ts_arg_type = "Array<CallGroup>")] groups: Unknown<'_>,
    #[napi(ts_arg_type = "Record<string, unknown> | null | undefined")] state: Option<Unknown<'_>>,
    #[napi(ts_arg_type = "Date")] now: Unknown<'_>,
    #[napi(ts_arg_type = "MonitorOptions | undefined | null")] options: Option<Unknown<'_>>,
) -> Result<GroupEvaluation> {
    let f = "evaluateGroups";
    let hours: ClassInstance<BusinessHours> = arg(&env, f, "hours", hours)?;
    let options = opt_arg(&env, f, "options", options)?;
    GroupMonitor::with_options(&hours, options).evaluate_args(&env, f, groups, state, now)
}

/// The `state` argument of `function`: a monitor state object, or `null`/`undefined` for
/// the first check.
fn state_arg(
    env: &Env,
    function: &str,
    state: Option<Unknown<'_>>,
) -> Result<Option<serde_json::Value>> {
    Ok(opt_arg::<JsonObject>(env, function, "state", state)?.map(|s| s.0))
}

/// The monitor state with the backend's id of the alert just opened for `groupId` (after
/// posting an `open` action's request).
#[napi(ts_return_type = "Record<string, unknown>")]
pub fn record_alert_id(
    env: Env,
    #[napi(ts_arg_type = "Record<string, unknown> | null | undefined")] state: Option<Unknown<'_>>,
    #[napi(ts_arg_type = "string")] group_id: Unknown<'_>,
    #[napi(ts_arg_type = "string")] alert_id: Unknown<'_>,
) -> Result<serde_json::Value> {
    let f = "recordAlertId";
    let state = state_arg(&env, f, state)?;
    let group_id: String = arg(&env, f, "groupId", group_id)?;
    let alert_id: String = arg(&env, f, "alertId", alert_id)?;
    let mut s = read_state(&env, state)?;
    s.record_alert_id(&group_id, core::AlertId(alert_id));
    write_state(&env, &s)
}

/// What [`record_opened_alert`] returns.
#[napi(object)]
pub struct RecordedOpen {
    /// The new monitor state.
    #[napi(ts_type = "Record<string, unknown>")]
    pub state: serde_json::Value,
    /// Whether the backend's answer is the group's own alert (same `callGroupId` and
    /// `alertType`), whose id is now recorded. `false`: the open is undone (the next check
    /// posts again) — never resolve that alert.
    pub accepted: bool,
}

/// The monitor state after the backend answered an `open` action's `request` with `alert`:
/// its id recorded when it is the group's own alert (same `callGroupId` and `alertType`),
/// otherwise the open undone (`accepted: false`; the next check posts again).
#[napi]
pub fn record_opened_alert(
    env: Env,
    #[napi(ts_arg_type = "Record<string, unknown> | null | undefined")] state: Option<Unknown<'_>>,
    #[napi(ts_arg_type = "Record<string, unknown>")] request: Unknown<'_>,
    #[napi(ts_arg_type = "Record<string, unknown>")] alert: Unknown<'_>,
) -> Result<RecordedOpen> {
    let f = "recordOpenedAlert";
    let state = state_arg(&env, f, state)?;
    let JsonObject(request) = arg(&env, f, "request", request)?;
    let JsonObject(alert) = arg(&env, f, "alert", alert)?;
    let mut s = read_state(&env, state)?;
    let request: core::AlertRequest = serde_json::from_value(request)
        .map_err(|e| invalid_argument(&env, format!("request: {e}")))?;
    let alert: core::Alert =
        serde_json::from_value(alert).map_err(|e| invalid_argument(&env, format!("alert: {e}")))?;
    let accepted = s.record_opened(&request, &alert);
    Ok(RecordedOpen {
        state: write_state(&env, &s)?,
        accepted,
    })
}

/// The monitor state after an `open` action could not be posted: the next check tries again.
#[napi(ts_return_type = "Record<string, unknown>")]
pub fn alert_open_failed(
    env: Env,
    #[napi(ts_arg_type = "Record<string, unknown> | null | undefined")] state: Option<Unknown<'_>>,
    #[napi(ts_arg_type = "string")] group_id: Unknown<'_>,
) -> Result<serde_json::Value> {
    let f = "alertOpenFailed";
    let state = state_arg(&env, f, state)?;
    let group_id: String = arg(&env, f, "groupId", group_id)?;
    let mut s = read_state(&env, state)?;
    s.open_failed(&group_id);
    write_state(&env, &s)
}

/// The monitor state after a `resolve` action could not be delivered (`alert` is the action's
/// `alert`): the next check tries again. Not for a resolve answered 404 or 410: that alert is
/// gone, and the monitor has already forgotten it.
#[napi(ts_return_type = "Record<string, unknown>")]
pub fn alert_resolve_failed(
    env: Env,
    #[napi(ts_arg_type = "Record<string, unknown> | null | undefined")] state: Option<Unknown<'_>>,
    #[napi(ts_arg_type = "string")] group_id: Unknown<'_>,
    #[napi(ts_arg_type = "Record<string, unknown>")] alert: Unknown<'_>,
) -> Result<serde_json::Value> {
    let f = "alertResolveFailed";
    let state = state_arg(&env, f, state)?;
    let group_id: String = arg(&env, f, "groupId", group_id)?;
    let JsonObject(alert) = arg(&env, f, "alert", alert)?;
    let mut s = read_state(&env, state)?;
    let alert: core::OpenAlert =
        serde_json::from_value(alert).map_err(|e| invalid_argument(&env, format!("alert: {e}")))?;
    s.resolve_failed(&group_id, alert);
    write_state(&env, &s)
}

/// The monitor state taking over the alerts the backend reports as active
/// (`GET /api/alerts/call-groups?active=true`, as JSON), so they are resolved later rather than
/// posted again.
#[napi(ts_return_type = "Record<string, unknown>")]
pub fn adopt_active_alerts(
    env: Env,
    #[napi(ts_arg_type = "Record<string, unknown> | null | undefined")] state: Option<Unknown<'_>>,
    #[napi(ts_arg_type = "Array<Record<string, unknown>>")] alerts: Unknown<'_>,
    #[napi(ts_arg_type = "Date")] now: Unknown<'_>,
) -> Result<serde_json::Value> {
    let f = "adoptActiveAlerts";
    let state = state_arg(&env, f, state)?;
    let JsonArray(alerts) = arg(&env, f, "alerts", alerts)?;
    let now = instant(&env, &arg(&env, f, "now", now)?)?;
    let mut s = read_state(&env, state)?;
    let alerts: Vec<core::Alert> = serde_json::from_value(alerts)
        .map_err(|e| invalid_argument(&env, format!("alerts: {e}")))?;
    s.adopt_active(&alerts, now);
    write_state(&env, &s)
}

impl GroupMonitor {
    /// A monitor with one set of business hours and `options`.
    fn with_options(hours: &BusinessHours, options: Option<MonitorOptions>) -> Self {
        let o = options.unwrap_or_default();
        let mut config = core::MonitorConfig::default();
        if let Some(d) = o.debounce {
            config.debounce = d;
        }
        if let Some(v) = o.include {
            config.include = v;
        }
        if let Some(v) = o.exclude {
            config.exclude = v;
        }
        GroupMonitor {
            inner: core::GroupMonitor::new(hours.inner.clone()).with_config(config),
        }
    }
}
