//! Source errors that cannot heal by waiting: the login is refused, the database, table or
//! column is missing, a permission is denied, the server's certificate is not trusted, or the
//! encryption mode is one the server does not speak.
//!
//! [`Misconfigured::diagnose`] walks an error's [`source`](std::error::Error::source) chain and
//! recognises the database drivers' typed errors: PostgreSQL SQLSTATE codes
//! (`tokio_postgres::Error::code`), SQL Server error numbers (`tiberius::error::Error::code`),
//! rustls certificate errors, tiberius' TLS errors. No message text is parsed. Everything it does
//! not recognise is left to the caller's ordinary handling (a transient failure, retried).
//!
//! The delivery engine asks it after every failed source read: `--once` and a backfill stop at once
//! with [`DeliveryError::SourceMisconfigured`](crate::DeliveryError::SourceMisconfigured) (exit
//! code 2), and the service reports `source: misconfigured` in `/health` and `/status` and keeps
//! probing slowly, so a fix on the server side (a grant, a created table) is picked up without a
//! restart.
//!
//! ```
//! use pbx_sources::misconfigured::{Misconfigured, Problem};
//! // A connection refused is not a configuration problem: it may heal.
//! let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
//! assert!(Misconfigured::diagnose(&refused).is_none());
//! assert_eq!(Problem::Login.setting(), "source.url");
//! ```

use std::fmt;

/// What about the configuration (or the server's set-up) is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Problem {
    /// The server refused the login (PostgreSQL `28P01`/`28000`, SQL Server 18456).
    Login,
    /// The database does not exist or cannot be opened (PostgreSQL `3D000`, SQL Server 4060/911).
    Database,
    /// The table (or its schema) does not exist (PostgreSQL `42P01`/`3F000`, SQL Server 208).
    Table,
    /// A mapped column does not exist (PostgreSQL `42703`, SQL Server 207).
    Column,
    /// The login may not read the table (PostgreSQL `42501`, SQL Server 229/230/262/300).
    Permission,
    /// The server's TLS certificate is not trusted (unknown issuer, expired, wrong name, a CA
    /// certificate used as the server's).
    TlsTrust,
    /// The encryption mode is one the server does not speak (`encrypt=strict` needs TDS 8).
    Encryption,
}

impl Problem {
    /// A stable `snake_case` name (`login`, `database`, `table`, `column`, `permission`,
    /// `tls_trust`, `encryption`), for `/status`, metrics and the bindings.
    ///
    /// ```
    /// assert_eq!(pbx_sources::misconfigured::Problem::TlsTrust.as_str(), "tls_trust");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Login => "login",
            Problem::Database => "database",
            Problem::Table => "table",
            Problem::Column => "column",
            Problem::Permission => "permission",
            Problem::TlsTrust => "tls_trust",
            Problem::Encryption => "encryption",
        }
    }

    /// The setting to look at first.
    ///
    /// ```
    /// use pbx_sources::misconfigured::Problem;
    /// assert_eq!(Problem::Column.setting(), "source.columns");
    /// ```
    pub fn setting(self) -> &'static str {
        match self {
            Problem::Table => "source.table",
            Problem::Column => "source.columns",
            _ => "source.url",
        }
    }

    /// What to do, in a few words.
    fn advice(self) -> &'static str {
        match self {
            Problem::Login => "the server refused the login — check the user and password",
            Problem::Database => "the database does not exist or cannot be opened — check its name",
            Problem::Table => {
                "the table does not exist — check `source.table` (and `source.schema`), or create it"
            }
            Problem::Column => {
                "a mapped column does not exist — check `source.columns` against the table"
            }
            Problem::Permission => {
                "the login may not read it — grant SELECT on the table to this user"
            }
            Problem::TlsTrust => {
                "the server's certificate is not trusted — install a certificate the system trusts, or \
                 name its CA (PostgreSQL: sslrootcert=…; SQL Server: trust_server_certificate_ca=… with a \
                 CA-signed or CA:FALSE certificate, or trust_server_certificate=true; encrypt=false still \
                 verifies the certificate)"
            }
            Problem::Encryption => {
                "encrypt=strict needs TDS 8 (SQL Server 2022 or later, Azure SQL); use encrypt=true for an \
                 older server"
            }
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source error that trying again will not heal, with the setting to fix.
///
/// ```
/// use pbx_sources::misconfigured::{Misconfigured, Problem};
/// let m = Misconfigured::new(Problem::Permission, "permission denied for table cdr");
/// assert_eq!(m.setting(), "source.url");
/// assert!(m.to_string().starts_with("`source.url`: the login may not read it"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misconfigured {
    problem: Problem,
    server_says: String,
}

impl Misconfigured {
    /// A diagnosis: the problem and what the server (or TLS library) said.
    pub fn new(problem: Problem, server_says: impl Into<String>) -> Self {
        Misconfigured {
            problem,
            server_says: server_says.into(),
        }
    }

    /// The problem.
    pub fn problem(&self) -> Problem {
        self.problem
    }

