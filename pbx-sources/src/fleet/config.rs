//! `fleet.yml`: many PBXs served by a fleet of processes coordinated by PostgreSQL.
//!
//! A fleet file names the PostgreSQL store the processes share, the service port, the lease
//! settings, the folder of site files (`sites/<id>.yml`, each in the sideloader's own
//! configuration format) and `defaults` merged under every site file. Nothing here reads a
//! file: the caller hands in the texts ([`FleetConfig::from_yaml`], [`FleetConfig::site`]).
//!
//! ```
//! use pbx_sources::fleet::FleetConfig;
//! let fleet = FleetConfig::from_yaml(
//!     "store: {url: 'postgres://pbx@db/pbx'}\n\
//!      sites_dir: /etc/pbx/sites\n\
//!      defaults: {call_api: {base_url: 'https://calls.example.com', token: t0k}}\n",
//!     &|_: &str| None,
//! )?;
//! assert_eq!(fleet.lease.duration.as_secs(), 30);
//! assert_eq!(fleet.lease.renew.as_secs(), 10);
//! // A site file gets the shared call API from `defaults`.
//! let site = fleet.site("berlin", "source: {kind: file, path: /var/log/3cx/berlin.log}\n", &|_: &str| None)?;
//! assert_eq!(site.call_api.base_url, "https://calls.example.com");
//! # Ok::<(), pbx_core::Error>(())
//! ```

use std::time::Duration;

use serde_json::{Map, Value};

use pbx_core::Error;
use pbx_core::config::{Check, Config, ConfigIssue, Secret, parse_yaml, substitute};

use crate::runtime::{HttpConfig, LoggingConfig};

/// The longest site id (the file name without `.yml`).
pub const MAX_SITE_ID_LEN: usize = 64;

/// The top-level keys of `fleet.yml`.
const FLEET_KEYS: [&str; 8] = [
    "store",
    "http",
    "lease",
    "sites_dir",
    "scan_secs",
    "name",
    "defaults",
    "logging",
];

/// Lease settings (`lease`): how long a claim on a site lasts without renewal, and how often
/// the owner renews it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseSettings {
    /// How long a lease lasts from its last renewal (`lease.duration_secs`, default 30 s):
    /// after a host dies, its sites move within about this plus one renewal period.
    pub duration: Duration,
    /// How often leases are renewed, process heartbeats written and free sites claimed
    /// (`lease.renew_secs`, default 10 s; at most a third of the duration).
    pub renew: Duration,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        LeaseSettings {
            duration: Duration::from_secs(30),
            renew: Duration::from_secs(10),
        }
    }
}

/// A fleet file (`pbx-sideloader fleet --config fleet.yml`): the shared PostgreSQL store, the
/// service port, the lease settings, the folder of site files and the `defaults` merged under
/// each (the whole format is in `docs/many-pbxs.md`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FleetConfig {
    /// The PostgreSQL server the processes share (`store.url`): leases, checkpoints,
    /// quarantine and call-group state live there.
    pub store_url: Secret,
    /// The prefix of the store's tables (`store.prefix`, default `pbx_fleet`): `<prefix>_sites`,
    /// `<prefix>_processes`, `<prefix>_checkpoints`, `<prefix>_quarantine`.
    pub store_prefix: String,
    /// The service port (`http`, as a sideloader's: `listen`, default `127.0.0.1:8081`, for
    /// `/health`, `/status`, `/status/sites/<id>`, `/metrics`; the `token` `POST /trigger/*`
    /// needs).
    pub http: HttpConfig,
    /// Lease settings (`lease`).
    pub lease: LeaseSettings,
    /// The folder of site files (`sites_dir`, default `sites`): every `<id>.yml` in it is a site.
    pub sites_dir: String,
    /// How often the folder is read again for added, changed and removed site files
    /// (`scan_secs`, default 5 s).
    pub scan: Duration,
    /// This process's name in the store (`name`; default `<hostname>-<pid>`, chosen by the
    /// runtime). Two live processes must not share one.
    pub name: Option<String>,
    /// Merged under every site file (`defaults`): a site's own settings win, mapping by mapping.
    pub defaults: Map<String, Value>,
    /// Log output (`logging`, as a sideloader's).
    pub logging: LoggingConfig,
}

