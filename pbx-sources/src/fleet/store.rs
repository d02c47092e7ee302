//! The fleet's PostgreSQL store: process heartbeats, site leases (claimed with
//! `SELECT … FOR UPDATE SKIP LOCKED`, fenced by an epoch), per-site checkpoints, quarantine
//! and call-group state.

use crate::DatabaseError;
use std::sync::Arc;
use std::time::Duration;

use pbx_core::delivery::QuarantineEntry;
use tokio::sync::Mutex;

use crate::Error;
use crate::postgres::Connection;

/// A lease this process holds on a site: the site and the epoch it was claimed with. Every
/// checkpoint save carries it and is refused once another process claimed the site since
/// (a higher epoch) or the lease expired.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lease {
    /// The site id.
    pub site: String,
    /// The claim's epoch: +1 on every claim of the site, by any process.
    pub epoch: i64,
}

/// One row of the sites table, as [`FleetStore::sites`] reads it (for `/status`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct SiteLease {
    /// The site id.
    pub site: String,
    /// The process holding it, if any (its lease may have expired).
    pub owner: Option<String>,
    /// The last claim's epoch.
    pub epoch: i64,
    /// Seconds until the lease expires (negative: expired), when owned.
    pub expires_in_secs: Option<f64>,
}

/// The fleet's tables in one PostgreSQL database, created idempotently on first use (see
/// [`FleetStore::schema_sql`]). Cheap to clone: clones share one connection.
///
/// ```no_run
/// # async fn demo() -> Result<(), pbx_sources::Error> {
/// use std::time::Duration;
/// use pbx_sources::fleet::FleetStore;
/// let store = FleetStore::new("postgres://pbx@db/pbx", "pbx_fleet")?;
/// store.heartbeat("host-a", Duration::from_secs(30), "127.0.0.1:8081").await?;
/// let leases = store.claim("host-a", &["berlin".into()], 1, Duration::from_secs(30)).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct FleetStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conn: Mutex<Connection>,
    /// The connection generation the schema was created on.
    created: Mutex<Option<u64>>,
    prefix: String,
}

