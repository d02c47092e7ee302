//! The zero-copy record: [`CdrRef`] borrows its text from the line it was read from, and
//! [`CallRecord`] is what the call mapping reads of a record, implemented by both [`Cdr`] and
//! [`CdrRef`] so that the mapping decisions are written once.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::record::Cdr;
use super::value::{
    Chain, ChangeReason, PartyNumber, PartyNumberRef, PartyType, TerminationReason,
};

/// One CDR line read without copying its text: every text field is a slice of the line (or,
/// for a line with quoted fields or bytes that are not UTF-8, of the parser's scratch buffer).
/// Read by [`crate::cdr::CdrParser::parse_ref`]; [`CdrRef::to_cdr`] gives the owned [`Cdr`]
/// with exactly the values [`crate::cdr::CdrParser::parse_line`] gives.
///
/// Only what can be checked is checked when the line is read (the times and the talk time, so
/// that a bad value is an error of the same line as with [`Cdr`]); fields the call mapping
/// does not use (reasons, billing, display names, `missed-queue-calls`) stay text until asked
/// for, and the chain is read entry by entry when walked.
///
/// ```
/// use pbx_core::cdr::{CdrParser, FieldTemplate, PartyNumberRef};
/// let parser = CdrParser::new(FieldTemplate::v16_20());
/// let line = b"Call 23194,00000172FF13E364_4449,00:03:43,2020/06/29 07:56:32,2020/06/29 07:56:33,\
///     2020/06/29 08:00:16,TerminatedBySrc,0466452265,Ext.611,10000,611,611,ReplacedDst,Ext.194,194,\
///     ,,,,Chain: 0466452265;Ext.611;Ext.194;";
/// let mut scratch = Vec::new();
/// let cdr = parser.parse_ref(1, line, &mut scratch)?;
/// assert_eq!(cdr.history_id, Some("23194"));
/// assert_eq!(cdr.from_no, Some(PartyNumberRef::Number("0466452265")));
/// assert_eq!(cdr.chain.iter().last(), Some(PartyNumberRef::Extension("194")));
/// assert_eq!(cdr.to_cdr(), parser.parse_bytes(1, line)?);
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CdrRef<'a> {
    /// `historyid` without its `Call ` prefix.
    pub history_id: Option<&'a str>,
    /// `callid`.
    pub call_id: Option<&'a str>,
    /// `duration`: talk time; `None` when unanswered.
    pub duration: Option<Duration>,
    /// `time-start` (UTC).
    pub time_start: Option<DateTime<Utc>>,
    /// `time-answered` (UTC); `None` when unanswered.
    pub time_answered: Option<DateTime<Utc>>,
    /// `time-end` (UTC).
    pub time_end: Option<DateTime<Utc>>,
    /// `reason-terminated`, as written ([`TerminationReason::parse`] reads it).
    pub reason_terminated: Option<&'a str>,
    /// `from-no`: the caller.
    pub from_no: Option<PartyNumberRef<'a>>,
    /// `to-no`: the first destination.
    pub to_no: Option<PartyNumberRef<'a>>,
    /// `from-dn`.
    pub from_dn: Option<&'a str>,
    /// `to-dn`.
    pub to_dn: Option<&'a str>,
    /// `dial-no`.
    pub dial_no: Option<PartyNumberRef<'a>>,
    /// `reason-changed`, as written ([`ChangeReason::parse`] reads it).
    pub reason_changed: Option<&'a str>,
    /// `final-number`.
    pub final_number: Option<PartyNumberRef<'a>>,
    /// `final-dn`.
    pub final_dn: Option<&'a str>,
    /// `bill-code`.
    pub bill_code: Option<&'a str>,
    /// `bill-rate`, as written.
    pub bill_rate: Option<&'a str>,
    /// `bill-cost`, as written.
    pub bill_cost: Option<&'a str>,
    /// `bill-name`.
    pub bill_name: Option<&'a str>,
    /// `chain`, read entry by entry by [`Chain::iter`].
    pub chain: Chain<'a>,
    /// `from-type` (an unknown value is kept as [`PartyType::Other`], the one copy this record
    /// may make).
    pub from_type: Option<PartyType>,
    /// `to-type`.
    pub to_type: Option<PartyType>,
    /// `final-type`.
    pub final_type: Option<PartyType>,
    /// `from-dispname`.
    pub from_dispname: Option<&'a str>,
    /// `to-dispname`.
    pub to_dispname: Option<&'a str>,
    /// `final-dispname`.
    pub final_dispname: Option<&'a str>,
    /// `missed-queue-calls`, as written.
    pub missed_queue_calls: Option<&'a str>,
}

