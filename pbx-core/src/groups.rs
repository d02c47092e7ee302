//! Call groups (queues, ring groups), the call API's call-group alerts, and the coverage
//! monitor: a pure state machine that decides when to open and resolve alerts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::hours::BusinessHours;

/// What kind of group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GroupKind {
    /// A call queue (XAPI `/Queues`).
    Queue,
    /// A ring group (XAPI `/RingGroups`).
    RingGroup,
}

crate::vocab::vocabulary!(
    /// `queue` or `ring_group` (also its `Display`). `FromStr` also accepts `ringGroup`.
    ///
    /// ```
    /// use pbx_core::groups::GroupKind;
    /// assert_eq!(GroupKind::RingGroup.code(), "ring_group");
    /// assert_eq!("ringGroup".parse::<GroupKind>()?, GroupKind::RingGroup);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    GroupKind, "group_kind",
    { Self::Queue => "queue", Self::RingGroup => "ring_group" },
    all: [Self::Queue, Self::RingGroup],
    aliases: [("ringGroup", Self::RingGroup)],
    display: code
);

/// A member of a group and whether it can take calls right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    /// The member's extension number.
    pub extension: String,
    /// Display name, when known.
    pub name: Option<String>,
    /// Logged in, registered and in an available profile.
    pub available: bool,
}

/// A snapshot of one call group, as a [`crate::GroupDirectory`] reports it.
///
/// ```
/// use pbx_core::groups::{CallGroup, GroupKind, GroupMember};
/// let g = CallGroup { id: "800".into(), name: "Support Queue".into(), kind: GroupKind::Queue,
///     members: vec![GroupMember { extension: "101".into(), name: None, available: false }] };
/// assert_eq!(g.available_members().count(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallGroup {
    /// The group's id (its number, e.g. `"800"`), used as `callGroupId`.
    pub id: String,
    /// The group's name.
    pub name: String,
    /// Queue or ring group.
    pub kind: GroupKind,
    /// Its members.
    pub members: Vec<GroupMember>,
}

impl CallGroup {
    /// The members that can take calls.
    pub fn available_members(&self) -> impl Iterator<Item = &GroupMember> {
        self.members.iter().filter(|m| m.available)
    }
}

/// `alertType` of a call-group alert.
///
/// ```
/// use pbx_core::groups::AlertType;
/// assert_eq!(serde_json::to_string(&AlertType::NoAssignedUsers)?, r#""NO_ASSIGNED_USERS""#);
/// assert_eq!(serde_json::from_str::<AlertType>(r#""LOW_STAFF""#)?, AlertType::Other("LOW_STAFF".into()));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum AlertType {
    /// `NO_ASSIGNED_USERS`: the group has no members during business hours.
    NoAssignedUsers,
    /// `NO_AVAILABLE_USERS`: the group has members, but none is available during business hours.
    NoAvailableUsers,
    /// Any other type the backend reports, kept as written.
    Other(String),
}

impl From<String> for AlertType {
    fn from(s: String) -> Self {
        match s.as_str() {
            "NO_ASSIGNED_USERS" => AlertType::NoAssignedUsers,
            "NO_AVAILABLE_USERS" => AlertType::NoAvailableUsers,
            _ => AlertType::Other(s),
        }
    }
}

impl From<AlertType> for String {
    fn from(t: AlertType) -> Self {
        t.to_string()
    }
}

impl fmt::Display for AlertType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertType::NoAssignedUsers => f.write_str("NO_ASSIGNED_USERS"),
            AlertType::NoAvailableUsers => f.write_str("NO_AVAILABLE_USERS"),
            AlertType::Other(s) => f.write_str(s),
        }
    }
}

/// The body of `POST /api/alerts/call-groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRequest {
    /// The group's id.
    pub call_group_id: String,
    /// The group's name.
    pub call_group_name: String,
    /// The alert's type.
    pub alert_type: AlertType,
    /// A message for people.
    pub alert_message: String,
}

