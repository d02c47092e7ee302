//! The parsed call record.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::field::Field;
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

/// The value of one field of a [`Cdr`], borrowed, typed as the record holds it
/// ([`Cdr::get`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldValue<'a> {
    /// Text as written (ids, DNs, names, billing values).
    Text(&'a str),
    /// A party number (`from-no`, `to-no`, `dial-no`, `final-number`).
    Number(&'a PartyNumber),
    /// A time (UTC).
    Time(DateTime<Utc>),
    /// The talk time.
    Duration(Duration),
    /// `reason-terminated`.
    Termination(&'a TerminationReason),
    /// `reason-changed`.
    Change(&'a ChangeReason),
    /// A party type (`from-type`, `to-type`, `final-type`).
    Type(&'a PartyType),
    /// `chain`: every endpoint, in order.
    Chain(&'a [PartyNumber]),
}

impl std::fmt::Display for FieldValue<'_> {
    /// The value as text: numbers, reasons and types as 3CX writes them, times in RFC 3339
    /// (UTC), the talk time in whole seconds, the chain's parties joined by `;`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Text(s) => f.write_str(s),
            FieldValue::Number(n) => write!(f, "{n}"),
            FieldValue::Time(t) => f.write_str(&t.to_rfc3339()),
            FieldValue::Duration(d) => write!(f, "{}", d.as_secs()),
            FieldValue::Termination(r) => write!(f, "{r}"),
            FieldValue::Change(r) => write!(f, "{r}"),
            FieldValue::Type(t) => write!(f, "{t}"),
            FieldValue::Chain(c) => {
                for (i, n) in c.iter().enumerate() {
                    if i > 0 {
                        f.write_str(";")?;
                    }
                    write!(f, "{n}")?;
                }
                Ok(())
            }
        }
    }
}

impl Cdr {
    /// The value of one field, or `None` when the record has none (an empty chain is
    /// `None` too). With [`Field`]'s `FromStr` (which accepts `time_start` as well as
    /// `time-start`) a binding reads any field by name without a getter per field.
    ///
    /// ```
    /// use pbx_core::cdr::{CdrParser, Field, FieldValue, PartyNumber};
    /// let parser = CdrParser::new("historyid,callid,duration,from-no".parse()?);
    /// let cdr = parser.parse_line(1, "Call 5,abc_1,00:00:07,Ext.101")?;
    /// assert_eq!(cdr.get(Field::HistoryId), Some(FieldValue::Text("5")));
    /// assert_eq!(cdr.get("from_no".parse()?), Some(FieldValue::Number(&PartyNumber::Extension("101".into()))));
    /// assert_eq!(cdr.get(Field::Duration).map(|v| v.to_string()).as_deref(), Some("7"));
    /// assert_eq!(cdr.get(Field::TimeStart), None);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn get(&self, field: Field) -> Option<FieldValue<'_>> {
        fn text(v: &Option<String>) -> Option<FieldValue<'_>> {
            v.as_deref().map(FieldValue::Text)
        }
        fn number(v: &Option<PartyNumber>) -> Option<FieldValue<'_>> {
            v.as_ref().map(FieldValue::Number)
        }
        fn party(v: &Option<PartyType>) -> Option<FieldValue<'_>> {
            v.as_ref().map(FieldValue::Type)
        }
        match field {
            Field::HistoryId => text(&self.history_id),
            Field::CallId => text(&self.call_id),
            Field::Duration => self.duration.map(FieldValue::Duration),
            Field::TimeStart => self.time_start.map(FieldValue::Time),
            Field::TimeAnswered => self.time_answered.map(FieldValue::Time),
            Field::TimeEnd => self.time_end.map(FieldValue::Time),
            Field::ReasonTerminated => self.reason_terminated.as_ref().map(FieldValue::Termination),
            Field::FromNo => number(&self.from_no),
            Field::ToNo => number(&self.to_no),
            Field::FromDn => text(&self.from_dn),
            Field::ToDn => text(&self.to_dn),
            Field::DialNo => number(&self.dial_no),
            Field::ReasonChanged => self.reason_changed.as_ref().map(FieldValue::Change),
            Field::FinalNumber => number(&self.final_number),
            Field::FinalDn => text(&self.final_dn),
            Field::BillCode => text(&self.bill_code),
            Field::BillRate => text(&self.bill_rate),
            Field::BillCost => text(&self.bill_cost),
            Field::BillName => text(&self.bill_name),
            Field::Chain => (!self.chain.is_empty()).then_some(FieldValue::Chain(&self.chain)),
            Field::FromType => party(&self.from_type),
            Field::ToType => party(&self.to_type),
            Field::FinalType => party(&self.final_type),
            Field::FromDispname => text(&self.from_dispname),
            Field::ToDispname => text(&self.to_dispname),
            Field::FinalDispname => text(&self.final_dispname),
            Field::MissedQueueCalls => text(&self.missed_queue_calls),
        }
    }
}
