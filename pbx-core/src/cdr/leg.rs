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
use crate::direction::Direction;
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
    pub(crate) fn kind(&self) -> Option<PartyType> {
        self.entity_type.as_deref().map(PartyType::parse)
    }

    /// The party as a CDR number: `Ext.` for a DN of the PBX (extension, queue, ring group,
    /// IVR, voicemail, …), else the number as written. An `inbound_routing` party's DN is the
    /// DID dialled — a phone number, never an `Ext.`.
    fn number(&self) -> Option<PartyNumber> {
        match self.kind() {
            Some(
                PartyType::Extension
                | PartyType::Queue
                | PartyType::RingGroup
                | PartyType::Ivr
                | PartyType::Voicemail
                | PartyType::Script
                | PartyType::Fax,
            ) => non_empty(&self.dn_number)
                .or_else(|| non_empty(&self.participant_phone_number))
                .map(PartyNumber::Extension),
            _ => non_empty(&self.participant_phone_number)
                .or_else(|| non_empty(&self.dn_number))
                .map(PartyNumber::Number),
        }
    }

    /// The DN of an extension party (`None` for any other kind of party).
    pub(crate) fn extension(&self) -> Option<&str> {
        (self.kind() == Some(PartyType::Extension))
            .then(|| {
                self.dn_number
                    .as_deref()
                    .or(self.participant_phone_number.as_deref())
            })
            .flatten()
            .map(str::trim)
            .filter(|dn| !dn.is_empty())
    }

    /// The number of an outside party (`external_line`): the SIP user part, else the DN;
    /// `anonymous` when the trunk gave none (a withheld caller).
    fn outside_number(&self) -> PartyNumber {
        non_empty(&self.participant_phone_number).map_or_else(
            || PartyNumber::Number("anonymous".into()),
            PartyNumber::Number,
        )
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
    /// A leg with an extension as its source or destination (a person's phone). Legs between
    /// a caller and a queue, ring group, IVR, inbound routing, outbound rule or voicemail are
    /// not, even when answered (those answer to play audio).
    fn is_extension_leg(&self) -> bool {
        self.source.kind() == Some(PartyType::Extension)
            || self.destination.kind() == Some(PartyType::Extension)
    }

    /// An extension leg a person (or, outbound, the far end) answered.
    fn is_answered_extension_leg(&self) -> bool {
        self.answered_at.is_some() && self.is_extension_leg()
    }

    /// A queue polling an agent who did not answer: noise for call reconstruction.
    pub(crate) fn is_unanswered_poll(&self) -> bool {
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

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// What the legs of one call say: direction, owner, other party and talk time, by the rules
/// for `cdroutput` calls (also used for `cl_*` segments turned into legs):
///
/// - an **extension leg** has an extension as source or destination; the call is
///   **answered** when an extension leg has `cdr_answered_at` (a queue, IVR or voicemail
///   answering to play audio does not count);
/// - **talk time** is the sum over answered extension legs of `cdr_ended_at −
///   cdr_answered_at` (a transfer adds both agents' talk; outbound talk sits on the extension
///   → trunk leg); time two legs overlap (an attended transfer's consultation while the caller
///   holds) counts once;
/// - **inbound owner**: the destination extension of the answered extension leg answered
///   last (ties broken by the `base_cdr_id` / `continued_in_cdr_id` chain: a successor is
///   later); when no extension answered but the call was **forwarded to an outside number by
///   an extension's own rule** (that extension's leg `redirected`, then a `divert` leg to an
///   `outbound_rule` or `external_line`, answered on an `external_line` leg — the person's
///   mobile), that extension, with the talk time of the answered outside leg(s) after the
///   divert; when no extension answered and the call ended in the voicemail of an extension,
///   that extension (talk 0); otherwise none;
/// - **outbound / internal owner**: the source extension of the `call_init` leg;
/// - **other party**: inbound, the caller on the first leg; outbound, the number on the trunk
///   (`external_line`) leg — what the outbound rule made of the dialled digits; internal, the
///   called DN.
///
/// The owner is a DN as the legs name it; [`crate::call::CallMapper::classify_legs`] also
/// checks it against the site's extension rule.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegSummary {
    /// Inbound (the first leg comes from an outside line), outbound (an extension reached a
    /// trunk or outbound rule), internal, or unknown.
    pub direction: Direction,
    /// The extension that owns the call, if any.
    pub owner: Option<String>,
    /// True when the owner is the extension whose voicemail took the unanswered call.
    pub owner_by_voicemail: bool,
    /// True when the owner is the extension whose forwarding rule sent the unanswered call to
    /// an outside number that answered (a mobile); talk time is that outside leg's.
    pub owner_by_forward: bool,
    /// The other party.
    pub counterpart: Option<PartyNumber>,
    /// The first answer by an extension leg (forwarded to a mobile: by the outside leg);
    /// `None` when unanswered.
    pub answered_at: Option<DateTime<Utc>>,
    /// Talk time (forwarded to a mobile: the outside leg's); `None` when no extension leg
    /// was answered.
    pub talk: Option<Duration>,
    /// The index in [`CallLegs::legs`] of the leg the owner was read from, when one leg
    /// names it (the last answered extension leg of an inbound call, the first leg of an
    /// outbound or internal one).
    pub owner_leg: Option<usize>,
    /// The index in [`CallLegs::legs`] of the leg the direction was read from (the
    /// `call_init` leg, else the first).
    pub init_leg: Option<usize>,
    /// The indices in [`CallLegs::legs`] of the answered extension legs whose spans were
    /// summed into [`LegSummary::talk`] (empty when forwarded to a mobile or unanswered).
    pub talk_legs: Vec<usize>,
}

impl CallLegs {
    /// What the legs say about the call: see [`LegSummary`].
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use pbx_core::cdr::{group_legs, CdrLeg, LegParty};
    /// use pbx_core::direction::Direction;
    /// let t = |s| Some(Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, s).unwrap());
    /// let party = |entity: &str, dn: &str| LegParty { entity_type: Some(entity.into()),
    ///     dn_number: Some(dn.into()), participant_phone_number: Some(dn.into()),
    ///     participant_is_incoming: Some(entity == "external_line"), ..Default::default() };
    /// let leg = |id: &str, to: &str, start, answer, end| CdrLeg { cdr_id: id.into(),
    ///     main_call_history_id: "m".into(), source: party("external_line", "+19075550142"),
    ///     destination: party("extension", to), started_at: t(start), answered_at: answer,
    ///     ended_at: t(end), ..Default::default() };
    /// // 101 answers and talks 20 s, then blind-transfers to 102, who talks 30 s.
    /// let call = &group_legs(vec![leg("a", "101", 0, t(5), 25), leg("b", "102", 25, t(28), 58)])[0];
    /// let s = call.summary();
    /// assert_eq!(s.direction, Direction::Inbound);
    /// assert_eq!(s.owner.as_deref(), Some("102"));
    /// assert_eq!(s.talk, Some(std::time::Duration::from_secs(50)));
    /// ```
    pub fn summary(&self) -> LegSummary {
        let legs = &self.legs;
        let depth = chain_depths(legs);
        let init = legs
            .iter()
            .find(|l| {
                l.creation_method
                    .as_deref()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("call_init"))
            })
            .or(legs.first());
        let direction = match init {
            None => Direction::Unknown,
            Some(init) => match init.source.kind() {
                Some(PartyType::ExternalLine)
                    if init.source.participant_is_incoming != Some(false) =>
                {
                    Direction::Inbound
                }
                Some(PartyType::Extension) => {
                    if legs
                        .iter()
                        .any(|l| l.destination.kind().is_some_and(|k| k.is_external()))
                    {
                        Direction::Outbound
                    } else {
                        Direction::Internal
                    }
                }
                _ if legs.iter().any(|l| {
                    l.source.kind() == Some(PartyType::ExternalLine)
                        && l.source.participant_is_incoming == Some(true)
                }) =>
                {
                    Direction::Inbound
                }
                _ => Direction::Unknown,
            },
        };
        let answered: Vec<usize> = (0..legs.len())
            .filter(|&i| legs[i].is_answered_extension_leg())
            .collect();
        let mut answered_at = answered.iter().filter_map(|&i| legs[i].answered_at).min();
        let mut talk =
            (!answered.is_empty()).then(|| talk_time(answered.iter().map(|&i| &legs[i])));

        let mut owner_by_voicemail = false;
        let mut owner_by_forward = false;
        let mut owner_leg = None;
        let init_index = init.and_then(|l| legs.iter().position(|x| std::ptr::eq(x, l)));
        let (owner, counterpart) = match (direction, init) {
            (Direction::Inbound, Some(init)) => {
                let last_answer = answered
                    .iter()
                    .copied()
                    .filter(|&i| legs[i].destination.extension().is_some())
                    .max_by_key(|&i| (legs[i].answered_at, depth[i], legs[i].started_at, i));
                let owner = match last_answer {
                    Some(i) => {
                        owner_leg = Some(i);
                        legs[i].destination.extension().map(str::to_owned)
                    }
                    None => {
                        if let Some(forward) = forwarded_outside(legs, &depth) {
                            owner_by_forward = true;
                            answered_at = Some(forward.answered_at);
                            talk = Some(forward.talk);
                            Some(forward.extension)
                        } else if answered.is_empty() {
                            let mailbox = voicemail_owner(legs, &depth);
                            owner_by_voicemail = mailbox.is_some();
                            mailbox
                        } else {
                            None
                        }
                    }
                };
                let caller = legs
                    .iter()
                    .find(|l| {
                        l.source.kind() == Some(PartyType::ExternalLine)
                            && l.source.participant_is_incoming != Some(false)
                    })
                    .map_or(&init.source, |l| &l.source);
                (owner, Some(caller.outside_number()))
            }
            (Direction::Outbound, Some(init)) => {
                let trunk = (0..legs.len())
                    .filter(|&i| legs[i].destination.kind() == Some(PartyType::ExternalLine))
                    .max_by_key(|&i| {
                        (
                            legs[i].answered_at.is_some(),
                            legs[i].started_at,
                            depth[i],
                            i,
                        )
                    });
                let counterpart = match trunk {
                    Some(i) => Some(legs[i].destination.outside_number()),
                    None => legs
                        .iter()
                        .filter(|l| l.destination.kind() == Some(PartyType::OutboundRule))
                        .find_map(|l| {
                            l.destination
                                .number()
                                .map(|n| PartyNumber::Number(n.as_str().to_owned()))
                        }),
                };
                owner_leg = init_index;
                (init.source.extension().map(str::to_owned), counterpart)
            }
            (Direction::Internal, Some(init)) => {
                owner_leg = init_index;
                (
                    init.source.extension().map(str::to_owned),
                    init.destination.number(),
                )
            }
            _ => (None, None),
        };
        LegSummary {
            direction,
            owner,
            owner_by_voicemail,
            owner_by_forward,
            counterpart,
            answered_at,
            talk,
            owner_leg,
            init_leg: init_index,
            talk_legs: if owner_by_forward {
                Vec::new()
            } else {
                answered
            },
        }
    }
}

