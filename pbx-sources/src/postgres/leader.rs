//! Leadership between instances: a PostgreSQL session-level advisory lock.

use crate::DatabaseError;
use tokio_postgres::Client;

use crate::Error;

/// Tries to become the leader for `key`: takes the session-level advisory lock
/// `pg_try_advisory_lock(key)` without waiting. `true` when this session holds it now (also
/// when it already did: calling again while leading does not stack the lock); `false` when
/// another session holds it. The lock is released by
/// [`release_leadership`] or when the session ends (a crashed leader's lock goes with its
/// connection), so keep `client`'s connection open while leading.
///
/// # Errors
/// [`DatabaseError::Postgres`] when the query fails.
///
/// ```no_run
/// # async fn demo(client: &tokio_postgres::Client) -> Result<(), pbx_sources::Error> {
/// if pbx_sources::postgres::try_acquire_leadership(client, 0x3cc0_0001).await? {
///     // run the delivery engine
/// }
/// # Ok(()) }
/// ```
pub async fn try_acquire_leadership(client: &Client, key: i64) -> Result<bool, Error> {
    client
        .query_one(
            // A bigint key is held as classid (high 32 bits) / objid (low 32 bits), objsubid 1.
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
               AND pid = pg_backend_pid() AND objsubid = 1 \
               AND ((classid::bigint << 32) | objid::bigint) = $1) \
             OR pg_try_advisory_lock($1)",
            &[&key],
        )
        .await
        .map(|row| row.get::<_, bool>(0))
        .map_err(|source| {
            Error::Database(DatabaseError::Postgres {
                op: "take the leadership lock",
                source,
            })
        })
}

/// Gives up leadership for `key` (`pg_advisory_unlock`). `true` when this session held it.
///
/// # Errors
/// [`DatabaseError::Postgres`] when the query fails.
pub async fn release_leadership(client: &Client, key: i64) -> Result<bool, Error> {
    client
        .query_one("SELECT pg_advisory_unlock($1)", &[&key])
        .await
        .map(|row| row.get::<_, bool>(0))
        .map_err(|source| {
            Error::Database(DatabaseError::Postgres {
                op: "release the leadership lock",
                source,
            })
        })
}
