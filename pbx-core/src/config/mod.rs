//! The whole sideloader configuration: YAML with `${VAR}` / `${VAR:-default}` substitution,
//! validated at once so that every problem is reported with its path before anything starts.
//!
//! The YAML is read by `serde-saphyr` (a maintained, panic-free, pure-Rust YAML parser:
//! `serde_yaml` is archived); unknown keys are errors, so a typo cannot silently disable a
//! feature. Nothing here reads files or the environment: the caller hands in the text and a
//! variable lookup.
//!
//! ```
//! use pbx_core::config::Config;
//! let yaml = "
//! source: { kind: file, path: /var/log/3cx/cdr.log }
//! call_api: { base_url: 'http://localhost:8080', token: '${API_TOKEN}' }
//! ";
//! let env = |name: &str| (name == "API_TOKEN").then(|| "s3cret".to_string());
//! let config = Config::from_yaml(yaml, &env)?;
//! assert_eq!(config.call_api.token.as_ref().map(|t| t.expose()), Some("s3cret"));
//! assert!(!format!("{config:?}").contains("s3cret"));
//! # Ok::<(), pbx_core::Error>(())
//! ```

mod legacy;
mod raw;
mod secret;
mod source_kind;
mod subst;
mod url;
mod validate;
mod yaml_value;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use chrono_tz::Tz;

use crate::call::InternalCalls;
use crate::cdr::FieldTemplate;
use crate::direction::DirectionPolicy;
use crate::error::Error;
use crate::extensions::ExtensionMap;
use crate::groups::MonitorConfig;
use crate::hours::BusinessHours;

pub use secret::Secret;
pub use source_kind::SourceKind;
pub use url::redact_url;

/// The top-level sections.
const SECTIONS: [&str; 14] = [
    "pbx",
    "source",
    "call_api",
    "xapi",
    "extensions",
    "direction",
    "phone",
    "business_hours",
    "groups",
    "polling",
    "checkpoint",
    "quarantine",
    "http",
    "logging",
];

/// The largest configuration text accepted (1 MiB).
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// One problem in a configuration: where, the value found, and what is wrong.
///
/// ```
/// let issue = pbx_core::config::ConfigIssue {
///     path: "business_hours.monday[1]".into(),
///     value: Some("25:00-26:00".into()),
///     message: "is not an interval like 09:00-17:00".into(),
/// };
/// assert_eq!(issue.to_string(), r#"business_hours.monday[1]: "25:00-26:00" is not an interval like 09:00-17:00"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Where: `call_api.base_url`, `business_hours.monday[1]`, …
    pub path: String,
    /// The value found, when there is one.
    pub value: Option<String>,
    /// What is wrong, phrased to follow the value.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(config)"
        } else {
            &self.path
        };
        match &self.value {
            Some(v) => write!(f, "{path}: {v:?} {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// The issues, one per line, indented.
pub(crate) fn list_issues(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where CDRs are read from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceConfig {
    /// 3CX v20 U6+ `cdroutput` table on PostgreSQL.
    PostgresCdrOutput {
        /// Connection URL (`postgres://…`).
        url: Secret,
        /// How long a call must be quiet before it is emitted.
        settle: Duration,
    },
    /// 3CX v16–v20 U5 `cl_*` tables on PostgreSQL.
    PostgresCallLog {
        /// Connection URL.
        url: Secret,
    },
    /// A site's own CDR table on PostgreSQL.
    PostgresTable {
        /// Connection URL.
        url: Secret,
        /// Table and column mapping.
        table: TableMapping,
    },
    /// A site's own CDR table on SQL Server.
    MssqlTable {
        /// Connection string.
        url: Secret,
        /// Table and column mapping.
        table: TableMapping,
    },
    /// 3CX connects to us (active socket mode).
    SocketListen {
        /// `ip:port` to listen on.
        listen: String,
        /// Peers allowed to connect (empty: any).
        allow_peers: Vec<std::net::IpAddr>,
        /// The local journal of received lines.
        journal: String,
    },
    /// We connect to 3CX (passive socket mode).
    SocketConnect {
        /// `host:port` of the PBX.
        connect: String,
        /// The local journal of received lines.
        journal: String,
    },
    /// One CDR file, followed like `tail -F`.
    File {
        /// Its path.
        path: String,
    },
    /// One file per call in a directory.
    Directory {
        /// The directory.
        path: String,
        /// Where processed files are moved (none: remembered by name).
        processed_dir: Option<String>,
    },
}

/// A site table: its name and which column holds which CDR field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMapping {
    /// `table` or `schema.table`.
    pub name: String,
    /// CDR field name (or `id`) → column name; `id` is always present.
    pub columns: std::collections::BTreeMap<String, String>,
}

/// The call-logger API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallApiConfig {
    /// `http(s)://host:port`, or `file:PATH` to write call requests to a JSON-lines file
    /// instead (a dry run).
    pub base_url: String,
    /// Bearer token, if the backend wants one.
    pub token: Option<Secret>,
    /// Per-request timeout (default 10 s).
    pub timeout: Duration,
    /// Calls in flight at once (default 4).
    pub concurrency: usize,
    /// Failed attempts before a call that keeps failing while others are delivered is set
    /// aside as poison (default 5); also how often `--once` tries the oldest call during an
    /// outage before it gives up.
    pub max_attempts: u32,
    /// The least time between a call's first failure and its quarantine as poison
    /// (`call_api.poison_after_secs`, default 120 s).
    pub poison_after: Duration,
    /// The longest wait the API's `Retry-After` (seconds or an HTTP date) can impose on a
    /// call (`call_api.max_retry_after_secs`, default 300 s); a longer one is cut to this.
    pub max_retry_after: Duration,
    /// Skip TLS verification (never in production; logged loudly).
    pub insecure_skip_tls_verify: bool,
}

/// The 3CX configuration API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XapiConfig {
    /// `https://pbx.example.com`.
    pub base_url: String,
    /// Client id of the API user.
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
    /// How often to refresh users and groups (default 300 s).
    pub refresh: Duration,
    /// Skip TLS verification.
    pub insecure_skip_tls_verify: bool,
}

