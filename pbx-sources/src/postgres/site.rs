//! A site's own CDR table on PostgreSQL, read by increasing id.

use crate::{CheckpointError, DatabaseError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::{TryStreamExt, pin_mut};
use pbx_core::cdr::{Field, SiteField, SiteTable, SiteValue};
use pbx_core::config::TableMapping;
use pbx_core::delivery::TimeRange;
use pbx_core::{CdrSource, Checkpoint, RawRecord, SourceRecord};
use std::sync::Arc;
use tokio_postgres::types::{ToSql, Type};

use tokio_postgres::{Client, Row, Statement};

use super::Connection;
use crate::Error;
use crate::sql::SqlName;

/// How a selected column is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int2,
    Int4,
    Int8,
    Text,
    TimeTz,
    Time,
}

impl Kind {
    fn of(ty: &Type) -> Option<Kind> {
        Some(match *ty {
            Type::INT2 => Kind::Int2,
            Type::INT4 => Kind::Int4,
            Type::INT8 => Kind::Int8,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Kind::Text,
            Type::TIMESTAMPTZ => Kind::TimeTz,
            Type::TIMESTAMP => Kind::Time,
            _ => return None,
        })
    }
}

/// A site's CDR table (`source.kind: postgres_table`): rows in increasing id order, paged with
/// `WHERE id > $1 ORDER BY id LIMIT $2`; the checkpoint is the last id handed out.
///
/// Columns are selected as [`SiteTable::columns`] lists them, quoted; integer, text and
/// timestamp columns are read in their own type, any other type (`interval`, `numeric`, …)
/// as its text. A `timestamp` without time zone is taken as UTC. Rows are converted as they
/// stream in, so memory stays bounded by the batch size whatever the table's size (two pages
/// at most: after a full page the next one is read ahead while the caller handles this one,
/// see [`SiteTableSource::with_read_ahead`]). A row that cannot be read is a per-row error
/// naming its id and column.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use pbx_core::CdrSource;
/// use pbx_core::config::TableMapping;
/// let mapping = TableMapping { name: "public.cdr".into(), columns: [("time-start", "started"),
///     ("historyid", "history_id"), ("from-no", "caller"), ("to-no", "callee")]
///     .into_iter().map(|(f, c)| (f.to_owned(), c.to_owned())).collect() };
/// let mut source = pbx_sources::postgres::SiteTableSource::new("postgres://pbx@db/pbx", &mapping)?;
/// let batch = source.fetch(None, 500).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SiteTableSource {
    conn: Connection,
    table: Arc<SiteTable>,
    prepared: Option<Prepared>,
    read_ahead_enabled: bool,
    read_ahead: Option<ReadAhead>,
    range: Option<TimeRange>,
}

#[derive(Debug)]
struct Prepared {
    generation: u64,
    statement: Statement,
    kinds: Arc<[Kind]>,
    /// The range the statement narrows to (`$3`, `$4`), and how the start column is typed.
    narrow: Option<(TimeRange, Kind)>,
}

/// The next page, being read while the caller handles the last one.
#[derive(Debug)]
struct ReadAhead {
    after: i64,
    limit: usize,
    generation: u64,
    task: tokio::task::JoinHandle<Result<(Vec<SourceRecord>, i64), Error>>,
}

impl Drop for SiteTableSource {
    fn drop(&mut self) {
        if let Some(ahead) = self.read_ahead.take() {
            ahead.task.abort();
        }
    }
}

impl SiteTableSource {
    /// A source over `mapping`'s table at `url`. Nothing is sent yet.
    ///
    /// # Errors
    /// [`Error::ConnectionString`] for an unusable URL, [`Error::Setting`] for an unusable mapping
    /// (a name that is not a plain identifier, an unknown field, no `time-start` column).
    pub fn new(url: &str, mapping: &TableMapping) -> Result<Self, Error> {
        Ok(Self::with_connection(
            Connection::new(url)?,
            SiteTable::new(mapping).map_err(|e| Error::Setting {
                setting: "source.table",
                source: e,
            })?,
        ))
    }

