//! 3CX v20 Update 6+ `cdroutput`: legs grouped into calls by `main_call_history_id`.

use crate::{CheckpointError, DatabaseError};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::{TryStreamExt, pin_mut};
use pbx_core::cdr::{CdrLeg, LegParty, group_legs};
use pbx_core::delivery::TimeRange;

use crate::sql::SqlName;
use pbx_core::{CdrSource, Checkpoint, Location, RawRecord, SourceRecord};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::Connection;
use crate::Error;

/// The clock a database source reads `now` from (tests pass a fixed one).
mod lookup;

pub(crate) type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// 3CX v20 U6+ `cdroutput` (`source.kind: postgres_cdroutput`): one record per call (all legs
/// sharing a `main_call_history_id`, as [`RawRecord::Legs`]), emitted only once every leg has ended
/// and no leg started or ended within the settle time ([`pbx_core::cdr::CallLegs::is_complete`]) —
/// a call whose legs may still grow is left for a later fetch.
///
/// Calls come in the order of their last leg's end, `(max(cdr_ended_at),
/// main_call_history_id)`; the checkpoint is that keyset (`<RFC 3339 time>|<id>`), and the
/// next fetch continues strictly after it — never with `OFFSET`. Legs inserted in any order
/// are handled: grouping and completeness look at all of a call's legs, whenever they were
/// written. A leg inserted later than the settle time after its call's last activity cannot
/// be reflected (its call was already emitted): choose the settle time accordingly
/// (default 60 s). `cdroutput` should have an index on `cdr_ended_at` and one on
/// `main_call_history_id` (3CX's own indexes cover both on current versions).
///
/// ```no_run
/// # async fn demo() -> Result<(), pbx_sources::Error> {
/// use pbx_core::CdrSource;
/// let mut source = pbx_sources::postgres::CdrOutputSource::new(
///     "postgres://phonesystem@pbx/database_single", std::time::Duration::from_secs(60))?;
/// let calls = source.fetch(None, 100).await?;
/// # Ok(()) }
/// ```
pub struct CdrOutputSource {
    conn: Connection,
    settle: Duration,
    table: SqlName,
    clock: Clock,
    range: Option<TimeRange>,
}

/// How long after a backfill's range a call that started in it is looked for (by its end).
const LONGEST_CALL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

impl std::fmt::Debug for CdrOutputSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CdrOutputSource")
            .field("conn", &self.conn)
            .field("settle", &self.settle)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// The `source_`/`destination_` columns of one side, as text (and the boolean).
const PARTY: [&str; 8] = [
    "entity_type",
    "dn_type",
    "dn_number",
    "dn_name",
    "participant_name",
    "participant_phone_number",
    "participant_trunk_did",
    "participant_is_incoming",
];

impl CdrOutputSource {
    /// A source reading `cdroutput` at `url`, with `settle` as the quiet time a call needs
    /// before it is emitted. Nothing is sent yet.
    ///
    /// # Errors
    /// [`Error::ConnectionString`] for an unusable URL.
    pub fn new(url: &str, settle: Duration) -> Result<Self, Error> {
        Ok(Self::with_connection(Connection::new(url)?, settle))
    }

    /// A source on a connection.
    pub fn with_connection(conn: Connection, settle: Duration) -> Self {
        CdrOutputSource {
            conn,
            settle,
            table: SqlName::table("cdroutput").unwrap_or_else(|_| unreachable!()),
            clock: Arc::new(Utc::now),
            range: None,
        }
    }

    /// Reads `schema.cdroutput` instead of `cdroutput` from the search path.
    ///
    /// # Errors
    /// [`Error::Setting`] when `schema` is not a plain identifier.
    pub fn with_schema(mut self, schema: &str) -> Result<Self, Error> {
        self.table =
            SqlName::table(&format!("{schema}.cdroutput")).map_err(|e| Error::Setting {
                setting: "source.schema",
                source: e,
            })?;
        Ok(self)
    }

    /// Reads only the calls that started in `range` (the first leg's `cdr_started_at`): a
    /// backfill's range. The legs are searched by end time from the range's start to its end
    /// plus 24 hours (a call longer than that is not found by a backfill), so a one-day
    /// backfill groups about two days of legs, not the whole table (an index on
    /// `cdr_ended_at` lets the server find them without a scan).
    pub fn with_range(mut self, range: Option<TimeRange>) -> Self {
        self.range = range;
        self
    }