impl AlertRequest {
    /// Whether `alert`, as the backend answered this request, is this group's alert: the same
    /// `callGroupId` and `alertType`. An answer that is not (another group's alert, say) must
    /// never be taken as ours — resolving it later would close another group's alert.
    ///
    /// ```
    /// use pbx_core::groups::{Alert, AlertId, AlertRequest, AlertType};
    /// let req = AlertRequest { call_group_id: "801".into(), call_group_name: "Sales".into(),
    ///     alert_type: AlertType::NoAssignedUsers, alert_message: "m".into() };
    /// let mut answer = Alert { id: AlertId("1".into()), call_group_id: "999".into(),
    ///     call_group_name: "Other".into(), alert_type: AlertType::NoAssignedUsers,
    ///     alert_message: "m".into(), is_active: true, created_at: None, resolved_at: None };
    /// assert!(!req.is_answered_by(&answer));
    /// answer.call_group_id = "801".into();
    /// assert!(req.is_answered_by(&answer));
    /// ```
    pub fn is_answered_by(&self, alert: &Alert) -> bool {
        alert.call_group_id == self.call_group_id && alert.alert_type == self.alert_type
    }
}

/// What the backend said to a resolve (`PUT /api/alerts/call-groups/{id}/resolve`).
///
/// ```
/// use pbx_core::groups::ResolveOutcome;
/// assert_eq!(ResolveOutcome::NotFound.code(), "not_found");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveOutcome {
    /// The alert is resolved (2xx).
    Resolved,
    /// The backend does not know the alert (404 or 410: purged, or never its id): there is
    /// nothing left to resolve, so the monitor forgets it and alerts again when the group is
    /// unstaffed again.
    NotFound,
}

impl ResolveOutcome {
    /// `resolved` or `not_found`.
    pub fn code(&self) -> &'static str {
        match self {
            ResolveOutcome::Resolved => "resolved",
            ResolveOutcome::NotFound => "not_found",
        }
    }
}

/// An alert's id as the backend assigns it (a number or a string in JSON).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "IdRepr", into = "String")]
pub struct AlertId(pub String);

#[derive(Deserialize)]
#[serde(untagged)]
enum IdRepr {
    Number(i64),
    Text(String),
}

impl From<IdRepr> for AlertId {
    fn from(r: IdRepr) -> Self {
        match r {
            IdRepr::Number(n) => AlertId(n.to_string()),
            IdRepr::Text(s) => AlertId(s),
        }
    }
}

impl From<AlertId> for String {
    fn from(id: AlertId) -> Self {
        id.0
    }
}

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An alert as the backend returns it.
///
/// ```
/// let a: pbx_core::groups::Alert = serde_json::from_str(r#"{"id":7,"callGroupId":"100",
///   "callGroupName":"Support Team","alertType":"NO_ASSIGNED_USERS","alertMessage":"m",
///   "isActive":true,"createdAt":"2025-01-21T10:30:00","resolvedAt":null}"#)?;
/// assert_eq!(a.id.0, "7");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// The backend's id.
    pub id: AlertId,
    /// The group's id.
    pub call_group_id: String,
    /// The group's name.
    pub call_group_name: String,
    /// The alert's type.
    pub alert_type: AlertType,
    /// The message.
    pub alert_message: String,
    /// Whether the alert is still open.
    pub is_active: bool,
    /// When it was opened (as the backend writes it).
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it was resolved.
    #[serde(default)]
    pub resolved_at: Option<String>,
}

/// Settings of the coverage monitor.
///
/// ```
/// let c = pbx_core::groups::MonitorConfig::default();
/// assert_eq!(c.debounce, 2);
/// assert!(c.monitors("800"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Consecutive failing checks before an alert opens (default 2; at least 1).
    pub debounce: u32,
    /// Only these group ids (empty: every group).
    pub include: Vec<String>,
    /// Never these group ids (wins over `include`).
    pub exclude: Vec<String>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            debounce: 2,
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

impl MonitorConfig {
    /// Whether group `id` is monitored.
    pub fn monitors(&self, id: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g == id))
            && !self.exclude.iter().any(|g| g == id)
    }
}

/// An alert the monitor holds open for a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAlert {
    /// Its type.
    pub alert_type: AlertType,
    /// The backend's id, once known (see [`MonitorState::record_alert_id`]).
    pub alert_id: Option<AlertId>,
    /// When the monitor decided to open it.
    pub opened_at: DateTime<Utc>,
}

/// The monitor's memory of one group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// Consecutive failing checks during open hours.
    pub failures: u32,
    /// The alert open for it, if any.
    pub alert: Option<OpenAlert>,
}

