//! The pure part of the sync engine: what to do with each record a source yields, how far the
//! checkpoint may move, and the counters. The adapter loop (`pbx-sources::sync`) only fetches,
//! delivers and saves; every decision is made here, without a runtime.
//!
//! ```
//! use pbx_core::{Checkpoint, RawRecord, SourceRecord, DeliveryOutcome};
//! use pbx_core::sync::{Disposition, Outcome, Pipeline, final_prefix};
//! let pipeline = Pipeline::default();
//! let rec = SourceRecord { checkpoint: Checkpoint::new("1"),
//!     record: Ok(RawRecord::Line { number: 1, text: b"not a cdr".to_vec() }) };
//! let prepared = pipeline.prepare(&rec);
//! assert!(matches!(prepared.disposition, Disposition::Quarantine { .. }));
//! let outcomes = [(Checkpoint::new("1"), Outcome::Quarantined), (Checkpoint::new("2"),
//!     Outcome::from(DeliveryOutcome::Retry { reason: "503".into(), after: None }))];
//! assert_eq!(final_prefix(&outcomes), Some(Checkpoint::new("1")));
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::call::{CallMapper, CallRequest, Mapped, SkipReason};
use crate::cdr::{CdrParser, assemble_call};
use crate::error::Location;
use crate::traits::{Checkpoint, DeliveryOutcome, RawRecord, SourceRecord};

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
                    .and_then(|cdr| self.mapper.map(&cdr))
                    .map_err(|e| e.located(at.clone()));
                let raw = String::from_utf8_lossy(text).trim_end().to_owned();
                (at, raw, mapped)
            }
            Ok(RawRecord::Legs(legs)) => {
                let at = Location::Row(legs.main_call_history_id.clone());
                let mapped = assemble_call(legs)
                    .and_then(|cdr| self.mapper.map(&cdr))
                    .map_err(|e| e.located(at.clone()));
                let raw = format!(
                    "cdroutput main_call_history_id={} ({} legs)",
                    legs.main_call_history_id,
                    legs.legs.len()
                );
                (at, raw, mapped)
            }
            Ok(RawRecord::Cdr(cdr)) => {
                (Location::Unknown, format!("{cdr:?}"), self.mapper.map(cdr))
            }
            Ok(RawRecord::Row { id, cdr }) => {
                let at = Location::Row(id.to_string());
                let mapped = self.mapper.map(cdr).map_err(|e| e.located(at.clone()));
                (at, format!("site table row {id}: {cdr:?}"), mapped)
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
        }
    }
}

/// What finally became of one record in a round.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The API stored it.
    Delivered,
    /// The API already had it (409).
    Duplicate,
    /// Not sent, for this reason.
    Skipped(SkipReason),
    /// Kept aside (unreadable, or rejected by the API).
    Quarantined,
    /// Not settled: try again in a later round.
    Retry,
    /// The API refused our credentials: stop delivering.
    AuthFailed,
}

impl Outcome {
    /// Whether the checkpoint may move past this record.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Outcome::Delivered | Outcome::Duplicate | Outcome::Skipped(_) | Outcome::Quarantined
        )
    }
}

/// A delivery answer as an outcome (`Rejected` becomes `Quarantined`: the caller writes the
/// quarantine entry).
impl From<DeliveryOutcome> for Outcome {
    fn from(d: DeliveryOutcome) -> Self {
        match d {
            DeliveryOutcome::Delivered => Outcome::Delivered,
            DeliveryOutcome::Duplicate => Outcome::Duplicate,
            DeliveryOutcome::Rejected { .. } => Outcome::Quarantined,
            DeliveryOutcome::AuthFailed { .. } => Outcome::AuthFailed,
            _ => Outcome::Retry,
        }
    }
}

/// The checkpoint to save: the last one of the leading run of final outcomes, in source
/// order. `None` when the first record is not final (nothing may move).
///
/// ```
/// use pbx_core::Checkpoint;
/// use pbx_core::sync::{Outcome, final_prefix};
/// let cp = |s: &str| Checkpoint::new(s);
/// let run = [(cp("1"), Outcome::Delivered), (cp("2"), Outcome::Retry), (cp("3"), Outcome::Delivered)];
/// assert_eq!(final_prefix(&run), Some(cp("1"))); // never past an unacknowledged call
/// ```
pub fn final_prefix(outcomes: &[(Checkpoint, Outcome)]) -> Option<Checkpoint> {
    outcomes
        .iter()
        .take_while(|(_, o)| o.is_final())
        .last()
        .map(|(cp, _)| cp.clone())
}

/// One quarantined record, as a JSON line in the quarantine file.
///
/// ```
/// let e = pbx_core::sync::QuarantineEntry { at: chrono::DateTime::UNIX_EPOCH, checkpoint: "7".into(),
///     location: "line 7".into(), reason: "bad".into(), record: "Call 1,x".into() };
/// let line = serde_json::to_string(&e)?;
/// assert_eq!(serde_json::from_str::<pbx_core::sync::QuarantineEntry>(&line)?, e);
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

/// Counters for status and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Records read from the source.
    pub received: u64,
    /// Calls the API stored.
    pub delivered: u64,
    /// Calls the API already had.
    pub duplicates: u64,
    /// Records not sent, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Records quarantined (unreadable or rejected).
    pub quarantined: u64,
    /// Delivery attempts that must be retried.
    pub retries: u64,
    /// Credential refusals.
    pub auth_failures: u64,
    /// Start time of the newest call delivered, for lag.
    pub newest_call_start: Option<String>,
}

impl Counters {
    /// Counts one outcome.
    ///
    /// ```
    /// use pbx_core::sync::{Counters, Outcome};
    /// use pbx_core::call::SkipReason;
    /// let mut c = Counters::default();
    /// c.count(&Outcome::Skipped(SkipReason::Internal));
    /// c.count(&Outcome::Delivered);
    /// assert_eq!(c.skipped["internal"], 1);
    /// assert_eq!(c.delivered, 1);
    /// ```
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Delivered => self.delivered += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Skipped(reason) => {
                *self.skipped.entry(reason.kind().to_owned()).or_default() += 1
            }
            Outcome::Quarantined => self.quarantined += 1,
            Outcome::Retry => self.retries += 1,
            Outcome::AuthFailed => self.auth_failures += 1,
        }
    }
}