    /// Reads `now` from `clock` instead of the system clock (for tests and replays).
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn sql(&self) -> String {
        let t = self.table.quoted('"', '"');
        let party = |side: &str| {
            PARTY
                .iter()
                .map(|c| {
                    if *c == "participant_is_incoming" {
                        format!("c.{side}_{c}")
                    } else {
                        format!("c.{side}_{c}::text")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        // $1, $2: the checkpoint keyset; $3: now − settle; $4: how many calls; $5: the end of
        // the window of end times searched; $6, $7: a backfill's range of start times (NULL:
        // none).
        format!(
            "WITH calls AS ( \
               SELECT main_call_history_id AS mid, main_call_history_id::text AS call, \
                      max(cdr_ended_at) AS ended \
               FROM {t} \
               WHERE main_call_history_id IN (SELECT main_call_history_id FROM {t} \
                                              WHERE cdr_ended_at >= $1 AND cdr_ended_at <= $5) \
               GROUP BY main_call_history_id \
               HAVING count(*) = count(cdr_ended_at) \
                  AND (max(cdr_ended_at), main_call_history_id::text) > ($1, $2) \
                  AND max(greatest(cdr_started_at, cdr_ended_at)) <= $3 \
                  AND max(cdr_ended_at) <= $5 \
                  AND ($6::timestamptz IS NULL OR min(cdr_started_at) >= $6) \
                  AND ($7::timestamptz IS NULL OR min(cdr_started_at) < $7) \
               ORDER BY 3, 2 \
               LIMIT $4) \
             SELECT calls.ended, calls.call, c.cdr_id::text, c.call_history_id::text, {}, {}, \
                    c.creation_method::text, c.creation_forward_reason::text, \
                    c.termination_reason::text, c.termination_reason_details::text, \
                    c.cdr_started_at, c.cdr_answered_at, c.cdr_ended_at, \
                    c.base_cdr_id::text, c.originating_cdr_id::text, c.continued_in_cdr_id::text \
             FROM calls JOIN {t} c ON c.main_call_history_id = calls.mid \
             ORDER BY calls.ended, calls.call",
            party("source"),
            party("destination"),
        )
    }

    /// Calls after `after`, looked for in a window of end times that starts one hour wide and
    /// grows 16-fold while it yields fewer than `limit` calls: catching up on a long backlog
    /// then groups only the legs of the next stretch of time, not of the whole table, on
    /// every fetch.
    async fn fetch_calls(
        &mut self,
        after: (DateTime<Utc>, String),
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let now = (self.clock)();
        let settle = chrono::TimeDelta::from_std(self.settle).unwrap_or(chrono::TimeDelta::MAX);
        let mut quiet_since = now.checked_sub_signed(settle).unwrap_or_else(beginning);
        if let Some(r) = self.range {
            // A call that started in the range ended after its start and, unless it lasted
            // longer than `LONGEST_CALL`, before the range's end plus that.
            quiet_since =
                quiet_since.min(r.to().checked_add_signed(LONGEST_CALL).unwrap_or(r.to()));
        }
        let after = match self.range {
            Some(r) if after.0 < r.from() => (r.from(), String::new()),
            _ => after,
        };
        let base = if after.0 <= beginning() {
            // No checkpoint yet: start at the oldest leg (an index lookup).
            let client = self.conn.client().await?;
            let row = client
                .query_one(
                    &format!(
                        "SELECT min(cdr_ended_at) FROM {}",
                        self.table.quoted('"', '"')
                    ),
                    &[],
                )
                .await
                .map_err(|source| {
                    Error::Database(DatabaseError::Postgres {
                        op: "find the oldest cdroutput leg",
                        source,
                    })
                })?;
            match row.get::<_, Option<DateTime<Utc>>>(0) {
                Some(t) => t,
                None => return Ok(Vec::new()),
            }
        } else {
            after.0
        };
        let mut window = chrono::TimeDelta::hours(1);
        loop {
            let until = base
                .checked_add_signed(window)
                .map_or(quiet_since, |t| t.min(quiet_since));
            let out = self
                .fetch_window(&after, quiet_since, until, now, limit)
                .await?;
            if out.len() >= limit || until >= quiet_since {
                return Ok(out);
            }
            window = window.checked_mul(16).unwrap_or(chrono::TimeDelta::MAX);
        }
    }

    async fn fetch_window(
        &mut self,
        after: &(DateTime<Utc>, String),
        quiet_since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let limit_param = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = self.sql();
        let client = self.conn.client().await?;
        let op = "select cdroutput legs";
        let (from, to) = self
            .range
            .map_or((None, None), |r| (Some(r.from()), Some(r.to())));
        let params: [&(dyn ToSql + Sync); 7] = [
            &after.0,
            &after.1,
            &quiet_since,
            &limit_param,
            &until,
            &from,
            &to,
        ];
        let statement = client
            .prepare(&sql)
            .await
            .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
        let rows = client
            .query_raw(&statement, params)
            .await
            .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
        pin_mut!(rows);

        let mut out = Vec::new();
        let mut current: Option<Collecting> = None;
        let finish = |call: Option<Collecting>, out: &mut Vec<SourceRecord>| -> bool {
            let Some((ended, id, legs)) = call else {
                return true;
            };
            let checkpoint = Checkpoint::new(format!(
                "{}|{id}",
                ended.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            ));
            let record = match legs {
                Err(e) => Err(e),
                Ok(legs) => {
                    let Some(call) = group_legs(legs).into_iter().next() else {
                        return true;
                    };
                    // The query decided with the same rule; pbx-core has the last word. A
                    // call it does not find complete ends the batch (order must be kept).
                    if !call.is_complete(now, self.settle) {
                        return false;
                    }
                    Ok(RawRecord::Legs(call))
                }
            };
            out.push(SourceRecord { checkpoint, record });
            true
        };
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?
        {
            let ended: DateTime<Utc> = row
                .try_get(0)
                .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
            let id: String = row
                .try_get(1)
                .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
            if current.as_ref().is_none_or(|(_, cur, _)| *cur != id) {
                if !finish(current.take(), &mut out) {
                    return Ok(out);
                }
                current = Some((ended, id.clone(), Ok(Vec::new())));
            }
            if let Some((_, _, Ok(legs))) = &mut current {
                match read_leg(&row, &id) {
                    Ok(leg) => legs.push(leg),
                    Err(e) => {
                        if let Some(c) = current.as_mut() {
                            c.2 = Err(e);
                        }
                    }
                }
            }
        }
        finish(current.take(), &mut out);
        Ok(out)
    }
}

/// The call being collected: its keyset and legs (or the first unreadable row's error).
type Collecting = (DateTime<Utc>, String, Result<Vec<CdrLeg>, pbx_core::Error>);

/// One row's leg columns (after the keyset columns 0 and 1).
fn read_leg(row: &Row, call: &str) -> Result<CdrLeg, pbx_core::Error> {
    let bad = |column: &str, expected: &'static str| pbx_core::Error::InvalidColumn {
        at: Location::Row(call.to_owned()),
        column: column.into(),
        field: "cdroutput",
        value: None,
        expected,
    };
    let text = |i: usize| row.try_get::<_, Option<String>>(i).ok().flatten();
    let time = |i: usize| row.try_get::<_, Option<DateTime<Utc>>>(i).ok().flatten();
    let party = |first: usize| LegParty {
        entity_type: text(first),
        dn_type: text(first + 1),
        dn_number: text(first + 2),
        dn_name: text(first + 3),
        participant_name: text(first + 4),
        participant_phone_number: text(first + 5),
        participant_trunk_did: text(first + 6),
        participant_is_incoming: row.try_get::<_, Option<bool>>(first + 7).ok().flatten(),
    };
    let cdr_id = text(2).ok_or_else(|| bad("cdr_id", "the leg's cdr_id"))?;
    Ok(CdrLeg {
        cdr_id,
        call_history_id: text(3).unwrap_or_default(),
        main_call_history_id: call.to_owned(),
        source: party(4),
        destination: party(12),
        creation_method: text(20),
        creation_forward_reason: text(21),
        termination_reason: text(22),
        termination_reason_details: text(23),
        started_at: time(24),
        answered_at: time(25),
        ended_at: time(26),
        base_cdr_id: text(27),
        originating_cdr_id: text(28),
        continued_in_cdr_id: text(29),
    })
}

/// The earliest time a keyset starts from (PostgreSQL's range is narrower than chrono's).
pub(crate) fn beginning() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(-2_208_988_800, 0).unwrap_or(DateTime::<Utc>::UNIX_EPOCH) // 1900-01-01
}

/// Reads a `<RFC 3339 time>|<id>` keyset checkpoint.
pub(crate) fn parse_keyset(
    cp: Option<&Checkpoint>,
    expected: &'static str,
) -> Result<(DateTime<Utc>, String), Error> {
    let Some(cp) = cp else {
        return Ok((beginning(), String::new()));
    };
    let bad = || {
        Error::Checkpoint(CheckpointError::BadCheckpoint {
            checkpoint: cp.to_string(),
            expected,
        })
    };
    let (time, id) = cp.as_str().split_once('|').ok_or_else(bad)?;
    let time = DateTime::parse_from_rfc3339(time).map_err(|_| bad())?;
    Ok((time.with_timezone(&Utc), id.to_owned()))
}

#[async_trait]
impl CdrSource for CdrOutputSource {
    type Error = Error;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let after = parse_keyset(
            after,
            "a cdroutput keyset (<RFC 3339 time>|<main_call_history_id>)",
        )?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let result = self.fetch_calls(after, limit).await;
        if let Err(e) = &result {
            self.conn.reset_if_lost(e);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_checkpoints_round_trip() {
        let cp =
            Checkpoint::new("2026-11-02T18:00:05.123456Z|00000000-0000-0000-0000-000000000001");
        let (t, id) = parse_keyset(Some(&cp), "x").unwrap();
        assert_eq!(t.timestamp_subsec_micros(), 123_456);
        assert_eq!(id, "00000000-0000-0000-0000-000000000001");
        assert!(parse_keyset(Some(&Checkpoint::new("42")), "x").is_err());
        assert!(parse_keyset(Some(&Checkpoint::new("yesterday|a")), "x").is_err());
        assert_eq!(parse_keyset(None, "x").unwrap().1, "");
    }

    #[test]
    fn the_query_is_keyset_paged() {
        let s = CdrOutputSource::new("postgres://u@h/db", Duration::from_secs(60))
            .unwrap()
            .with_schema("pbx")
            .unwrap();
        let sql = s.sql();
        assert!(sql.contains(r#"FROM "pbx"."cdroutput""#));
        assert!(!sql.to_ascii_uppercase().contains("OFFSET"));
        assert!(sql.contains("> ($1, $2)"));
    }
}
