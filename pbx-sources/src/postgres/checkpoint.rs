//! Checkpoints in a PostgreSQL table, one row per source, saved by compare-and-set.

use crate::{CheckpointError, DatabaseError};
use std::collections::HashMap;

use crate::sql::SqlName;
use async_trait::async_trait;
use pbx_core::{Checkpoint, CheckpointStore};
use tokio::sync::Mutex;

use super::Connection;
use crate::Error;

/// The table name used when the configuration names none.
pub const DEFAULT_CHECKPOINT_TABLE: &str = "pbx_checkpoint";

/// Checkpoints in a table (`checkpoint.kind: postgres`), created on first use:
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS pbx_checkpoint (
///     source     text PRIMARY KEY,       -- the checkpoint key (one per source)
///     checkpoint text NOT NULL,
///     version    bigint NOT NULL,        -- +1 on every save
///     updated_at timestamptz NOT NULL DEFAULT now()
/// );
/// ```
///
/// Every save is a compare-and-set on `version`: it succeeds only when the row is still as
/// this store last read or wrote it (or still absent, when it read none). A second instance
/// working from an older read therefore cannot move the checkpoint backwards nor over the
/// first one's progress: its save fails with [`CheckpointError::CheckpointConflict`] and the stored
/// value stays. A save without an earlier [`CheckpointStore::load`] of that key expects the
/// row to be absent.
///
/// ```no_run
/// # async fn demo() -> Result<(), pbx_sources::Error> {
/// use pbx_core::{Checkpoint, CheckpointStore};
/// let store = pbx_sources::postgres::PgCheckpointStore::new("postgres://pbx@db/pbx", "pbx_checkpoint")?;
/// let cp = store.load("cdr").await?;
/// store.save("cdr", &Checkpoint::new("42")).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PgCheckpointStore {
    inner: Mutex<Inner>,
    table: SqlName,
}

#[derive(Debug)]
struct Inner {
    conn: Connection,
    /// The generation of the connection the table was checked on.
    created: Option<u64>,
    /// Per key: the version this store last read or wrote (`None`: the row was absent).
    versions: HashMap<String, Option<i64>>,
}

impl PgCheckpointStore {
    /// A store in `table` (`name` or `schema.name`) at `url`. Nothing is sent yet.
    ///
    /// # Errors
    /// [`Error::ConnectionString`] for an unusable URL, [`Error::Setting`] for an unusable table
    /// name.
    pub fn new(url: &str, table: &str) -> Result<Self, Error> {
        Self::with_connection(Connection::new(url)?, table)
    }

    /// A store on a connection.
    ///
    /// # Errors
    /// [`Error::Setting`] for an unusable table name.
    pub fn with_connection(conn: Connection, table: &str) -> Result<Self, Error> {
        let table = SqlName::table(table).map_err(|e| Error::Setting {
            setting: "checkpoint.table",
            source: e,
        })?;
        Ok(PgCheckpointStore {
            inner: Mutex::new(Inner {
                conn,
                created: None,
                versions: HashMap::new(),
            }),
            table,
        })
    }

    fn quoted(&self) -> String {
        self.table.quoted('"', '"')
    }

    async fn run<T>(
        &self,
        f: impl AsyncFnOnce(
            &tokio_postgres::Client,
            &mut HashMap<String, Option<i64>>,
        ) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut inner = self.inner.lock().await;
        let Inner {
            conn,
            created,
            versions,
        } = &mut *inner;
        let result = async {
            conn.client().await?;
            let generation = conn.generation();
            if *created != Some(generation) {
                conn.client()
                    .await?
                    .batch_execute(&format!(
                        "CREATE TABLE IF NOT EXISTS {} (source text PRIMARY KEY, checkpoint text NOT NULL, \
                         version bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
                        self.quoted()
                    ))
                    .await
                    .map_err(|source| Error::Database(DatabaseError::Postgres {
                        op: "create the checkpoint table",
                        source,
                    }))?;
                *created = Some(generation);
            }
            let client = conn.client().await?;
            f(client, versions).await
        }
        .await;
        if let Err(e) = &result {
            conn.reset_if_lost(e);
        }
        result
    }

    async fn stored(
        &self,
        client: &tokio_postgres::Client,
        key: &str,
    ) -> Result<Option<(String, i64)>, Error> {
        let row = client
            .query_opt(
                &format!(
                    "SELECT checkpoint, version FROM {} WHERE source = $1",
                    self.quoted()
                ),
                &[&key],
            )
            .await
            .map_err(|source| {
                Error::Database(DatabaseError::Postgres {
                    op: "load the checkpoint",
                    source,
                })
            })?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }
}

#[async_trait]
impl CheckpointStore for PgCheckpointStore {
    type Error = Error;

    async fn load(&self, key: &str) -> Result<Option<Checkpoint>, Error> {
        self.run(async |client, versions| {
            let stored = self.stored(client, key).await?;
            if let Some((cp, _)) = &stored
                && (cp.trim().is_empty() || cp.chars().any(char::is_control))
            {
                return Err(Error::Checkpoint(CheckpointError::CorruptCheckpoint {
                    store: format!("table {}", self.quoted()),
                    key: Some(key.to_owned()),
                    reason: format!("the stored value {cp:?} is not a position"),
                }));
            }
            versions.insert(key.to_owned(), stored.as_ref().map(|(_, v)| *v));
            Ok(stored.map(|(cp, _)| Checkpoint::new(cp)))
        })
        .await
    }

    async fn save(&self, key: &str, checkpoint: &Checkpoint) -> Result<(), Error> {
        self.run(async |client, versions| {
            let expected = versions.get(key).copied().flatten();
            let op = "save the checkpoint";
            let saved: Option<i64> = match expected {
                None => client
                    .query_opt(
                        &format!(
                            "INSERT INTO {} (source, checkpoint, version) VALUES ($1, $2, 1) \
                             ON CONFLICT (source) DO NOTHING RETURNING version",
                            self.quoted()
                        ),
                        &[&key, &checkpoint.as_str()],
                    )
                    .await,
                Some(version) => client
                    .query_opt(
                        &format!(
                            "UPDATE {} SET checkpoint = $2, version = version + 1, updated_at = now() \
                             WHERE source = $1 AND version = $3 RETURNING version",
                            self.quoted()
                        ),
                        &[&key, &checkpoint.as_str(), &version],
                    )
                    .await,
            }
            .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?
            .map(|r| r.get(0));
            match saved {
                Some(v) => {
                    versions.insert(key.to_owned(), Some(v));
                    Ok(())
                }
                None => {
                    let stored = self.stored(client, key).await?;
                    let expected_cp = expected.map(|v| format!("version {v}"));
                    Err(Error::Checkpoint(CheckpointError::CheckpointConflict {
                        key: key.to_owned(),
                        expected: expected_cp,
                        stored: stored.map(|(cp, v)| format!("{cp} (version {v})")),
                    }))
                }
            }
        })
        .await
    }
}