/// Business hours: from the config, or from 3CX's `OfficeHours`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HoursConfig {
    /// Given in the config.
    Schedule(Box<BusinessHours>),
    /// Read from XAPI `GET /OfficeHours`.
    FromXapi,
}

impl HoursConfig {
    /// Where the hours come from, as the bindings publish it: `"schedule"` (given in the
    /// configuration) or `"xapi"` (`business_hours.from_xapi: true`).
    ///
    /// ```
    /// use pbx_core::config::HoursConfig;
    /// assert_eq!(HoursConfig::FromXapi.source_code(), "xapi");
    /// ```
    pub fn source_code(&self) -> &'static str {
        match self {
            HoursConfig::Schedule(_) => "schedule",
            HoursConfig::FromXapi => "xapi",
        }
    }
}

/// Call-group coverage monitoring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupsConfig {
    /// Whether to monitor (default false).
    pub enabled: bool,
    /// How often (default 300 s).
    pub interval: Duration,
    /// Debounce and include/exclude lists.
    pub monitor: MonitorConfig,
    /// Business hours of particular groups.
    pub hours: HashMap<String, BusinessHours>,
}

/// Where checkpoints are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointConfig {
    /// A file (default `pbx-checkpoint.json`).
    File {
        /// Its path.
        path: String,
    },
    /// A PostgreSQL table.
    Postgres {
        /// Connection URL.
        url: Secret,
        /// Table name (default `pbx_checkpoint`).
        table: String,
    },
}

/// Log output format (`logging.format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The YAML spelling (`logging.format`): `"text"` or `"json"`.
    ///
    /// ```
    /// use pbx_core::config::LogFormat;
    /// assert_eq!(LogFormat::Json.code(), "json");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// The validated sideloader configuration.
