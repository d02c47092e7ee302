//! The database row model: 3CX v20 U6+ `cdroutput` legs, grouped into calls.
//!
//! A source adapter only fetches rows into [`CdrLeg`]s; grouping ([`group_legs`]), deciding
//! when a call is complete ([`CallLegs::is_complete`]) and turning legs into one [`Cdr`]
//! ([`assemble_call`]) happen here, without I/O.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::record::Cdr;
use super::value::{PartyNumber, PartyType, TerminationReason};
use crate::error::{Error, Location};

/// One side (`source_…` or `destination_…` columns) of a `cdroutput` row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LegParty {
    /// `*_entity_type`: `extension`, `external_line`, `queue`, `ring_group_hunt`, …
    pub entity_type: Option<String>,
    /// `*_dn_type`: `extension`, `provider` (trunks), `queue`, …
    pub dn_type: Option<String>,
    /// `*_dn_number`: the DN (extension number, trunk DN, queue number).
    pub dn_number: Option<String>,
    /// `*_dn_name`.
    pub dn_name: Option<String>,
    /// `*_participant_name`: SIP display name or contact.
    pub participant_name: Option<String>,
    /// `*_participant_phone_number`: the SIP user part (the external number for a trunk party).
    pub participant_phone_number: Option<String>,
    /// `*_participant_trunk_did`.
    pub participant_trunk_did: Option<String>,
    /// `*_participant_is_incoming`.
    pub participant_is_incoming: Option<bool>,
}

impl LegParty {
    fn kind(&self) -> Option<PartyType> {
        self.entity_type.as_deref().map(PartyType::parse)
    }

    /// The party as a CDR number: `Ext.` for an internal DN, else the external number.
    fn number(&self) -> Option<PartyNumber> {
        match self.kind() {
            Some(PartyType::ExternalLine | PartyType::OutboundRule) | None => self
                .participant_phone_number
                .clone()
                .or_else(|| self.dn_number.clone())
                .map(PartyNumber::Number),
            Some(_) => self
                .dn_number
                .clone()
                .or_else(|| self.participant_phone_number.clone())
                .map(PartyNumber::Extension),
        }
    }

    fn display_name(&self) -> Option<String> {
        self.participant_name
            .clone()
            .or_else(|| self.dn_name.clone())
    }
}

/// One `cdroutput` row: one leg of a call.
///
/// ```
/// use pbx_core::cdr::CdrLeg;
/// let leg = CdrLeg { cdr_id: "c1".into(), main_call_history_id: "m1".into(), ..Default::default() };
/// assert!(leg.ended_at.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CdrLeg {
    /// `cdr_id`.
    pub cdr_id: String,
    /// `call_history_id`: one call flow.
    pub call_history_id: String,
    /// `main_call_history_id`: joined flows; the call this leg belongs to.
    pub main_call_history_id: String,
    /// The `source_…` columns.
    pub source: LegParty,
    /// The `destination_…` columns.
    pub destination: LegParty,
    /// `creation_method`: `call_init`, `transfer`, `divert`, …
    pub creation_method: Option<String>,
    /// `creation_forward_reason`: `none`, `polling`, `no_answer`, …
    pub creation_forward_reason: Option<String>,
    /// `termination_reason`.
    pub termination_reason: Option<String>,
    /// `termination_reason_details`.
    pub termination_reason_details: Option<String>,
    /// `cdr_started_at` (UTC).
    pub started_at: Option<DateTime<Utc>>,
    /// `cdr_answered_at` (UTC); `None` when this leg was not answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// `cdr_ended_at` (UTC); `None` while the leg is still going on.
    pub ended_at: Option<DateTime<Utc>>,
    /// `base_cdr_id`.
    pub base_cdr_id: Option<String>,
    /// `originating_cdr_id`.
    pub originating_cdr_id: Option<String>,
    /// `continued_in_cdr_id`.
    pub continued_in_cdr_id: Option<String>,
}

impl CdrLeg {
    /// A queue polling an agent who did not answer: noise for call reconstruction.
    fn is_unanswered_poll(&self) -> bool {
        self.answered_at.is_none()
            && self
                .creation_forward_reason
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case("polling"))
    }
}

