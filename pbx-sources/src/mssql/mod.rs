//! A site's own CDR table on SQL Server, as a [`CdrSource`] (`source.kind: mssql_table`).
//!
//! Rows are read in increasing id order with keyset paging — never `OFFSET`:
//!
//! ```sql
//! SELECT TOP (@P1) [id], [col], … FROM [schema].[table] WHERE [id] > @P2 ORDER BY [id]
//! ```
//!
//! The page size and the last id are `sp_executesql` parameters; table and column names are
//! validated as plain identifiers by [`SiteTable`] and bracket-quoted, so nothing from the
//! configuration or the data is ever spliced into SQL. Rows are decoded as they arrive and
//! mapped by pbx-core ([`SiteTable::row`]) into [`RawRecord::Row`]; the checkpoint is the last
//! id handed out. A row that cannot be mapped (a NULL start time, a value that is not what its
//! field needs, a binary column) becomes that row's error, naming its id and column — the
//! rest of the page goes on. The id column must be an integer type (`int`, `bigint`, …, or
//! `numeric(p,0)`).
//!
//! When the connection fails (refused, dropped mid-result, timed out) the fetch returns an
//! error and the connection is discarded; the next fetch connects again and resumes from the
//! same checkpoint, so nothing is skipped or handed out twice.
//!
//! # Connection strings
//!
//! `source.url` may be spelled three ways:
//!
//! - an **ADO.NET** string: `server=tcp:db.example.com,1433;database=cdr;user id=pbx;password=…;encrypt=true`
//!   (keys as tiberius' `Config::from_ado_string` reads them: `server`, `database`,
//!   `user id`/`uid`/`user`, `password`/`pwd`, `encrypt` (`true`, `false`, `strict`,
//!   `DANGER_PLAINTEXT`), `TrustServerCertificate`, `TrustServerCertificateCA`,
//!   `HostNameInCertificate`, `Application Name`, `ApplicationIntent`, …; quote values with
//!   `;` as `'…'`);
//! - a **JDBC** URL: `jdbc:sqlserver://db.example.com:1433;databaseName=cdr;user=pbx;password=…`;
//!   an `mssql://` or `sqlserver://` string containing `;` is read as JDBC too;
//! - an **`mssql://` or `sqlserver://` URL**: `mssql://pbx:secret@db.example.com:1433?database=cdr`,
//!   user and password percent-encoded, port 1433 by default, query keys `database`,
//!   `encrypt` (as above), `trust_server_certificate`, `trust_server_certificate_ca`,
//!   `application_name` (case and `_` ignored); any other key, or a path, is an error.
//!
//! TLS is rustls with the system's root certificates. Encryption is required unless the
//! string says otherwise (`encrypt=false` encrypts the login only; `DANGER_PLAINTEXT` nothing).
//! SQL Server logins only — no Windows/Kerberos authentication, and named instances are not
//! looked up through SQL Browser: give the instance's port. Errors never repeat the string.
//!
//! ```no_run
//! use pbx_core::config::{Secret, TableMapping};
//! use pbx_core::CdrSource;
//! use pbx_sources::mssql::MssqlSource;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mapping = TableMapping {
//!     name: "dbo.CallLog".into(),
//!     columns: [("id", "CdrId"), ("historyid", "HistoryId"), ("time-start", "Started"), ("from-no", "Caller")]
//!         .into_iter().map(|(f, c)| (f.to_owned(), c.to_owned())).collect(),
//! };
//! let url = Secret::new("mssql://pbx:secret@db.example.com?database=cdr");
//! let mut source = MssqlSource::new(&url, &mapping)?;
//! let page = source.fetch(None, 500).await?;
//! for record in &page {
//!     println!("{}: {:?}", record.checkpoint, record.record);
//! }
//! # Ok(()) }
//! ```

mod connstr;
mod query;
mod value;

use crate::{CheckpointError, DatabaseError};
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use pbx_core::cdr::{SiteTable, SiteValue};
use pbx_core::config::{Secret, SourceConfig, TableMapping};
use pbx_core::delivery::TimeRange;
use pbx_core::{CdrSource, Checkpoint, Location, RawRecord, SourceRecord};
use tiberius::{Client, Config};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use value::Cell;