    /// The setting to fix first (`source.url`, `source.table`, `source.columns`).
    pub fn setting(&self) -> &'static str {
        self.problem.setting()
    }

    /// What the server (or the TLS library) said, as it said it.
    pub fn server_says(&self) -> &str {
        &self.server_says
    }

    /// The configuration problem behind `error`, if its chain holds one this module knows.
    ///
    /// ```
    /// use pbx_sources::misconfigured::Misconfigured;
    /// let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
    /// assert_eq!(Misconfigured::diagnose(&timeout), None);
    /// ```
    pub fn diagnose(error: &(dyn std::error::Error + 'static)) -> Option<Misconfigured> {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(found) = one(e) {
                return Some(found);
            }
            // An io::Error keeps its inner error out of the `source()` chain on some paths.
            if let Some(inner) = e
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| one(inner))
            {
                return Some(inner);
            }
            next = e.source();
        }
        None
    }
}

impl fmt::Display for Misconfigured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.setting(), self.problem.advice())?;
        if !self.server_says.is_empty() {
            write!(f, " (the server said: {})", self.server_says)?;
        }
        Ok(())
    }
}

/// One error of the chain, on its own.
fn one(e: &(dyn std::error::Error + 'static)) -> Option<Misconfigured> {
    if let Some(m) = e.downcast_ref::<Misconfigured>() {
        return Some(m.clone());
    }
    #[cfg(feature = "postgres")]
    if let Some(pg) = e.downcast_ref::<tokio_postgres::Error>() {
        return postgres(pg);
    }
    #[cfg(feature = "postgres")]
    if let Some(rustls::Error::InvalidCertificate(cert)) = e.downcast_ref::<rustls::Error>() {
        return Some(Misconfigured::new(Problem::TlsTrust, format!("{cert:?}")));
    }
    #[cfg(feature = "mssql")]
    if let Some(ms) = e.downcast_ref::<tiberius::error::Error>() {
        return sql_server(ms);
    }
    None
}

#[cfg(feature = "postgres")]
fn postgres(e: &tokio_postgres::Error) -> Option<Misconfigured> {
    use tokio_postgres::error::SqlState;
    let code = e.code()?;
    let problem = if *code == SqlState::INVALID_PASSWORD
        || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    {
        Problem::Login
    } else if *code == SqlState::INVALID_CATALOG_NAME {
        Problem::Database
    } else if *code == SqlState::UNDEFINED_TABLE || *code == SqlState::INVALID_SCHEMA_NAME {
        Problem::Table
    } else if *code == SqlState::UNDEFINED_COLUMN {
        Problem::Column
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        Problem::Permission
    } else {
        return None;
    };
    let says = e
        .as_db_error()
        .map_or_else(String::new, |db| db.message().to_owned());
    Some(Misconfigured::new(problem, says))
}

#[cfg(feature = "mssql")]
fn sql_server(e: &tiberius::error::Error) -> Option<Misconfigured> {
    use tiberius::error::Error as T;
    match e {
        T::Server(token) => {
            let problem = match token.code() {
                18456 => Problem::Login,
                4060 | 911 => Problem::Database,
                208 => Problem::Table,
                207 => Problem::Column,
                229 | 230 | 262 | 300 => Problem::Permission,
                _ => return None,
            };
            Some(Misconfigured::new(problem, token.message()))
        }
        // tiberius turns a certificate the verifier refused into `Tls` (other handshake I/O
        // failures stay `Io`): a trust problem, not a network one.
        T::Tls(says) => Some(Misconfigured::new(Problem::TlsTrust, says.clone())),
        _ => None,
    }
}

impl std::error::Error for Misconfigured {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(Box<dyn std::error::Error + Send + Sync>);
    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&*self.0)
        }
    }

    #[test]
    fn found_anywhere_in_the_chain_and_inside_io_errors() {
        let m = Misconfigured::new(Problem::Table, "relation \"cdr\" does not exist");
        let chained = Wrapper(Box::new(Wrapper(Box::new(m.clone()))));
        assert_eq!(Misconfigured::diagnose(&chained), Some(m.clone()));
        let io = std::io::Error::other(m.clone());
        assert_eq!(Misconfigured::diagnose(&io), Some(m));
    }

    #[test]
    fn messages_name_the_setting_and_quote_the_server() {
        let m = Misconfigured::new(
            Problem::Login,
            "password authentication failed for user \"pbx\"",
        );
        assert_eq!(
            m.to_string(),
            "`source.url`: the server refused the login — check the user and password \
             (the server said: password authentication failed for user \"pbx\")"
        );
        for p in [
            Problem::Login,
            Problem::Database,
            Problem::Table,
            Problem::Column,
            Problem::Permission,
            Problem::TlsTrust,
            Problem::Encryption,
        ] {
            assert!(!p.advice().is_empty());
            assert!(p.setting().starts_with("source."));
        }
    }

    #[cfg(feature = "mssql")]
    #[test]
    fn sql_server_tls_errors_are_trust_problems() {
        let e = tiberius::error::Error::Tls("invalid peer certificate: UnknownIssuer".into());
        let m = Misconfigured::diagnose(&e).unwrap();
        assert_eq!(m.problem(), Problem::TlsTrust);
        assert!(
            m.to_string().contains("trust_server_certificate=true"),
            "{m}"
        );
    }
}
