//! Missed calls reach a person: an inbound call nobody answered is logged (talk time 0) to the
//! person responsible for calling back, or skipped with a reason an operator can act on.
//!
//! The rules, in order, for an inbound call no person's extension answered (the calls the
//! owner rules leave without an owner):
//!
//! 1. **It rang exactly one extension** (a direct dial, or an IVR or forward that sent it to one
//!    extension): that extension. Text CDRs already name it (the extension rung is the owner
//!    of an unanswered call); for database legs, [`single_extension_rung`] finds it.
//! 2. **It went to a queue, ring group or IVR** (or came in on a DID) **and was abandoned**: the
//!    extension [`MissedCalls::route`] gives for the DN it reached last (then earlier ones, then
//!    the DID), else [`MissedCalls::default`] — during business hours
//!    ([`MissedCalls::hours`]; none configured counts as always open), and outside them only
//!    with [`OutsideHours::Log`] (otherwise skipped `missed_outside_hours`).
//! 3. Otherwise it is skipped `missed_unrouted`, naming the DN that a route would need
//!    (counted per DN by [`UnroutedMissedCalls`]).
//!
//! [`MissedCalls::enabled`] `false` turns all three off (the call is skipped `no_owner`, as
//! before). The routed owner is a person's extension: its email comes from the extension map
//! like any owner's. Nothing here reads a clock: the call's own start time is compared with
//! the hours.
//!
//! ```
//! use pbx_core::call::{CallMapper, Mapped, SkipReason};
//! use pbx_core::cdr::{CdrParser, FieldTemplate};
//! use pbx_core::extensions::User;
//! use pbx_core::missed::MissedCalls;
//! // Nobody answered queue 800; the caller gave up.
//! let line = "Call 7,abc_7,,2026/11/02 17:00:00,,2026/11/02 17:00:30,TerminatedBySrc,9075551234,\
//!     Ext.800,10000,800,800,Line,Queue,Queue";
//! let parser = CdrParser::new("historyid,callid,duration,time-start,time-answered,time-end,\
//!     reason-terminated,from-no,to-no,from-dn,to-dn,final-dn,from-type,to-type,final-type".parse()?);
//! let cdr = parser.parse_line(1, line)?;
//! let mut mapper = CallMapper::default()
//!     .with_extensions([User::new("103", "team.lead@example.com")].into_iter().collect());
//! assert_eq!(mapper.map(&cdr)?, Mapped::Skipped(SkipReason::MissedUnrouted { dn: "800".into() }));
//! mapper.missed_calls_mut().route.insert("800".into(), "103".into());
//! let Mapped::Call(call) = mapper.map(&cdr)? else { panic!("skipped") };
//! assert_eq!((call.call_owner_extension.as_str(), call.call_duration), ("103", 0));
//! # Ok::<(), pbx_core::Error>(())
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::cdr::{CallLegs, CallRecord};
use crate::direction::DirectionPolicy;
use crate::hours::BusinessHours;
use crate::phone::{NormalizedRef, NumberFormat, Region, normalize_visit};
pub use crate::unmapped::UnroutedMissedCalls;

/// The route key that catches every missed call no other key routes (`missed_calls.route.default`).
pub const DEFAULT_ROUTE: &str = "default";

/// What to do with a routed missed call outside business hours (`missed_calls.outside_hours`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OutsideHours {
    /// Skip it with [`crate::call::SkipReason::MissedOutsideHours`] (the default): nobody
    /// calls back at night.
    #[default]
    Skip,
    /// Log it like one during business hours.
    Log,
}

crate::vocab::vocabulary!(
    /// `skip` or `log`, as the YAML writes it.
    ///
    /// ```
    /// use pbx_core::missed::OutsideHours;
    /// assert_eq!("log".parse::<OutsideHours>()?, OutsideHours::Log);
    /// assert_eq!(OutsideHours::default().code(), "skip");
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    OutsideHours, "missed_outside_hours",
    { Self::Skip => "skip", Self::Log => "log" },
    all: [Self::Skip, Self::Log],
    display: code
);