use crate::misconfigured::{Misconfigured, Problem};
use crate::{BoxError, Error};

/// How long connecting plus one page may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

type Connection = Client<Compat<TcpStream>>;

/// Reads a site's CDR table on SQL Server; see the [module documentation](self).
pub struct MssqlSource {
    config: Config,
    server: String,
    table: SiteTable,
    sql: String,
    timeout: Duration,
    /// `encrypt=strict` (TDS 8): a handshake that stalls or breaks means the server does not
    /// speak it.
    strict: bool,
    client: Option<Connection>,
    /// A backfill's range ([`MssqlSource::with_range`]).
    range: Option<TimeRange>,
    /// The statement narrowed to `range`, once the start column's type says it can be
    /// (`Some(None)`: it cannot; `None`: not known yet).
    narrowed: Option<Option<String>>,
}

/// How long a TDS 8 (`encrypt=strict`) handshake may take before pbx says the server does not
/// speak TDS 8 (a server without it waits for a prelogin that never comes).
const STRICT_HANDSHAKE: Duration = Duration::from_secs(5);

/// Whether the connection string asks for `encrypt=strict` (any spelling: ADO.NET, JDBC, URL).
fn wants_strict(url: &str) -> bool {
    let flat: String = url
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    flat.split([';', '&', '?'])
        .any(|pair| pair == "encrypt=strict")
}

