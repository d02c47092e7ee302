//! The `source.url` of an `mssql_table` source → a tiberius [`Config`].
//!
//! Three spellings are accepted:
//!
//! - an **ADO.NET connection string**, as SQL Server tools print it:
//!   `server=tcp:db.example.com,1433;database=cdr;user id=pbx;password=…;encrypt=true`
//!   (keys and values as [`Config::from_ado_string`] documents them);
//! - a **JDBC URL**: `jdbc:sqlserver://db.example.com:1433;databaseName=cdr;user=pbx;password=…`,
//!   also without the `jdbc:` prefix: an `mssql://` or `sqlserver://` string with a `;` in it
//!   is read as JDBC (`sqlserver://host:port;key=value;…`, the form Prisma uses);
//! - an **`mssql://` or `sqlserver://` URL**:
//!   `mssql://pbx:secret@db.example.com:1433?database=cdr&encrypt=true`, with the user and
//!   password percent-encoded where needed (`;` as `%3B`) and these query keys (case and `_` ignored):
//!   `database`, `encrypt` (`true` (the default), `false`, `strict`, `DANGER_PLAINTEXT`),
//!   `trust_server_certificate` (`true`/`false`), `trust_server_certificate_ca` (a PEM/DER
//!   file), `application_name`. Any other key is an error.
//!
//! Named instances are not resolved through SQL Browser: give the instance's TCP port.
//! Errors never repeat the string, which may hold a password.

use std::borrow::Cow;

use tiberius::{AuthMethod, Config, EncryptionLevel};

/// Why a connection string cannot be used, and the parser's error where there is one. Never
/// holds the string itself.
#[derive(Debug)]
pub(crate) struct ConnStrError(pub(crate) String, pub(crate) Option<crate::BoxError>);

impl ConnStrError {
    fn new(reason: String) -> Self {
        ConnStrError(reason, None)
    }
}

/// The default SQL Server port.
const DEFAULT_PORT: u16 = 1433;

/// Reads a connection string in any of the accepted spellings.
pub(crate) fn parse(s: &str) -> Result<Config, ConnStrError> {
    let trimmed = s.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("jdbc:") {
        return Config::from_jdbc_string(trimmed).map_err(|e| tiberius_error("JDBC URL", e));
    }
    for scheme in ["mssql://", "sqlserver://"] {
        if let Some(rest) = lower.strip_prefix(scheme) {
            // `sqlserver://host:port;key=value` is JDBC without its prefix (a URL spells
            // a `;` in its password as `%3B`).
            if rest.contains(';') {
                let jdbc = format!("jdbc:sqlserver://{}", &trimmed[scheme.len()..]);
                return Config::from_jdbc_string(&jdbc).map_err(|e| tiberius_error("JDBC URL", e));
            }
            return from_url(trimmed);
        }
    }
    if lower.contains("://") {
        return Err(ConnStrError::new(
            "is a URL of an unknown scheme; use mssql://, sqlserver://, jdbc:sqlserver:// or an ADO.NET string (server=…;database=…)".into(),
        ));
    }
    Config::from_ado_string(trimmed).map_err(|e| tiberius_error("ADO.NET connection string", e))
}

/// tiberius' parse errors name keys and syntax, not values; they are passed on with the
/// kind of string that was expected.
fn tiberius_error(kind: &str, e: tiberius::error::Error) -> ConnStrError {
    ConnStrError(format!("is not a usable {kind}"), Some(Box::new(e)))
}

