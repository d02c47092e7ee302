//! `${VAR}` and `${VAR:-default}` substitution in configuration strings.

use serde_json::Value;

use super::ConfigIssue;

/// Substitutes variables in every string of `value` (not in keys), collecting one issue per
/// unset variable or malformed reference, with the path where it is used.
pub(super) fn substitute(
    value: &mut Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    issues: &mut Vec<ConfigIssue>,
) {
    match value {
        Value::String(s) if s.contains('$') => match expand(s, env) {
            Ok(v) => *s = v,
            Err(message) => issues.push(ConfigIssue {
                path: path.to_owned(),
                value: Some(s.clone()),
                message,
            }),
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

/// Expands one string: `${NAME}`, `${NAME:-default}` (the default when unset or empty),
/// `$${` for a literal `${`. Other `$` are kept.
///
/// # Errors
/// A message naming the unset variable or the malformed reference.
pub(super) fn expand(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
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
        let end = body_start
            .find('}')
            .ok_or_else(|| format!("unterminated `${{` in {s:?} (write `$${{` for a literal)"))?;
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
            return Err(format!(
                "`${{{body}}}` is not a variable reference (${{NAME}} or ${{NAME:-default}})"
            ));
        }
        match (env(name), default) {
            (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "environment variable `{name}` is not set (set it, or write ${{{name}:-default}})"
                ));
            }
        }
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::expand;

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
        assert!(
            expand("${MISSING}", &env)
                .unwrap_err()
                .contains("`MISSING` is not set")
        );
        assert!(expand("${HOST", &env).unwrap_err().contains("unterminated"));
        assert!(
            expand("${1X}", &env)
                .unwrap_err()
                .contains("not a variable reference")
        );
    }
}
