//! The XAPI behind pbx-core's [`ExtensionDirectory`] and [`GroupDirectory`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pbx_core::extensions::{ExtensionMap, User};
use pbx_core::groups::{CallGroup, GroupKind, GroupMember};
use pbx_core::{ExtensionDirectory, GroupDirectory};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::model::{Queue, QueueStatus, RingGroup, XapiUser};
use super::{XapiClient, odata_string};
use crate::Error;

/// The extension → user map from `/Users`: `Number` → `EmailAddress`, with `DisplayName`
/// (or `FirstName LastName`) as the name. Users without an email are left out (their calls
/// are then skipped with "no user email", or go to the map's fallback).
///
/// # Errors
/// [`Error::MissingField`] naming `Number` for a user without one.
///
/// ```
/// let users: Vec<pbx_sources::xapi::XapiUser> = serde_json::from_str(r#"[
///   {"Id":1,"Number":"101","EmailAddress":"anna.berg@example.com","DisplayName":"Anna Berg"},
///   {"Id":2,"Number":"102","EmailAddress":""}]"#).unwrap();
/// let map = pbx_sources::xapi::extension_map(&users)?;
/// assert_eq!(map.email_for("101"), Some("anna.berg@example.com"));
/// assert_eq!(map.email_for("102"), None);
/// # Ok::<(), pbx_sources::Error>(())
/// ```
pub fn extension_map(users: &[XapiUser]) -> Result<ExtensionMap, Error> {
    let mut map = ExtensionMap::new();
    let mut without_email = 0usize;
    for (i, u) in users.iter().enumerate() {
        let number = user_number(i, u)?;
        match u.email_address.as_deref().map(str::trim) {
            Some(email) if !email.is_empty() => map.insert(User {
                extension: number.to_owned(),
                email: email.to_owned(),
                name: u.name(),
            }),
            _ => without_email += 1,
        }
    }
    if without_email > 0 {
        tracing::debug!(
            without_email,
            "XAPI users without an email address are not in the extension map"
        );
    }
    Ok(map)
}

fn user_number(i: usize, u: &XapiUser) -> Result<&str, Error> {
    u.number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::MissingField {
            op: "GET /xapi/v1/Users".into(),
            entity: "User",
            path: format!("[{i}]"),
            field: "Number".into(),
        })
}

/// When a group member counts as able to take calls.
///
/// A ring-group member is available when a phone of the user is registered
/// (`IsRegistered`) and its current status profile (`CurrentProfileName`) is one of
/// `available_profiles`. A queue agent must also be logged in to queues
/// (`QueueStatus == LoggedIn`): XAPI has no per-queue login flag. A member that is not a
/// user (another group, an IVR) or whose values are unknown (null) counts as unavailable.
///
/// ```
/// use pbx_core::groups::GroupKind;
/// use pbx_sources::xapi::{AvailabilityPolicy, XapiUser};
/// let u: XapiUser = serde_json::from_str(r#"{"Id":1,"Number":"101","QueueStatus":"LoggedOut",
///     "IsRegistered":true,"CurrentProfileName":"Available"}"#).unwrap();
/// let p = AvailabilityPolicy::default();
/// assert!(p.is_available(&u, GroupKind::RingGroup));
/// assert!(!p.is_available(&u, GroupKind::Queue));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityPolicy {
    /// Profile names that take calls, compared case-insensitively (default `["Available"]`).
    pub available_profiles: Vec<String>,
    /// Whether a member needs a registered phone (default true).
    pub require_registered: bool,
}

impl Default for AvailabilityPolicy {
    fn default() -> Self {
        AvailabilityPolicy {
            available_profiles: vec!["Available".to_owned()],
            require_registered: true,
        }
    }
}

impl AvailabilityPolicy {
    /// Whether `user` can take calls of a group of `kind` (see the type's docs).
    ///
    /// ```
    /// use pbx_core::groups::GroupKind;
    /// use pbx_sources::xapi::{AvailabilityPolicy, XapiUser};
    /// let away: XapiUser = serde_json::from_str(r#"{"Id":1,"Number":"101","QueueStatus":"LoggedIn",
    ///     "IsRegistered":true,"CurrentProfileName":"Away"}"#).unwrap();
    /// assert!(!AvailabilityPolicy::default().is_available(&away, GroupKind::Queue));
    /// ```
    pub fn is_available(&self, user: &XapiUser, kind: GroupKind) -> bool {
        let registered = !self.require_registered || user.is_registered == Some(true);
        let profile = user.current_profile_name.as_deref().is_some_and(|p| {
            self.available_profiles
                .iter()
                .any(|a| a.trim().eq_ignore_ascii_case(p.trim()))
        });
        let logged_in =
            kind != GroupKind::Queue || user.queue_status == Some(QueueStatus::LoggedIn);
        registered && profile && logged_in
    }
}