/// The monitor's state across checks. It serializes (serde), so a restart neither posts an
/// alert again nor forgets one that is open.
///
/// ```
/// let state = pbx_core::groups::MonitorState::default();
/// let json = serde_json::to_string(&state)?;
/// assert_eq!(serde_json::from_str::<pbx_core::groups::MonitorState>(&json)?, state);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorState {
    /// Per group id.
    pub groups: BTreeMap<String, GroupState>,
}

impl MonitorState {
    /// Records the backend's id of the alert just opened for `group_id`.
    pub fn record_alert_id(&mut self, group_id: &str, id: AlertId) {
        if let Some(alert) = self.groups.get_mut(group_id).and_then(|g| g.alert.as_mut()) {
            alert.alert_id = Some(id);
        }
    }

    /// Undoes an [`AlertAction::Open`] whose delivery failed, so the next check tries again.
    pub fn open_failed(&mut self, group_id: &str) {
        if let Some(g) = self.groups.get_mut(group_id) {
            g.alert = None;
        }
    }

    /// Undoes an [`AlertAction::Resolve`] whose delivery failed, so the next check tries again.
    pub fn resolve_failed(&mut self, group_id: &str, alert: OpenAlert) {
        self.groups.entry(group_id.to_owned()).or_default().alert = Some(alert);
    }

    /// Records the backend's answer to an [`AlertAction::Open`] of `req`: its id when the
    /// answer is this group's alert ([`AlertRequest::is_answered_by`]); otherwise the open is
    /// undone as by [`MonitorState::open_failed`] (the next check posts again) and `false` is
    /// returned — the foreign alert is never stored, so it is never resolved.
    ///
    /// ```
    /// use chrono::Utc;
    /// use pbx_core::groups::{Alert, AlertId, AlertRequest, AlertType, MonitorState, OpenAlert};
    /// let mut state = MonitorState::default();
    /// state.groups.entry("801".into()).or_default().alert = Some(OpenAlert {
    ///     alert_type: AlertType::NoAssignedUsers, alert_id: None, opened_at: Utc::now() });
    /// let req = AlertRequest { call_group_id: "801".into(), call_group_name: "Sales".into(),
    ///     alert_type: AlertType::NoAssignedUsers, alert_message: "m".into() };
    /// let foreign = Alert { id: AlertId("9".into()), call_group_id: "999".into(),
    ///     call_group_name: "Other".into(), alert_type: AlertType::NoAssignedUsers,
    ///     alert_message: "m".into(), is_active: true, created_at: None, resolved_at: None };
    /// assert!(!state.record_opened(&req, &foreign));
    /// assert!(state.groups["801"].alert.is_none());
    /// ```
    pub fn record_opened(&mut self, req: &AlertRequest, answer: &Alert) -> bool {
        if req.is_answered_by(answer) {
            self.record_alert_id(&req.call_group_id, answer.id.clone());
            true
        } else {
            self.open_failed(&req.call_group_id);
            false
        }
    }

    /// The number of groups with an alert open.
    pub fn open_alerts(&self) -> usize {
        self.groups.values().filter(|g| g.alert.is_some()).count()
    }

    /// Takes over alerts the backend reports as active (e.g. after the state file was lost),
    /// so they are resolved later rather than posted again. Inactive alerts are ignored; of
    /// several active alerts of one group the first is taken. An adopted alert the backend
    /// later does not know ([`ResolveOutcome::NotFound`]) is simply forgotten.
    pub fn adopt_active(&mut self, alerts: &[Alert], now: DateTime<Utc>) {
        for a in alerts.iter().filter(|a| a.is_active) {
            let g = self.groups.entry(a.call_group_id.clone()).or_default();
            if g.alert.as_ref().is_none_or(|open| open.alert_id.is_none()) {
                g.alert = Some(OpenAlert {
                    alert_type: a.alert_type.clone(),
                    alert_id: Some(a.id.clone()),
                    opened_at: now,
                });
            }
        }
    }
}

/// Why an alert is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveReason {
    /// The group has an available member again.
    Staffed,
    /// Business hours closed.
    Closed,
    /// The group is no longer monitored (excluded by config).
    Excluded,
    /// The group no longer exists in the directory.
    Gone,
}