/// All legs of one call (one `main_call_history_id`), ordered by start time then `cdr_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallLegs {
    /// The call's `main_call_history_id`.
    pub main_call_history_id: String,
    /// Its legs, ordered.
    pub legs: Vec<CdrLeg>,
}

impl CallLegs {
    /// Whether the call may be emitted at `now`: every leg has ended, and no leg started or
    /// ended within `settle` before `now` (a leg added later would otherwise be missed).
    ///
    /// ```
    /// use std::time::Duration;
    /// use chrono::{TimeZone, Utc};
    /// use pbx_core::cdr::{group_legs, CdrLeg};
    /// let t = Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, 0).unwrap();
    /// let leg = CdrLeg { cdr_id: "a".into(), main_call_history_id: "m".into(),
    ///     started_at: Some(t), ended_at: Some(t + chrono::TimeDelta::seconds(30)), ..Default::default() };
    /// let call = &group_legs(vec![leg])[0];
    /// let settle = Duration::from_secs(10);
    /// assert!(!call.is_complete(t + chrono::TimeDelta::seconds(35), settle));
    /// assert!(call.is_complete(t + chrono::TimeDelta::seconds(40), settle));
    /// ```
    pub fn is_complete(&self, now: DateTime<Utc>, settle: Duration) -> bool {
        let settle = chrono::TimeDelta::from_std(settle).unwrap_or(chrono::TimeDelta::MAX);
        !self.legs.is_empty()
            && self.legs.iter().all(|leg| {
                leg.ended_at.is_some_and(|end| {
                    let last = leg.started_at.map_or(end, |s| s.max(end));
                    last.checked_add_signed(settle).is_some_and(|t| t <= now)
                })
            })
    }
}

/// Groups legs by `main_call_history_id`, in the order each call first appears; legs inside a
/// call are ordered by start time, then `cdr_id` (legs may arrive in any order).
///
/// ```
/// use pbx_core::cdr::{group_legs, CdrLeg};
/// let leg = |id: &str, call: &str| CdrLeg { cdr_id: id.into(), main_call_history_id: call.into(), ..Default::default() };
/// let calls = group_legs(vec![leg("b", "m1"), leg("x", "m2"), leg("a", "m1")]);
/// assert_eq!(calls.len(), 2);
/// assert_eq!(calls[0].legs[0].cdr_id, "a");
/// ```
pub fn group_legs(legs: impl IntoIterator<Item = CdrLeg>) -> Vec<CallLegs> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut calls: Vec<CallLegs> = Vec::new();
    for leg in legs {
        let i = *index
            .entry(leg.main_call_history_id.clone())
            .or_insert_with(|| {
                calls.push(CallLegs {
                    main_call_history_id: leg.main_call_history_id.clone(),
                    legs: Vec::new(),
                });
                calls.len() - 1
            });
        calls[i].legs.push(leg);
    }
    for call in &mut calls {
        call.legs
            // A leg without a start time sorts last: it must not pose as the call's first leg.
            .sort_by_key(|l| (l.started_at.is_none(), l.started_at, l.cdr_id.clone()));
    }
    calls
}