/// Call-group snapshots from ring groups, queues and users: each member is marked available
/// as `policy` says. Ring groups come first, then queues, each in the order given. A group
/// without `Name` is named by its number.
///
/// # Errors
/// [`Error::MissingField`] for a group, member or user without `Number`.
///
/// ```
/// use pbx_sources::xapi::{AvailabilityPolicy, Queue, XapiUser, call_groups};
/// let queues: Vec<Queue> = serde_json::from_str(r#"[{"Id":1,"Number":"800","Name":"Support",
///     "Agents":[{"Number":"101"},{"Number":"102"}]}]"#).unwrap();
/// let users: Vec<XapiUser> = serde_json::from_str(r#"[
///   {"Id":1,"Number":"101","QueueStatus":"LoggedIn","IsRegistered":true,"CurrentProfileName":"Available"},
///   {"Id":2,"Number":"102","QueueStatus":"LoggedOut","IsRegistered":true,"CurrentProfileName":"Available"}]"#).unwrap();
/// let groups = call_groups(&[], &queues, &users, &AvailabilityPolicy::default())?;
/// assert_eq!(groups[0].id, "800");
/// assert_eq!(groups[0].available_members().count(), 1);
/// # Ok::<(), pbx_sources::Error>(())
/// ```
pub fn call_groups(
    ring_groups: &[RingGroup],
    queues: &[Queue],
    users: &[XapiUser],
    policy: &AvailabilityPolicy,
) -> Result<Vec<CallGroup>, Error> {
    let mut by_number: HashMap<&str, &XapiUser> = HashMap::with_capacity(users.len());
    for (i, u) in users.iter().enumerate() {
        by_number.insert(user_number(i, u)?, u);
    }
    let member = |kind: GroupKind, number: &str, name: Option<&String>| GroupMember {
        extension: number.to_owned(),
        name: name.cloned(),
        available: by_number
            .get(number)
            .is_some_and(|u| policy.is_available(u, kind)),
    };
    let missing = |op: &str, entity: &'static str, path: String| Error::MissingField {
        op: op.to_owned(),
        entity,
        path,
        field: "Number".into(),
    };
    let mut out = Vec::with_capacity(ring_groups.len() + queues.len());
    for (i, g) in ring_groups.iter().enumerate() {
        const OP: &str = "GET /xapi/v1/RingGroups";
        let number = nonblank(g.number.as_deref())
            .ok_or_else(|| missing(OP, "RingGroup", format!("[{i}]")))?;
        let members = g
            .members
            .iter()
            .enumerate()
            .map(|(j, m)| {
                let n = nonblank(m.number.as_deref())
                    .ok_or_else(|| missing(OP, "RingGroupMember", format!("[{i}].Members[{j}]")))?;
                Ok(member(GroupKind::RingGroup, n, m.name.as_ref()))
            })
            .collect::<Result<_, Error>>()?;
        out.push(CallGroup {
            id: number.to_owned(),
            name: nonblank(g.name.as_deref()).unwrap_or(number).to_owned(),
            kind: GroupKind::RingGroup,
            members,
        });
    }
    for (i, q) in queues.iter().enumerate() {
        const OP: &str = "GET /xapi/v1/Queues";
        let number =
            nonblank(q.number.as_deref()).ok_or_else(|| missing(OP, "Queue", format!("[{i}]")))?;
        let members = q
            .agents
            .iter()
            .enumerate()
            .map(|(j, a)| {
                let n = nonblank(Some(&a.number))
                    .ok_or_else(|| missing(OP, "QueueAgent", format!("[{i}].Agents[{j}]")))?;
                Ok(member(GroupKind::Queue, n, a.name.as_ref()))
            })
            .collect::<Result<_, Error>>()?;
        out.push(CallGroup {
            id: number.to_owned(),
            name: nonblank(q.name.as_deref()).unwrap_or(number).to_owned(),
            kind: GroupKind::Queue,
            members,
        });
    }
    Ok(out)
}