    /// A source over a validated table on a connection.
    pub fn with_connection(conn: Connection, table: SiteTable) -> Self {
        SiteTableSource {
            conn,
            table: Arc::new(table),
            prepared: None,
            read_ahead_enabled: true,
            read_ahead: None,
            range: None,
        }
    }

    /// Reads only the rows whose start time (the `time-start` column) is in `range`, or is
    /// NULL — a backfill's range, so that a one-day backfill reads one day's rows, not the
    /// whole table. Applies when that column is a `timestamptz` or a `timestamp` (taken as
    /// UTC); a start time kept as text cannot be compared in SQL, and the rows are then all
    /// read (the engine still skips those outside the range). Create an index on the column
    /// (`CREATE INDEX ON cdr (started_at)`) so the server finds the range without a scan.
    ///
    /// ```
    /// # fn demo(s: pbx_sources::postgres::SiteTableSource) {
    /// use chrono::{TimeZone, Utc};
    /// let day = pbx_core::delivery::TimeRange::new(
    ///     Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
    ///     Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap(),
    /// ).unwrap();
    /// let s = s.with_range(Some(day));
    /// # let _ = s; }
    /// ```
    pub fn with_range(mut self, range: Option<TimeRange>) -> Self {
        self.range = range;
        self.prepared = None;
        self
    }

    /// Whether to read the next page while the caller handles a full one (on by default).
    /// The page read ahead is used only when the next fetch continues exactly where the last
    /// one ended, with the same limit; otherwise it is dropped and read again.
    pub fn with_read_ahead(mut self, on: bool) -> Self {
        self.read_ahead_enabled = on;
        self
    }

    /// The mapping.
    pub fn table(&self) -> &SiteTable {
        &self.table
    }

    async fn prepare(&mut self) -> Result<(), Error> {
        self.conn.client().await?;
        let generation = self.conn.generation();
        if self
            .prepared
            .as_ref()
            .is_some_and(|p| p.generation == generation)
        {
            return Ok(());
        }
        let table = &self.table;
        let client = self.conn.client().await?;
        let op = "prepare the site-table query";
        let sql = |as_text: &[bool], narrow: Option<Kind>| {
            select_sql(table, as_text, narrow).map_err(|source| Error::Setting {
                setting: "source.table",
                source,
            })
        };
        let mut statement = client
            .prepare(&sql(&[], None)?)
            .await
            .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
        let id_type = statement.columns()[0].type_().clone();
        if !matches!(id_type, Type::INT2 | Type::INT4 | Type::INT8) {
            return Err(Error::Database(DatabaseError::Schema {
                table: table.table().to_string(),
                reason: format!(
                    "the id column `{}` is of type {id_type}; an increasing integer id (smallint, integer, bigint) is required",
                    table.id_column()
                ),
            }));
        }
        let as_text: Vec<bool> = statement
            .columns()
            .iter()
            .map(|c| Kind::of(c.type_()).is_none())
            .collect();
        // A column read as text comes back as text.
        let kinds: Arc<[Kind]> = statement
            .columns()
            .iter()
            .map(|c| Kind::of(c.type_()).unwrap_or(Kind::Text))
            .collect();
        // A backfill's range, where the start column can be compared in SQL.
        let start = table
            .columns()
            .iter()
            .position(|c| c.field == SiteField::Cdr(Field::TimeStart));
        let narrow = match (self.range, start.and_then(|i| kinds.get(i))) {
            (Some(range), Some(kind @ (Kind::TimeTz | Kind::Time))) => Some((range, *kind)),
            (Some(_), _) => {
                tracing::info!(
                    table = %table.table(),
                    "the start-time column is not a timestamp: the backfill reads the whole table and skips the rows outside its range"
                );
                None
            }
            (None, _) => None,
        };
        // The statement as it will run: prepared again only when it differs from the first.
        if as_text.iter().any(|&t| t) || narrow.is_some() {
            statement = client
                .prepare(&sql(&as_text, narrow.map(|(_, kind)| kind))?)
                .await
                .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
        }
        self.prepared = Some(Prepared {
            generation,
            statement,
            kinds,
            narrow,
        });
        Ok(())
    }

