//! Call groups (queues, ring groups) and the call API's call-group alerts.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GroupKind {
    /// A call queue (XAPI `/Queues`).
    Queue,
    /// A ring group (XAPI `/RingGroups`).
    RingGroup,
}

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
    /// `NO_ASSIGNED_USERS`: nobody can take the group's calls during business hours.
    NoAssignedUsers,
    /// Any other type the backend reports, kept as written.
    Other(String),
}

impl From<String> for AlertType {
    fn from(s: String) -> Self {
        if s == "NO_ASSIGNED_USERS" {
            AlertType::NoAssignedUsers
        } else {
            AlertType::Other(s)
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