fn nonblank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// [`GroupDirectory`] over XAPI: `/RingGroups?$expand=Members`, `/Queues?$expand=Agents` and
/// `/Users`, joined by [`call_groups`]. Each call reads all three afresh (availability
/// changes by the minute).
///
/// ```no_run
/// # async fn run() -> Result<(), pbx_sources::Error> {
/// use std::sync::Arc;
/// use pbx_core::GroupDirectory;
/// use pbx_sources::{Secret, xapi::{XapiClient, XapiConfig, XapiGroupDirectory}};
/// let xapi = Arc::new(XapiClient::new(XapiConfig::new("https://pbx.example.com", "pbx", Secret::new("s")))?);
/// let groups = XapiGroupDirectory::new(xapi).monitor(["800", "801"]);
/// for g in groups.groups().await? {
///     println!("{} {}: {} available", g.id, g.name, g.available_members().count());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct XapiGroupDirectory {
    client: Arc<XapiClient>,
    policy: AvailabilityPolicy,
    monitored: Option<Vec<String>>,
}

impl XapiGroupDirectory {
    /// Every ring group and queue of the PBX, with the default [`AvailabilityPolicy`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pbx_sources::{Secret, xapi::{XapiClient, XapiConfig, XapiGroupDirectory}};
    /// let xapi = Arc::new(XapiClient::new(XapiConfig::new("https://pbx.example.com", "pbx", Secret::new("s3cr3t")))?);
    /// let groups = XapiGroupDirectory::new(xapi);
    /// # Ok::<(), pbx_sources::Error>(())
    /// ```
    pub fn new(client: Arc<XapiClient>) -> Self {
        XapiGroupDirectory {
            client,
            policy: AvailabilityPolicy::default(),
            monitored: None,
        }
    }

    /// Decides availability with `policy`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use pbx_sources::{Secret, xapi::{AvailabilityPolicy, XapiClient, XapiConfig, XapiGroupDirectory}};
    /// # let xapi = Arc::new(XapiClient::new(XapiConfig::new("https://pbx.example.com", "pbx", Secret::new("s3cr3t")))?);
    /// let lenient = AvailabilityPolicy { available_profiles: vec!["Available".into(), "Lunch".into()],
    ///     require_registered: false };
    /// let groups = XapiGroupDirectory::new(xapi).with_policy(lenient);
    /// # Ok::<(), pbx_sources::Error>(())
    /// ```
    pub fn with_policy(mut self, policy: AvailabilityPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Only the groups with these numbers (an OData `$filter` on `Number`); an empty list
    /// monitors nothing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use pbx_sources::{Secret, xapi::{XapiClient, XapiConfig, XapiGroupDirectory}};
    /// # let xapi = Arc::new(XapiClient::new(XapiConfig::new("https://pbx.example.com", "pbx", Secret::new("s3cr3t")))?);
    /// let groups = XapiGroupDirectory::new(xapi).monitor(["800", "801"]);
    /// # Ok::<(), pbx_sources::Error>(())
    /// ```
    pub fn monitor<I, S>(mut self, numbers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.monitored = Some(numbers.into_iter().map(Into::into).collect());
        self
    }
}

#[async_trait]
impl GroupDirectory for XapiGroupDirectory {
    type Error = Error;

    async fn groups(&self) -> Result<Vec<CallGroup>, Error> {
        let filter = match &self.monitored {
            Some(numbers) if numbers.is_empty() => return Ok(Vec::new()),
            Some(numbers) => Some(
                numbers
                    .iter()
                    .map(|n| format!("Number eq {}", odata_string(n)))
                    .collect::<Vec<_>>()
                    .join(" or "),
            ),
            None => None,
        };
        let ring_groups = self.client.ring_groups(filter.as_deref()).await?;
        let queues = self.client.queues(filter.as_deref()).await?;
        let users = self.client.users().await?;
        call_groups(&ring_groups, &queues, &users, &self.policy)
    }
}

/// [`ExtensionDirectory`] over XAPI `/Users`, refreshed when older than `refresh_every`.
/// When a refresh fails, the last good map is kept (and a warning logged) and the next
/// attempt waits `retry_after_failure`; only when no map was ever read is the error returned.
///
/// ```no_run
/// # async fn run() -> Result<(), pbx_sources::Error> {
/// use std::{sync::Arc, time::Duration};
/// use pbx_core::ExtensionDirectory;
/// use pbx_sources::{Secret, xapi::{XapiClient, XapiConfig, XapiExtensionDirectory}};
/// let xapi = Arc::new(XapiClient::new(XapiConfig::new("https://pbx.example.com", "pbx", Secret::new("s")))?);
/// let dir = Arc::new(XapiExtensionDirectory::new(xapi, Duration::from_secs(300)));
/// tokio::spawn({ let dir = dir.clone(); async move { dir.refresh_periodically().await } });
/// let map = dir.extensions().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct XapiExtensionDirectory {
    client: Arc<XapiClient>,
    refresh_every: Duration,
    retry_after_failure: Duration,
    state: Mutex<DirectoryState>,
}

