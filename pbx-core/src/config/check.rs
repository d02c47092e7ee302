//! [`Check`]: reading settings out of the configuration's raw values, every problem collected
//! with its path.

use std::str::FromStr;
use std::time::Duration;

use chrono_tz::Tz;
use serde_json::Value;

use super::{ConfigIssue, Secret};

/// Reads settings out of a configuration's raw values, collecting every problem with its path
/// (and its value, redacted for a secret) instead of stopping at the first: what pbx-core reads
/// its own sections with, and what a component outside it reads the sections it owns with (the
/// sideloader service's `http`, `logging`, `ha` and `quarantine`; see [`HostSections`](super::HostSections)), so
/// that each setting is checked and worded the same way wherever it is read.
///
/// A setting is passed as read: `None` when absent, else its value (a YAML scalar, list or
/// mapping, as JSON).
///
/// ```
/// use pbx_core::config::{Check, ConfigIssue};
/// let section = serde_json::json!({"listen": "nowhere", "retries": 3, "colour": "red"});
/// let mut issues: Vec<ConfigIssue> = Vec::new();
/// let mut c = Check::new(&mut issues);
/// let s = c.section("http", Some(&section), &["listen", "retries"]);
/// let default = std::net::SocketAddr::from(([127, 0, 0, 1], 8081));
/// let listen = c.parse("http.listen", &s.get("listen"), default, "an address like 127.0.0.1:8081");
/// assert_eq!(listen, default);
/// assert_eq!(c.number("http.retries", &s.get("retries"), 1, 0, 10), 3);
/// let shown: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
/// assert_eq!(shown, [
///     "http.colour: is not a known setting (check the spelling)",
///     "http.listen: \"nowhere\" is not an address like 127.0.0.1:8081",
/// ]);
/// ```
pub struct Check<'a> {
    issues: &'a mut Vec<ConfigIssue>,
}

/// One section's settings as [`Check::section`] read them.
#[derive(Debug, Default)]
pub struct Section(serde_json::Map<String, Value>);

impl Section {
    /// The setting `key` as read (`None` when absent), ready for [`Check`]'s readers.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.0.get(key).cloned()
    }
}