/// Each leg's position in the `base_cdr_id` / `continued_in_cdr_id` chain: 0 for a leg
/// nothing precedes, else one more than its predecessor (cycles in bad data stop growing
/// after a bounded number of passes).
fn chain_depths(legs: &[CdrLeg]) -> Vec<u32> {
    let index: HashMap<&str, usize> = legs
        .iter()
        .enumerate()
        .map(|(i, l)| (l.cdr_id.as_str(), i))
        .collect();
    // (predecessor, successor) pairs.
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (i, l) in legs.iter().enumerate() {
        let find = |id: &Option<String>| id.as_deref().and_then(|id| index.get(id)).copied();
        if let Some(next) = find(&l.continued_in_cdr_id).filter(|&n| n != i) {
            edges.push((i, next));
        }
        if let Some(base) = find(&l.base_cdr_id).filter(|&b| b != i) {
            edges.push((base, i));
        }
    }
    let mut depth = vec![0u32; legs.len()];
    for _ in 0..legs.len().min(64) {
        let mut changed = false;
        for &(from, to) in &edges {
            if depth[to] <= depth[from] {
                depth[to] = depth[from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

/// The union of the legs' `[answered, ended]` spans (overlaps counted once).
fn talk_time<'a>(legs: impl Iterator<Item = &'a CdrLeg>) -> Duration {
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = legs
        .filter_map(|l| Some((l.answered_at?, l.ended_at?)))
        .filter(|(a, e)| e > a)
        .collect();
    spans.sort();
    let mut total = chrono::TimeDelta::zero();
    let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for (a, e) in spans {
        current = match current {
            Some((ca, ce)) if a <= ce => Some((ca, ce.max(e))),
            Some((ca, ce)) => {
                total += ce - ca;
                Some((a, e))
            }
            None => Some((a, e)),
        };
    }
    if let Some((ca, ce)) = current {
        total += ce - ca;
    }
    total.to_std().unwrap_or(Duration::ZERO)
}

/// An unanswered call an extension's own forwarding rule sent to an outside number that
/// answered: the extension, and the outside answer and talk.
struct Forward {
    extension: String,
    answered_at: DateTime<Utc>,
    talk: Duration,
}

fn is_method(leg: &CdrLeg, method: &str) -> bool {
    leg.creation_method
        .as_deref()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(method))
}

/// The forward to a mobile (see [`LegSummary`]): a `divert` leg to an outbound rule or
/// external line; the extension leg it diverted (the divert's `base_cdr_id` when that names a
/// leg of the call, else its `originating_cdr_id` when that is such a leg, else the latest
/// extension leg `redirected` before it) — that leg `redirected` and unanswered; and answered
/// legs to an external line from the divert on.
/// Call only when no extension took the call (no answered leg to an extension).
fn forwarded_outside(legs: &[CdrLeg], depth: &[u32]) -> Option<Forward> {
    let redirected_extension = |l: &CdrLeg| {
        l.answered_at.is_none()
            && l.destination.extension().is_some()
            && l.termination_reason
                .as_deref()
                .is_some_and(|r| r.trim().eq_ignore_ascii_case("redirected"))
    };
    let outside = |p: &LegParty| p.kind().is_some_and(|k| k.is_external());
    // The latest divert to the outside (by start, then chain).
    let divert = (0..legs.len())
        .filter(|&i| is_method(&legs[i], "divert") && outside(&legs[i].destination))
        .max_by_key(|&i| (legs[i].started_at, depth[i], i))?;
    let d = &legs[divert];
    let find = |id: &Option<String>| {
        id.as_deref()
            .and_then(|id| legs.iter().find(|l| l.cdr_id == id))
    };
    let before_divert = || {
        legs.iter()
            .filter(|l| redirected_extension(l) && l.started_at <= d.started_at)
            .max_by_key(|l| l.started_at)
    };
    let from = match (find(&d.base_cdr_id), find(&d.originating_cdr_id)) {
        // The leg the divert modifies decides: a queue's or ring group's forward is no one's.
        (Some(base), _) => Some(base).filter(|l| redirected_extension(l)),
        (None, Some(origin)) if redirected_extension(origin) => Some(origin),
        _ => before_divert(),
    }?;
    let extension = from.destination.extension()?.to_owned();
    // The outside legs that answered, from the divert on (the rule's leg and what it became).
    let reached: Vec<&CdrLeg> = legs
        .iter()
        .filter(|l| {
            l.answered_at.is_some()
                && l.destination.kind() == Some(PartyType::ExternalLine)
                && l.destination.participant_is_incoming != Some(true)
                && l.started_at >= d.started_at
        })
        .collect();
    let answered_at = reached.iter().filter_map(|l| l.answered_at).min()?;
    Some(Forward {
        extension,
        answered_at,
        talk: talk_time(reached.into_iter()),
    })
}

/// The extension whose voicemail took an unanswered call: the call's last leg (by end, then
/// start, then chain) goes to voicemail, and its DN is an extension's mailbox — its DN type is
/// `extension`, or the DN is an extension the call reached on another leg.
fn voicemail_owner(legs: &[CdrLeg], depth: &[u32]) -> Option<String> {
    let last =
        (0..legs.len()).max_by_key(|&i| (legs[i].ended_at, legs[i].started_at, depth[i], i))?;
    let vm = &legs[last].destination;
    if vm.kind() != Some(PartyType::Voicemail) {
        return None;
    }
    let dn = vm
        .dn_number
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())?;
    let extension_type = vm
        .dn_type
        .as_deref()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("extension"));
    let reached = legs
        .iter()
        .any(|l| l.destination.extension() == Some(dn) || l.source.extension() == Some(dn));
    (extension_type || reached).then(|| dn.to_owned())
}

/// Builds one [`Cdr`] from the legs of a call, the way a CDR text line describes it, with the
/// meaning of [`CallLegs::summary`]: caller and first destination from the first leg; the
/// final party is the owner's leg (the extension answered last, else the voicemail that took
/// the call, else the last leg's destination; outbound: the trunk leg); `duration` is the
/// talk time over answered extension legs (`None` when no extension answered);
/// `time-answered` the first answer by an extension leg. Unanswered queue polling legs are
/// left out of the chain. `history_id` is the `main_call_history_id`.
///
/// The sync pipeline maps legs with [`crate::call::CallMapper::map_legs`], which takes owner
/// and other party from the summary rather than from this flattened record.
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
    let summary = call.summary();
    let relevant: Vec<&CdrLeg> = call
        .legs
        .iter()
        .filter(|l| !l.is_unanswered_poll())
        .collect();
    let latest = |pick: &dyn Fn(&CdrLeg) -> bool| {
        call.legs
            .iter()
            .filter(|l| pick(l))
            .max_by_key(|l| (l.answered_at, l.started_at))
    };
    let final_leg = match summary.direction {
        Direction::Outbound => {
            latest(&|l: &CdrLeg| l.destination.kind() == Some(PartyType::ExternalLine))
        }
        _ => match summary.owner.as_deref() {
            Some(_) if summary.owner_by_forward => latest(&|l: &CdrLeg| {
                l.answered_at.is_some() && l.destination.kind() == Some(PartyType::ExternalLine)
            }),
            Some(owner) if summary.owner_by_voicemail => latest(&|l: &CdrLeg| {
                l.destination.kind() == Some(PartyType::Voicemail)
                    && l.destination.dn_number.as_deref().map(str::trim) == Some(owner)
            }),
            Some(owner) if summary.direction == Direction::Inbound => latest(&|l: &CdrLeg| {
                l.is_answered_extension_leg() && l.destination.extension() == Some(owner)
            }),
            _ => None,
        },
    }
    .or(relevant.last().copied())
    .unwrap_or(first);
    let last_ended = call.legs.iter().max_by_key(|l| l.ended_at).unwrap_or(first);

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
        duration: summary.talk,
        time_start: Some(time_start),
        time_answered: summary.answered_at,
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