    async fn fetch_rows(&mut self, after: i64, limit: usize) -> Result<Vec<SourceRecord>, Error> {
        let mut result = None;
        if let Some(ahead) = self.read_ahead.take() {
            if ahead.after == after
                && ahead.limit == limit
                && ahead.generation == self.conn.generation()
            {
                // A task that panicked or was cancelled is read again below.
                result = ahead.task.await.ok();
            } else {
                ahead.task.abort();
            }
        }
        let (page, last) = match result {
            Some(r) => r?,
            None => {
                self.prepare().await?;
                let Some(prepared) = self.prepared.as_ref() else {
                    return Ok(Vec::new());
                };
                let client = Arc::clone(self.conn.shared().await?);
                read_page(
                    client,
                    prepared.statement.clone(),
                    Arc::clone(&prepared.kinds),
                    Arc::clone(&self.table),
                    prepared.narrow,
                    after,
                    limit,
                )
                .await?
            }
        };
        // A full page means more rows are likely waiting: ask for the next page now, so the
        // server produces it while the caller handles this one.
        if self.read_ahead_enabled
            && page.len() == limit
            && let (Some(prepared), Some(client)) = (self.prepared.as_ref(), self.conn.current())
        {
            self.read_ahead = Some(ReadAhead {
                after: last,
                limit,
                generation: self.conn.generation(),
                task: tokio::spawn(read_page(
                    client,
                    prepared.statement.clone(),
                    Arc::clone(&prepared.kinds),
                    Arc::clone(&self.table),
                    prepared.narrow,
                    last,
                    limit,
                )),
            });
        }
        Ok(page)
    }
}

/// Reads one page: up to `limit` rows after `after`, converted as they stream in. Returns
/// them and the last id read.
async fn read_page(
    client: Arc<Client>,
    statement: Statement,
    kinds: Arc<[Kind]>,
    table: Arc<SiteTable>,
    narrow: Option<(TimeRange, Kind)>,
    after: i64,
    limit: usize,
) -> Result<(Vec<SourceRecord>, i64), Error> {
    let limit_param = i64::try_from(limit).unwrap_or(i64::MAX);
    let op = "select site-table rows";
    let (from, to) = narrow.map_or((None, None), |(r, _)| (Some(r.from()), Some(r.to())));
    let (naive_from, naive_to) = (from.map(|t| t.naive_utc()), to.map(|t| t.naive_utc()));
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&after, &limit_param];
    match narrow {
        Some((_, Kind::TimeTz)) => params.extend([&from as &(dyn ToSql + Sync), &to]),
        Some(_) => params.extend([&naive_from as &(dyn ToSql + Sync), &naive_to]),
        None => {}
    }
    let rows = client
        .query_raw(&statement, params)
        .await
        .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
    pin_mut!(rows);
    let mut out = Vec::with_capacity(limit.min(65_536));
    let n = kinds.len();
    let mut last = after;
    while let Some(row) = rows
        .try_next()
        .await
        .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?
    {
        // At most 28 columns: the id and the 27 CDR fields, each mapped once.
        let mut inline = [SiteValue::Null; 28];
        let values = &mut inline[..n.min(28)];
        read_row(&row, &kinds, values);
        let record = table.row(values);
        // The id column is an integer and never NULL here (`WHERE id > $1`).
        let id = match (&record, values.first()) {
            (Ok((id, _)), _) => *id,
            (Err(_), Some(SiteValue::Int(id))) => *id,
            _ => last,
        };
        last = id;
        out.push(SourceRecord {
            checkpoint: Checkpoint::new(id.to_string()),
            record: record.map(|(id, cdr)| RawRecord::Row {
                id,
                cdr: Box::new(cdr),
            }),
        });
    }
    Ok((out, last))
}

