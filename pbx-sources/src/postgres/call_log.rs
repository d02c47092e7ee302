//! 3CX v16 – v20 Update 5 call log: `cl_calls` with their segments, each side joined through
//! `cl_participants` to `cl_party_info`.

use crate::{CheckpointError, DatabaseError};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::{TryStreamExt, pin_mut};
use pbx_core::cdr::{CallLegs, CdrLeg, LegParty};
use pbx_core::delivery::TimeRange;
use pbx_core::{CdrSource, Checkpoint, Location, RawRecord, SourceRecord};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::Connection;
use super::cdroutput::{Clock, beginning, parse_keyset};
use crate::Error;

/// 3CX v16 – v20 U5 call log (`source.kind: postgres_cl`): one record per ended `cl_calls`
/// row, its `cl_segments` turned into legs ([`RawRecord::Legs`], assembled by pbx-core like
/// `cdroutput` legs).
///
/// Each segment's source and destination are joined **through `cl_participants`** to
/// `cl_party_info` (`cl_segments.src_part_id → cl_participants.id`, then
/// `cl_participants.info_id → cl_party_info.id`): joining the segment's participant id straight
/// to `cl_party_info` swaps caller and callee, a bug seen in public tools. `dn_type` (community
/// derived) reads 0 extension, 1 external line, 2 ring group, 4 queue, 5 voicemail, 6 IVR. A
/// segment counts as answered when its destination participant's `answer_time` falls before
/// the segment's end.
///
/// Calls come in `(end_time, id)` order once `end_time` is set and at least the settle time
/// old; the checkpoint is that keyset (`<RFC 3339 time>|<id>`), never an `OFFSET`.
///
/// ```no_run
/// # async fn demo() -> Result<(), pbx_sources::Error> {
/// use pbx_core::CdrSource;
/// let mut source = pbx_sources::postgres::CallLogSource::new(
///     "postgres://phonesystem@pbx/database_single", std::time::Duration::from_secs(60))?;
/// let calls = source.fetch(None, 100).await?;
/// # Ok(()) }
/// ```
pub struct CallLogSource {
    conn: Connection,
    settle: Duration,
    schema: Option<String>,
    clock: Clock,
    range: Option<TimeRange>,
}

