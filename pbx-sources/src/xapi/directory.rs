//! The XAPI behind pbx-core's [`ExtensionDirectory`] and [`GroupDirectory`].

use crate::HttpError;
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
/// (or `FirstName LastName`) as the name.
///
/// Users that cannot be used are left out with one `warn` per read, never failing the read
/// (their calls are then skipped with "no user email", or go to the map's fallback):
/// - a user without a `Number` (or a blank one);
/// - a user without an `EmailAddress` (or a blank one).
///
/// Two users with the same number: the first in the list keeps it — XAPI lists users by `Id`,
/// so the user created first — and each other one is reported in a `warn` naming the number,
/// the email used and the email ignored (the same email twice is no conflict).
///
/// ```
/// let users: Vec<pbx_sources::xapi::XapiUser> = serde_json::from_str(r#"[
///   {"Id":1,"Number":"101","EmailAddress":"anna.berg@example.com","DisplayName":"Anna Berg"},
///   {"Id":2,"Number":"102","EmailAddress":""},
///   {"Id":3,"Number":"","EmailAddress":"nobody@example.com"},
///   {"Id":4,"Number":"101","EmailAddress":"someone.else@example.com"}]"#).unwrap();
/// let map = pbx_sources::xapi::extension_map(&users);
/// assert_eq!(map.email_for("101"), Some("anna.berg@example.com")); // Id 1 came first
/// assert_eq!(map.email_for("102"), None);
/// assert_eq!(map.len(), 1);
/// // `explain` names where the email came from.
/// assert_eq!(map.email_source("101").map(|(_, s)| s), Some(pbx_core::extensions::EmailSource::XapiUser));
/// ```
pub fn extension_map(users: &[XapiUser]) -> ExtensionMap {
    let mut map = ExtensionMap::new();
    let mut without_number = Vec::new();
    let mut without_email = Vec::new();
    for u in users {
        let Some(number) = nonblank(u.number.as_deref()) else {
            without_number.push(user_label(u));
            continue;
        };
        let Some(email) = nonblank(u.email_address.as_deref()) else {
            without_email.push(number.to_owned());
            continue;
        };
        if let Some(kept) = map.get(number) {
            if !kept.email.eq_ignore_ascii_case(email) {
                tracing::warn!(
                    number,
                    used = %kept.email,
                    ignored = %email,
                    ignored_user_id = u.id,
                    "two XAPI users have the same number; the first by Id keeps it (its email is used, the other is ignored)"
                );
            }
            continue;
        }
        map.insert(User {
            extension: number.to_owned(),
            email: email.to_owned(),
            name: u.name(),
            origin: pbx_core::extensions::UserOrigin::Xapi,
        });
    }
    if !without_number.is_empty() {
        tracing::warn!(
            count = without_number.len(),
            users = %sample(&without_number),
            "XAPI users without a number are skipped"
        );
    }
    if !without_email.is_empty() {
        tracing::warn!(
            count = without_email.len(),
            numbers = %sample(&without_email),
            "XAPI users without an email address are not in the extension map; their calls are skipped (no user email) or go to the fallback"
        );
    }
    map
}

/// A user for a log line: `Id 7 (anna@example.com)`.
fn user_label(u: &XapiUser) -> String {
    match nonblank(u.email_address.as_deref()) {
        Some(e) => format!("Id {} ({e})", u.id),
        None => format!("Id {}", u.id),
    }
}

/// The first few items of a list, for a log line.
fn sample(items: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut s = items
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
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
/// [`HttpError::MissingField`] for a group or member without `Number` (a user without one is
/// left out: it is no member of any group).
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
    // Users without a number are no member of anything; of two with one number the first
    // (by Id) counts, as in the extension map.
    let mut by_number: HashMap<&str, &XapiUser> = HashMap::with_capacity(users.len());
    for u in users {
        if let Some(n) = nonblank(u.number.as_deref()) {
            by_number.entry(n).or_insert(u);
        }
    }
    let member = |kind: GroupKind, number: &str, name: Option<&String>| GroupMember {
        extension: number.to_owned(),
        name: name.cloned(),
        available: by_number
            .get(number)
            .is_some_and(|u| policy.is_available(u, kind)),
    };
    let missing = |op: &str, entity: &'static str, path: String| {
        Error::Http(HttpError::MissingField {
            op: op.to_owned(),
            entity,
            path,
            field: "Number".into(),
        })
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