/// A scalar as text (strings as they are, numbers and booleans written out).
pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        // Rust writes a float without an exponent (`1e23` → `100000000000000000000000`).
        Value::Number(n) => Some(match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (None, None, Some(f)) => f.to_string(),
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn show(v: &Value) -> String {
    text(v).unwrap_or_else(|| v.to_string())
}

impl<'a> Check<'a> {
    /// A reader that adds its problems to `issues`.
    pub fn new(issues: &'a mut Vec<ConfigIssue>) -> Self {
        Check { issues }
    }

    /// The settings of section `name` (`value`: the section as read, `None` when absent),
    /// each key not in `known` reported as unknown. A section that is not a mapping (nor
    /// null) is reported as such and reads as empty. ([`super::Config::from_yaml`] reports
    /// and drops its own wrong-shaped sections first, so a host section never is one.)
    pub fn section(&mut self, name: &str, value: Option<&Value>, known: &[&str]) -> Section {
        let settings = match value {
            Some(Value::Object(settings)) => settings,
            None | Some(Value::Null) => return Section::default(),
            Some(_) => {
                self.bad(name, None, "must be a mapping of settings");
                return Section::default();
            }
        };
        let mut out = serde_json::Map::new();
        for (key, v) in settings {
            if known.contains(&key.as_str()) {
                out.insert(key.clone(), v.clone());
            } else {
                self.bad(
                    &format!("{name}.{key}"),
                    None,
                    "is not a known setting (check the spelling)",
                );
            }
        }
        Section(out)
    }

    /// Reports a problem at `path` (`value` shown redacted when `path` holds a secret).
    pub fn bad(&mut self, path: &str, value: Option<&Value>, message: impl Into<String>) {
        // A secret-bearing setting's value is only ever shown redacted.
        let secret = super::subst::is_secret_path(path);
        self.issues.push(ConfigIssue {
            path: path.to_owned(),
            value: value.map(show).map(|v| {
                if secret {
                    super::subst::redact_secret(&v)
                } else {
                    v
                }
            }),
            message: message.into(),
        });
    }

    /// Adds an issue as it is (its value shown as given: the caller knows it holds no secret).
    pub fn push(&mut self, issue: ConfigIssue) {
        self.issues.push(issue);
    }

    /// Whether a problem at `path` was reported already (through this reader or before it).
    pub fn reported(&self, path: &str) -> bool {
        self.issues.iter().any(|i| i.path == path)
    }

    /// An optional scalar as text; an empty string counts as absent.
    pub fn opt_text(&mut self, path: &str, v: &Option<Value>) -> Option<String> {
        match v {
            None | Some(Value::Null) => None,
            Some(v) => match text(v) {
                Some(s) if s.trim().is_empty() => None,
                Some(s) => Some(s.trim().to_owned()),
                None => {
                    self.bad(
                        path,
                        Some(v),
                        "must be a single value, not a list or mapping",
                    );
                    None
                }
            },
        }
    }

    pub(super) fn req_text(&mut self, path: &str, v: &Option<Value>, what: &str) -> Option<String> {
        let s = self.opt_text(path, v);
        if s.is_none() && !matches!(v, Some(Value::Array(_) | Value::Object(_))) {
            self.bad(path, None, format!("is required ({what})"));
        }
        s
    }

    /// An optional setting parsed with [`FromStr`]; `default` when absent; when it does not
    /// parse, reported as "is not {expected}" and `default`.
    pub fn parse<T: FromStr>(
        &mut self,
        path: &str,
        v: &Option<Value>,
        default: T,
        expected: &str,
    ) -> T {
        match self.opt_text(path, v) {
            None => default,
            Some(s) => s.parse().unwrap_or_else(|_| {
                self.bad(path, v.as_ref(), format!("is not {expected}"));
                default
            }),
        }
    }

    /// A whole number in `min..=max`; `default` when absent or wrong (and reported).
    pub fn number(
        &mut self,
        path: &str,
        v: &Option<Value>,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        let n = self.parse(path, v, default, "a whole number");
        if !(min..=max).contains(&n) {
            self.bad(
                path,
                v.as_ref(),
                format!("is out of range ({min} to {max})"),
            );
            return default;
        }
        n
    }

    /// A whole number of seconds in `min..=max` (as [`Check::number`]).
    pub fn secs(
        &mut self,
        path: &str,
        v: &Option<Value>,
        default: u64,
        min: u64,
        max: u64,
    ) -> Duration {
        Duration::from_secs(self.number(path, v, default, min, max))
    }

    /// `true` or `false`; `default` when absent or wrong (and reported).
    pub fn flag(&mut self, path: &str, v: &Option<Value>, default: bool) -> bool {
        self.parse(path, v, default, "true or false")
    }

    pub(super) fn list(&mut self, path: &str, items: &[Value]) -> Vec<String> {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.opt_text(&format!("{path}[{i}]"), &Some(item.clone())))
            .collect()
    }

    pub(super) fn url(
        &mut self,
        path: &str,
        v: &Option<Value>,
        what: &str,
        allow_file: bool,
    ) -> String {
        let s = self.req_text(path, v, what).unwrap_or_default();
        if s.is_empty() {
            return s;
        }
        if allow_file && matches!(super::SinkConfig::parse(&s), super::SinkConfig::File { .. }) {
            return s;
        }
        if let Err(problem) = super::url::check_http_url(&s) {
            let message = if allow_file && problem == super::url::NOT_HTTP {
                format!("{problem} (or file:PATH for a JSON-lines file)")
            } else {
                problem
            };
            // The value may hold a password or a key: shown redacted.
            self.issues.push(ConfigIssue {
                path: path.to_owned(),
                value: Some(super::url::redact_url(&s)),
                message,
            });
        }
        s.trim_end_matches('/').to_owned()
    }

    /// A PostgreSQL connection URL (a secret): checked, and shown redacted when wrong.
    pub(super) fn postgres_url(&mut self, path: &str, v: &Option<Value>, what: &str) -> Secret {
        let url = self.req_secret(path, v, what);
        if !url.is_empty()
            && let Err(problem) = super::url::check_postgres_url(url.expose())
        {
            let shown = url
                .expose()
                .contains("://")
                .then(|| super::subst::redact_secret(url.expose()));
            self.issues.push(ConfigIssue {
                path: path.to_owned(),
                value: shown,
                message: problem,
            });
        }
        url
    }

    /// An optional secret (an empty text counts as absent); its value is never shown.
    pub fn secret(&mut self, path: &str, v: &Option<Value>) -> Option<Secret> {
        // Never echo a secret's value in an issue.
        match v {
            None | Some(Value::Null) => None,
            Some(v) => match text(v) {
                Some(s) if s.is_empty() => None,
                Some(s) => Some(Secret::new(s)),
                None => {
                    self.bad(path, None, "must be a single value");
                    None
                }
            },
        }
    }

    pub(super) fn req_secret(&mut self, path: &str, v: &Option<Value>, what: &str) -> Secret {
        self.secret(path, v).unwrap_or_else(|| {
            self.bad(path, None, format!("is required ({what})"));
            Secret::default()
        })
    }

    pub(super) fn tz(&mut self, path: &str, v: &Option<Value>, default: Tz) -> Tz {
        match self.opt_text(path, v) {
            None => default,
            Some(s) => crate::zone::parse_timezone(path, &s).unwrap_or_else(|_| {
                self.bad(
                    path,
                    v.as_ref(),
                    "is not a time zone (an IANA name such as America/Anchorage)",
                );
                default
            }),
        }
    }

    pub(super) fn identifier(&mut self, path: &str, v: &Value, dotted: bool) -> Option<String> {
        let s = text(v)?;
        if crate::cdr::is_plain_identifier(&s, dotted) {
            Some(s)
        } else {
            self.bad(path, Some(v), "is not a plain SQL identifier (letters, digits, _; schema.table allowed for tables)");
            None
        }
    }
}
