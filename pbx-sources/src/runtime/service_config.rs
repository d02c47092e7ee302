//! The service's own settings — `http`, `logging`, `ha`, `quarantine` — read out of the
//! sections pbx-core leaves to its host ([`HostSections`](pbx_core::config::HostSections)),
//! and [`load_config`], which reads a whole sideloader file with every problem at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use pbx_core::config::{Check, CheckpointConfig, Config, ConfigIssue, Secret};
use serde_json::Value;

/// The service-only settings: what a long-running sideloader (the `pbx-sideloader` program,
/// or a host running [`super::Service`] or [`super::Sideloader::run`]) reads besides the core
/// [`Config`]. The YAML keeps them in their own top-level sections: `http`, `logging`, `ha`,
/// `quarantine`.
///
/// ```
/// use pbx_sources::runtime::{LogFormat, load_config};
/// let (_, service) = load_config(
///     "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\n\
///      http: {listen: '0.0.0.0:9000', token: t0k}\nlogging: {format: json}\n",
///     &|_: &str| None)?;
/// assert_eq!(service.http.listen.port(), 9000);
/// assert_eq!(service.logging.level, "info");
/// assert_eq!(service.logging.format, LogFormat::Json);
/// assert!(service.ha.is_none());
/// assert_eq!(service.quarantine_path, "pbx-quarantine.jsonl");
/// # Ok::<(), pbx_core::Error>(())
/// ```
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
    /// The quarantine file (`quarantine.path`, JSON lines; default `pbx-quarantine.jsonl`).
    pub quarantine_path: String,
}

/// The service's status/health/trigger HTTP listener (the `http` section).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Where it listens (`http.listen`, default `127.0.0.1:8081`).
    pub listen: SocketAddr,
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
    /// use pbx_sources::runtime::LogFormat;
    /// assert_eq!(LogFormat::Json.code(), "json");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
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

/// Reads a sideloader configuration — the core [`Config`] and the [`ServiceConfig`] — with
/// every problem of the file reported at once, whichever part reads the setting. What
/// `pbx-sideloader` and the bindings' `Config` read a file with.
///
/// ```
/// let err = pbx_sources::runtime::load_config(
///     "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\n\
///      polling: {batch_size: 0}\nlogging: {level: loud}\n",
///     &|_: &str| None).unwrap_err();
/// let paths: Vec<String> = err.issues().into_iter().map(|i| i.path).collect();
/// assert_eq!(paths, ["polling.batch_size", "logging.level"]);
/// ```
///
/// # Errors
/// [`pbx_core::Error::InvalidConfig`] with every problem found.
pub fn load_config(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, ServiceConfig), pbx_core::Error> {
    Config::from_yaml_with(text, env, ServiceConfig::read)
}

/// [`load_config`] with `${VAR}`s looked up in `vars`, or in the process environment when it
/// is `None` — what the bindings' `Config.from_yaml(text, env)` / `Config.fromYaml` do.
///
/// ```
/// let vars = std::collections::HashMap::from([("LOG".to_owned(), "debug".to_owned())]);
/// let yaml = "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\nlogging: {level: '${LOG}'}\n";
/// let (_, service) = pbx_sources::runtime::load_config_with(yaml, Some(&vars))?;
/// assert_eq!(service.logging.level, "debug");
/// # Ok::<(), pbx_core::Error>(())
/// ```
///
/// # Errors
/// As [`load_config`].
pub fn load_config_with(
    text: &str,
    vars: Option<&HashMap<String, String>>,
) -> Result<(Config, ServiceConfig), pbx_core::Error> {
    match vars {
        Some(vars) => load_config(text, &|name| vars.get(name).cloned()),
        None => load_config(text, &|name| std::env::var(name).ok()),
    }
}