crate::vocab::vocabulary!(
    /// `staffed`, `closed`, `excluded` or `gone` (also its `Display`).
    ResolveReason, "resolve_reason",
    {
        Self::Staffed => "staffed",
        Self::Closed => "closed",
        Self::Excluded => "excluded",
        Self::Gone => "gone",
    },
    all: [Self::Staffed, Self::Closed, Self::Excluded, Self::Gone],
    display: code
);

impl AlertAction {
    /// The codes [`AlertAction::code`] gives, one per variant.
    pub const CODES: &'static [&'static str] = &["open", "resolve"];

    /// `open` or `resolve`.
    ///
    /// ```
    /// use pbx_core::groups::{AlertAction, AlertRequest, AlertType};
    /// let open = AlertAction::Open(AlertRequest { call_group_id: "800".into(),
    ///     call_group_name: "Support".into(), alert_type: AlertType::NoAssignedUsers,
    ///     alert_message: "no one".into() });
    /// assert_eq!(open.code(), "open");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            AlertAction::Open(_) => "open",
            AlertAction::Resolve { .. } => "resolve",
        }
    }

    /// The group the action is about.
    pub fn group_id(&self) -> &str {
        match self {
            AlertAction::Open(req) => &req.call_group_id,
            AlertAction::Resolve { group_id, .. } => group_id,
        }
    }
}

/// What the monitor asks the adapter to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlertAction {
    /// Post this alert (then call [`MonitorState::record_alert_id`], or
    /// [`MonitorState::open_failed`] when it could not be posted).
    Open(AlertRequest),
    /// Resolve the group's alert (on failure, call [`MonitorState::resolve_failed`] with
    /// `alert`; when the backend does not know the alert, [`ResolveOutcome::NotFound`], do
    /// nothing: the alert is gone and the monitor has already forgotten it). When
    /// `alert.alert_id` is `None`, find the id among the backend's active alerts by group id.
    Resolve {
        /// The group's id.
        group_id: String,
        /// The alert being resolved.
        alert: OpenAlert,
        /// Why.
        reason: ResolveReason,
    },
}

/// Checks call-group coverage: during business hours a group with no members
/// (`NO_ASSIGNED_USERS`) or with no available member (`NO_AVAILABLE_USERS`) gets an alert
/// after `debounce` consecutive failing checks; the alert is resolved when the group is
/// staffed again, when hours close, or when it is excluded or gone. At most one alert is open
/// per group; while one is open its type is kept even if the failure changes kind.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use pbx_core::groups::{AlertAction, CallGroup, GroupKind, GroupMonitor, MonitorState};
/// use pbx_core::hours::BusinessHours;
/// let monitor = GroupMonitor::new(BusinessHours::always(chrono_tz::UTC));
/// let empty = vec![CallGroup { id: "800".into(), name: "Support".into(), kind: GroupKind::Queue, members: vec![] }];
/// let mut state = MonitorState::default();
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 18, 0, 0).unwrap();
/// assert!(monitor.evaluate(now, &empty, &mut state).is_empty()); // first failure: debounced
/// let actions = monitor.evaluate(now, &empty, &mut state);
/// assert!(matches!(&actions[..], [AlertAction::Open(req)] if req.call_group_id == "800"));
/// ```
#[derive(Clone, Debug)]
pub struct GroupMonitor {
    /// Debounce and which groups.
    config: MonitorConfig,
    /// Business hours of every group without its own.
    hours: BusinessHours,
    /// Business hours per group id.
    group_hours: HashMap<String, BusinessHours>,
}

impl GroupMonitor {
    /// A monitor with default settings and one set of business hours.
    pub fn new(hours: BusinessHours) -> Self {
        GroupMonitor {
            config: MonitorConfig::default(),
            hours,
            group_hours: HashMap::new(),
        }
    }

    /// The same monitor with these settings (debounce, include, exclude).
    ///
    /// ```
    /// use pbx_core::groups::{GroupMonitor, MonitorConfig};
    /// use pbx_core::hours::BusinessHours;
    /// let config = MonitorConfig { debounce: 3, include: vec![], exclude: vec!["900".into()] };
    /// let monitor = GroupMonitor::new(BusinessHours::always(chrono_tz::UTC)).with_config(config);
    /// assert_eq!(monitor.config().debounce, 3);
    /// ```
    #[must_use]
    pub fn with_config(mut self, config: MonitorConfig) -> Self {
        self.config = config;
        self
    }

