//! URLs in the configuration: one redaction for every URL that can appear in a message or a
//! log, and the checks that let every URL problem be reported with the others.

/// `raw` with its secrets masked, for messages and logs: the user-info part (`user:password@`)
/// and every query value (`?key=…`) become `***`. Works on text that is not a valid URL too
/// (a bad scheme, a bad port), so an error about a URL never shows its password.
///
/// ```
/// use pbx_core::config::redact_url;
/// assert_eq!(redact_url("htp://admin:PASSWORD@api.example.com/x"), "htp://***@api.example.com/x");
/// assert_eq!(redact_url("https://api.example.com/v1?key=abc&mode=x#top"), "https://api.example.com/v1?key=***&mode=***#top");
/// assert_eq!(redact_url("postgres://pbx:pw@db:99999/cdr?sslmode=require"), "postgres://***@db:99999/cdr?sslmode=***");
/// assert_eq!(redact_url("https://calls.example.com"), "https://calls.example.com");
/// ```
pub fn redact_url(raw: &str) -> String {
    let (head, rest) = match raw.find("://") {
        Some(i) => raw.split_at(i + 3),
        None => ("", raw),
    };
    let mut out = String::with_capacity(raw.len());
    out.push_str(head);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str("***");
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let Some(q) = tail.find('?') else {
        out.push_str(tail);
        return out;
    };
    let (before, after) = tail.split_at(q + 1);
    out.push_str(before);
    let (query, fragment) = after.split_at(after.find('#').unwrap_or(after.len()));
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) => {
                out.push_str(key);
                out.push_str("=***");
            }
            None => out.push_str(pair),
        }
    }
    out.push_str(fragment);
    out
}

/// The problem of a URL that is not http(s) at all.
pub(super) const NOT_HTTP: &str = "is not an http:// or https:// URL";

/// Checks a base URL as the HTTP clients will use it: absolute, `http` or `https`, a host, a
/// port that fits, no credentials, no query or fragment. The problem is phrased to follow the
/// (redacted) value.
pub(super) fn check_http_url(raw: &str) -> Result<(), String> {
    let url = match url::Url::parse(raw) {
        Ok(u) => u,
        Err(url::ParseError::InvalidPort) => {
            return Err("has a port that is not a number from 1 to 65535".into());
        }
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(NOT_HTTP.into());
        }
        Err(e) => return Err(format!("is not a URL: {e}")),
    };
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(NOT_HTTP.into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if url.port() == Some(0) {
        return Err("has a port that is not a number from 1 to 65535".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "holds a user name or password: put the token or secret in its own setting".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("has a query or fragment: give the base address only".into());
    }
    Ok(())
}

/// Checks a PostgreSQL connection URL: `postgres://` or `postgresql://`, and every port in it
/// (one host, or several separated by commas) a number from 1 to 65535.
pub(super) fn check_postgres_url(raw: &str) -> Result<(), String> {
    let Some(rest) = raw
        .strip_prefix("postgres://")
        .or_else(|| raw.strip_prefix("postgresql://"))
    else {
        return Err("is not a postgres:// or postgresql:// URL".into());
    };
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    for host in hosts.split(',') {
        let port = match host.strip_prefix('[') {
            Some(v6) => v6.split_once(']').map(|(_, p)| p).unwrap_or_default(),
            None => host.rsplit_once(':').map(|(_, p)| p).map_or("", |p| p),
        };
        let port = port.strip_prefix(':').unwrap_or(port);
        if !port.is_empty() && !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(format!(
                "has the port `{port}`, not a number from 1 to 65535"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        assert!(check_http_url("https://calls.example.com:8443/api").is_ok());
        assert!(check_http_url("http://[::1]:8080").is_ok());
        for bad in [
            "http://api:99999",
            "http://api:0",
            "htp://api",
            "api.example.com",
            "https://u:p@api",
            "https://api/?k=v",
            "https://",
        ] {
            assert!(check_http_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn postgres_urls() {
        for good in [
            "postgres://pbx:pw@db/cdr",
            "postgresql://db:5432,db2:5433/cdr?sslmode=require",
            "postgres://[::1]:5432/cdr",
            "postgres:///cdr?host=/run/postgresql",
        ] {
            assert!(check_postgres_url(good).is_ok(), "{good}");
        }
        for bad in [
            "mysql://db/x",
            "postgres://db:99999/x",
            "postgres://db:abc/x",
            "postgres://[::1]:0/x",
        ] {
            assert!(check_postgres_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redaction_without_a_scheme() {
        assert_eq!(redact_url("admin:pw@db:5432/x"), "***@db:5432/x");
        assert_eq!(redact_url("file:out.jsonl"), "file:out.jsonl");
    }
}
