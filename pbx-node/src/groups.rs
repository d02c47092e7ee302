//! `pbx_core::groups`: call-group coverage evaluation (`evaluateGroups`, `GroupMonitor`).

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::groups as core;
use pbx_core::views::ActionView;
use serde::Serialize;

use crate::Js;
use crate::args::{JsonArray, JsonObject, arg, opt_arg};
use crate::config::Config;
use crate::error::{OrThrow, from_json, invalid_argument};
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

/// `GroupEvaluation`: the actions, in order, and the monitor state to keep for the next check.
#[derive(Serialize)]
pub struct Evaluation {
    actions: Vec<ActionView>,
    state: serde_json::Value,
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
        Some(v) => from_json(env, "monitor state", v),
    }
}

fn write_state(env: &Env, state: &core::MonitorState) -> Result<serde_json::Value> {
    serde_json::to_value(state).map_err(|e| invalid_argument(env, format!("monitor state: {e}")))
}

/// The monitor state `state` (`null` for none yet) after `update`, as JSON.
fn updated(
    env: &Env,
    state: Option<serde_json::Value>,
    update: impl FnOnce(&mut core::MonitorState) -> Result<()>,
) -> Result<serde_json::Value> {
    let mut s = read_state(env, state)?;
    update(&mut s)?;
    write_state(env, &s)
}

fn to_core_group(env: &Env, g: CallGroup) -> Result<core::CallGroup> {
    let kind = g
        .kind
        .parse::<core::GroupKind>()
        .map_err(|e| invalid_argument(env, format!("group {}: {e}", g.id)))?;
    let member = |m: GroupMember| core::GroupMember {
        extension: m.extension,
        name: m.name,
        available: m.available,
    };
    let members = g.members.into_iter().map(member).collect();
    Ok(core::CallGroup {
        id: g.id,
        name: g.name,
        kind,
        members,
    })
}

/// The coverage monitor: business hours (and per-group hours) plus settings.
#[napi]
pub struct GroupMonitor {
    inner: core::GroupMonitor,
}

#[napi]
impl GroupMonitor {
    /// A monitor with one set of business hours.
    #[napi(
        constructor,
        ts_args_type = "hours: BusinessHours, options?: MonitorOptions | undefined | null"
    )]
    pub fn new(env: Env, hours: Unknown<'_>, options: Option<Unknown<'_>>) -> Result<Self> {
        let hours: ClassInstance<BusinessHours> = arg(&env, "new GroupMonitor", "hours", hours)?;
        let options = opt_arg(&env, "new GroupMonitor", "options", options)?;
        Ok(Self::with_options(&hours, options))
    }

    /// The monitor a configuration describes (`groups.debounce`, `include`, `exclude`, and
    /// `groups.hours` per group), with `hours` for every other group.
    #[napi(factory, ts_args_type = "config: Config, hours: BusinessHours")]
    pub fn from_config(env: Env, config: Unknown<'_>, hours: Unknown<'_>) -> Result<Self> {
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
    #[napi(
        ts_args_type = "groups: Array<CallGroup>, state: Record<string, unknown> | null | undefined, now: Date",
        ts_return_type = "GroupEvaluation"
    )]
    pub fn evaluate(
        &self,
        env: Env,
        groups: Unknown<'_>,
        state: Option<Unknown<'_>>,
        now: Unknown<'_>,
    ) -> Result<Js<Evaluation>> {
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
    ) -> Result<Js<Evaluation>> {
        let groups: Vec<CallGroup> = arg(env, function, "groups", groups)?;
        let state = state_arg(env, function, state)?;
        let now = instant(env, function, "now", now)?;
        let env = *env;
        let mut state = read_state(&env, state)?;
        let groups = groups
            .into_iter()
            .map(|g| to_core_group(&env, g))
            .collect::<Result<Vec<_>>>()?;
        let actions = self.inner.evaluate(now, &groups, &mut state);
        let state = write_state(&env, &state)?;
        let actions = actions.into_iter().map(ActionView::from).collect();
        Ok(Js(Evaluation { actions, state }))
    }
}

/// One coverage check with one set of business hours: `new GroupMonitor(hours, options)
/// .evaluate(groups, state, now)`.
#[napi(
    ts_args_type = "hours: BusinessHours, groups: Array<CallGroup>, state: Record<string, unknown> | null | undefined, now: Date, options?: MonitorOptions | undefined | null",
    ts_return_type = "GroupEvaluation"
)]
pub fn evaluate_groups(
    env: Env,
    hours: Unknown<'_>,
    groups: Unknown<'_>,
    state: Option<Unknown<'_>>,
    now: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Result<Js<Evaluation>> {
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
#[napi(
    ts_return_type = "Record<string, unknown>",
    ts_args_type = "state: Record<string, unknown> | null | undefined, groupId: string, alertId: string"
)]
pub fn record_alert_id(
    env: Env,
    state: Option<Unknown<'_>>,
    group_id: Unknown<'_>,
    alert_id: Unknown<'_>,
) -> Result<serde_json::Value> {
    let f = "recordAlertId";
    let state = state_arg(&env, f, state)?;
    let group_id: String = arg(&env, f, "groupId", group_id)?;
    let alert_id: String = arg(&env, f, "alertId", alert_id)?;
    updated(&env, state, |s| {
        s.record_alert_id(&group_id, core::AlertId(alert_id));
        Ok(())
    })
}