impl std::fmt::Debug for CallLogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallLogSource")
            .field("conn", &self.conn)
            .field("settle", &self.settle)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl CallLogSource {
    /// A source reading the `cl_*` tables at `url`; a call is emitted once its `end_time` is
    /// `settle` old. Nothing is sent yet.
    ///
    /// # Errors
    /// [`Error::ConnectionString`] for an unusable URL.
    pub fn new(url: &str, settle: Duration) -> Result<Self, Error> {
        Ok(Self::with_connection(Connection::new(url)?, settle))
    }

    /// A source on a connection.
    pub fn with_connection(conn: Connection, settle: Duration) -> Self {
        CallLogSource {
            conn,
            settle,
            schema: None,
            clock: Arc::new(Utc::now),
            range: None,
        }
    }

    /// Reads only the calls that started in `range` (`cl_calls.start_time`): a backfill's
    /// range, so that a one-day backfill reads one day's calls. Create an index on
    /// `cl_calls (start_time)` if the table has none, so the server finds them without a scan.
    pub fn with_range(mut self, range: Option<TimeRange>) -> Self {
        self.range = range;
        self
    }

    /// Reads the tables of `schema` instead of those on the search path.
    ///
    /// # Errors
    /// [`Error::Setting`] when `schema` is not a plain identifier.
    pub fn with_schema(mut self, schema: &str) -> Result<Self, Error> {
        let name = crate::sql::SqlName::column(schema).map_err(|e| Error::Setting {
            setting: "source.schema",
            source: e,
        })?;
        self.schema = Some(name.quoted('"', '"'));
        Ok(self)
    }

    /// Reads `now` from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn sql(&self) -> String {
        let s = self
            .schema
            .as_deref()
            .map(|s| format!("{s}."))
            .unwrap_or_default();
        let party = |p: &str, i: &str| {
            format!(
                "{p}.is_inbound, {p}.answer_time::timestamptz, {i}.dn_type::text, {i}.dn::text, \
                 {i}.caller_number::text, {i}.display_name::text, {i}.did_number::text"
            )
        };
        // $1, $2: the checkpoint keyset; $3: now − settle; $4: how many calls; $5, $6: a
        // backfill's range of start times (NULL: none).
        format!(
            "WITH calls AS ( \
               SELECT id, end_time::timestamptz AS ended FROM {s}cl_calls \
               WHERE end_time IS NOT NULL AND (end_time::timestamptz, id::bigint) > ($1, $2) \
                 AND end_time::timestamptz <= $3 \
                 AND ($5::timestamptz IS NULL OR start_time::timestamptz >= $5) \
                 AND ($6::timestamptz IS NULL OR start_time::timestamptz < $6) \
               ORDER BY end_time, id LIMIT $4) \
             SELECT calls.ended, calls.id::bigint, seg.id::bigint, \
                    seg.start_time::timestamptz, seg.end_time::timestamptz, {}, {} \
             FROM calls \
             LEFT JOIN {s}cl_segments seg ON seg.call_id = calls.id \
             LEFT JOIN {s}cl_participants sp ON sp.id = seg.src_part_id \
             LEFT JOIN {s}cl_party_info si ON si.id = sp.info_id \
             LEFT JOIN {s}cl_participants dp ON dp.id = seg.dst_part_id \
             LEFT JOIN {s}cl_party_info di ON di.id = dp.info_id \
             ORDER BY calls.ended, calls.id, seg.seq_order, seg.id",
            party("sp", "si"),
            party("dp", "di"),
        )
    }

    async fn fetch_calls(
        &mut self,
        after: (DateTime<Utc>, i64),
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let now = (self.clock)();
        let settle = chrono::TimeDelta::from_std(self.settle).unwrap_or(chrono::TimeDelta::MAX);
        let quiet_since = now.checked_sub_signed(settle).unwrap_or_else(beginning);
        let limit_param = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = self.sql();
        let client = self.conn.client().await?;
        let op = "select cl_* call log rows";
        let statement = client
            .prepare(&sql)
            .await
            .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
        let (from, to) = self
            .range
            .map_or((None, None), |r| (Some(r.from()), Some(r.to())));
        let params: [&(dyn ToSql + Sync); 6] =
            [&after.0, &after.1, &quiet_since, &limit_param, &from, &to];
        let rows = client
            .query_raw(&statement, params)
            .await
            .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
        pin_mut!(rows);
        let mut out: Vec<SourceRecord> = Vec::new();
        let mut current: Option<(DateTime<Utc>, i64, Vec<CdrLeg>)> = None;
        let finish = |call: Option<(DateTime<Utc>, i64, Vec<CdrLeg>)>,
                      out: &mut Vec<SourceRecord>| {
            let Some((ended, id, legs)) = call else {
                return;
            };
            let checkpoint = Checkpoint::new(format!(
                "{}|{id}",
                ended.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            ));
            let record = if legs.is_empty() {
                Err(pbx_core::Error::InvalidCall {
                    at: Location::Row(id.to_string()),
                    reason: "the cl_calls row has no cl_segments".into(),
                })
            } else {
                Ok(RawRecord::Legs(CallLegs {
                    main_call_history_id: id.to_string(),
                    legs,
                }))
            };
            out.push(SourceRecord { checkpoint, record });
        };
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?
        {
            let ended: DateTime<Utc> = row
                .try_get(0)
                .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
            let id: i64 = row
                .try_get(1)
                .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
            if current.as_ref().is_none_or(|(_, cur, _)| *cur != id) {
                finish(current.take(), &mut out);
                current = Some((ended, id, Vec::new()));
            }
            if let (Some((_, _, legs)), Some(leg)) = (current.as_mut(), segment_leg(&row, id)) {
                legs.push(leg);
            }
        }
        finish(current.take(), &mut out);
        Ok(out)
    }
}