impl ServiceConfig {
    /// The service settings of a configuration read with [`Config::from_yaml`] (which leaves
    /// them unread).
    ///
    /// ```
    /// use pbx_core::config::Config;
    /// use pbx_sources::runtime::ServiceConfig;
    /// let yaml = "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\nha: {enabled: true}\n";
    /// let config = Config::from_yaml(yaml, &|_: &str| None)?;
    /// let err = ServiceConfig::from_config(&config).unwrap_err();
    /// assert!(err.to_string().contains("ha.enabled: needs checkpoint.kind: postgres"), "{err}");
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`pbx_core::Error::InvalidConfig`] with every problem of those sections.
    pub fn from_config(config: &Config) -> Result<ServiceConfig, pbx_core::Error> {
        let mut issues = Vec::new();
        let service = ServiceConfig::read(config, &mut issues);
        if issues.is_empty() {
            Ok(service)
        } else {
            Err(pbx_core::Error::InvalidConfig { issues })
        }
    }

    /// Reads the `http`, `logging`, `ha` and `quarantine` sections of `config`, adding every
    /// problem to `issues` (a wrong value reads as its default).
    fn read(config: &Config, issues: &mut Vec<ConfigIssue>) -> ServiceConfig {
        let sections = &config.host_sections;
        let mut c = Check::new(issues);
        let http = HttpConfig::read(&mut c, sections.get("http"), sections.written("http"));
        let logging = LoggingConfig::read(&mut c, sections.get("logging"));
        let ha = c.section(
            "ha",
            sections.get("ha"),
            &["enabled", "lock_key", "poll_secs"],
        );
        let quarantine = c.section("quarantine", sections.get("quarantine"), &["path"]);
        // Every `ha` setting is checked, enabled or not: a wrong value must not wait to
        // surface until the day high availability is switched on.
        let ha_enabled = c.flag("ha.enabled", &ha.get("enabled"), false);
        if ha_enabled && !matches!(config.checkpoint, CheckpointConfig::Postgres { .. }) {
            c.bad(
                "ha.enabled",
                None,
                "needs checkpoint.kind: postgres (the standby resumes from the leader's checkpoint, and the lock lives on that server)",
            );
        }
        let lock_key = match c.opt_text("ha.lock_key", &ha.get("lock_key")) {
            None => HaConfig::DEFAULT_LOCK_KEY,
            Some(s) => s.parse().unwrap_or_else(|e: std::num::ParseIntError| {
                let message = match e.kind() {
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                        format!("is out of range ({} to {})", i64::MIN, i64::MAX)
                    }
                    _ => "is not a whole number (a 64-bit signed integer)".to_owned(),
                };
                c.bad("ha.lock_key", ha.get("lock_key").as_ref(), message);
                HaConfig::DEFAULT_LOCK_KEY
            }),
        };
        let poll = c.secs("ha.poll_secs", &ha.get("poll_secs"), 2, 1, 3_600);
        let quarantine_path = c
            .opt_text("quarantine.path", &quarantine.get("path"))
            .unwrap_or_else(|| "pbx-quarantine.jsonl".into());
        ServiceConfig {
            http,
            logging,
            ha: ha_enabled.then_some(HaConfig { lock_key, poll }),
            quarantine_path,
        }
    }
}

impl HttpConfig {
    /// Reads an `http` section (`section`: substituted, `written`: before substitution; each
    /// `None` when absent) — a sideloader's, or a fleet file's.
    pub(crate) fn read(
        c: &mut Check<'_>,
        section: Option<&Value>,
        written: Option<&Value>,
    ) -> HttpConfig {
        let http = c.section("http", section, &["listen", "token"]);
        let listen = c.parse(
            "http.listen",
            &http.get("listen"),
            SocketAddr::from(([127, 0, 0, 1], 8081)),
            "an address like 127.0.0.1:8081",
        );
        let token = c.secret("http.token", &http.get("token"));
        let config = HttpConfig { listen, token };
        let written = written
            .and_then(|h| h.get("token"))
            .map(|t| t.as_str().map(str::to_owned));
        if let Some(written) = written
            && !c.reported("http.token")
            && let Some(issue) = empty_trigger_token(&config, written)
        {
            c.push(issue);
        }
        config
    }
}

impl LoggingConfig {
    /// Reads a `logging` section (`None` when absent) — a sideloader's, or a fleet file's.
    pub(crate) fn read(c: &mut Check<'_>, section: Option<&Value>) -> LoggingConfig {
        let logging = c.section("logging", section, &["level", "format"]);
        let level = c
            .opt_text("logging.level", &logging.get("level"))
            .unwrap_or_else(|| "info".into());
        if !["error", "warn", "info", "debug", "trace"].contains(&level.as_str()) {
            c.bad(
                "logging.level",
                logging.get("level").as_ref(),
                "is not a log level (error, warn, info, debug, trace)",
            );
        }
        let format = match c
            .opt_text("logging.format", &logging.get("format"))
            .as_deref()
        {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => {
                c.bad(
                    "logging.format",
                    logging.get("format").as_ref(),
                    "is not a log format (text or json)",
                );
                LogFormat::Text
            }
        };
        LoggingConfig { level, format }
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