fn from_url(s: &str) -> Result<Config, ConnStrError> {
    let url = url::Url::parse(s)
        .map_err(|e| ConnStrError("is not a valid mssql:// URL".into(), Some(Box::new(e))))?;
    let mut config = Config::new();
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ConnStrError::new("has no host (mssql://user:password@host:port)".into()))?;
    // IPv6 literals come bracketed; tiberius wants the bare address.
    config.host(host.trim_start_matches('[').trim_end_matches(']'));
    config.port(url.port().unwrap_or(DEFAULT_PORT));
    let path = url.path().trim_matches('/');
    if !path.is_empty() {
        return Err(ConnStrError::new(
            "has a path; name the database with ?database=… (a named instance needs its TCP port instead)".into(),
        ));
    }
    let user = decode(url.username(), "user name")?;
    let password = decode(url.password().unwrap_or(""), "password")?;
    if !user.is_empty() {
        config.authentication(AuthMethod::sql_server(user, password));
    } else if url.password().is_some() {
        return Err(ConnStrError::new("has a password but no user name".into()));
    }
    let mut encryption = EncryptionLevel::Required;
    let mut trust = false;
    let mut trust_ca = None;
    for (key, value) in url.query_pairs() {
        let normal: String = key
            .chars()
            .filter(|c| *c != '_' && *c != ' ')
            .collect::<String>()
            .to_ascii_lowercase();
        match normal.as_str() {
            "database" | "databasename" => config.database(value),
            "encrypt" => {
                encryption = match value.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "mandatory" => EncryptionLevel::Required,
                    "false" | "no" | "optional" => EncryptionLevel::Off,
                    "strict" => EncryptionLevel::Strict,
                    "danger_plaintext" => EncryptionLevel::NotSupported,
                    _ => {
                        return Err(ConnStrError::new(format!(
                            "has encrypt={value}; expected true, false, strict or DANGER_PLAINTEXT"
                        )));
                    }
                }
            }
            "trustservercertificate" => trust = flag(&key, &value)?,
            "trustservercertificateca" => trust_ca = Some(value.into_owned()),
            "applicationname" | "appname" => config.application_name(value),
            _ => {
                return Err(ConnStrError::new(format!(
                    "has the unknown query key `{key}`; known: database, encrypt, trust_server_certificate, trust_server_certificate_ca, application_name"
                )));
            }
        }
    }
    if trust && trust_ca.is_some() {
        return Err(ConnStrError::new(
            "sets both trust_server_certificate and trust_server_certificate_ca; use one".into(),
        ));
    }
    if trust {
        config.trust_cert();
    }
    if let Some(ca) = trust_ca {
        config.trust_cert_ca(ca);
    }
    config.encryption(encryption);
    Ok(config)
}

fn decode(s: &str, what: &str) -> Result<String, ConnStrError> {
    percent_decode(s).map(Cow::into_owned).ok_or_else(|| {
        ConnStrError::new(format!(
            "has a {what} that is not valid percent-encoded UTF-8"
        ))
    })
}

/// `%XX` → byte; `None` when the result is not UTF-8 or an escape is cut short.
fn percent_decode(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        return Some(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

fn flag(key: &str, value: &str) -> Result<bool, ConnStrError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(ConnStrError::new(format!(
            "has {key}={value}; expected true or false"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> String {
        parse(s).unwrap().get_addr()
    }

    #[test]
    fn ado_jdbc_and_url_spellings() {
        assert_eq!(
            addr("server=tcp:db.example.com,1444;database=cdr;user id=pbx;password=x;encrypt=true"),
            "db.example.com:1444"
        );
        assert_eq!(
            addr("jdbc:sqlserver://db.example.com:1445;databaseName=cdr;user=pbx;password=x"),
            "db.example.com:1445"
        );
        assert_eq!(
            addr("sqlserver://db.example.com:1446;database=cdr;user=pbx;password=x"),
            "db.example.com:1446"
        );
        assert_eq!(
            addr("mssql://pbx:p%40ss@db.example.com:1447?database=cdr"),
            "db.example.com:1447"
        );
        assert_eq!(
            addr("sqlserver://pbx:x@db.example.com"),
            "db.example.com:1433"
        );
        assert_eq!(addr("mssql://pbx:x@[::1]:1448"), "::1:1448");
    }

    /// The whole message a user sees: the reason and the parser's error.
    fn text(e: ConnStrError) -> String {
        crate::Error::ConnectionString {
            setting: "source.url",
            reason: e.0,
            source: e.1,
        }
        .to_string()
    }

    #[test]
    fn url_problems_are_named_without_the_password() {
        let cases = [
            ("mssql://pbx:hunter2@db/cdr", "has a path"),
            ("mssql://pbx:hunter2@db?encrypt=maybe", "encrypt=maybe"),
            (
                "mssql://pbx:hunter2@db?timeout=5",
                "unknown query key `timeout`",
            ),
            ("mssql://:hunter2@db", "no user name"),
            ("mssql://pbx:hunter2%ff@db", "not valid percent-encoded"),
            ("postgres://pbx:hunter2@db", "unknown scheme"),
            (
                "mssql://pbx:hunter2@db?trust_server_certificate=true&trust_server_certificate_ca=/ca.pem",
                "use one",
            ),
        ];
        for (s, expected) in cases {
            let e = text(parse(s).unwrap_err());
            assert!(e.contains(expected), "{s}: {e}");
            assert!(!e.contains("hunter2"), "{s}: {e}");
        }
    }

    #[test]
    fn ado_errors_do_not_repeat_the_password() {
        for s in [
            "server=tcp:db,notaport;user=pbx;password=hunter2",
            "server=tcp:db;user=pbx;password=hunter2;encrypt=perhaps",
            "server=tcp:db;user=pbx;password=hunter2;TrustServerCertificate=true;TrustServerCertificateCA=/x.pem",
        ] {
            let e = text(parse(s).unwrap_err());
            assert!(!e.contains("hunter2"), "{s}: {e}");
        }
    }
}