    /// The same monitor with business hours of particular groups (group id → hours); every
    /// other group keeps the monitor's own hours.
    #[must_use]
    pub fn with_group_hours(mut self, group_hours: HashMap<String, BusinessHours>) -> Self {
        self.group_hours = group_hours;
        self
    }

    /// Replaces the business hours of every group without its own (e.g. office hours read
    /// again from XAPI); the state is untouched.
    ///
    /// ```
    /// use pbx_core::groups::GroupMonitor;
    /// use pbx_core::hours::BusinessHours;
    /// let mut monitor = GroupMonitor::new(BusinessHours::always(chrono_tz::UTC));
    /// monitor.set_hours(BusinessHours::always(chrono_tz::Europe::Berlin));
    /// assert_eq!(monitor.hours().timezone(), chrono_tz::Europe::Berlin);
    /// ```
    pub fn set_hours(&mut self, hours: BusinessHours) {
        self.hours = hours;
    }

    /// Debounce and which groups are monitored.
    pub fn config(&self) -> &MonitorConfig {
        &self.config
    }

    /// The business hours of every group without its own.
    pub fn hours(&self) -> &BusinessHours {
        &self.hours
    }

    /// Business hours per group id.
    pub fn group_hours(&self) -> &HashMap<String, BusinessHours> {
        &self.group_hours
    }

    /// One check at `now` over a snapshot of the groups: updates `state` and returns the
    /// actions to carry out.
    pub fn evaluate(
        &self,
        now: DateTime<Utc>,
        groups: &[CallGroup],
        state: &mut MonitorState,
    ) -> Vec<AlertAction> {
        let mut actions = Vec::new();
        let debounce = self.config.debounce.max(1);
        // The shared hours are asked once per check, not once per group.
        let mut shared_open = None;
        for group in groups {
            if !state.groups.contains_key(&group.id) {
                state.groups.insert(group.id.clone(), GroupState::default());
            }
            let Some(entry) = state.groups.get_mut(&group.id) else {
                continue;
            };
            let resolve = |entry: &mut GroupState, reason, actions: &mut Vec<AlertAction>| {
                entry.failures = 0;
                if let Some(alert) = entry.alert.take() {
                    actions.push(AlertAction::Resolve {
                        group_id: group.id.clone(),
                        alert,
                        reason,
                    });
                }
            };
            if !self.config.monitors(&group.id) {
                resolve(entry, ResolveReason::Excluded, &mut actions);
                continue;
            }
            let open = match self.group_hours.get(&group.id) {
                Some(hours) => hours.is_open(now),
                None => *shared_open.get_or_insert_with(|| self.hours.is_open(now)),
            };
            if !open {
                resolve(entry, ResolveReason::Closed, &mut actions);
                continue;
            }
            let failing = if group.members.is_empty() {
                Some(AlertType::NoAssignedUsers)
            } else if group.available_members().next().is_none() {
                Some(AlertType::NoAvailableUsers)
            } else {
                None
            };
            let Some(alert_type) = failing else {
                resolve(entry, ResolveReason::Staffed, &mut actions);
                continue;
            };
            entry.failures = entry.failures.saturating_add(1);
            if entry.alert.is_none() && entry.failures >= debounce {
                let alert_message = match alert_type {
                    AlertType::NoAssignedUsers => {
                        format!("{} has no assigned users during business hours", group.name)
                    }
                    _ => format!(
                        "{} has {} member(s) but none is available during business hours",
                        group.name,
                        group.members.len()
                    ),
                };
                entry.alert = Some(OpenAlert {
                    alert_type: alert_type.clone(),
                    alert_id: None,
                    opened_at: now,
                });
                actions.push(AlertAction::Open(AlertRequest {
                    call_group_id: group.id.clone(),
                    call_group_name: group.name.clone(),
                    alert_type,
                    alert_message,
                }));
            }
        }
        // Groups gone from the directory: resolve their alerts and forget them.
        let present: HashSet<&str> = groups.iter().map(|g| g.id.as_str()).collect();
        state.groups.retain(|id, g| {
            if present.contains(id.as_str()) {
                return true;
            }
            if let Some(alert) = g.alert.take() {
                actions.push(AlertAction::Resolve {
                    group_id: id.clone(),
                    alert,
                    reason: ResolveReason::Gone,
                });
            }
            false
        });
        actions
    }
}