/// The `cdroutput` entity type a `cl_party_info.dn_type` stands for.
fn entity_type(dn_type: &str) -> String {
    match dn_type.trim() {
        "0" => "extension",
        "1" => "external_line",
        "2" => "ring_group",
        "4" => "queue",
        "5" => "voicemail",
        "6" => "ivr",
        other => return format!("dn_type_{other}"),
    }
    .to_owned()
}

/// One segment row as a leg; `None` for the row of a call without segments.
fn segment_leg(row: &Row, call: i64) -> Option<CdrLeg> {
    let segment: i64 = row.try_get::<_, Option<i64>>(2).ok().flatten()?;
    let text = |i: usize| row.try_get::<_, Option<String>>(i).ok().flatten();
    let time = |i: usize| row.try_get::<_, Option<DateTime<Utc>>>(i).ok().flatten();
    // Columns from `first`: is_inbound, answer_time, dn_type, dn, caller_number, display_name, did.
    let party = |first: usize| {
        let dn_type = text(first + 2);
        LegParty {
            entity_type: dn_type.as_deref().map(entity_type),
            dn_type,
            dn_number: text(first + 3),
            dn_name: text(first + 5),
            participant_name: text(first + 5),
            participant_phone_number: text(first + 4),
            participant_trunk_did: text(first + 6),
            participant_is_incoming: row.try_get::<_, Option<bool>>(first).ok().flatten(),
        }
    };
    let (started_at, ended_at) = (time(3), time(4));
    let answered_at = time(13).and_then(|answer| match ended_at {
        Some(end) if answer < end => Some(started_at.map_or(answer, |s| s.max(answer))),
        None => Some(started_at.map_or(answer, |s| s.max(answer))),
        _ => None,
    });
    Some(CdrLeg {
        cdr_id: segment.to_string(),
        call_history_id: call.to_string(),
        main_call_history_id: call.to_string(),
        source: party(5),
        destination: party(12),
        started_at,
        answered_at,
        ended_at,
        ..CdrLeg::default()
    })
}

#[async_trait]
impl CdrSource for CallLogSource {
    type Error = Error;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let expected = "a call log keyset (<RFC 3339 time>|<cl_calls.id>)";
        let (time, id) = parse_keyset(after, expected)?;
        let id = if after.is_none() {
            i64::MIN
        } else {
            id.parse::<i64>().map_err(|_| {
                Error::Checkpoint(CheckpointError::BadCheckpoint {
                    checkpoint: after.map(ToString::to_string).unwrap_or_default(),
                    expected,
                })
            })?
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let result = self.fetch_calls((time, id), limit).await;
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
    fn dn_types_become_entity_types() {
        assert_eq!(entity_type("0"), "extension");
        assert_eq!(entity_type("1"), "external_line");
        assert_eq!(entity_type("4"), "queue");
        assert_eq!(entity_type("13"), "dn_type_13");
    }

    #[test]
    fn the_query_joins_through_participants_and_pages_by_keyset() {
        let s = CallLogSource::new("postgres://u@h/db", Duration::from_secs(60))
            .unwrap()
            .with_schema("pbx")
            .unwrap();
        let sql = s.sql();
        assert!(sql.contains("sp.id = seg.src_part_id"));
        assert!(sql.contains("si.id = sp.info_id"));
        assert!(sql.contains("dp.id = seg.dst_part_id"));
        assert!(sql.contains("di.id = dp.info_id"));
        assert!(!sql.to_ascii_uppercase().contains("OFFSET"));
        assert!(sql.contains(r#""pbx".cl_calls"#));
    }
}