///
/// Two parts, one YAML file:
/// - **core** — the fields of `Config` itself: what turns records into calls and delivers them
///   (`pbx`, `source`, `call_api`, `xapi`, `extensions`, `direction`, `phone`,
///   `business_hours`, `groups`, `polling`, `checkpoint`, `quarantine`). pbx-core's mapping
///   ([`Config::call_mapper`], [`Config::cdr_parser`]) and pbx-sources' adapters and delivery
///   engine read these, in whatever host they run.
/// - **service** — [`Config::service`] ([`ServiceConfig`]): the `http`, `logging` and `ha`
///   sections, which only a long-running sideloader service reads (its status/trigger
///   listener, its log output, its leadership among standbys). A program that only maps CDRs
///   or drains once can ignore them.
///
/// ```
/// let config = pbx_core::config::Config::from_yaml(
///     "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\nhttp: {listen: '0.0.0.0:9000'}\n",
///     &|_: &str| None)?;
/// assert_eq!(config.service.http.listen.port(), 9000);
/// assert_eq!(config.service.logging.level, "info");
/// assert!(config.service.ha.is_none());
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The PBX's timezone (`pbx.timezone`, default UTC).
    pub timezone: Tz,
    /// The CDR field layout (`pbx.cdr_template`, default the 27-field layout).
    pub cdr_template: FieldTemplate,
    /// Where CDRs come from.
    pub source: SourceConfig,
    /// The call-logger API.
    pub call_api: CallApiConfig,
    /// The 3CX XAPI, if used.
    pub xapi: Option<XapiConfig>,
    /// Extension → user map (with its fallback).
    pub extensions: ExtensionMap,
    /// Refresh the extension map from XAPI `/Users`.
    pub extensions_from_xapi: bool,
    /// Direction rules.
    pub direction: DirectionPolicy,
    /// What to do with internal calls.
    pub internal_calls: InternalCalls,
    /// Default region for phone numbers (ISO 3166 alpha-2, default `US`).
    pub default_region: crate::phone::Region,
    /// Business hours, if configured.
    pub business_hours: Option<HoursConfig>,
    /// Call-group monitoring.
    pub groups: GroupsConfig,
    /// How often to poll a database source (default 30 s).
    pub poll_interval: Duration,
    /// Records per batch (default 500).
    pub batch_size: usize,
    /// Where checkpoints are kept.
    pub checkpoint: CheckpointConfig,
    /// The quarantine file (JSON lines; default `pbx-quarantine.jsonl`).
    pub quarantine_path: String,
    /// The settings only the sideloader service reads: its HTTP listener, logging and high
    /// availability (the `http`, `logging` and `ha` sections).
    pub service: ServiceConfig,
}

/// The service-only settings: what a long-running sideloader (the `pbx-sideloader` program,
/// or a host running `pbx_sources::runtime`'s service) reads besides the core [`Config`]. The
/// YAML keeps them in their own top-level sections: `http`, `logging`, `ha`. Built by
/// [`Config::from_yaml`] (non-exhaustive: a section may gain settings).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The status/health/trigger HTTP listener (`http`).
    pub http: HttpConfig,
    /// Log output (`logging`).
    pub logging: LoggingConfig,
    /// High availability (`ha.enabled`): only the instance holding a PostgreSQL advisory lock
    /// delivers. `None` when disabled.
    pub ha: Option<HaConfig>,
}

/// The service's status/health/trigger HTTP listener (the `http` section).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Where it listens (`http.listen`, default `127.0.0.1:8081`).
    pub listen: std::net::SocketAddr,
    /// The bearer token `POST /trigger/*` needs (`http.token`; none: the triggers are open).
    pub token: Option<Secret>,
}

/// The service's log output (the `logging` section).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggingConfig {
    /// Log level (`logging.level`): error, warn, info (default), debug, trace.
    pub level: String,
    /// Log format (`logging.format`, default text).
    pub format: LogFormat,
}

/// High availability: several sideloaders on one source, one delivering at a time — the one
/// holding the PostgreSQL advisory lock `lock_key` on the checkpoint store's server (so
/// `checkpoint.kind: postgres` is required: the standby resumes from the leader's checkpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaConfig {
    /// The advisory lock's key (`ha.lock_key`, default [`HaConfig::DEFAULT_LOCK_KEY`]); give
    /// each pair of instances sharing a server a key of its own.
    pub lock_key: i64,
    /// How often a standby tries to take the lock and the leader checks it still holds it
    /// (`ha.poll_secs`, default 2 s).
    pub poll: Duration,
}

impl HaConfig {
    /// The lock key used when `ha.lock_key` is not set.
    pub const DEFAULT_LOCK_KEY: i64 = 0x3cc0_0001;
}