/// Milliseconds, for `make_interval`/`interval` arithmetic in SQL.
fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl FleetStore {
    /// A store at `url` whose tables are named `<prefix>_…` (`prefix`: a plain SQL name, as
    /// `store.prefix` is checked). Nothing is sent yet.
    ///
    /// # Errors
    /// [`Error::ConnectionString`] for an unusable URL; [`Error::Config`] for a prefix that is
    /// not a plain name.
    pub fn new(url: &str, prefix: &str) -> Result<Self, Error> {
        if prefix.is_empty()
            || prefix.len() > 40
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || prefix.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(Error::Config {
                setting: "store.prefix",
                value: prefix.to_owned(),
                reason: "must be a plain SQL name (letters, digits, _)".into(),
            });
        }
        Ok(FleetStore {
            inner: Arc::new(Inner {
                conn: Mutex::new(Connection::new(url).map_err(|e| match e {
                    Error::ConnectionString { source, reason, .. } => Error::ConnectionString {
                        setting: "store.url",
                        source,
                        reason,
                    },
                    other => other,
                })?),
                created: Mutex::new(None),
                prefix: prefix.to_owned(),
            }),
        })
    }

    /// The SQL that creates the store's tables (idempotent; run under an advisory lock so
    /// that processes starting together do not race).
    ///
    /// ```
    /// let sql = pbx_sources::fleet::FleetStore::schema_sql("pbx_fleet");
    /// assert!(sql.contains("CREATE TABLE IF NOT EXISTS pbx_fleet_sites"));
    /// ```
    pub fn schema_sql(prefix: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {prefix}_processes (
    owner        text PRIMARY KEY,           -- a fleet process (fleet.yml `name`, or host-pid)
    listen       text NOT NULL,              -- its service port, for /status elsewhere
    started_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL        -- heartbeat + lease: live while in the future
);
CREATE TABLE IF NOT EXISTS {prefix}_sites (
    site         text PRIMARY KEY,           -- the site file's name without .yml
    owner        text,                       -- the process holding the lease (NULL: free)
    epoch        bigint NOT NULL DEFAULT 0,  -- +1 on every claim: fences stale owners
    expires_at   timestamptz,                -- the lease's end; renewed every lease.renew_secs
    added_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {prefix}_checkpoints (
    site         text NOT NULL,
    key          text NOT NULL,              -- cdr, group-monitor, backfill:…
    checkpoint   text NOT NULL,
    epoch        bigint NOT NULL,            -- the lease epoch that saved it
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, key)
);
CREATE TABLE IF NOT EXISTS {prefix}_quarantine (
    id           bigserial PRIMARY KEY,
    site         text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    entry        jsonb NOT NULL              -- checkpoint, location, reason, record
);
CREATE INDEX IF NOT EXISTS {prefix}_quarantine_site ON {prefix}_quarantine (site, id);"
        )
    }

    fn table(&self, name: &str) -> String {
        format!("{}_{name}", self.inner.prefix)
    }

    /// The client, the schema created on this connection first.
    async fn client(&self) -> Result<Arc<tokio_postgres::Client>, Error> {
        let mut conn = self.inner.conn.lock().await;
        let client = Arc::clone(conn.shared().await?);
        let generation = conn.generation();
        drop(conn);
        let mut created = self.inner.created.lock().await;
        if *created != Some(generation) {
            let prefix = &self.inner.prefix;
            let sql = format!(
                "BEGIN; SELECT pg_advisory_xact_lock(hashtext('{prefix}')); {} COMMIT;",
                Self::schema_sql(prefix)
            );
            if let Err(source) = client.batch_execute(&sql).await {
                let e = Error::Database(DatabaseError::Postgres {
                    op: "create the fleet tables",
                    source,
                });
                self.inner.conn.lock().await.reset_if_lost(&e);
                return Err(e);
            }
            *created = Some(generation);
        }
        Ok(client)
    }

    /// Runs `f` on the client; a lost connection is dropped so the next call reconnects.
    async fn with<T>(
        &self,
        f: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let client = self.client().await?;
        let result = f(&client).await;
        if let Err(e) = &result {
            self.inner.conn.lock().await.reset_if_lost(e);
        }
        result
    }

    /// Whether the store answered: a round trip (`/health`).
    ///
    /// # Errors
    /// The connection's or the query's error.
    pub async fn ping(&self) -> Result<(), Error> {
        self.with(async |c| {
            c.simple_query("SELECT 1")
                .await
                .map(drop)
                .map_err(|source| {
                    Error::Database(DatabaseError::Postgres {
                        op: "ping the fleet store",
                        source,
                    })
                })
        })
        .await
    }

    /// Writes this process's heartbeat: live for `lease` from now.
    ///
    /// # Errors
    /// The query's error.
    pub async fn heartbeat(&self, owner: &str, lease: Duration, listen: &str) -> Result<(), Error> {
        let t = self.table("processes");
        self.with(async |c| {
            c.execute(
                &format!(
                    "INSERT INTO {t} (owner, listen, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond') \
                     ON CONFLICT (owner) DO UPDATE SET listen = EXCLUDED.listen, expires_at = EXCLUDED.expires_at"
                ),
                &[&owner, &listen, &millis(lease)],
            )
            .await
            .map(drop)
            .map_err(|source| Error::Database(DatabaseError::Postgres { op: "write the fleet heartbeat", source }))
        })
        .await
    }

    /// Removes this process's heartbeat (a graceful stop): the others' fair share grows at once.
    ///
    /// # Errors
    /// The query's error.
    pub async fn leave(&self, owner: &str) -> Result<(), Error> {
        let t = self.table("processes");
        self.with(async |c| {
            c.execute(&format!("DELETE FROM {t} WHERE owner = $1"), &[&owner])
                .await
                .map(drop)
                .map_err(|source| {
                    Error::Database(DatabaseError::Postgres {
                        op: "remove the fleet heartbeat",
                        source,
                    })
                })
        })
        .await
    }

    /// Processes whose heartbeat has not expired, and sites known; `(live, sites)`.
    ///
    /// # Errors
    /// The query's error.
    pub async fn census(&self) -> Result<(i64, i64), Error> {
        let (p, s) = (self.table("processes"), self.table("sites"));
        self.with(async |c| {
            let row = c
                .query_one(
                    &format!(
                        "SELECT (SELECT count(*) FROM {p} WHERE expires_at > now()), (SELECT count(*) FROM {s})"
                    ),
                    &[],
                )
                .await
                .map_err(|source| Error::Database(DatabaseError::Postgres { op: "count the fleet", source }))?;
            Ok((row.get(0), row.get(1)))
        })
        .await
    }

    /// Adds the sites this process has a valid file for (a site already known stays as it is).
    ///
    /// # Errors
    /// The query's error.
    pub async fn add_sites(&self, sites: &[String]) -> Result<(), Error> {
        if sites.is_empty() {
            return Ok(());
        }
        let t = self.table("sites");
        self.with(async |c| {
            c.execute(
                &format!(
                    "INSERT INTO {t} (site) SELECT unnest($1::text[]) ON CONFLICT (site) DO NOTHING"
                ),
                &[&sites],
            )
            .await
            .map(drop)
            .map_err(|source| {
                Error::Database(DatabaseError::Postgres {
                    op: "add sites",
                    source,
                })
            })
        })
        .await
    }

    /// Forgets a site whose file was removed, unless another process holds a live lease on it
    /// (its file may still be there: it adds the site again). Its checkpoint stays: a site
    /// file added again resumes where it was.
    ///
    /// # Errors
    /// The query's error.
    pub async fn remove_site(&self, owner: &str, site: &str) -> Result<(), Error> {
        let t = self.table("sites");
        self.with(async |c| {
            c.execute(
                &format!(
                    "DELETE FROM {t} WHERE site = $1 AND (owner IS NULL OR owner = $2 OR expires_at <= now())"
                ),
                &[&site, &owner],
            )
            .await
            .map(drop)
            .map_err(|source| Error::Database(DatabaseError::Postgres {
                op: "remove a site",
                source,
            }))
        })
        .await
    }

    /// Claims up to `n` of `candidates` that are free or whose lease expired, skipping rows
    /// another process is claiming at the same moment (`FOR UPDATE SKIP LOCKED`); each claim
    /// raises the site's epoch. Returns the leases won.
    ///
    /// # Errors
    /// The query's error.
    pub async fn claim(
        &self,
        owner: &str,
        candidates: &[String],
        n: usize,
        lease: Duration,
    ) -> Result<Vec<Lease>, Error> {
        if n == 0 || candidates.is_empty() {
            return Ok(Vec::new());
        }
        let t = self.table("sites");
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        self.with(async |c| {
            let rows = c
                .query(
                    &format!(
                        "UPDATE {t} s SET owner = $1, epoch = s.epoch + 1, \
                             expires_at = now() + $4 * interval '1 millisecond' \
                         FROM (SELECT site FROM {t} \
                               WHERE site = ANY($2) AND (owner IS NULL OR expires_at IS NULL OR expires_at <= now()) \
                               ORDER BY expires_at NULLS FIRST, site \
                               LIMIT $3 FOR UPDATE SKIP LOCKED) free \
                         WHERE s.site = free.site RETURNING s.site, s.epoch"
                    ),
                    &[&owner, &candidates, &limit, &millis(lease)],
                )
                .await
                .map_err(|source| Error::Database(DatabaseError::Postgres { op: "claim sites", source }))?;
            Ok(rows
                .iter()
                .map(|r| Lease { site: r.get(0), epoch: r.get(1) })
                .collect())
        })
        .await
    }

    /// Renews `leases` for `lease` from now; returns those still held (same owner, same
    /// epoch, not expired). A lease missing from the answer is lost: stop that site.
    ///
    /// # Errors
    /// The query's error (then nothing is known: the caller keeps its sites until the leases
    /// would have expired, and stops them then).
    pub async fn renew(
        &self,
        owner: &str,
        leases: &[Lease],
        lease: Duration,
    ) -> Result<Vec<Lease>, Error> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let t = self.table("sites");
        let sites: Vec<&str> = leases.iter().map(|l| l.site.as_str()).collect();
        let epochs: Vec<i64> = leases.iter().map(|l| l.epoch).collect();
        self.with(async |c| {
            let rows = c
                .query(
                    &format!(
                        "UPDATE {t} s SET expires_at = now() + $4 * interval '1 millisecond' \
                         FROM unnest($2::text[], $3::bigint[]) AS held(site, epoch) \
                         WHERE s.site = held.site AND s.epoch = held.epoch AND s.owner = $1 \
                           AND s.expires_at > now() \
                         RETURNING s.site, s.epoch"
                    ),
                    &[&owner, &sites, &epochs, &millis(lease)],
                )
                .await
                .map_err(|source| {
                    Error::Database(DatabaseError::Postgres {
                        op: "renew leases",
                        source,
                    })
                })?;
            Ok(rows
                .iter()
                .map(|r| Lease {
                    site: r.get(0),
                    epoch: r.get(1),
                })
                .collect())
        })
        .await
    }

    /// Gives a lease up (graceful stop, or a fair share that shrank): the site is free at once.
    ///
    /// # Errors
    /// The query's error.
    pub async fn release(&self, owner: &str, lease: &Lease) -> Result<(), Error> {
        let t = self.table("sites");
        self.with(async |c| {
            c.execute(
                &format!(
                    "UPDATE {t} SET owner = NULL, expires_at = NULL WHERE site = $1 AND owner = $2 AND epoch = $3"
                ),
                &[&lease.site, &owner, &lease.epoch],
            )
            .await
            .map(drop)
            .map_err(|source| Error::Database(DatabaseError::Postgres { op: "release a lease", source }))
        })
        .await
    }

    /// Every site row (for `/status`: who owns what elsewhere).
    ///
    /// # Errors
    /// The query's error.
    pub async fn sites(&self) -> Result<Vec<SiteLease>, Error> {
        let t = self.table("sites");
        self.with(async |c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT site, owner, epoch, \
                         extract(epoch FROM expires_at - now())::float8 FROM {t} ORDER BY site"
                    ),
                    &[],
                )
                .await
                .map_err(|source| {
                    Error::Database(DatabaseError::Postgres {
                        op: "read the sites",
                        source,
                    })
                })?;
            Ok(rows
                .iter()
                .map(|r| SiteLease {
                    site: r.get(0),
                    owner: r.get(1),
                    epoch: r.get(2),
                    expires_in_secs: r.get(3),
                })
                .collect())
        })
        .await
    }

    /// Site `site`'s checkpoint under `key`.
    ///
    /// # Errors
    /// The query's error.
    pub async fn load_checkpoint(&self, site: &str, key: &str) -> Result<Option<String>, Error> {
        let t = self.table("checkpoints");
        self.with(async |c| {
            c.query_opt(
                &format!("SELECT checkpoint FROM {t} WHERE site = $1 AND key = $2"),
                &[&site, &key],
            )
            .await
            .map(|r| r.map(|r| r.get(0)))
            .map_err(|source| {
                Error::Database(DatabaseError::Postgres {
                    op: "load a site checkpoint",
                    source,
                })
            })
        })
        .await
    }

    /// Saves a checkpoint fenced by `lease`: in one statement, the lease row is locked
    /// (`FOR SHARE`, so a take-over waits for the save) and the save happens only while this
    /// owner still holds that epoch and the lease has not expired; a checkpoint saved by a
    /// later epoch is never overwritten.
    ///
    /// # Errors
    /// [`Error::LeaseLost`] when the lease is stale; the query's error.
    pub async fn save_checkpoint(
        &self,
        owner: &str,
        lease: &Lease,
        key: &str,
        checkpoint: &str,
    ) -> Result<(), Error> {
        let (s, t) = (self.table("sites"), self.table("checkpoints"));
        let saved = self
            .with(async |c| {
                c.query_opt(
                    &format!(
                        "WITH held AS (SELECT site FROM {s} WHERE site = $1 AND owner = $2 AND epoch = $3 \
                                       AND expires_at > now() FOR SHARE) \
                         INSERT INTO {t} (site, key, checkpoint, epoch) \
                         SELECT site, $4, $5, $3 FROM held \
                         ON CONFLICT (site, key) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, \
                             epoch = EXCLUDED.epoch, updated_at = now() \
                         WHERE {t}.epoch <= EXCLUDED.epoch \
                         RETURNING 1"
                    ),
                    &[&lease.site, &owner, &lease.epoch, &key, &checkpoint],
                )
                .await
                .map_err(|source| Error::Database(DatabaseError::Postgres { op: "save a site checkpoint", source }))
            })
            .await?;
        match saved {
            Some(_) => Ok(()),
            None => Err(Error::LeaseLost {
                site: lease.site.clone(),
                epoch: lease.epoch,
            }),
        }
    }

    /// Adds a quarantine entry for `site`.
    ///
    /// # Errors
    /// The query's error.
    pub async fn quarantine(&self, site: &str, entry: &QuarantineEntry) -> Result<(), Error> {
        let t = self.table("quarantine");
        let json = serde_json::to_value(entry).map_err(|e| Error::Failed {
            step: "encode a quarantine entry".into(),
            source: Box::new(e),
        })?;
        self.with(async |c| {
            c.execute(
                &format!("INSERT INTO {t} (site, entry) VALUES ($1, $2::text::jsonb)"),
                &[&site, &json.to_string()],
            )
            .await
            .map(drop)
            .map_err(|source| {
                Error::Database(DatabaseError::Postgres {
                    op: "quarantine a record",
                    source,
                })
            })
        })
        .await
    }

    /// Site `site`'s quarantine, oldest first, each with its row id.
    ///
    /// # Errors
    /// The query's error; [`Error::Failed`] for a row that is not an entry (named by its id).
    pub async fn quarantined(&self, site: &str) -> Result<Vec<(i64, QuarantineEntry)>, Error> {
        let t = self.table("quarantine");
        let rows = self
            .with(async |c| {
                c.query(
                    &format!("SELECT id, entry::text FROM {t} WHERE site = $1 ORDER BY id"),
                    &[&site],
                )
                .await
                .map_err(|source| {
                    Error::Database(DatabaseError::Postgres {
                        op: "read the quarantine",
                        source,
                    })
                })
            })
            .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let text: String = r.get(1);
                serde_json::from_str(&text)
                    .map(|e| (id, e))
                    .map_err(|e| Error::Failed {
                        step: format!("read quarantine row {id} of site {site}"),
                        source: Box::new(e),
                    })
            })
            .collect()
    }

    /// Removes quarantine rows by id (after a replay delivered them).
    ///
    /// # Errors
    /// The query's error.
    pub async fn unquarantine(&self, site: &str, ids: &[i64]) -> Result<(), Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let t = self.table("quarantine");
        self.with(async |c| {
            c.execute(
                &format!("DELETE FROM {t} WHERE site = $1 AND id = ANY($2)"),
                &[&site, &ids],
            )
            .await
            .map(drop)
            .map_err(|source| {
                Error::Database(DatabaseError::Postgres {
                    op: "remove replayed quarantine rows",
                    source,
                })
            })
        })
        .await
    }
}
