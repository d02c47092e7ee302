//! Reading a configuration: YAML text → substitution → the raw shape → [`validate`] →
//! [`Config`], with every problem reported at once.

use super::sections::{Config, HostSections};
use super::{legacy, raw, subst, validate, yaml_value};
use crate::error::{ConfigIssue, Error};
use crate::extensions::ExtensionMap;

/// The top-level sections.
const SECTIONS: [&str; 16] = [
    "pbx",
    "source",
    "call_api",
    "xapi",
    "extensions",
    "direction",
    "phone",
    "business_hours",
    "groups",
    "missed_calls",
    "polling",
    "checkpoint",
    "quarantine",
    "http",
    "logging",
    "ha",
];

/// The largest configuration text accepted (1 MiB).
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

impl Config {
    /// Reads, substitutes and validates a configuration. The service's own sections
    /// ([`HostSections`]: `http`, `logging`, `ha`, `quarantine`) are checked to be mappings
    /// and substituted, not read: `pbx_sources::runtime::load_config` reads the whole file,
    /// those sections included, through [`Config::from_yaml_with`].
    ///
    /// `env` looks up variables for `${VAR}`; pass `&|n| std::env::var(n).ok()` for the
    /// process environment. The old Node sideloader's YAML shape is recognised and read too
    /// (see docs/migrating-from-node.md).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with every problem found, each with its path and value.
    pub fn from_yaml(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Error> {
        Config::from_yaml_with(text, env, |_, _| ()).map(|(config, ())| config)
    }

    /// [`Config::from_yaml`], and `host` reads what the host program owns out of the
    /// configuration (its [`Config::host_sections`], cross-checked against the rest if need
    /// be), adding its problems to the configuration's: every problem of the file is reported
    /// at once, whoever reads the setting. `host` runs on the configuration as validated so
    /// far even when it has problems (a wrong value then reads as its default); its problems
    /// at a path whose substitution failed are left out (reported once, already).
    ///
    /// ```
    /// use pbx_core::config::{Check, Config};
    /// let yaml = "source: {kind: file, path: x}\ncall_api: {base_url: 'http://x'}\n\
    ///             polling: {batch_size: 0}\nlogging: {level: loud}\n";
    /// let read_level = |config: &Config, issues: &mut Vec<_>| {
    ///     let mut c = Check::new(issues);
    ///     let logging = c.section("logging", config.host_sections.get("logging"), &["level"]);
    ///     c.opt_text("logging.level", &logging.get("level"))
    /// };
    /// let err = Config::from_yaml_with(yaml, &|_: &str| None, read_level).unwrap_err();
    /// let pbx_core::Error::InvalidConfig { issues } = err else { unreachable!() };
    /// let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    /// assert_eq!(paths, ["polling.batch_size"]); // the host found `loud` acceptable
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with every problem found, the host's included.
    pub fn from_yaml_with<T>(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
        host: impl FnOnce(&Config, &mut Vec<ConfigIssue>) -> T,
    ) -> Result<(Config, T), Error> {
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
        // The host's sections, as written and substituted, out of what serde reads.
        let mut hosts = HostSections::default();
        if let Some(sections) = value.as_object_mut() {
            for name in HostSections::NAMES {
                if let Some(written) = sections.remove(name).filter(|v| v.is_object()) {
                    let mut substituted = written.clone();
                    subst::substitute(&mut substituted, name, env, &mut issues);
                    hosts.insert(name, written, substituted);
                }
            }
        }
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
        let mut config = validate::validate(raw, &mut checked);
        config.host_sections = hosts;
        let host = host(&config, &mut checked);
        issues.extend(
            checked
                .into_iter()
                .filter(|i| !unsubstituted.contains(&i.path)),
        );
        if issues.is_empty() {
            Ok((config, host))
        } else {
            fail(issues)
        }
    }
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
/// mapping. Problems are phrased for the user, not in the YAML library's terms;
/// `not_a_mapping` is the message for a document that is a list or a scalar. A key written
/// twice in one mapping is refused.
///
/// ```
/// let value = pbx_core::config::parse_yaml("store: {url: x}", "must be a mapping")?;
/// assert_eq!(value["store"]["url"], "x");
/// let issue = pbx_core::config::parse_yaml("[1, 2]", "must be a mapping").unwrap_err();
/// assert_eq!(issue.message, "must be a mapping");
/// # Ok::<(), pbx_core::config::ConfigIssue>(())
/// ```
///
/// # Errors
/// A [`ConfigIssue`] without a path: over the size limit, not YAML, not a mapping.
pub fn parse_yaml(text: &str, not_a_mapping: &str) -> Result<serde_json::Value, ConfigIssue> {
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