/// The missed-call rules' settings (the `missed_calls` section; see the [module](self)).
///
/// ```
/// let m = pbx_core::missed::MissedCalls::default();
/// assert!(m.enabled && m.route.is_empty() && m.hours.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissedCalls {
    /// Whether the rules apply (default `true`); `false` skips every unanswered inbound call
    /// without an owner as `no_owner`, and database legs take no owner from the extension rung.
    pub enabled: bool,
    /// Queue, ring group or IVR DN, or DID → the extension of the person who calls back. The
    /// key [`DEFAULT_ROUTE`] is not kept here: see [`MissedCalls::default`].
    pub route: BTreeMap<String, String>,
    /// The extension that takes a missed call no key of `route` matches.
    pub default: Option<String>,
    /// Routed missed calls outside business hours: skipped (default) or logged.
    pub outside_hours: OutsideHours,
    /// Business hours (the configuration's `business_hours`, or 3CX's office hours read at
    /// start); `None`: every time counts as business hours.
    pub hours: Option<BusinessHours>,
}

impl Default for MissedCalls {
    fn default() -> Self {
        MissedCalls {
            enabled: true,
            route: BTreeMap::new(),
            default: None,
            outside_hours: OutsideHours::Skip,
            hours: None,
        }
    }
}

/// What the rules decided for a missed call without an owner ([`MissedCalls::route`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissedRoute<'a> {
    /// Log it, owned by `extension` (talk time 0).
    Routed {
        /// The person's extension.
        extension: &'a str,
        /// The route key that matched (a DN, a DID as written in the configuration, or
        /// [`DEFAULT_ROUTE`]).
        key: &'a str,
    },
    /// Routed, but outside business hours and `outside_hours: skip`.
    OutsideHours {
        /// The route key that matched.
        key: &'a str,
    },
    /// No route: the DN a route would need (the DN reached last, else the DID; empty when the
    /// record names neither).
    Unrouted {
        /// The DN.
        dn: String,
    },
}

impl MissedCalls {
    /// Whether the rules need business hours to decide (a route exists, and calls outside
    /// the hours are skipped).
    ///
    /// ```
    /// let mut m = pbx_core::missed::MissedCalls::default();
    /// assert!(!m.needs_hours());
    /// m.default = Some("101".into());
    /// assert!(m.needs_hours());
    /// ```
    pub fn needs_hours(&self) -> bool {
        self.enabled
            && (!self.route.is_empty() || self.default.is_some())
            && self.outside_hours == OutsideHours::Skip
    }