impl Config {
    /// The CDR → call request mapping this configuration describes (direction rules, time
    /// zone, internal calls, default region, extension map).
    ///
    /// ```
    /// let config = pbx_core::config::Config::from_yaml(
    ///     "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\npbx: {timezone: Europe/Berlin}\n",
    ///     &|_: &str| None)?;
    /// assert_eq!(config.call_mapper().options().timezone, chrono_tz::Europe::Berlin);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn call_mapper(&self) -> crate::call::CallMapper {
        crate::call::CallMapper::new(
            crate::call::MappingOptions {
                timezone: self.timezone,
                internal_calls: self.internal_calls,
                default_region: self.default_region,
                ..crate::call::MappingOptions::default()
            },
            self.direction.clone(),
            self.extensions.clone(),
        )
    }

    /// The business-hours schedule given in `business_hours`; `None` when the section is
    /// absent or says `from_xapi: true` (read `GET /OfficeHours` and build the hours with
    /// [`crate::hours::xapi::OfficeHours::to_business_hours`] then).
    ///
    /// ```
    /// let yaml = "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\n";
    /// let config = pbx_core::config::Config::from_yaml(yaml, &|_: &str| None)?;
    /// assert!(config.business_hours_schedule().is_none());
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn business_hours_schedule(&self) -> Option<&BusinessHours> {
        match self.business_hours.as_ref()? {
            HoursConfig::Schedule(h) => Some(h),
            HoursConfig::FromXapi => None,
        }
    }

    /// The CDR line parser for `pbx.cdr_template`.
    pub fn cdr_parser(&self) -> crate::cdr::CdrParser {
        crate::cdr::CdrParser::new(self.cdr_template.clone())
    }

    /// Reads, substitutes and validates a configuration.
    ///
    /// `env` looks up variables for `${VAR}`; pass `&|n| std::env::var(n).ok()` for the
    /// process environment. The old Node sideloader's YAML shape is recognised and read too
    /// (see docs/migrating-from-node.md).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with every problem found, each with its path and value.
    pub fn from_yaml(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let fail = |issues: Vec<ConfigIssue>| Err(Error::InvalidConfig { issues });
        let value = match parse_yaml(text, "must be a mapping of sections (source, call_api, …)")
        {
            Ok(v) => v,
            Err(e) => return fail(vec![e]),
        };
        let mut value = value;
        if legacy::is_legacy(&value) {
            value = legacy::convert(value);
        }
        let mut issues = Vec::new();
        // Every section is a mapping (serde would otherwise read a list into one by position).
        if let Some(sections) = value.as_object_mut() {
            for (name, section) in sections.iter_mut() {
                // An unknown key is reported as unknown, once, below.
                if SECTIONS.contains(&name.as_str()) && !(section.is_object() || section.is_null())
                {
                    issues.push(ConfigIssue {
                        path: name.clone(),
                        value: None,
                        message: "has the wrong shape: it must be a mapping of settings".into(),
                    });
                    *section = serde_json::Value::Null;
                }
            }
        }
        // `http.token` as written, before substitution: an empty token is refused naming it.
        let http_token_written = value
            .get("http")
            .and_then(|h| h.get("token"))
            .map(|t| t.as_str().map(str::to_owned));
        subst::substitute(&mut value, "", env, &mut issues);
        // A value of the wrong shape is reported and left out, and the rest read again, so it
        // never hides the other problems (at most a bounded number of rounds).
        let mut wrong_shape = Vec::new();
        let raw = loop {
            let mut unknown = Vec::new();
            let raw: Result<raw::RawConfig, _> = serde_path_to_error::deserialize(
                serde_ignored::Deserializer::new(&value, &mut |path: serde_ignored::Path<'_>| {
                    // serde_ignored writes `?` for an `Option` level: not part of the user's path.
                    let p = path.to_string();
                    unknown.push(
                        p.split('.')
                            .filter(|s| *s != "?")
                            .collect::<Vec<_>>()
                            .join("."),
                    );
                }),
            );
            match raw {
                Ok(raw) => {
                    for path in unknown {
                        issues.push(ConfigIssue {
                            path,
                            value: None,
                            message: "is not a known setting (check the spelling)".into(),
                        });
                    }
                    break raw;
                }
                Err(e) => {
                    let segments: Vec<String> = e
                        .path()
                        .iter()
                        .filter_map(|s| match s {
                            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                            _ => None,
                        })
                        .collect();
                    let issue = ConfigIssue {
                        path: e.path().to_string(),
                        value: None,
                        message: shape_problem(&e.inner().to_string()),
                    };
                    if wrong_shape.len() >= 64 || !remove_at(&mut value, &segments) {
                        issues.extend(wrong_shape);
                        issues.push(issue);
                        return fail(issues);
                    }
                    wrong_shape.push(issue);
                }
            }
        };
        issues.extend(wrong_shape);
        // A value whose substitution failed was reported once; its validation would only echo it.
        let unsubstituted: Vec<String> = issues.iter().map(|i| i.path.clone()).collect();
        let mut checked = Vec::new();
        let config = validate::validate(raw, &mut checked);
        issues.extend(
            checked
                .into_iter()
                .filter(|i| !unsubstituted.contains(&i.path)),
        );
        if let Some(written) = http_token_written
            && !issues.iter().any(|i| i.path == "http.token")
        {
            issues.extend(empty_trigger_token(&config.service.http, written));
        }
        if issues.is_empty() {
            Ok(config)
        } else {
            fail(issues)
        }
    }
}