impl FleetConfig {
    /// Reads and validates a fleet file; `env` looks up `${VAR}` (not inside `defaults`: each
    /// site's configuration is substituted when it is read, as a sideloader's is).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with every problem found, each with its path.
    pub fn from_yaml(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut value = parse_yaml(text, "must be a mapping (store, sites_dir, lease, …)")
            .map_err(|i| Error::InvalidConfig { issues: vec![i] })?;
        let mut issues = Vec::new();
        let map = value.as_object_mut().expect("parse_yaml gives a mapping");
        let defaults = match map.remove("defaults") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => {
                issues.push(issue("defaults", None, "must be a mapping of sections"));
                Map::new()
            }
        };
        for key in map.keys() {
            if !FLEET_KEYS.contains(&key.as_str()) {
                issues.push(issue(
                    key,
                    None,
                    "is not a known setting (check the spelling)",
                ));
            }
        }
        let http_written = map.get("http").cloned();
        for (key, v) in map.iter_mut() {
            substitute(v, key, env, &mut issues);
        }
        let mut c = Check::new(&mut issues);
        let store = c.section("store", map.get("store"), &["url", "prefix"]);
        let lease = c.section("lease", map.get("lease"), &["duration_secs", "renew_secs"]);
        let http = HttpConfig::read(&mut c, map.get("http"), http_written.as_ref());
        let logging = LoggingConfig::read(&mut c, map.get("logging"));

        let store_url = match store.get("url") {
            Some(Value::String(s)) if !s.trim().is_empty() => Secret::new(s),
            Some(Value::String(_)) | None => {
                issues.push(issue(
                    "store.url",
                    None,
                    "is missing: name the PostgreSQL server the fleet shares",
                ));
                Secret::new("")
            }
            Some(_) => {
                issues.push(issue(
                    "store.url",
                    None,
                    "must be a text (a PostgreSQL URL)",
                ));
                Secret::new("")
            }
        };
        let store_prefix = match store.get("prefix") {
            None => "pbx_fleet".to_owned(),
            Some(Value::String(s)) if is_identifier(&s) => s,
            Some(v) => {
                issues.push(issue(
                    "store.prefix",
                    Some(&v),
                    "must be a plain SQL name (letters, digits, _; at most 40)",
                ));
                "pbx_fleet".to_owned()
            }
        };
        let secs =
            |path: &str, v: Option<&Value>, default: f64, issues: &mut Vec<ConfigIssue>| match v {
                None => Duration::from_secs_f64(default),
                Some(Value::Number(n)) if n.as_f64().is_some_and(|s| s > 0.0 && s <= 86_400.0) => {
                    Duration::from_secs_f64(n.as_f64().unwrap_or(default))
                }
                Some(v) => {
                    issues.push(issue(
                        path,
                        Some(v),
                        "must be a number of seconds above 0 and at most 86400",
                    ));
                    Duration::from_secs_f64(default)
                }
            };
        let duration = secs(
            "lease.duration_secs",
            lease.get("duration_secs").as_ref(),
            30.0,
            &mut issues,
        );
        let renew = secs(
            "lease.renew_secs",
            lease.get("renew_secs").as_ref(),
            (duration.as_secs_f64() / 3.0).min(10.0),
            &mut issues,
        );
        if renew.as_secs_f64() * 3.0 > duration.as_secs_f64() + 1e-9 {
            issues.push(ConfigIssue {
                path: "lease.renew_secs".into(),
                value: Some(format!("{}", renew.as_secs_f64())),
                message: format!(
                    "must be at most a third of lease.duration_secs ({}): a lease is renewed well before it expires",
                    duration.as_secs_f64()
                ),
            });
        }
        let scan = secs("scan_secs", map.get("scan_secs"), 5.0, &mut issues);
        let sites_dir = match map.get("sites_dir") {
            None => "sites".to_owned(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(v) => {
                issues.push(issue("sites_dir", Some(v), "must be a folder path"));
                "sites".to_owned()
            }
        };
        let name = match map.get("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => Some(s.clone()),
            Some(v) => {
                issues.push(issue(
                    "name",
                    Some(v),
                    "must be a non-empty text of at most 200 bytes",
                ));
                None
            }
        };
        if !issues.is_empty() {
            return Err(Error::InvalidConfig { issues });
        }
        Ok(FleetConfig {
            store_url,
            store_prefix,
            http,
            lease: LeaseSettings { duration, renew },
            sites_dir,
            scan,
            name,
            defaults,
            logging,
        })
    }

