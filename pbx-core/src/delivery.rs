//! The pure part of the delivery engine: what to do with each record a source yields
//! ([`Pipeline`]), how far the checkpoint may move ([`AckWindow`]), every timing and retry
//! decision ([`Scheduler`]), and the counters. The adapter loop (`pbx-sources::delivery`) only
//! fetches, delivers and saves; every decision is made here, without a runtime or a clock.
//!
//! ```
//! use pbx_core::{Checkpoint, RawRecord, SourceRecord};
//! use pbx_core::delivery::{Disposition, Pipeline};
//! let pipeline = Pipeline::default();
//! let rec = SourceRecord { checkpoint: Checkpoint::new("1"),
//!     record: Ok(RawRecord::Line { number: 1, text: b"not a cdr".to_vec() }) };
//! let prepared = pipeline.prepare(&rec);
//! assert!(matches!(prepared.disposition, Disposition::Quarantine { .. }));
//! ```

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::call::{CallMapper, CallRequest, Mapped, SkipReason, pbx_call_id};
use crate::cdr::{CdrParser, assemble_call};
use crate::error::{Error, Location};
use crate::traits::{Checkpoint, RawRecord, SourceRecord};

mod counters;
mod outcome;
mod scheduler;
mod window;

pub use crate::traits::FailureKind;

pub use counters::Counters;
pub use outcome::Outcome;

pub use scheduler::{
    Action, Incoming, RunMode, Scheduler, SchedulerConfig, SplitMix64, Stopped, Summary,
    exponential, later,
};
pub use window::{AckWindow, ApiHealth, CallTries, RetryRules, Verdict};

/// What to do with one record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disposition {
    /// Send this call.
    Deliver(CallRequest),
    /// Nothing to send, for this reason (final).
    Skip(SkipReason),
    /// The record cannot be used: keep it aside with the reason (final).
    Quarantine {
        /// Why (the error's message, naming line/row, field and value).
        reason: String,
    },
}

/// A record with its decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The checkpoint reached once this record's outcome is final.
    pub checkpoint: Checkpoint,
    /// Where it came from (line or row), for logs and the quarantine.
    pub location: Location,
    /// The record as text (a CDR line lossily decoded, or a description of database legs),
    /// for the quarantine.
    pub raw: String,
    /// What to do.
    pub disposition: Disposition,
    /// The call's `pbxCallId` when the call is skipped (for the debug log that says why a
    /// call was not logged); `None` otherwise or when the record has no id.
    pub skipped_call_id: Option<String>,
    /// The words in the record's type fields that 3CX does not write (treated as absent;
    /// [`crate::unknown_types::unrecognised_type_words`]), for the adapter to count and warn
    /// about; empty for nearly every record.
    pub unknown_type_words: Vec<String>,
}

/// Parses and maps records: the CDR parser (template) and the call mapper (direction policy,
/// timezone, extensions, numbers).
#[derive(Clone, Debug, Default)]
pub struct Pipeline {
    /// The CDR line parser.
    pub parser: CdrParser,
    /// CDR → call request.
    pub mapper: CallMapper,
}

impl Pipeline {
    /// Decides what to do with one record. Never fails: a bad record is a quarantine decision.
    pub fn prepare(&self, record: &SourceRecord) -> Prepared {
        self.prepare_within(record, None)
    }