    /// Routes an inbound call that no person answered and no rule gave an owner (rules 2 and
    /// 3 of the [module](self)). `reached` are the DNs and DIDs the call reached, most
    /// specific first ([`reached_dns`] for a CDR, [`reached_by_legs`] for database legs);
    /// each is looked up in [`MissedCalls::route`] in that order, a number also by its E.164
    /// form in `region` (`+19075550100` matches `9075550100` in the US); then
    /// [`MissedCalls::default`]. `start` is the call's start, compared with the hours.
    /// `None` when the rules are disabled.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use pbx_core::missed::{MissedCalls, MissedRoute};
    /// use pbx_core::phone::Region;
    /// let mut m = MissedCalls::default();
    /// let start = Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, 0).unwrap();
    /// assert_eq!(m.route(&["700", "+19075550100"], Region::US, start),
    ///     Some(MissedRoute::Unrouted { dn: "700".into() }));
    /// m.route.insert("9075550100".into(), "102".into());
    /// assert_eq!(m.route(&["700", "+19075550100"], Region::US, start),
    ///     Some(MissedRoute::Routed { extension: "102", key: "9075550100" }));
    /// m.route.insert("700".into(), "101".into());
    /// assert_eq!(m.route(&["700", "+19075550100"], Region::US, start),
    ///     Some(MissedRoute::Routed { extension: "101", key: "700" }));
    /// ```
    pub fn route(
        &self,
        reached: &[&str],
        region: Region,
        start: DateTime<Utc>,
    ) -> Option<MissedRoute<'_>> {
        if !self.enabled {
            return None;
        }
        let hit = reached
            .iter()
            .find_map(|dn| self.lookup(dn, region))
            .or_else(|| {
                self.default
                    .as_deref()
                    .map(|extension| (DEFAULT_ROUTE, extension))
            });
        let Some((key, extension)) = hit else {
            return Some(MissedRoute::Unrouted {
                dn: reached.first().map(|d| (*d).to_owned()).unwrap_or_default(),
            });
        };
        let open = self.hours.as_ref().is_none_or(|h| h.is_open(start));
        Some(if open || self.outside_hours == OutsideHours::Log {
            MissedRoute::Routed { extension, key }
        } else {
            MissedRoute::OutsideHours { key }
        })
    }

    /// The route entry for one DN or DID: by its text, else (a number) by its E.164 form.
    fn lookup(&self, dn: &str, region: Region) -> Option<(&str, &str)> {
        if let Some((k, v)) = self.route.get_key_value(dn) {
            return Some((k, v));
        }
        let wanted = e164(dn, region)?;
        self.route
            .iter()
            .find(|(k, _)| e164(k, region).as_deref() == Some(wanted.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// A number's E.164 form in `region` (`None` for what is not an outside number: a short DN
/// stays as written).
fn e164(number: &str, region: Region) -> Option<String> {
    let digits = number.bytes().filter(u8::is_ascii_digit).count();
    if digits < 7 {
        return None;
    }
    normalize_visit(
        number,
        region,
        NumberFormat::E164,
        &DirectionPolicy::default(),
        None,
        |n| match n {
            NormalizedRef::E164 { value, .. } => Some(value.to_owned()),
            _ => None,
        },
    )
}

/// The DNs and DIDs an unanswered inbound call's record names, most specific first: the
/// chain from last to first, then `final-dn`, `to-dn`, `dial-no`, `to-no`; without the
/// caller's number, `from-dn` and trunk DNs. (A person's extension in the chain would have
/// owned the call: the owner rules take the last one.)
///
/// ```
/// use pbx_core::cdr::{Cdr, PartyNumber};
/// let cdr = Cdr { from_no: Some(PartyNumber::Number("9075551234".into())), from_dn: Some("10000".into()),
///     chain: vec![PartyNumber::Number("9075551234".into()), PartyNumber::Extension("900".into()),
///         PartyNumber::Extension("800".into())],
///     to_dn: Some("900".into()), ..Cdr::default() };
/// let policy = pbx_core::direction::DirectionPolicy::default();
/// assert_eq!(pbx_core::missed::reached_dns(&cdr, &policy), ["800", "900"]);
/// ```
pub fn reached_dns<'r, R: CallRecord + ?Sized>(
    cdr: &'r R,
    policy: &DirectionPolicy,
) -> Vec<&'r str> {
    let caller = cdr.from_no().map(|n| n.as_str().trim());
    let mut out: Vec<&str> = Vec::new();
    let numbers = cdr
        .chain()
        .rev()
        .map(|n| Some(n.as_str()))
        .chain([cdr.final_dn(), cdr.to_dn()])
        .chain([cdr.dial_no(), cdr.to_no()].map(|n| n.map(|n| n.as_str())));
    for dn in numbers.flatten() {
        let dn = dn.trim();
        if dn.is_empty()
            || Some(dn) == caller
            || cdr.from_dn().map(str::trim) == Some(dn)
            || policy.is_trunk(dn)
            || out.contains(&dn)
        {
            continue;
        }
        out.push(dn);
    }
    out
}

/// The DNs and DIDs an unanswered call's database legs reached, most specific first: the
/// queues, ring groups, IVRs and voicemail boxes its legs went to, from the last leg to the
/// first, then the DID it came in on (an `inbound_routing` leg's DN, else the caller's trunk
/// DID).
///
/// ```
/// use pbx_core::cdr::{group_legs, CdrLeg, LegParty};
/// let party = |entity: &str, dn: &str| LegParty { entity_type: Some(entity.into()),
///     dn_number: Some(dn.into()), ..Default::default() };
/// let leg = |id: &str, from: LegParty, to: LegParty| CdrLeg { cdr_id: id.into(),
///     main_call_history_id: "m".into(), source: from, destination: to, ..Default::default() };
/// let caller = LegParty { entity_type: Some("external_line".into()),
///     participant_trunk_did: Some("+19075550100".into()), ..Default::default() };
/// let call = &group_legs(vec![leg("a", caller, party("ivr", "900")),
///     leg("b", party("ivr", "900"), party("queue", "800"))])[0];
/// assert_eq!(pbx_core::missed::reached_by_legs(call), ["800", "900", "+19075550100"]);
/// ```
pub fn reached_by_legs<'c>(call: &'c CallLegs) -> Vec<&'c str> {
    use crate::cdr::PartyType;
    let mut out: Vec<&str> = Vec::new();
    let mut push = |dn: Option<&'c str>| {
        if let Some(dn) = dn.map(str::trim).filter(|d| !d.is_empty())
            && !out.contains(&dn)
        {
            out.push(dn);
        }
    };
    let legs = || call.legs.iter().rev();
    for leg in legs() {
        let to = &leg.destination;
        if matches!(
            to.kind(),
            Some(PartyType::Queue | PartyType::RingGroup | PartyType::Ivr | PartyType::Voicemail)
        ) {
            push(to.dn_number.as_deref());
        }
    }
    for leg in legs() {
        for p in [&leg.source, &leg.destination] {
            if p.entity_type
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("inbound_routing"))
            {
                push(
                    p.dn_number
                        .as_deref()
                        .or(p.participant_phone_number.as_deref()),
                );
            }
        }
    }
    for leg in call.legs.iter() {
        if leg.source.kind() == Some(PartyType::ExternalLine) {
            push(leg.source.participant_trunk_did.as_deref());
        }
    }
    out
}