impl CdrRef<'_> {
    /// The owned record with the same values ([`crate::cdr::CdrParser::parse_line`] is
    /// [`crate::cdr::CdrParser::parse_ref`] followed by this).
    pub fn to_cdr(&self) -> Cdr {
        let s = |v: Option<&str>| v.map(str::to_owned);
        let n = |v: Option<PartyNumberRef<'_>>| v.map(PartyNumber::from);
        Cdr {
            history_id: s(self.history_id),
            call_id: s(self.call_id),
            duration: self.duration,
            time_start: self.time_start,
            time_answered: self.time_answered,
            time_end: self.time_end,
            reason_terminated: self.reason_terminated.map(TerminationReason::parse),
            from_no: n(self.from_no),
            to_no: n(self.to_no),
            from_dn: s(self.from_dn),
            to_dn: s(self.to_dn),
            dial_no: n(self.dial_no),
            reason_changed: self.reason_changed.map(ChangeReason::parse),
            final_number: n(self.final_number),
            final_dn: s(self.final_dn),
            bill_code: s(self.bill_code),
            bill_rate: s(self.bill_rate),
            bill_cost: s(self.bill_cost),
            bill_name: s(self.bill_name),
            chain: super::value::parse_chain_of(self.chain),
            from_type: self.from_type.clone(),
            to_type: self.to_type.clone(),
            final_type: self.final_type.clone(),
            from_dispname: s(self.from_dispname),
            to_dispname: s(self.to_dispname),
            final_dispname: s(self.final_dispname),
            missed_queue_calls: s(self.missed_queue_calls),
        }
    }

    /// As [`Cdr::is_answered`].
    pub fn is_answered(&self) -> bool {
        self.duration.is_some() || self.time_answered.is_some()
    }

    /// As [`Cdr::talk_seconds`].
    pub fn talk_seconds(&self) -> u64 {
        talk_seconds(self.duration, self.time_answered, self.time_end)
    }
}

