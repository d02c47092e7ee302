//! The parsed call record.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::value::{ChangeReason, PartyNumber, PartyType, TerminationReason};

/// One call as 3CX reports it in a CDR text line (or as assembled from database legs by
/// [`crate::cdr::assemble_call`]). Every field is optional because the administrator chooses
/// which fields the PBX writes; an empty field is `None`.
///
/// Times are UTC. `duration` is talk time; `None` (an empty field) means unanswered.
///
/// ```
/// use pbx_core::cdr::{Cdr, CdrParser, PartyNumber};
/// let parser = CdrParser::new("historyid,callid,duration,from-no".parse()?);
/// let cdr: Cdr = parser.parse_line(1, "Call 5,abc_1,,Ext.101")?;
/// assert_eq!(cdr.history_id.as_deref(), Some("5"));
/// assert_eq!(cdr.from_no, Some(PartyNumber::Extension("101".into())));
/// assert!(!cdr.is_answered());
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cdr {
    /// `historyid` without its `Call ` prefix.
    pub history_id: Option<String>,
    /// `callid`.
    pub call_id: Option<String>,
    /// `duration`: talk time; `None` when unanswered.
    pub duration: Option<Duration>,
    /// `time-start` (UTC).
    pub time_start: Option<DateTime<Utc>>,
    /// `time-answered` (UTC); `None` when unanswered.
    pub time_answered: Option<DateTime<Utc>>,
    /// `time-end` (UTC).
    pub time_end: Option<DateTime<Utc>>,
    /// `reason-terminated`.
    pub reason_terminated: Option<TerminationReason>,
    /// `from-no`: the caller.
    pub from_no: Option<PartyNumber>,
    /// `to-no`: the first destination.
    pub to_no: Option<PartyNumber>,
    /// `from-dn`: the caller's DN (an extension, or the trunk the call came in on).
    pub from_dn: Option<String>,
    /// `to-dn`: the first destination's DN.
    pub to_dn: Option<String>,
    /// `dial-no`: what was dialled.
    pub dial_no: Option<PartyNumber>,
    /// `reason-changed`.
    pub reason_changed: Option<ChangeReason>,
    /// `final-number`: where the call ended up.
    pub final_number: Option<PartyNumber>,
    /// `final-dn`: the DN where the call ended up.
    pub final_dn: Option<String>,
    /// `bill-code`.
    pub bill_code: Option<String>,
    /// `bill-rate`, as written.
    pub bill_rate: Option<String>,
    /// `bill-cost`, as written.
    pub bill_cost: Option<String>,
    /// `bill-name`.
    pub bill_name: Option<String>,
    /// `chain`: every endpoint involved, in order (empty when the field is absent or empty).
    pub chain: Vec<PartyNumber>,
    /// `from-type`.
    pub from_type: Option<PartyType>,
    /// `to-type`.
    pub to_type: Option<PartyType>,
    /// `final-type`.
    pub final_type: Option<PartyType>,
    /// `from-dispname`.
    pub from_dispname: Option<String>,
    /// `to-dispname`.
    pub to_dispname: Option<String>,
    /// `final-dispname`.
    pub final_dispname: Option<String>,
    /// `missed-queue-calls`, as written.
    pub missed_queue_calls: Option<String>,
}

impl Cdr {
    /// True when the call was answered: it has a talk time or an answer time.
    ///
    /// ```
    /// let mut cdr = pbx_core::cdr::Cdr::default();
    /// assert!(!cdr.is_answered());
    /// cdr.duration = Some(std::time::Duration::from_secs(1));
    /// assert!(cdr.is_answered());
    /// ```
    pub fn is_answered(&self) -> bool {
        self.duration.is_some() || self.time_answered.is_some()
    }

    /// Talk time in whole seconds: the `duration` field, else `time-end − time-answered`,
    /// else 0 (unanswered).
    ///
    /// ```
    /// let mut cdr = pbx_core::cdr::Cdr::default();
    /// assert_eq!(cdr.talk_seconds(), 0);
    /// cdr.duration = Some(std::time::Duration::from_millis(25_900));
    /// assert_eq!(cdr.talk_seconds(), 25);
    /// ```
    pub fn talk_seconds(&self) -> u64 {
        if let Some(d) = self.duration {
            return d.as_secs();
        }
        match (self.time_answered, self.time_end) {
            (Some(a), Some(e)) if e > a => u64::try_from((e - a).num_seconds()).unwrap_or(0),
            _ => 0,
        }
    }
}
