//! One call of `cdroutput` by its id, for `explain`: a query on the id instead of a scan.

use crate::DatabaseError;
use futures_util::{TryStreamExt, pin_mut};
use pbx_core::cdr::group_legs;
use pbx_core::{Checkpoint, RawRecord, SourceRecord};

use super::{CdrOutputSource, PARTY, parse_keyset, read_leg};
use crate::Error;

/// Whether `id` is written as a UUID (`cdroutput`'s ids): only those are looked up.
fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

impl CdrOutputSource {
    /// The call `id` names — its `main_call_history_id`, or a leg's `cdr_id` or
    /// `call_history_id` — with all its legs and the checkpoint the source gives it, read by
    /// one query on the id (`explain`). `Ok(None)` when no leg has that id, when the id is
    /// not a UUID (the caller scans instead), or while a leg of the call has not ended (the
    /// source does not hand it over yet).
    ///
    /// # Errors
    /// [`DatabaseError::Postgres`] when the query fails.
    pub async fn fetch_call(&mut self, id: &str) -> Result<Option<SourceRecord>, Error> {
        if !is_uuid(id) {
            return Ok(None);
        }
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
        // The columns in `read_leg`'s order, after the keyset (end of the call, its id).
        let sql = format!(
            "WITH m AS (SELECT main_call_history_id AS mid FROM {t} \
                        WHERE main_call_history_id = $1::text::uuid OR cdr_id = $1::text::uuid \
                           OR call_history_id = $1::text::uuid LIMIT 1), \
                  e AS (SELECT CASE WHEN count(*) = count(cdr_ended_at) THEN max(cdr_ended_at) END AS ended \
                        FROM {t} WHERE main_call_history_id = (SELECT mid FROM m)) \
             SELECT e.ended, m.mid::text, c.cdr_id::text, c.call_history_id::text, {}, {}, \
                    c.creation_method::text, c.creation_forward_reason::text, \
                    c.termination_reason::text, c.termination_reason_details::text, \
                    c.cdr_started_at, c.cdr_answered_at, c.cdr_ended_at, \
                    c.base_cdr_id::text, c.originating_cdr_id::text, c.continued_in_cdr_id::text \
             FROM m CROSS JOIN e JOIN {t} c ON c.main_call_history_id = m.mid \
             ORDER BY c.cdr_started_at, c.cdr_id",
            party("source"),
            party("destination"),
        );
        let op = "look up a cdroutput call by id";
        let client = self.conn.client().await?;
        let rows = client
            .query_raw(&sql, [id])
            .await
            .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
        pin_mut!(rows);
        let mut legs = Vec::new();
        let mut keyset = None;
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?
        {
            let ended: Option<chrono::DateTime<chrono::Utc>> = row
                .try_get(0)
                .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
            let call: String = row
                .try_get(1)
                .map_err(|source| Error::Database(DatabaseError::Postgres { op, source }))?;
            let Some(ended) = ended else {
                return Ok(None);
            };
            match read_leg(&row, &call) {
                Ok(leg) => legs.push(leg),
                Err(e) => {
                    return Ok(Some(SourceRecord {
                        checkpoint: keyset_checkpoint(ended, &call),
                        record: Err(e),
                    }));
                }
            }
            keyset = Some((ended, call));
        }
        let Some((ended, call)) = keyset else {
            return Ok(None);
        };
        Ok(group_legs(legs)
            .into_iter()
            .next()
            .map(|legs| SourceRecord {
                checkpoint: keyset_checkpoint(ended, &call),
                record: Ok(RawRecord::Legs(legs)),
            }))
    }

    /// Whether the call at `record` comes at or before `stored` in the source's order (the
    /// keyset: end of the call, then its id); `None` when either is not this source's
    /// checkpoint.
    pub fn is_at_or_before(record: &Checkpoint, stored: &Checkpoint) -> Option<bool> {
        const EXPECTED: &str = "a cdroutput checkpoint (<RFC 3339 time>|<id>)";
        let a = parse_keyset(Some(record), EXPECTED).ok()?;
        let b = parse_keyset(Some(stored), EXPECTED).ok()?;
        Some(a <= b)
    }
}

/// The checkpoint the source gives a call: `<end, RFC 3339 with microseconds>|<id>`.
fn keyset_checkpoint(ended: chrono::DateTime<chrono::Utc>, call: &str) -> Checkpoint {
    Checkpoint::new(format!(
        "{}|{call}",
        ended.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuids_are_looked_up() {
        assert!(is_uuid("00000000-019a-4a0e-1a00-000000000100"));
        assert!(!is_uuid("3cx-40001-000001A19D361A38_5204"));
        assert!(!is_uuid("00000000-019a-4a0e-1a00-00000000010g"));
    }

    #[test]
    fn checkpoints_compare_by_end_then_id() {
        let cp = |s: &str| Checkpoint::new(s);
        let a = cp("2026-11-02T18:03:30.000000Z|00000000-019a-4a0e-1a00-000000000100");
        let b = cp("2026-11-02T18:05:00.000000Z|00000000-019a-4a0e-1a00-000000000050");
        assert_eq!(CdrOutputSource::is_at_or_before(&a, &b), Some(true));
        assert_eq!(CdrOutputSource::is_at_or_before(&b, &a), Some(false));
        assert_eq!(CdrOutputSource::is_at_or_before(&a, &a), Some(true));
        assert_eq!(CdrOutputSource::is_at_or_before(&a, &cp("7:12:3")), None);
    }
}