#[derive(Debug, Default)]
struct DirectoryState {
    map: Option<ExtensionMap>,
    next_refresh: Option<Instant>,
}

impl XapiExtensionDirectory {
    /// A directory that reads `/Users` at most every `refresh_every`; after a failed read it
    /// tries again after `min(refresh_every, 30 s)`. Nothing is read until first asked.
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// use pbx_sources::{Secret, xapi::{XapiClient, XapiConfig, XapiExtensionDirectory}};
    /// let xapi = Arc::new(XapiClient::new(XapiConfig::new("https://pbx.example.com", "pbx", Secret::new("s3cr3t")))?);
    /// let dir = XapiExtensionDirectory::new(xapi, Duration::from_secs(300));
    /// # Ok::<(), pbx_sources::Error>(())
    /// ```
    pub fn new(client: Arc<XapiClient>, refresh_every: Duration) -> Self {
        XapiExtensionDirectory {
            client,
            refresh_every,
            retry_after_failure: refresh_every.min(Duration::from_secs(30)),
            state: Mutex::new(DirectoryState::default()),
        }
    }

    /// Reads `/Users` now. On success the map is replaced; on failure the last good map stays
    /// and the error is returned.
    ///
    /// # Errors
    /// As [`XapiClient::extension_map`].
    ///
    /// ```no_run
    /// # async fn run(dir: pbx_sources::xapi::XapiExtensionDirectory) -> Result<(), pbx_sources::Error> {
    /// let map = dir.refresh().await?; // e.g. on an operator's "reload"
    /// # Ok(()) }
    /// ```
    pub async fn refresh(&self) -> Result<ExtensionMap, Error> {
        let mut state = self.state.lock().await;
        self.refresh_locked(&mut state).await
    }

    async fn refresh_locked(&self, state: &mut DirectoryState) -> Result<ExtensionMap, Error> {
        match self.client.extension_map().await {
            Ok(map) => {
                tracing::debug!(users = map.len(), "extension map read from XAPI /Users");
                state.map = Some(map.clone());
                state.next_refresh = Some(Instant::now() + self.refresh_every);
                Ok(map)
            }
            Err(e) => {
                state.next_refresh = Some(Instant::now() + self.retry_after_failure);
                if state.map.is_some() {
                    tracing::warn!(error = %e, "extension map refresh failed; keeping the last good copy");
                }
                Err(e)
            }
        }
    }

    /// Refreshes every `refresh_every` (at least every second), forever: spawn it. Failures
    /// are logged and the last good map is kept.
    ///
    /// ```no_run
    /// # async fn run(dir: std::sync::Arc<pbx_sources::xapi::XapiExtensionDirectory>) {
    /// let refresher = tokio::spawn(async move { dir.refresh_periodically().await });
    /// // … on shutdown:
    /// refresher.abort();
    /// # }
    /// ```
    pub async fn refresh_periodically(&self) {
        loop {
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "extension map refresh failed");
            }
            tokio::time::sleep(self.refresh_every.max(Duration::from_secs(1))).await;
        }
    }
}

#[async_trait]
impl ExtensionDirectory for XapiExtensionDirectory {
    type Error = Error;

    async fn extensions(&self) -> Result<ExtensionMap, Error> {
        let mut state = self.state.lock().await;
        let due = state.next_refresh.is_none_or(|t| Instant::now() >= t);
        match (&state.map, due) {
            (Some(map), false) => Ok(map.clone()),
            _ => match self.refresh_locked(&mut state).await {
                Ok(map) => Ok(map),
                Err(e) => state.map.clone().ok_or(e),
            },
        }
    }
}
