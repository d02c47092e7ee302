//! [`Config`] and its sections, as validated: what the rest of the crate and the adapters read.
//! Reading YAML into them is [`super::load`]'s; checking every value, `validate`'s.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono_tz::Tz;

use super::{Secret, SourceKind};
use crate::call::InternalCalls;
use crate::cdr::{FieldTemplate, TableMapping};
use crate::direction::DirectionPolicy;
use crate::error::Error;
use crate::extensions::ExtensionMap;
use crate::groups::{GroupMonitor, MonitorConfig};
use crate::hours::BusinessHours;
use crate::missed::MissedCalls;

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

/// Where the calls go, as `call_api.base_url` says: the call-logger API, or a JSON-lines
/// file (`file:PATH`, a dry run). The one place that reads the `file:` prefix
/// ([`CallApiConfig::sink`]).
///
/// ```
/// use pbx_core::config::SinkConfig;
/// assert_eq!(SinkConfig::parse("file:out/calls.jsonl"), SinkConfig::File { path: "out/calls.jsonl" });
/// assert_eq!(SinkConfig::parse("https://calls.example.com").name(), "https://calls.example.com");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkConfig<'a> {
    /// The call-logger API at this `http(s)://` base URL.
    Api {
        /// `http(s)://host:port`.
        base_url: &'a str,
    },
    /// A JSON-lines file, one call request per line.
    File {
        /// The file's path.
        path: &'a str,
    },
}

impl<'a> SinkConfig<'a> {
    /// What `call_api.base_url: value` names (a `file:` with an empty path is the API's
    /// address, refused by validation as not `http(s)://`).
    pub fn parse(value: &'a str) -> Self {
        match value.strip_prefix("file:") {
            Some(path) if !path.is_empty() => SinkConfig::File { path },
            _ => SinkConfig::Api { base_url: value },
        }
    }

    /// The API's base URL or the file's path.
    pub fn name(&self) -> &'a str {
        match self {
            SinkConfig::Api { base_url } => base_url,
            SinkConfig::File { path } => path,
        }
    }
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

impl CallApiConfig {
    /// Where the calls go: the API at `base_url`, or the JSON-lines file `file:PATH` names.
    ///
    /// ```
    /// use pbx_core::config::{Config, SinkConfig};
    /// let yaml = "source: {kind: file, path: x}\ncall_api: {base_url: 'file:calls.jsonl'}\n";
    /// let config = Config::from_yaml(yaml, &|_| None)?;
    /// assert_eq!(config.call_api.sink(), SinkConfig::File { path: "calls.jsonl" });
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn sink(&self) -> SinkConfig<'_> {
        SinkConfig::parse(&self.base_url)
    }
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

/// The validated sideloader configuration.
///
/// Two parts, one YAML file:
/// - **core** — the fields of `Config` itself: what turns records into calls and delivers them
///   (`pbx`, `source`, `call_api`, `xapi`, `extensions`, `direction`, `phone`,
///   `business_hours`, `groups`, `missed_calls`, `polling`, `checkpoint`). pbx-core's mapping
///   ([`Config::call_mapper`], [`Config::cdr_parser`]) and pbx-sources' adapters and delivery
///   engine read these, in whatever host they run.
/// - **service** — [`Config::host_sections`] ([`HostSections`]): the `http`, `logging`, `ha`
///   and `quarantine` sections, which only the long-running sideloader service reads
///   (`pbx_sources::runtime::ServiceConfig`: its status/trigger listener, its log output, its
///   leadership among standbys, its quarantine file). pbx-core keeps them unread.
///
/// ```
/// let config = pbx_core::config::Config::from_yaml(
///     "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\nhttp: {listen: '0.0.0.0:9000'}\n",
///     &|_: &str| None)?;
/// assert_eq!(config.host_sections.get("http").unwrap()["listen"], "0.0.0.0:9000");
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
    /// Who calls back a missed call (`missed_calls`; see [`crate::missed`]). Its `hours` are
    /// left unset here: [`Config::call_mapper`] gives it the `business_hours` schedule.
    pub missed_calls: MissedCalls,
    /// How often to poll a database source (default 30 s).
    pub poll_interval: Duration,
    /// Records per batch (default 500).
    pub batch_size: usize,
    /// Where checkpoints are kept.
    pub checkpoint: CheckpointConfig,
    /// The service's own sections (`http`, `logging`, `ha`, `quarantine`), unread here.
    pub host_sections: HostSections,
}