/// Talk time in whole seconds: `duration`, else `end − answered`, else 0.
pub(super) fn talk_seconds(
    duration: Option<Duration>,
    answered: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> u64 {
    if let Some(d) = duration {
        return d.as_secs();
    }
    match (answered, end) {
        (Some(a), Some(e)) if e > a => u64::try_from((e - a).num_seconds()).unwrap_or(0),
        _ => 0,
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Cdr {}
    impl Sealed for super::CdrRef<'_> {}
}

/// What the call mapping reads of a record: implemented by the owned [`Cdr`] and the borrowed
/// [`CdrRef`], so that direction, owner and skip decisions
/// ([`crate::direction::classify`], [`crate::call::CallMapper::map`]) are written once for
/// both. Sealed: pbx-core may add methods.
///
/// ```
/// use pbx_core::cdr::{CallRecord, Cdr, CdrParser};
/// fn ids(r: &impl CallRecord) -> (Option<&str>, Option<&str>) { (r.history_id(), r.call_id()) }
/// let p = CdrParser::new("historyid,callid".parse()?);
/// let mut scratch = Vec::new();
/// assert_eq!(ids(&p.parse_ref(1, b"Call 5,abc", &mut scratch)?), (Some("5"), Some("abc")));
/// assert_eq!(ids(&p.parse_line(1, "Call 5,abc")?), (Some("5"), Some("abc")));
/// # Ok::<(), pbx_core::Error>(())
/// ```
// `from_no`, `from_dn`, `from_type`: the 3CX field names, not conversions.
#[allow(clippy::wrong_self_convention)]
pub trait CallRecord: sealed::Sealed {
    /// `historyid`.
    fn history_id(&self) -> Option<&str>;
    /// `callid`.
    fn call_id(&self) -> Option<&str>;
    /// `time-start`.
    fn time_start(&self) -> Option<DateTime<Utc>>;
    /// Talk time in whole seconds (as [`Cdr::talk_seconds`]).
    fn talk_seconds(&self) -> u64;
    /// `from-no`.
    fn from_no(&self) -> Option<PartyNumberRef<'_>>;
    /// `to-no`.
    fn to_no(&self) -> Option<PartyNumberRef<'_>>;
    /// `dial-no`.
    fn dial_no(&self) -> Option<PartyNumberRef<'_>>;
    /// `final-number`.
    fn final_number(&self) -> Option<PartyNumberRef<'_>>;
    /// `from-dn`.
    fn from_dn(&self) -> Option<&str>;
    /// `to-dn`.
    fn to_dn(&self) -> Option<&str>;
    /// `final-dn`.
    fn final_dn(&self) -> Option<&str>;
    /// `from-type`.
    fn from_type(&self) -> Option<&PartyType>;
    /// `to-type`.
    fn to_type(&self) -> Option<&PartyType>;
    /// `final-type`.
    fn final_type(&self) -> Option<&PartyType>;
    /// The `chain` entries in order.
    fn chain(&self) -> impl DoubleEndedIterator<Item = PartyNumberRef<'_>>;
}

impl CallRecord for Cdr {
    fn history_id(&self) -> Option<&str> {
        self.history_id.as_deref()
    }
    fn call_id(&self) -> Option<&str> {
        self.call_id.as_deref()
    }
    fn time_start(&self) -> Option<DateTime<Utc>> {
        self.time_start
    }
    fn talk_seconds(&self) -> u64 {
        Cdr::talk_seconds(self)
    }
    fn from_no(&self) -> Option<PartyNumberRef<'_>> {
        self.from_no.as_ref().map(PartyNumber::borrowed)
    }
    fn to_no(&self) -> Option<PartyNumberRef<'_>> {
        self.to_no.as_ref().map(PartyNumber::borrowed)
    }
    fn dial_no(&self) -> Option<PartyNumberRef<'_>> {
        self.dial_no.as_ref().map(PartyNumber::borrowed)
    }
    fn final_number(&self) -> Option<PartyNumberRef<'_>> {
        self.final_number.as_ref().map(PartyNumber::borrowed)
    }
    fn from_dn(&self) -> Option<&str> {
        self.from_dn.as_deref()
    }
    fn to_dn(&self) -> Option<&str> {
        self.to_dn.as_deref()
    }
    fn final_dn(&self) -> Option<&str> {
        self.final_dn.as_deref()
    }
    fn from_type(&self) -> Option<&PartyType> {
        self.from_type.as_ref()
    }
    fn to_type(&self) -> Option<&PartyType> {
        self.to_type.as_ref()
    }
    fn final_type(&self) -> Option<&PartyType> {
        self.final_type.as_ref()
    }
    fn chain(&self) -> impl DoubleEndedIterator<Item = PartyNumberRef<'_>> {
        self.chain.iter().map(PartyNumber::borrowed)
    }
}

impl CallRecord for CdrRef<'_> {
    fn history_id(&self) -> Option<&str> {
        self.history_id
    }
    fn call_id(&self) -> Option<&str> {
        self.call_id
    }
    fn time_start(&self) -> Option<DateTime<Utc>> {
        self.time_start
    }
    fn talk_seconds(&self) -> u64 {
        CdrRef::talk_seconds(self)
    }
    fn from_no(&self) -> Option<PartyNumberRef<'_>> {
        self.from_no
    }
    fn to_no(&self) -> Option<PartyNumberRef<'_>> {
        self.to_no
    }
    fn dial_no(&self) -> Option<PartyNumberRef<'_>> {
        self.dial_no
    }
    fn final_number(&self) -> Option<PartyNumberRef<'_>> {
        self.final_number
    }
    fn from_dn(&self) -> Option<&str> {
        self.from_dn
    }
    fn to_dn(&self) -> Option<&str> {
        self.to_dn
    }
    fn final_dn(&self) -> Option<&str> {
        self.final_dn
    }
    fn from_type(&self) -> Option<&PartyType> {
        self.from_type.as_ref()
    }
    fn to_type(&self) -> Option<&PartyType> {
        self.to_type.as_ref()
    }
    fn final_type(&self) -> Option<&PartyType> {
        self.final_type.as_ref()
    }
    fn chain(&self) -> impl DoubleEndedIterator<Item = PartyNumberRef<'_>> {
        self.chain.iter()
    }
}