/// The issue of an `http.token` the user wrote (`written`: its text before substitution, `None`
/// for a null) that is empty (or only white space) once substituted, on a listener beyond
/// loopback: it would leave `/trigger/*` open to every host. On loopback an empty token means
/// no token, as when it is not written at all.
fn empty_trigger_token(http: &HttpConfig, written: Option<String>) -> Option<ConfigIssue> {
    let empty = http
        .token
        .as_ref()
        .is_none_or(|t| t.expose().trim().is_empty());
    if !empty || http.listen.ip().is_loopback() {
        return None;
    }
    let detail = match &written {
        Some(w) if w.contains("${") => " once its variables are substituted",
        Some(w) if !w.is_empty() => " (only white space)",
        _ => "",
    };
    Some(ConfigIssue {
        path: "http.token".into(),
        message: format!(
            "is empty{detail}, and http.listen {} is beyond this host: /trigger/* would be open \
             to every host that reaches it; set a token, or listen on 127.0.0.1",
            http.listen
        ),
        // Empty once substituted: what was written holds no secret (only references to
        // empty or unset variables, and white space).
        value: written,
    })
}

/// A whole-document problem (no path).
fn document_issue(message: String) -> ConfigIssue {
    ConfigIssue {
        path: String::new(),
        value: None,
        message,
    }
}

/// YAML text (at most [`MAX_CONFIG_BYTES`]) as a mapping; an empty document is an empty
/// mapping. Problems are phrased for the user, not in the YAML library's terms.
fn parse_yaml(text: &str, not_a_mapping: &str) -> Result<serde_json::Value, ConfigIssue> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(document_issue(format!(
            "is {} bytes, over the limit of {MAX_CONFIG_BYTES}",
            text.len()
        )));
    }
    let yaml_value::StrictValue(value) = serde_saphyr::from_str(text)
        .map_err(|e| document_issue(format!("is not valid YAML: {}", yaml_problem(&e))))?;
    match value {
        serde_json::Value::Null => Ok(serde_json::Value::Object(Default::default())),
        v if v.is_object() => Ok(v),
        _ => Err(document_issue(not_a_mapping.to_owned())),
    }
}

/// A YAML error in the user's words, with its line and column when known.
fn yaml_problem(e: &serde_saphyr::Error) -> String {
    let at = e
        .location()
        .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
        .unwrap_or_default();
    let mut inner = e;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    let what = match inner {
        serde_saphyr::Error::Budget { .. } => {
            "it is too large or too deeply nested for a configuration (too many values, anchors or levels)".to_owned()
        }
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => match key {
            Some(k) => format!("the key `{k}` appears twice in one mapping; keep one"),
            None => "a key appears twice in one mapping; keep one".to_owned(),
        },
        other => {
            let message = serde_saphyr::MessageFormatter::format_message(
                &serde_saphyr::UserMessageFormatter,
                other,
            );
            if message.contains("recursion limit") {
                "it is nested too deeply for a configuration".to_owned()
            } else {
                message.into_owned()
            }
        }
    };
    format!("{what}{at}")
}

