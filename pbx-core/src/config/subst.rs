//! `${VAR}` and `${VAR:-default}` substitution in configuration strings.

use serde_json::Value;

use super::ConfigIssue;

/// The settings that hold a password, a token or a connection string with credentials: an
/// issue about one never shows its value (see [`redact_secret`]).
pub(super) const SECRET_PATHS: [&str; 5] = [
    "source.url",
    "call_api.token",
    "xapi.client_secret",
    "http.token",
    "checkpoint.url",
];

/// The API addresses: not secrets, but a URL may carry a password or a query key, shown
/// redacted ([`super::url::redact_url`]) as in every other message about a URL.
const URL_PATHS: [&str; 2] = ["call_api.base_url", "xapi.base_url"];

/// Whether the setting at `path` holds a secret ([`SECRET_PATHS`]).
pub(super) fn is_secret_path(path: &str) -> bool {
    SECRET_PATHS.contains(&path)
}

/// A secret-bearing value as an issue may show it: a URL keeps its scheme, host and path
/// (everything up to the last `@` of the part after `://` and every query value become `***`,
/// even when the value is not a valid URL); anything else (a token, an ADO connection string)
/// is `***`.
pub(super) fn redact_secret(raw: &str) -> String {
    let Some(i) = raw.find("://") else {
        return "***".to_owned();
    };
    let (head, rest) = raw.split_at(i + 3);
    // Up to the last `@`: a password may hold `/`, `?` or `#` that a URL parser would take
    // for the end of the user-info.
    let rest = match rest.rfind('@') {
        Some(at) => format!("_{}", &rest[at..]),
        None => rest.to_owned(),
    };
    super::url::redact_url(&format!("{head}{rest}"))
}

/// Substitutes variables in every string of `value` (not in keys), collecting one issue per
/// unset variable or malformed reference, with the path where it is used. An issue about a
/// secret-bearing setting (`source.url`, `call_api.token`, `http.token`, …) shows the value redacted. `path` is where
/// `value` sits in the file (`""` for the whole document). [`super::Config::from_yaml`] does
/// this for a sideloader's file; a component reading a file of its own (the fleet's) calls it.
///
/// ```
/// let mut value = serde_json::json!({"url": "postgres://${HOST:-db}/pbx", "name": "${NAME}"});
/// let mut issues = Vec::new();
/// pbx_core::config::substitute(&mut value, "store", &|_: &str| None, &mut issues);
/// assert_eq!(value["url"], "postgres://db/pbx");
/// assert_eq!(issues[0].path, "store.name");
/// assert!(issues[0].message.starts_with("environment variable `NAME` is not set"));
/// ```
pub fn substitute(
    value: &mut Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    issues: &mut Vec<ConfigIssue>,
) {
    match value {
        Value::String(s) if s.contains('$') => match expand(s, env) {
            Ok(v) => *s = v,
            Err(problem) => {
                let secret = is_secret_path(path);
                // An API address may carry credentials too: redacted as every URL in a message.
                let url = URL_PATHS.contains(&path);
                let shown = if secret {
                    redact_secret(s)
                } else if url {
                    super::url::redact_url(s)
                } else {
                    s.clone()
                };
                issues.push(ConfigIssue {
                    path: path.to_owned(),
                    value: Some(shown),
                    message: problem.message(secret || url),
                });
            }
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                substitute(item, &format!("{path}[{i}]"), env, issues);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                substitute(v, &p, env, issues);
            }
        }
        _ => {}
    }
}

/// Why a string could not be expanded.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum SubstProblem {
    /// `${NAME}` with `NAME` unset and no default.
    Unset(String),
    /// A `${` without its `}`.
    Unterminated,
    /// `${…}` whose body is not `NAME` or `NAME:-default`.
    NotAReference(String),
}

impl SubstProblem {
    /// The message, phrased to follow the value; for a secret, without any part of the value.
    pub(super) fn message(&self, secret: bool) -> String {
        match self {
            SubstProblem::Unset(name) => format!(
                "environment variable `{name}` is not set (set it, or write ${{{name}:-default}})"
            ),
            SubstProblem::Unterminated => {
                "has an unterminated `${` (write `$${` for a literal)".to_owned()
            }
            SubstProblem::NotAReference(_) if secret => {
                "has a `${…}` that is not a variable reference (${NAME} or ${NAME:-default})"
                    .to_owned()
            }
            SubstProblem::NotAReference(body) => format!(
                "`${{{body}}}` is not a variable reference (${{NAME}} or ${{NAME:-default}})"
            ),
        }
    }
}

/// Expands one string: `${NAME}`, `${NAME:-default}` (the default when unset or empty),
/// `$${` for a literal `${`. Other `$` are kept.
///
/// # Errors
/// The unset variable or the malformed reference.
pub(super) fn expand(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SubstProblem> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(r) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = r;
            continue;
        }
        let Some(body_start) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let end = body_start.find('}').ok_or(SubstProblem::Unterminated)?;
        let body = &body_start[..end];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(SubstProblem::NotAReference(body.to_owned()));
        }
        match (env(name), default) {
            (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => return Err(SubstProblem::Unset(name.to_owned())),
        }
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{SubstProblem, expand, redact_secret};

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.local".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expansion_rules() {
        assert_eq!(
            expand("postgres://${HOST}:5432", &env).unwrap(),
            "postgres://db.local:5432"
        );
        assert_eq!(expand("${MISSING:-fallback}", &env).unwrap(), "fallback");
        assert_eq!(expand("${EMPTY:-fallback}", &env).unwrap(), "fallback");
        assert_eq!(expand("${EMPTY}", &env).unwrap(), "");
        assert_eq!(
            expand("cost $5, $${HOST}", &env).unwrap(),
            "cost $5, ${HOST}"
        );
        assert_eq!(expand("${MISSING:-}", &env).unwrap(), "");
        assert_eq!(
            expand("${MISSING}", &env).unwrap_err(),
            SubstProblem::Unset("MISSING".into())
        );
        assert_eq!(
            expand("${HOST", &env).unwrap_err(),
            SubstProblem::Unterminated
        );
        assert_eq!(
            expand("${1X}", &env).unwrap_err(),
            SubstProblem::NotAReference("1X".into())
        );
        assert!(
            SubstProblem::Unset("MISSING".into())
                .message(false)
                .contains("`MISSING` is not set")
        );
        assert!(
            !SubstProblem::NotAReference("s3cret".into())
                .message(true)
                .contains("s3cret")
        );
    }

    #[test]
    fn secrets_are_redacted_even_when_not_urls() {
        assert_eq!(
            redact_secret("postgres://user:RealPassw0rd@${DB_HOST}/db"),
            "postgres://***@${DB_HOST}/db"
        );
        assert_eq!(
            redact_secret("postgres://u:pa/ss@w0rd@db/x?password=p"),
            "postgres://***@db/x?password=***"
        );
        assert_eq!(redact_secret("RealT0ken-${TENANT}"), "***");
        assert_eq!(redact_secret("Server=db;User Id=sa;Password=Pw${X}"), "***");
        assert_eq!(redact_secret("postgres://db/x"), "postgres://db/x");
    }
}