impl fmt::Debug for MssqlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tiberius' Config is left out: it holds the credentials.
        f.debug_struct("MssqlSource")
            .field("server", &self.server)
            .field("sql", &self.sql)
            .field("timeout", &self.timeout)
            .field("connected", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

impl MssqlSource {
    /// A source for `table` on the server `url` names (see the module documentation for the
    /// accepted spellings). Nothing is connected yet: the first fetch connects.
    ///
    /// # Errors
    /// [`Error::ConnectionString`] for an unusable `url`, [`Error::Setting`] for a
    /// table or column name that is not a plain identifier, or a mapping without `time-start`.
    ///
    /// ```
    /// use pbx_core::config::{Secret, TableMapping};
    /// use pbx_sources::Error;
    /// use pbx_sources::mssql::MssqlSource;
    /// let mapping = |name: &str| TableMapping {
    ///     name: name.into(),
    ///     columns: [("time-start".to_owned(), "started".to_owned())].into(),
    /// };
    /// let url = Secret::new("server=tcp:db,1433;user=pbx;password=x");
    /// let source = MssqlSource::new(&url, &mapping("dbo.cdr"))?;
    /// assert_eq!(source.sql(), "SELECT TOP (@P1) [id], [started] FROM [dbo].[cdr] WHERE [id] > @P2 ORDER BY [id]");
    /// assert_eq!(source.server(), "db:1433");
    /// let refused = MssqlSource::new(&url, &mapping("cdr; DROP TABLE cdr"));
    /// assert!(matches!(refused, Err(Error::Setting { .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn new(url: &Secret, table: &TableMapping) -> Result<MssqlSource, Error> {
        let mut config = connstr::parse(url.expose()).map_err(|e| Error::ConnectionString {
            setting: "source.url",
            reason: e.0,
            source: e.1,
        })?;
        let strict = wants_strict(url.expose());
        if strict {
            config.handshake_timeout(Some(STRICT_HANDSHAKE));
        }
        let table = SiteTable::new(table).map_err(|source| Error::Setting {
            setting: "source.table",
            source,
        })?;
        Ok(MssqlSource {
            strict,
            server: config.get_addr(),
            sql: query::keyset_select(&table).map_err(|source| Error::Setting {
                setting: "source.table",
                source,
            })?,
            config,
            table,
            timeout: DEFAULT_TIMEOUT,
            client: None,
            range: None,
            narrowed: None,
        })
    }

    /// Reads only the rows whose start time (the `time-start` column) is in `range`, or is
    /// NULL — a backfill's range, so that a one-day backfill reads one day's rows, not the
    /// whole table ([`MssqlSource::sql`] then shows the narrowed statement, `@P3` and `@P4`
    /// being the range's bounds as `datetime2` in UTC). Applies when that column is a
    /// `datetime2`, `datetime`, `smalldatetime` or `datetimeoffset` (learnt from the
    /// server's column metadata on the first fetch); a start time kept as text cannot be
    /// compared in SQL, and the rows are then all read (the engine still skips those outside
    /// the range). Create an index on the column (`CREATE INDEX ix_cdr_started ON dbo.cdr
    /// (started)`) so the server finds the range without a scan.
    ///
    /// ```
    /// use pbx_core::config::{Secret, TableMapping};
    /// let mapping = TableMapping {
    ///     name: "dbo.cdr".into(),
    ///     columns: [("time-start".to_owned(), "started".to_owned())].into(),
    /// };
    /// let url = Secret::new("server=tcp:db,1433;user=pbx;password=x");
    /// let day = pbx_core::delivery::TimeRange::parse("2026-11-02", "2026-11-02", chrono_tz::UTC).unwrap();
    /// let source = pbx_sources::mssql::MssqlSource::new(&url, &mapping)?.with_range(Some(day));
    /// # let _ = source;
    /// # Ok::<(), pbx_sources::Error>(())
    /// ```
    #[must_use]
    pub fn with_range(mut self, range: Option<TimeRange>) -> MssqlSource {
        self.range = range;
        self.narrowed = None;
        self
    }

    /// A source from the validated configuration's `source` (kind `mssql_table`).
    ///
    /// # Errors
    /// [`Error::WrongSourceKind`] for another source kind; otherwise as [`MssqlSource::new`].
    pub fn from_config(source: &SourceConfig) -> Result<MssqlSource, Error> {
        match source {
            SourceConfig::MssqlTable { url, table } => MssqlSource::new(url, table),
            other => Err(Error::WrongSourceKind {
                expected: "an mssql_table source",
                kind: format!("{other:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            }),
        }
    }

    /// Bounds connecting plus reading one page (default [`DEFAULT_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> MssqlSource {
        self.timeout = timeout;
        self
    }

    /// The statement sent for each page (`@P1` = page size, `@P2` = last id; narrowed to a
    /// backfill's range, also `@P3`/`@P4`, once the first fetch found it can be).
    pub fn sql(&self) -> &str {
        match &self.narrowed {
            Some(Some(sql)) if self.range.is_some() => sql,
            _ => &self.sql,
        }
    }

    /// The server's `host:port`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Whether a connection is open (after a successful fetch; dropped after a failed one).
    pub fn is_connected(&self) -> bool {
        self.client.is_some()
    }

    async fn page(&mut self, after: i64, limit: i64) -> Result<Vec<SourceRecord>, Error> {
        let MssqlSource {
            config,
            server,
            table,
            sql,
            client,
            strict,
            range,
            narrowed,
            ..
        } = self;
        let client = match client {
            Some(c) => c,
            None => client.insert(connect(config, *strict).await?),
        };
        let failed = |source: tiberius::error::Error| {
            Error::Database(DatabaseError::SqlServer {
                server: server.clone(),
                source,
            })
        };
        if let (Some(_), None) = (&range, &narrowed) {
            *narrowed = Some(narrowing(client, table, sql).await.map_err(failed)?);
        }
        let bounds = match (&range, &narrowed) {
            // Widened by a second: the engine's filter is exact, a rounding here must not
            // lose a row at the edge.
            (Some(r), Some(Some(narrow))) => Some((
                narrow.as_str(),
                (r.from() - chrono::Duration::seconds(1)).naive_utc(),
                (r.to() + chrono::Duration::seconds(1)).naive_utc(),
            )),
            _ => None,
        };
        let stream = match &bounds {
            Some((narrow, from, to)) => client.query(*narrow, &[&limit, &after, from, to]).await,
            None => client.query(sql.as_str(), &[&limit, &after]).await,
        };
        let mut rows = stream.map_err(failed)?.into_row_stream();
        let mut out = Vec::with_capacity(usize::try_from(limit).unwrap_or(0).min(4096));
        let mut last = after;
        while let Some(row) = rows.try_next().await.map_err(failed)? {
            let cells: Vec<Cell> = row.into_iter().map(Cell::from_column).collect();
            out.push(record(table, &cells, &mut last)?);
        }
        Ok(out)
    }
}

/// Whether the table's start column can be compared in SQL (a date-and-time type, by the
/// column metadata of the page statement run for no row): the narrowed statement if so.
async fn narrowing(
    client: &mut Connection,
    table: &SiteTable,
    sql: &str,
) -> Result<Option<String>, tiberius::error::Error> {
    let Some(start) = query::start_column(table) else {
        return Ok(None);
    };
    let mut probe = client.query(sql, &[&0i64, &i64::MIN]).await?;
    let ty = probe
        .columns()
        .await?
        .and_then(|c| c.get(start))
        .map(tiberius::Column::column_type);
    probe.into_results().await?;
    use tiberius::ColumnType as T;
    match ty {
        Some(T::Datetime | T::Datetimen | T::Datetime2 | T::Datetime4 | T::DatetimeOffsetn) => {
            Ok(query::range_select(table).ok())
        }
        other => {
            tracing::info!(
                table = %table.table(),
                column_type = ?other,
                "the start-time column is not a date and time: the backfill reads the whole table and skips the rows outside its range"
            );
            Ok(None)
        }
    }
}

/// Opens a session, following one routing redirect (Azure SQL gateways send one).
async fn connect(config: &Config, strict: bool) -> Result<Connection, Error> {
    let mut config = config.clone();
    let mut redirects = 0;
    loop {
        let server = config.get_addr();
        let failed = |source: BoxError| {
            Error::Database(DatabaseError::Connect {
                service: "SQL Server",
                target: server.clone(),
                source,
            })
        };
        let tcp = TcpStream::connect(&server)
            .await
            .map_err(|e| failed(e.into()))?;
        // Small requests and replies: send them at once.
        tcp.set_nodelay(true).map_err(|e| failed(e.into()))?;
        match Client::connect(config.clone(), tcp.compat_write()).await {
            Ok(client) => {
                tracing::debug!(server = %server, "connected to SQL Server");
                return Ok(client);
            }
            Err(tiberius::error::Error::Routing { host, port }) if redirects == 0 => {
                tracing::info!(from = %server, to = %format!("{host}:{port}"), "SQL Server redirected the connection");
                redirects += 1;
                config.host(host);
                config.port(port);
            }
            // TDS 8 starts with TLS; a server without it waits for a prelogin (or hangs up).
            Err(tiberius::error::Error::Io { kind, message })
                if strict
                    && matches!(
                        kind,
                        std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::UnexpectedEof
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::ConnectionAborted
                    ) =>
            {
                return Err(failed(Box::new(Misconfigured::new(
                    Problem::Encryption,
                    format!("no TDS 8 handshake ({kind}): {message}"),
                ))));
            }
            Err(e) => return Err(failed(e.into())),
        }
    }
}

/// One row → its record. The id orders and checkpoints the rows, so a row without an
/// increasing integer id fails the page; everything else is the row's own error.
fn record(table: &SiteTable, cells: &[Cell], last: &mut i64) -> Result<SourceRecord, Error> {
    let id_error = |reason: String| {
        Error::Database(DatabaseError::Schema {
            table: table.table().to_string(),
            reason: format!("id column `{}` {reason}", table.id_column()),
        })
    };
    let id = match cells.first() {
        Some(Cell::Int(id)) => *id,
        // `numeric(18,0)` identity columns arrive as their digits.
        Some(Cell::Text(t)) if t.trim().parse::<i64>().is_ok() => {
            t.trim().parse::<i64>().unwrap_or_default()
        }
        Some(Cell::Null) | None => return Err(id_error("is NULL".into())),
        Some(other) => return Err(id_error(format!("holds {other:?}, not an integer"))),
    };
    if id <= *last {
        return Err(id_error(format!(
            "came back out of order ({id} after {last}); is it an integer key?"
        )));
    }
    *last = id;
    let checkpoint = Checkpoint::new(id.to_string());
    let unreadable = table
        .columns()
        .iter()
        .zip(cells)
        .find_map(|(column, cell)| match cell {
            Cell::Unreadable(ty) => Some((column, *ty)),
            _ => None,
        });
    let record = match unreadable {
        Some((column, ty)) => Err(pbx_core::Error::InvalidColumn {
            at: Location::Row(id.to_string()),
            column: column.name.as_str().into(),
            field: column.field.name(),
            value: Some(format!("<{ty}>")),
            expected: "text, a number or a time",
        }),
        None => {
            let values: Vec<SiteValue<'_>> = cells.iter().map(Cell::site_value).collect();
            table.row(&values).map(|(id, cdr)| RawRecord::Row {
                id,
                cdr: Box::new(cdr),
            })
        }
    };
    Ok(SourceRecord { checkpoint, record })
}

#[async_trait]
impl CdrSource for MssqlSource {
    type Error = Error;

    /// Up to `limit` rows with an id above the checkpoint's, in id order.
    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let after = match after {
            None => i64::MIN,
            Some(cp) => cp.as_str().parse::<i64>().map_err(|_| {
                Error::Checkpoint(CheckpointError::BadCheckpoint {
                    checkpoint: cp.to_string(),
                    expected: "a row id (an integer)",
                })
            })?,
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let timeout = self.timeout;
        let result = match tokio::time::timeout(timeout, self.page(after, limit)).await {
            Ok(result) => result,
            Err(_) => Err(Error::Database(DatabaseError::Timeout {
                service: "SQL Server",
                target: self.server.clone(),
                after: timeout,
            })),
        };
        if result.is_err() {
            // A failed or cancelled request may leave the session mid-message: start afresh.
            self.client = None;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SiteTable {
        SiteTable::new(&TableMapping {
            name: "cdr".into(),
            columns: [("time-start", "ts"), ("bill-code", "code")]
                .into_iter()
                .map(|(f, c)| (f.to_owned(), c.to_owned()))
                .collect(),
        })
        .unwrap()
    }

    fn start() -> Cell {
        Cell::Time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap())
    }

    #[test]
    fn strict_is_found_in_every_spelling() {
        assert!(super::wants_strict(
            "server=tcp:db,1433;Encrypt = Strict;user id=pbx"
        ));
        assert!(super::wants_strict(
            "mssql://pbx:x@db?database=cdr&encrypt=strict"
        ));
        assert!(super::wants_strict(
            "jdbc:sqlserver://db:1433;encrypt=strict;"
        ));
        assert!(!super::wants_strict(
            "server=db;encrypt=true;password=encrypt=strict-ish"
        ));
    }

    #[test]
    fn ids_are_integers_or_their_digits_and_only_increase() {
        let t = table();
        let mut last = i64::MIN;
        let r = record(&t, &[Cell::Int(7), start(), Cell::Null], &mut last).unwrap();
        assert_eq!(r.checkpoint.as_str(), "7");
        assert!(matches!(r.record, Ok(RawRecord::Row { id: 7, .. })));
        // numeric(18,0) comes as digits.
        let r = record(
            &t,
            &[Cell::Text("12".into()), start(), Cell::Null],
            &mut last,
        )
        .unwrap();
        assert_eq!((r.checkpoint.as_str(), last), ("12", 12));
        for (cell, msg) in [
            (Cell::Int(12), "out of order"),
            (Cell::Int(3), "out of order"),
            (Cell::Null, "NULL"),
            (Cell::Text("12.5".into()), "not an integer"),
        ] {
            let e = record(&t, &[cell, start(), Cell::Null], &mut last).unwrap_err();
            assert!(
                matches!(e, Error::Database(DatabaseError::Schema { .. })),
                "{e:?}"
            );
            assert!(e.to_string().contains(msg), "{e}");
        }
        assert_eq!(last, 12);
    }

    #[test]
    fn a_column_no_field_can_hold_is_that_rows_error() {
        let mut last = 0;
        let r = record(
            &table(),
            &[Cell::Int(5), start(), Cell::Unreadable("binary")],
            &mut last,
        )
        .unwrap();
        assert_eq!(r.checkpoint.as_str(), "5");
        let e = r.record.unwrap_err();
        assert_eq!(
            e.to_string(),
            "row 5: column `code` (bill-code) has value \"<binary>\", expected text, a number or a time"
        );
    }
}