    /// As [`Pipeline::prepare`], but a call outside `range` (when given) is skipped with
    /// [`SkipReason::OutsideRange`] before it is mapped. A record that cannot be read is
    /// quarantined whatever its time (its time is unknown); a call without start and end
    /// time is kept (see [`TimeRange::admits`]).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use pbx_core::{Checkpoint, RawRecord, SourceRecord};
    /// use pbx_core::call::SkipReason;
    /// use pbx_core::delivery::{Disposition, Pipeline, TimeRange};
    /// let line = "Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,\
    ///     2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,\
    ///     Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,";
    /// let rec = SourceRecord { checkpoint: Checkpoint::new("1"),
    ///     record: Ok(RawRecord::Line { number: 1, text: line.as_bytes().to_vec() }) };
    /// let december = TimeRange::new(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
    ///     Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()).unwrap();
    /// let p = Pipeline::default().prepare_within(&rec, Some(&december));
    /// assert_eq!(p.disposition, Disposition::Skip(SkipReason::OutsideRange));
    /// ```
    pub fn prepare_within(&self, record: &SourceRecord, range: Option<&TimeRange>) -> Prepared {
        // The id of a skipped call, for the log line that says why it was not logged.
        let skipped_call_id = std::cell::RefCell::new(None);
        // Type words 3CX does not write, for the operator's count.
        let unknown_type_words = std::cell::RefCell::new(Vec::new());
        let note = |cdr: &crate::cdr::Cdr, mapped: &Result<Mapped, Error>| {
            let words = crate::unknown_types::unrecognised_type_words(cdr);
            if !words.is_empty() {
                *unknown_type_words.borrow_mut() = words.into_iter().map(str::to_owned).collect();
            }
            if let Ok(Mapped::Skipped(_)) = mapped {
                *skipped_call_id.borrow_mut() =
                    pbx_call_id(cdr, &self.mapper.options().call_id_prefix);
            }
        };
        let map = |cdr: &crate::cdr::Cdr| {
            let mapped = match range {
                Some(r) if !r.admits(cdr) => Ok(Mapped::Skipped(SkipReason::OutsideRange)),
                _ => self.mapper.map(cdr),
            };
            note(cdr, &mapped);
            mapped
        };
        let (location, raw, mapped) = match &record.record {
            Err(e) => (
                e.location().cloned().unwrap_or(Location::Unknown),
                String::new(),
                Err(e.clone()),
            ),
            Ok(RawRecord::Line { number, text }) => {
                let at = Location::Line(*number);
                let mapped = self
                    .parser
                    .parse_bytes(*number, text)
                    .and_then(|cdr| map(&cdr))
                    .map_err(|e| e.located(at.clone()));
                let raw = String::from_utf8_lossy(text).trim_end().to_owned();
                (at, raw, mapped)
            }
            Ok(RawRecord::Legs(legs)) => {
                let at = Location::Row(legs.main_call_history_id.clone());
                // Owner and other party by the leg rules (`CallMapper::map_legs`).
                let mapped = assemble_call(legs)
                    .and_then(|cdr| {
                        let mapped = match range {
                            Some(r) if !r.admits(&cdr) => {
                                Ok(Mapped::Skipped(SkipReason::OutsideRange))
                            }
                            _ => self.mapper.map_assembled_legs(legs, &cdr),
                        };
                        note(&cdr, &mapped);
                        mapped
                    })
                    .map_err(|e| e.located(at.clone()));
                let raw = format!(
                    "cdroutput main_call_history_id={} ({} legs)",
                    legs.main_call_history_id,
                    legs.legs.len()
                );
                (at, raw, mapped)
            }
            Ok(RawRecord::Cdr(cdr)) => (Location::Unknown, format!("{cdr:?}"), map(cdr)),
            Ok(RawRecord::Row { id, cdr }) => {
                let at = Location::Row(id.to_string());
                let mapped = map(cdr).map_err(|e| e.located(at.clone()));
                // The whole record only when it cannot be used (formatting it for every row
                // would cost more than mapping it); the row id finds it in the table.
                let raw = if mapped.is_err() {
                    format!("site table row {id}: {cdr:?}")
                } else {
                    format!("site table row {id}")
                };
                (at, raw, mapped)
            }
        };
        let disposition = match mapped {
            Ok(Mapped::Call(call)) => Disposition::Deliver(call),
            Ok(Mapped::Skipped(reason)) => Disposition::Skip(reason),
            Err(e) => Disposition::Quarantine {
                reason: e.to_string(),
            },
        };
        Prepared {
            checkpoint: record.checkpoint.clone(),
            location,
            raw,
            disposition,
            skipped_call_id: skipped_call_id.into_inner(),
            unknown_type_words: unknown_type_words.into_inner(),
        }
    }
}