/// `SELECT <columns> FROM <table> WHERE <id> > $1 ORDER BY <id> LIMIT $2`, names quoted,
/// the columns flagged in `as_text` cast to text; with `narrow` (the start column's type, a
/// timestamp kind) also `AND ((<start> >= $3 AND <start> < $4) OR <start> IS NULL)`. The names
/// were checked by [`SiteTable::new`]; [`SqlName`] checks them again before quoting them (an
/// error here is never expected).
fn select_sql(
    table: &SiteTable,
    as_text: &[bool],
    narrow: Option<Kind>,
) -> Result<String, pbx_core::Error> {
    let mut range = String::new();
    let cols = table
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = SqlName::column(&c.name)?.quoted('"', '"');
            if let Some(kind) = narrow
                && c.field == SiteField::Cdr(Field::TimeStart)
            {
                let ty = if kind == Kind::TimeTz {
                    "timestamptz"
                } else {
                    "timestamp"
                };
                range =
                    format!(" AND (({name} >= $3::{ty} AND {name} < $4::{ty}) OR {name} IS NULL)");
            }
            Ok(if as_text.get(i).copied().unwrap_or(false) {
                format!("{name}::text")
            } else {
                name
            })
        })
        .collect::<Result<Vec<String>, pbx_core::Error>>()?;
    let id = SqlName::column(table.id_column())?.quoted('"', '"');
    Ok(format!(
        "SELECT {} FROM {} WHERE {id} > $1::bigint{range} ORDER BY {id} LIMIT $2::bigint",
        cols.join(", "),
        SqlName::table(table.table())?.quoted('"', '"'),
    ))
}

/// Reads one row's values into `values`, in column order.
fn read_row<'r>(row: &'r Row, kinds: &[Kind], values: &mut [SiteValue<'r>]) {
    for ((i, kind), slot) in kinds.iter().enumerate().zip(values.iter_mut()) {
        let v = match kind {
            Kind::Int2 => row.try_get::<_, Option<i16>>(i).map(|v| v.map(i64::from)),
            Kind::Int4 => row.try_get::<_, Option<i32>>(i).map(|v| v.map(i64::from)),
            Kind::Int8 => row.try_get::<_, Option<i64>>(i),
            _ => Ok(None),
        };
        let value = match kind {
            Kind::Int2 | Kind::Int4 | Kind::Int8 => v.ok().flatten().map(SiteValue::Int),
            Kind::Text => row
                .try_get::<_, Option<&str>>(i)
                .ok()
                .flatten()
                .map(SiteValue::Text),
            Kind::TimeTz => row
                .try_get::<_, Option<DateTime<Utc>>>(i)
                .ok()
                .flatten()
                .map(SiteValue::Time),
            Kind::Time => row
                .try_get::<_, Option<NaiveDateTime>>(i)
                .ok()
                .flatten()
                .map(|t| SiteValue::Time(t.and_utc())),
        };
        // A value the driver cannot decode (out of range) reads as NULL: the mapping then
        // reports the column as NULL where one is required.
        *slot = value.unwrap_or(SiteValue::Null);
    }
}

#[async_trait]
impl CdrSource for SiteTableSource {
    type Error = Error;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let after = match after {
            None => i64::MIN,
            Some(cp) => cp.as_str().trim().parse::<i64>().map_err(|_| {
                Error::Checkpoint(CheckpointError::BadCheckpoint {
                    checkpoint: cp.to_string(),
                    expected: "a row id (an integer)",
                })
            })?,
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let result = self.fetch_rows(after, limit).await;
        if let Err(e) = &result {
            self.conn.reset_if_lost(e);
        }
        result
    }
}