/// Reads an extension map file in any of the shapes people write — the entries alone at the
/// top level (`"101": email`, what people write first), the same under `extensions:`, or the
/// configuration file's own `extensions: {map: {…}, default_email: …}` — with the same checks
/// as the sideloader's `extensions.map` (digits-only extensions, one email validation), every
/// problem reported with its path. `pbx-convert --extensions` reads its file with it.
///
/// ```
/// let map = pbx_core::config::extensions_from_yaml("extensions: {'101': anna@example.com}")?;
/// assert_eq!(map.get("101").map(|u| u.email.as_str()), Some("anna@example.com"));
/// let flat = pbx_core::config::extensions_from_yaml("'102': {email: bo@example.com, name: Bo}")?;
/// assert_eq!(flat.get("102").and_then(|u| u.name.as_deref()), Some("Bo"));
/// let err = pbx_core::config::extensions_from_yaml("extensions: {'103': not-an-email}").unwrap_err();
/// assert!(err.to_string().contains(r#"extensions.103.email: "not-an-email" is not an email address"#), "{err}");
/// # Ok::<(), pbx_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidConfig`] with every problem found.
pub fn extensions_from_yaml(text: &str) -> Result<ExtensionMap, Error> {
    let value = parse_yaml(
        text,
        "must be a mapping of extensions to users (\"101\": anna@example.com)",
    )
    .map_err(|i| Error::InvalidConfig { issues: vec![i] })?;
    let mut issues = Vec::new();
    let (prefix, entries) = match value.get("extensions") {
        Some(serde_json::Value::Object(m)) => ("extensions", m.clone()),
        Some(_) => {
            return Err(Error::InvalidConfig {
                issues: vec![ConfigIssue {
                    path: "extensions".into(),
                    value: None,
                    message: "must be a mapping of extensions to users".into(),
                }],
            });
        }
        None => ("", value.as_object().cloned().unwrap_or_default()),
    };
    // The configuration file's layout: `extensions: {map: {…}, default_email: …}`.
    let (prefix, entries, default_email) = match (prefix, entries.get("map")) {
        ("extensions", Some(serde_json::Value::Object(map))) => (
            "extensions.map",
            map.clone(),
            entries.get("default_email").cloned(),
        ),
        _ => (prefix, entries, None),
    };
    let entries: std::collections::BTreeMap<String, serde_json::Value> =
        entries.into_iter().collect();
    let mut map = validate::extension_file(&entries, prefix, &mut issues);
    match default_email {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(email)) if validate::looks_like_email(&email) => {
            map = map.with_fallback(crate::extensions::OwnerFallback::DefaultEmail(email));
        }
        Some(other) => issues.push(ConfigIssue {
            path: "extensions.default_email".into(),
            value: Some(match other {
                serde_json::Value::String(s) => s,
                v => v.to_string(),
            }),
            message: "is not an email address".into(),
        }),
    }
    if prefix.is_empty() {
        for i in &mut issues {
            i.path = i.path.trim_start_matches('.').to_owned();
        }
    }
    if issues.is_empty() {
        Ok(map)
    } else {
        Err(Error::InvalidConfig { issues })
    }
}

/// Removes the value at the mapping keys `path` from `value`; whether it was there.
fn remove_at(value: &mut serde_json::Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = value;
    for key in parents {
        match node.get_mut(key) {
            Some(next) => node = next,
            None => return false,
        }
    }
    node.as_object_mut()
        .is_some_and(|m| m.remove(last).is_some())
}

/// A serde shape error (`invalid type: integer `5`, expected a sequence`) in the user's words.
fn shape_problem(serde_message: &str) -> String {
    let expected = if serde_message.contains("expected a sequence") {
        "must be a list"
    } else if serde_message.contains("expected a map") || serde_message.contains("expected struct")
    {
        "must be a mapping of settings"
    } else {
        "has the wrong shape"
    };
    let found = serde_message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split(", expected").next())
        .map(|found| format!(" (found {found})"))
        .unwrap_or_default();
    format!("{expected}{found}")
}