/// A time range to backfill: `from` (inclusive) to `to` (exclusive), in UTC.
///
/// The engine skips calls outside it ([`Pipeline::prepare_within`], reason
/// [`SkipReason::OutsideRange`]). A source that can narrow its own query (the PostgreSQL
/// sources: `WHERE time_start >= $from AND time_start < $to`) may take the range as well, so
/// it reads less; the engine's filter stays, so a source that cannot (the CDR text sources,
/// `mssql_table`) is still correct.
///
/// ```
/// use chrono::NaiveDate;
/// use pbx_core::delivery::TimeRange;
/// let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
/// // 2 and 3 November 2026 in Anchorage (AKST, UTC−9).
/// let r = TimeRange::from_dates(day(2), day(3), chrono_tz::America::Anchorage).unwrap();
/// assert_eq!(r.from().to_rfc3339(), "2026-11-02T09:00:00+00:00");
/// assert_eq!(r.to().to_rfc3339(), "2026-11-04T09:00:00+00:00");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeRange {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl TimeRange {
    /// `[from, to)`; `None` when `to` is not after `from`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// let t = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
    /// assert!(pbx_core::delivery::TimeRange::new(t, t).is_none());
    /// ```
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Self> {
        (from < to).then_some(TimeRange { from, to })
    }

    /// The days `first` through `last` (both included) in `tz`: from the start of `first` to
    /// the start of the day after `last`. A midnight that a DST change skips starts at the
    /// first instant after the gap. `None` when `last` is before `first`.
    pub fn from_dates(first: NaiveDate, last: NaiveDate, tz: Tz) -> Option<Self> {
        let from = start_of_day(first, tz)?;
        let to = start_of_day(last.succ_opt()?, tz)?;
        TimeRange::new(from, to)
    }

    /// A range from its two bounds as a person writes them: each a day (`YYYY-MM-DD`, in
    /// `tz`; `from`'s day from its start, `to`'s day through its end, so `2026-11-02` to
    /// `2026-11-02` is that one day) or an RFC 3339 instant (`to` excluded). This is what
    /// `pbx-sideloader backfill --from … --to …` and the bindings' `Sideloader.backfill`
    /// accept.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] at `from` or `to` for a bound that is neither, and at `to`
    /// when the range is empty (its reason gives both bounds as instants).
    ///
    /// ```
    /// use pbx_core::delivery::TimeRange;
    /// let tz = chrono_tz::America::Anchorage;
    /// let r = TimeRange::parse("2026-11-02", "2026-11-02", tz).unwrap();
    /// assert_eq!(r.from().to_rfc3339(), "2026-11-02T09:00:00+00:00");
    /// assert_eq!(r.to().to_rfc3339(), "2026-11-03T09:00:00+00:00");
    /// let r = TimeRange::parse("2026-11-02T08:00:00-09:00", "2026-11-02T20:00:00Z", tz).unwrap();
    /// assert_eq!(r.from().to_rfc3339(), "2026-11-02T17:00:00+00:00");
    /// let e = TimeRange::parse("2026-11-02", "yesterday", tz).unwrap_err();
    /// assert_eq!(e.kind().code(), "invalid_setting");
    /// assert!(e.to_string().starts_with("invalid setting `to` = \"yesterday\": is not a date"));
    /// ```
    pub fn parse(from: &str, to: &str, tz: Tz) -> Result<Self, Error> {
        let invalid = |setting: &str, value: &str, reason: String| Error::InvalidSetting {
            setting: setting.to_owned(),
            value: value.to_owned(),
            reason,
        };
        // The first and the last instant-or-day of the range, each as written.
        let bound = |setting: &str, text: &str| -> Result<Bound, Error> {
            let t = text.trim();
            if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
                return Ok(Bound::Day(d));
            }
            DateTime::parse_from_rfc3339(t)
                .map(|at| Bound::At(at.with_timezone(&Utc)))
                .map_err(|_| {
                    invalid(
                        setting,
                        text,
                        "is not a date (YYYY-MM-DD) or an instant (RFC 3339, e.g. 2026-11-02T08:00:00-09:00)"
                            .into(),
                    )
                })
        };
        let day = |setting: &str, text: &str, d: NaiveDate| {
            TimeRange::from_dates(d, d, tz)
                .ok_or_else(|| invalid(setting, text, format!("{d} is not a day in {tz}")))
        };
        let start = match bound("from", from)? {
            Bound::Day(d) => day("from", from, d)?.from,
            Bound::At(t) => t,
        };
        let end = match bound("to", to)? {
            Bound::Day(d) => day("to", to, d)?.to,
            Bound::At(t) => t,
        };
        TimeRange::new(start, end).ok_or_else(|| {
            invalid(
                "to",
                to,
                format!(
                    "ends the range at {}, not after its start {} (from {from:?})",
                    end.to_rfc3339(),
                    start.to_rfc3339()
                ),
            )
        })
    }

    /// The first instant in the range.
    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    /// The first instant after the range.
    pub fn to(&self) -> DateTime<Utc> {
        self.to
    }

    /// Whether `at` is in the range.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }

    /// Whether a CDR text line certainly holds no call of the range: its `time-start`, read
    /// without parsing the rest of the line ([`CdrParser::peek_time_start`]), is outside it.
    /// A line whose start cannot be read that way is not ruled out (the full parse decides).
    /// Lets a text source skip the lines of a backfill it need not parse.
    ///
    /// ```
    /// use pbx_core::cdr::CdrParser;
    /// use pbx_core::delivery::TimeRange;
    /// let day = TimeRange::parse("2026-11-02", "2026-11-02", chrono_tz::UTC).unwrap();
    /// let p = CdrParser::new("historyid,time-start".parse().unwrap());
    /// assert!(day.rules_out_line(&p, b"Call 1,2026/11/01 23:59:59"));
    /// assert!(!day.rules_out_line(&p, b"Call 1,2026/11/02 00:00:00"));
    /// assert!(!day.rules_out_line(&p, b"Call 1,yesterday"));
    /// ```
    pub fn rules_out_line(&self, parser: &CdrParser, line: &[u8]) -> bool {
        parser
            .peek_time_start(line)
            .is_some_and(|at| !self.contains(at))
    }

    /// Whether the call belongs to the range: its start time is in it — or, for a record
    /// without a start time, its end time. A record with neither is admitted (it cannot be
    /// placed, and leaving it out could lose a call; the API's `pbxCallId` makes a second
    /// delivery harmless).
    pub fn admits(&self, cdr: &crate::cdr::Cdr) -> bool {
        cdr.time_start
            .or(cdr.time_end)
            .is_none_or(|at| self.contains(at))
    }
}

