//! [`DatabaseError`]: the database adapters (PostgreSQL, SQL Server): connecting, queries,
//! timeouts, TLS, the schema.

use super::BoxError;

/// The database adapters (PostgreSQL, SQL Server): connecting, queries, timeouts, TLS, the
/// schema. Folded into [`crate::Error`] as `Error::Database`; its `kind()`, `is_transient()`
/// and `is_config()` answer for these too.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseError {
    /// No database session: the server is unreachable, TLS failed, or it refused the login.
    /// Transient unless the credentials are wrong: the next fetch tries again. Check the
    /// host, port, TLS settings, user and password.
    #[error("cannot connect to {service} at {target}: {source}")]
    Connect {
        /// `PostgreSQL` or `SQL Server`.
        service: &'static str,
        /// `host:port[/dbname]` (never the password).
        target: String,
        /// The driver's (or the OS's) error.
        #[source]
        source: BoxError,
    },
    /// A PostgreSQL query failed, or the connection was lost during it (the next fetch
    /// reconnects).
    #[cfg(feature = "postgres")]
    #[error("PostgreSQL {op} failed: {source}")]
    Postgres {
        /// What was being done (`select site table rows`, `save checkpoint`, …).
        op: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The SQL Server query failed or the connection broke during it. The next fetch
    /// reconnects and starts again from the same checkpoint.
    #[cfg(feature = "mssql")]
    #[error("SQL Server at {server}: reading the CDR table failed: {source}")]
    SqlServer {
        /// `host:port`.
        server: String,
        /// The driver's error (the server's message).
        #[source]
        source: tiberius::error::Error,
    },
    /// Connecting to a database and reading one page took longer than the timeout; retried
    /// on the next fetch.
    #[error("{service} at {target}: no complete page within {after:?}")]
    Timeout {
        /// `SQL Server`.
        service: &'static str,
        /// `host:port`.
        target: String,
        /// The limit.
        after: std::time::Duration,
    },
    /// TLS could not be set up for a database connection (no usable certificate roots).
    #[cfg(feature = "postgres")]
    #[error("cannot set up TLS for {service}: {source}")]
    Tls {
        /// `PostgreSQL`.
        service: &'static str,
        /// rustls' error.
        #[source]
        source: rustls::Error,
    },
    /// A table's columns cannot be read as the mapping says (a column type this source
    /// cannot read, an id column that does not hold increasing integers). Map `id` to an
    /// integer key column.
    #[error("{table}: {reason}")]
    Schema {
        /// The table (or `SQL Server source: id column `…``).
        table: String,
        /// What is wrong.
        reason: String,
    },
}