/// Whether no one picked up a call given as database legs: no leg to an extension and no leg
/// to an outside number (a forward to a mobile) was answered. A queue, IVR or voicemail
/// answering to play audio is no one.
///
/// ```
/// use pbx_core::cdr::{group_legs, CdrLeg, LegParty};
/// let to = |entity: &str| LegParty { entity_type: Some(entity.into()), dn_number: Some("800".into()), ..Default::default() };
/// let leg = CdrLeg { cdr_id: "a".into(), main_call_history_id: "m".into(), destination: to("queue"),
///     answered_at: Some(chrono::Utc::now()), ..Default::default() };
/// assert!(pbx_core::missed::nobody_answered(&group_legs(vec![leg])[0]));
/// ```
pub fn nobody_answered(call: &CallLegs) -> bool {
    use crate::cdr::PartyType;
    !call.legs.iter().any(|l| {
        l.answered_at.is_some()
            && match l.destination.kind() {
                Some(PartyType::Extension) => true,
                Some(PartyType::ExternalLine) => {
                    l.destination.participant_is_incoming != Some(true)
                }
                _ => false,
            }
    })
}

/// Whether a CDR without an owner was answered outside (its `final-number` is an outside
/// number and it has talk time: a queue's or ring group's forward to a mobile): not a missed
/// call.
///
/// ```
/// use pbx_core::cdr::{Cdr, PartyNumber};
/// let mut cdr = Cdr { final_number: Some(PartyNumber::Number("+41791234567".into())),
///     duration: Some(std::time::Duration::from_secs(60)), ..Cdr::default() };
/// let policy = pbx_core::direction::DirectionPolicy::default();
/// assert!(pbx_core::missed::answered_outside(&cdr, &policy));
/// cdr.duration = None;
/// assert!(!pbx_core::missed::answered_outside(&cdr, &policy));
/// ```
pub fn answered_outside<R: CallRecord + ?Sized>(cdr: &R, policy: &DirectionPolicy) -> bool {
    cdr.talk_seconds() > 0 && cdr.final_number().is_some_and(|n| policy.is_external(n))
}

/// Rule 1 for database legs: the one extension an unanswered call rang — every leg's
/// destination extension (unanswered queue polls left out: a queue call is rule 2's), when
/// there is exactly one. `None` when none or several extensions rang.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use pbx_core::cdr::{group_legs, CdrLeg, LegParty};
/// use pbx_core::missed::single_extension_rung;
/// let t = |s| Some(Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, s).unwrap());
/// let party = |entity: &str, dn: &str| LegParty { entity_type: Some(entity.into()),
///     dn_number: Some(dn.into()), participant_phone_number: Some(dn.into()), ..Default::default() };
/// // 105 rang 30 s; the caller gave up.
/// let leg = CdrLeg { cdr_id: "a".into(), main_call_history_id: "m".into(),
///     source: party("external_line", "+19075550142"), destination: party("extension", "105"),
///     started_at: t(0), ended_at: t(30), ..Default::default() };
/// assert_eq!(single_extension_rung(&group_legs(vec![leg])[0]), Some("105"));
/// ```
pub fn single_extension_rung(call: &CallLegs) -> Option<&str> {
    let mut rung: Option<&str> = None;
    for leg in call.legs.iter().filter(|l| !l.is_unanswered_poll()) {
        if let Some(ext) = leg.destination.extension() {
            match rung {
                None => rung = Some(ext),
                Some(r) if r == ext => {}
                Some(_) => return None,
            }
        }
    }
    rung
}
