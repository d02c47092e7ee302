//! XAPI entities as the swagger (`3cx-xapi-v1.swagger.yaml`) names them. Only the properties
//! pbx uses are modelled; other properties are ignored. (`OfficeHours` is modelled in
//! [`pbx_core::hours::xapi`], next to its conversion.) Properties the swagger marks nullable
//! are `Option`s; the others are required, and a missing one is an
//! [`HttpError::MissingField`](crate::HttpError::MissingField) naming it.

use serde::Deserialize;

/// An OData collection page: `{"value": [...], "@odata.count": n}`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Collection<T> {
    pub(crate) value: Vec<T>,
}

/// `Pbx.QueueStatusType`: whether a user is logged in to its queues.
///
/// ```
/// use pbx_sources::xapi::QueueStatus;
/// assert_eq!(serde_json::from_str::<QueueStatus>(r#""LoggedIn""#)?, QueueStatus::LoggedIn);
/// assert_eq!(serde_json::from_str::<QueueStatus>(r#""Paused""#)?, QueueStatus::Unknown);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[non_exhaustive]
pub enum QueueStatus {
    /// `LoggedOut`.
    LoggedOut,
    /// `LoggedIn`.
    LoggedIn,
    /// A value this version does not know.
    #[serde(other)]
    Unknown,
}

/// `Pbx.User` (the properties pbx selects).
///
/// ```
/// let u: pbx_sources::xapi::XapiUser = serde_json::from_str(r#"{"Id":7,"Number":"101",
///     "EmailAddress":"anna.berg@example.com","QueueStatus":"LoggedIn","IsRegistered":true,
///     "CurrentProfileName":"Available","Unknown":1}"#)?;
/// assert_eq!(u.number.as_deref(), Some("101"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct XapiUser {
    /// `Id`.
    pub id: i32,
    /// `Number`: the extension (required by pbx although the swagger allows null).
    #[serde(default)]
    pub number: Option<String>,
    /// `FirstName`.
    #[serde(default)]
    pub first_name: Option<String>,
    /// `LastName`.
    #[serde(default)]
    pub last_name: Option<String>,
    /// `DisplayName`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `EmailAddress`.
    #[serde(default)]
    pub email_address: Option<String>,
    /// `QueueStatus`.
    #[serde(default)]
    pub queue_status: Option<QueueStatus>,
    /// `CurrentProfileName`: the active status profile (`Available`, `Away`, …).
    #[serde(default)]
    pub current_profile_name: Option<String>,
    /// `IsRegistered`: a phone or app of the user is registered.
    #[serde(default)]
    pub is_registered: Option<bool>,
}

impl XapiUser {
    /// `DisplayName`, else `FirstName LastName`, if any.
    ///
    /// ```
    /// let u: pbx_sources::xapi::XapiUser = serde_json::from_str(
    ///     r#"{"Id":1,"Number":"101","FirstName":"Anna","LastName":"Berg"}"#)?;
    /// assert_eq!(u.name().as_deref(), Some("Anna Berg"));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn name(&self) -> Option<String> {
        if let Some(d) = self.display_name.as_deref().map(str::trim)
            && !d.is_empty()
        {
            return Some(d.to_owned());
        }
        let full = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!full.is_empty()).then_some(full)
    }
}

/// `Pbx.RingGroupMember`.
///
/// ```
/// let m: pbx_sources::xapi::RingGroupMember =
///     serde_json::from_str(r#"{"Id":9,"Number":"101","Name":"Anna","Tags":[]}"#)?;
/// assert_eq!(m.number.as_deref(), Some("101"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct RingGroupMember {
    /// `Id`.
    pub id: i32,
    /// `Number`: the member's extension (required by pbx).
    #[serde(default)]
    pub number: Option<String>,
    /// `Name`.
    #[serde(default)]
    pub name: Option<String>,
}

/// `Pbx.StrategyType`: how a ring group rings.
///
/// ```
/// use pbx_sources::xapi::RingStrategy;
/// assert_eq!(serde_json::from_str::<RingStrategy>(r#""Hunt""#)?, RingStrategy::Hunt);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[non_exhaustive]
pub enum RingStrategy {
    /// `Hunt`.
    Hunt,
    /// `RingAll`.
    RingAll,
    /// `Paging`.
    Paging,
    /// A value this version does not know.
    #[serde(other)]
    Unknown,
}

