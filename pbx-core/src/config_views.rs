//! The configuration's sections as the bindings publish them: serde views in snake_case
//! (Python's dicts; Node's objects in camelCase), secrets left out — a view says whether a
//! token is set, never the token.

use serde::Serialize;

use crate::config::{CallApiConfig, GroupsConfig, XapiConfig};

/// `call_api` without its token (`CallApiSettings` in both bindings).
///
/// ```
/// let config = pbx_core::config::Config::from_yaml(
///     "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x', token: t}\n",
///     &|_: &str| None)?;
/// let view = pbx_core::config_views::CallApiView::from(&config.call_api);
/// assert!(view.has_token);
/// let json = serde_json::to_string(&view).unwrap();
/// assert!(json.starts_with(r#"{"base_url":"http://x","has_token":true,"timeout_secs":"#));
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallApiView {
    /// The API's base URL.
    pub base_url: String,
    /// Whether a (non-empty) bearer token is set.
    pub has_token: bool,
    /// The request timeout, in seconds.
    pub timeout_secs: f64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Tries per call before it counts as failing.
    pub max_attempts: u32,
    /// Whether TLS certificates go unchecked.
    pub insecure_skip_tls_verify: bool,
}

impl From<&CallApiConfig> for CallApiView {
    fn from(c: &CallApiConfig) -> Self {
        CallApiView {
            base_url: c.base_url.clone(),
            has_token: c.token.as_ref().is_some_and(|t| !t.is_empty()),
            timeout_secs: c.timeout.as_secs_f64(),
            concurrency: c.concurrency,
            max_attempts: c.max_attempts,
            insecure_skip_tls_verify: c.insecure_skip_tls_verify,
        }
    }
}

/// `xapi` without its client secret (`XapiSettings` in both bindings).
///
/// ```
/// let config = pbx_core::config::Config::from_yaml(
///     "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\n\
///      xapi: {base_url: 'https://pbx', client_id: sideloader, client_secret: s}\n",
///     &|_: &str| None)?;
/// let view = pbx_core::config_views::XapiView::from(config.xapi.as_ref().unwrap());
/// assert_eq!(view.client_id, "sideloader");
/// assert!(!serde_json::to_string(&view).unwrap().contains("secret"));
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct XapiView {
    /// The PBX's base URL.
    pub base_url: String,
    /// The OAuth client id.
    pub client_id: String,
    /// How often groups and users are read again, in seconds.
    pub refresh_secs: f64,
    /// Whether TLS certificates go unchecked.
    pub insecure_skip_tls_verify: bool,
}

impl From<&XapiConfig> for XapiView {
    fn from(x: &XapiConfig) -> Self {
        XapiView {
            base_url: x.base_url.clone(),
            client_id: x.client_id.clone(),
            refresh_secs: x.refresh.as_secs_f64(),
            insecure_skip_tls_verify: x.insecure_skip_tls_verify,
        }
    }
}

/// `groups` (`GroupSettings` in both bindings): the monitor's settings and the ids of the
/// groups with their own hours, sorted.
///
/// ```
/// let config = pbx_core::config::Config::from_yaml(
///     "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\n\
///      groups: {debounce: 3}\n",
///     &|_: &str| None)?;
/// let view = pbx_core::config_views::GroupsView::from(&config.groups);
/// assert_eq!(view.debounce, 3);
/// assert!(view.groups_with_own_hours.is_empty());
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupsView {
    /// Whether the monitor runs.
    pub enabled: bool,
    /// Seconds between checks.
    pub interval_secs: f64,
    /// Consecutive failing checks before an alert opens.
    pub debounce: u32,
    /// Only these group ids (empty: all).
    pub include: Vec<String>,
    /// Never these group ids.
    pub exclude: Vec<String>,
    /// The ids of the groups with their own business hours, sorted.
    pub groups_with_own_hours: Vec<String>,
}

impl From<&GroupsConfig> for GroupsView {
    fn from(g: &GroupsConfig) -> Self {
        let mut own: Vec<String> = g.hours.keys().cloned().collect();
        own.sort();
        GroupsView {
            enabled: g.enabled,
            interval_secs: g.interval.as_secs_f64(),
            debounce: g.monitor.debounce,
            include: g.monitor.include.clone(),
            exclude: g.monitor.exclude.clone(),
            groups_with_own_hours: own,
        }
    }
}