    /// The configuration of site `id` from its file's text, with [`FleetConfig::defaults`]
    /// merged under it (mapping by mapping: a site's own value wins; a list or a scalar
    /// replaces the default's whole). Its `checkpoint` and `quarantine` sections are not
    /// used: in a fleet, a site's state lives in the store, keyed by its id.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with every problem of the merged configuration (paths as in a
    /// sideloader's file), or with one issue at `site` for an unusable id.
    pub fn site(
        &self,
        id: &str,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, Error> {
        if let Err(message) = check_site_id(id) {
            return Err(Error::InvalidConfig {
                issues: vec![ConfigIssue {
                    path: "site".into(),
                    value: Some(id.to_owned()),
                    message,
                }],
            });
        }
        let site = parse_yaml(text, "must be a mapping of sections (source, call_api, …)")
            .map_err(|i| Error::InvalidConfig { issues: vec![i] })?;
        let merged = merge_under(Value::Object(self.defaults.clone()), site);
        // JSON is YAML: the merged document is read like any sideloader configuration (its
        // service sections checked too, though the fleet's own serve).
        crate::runtime::load_config(&merged.to_string(), env).map(|(config, _)| config)
    }
}

/// The site id a file name gives (`berlin.yml` → `berlin`): `None` for a file that is not a
/// site file (another extension, a hidden file, an editor's backup).
///
/// ```
/// use pbx_sources::fleet::site_id_of_file;
/// assert_eq!(site_id_of_file("berlin.yml"), Some("berlin"));
/// assert_eq!(site_id_of_file("berlin.yaml"), Some("berlin"));
/// assert_eq!(site_id_of_file(".berlin.yml.swp"), None);
/// assert_eq!(site_id_of_file("README.md"), None);
/// ```
pub fn site_id_of_file(name: &str) -> Option<&str> {
    if name.starts_with('.') {
        return None;
    }
    name.strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .filter(|id| !id.is_empty())
}

/// Whether `id` can name a site: 1 to [`MAX_SITE_ID_LEN`] letters, digits, `-`, `_` or `.`.
///
/// # Errors
/// Why not, in words that follow the value.
pub fn check_site_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_SITE_ID_LEN {
        return Err(format!(
            "is not a site id: 1 to {MAX_SITE_ID_LEN} characters"
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("is not a site id: use letters, digits, '-', '_' and '.'".into());
    }
    Ok(())
}

/// `top` merged over `base`: mappings key by key (recursively), anything else replaced.
fn merge_under(base: Value, top: Value) -> Value {
    match (base, top) {
        (Value::Object(mut b), Value::Object(t)) => {
            for (k, v) in t {
                let merged = match b.remove(&k) {
                    Some(old) => merge_under(old, v),
                    None => v,
                };
                b.insert(k, merged);
            }
            Value::Object(b)
        }
        (_, top) => top,
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

fn issue(path: &str, value: Option<&Value>, message: &str) -> ConfigIssue {
    ConfigIssue {
        path: path.to_owned(),
        value: value.map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn every_problem_of_a_fleet_file_is_reported_with_its_path() {
        let err = FleetConfig::from_yaml(
            "store: {prefix: '1bad'}\nlease: {duration_secs: 3, renew_secs: 2}\nhttp: {listen: nowhere}\nsites_dri: x\n",
            &no_env,
        )
        .unwrap_err();
        let text = err.to_string();
        for path in [
            "store.url",
            "store.prefix",
            "lease.renew_secs",
            "http.listen",
            "sites_dri",
        ] {
            assert!(text.contains(path), "{path} missing in {text}");
        }
    }

    /// The fleet's `http` and `logging` are a sideloader's: same keys, defaults, messages.
    #[test]
    fn http_and_logging_are_read_as_a_sideloaders() {
        let fleet = FleetConfig::from_yaml("store: {url: 'postgres://x@y/z'}\n", &no_env).unwrap();
        assert_eq!(fleet.http.listen.to_string(), "127.0.0.1:8081");
        assert_eq!(fleet.logging.level, "info");
        let err = FleetConfig::from_yaml(
            "store: {url: 'postgres://x@y/z'}\nhttp: {listen: '0.0.0.0:8081', token: '', tokn: x}\n\
             logging: {level: loud}\n",
            &no_env,
        )
        .unwrap_err();
        let shown: Vec<String> = err.issues().iter().map(|i| i.to_string()).collect();
        assert_eq!(shown.len(), 3, "{shown:#?}");
        for want in [
            "http.tokn: is not a known setting",
            "http.token: \"\" is empty, and http.listen 0.0.0.0:8081 is beyond this host",
            "logging.level: \"loud\" is not a log level",
        ] {
            assert!(
                shown.iter().any(|s| s.starts_with(want)),
                "{want}: {shown:#?}"
            );
        }
    }

    /// A section that is not a mapping is named as such, whichever section it is.
    #[test]
    fn a_section_that_is_not_a_mapping_is_named() {
        let err = FleetConfig::from_yaml(
            "store: {url: 'postgres://x@y/z'}\nlease: 5\nhttp: [1]\nlogging: text\n",
            &no_env,
        )
        .unwrap_err();
        let shown: Vec<String> = err.issues().iter().map(|i| i.to_string()).collect();
        assert_eq!(
            shown,
            [
                "lease: must be a mapping of settings",
                "http: must be a mapping of settings",
                "logging: must be a mapping of settings",
            ],
            "{shown:#?}"
        );
    }

    #[test]
    fn defaults_merge_under_a_site_and_the_site_wins() {
        let fleet = FleetConfig::from_yaml(
            "store: {url: 'postgres://x@y/z'}\ndefaults:\n  call_api: {base_url: 'http://api', concurrency: 8}\n  pbx: {timezone: Europe/Berlin}\n",
            &no_env,
        )
        .unwrap();
        let site = fleet
            .site(
                "a",
                "source: {kind: file, path: a.log}\ncall_api: {concurrency: 2}\n",
                &no_env,
            )
            .unwrap();
        assert_eq!(site.call_api.base_url, "http://api");
        assert_eq!(site.call_api.concurrency, 2);
        assert_eq!(site.timezone, chrono_tz::Europe::Berlin);
    }

    #[test]
    fn an_invalid_site_reports_every_problem() {
        let fleet = FleetConfig::from_yaml("store: {url: 'postgres://x@y/z'}\n", &no_env).unwrap();
        let err = fleet
            .site(
                "a",
                "source: {kind: filez}\npolling: {interval_secs: -1}\n",
                &no_env,
            )
            .unwrap_err();
        assert!(err.issues().len() >= 2, "{err}");
        assert!(fleet.site("a/b", "", &no_env).is_err());
    }

    #[test]
    fn secrets_never_print() {
        let fleet = FleetConfig::from_yaml(
            "store: {url: 'postgres://u:hunter2@db/pbx'}\nhttp: {token: t0ps3cret}\n",
            &no_env,
        )
        .unwrap();
        let shown = format!("{fleet:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("t0ps3cret"),
            "{shown}"
        );
    }
}