/// One bound of [`TimeRange::parse`] as written: a whole day or an instant.
enum Bound {
    Day(NaiveDate),
    At(DateTime<Utc>),
}

/// The first instant of `day` in `tz` (after the gap when midnight is skipped).
fn start_of_day(day: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    use chrono::TimeZone;
    let midnight = day.and_hms_opt(0, 0, 0)?;
    // A DST gap is at most a few hours; walk forward in minutes to its end.
    (0..=24 * 60).find_map(|m| {
        tz.from_local_datetime(&(midnight + chrono::Duration::minutes(m)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// One quarantined record, as a JSON line in the quarantine file.
///
/// ```
/// let e = pbx_core::delivery::QuarantineEntry { at: chrono::DateTime::UNIX_EPOCH, checkpoint: "7".into(),
///     location: "line 7".into(), reason: "bad".into(), record: "Call 1,x".into() };
/// let line = serde_json::to_string(&e)?;
/// assert_eq!(serde_json::from_str::<pbx_core::delivery::QuarantineEntry>(&line)?, e);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    /// When it was quarantined.
    pub at: DateTime<Utc>,
    /// The source checkpoint of the record.
    pub checkpoint: String,
    /// Line or row.
    pub location: String,
    /// Why.
    pub reason: String,
    /// The record as text (replayable for CDR lines).
    pub record: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::Cdr;

    #[test]
    fn site_rows_are_placed_by_their_id() {
        let pipeline = Pipeline::default();
        // No start time: the mapper refuses it, and the quarantine gets the whole record.
        let bad = SourceRecord {
            checkpoint: Checkpoint::new("7"),
            record: Ok(RawRecord::Row {
                id: 7,
                cdr: Box::new(Cdr {
                    history_id: Some("1".into()),
                    ..Cdr::default()
                }),
            }),
        };
        let p = pipeline.prepare(&bad);
        assert_eq!(p.location, Location::Row("7".into()));
        assert!(
            matches!(p.disposition, Disposition::Quarantine { ref reason } if reason.starts_with("row 7:"))
        );
        assert!(p.raw.starts_with("site table row 7: Cdr {"), "{}", p.raw);
        let good = SourceRecord {
            checkpoint: Checkpoint::new("8"),
            record: Ok(RawRecord::Row {
                id: 8,
                cdr: Box::new(Cdr {
                    history_id: Some("2".into()),
                    time_start: crate::cdr::parse_timestamp("2026-11-02 18:00:00"),
                    ..Cdr::default()
                }),
            }),
        };
        let p = pipeline.prepare(&good);
        assert_eq!(p.location, Location::Row("8".into()));
        assert!(!matches!(p.disposition, Disposition::Quarantine { .. }));
        assert_eq!(p.raw, "site table row 8");
    }
}