/// `RecordedOpen`: what [`record_opened_alert`] returns.
#[derive(Serialize)]
pub struct RecordedOpen {
    state: serde_json::Value,
    accepted: bool,
}

/// The monitor state after the backend answered an `open` action's `request` with `alert`:
/// its id recorded when it is the group's own alert (same `callGroupId` and `alertType`),
/// otherwise the open undone (`accepted: false`; the next check posts again).
#[napi(
    ts_args_type = "state: Record<string, unknown> | null | undefined, request: Record<string, unknown>, alert: Record<string, unknown>",
    ts_return_type = "RecordedOpen"
)]
pub fn record_opened_alert(
    env: Env,
    state: Option<Unknown<'_>>,
    request: Unknown<'_>,
    alert: Unknown<'_>,
) -> Result<Js<RecordedOpen>> {
    let f = "recordOpenedAlert";
    let state = state_arg(&env, f, state)?;
    let JsonObject(request) = arg(&env, f, "request", request)?;
    let JsonObject(alert) = arg(&env, f, "alert", alert)?;
    let mut s = read_state(&env, state)?;
    let request: core::AlertRequest = from_json(&env, "request", request)?;
    let alert: core::Alert = from_json(&env, "alert", alert)?;
    let accepted = s.record_opened(&request, &alert);
    let state = write_state(&env, &s)?;
    Ok(Js(RecordedOpen { state, accepted }))
}

/// The monitor state after an `open` action could not be posted: the next check tries again.
#[napi(
    ts_return_type = "Record<string, unknown>",
    ts_args_type = "state: Record<string, unknown> | null | undefined, groupId: string"
)]
pub fn alert_open_failed(
    env: Env,
    state: Option<Unknown<'_>>,
    group_id: Unknown<'_>,
) -> Result<serde_json::Value> {
    let f = "alertOpenFailed";
    let state = state_arg(&env, f, state)?;
    let group_id: String = arg(&env, f, "groupId", group_id)?;
    updated(&env, state, |s| {
        s.open_failed(&group_id);
        Ok(())
    })
}

/// The monitor state after a `resolve` action could not be delivered (`alert` is the action's
/// `alert`): the next check tries again. Not for a resolve answered 404 or 410: that alert is
/// gone, and the monitor has already forgotten it.
#[napi(
    ts_return_type = "Record<string, unknown>",
    ts_args_type = "state: Record<string, unknown> | null | undefined, groupId: string, alert: Record<string, unknown>"
)]
pub fn alert_resolve_failed(
    env: Env,
    state: Option<Unknown<'_>>,
    group_id: Unknown<'_>,
    alert: Unknown<'_>,
) -> Result<serde_json::Value> {
    let f = "alertResolveFailed";
    let state = state_arg(&env, f, state)?;
    let group_id: String = arg(&env, f, "groupId", group_id)?;
    let JsonObject(alert) = arg(&env, f, "alert", alert)?;
    updated(&env, state, |s| {
        s.resolve_failed(&group_id, from_json(&env, "alert", alert)?);
        Ok(())
    })
}

/// The monitor state taking over the alerts the backend reports as active
/// (`GET /api/alerts/call-groups?active=true`, as JSON), so they are resolved later rather than
/// posted again.
#[napi(
    ts_return_type = "Record<string, unknown>",
    ts_args_type = "state: Record<string, unknown> | null | undefined, alerts: Array<Record<string, unknown>>, now: Date"
)]
pub fn adopt_active_alerts(
    env: Env,
    state: Option<Unknown<'_>>,
    alerts: Unknown<'_>,
    now: Unknown<'_>,
) -> Result<serde_json::Value> {
    let f = "adoptActiveAlerts";
    let state = state_arg(&env, f, state)?;
    let JsonArray(alerts) = arg(&env, f, "alerts", alerts)?;
    let now = instant(&env, f, "now", now)?;
    updated(&env, state, |s| {
        let alerts: Vec<core::Alert> = from_json(&env, "alerts", alerts)?;
        s.adopt_active(&alerts, now);
        Ok(())
    })
}

impl GroupMonitor {
    /// A monitor with one set of business hours and `options`.
    fn with_options(hours: &BusinessHours, options: Option<MonitorOptions>) -> Self {
        let o = options.unwrap_or_default();
        let defaults = core::MonitorConfig::default();
        let config = core::MonitorConfig {
            debounce: o.debounce.unwrap_or(defaults.debounce),
            include: o.include.unwrap_or(defaults.include),
            exclude: o.exclude.unwrap_or(defaults.exclude),
        };
        GroupMonitor {
            inner: core::GroupMonitor::new(hours.inner.clone()).with_config(config),
        }
    }
}

crate::args::object_args! {
    MonitorOptions: "an object {debounce, include, exclude}";
    CallGroup: "a call group object {id, name, kind, members}";
}
