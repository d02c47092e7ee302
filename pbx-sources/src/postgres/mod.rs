//! PostgreSQL adapters (`tokio-postgres`): CDR sources for 3CX's own database and for a site's
//! CDR table, a checkpoint store, and a leadership lock.
//!
//! | type | reads | checkpoint |
//! |---|---|---|
//! | [`CdrOutputSource`] | 3CX v20 U6+ `cdroutput` legs, one call per `main_call_history_id`, emitted once complete and settled | keyset `(cdr_ended_at, main_call_history_id)` of the call's last leg |
//! | [`CallLogSource`] | 3CX v16 – v20 U5 `cl_calls` + `cl_segments` → `cl_participants` → `cl_party_info` | keyset `(end_time, id)` of `cl_calls` |
//! | [`SiteTableSource`] | a site's own table, mapped column by column ([`pbx_core::cdr::SiteTable`]) | the last row id |
//! | [`PgCheckpointStore`] | — | one row per source name, compare-and-set |
//!
//! Every query is keyset-paged (never `OFFSET`), takes values only as parameters, and rows
//! are converted as they stream in. A row that cannot be read becomes a per-row error with its
//! id (the engine quarantines it); only a failed query or a lost connection fails a fetch, and
//! the next fetch reconnects.
//!
//! **TLS**: the URL's `sslmode` decides: `disable` connects in plain text; `prefer` (the
//! default) and `require` use TLS by rustls, with the server certificate verified against the
//! platform's roots (unlike libpq's `require`, an unverifiable certificate is refused — use
//! `sslmode=disable` on a trusted local link to a server without a trusted certificate).
//!
//! The URL is a libpq-style URL or key/value string (`postgres://user:pass@host:5432/db`,
//! `host=/run/postgresql user=phonesystem dbname=database_single`); it is never printed with
//! its password.

mod call_log;
mod cdroutput;
mod checkpoint;
mod connection;
mod leader;
mod site;

pub use call_log::CallLogSource;
pub use cdroutput::CdrOutputSource;
pub use checkpoint::{DEFAULT_CHECKPOINT_TABLE, PgCheckpointStore};
pub use connection::Connection;
pub use leader::{release_leadership, try_acquire_leadership};
pub use site::SiteTableSource;

/// What went wrong talking to PostgreSQL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The connection URL or a name in the configuration is unusable. Fix the configuration.
    #[error("invalid PostgreSQL setting `{setting}`: {reason}")]
    Config {
        /// The setting (`source.url`, `source.table`, `checkpoint.table`, …).
        setting: String,
        /// Why, and what is expected.
        reason: String,
    },
    /// No connection could be made (server down, wrong host/port, refused credentials, TLS).
    /// Transient unless the credentials are wrong: the next fetch tries again.
    #[error("cannot connect to PostgreSQL at {target}: {source}")]
    Connect {
        /// `host:port/dbname` (never the password).
        target: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A query failed, or the connection was lost during it (the next fetch reconnects).
    #[error("PostgreSQL {op} failed: {source}")]
    Query {
        /// What was being done (`select site table rows`, `save checkpoint`, …).
        op: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The TLS client could not be set up (no usable certificate roots).
    #[error("cannot set up TLS for PostgreSQL: {0}")]
    Tls(String),
    /// The saved checkpoint is not one this source wrote.
    #[error(
        "checkpoint {checkpoint:?} is not {expected}: it is corrupt; fix or remove it deliberately"
    )]
    BadCheckpoint {
        /// The checkpoint as saved.
        checkpoint: String,
        /// The form this source writes.
        expected: &'static str,
    },
    /// A checkpoint row that no store wrote (an empty or unprintable value). It is never
    /// read as "no checkpoint": starting from zero would send every call again.
    #[error("checkpoint `{key}` in {table} is corrupt ({reason}); fix or remove it deliberately")]
    CorruptCheckpoint {
        /// The checkpoint key (source name).
        key: String,
        /// The table.
        table: String,
        /// What is wrong.
        reason: String,
    },
    /// Another instance moved the checkpoint since this store last read it: saving would move
    /// it backwards (or over another instance's progress), so it was not saved. Reload and
    /// carry on from the stored value (or stop: two instances are running).
    #[error(
        "checkpoint `{key}` was moved by another instance (stored {stored:?}, this instance expected {expected:?}); not saved"
    )]
    CheckpointConflict {
        /// The source name.
        key: String,
        /// What this instance last read or wrote.
        expected: Option<String>,
        /// What the table holds now.
        stored: Option<String>,
    },
    /// The table's columns cannot be read as the mapping says (a column type this source
    /// cannot read).
    #[error("{table}: {reason}")]
    Schema {
        /// The table.
        table: String,
        /// What is wrong.
        reason: String,
    },
}

impl PgError {
    /// Whether the connection is gone (the next attempt reconnects).
    pub fn is_connection_lost(&self) -> bool {
        match self {
            PgError::Connect { .. } => true,
            PgError::Query { source, .. } => {
                source.is_closed()
                    || source.code() == Some(&tokio_postgres::error::SqlState::ADMIN_SHUTDOWN)
            }
            _ => false,
        }
    }
}