/// Builds one [`Cdr`] from the legs of a call, the way a CDR text line describes it:
/// caller and first destination from the first leg; the final party is the extension that
/// answered (else the last leg's destination); unanswered queue polling legs are ignored;
/// talk time runs from the first answer by an extension (else the first answer of any leg) to
/// the end of the last leg. `history_id` is the `main_call_history_id`.
///
/// # Errors
/// [`Error::InvalidCall`] when there are no legs, or no leg has a start time.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use pbx_core::cdr::{assemble_call, group_legs, CdrLeg, LegParty, PartyType};
/// let t = |s| Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, s).unwrap();
/// let caller = LegParty { entity_type: Some("external_line".into()),
///     participant_phone_number: Some("+19075550142".into()), participant_is_incoming: Some(true), ..Default::default() };
/// let agent = LegParty { entity_type: Some("extension".into()), dn_number: Some("101".into()), ..Default::default() };
/// let leg = CdrLeg { cdr_id: "c1".into(), main_call_history_id: "m1".into(), source: caller,
///     destination: agent, started_at: Some(t(0)), answered_at: Some(t(5)), ended_at: Some(t(50)), ..Default::default() };
/// let cdr = assemble_call(&group_legs(vec![leg])[0])?;
/// assert_eq!(cdr.from_type, Some(PartyType::ExternalLine));
/// assert_eq!(cdr.final_dn.as_deref(), Some("101"));
/// assert_eq!(cdr.talk_seconds(), 45);
/// # Ok::<(), pbx_core::Error>(())
/// ```
pub fn assemble_call(call: &CallLegs) -> Result<Cdr, Error> {
    let at = || Location::Row(call.main_call_history_id.clone());
    let invalid = |reason: &str| Error::InvalidCall {
        at: at(),
        reason: reason.to_owned(),
    };
    let first = call
        .legs
        .first()
        .ok_or_else(|| invalid("the call has no legs"))?;
    let time_start = call
        .legs
        .iter()
        .filter_map(|l| l.started_at)
        .min()
        .ok_or_else(|| invalid("no leg has cdr_started_at"))?;
    let time_end = call.legs.iter().filter_map(|l| l.ended_at).max();
    let relevant: Vec<&CdrLeg> = call
        .legs
        .iter()
        .filter(|l| !l.is_unanswered_poll())
        .collect();
    let answered_by_extension = relevant
        .iter()
        .filter(|l| l.answered_at.is_some())
        .filter(|l| l.destination.kind() == Some(PartyType::Extension))
        .min_by_key(|l| l.answered_at);
    // Only a person or the far end answering makes a call answered: a queue, IVR or voicemail
    // picking up (to play a prompt or hold music, or record a message) does not.
    let answered_any = relevant
        .iter()
        .filter(|l| l.answered_at.is_some())
        .filter(|l| l.destination.kind().is_some_and(|k| k.is_external()))
        .min_by_key(|l| l.answered_at);
    let final_leg = answered_by_extension
        .or(relevant.last())
        .copied()
        .unwrap_or(first);
    let last_ended = call.legs.iter().max_by_key(|l| l.ended_at).unwrap_or(first);
    // An extension's answer starts the talk time: a queue or IVR that picked up earlier (to
    // play a prompt or hold music) does not. Without one (outbound: the far end answered),
    // the first answer of any leg.
    let time_answered = answered_by_extension
        .or(answered_any)
        .and_then(|l| l.answered_at);
    let duration = match (time_answered, time_end) {
        (Some(a), Some(e)) if e >= a => (e - a).to_std().ok(),
        (Some(_), _) => Some(Duration::ZERO),
        _ => None,
    };

    let mut chain: Vec<PartyNumber> = Vec::new();
    let parties = std::iter::once(&first.source).chain(relevant.iter().map(|l| &l.destination));
    for p in parties.filter_map(LegParty::number) {
        if chain.last() != Some(&p) {
            chain.push(p);
        }
    }

    Ok(Cdr {
        history_id: Some(call.main_call_history_id.clone()),
        call_id: None,
        duration,
        time_start: Some(time_start),
        time_answered,
        time_end,
        reason_terminated: last_ended
            .termination_reason
            .as_deref()
            .map(TerminationReason::parse),
        from_no: first.source.number(),
        to_no: first.destination.number(),
        from_dn: first.source.dn_number.clone(),
        to_dn: first.destination.dn_number.clone(),
        dial_no: first.destination.number(),
        reason_changed: None,
        final_number: final_leg.destination.number(),
        final_dn: final_leg.destination.dn_number.clone(),
        chain,
        from_type: first.source.kind(),
        to_type: first.destination.kind(),
        final_type: final_leg.destination.kind(),
        from_dispname: first.source.display_name(),
        to_dispname: first.destination.display_name(),
        final_dispname: final_leg.destination.display_name(),
        ..Cdr::default()
    })
}