/// `Pbx.RingGroup` with its `Members` expanded.
///
/// ```
/// let g: pbx_sources::xapi::RingGroup = serde_json::from_str(r#"{"Id":3,"Number":"800",
///     "Name":"Sales","RingStrategy":"RingAll","Members":[{"Id":9,"Number":"101","Name":"Anna"}]}"#)?;
/// assert_eq!(g.members.len(), 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct RingGroup {
    /// `Id`.
    pub id: i32,
    /// `Number`: the group's extension, used as `callGroupId` (required by pbx).
    #[serde(default)]
    pub number: Option<String>,
    /// `Name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `RingStrategy`.
    #[serde(default)]
    pub ring_strategy: Option<RingStrategy>,
    /// `Members` (present when expanded).
    #[serde(default)]
    pub members: Vec<RingGroupMember>,
}

/// `Pbx.QueueAgent`.
///
/// ```
/// let a: pbx_sources::xapi::QueueAgent =
///     serde_json::from_str(r#"{"Id":null,"Number":"101","SkillGroup":"1"}"#)?;
/// assert_eq!((a.number.as_str(), a.id), ("101", None));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct QueueAgent {
    /// `Id`.
    #[serde(default)]
    pub id: Option<i32>,
    /// `Number`: the agent's extension.
    pub number: String,
    /// `Name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `SkillGroup`.
    #[serde(default)]
    pub skill_group: Option<String>,
}

/// `Pbx.Queue` with its `Agents` expanded.
///
/// ```
/// let q: pbx_sources::xapi::Queue = serde_json::from_str(r#"{"Id":4,"Number":"801",
///     "Name":"Support","Agents":[{"Id":9,"Number":"101","Name":"Anna","SkillGroup":"1"}]}"#)?;
/// assert_eq!(q.agents[0].number, "101");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Queue {
    /// `Id`.
    pub id: i32,
    /// `Number`: the queue's extension, used as `callGroupId` (required by pbx).
    #[serde(default)]
    pub number: Option<String>,
    /// `Name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `Agents` (present when expanded).
    #[serde(default)]
    pub agents: Vec<QueueAgent>,
}

/// `Pbx.CDRSettingsField`.
///
/// ```
/// let f: pbx_sources::xapi::CdrSettingsField = serde_json::from_str(r#"{"Name":"callid","Length":0}"#)?;
/// assert_eq!(f.name.as_deref(), Some("callid"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct CdrSettingsField {
    /// `Name`: a CDR field name such as `historyid` (required by pbx).
    #[serde(default)]
    pub name: Option<String>,
    /// `Length`.
    #[serde(default)]
    pub length: Option<i32>,
}

/// `Pbx.CDRSettings`: how the PBX writes CDRs.
///
/// ```
/// let s: pbx_sources::xapi::CdrSettings = serde_json::from_str(r#"{"Enabled":true,
///   "LogType":"PassiveSocket","SocketIpAddress":"","SocketPort":9000,"RemoveCommaDelimiters":false,
///   "EnabledFields":[{"Name":"historyid","Length":0},{"Name":"callid","Length":0}],"PossibleFields":[]}"#)?;
/// assert_eq!(s.enabled_fields.len(), 2);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct CdrSettings {
    /// `Enabled`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `LogType`: `SingleFileForAllCalls`, `SingleFileForEachCall`, `PassiveSocket` or
    /// `ActiveSocket`.
    #[serde(default)]
    pub log_type: Option<String>,
    /// `SocketIpAddress`.
    #[serde(default)]
    pub socket_ip_address: Option<String>,
    /// `SocketPort`.
    #[serde(default)]
    pub socket_port: Option<i32>,
    /// `RemoveCommaDelimiters`.
    #[serde(default)]
    pub remove_comma_delimiters: Option<bool>,
    /// `EnabledFields`, in output order.
    #[serde(default)]
    pub enabled_fields: Vec<CdrSettingsField>,
    /// `PossibleFields`.
    #[serde(default)]
    pub possible_fields: Vec<String>,
}