/// The sections of a sideloader's YAML that pbx-core accepts but does not read: `http`,
/// `logging`, `ha` and `quarantine`, the settings of the long-running service (its
/// status/trigger listener, log output, leadership among standbys, quarantine file).
/// `pbx_sources::runtime::ServiceConfig` owns and checks them; pbx-core only checks that each
/// is a mapping and substitutes its `${VAR}`s, so that one file holds everything and every
/// problem is reported at once ([`Config::from_yaml_with`]).
///
/// Its `Debug` names the sections only: their values may hold a secret (`http.token`).
///
/// ```
/// let config = pbx_core::config::Config::from_yaml(
///     "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\nhttp: {listen: '${ADDR}'}\n",
///     &|_: &str| Some("0.0.0.0:9000".into()))?;
/// let http = config.host_sections.get("http").unwrap();
/// assert_eq!(http["listen"], "0.0.0.0:9000");
/// assert_eq!(config.host_sections.written("http").unwrap()["listen"], "${ADDR}");
/// assert!(config.host_sections.get("ha").is_none());
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HostSections {
    /// Each present section, substituted.
    substituted: BTreeMap<String, serde_json::Value>,
    /// Each present section as written, before substitution.
    written: BTreeMap<String, serde_json::Value>,
}

impl HostSections {
    /// The names of the sections left to the host.
    pub const NAMES: [&'static str; 4] = ["http", "logging", "ha", "quarantine"];

    /// Section `name`, its `${VAR}`s substituted; `None` when absent (or not a mapping:
    /// reported already).
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.substituted.get(name)
    }

    /// Section `name` as written, before substitution (to tell a value written empty from
    /// one that a variable left empty).
    pub fn written(&self, name: &str) -> Option<&serde_json::Value> {
        self.written.get(name)
    }

    /// Keeps section `name` (a mapping) as written and as substituted.
    pub(super) fn insert(
        &mut self,
        name: &str,
        written: serde_json::Value,
        substituted: serde_json::Value,
    ) {
        self.written.insert(name.to_owned(), written);
        self.substituted.insert(name.to_owned(), substituted);
    }
}

impl std::fmt::Debug for HostSections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.substituted.keys()).finish()
    }
}

impl Config {
    /// The CDR → call request mapping this configuration describes (direction rules, time
    /// zone, internal calls, default region, extension map, missed-call rules with the
    /// `business_hours` schedule; hours `from_xapi` are the caller's to set, with
    /// [`crate::call::CallMapper::missed_calls_mut`]).
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
        .with_missed_calls(MissedCalls {
            hours: self.business_hours_schedule().cloned(),
            ..self.missed_calls.clone()
        })
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
}

impl SourceConfig {
    /// Which kind of source this is (its `source.kind`).
    pub fn kind(&self) -> SourceKind {
        match self {
            SourceConfig::PostgresCdrOutput { .. } => SourceKind::PostgresCdrOutput,
            SourceConfig::PostgresCallLog { .. } => SourceKind::PostgresCallLog,
            SourceConfig::PostgresTable { .. } => SourceKind::PostgresTable,
            SourceConfig::MssqlTable { .. } => SourceKind::MssqlTable,
            SourceConfig::SocketListen { .. } => SourceKind::SocketListen,
            SourceConfig::SocketConnect { .. } => SourceKind::SocketConnect,
            SourceConfig::File { .. } => SourceKind::File,
            SourceConfig::Directory { .. } => SourceKind::Directory,
        }
    }
}

/// The group monitor a configuration describes (in this module, so that `groups` does not
/// depend on the configuration).
impl GroupMonitor {
    /// The monitor a configuration describes: `groups` (debounce, include, exclude, hours per
    /// group) and, for every other group, `hours` when given, else the `business_hours`
    /// schedule of the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] (`business_hours`) when `hours` is `None` and the
    /// configuration has no schedule (the section is absent, or takes the hours from XAPI:
    /// read `GET /OfficeHours` and pass them).
    ///
    /// ```
    /// use pbx_core::config::Config;
    /// use pbx_core::groups::GroupMonitor;
    /// let yaml = "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\n\
    ///     groups: {debounce: 3}\n";
    /// let config = Config::from_yaml(yaml, &|_: &str| None)?;
    /// assert!(GroupMonitor::from_config(&config, None).is_err()); // no business_hours
    /// let hours = pbx_core::hours::BusinessHours::always(chrono_tz::UTC);
    /// assert_eq!(GroupMonitor::from_config(&config, Some(hours))?.config().debounce, 3);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn from_config(config: &Config, hours: Option<BusinessHours>) -> Result<Self, Error> {
        let Some(hours) = hours.or_else(|| config.business_hours_schedule().cloned()) else {
            return Err(Error::InvalidSetting {
                setting: "business_hours".to_owned(),
                value: if config.business_hours.is_some() {
                    "from_xapi"
                } else {
                    ""
                }
                .to_owned(),
                reason: "the configuration has no business_hours schedule; pass the hours \
                         (read from XAPI GET /OfficeHours)"
                    .to_owned(),
            });
        };
        Ok(GroupMonitor::new(hours)
            .with_config(config.groups.monitor.clone())
            .with_group_hours(config.groups.hours.clone()))
    }
}
