//! Call direction: inbound, outbound, internal — with the rule that decided it, the owning
//! extension and the other party's number.
//!
//! Type fields (`from-type`, `to-type`, `final-type`) decide first. Only when they are absent,
//! hold a word 3CX does not write ([`PartyType::is_recognised`]: treated as absent) or say
//! nothing does the classifier fall back to configured trunk DNs, then to number
//! patterns (an `Ext.` prefix or a short number is internal; a long number, a `+` number or a
//! withheld caller is external). Digit length alone never makes a call inbound.

use std::fmt;
use std::ops::RangeInclusive;

use crate::cdr::{CallRecord, Cdr, PartyNumber, PartyNumberRef, PartyType};

/// Which way a call went, seen from the company.
///
/// ```
/// assert_eq!(pbx_core::direction::Direction::Inbound.to_string(), "INBOUND");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// From an outside number to the company.
    Inbound,
    /// From an extension to an outside number.
    Outbound,
    /// Between extensions (including queues, ring groups, voicemail).
    Internal,
    /// The record does not say enough to tell.
    Unknown,
}

crate::vocab::vocabulary!(
    /// `INBOUND`, `OUTBOUND`, `INTERNAL` or `UNKNOWN` (also its `Display`).
    Direction, "direction",
    {
        Self::Inbound => "INBOUND",
        Self::Outbound => "OUTBOUND",
        Self::Internal => "INTERNAL",
        Self::Unknown => "UNKNOWN",
    },
    all: [Self::Inbound, Self::Outbound, Self::Internal, Self::Unknown],
    display: code
);

/// The rule that decided a [`Direction`], for logs and debugging.
///
/// ```
/// use pbx_core::direction::Rule;
/// assert_eq!(Rule::FromTypeExternal.to_string(), "from-type is an external line");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// `from-type` is a line / external line → inbound.
    FromTypeExternal,
    /// `from-type` is an extension and `to-type` or `final-type` is a line or outbound rule → outbound.
    ToTypeExternal,
    /// `from-type` is an extension and the other type fields are internal → internal.
    InternalTypes,
    /// `from-dn` is a configured trunk DN → inbound.
    FromTrunkDn,
    /// An internal caller and `to-dn`/`final-dn` is a configured trunk DN → outbound.
    ToTrunkDn,
    /// The caller's number is external (long, `+…`, or withheld) → inbound.
    ExternalCallerNumber,
    /// An internal caller dialled an external number → outbound.
    ExternalCalleeNumber,
    /// Both ends are extensions by their numbers → internal.
    InternalNumbers,
    /// Nothing in the record decides the direction.
    Undetermined,
}

crate::vocab::vocabulary!(
    /// The rule's stable code, its name in SCREAMING_SNAKE_CASE as the bindings publish it
    /// (`FROM_TYPE_EXTERNAL`, …, `UNDETERMINED`). `Display` is the explanation.
    ///
    /// ```
    /// use pbx_core::direction::Rule;
    /// assert_eq!(Rule::ToTrunkDn.code(), "TO_TRUNK_DN");
    /// assert_eq!("TO_TRUNK_DN".parse::<Rule>()?, Rule::ToTrunkDn);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    Rule, "direction_rule",
    {
        Self::FromTypeExternal => "FROM_TYPE_EXTERNAL",
        Self::ToTypeExternal => "TO_TYPE_EXTERNAL",
        Self::InternalTypes => "INTERNAL_TYPES",
        Self::FromTrunkDn => "FROM_TRUNK_DN",
        Self::ToTrunkDn => "TO_TRUNK_DN",
        Self::ExternalCallerNumber => "EXTERNAL_CALLER_NUMBER",
        Self::ExternalCalleeNumber => "EXTERNAL_CALLEE_NUMBER",
        Self::InternalNumbers => "INTERNAL_NUMBERS",
        Self::Undetermined => "UNDETERMINED",
    },
    all: [
        Self::FromTypeExternal, Self::ToTypeExternal, Self::InternalTypes, Self::FromTrunkDn,
        Self::ToTrunkDn, Self::ExternalCallerNumber, Self::ExternalCalleeNumber,
        Self::InternalNumbers, Self::Undetermined,
    ]
);

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::FromTypeExternal => "from-type is an external line",
            Rule::ToTypeExternal => {
                "from-type is an extension and the destination type is external"
            }
            Rule::InternalTypes => {
                "from-type is an extension and the destination types are internal"
            }
            Rule::FromTrunkDn => "from-dn is a configured trunk DN",
            Rule::ToTrunkDn => "an internal caller reached a configured trunk DN",
            Rule::ExternalCallerNumber => "the caller's number is external",
            Rule::ExternalCalleeNumber => "an internal caller dialled an external number",
            Rule::InternalNumbers => "both numbers are internal extensions",
            Rule::Undetermined => "no type field, trunk DN or number pattern decides",
        })
    }
}

/// The rule that picked a call's owner (for `explain`): which field or leg the owning
/// extension came from. Every rule only names a person's extension
/// ([`DirectionPolicy::is_owner_extension`]).
///
/// ```
/// use pbx_core::direction::OwnerRule;
/// assert_eq!(OwnerRule::FinalDn.code(), "FINAL_DN");
/// assert_eq!(OwnerRule::FinalDn.field(), "final-dn");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OwnerRule {
    /// Inbound: `final-dn`, the person's extension the call ended on (or whose mailbox took it).
    FinalDn,
    /// Inbound: the last person's extension in `chain` (`final-dn` is no person's).
    ChainLastPerson,
    /// Inbound: `to-dn`, the person's extension the call rang (no `final-dn` or chain names one).
    RungExtension,
    /// Outbound / internal: `from-dn`, the calling extension.
    CallingDn,
    /// Outbound / internal: the `Ext.` number of `from-no`.
    CallingExtensionNumber,
    /// Outbound / internal: `from-no`, a bare number the extension rule accepts.
    CallingNumber,
    /// Database legs, inbound: the extension of the last leg answered by a person.
    LegAnswered,
    /// Database legs, inbound: the extension whose forwarding rule sent the unanswered call
    /// to an outside number that answered.
    LegForwardedOutside,
    /// Database legs, inbound: the extension whose voicemail took the unanswered call.
    LegVoicemail,
    /// Database legs, outbound / internal: the calling extension of the first leg.
    LegCaller,
    /// Database legs, inbound and answered by nobody: the one extension the call rang
    /// (`missed_calls`).
    MissedRungExtension,
    /// Inbound and answered by nobody: the extension `missed_calls.route` gives the queue,
    /// ring group, IVR or DID the call reached.
    MissedRoute,
}

impl OwnerRule {
    /// The rule's stable code (SCREAMING_SNAKE_CASE).
    pub fn code(self) -> &'static str {
        match self {
            OwnerRule::FinalDn => "FINAL_DN",
            OwnerRule::ChainLastPerson => "CHAIN_LAST_PERSON",
            OwnerRule::RungExtension => "RUNG_EXTENSION",
            OwnerRule::CallingDn => "CALLING_DN",
            OwnerRule::CallingExtensionNumber => "CALLING_EXTENSION_NUMBER",
            OwnerRule::CallingNumber => "CALLING_NUMBER",
            OwnerRule::LegAnswered => "LEG_ANSWERED",
            OwnerRule::LegForwardedOutside => "LEG_FORWARDED_OUTSIDE",
            OwnerRule::LegVoicemail => "LEG_VOICEMAIL",
            OwnerRule::LegCaller => "LEG_CALLER",
            OwnerRule::MissedRungExtension => "MISSED_RUNG_EXTENSION",
            OwnerRule::MissedRoute => "MISSED_ROUTE",
        }
    }

    /// The CDR field (or, for database legs, `legs`) the owner was read from.
    pub fn field(self) -> &'static str {
        match self {
            OwnerRule::FinalDn => "final-dn",
            OwnerRule::ChainLastPerson => "chain",
            OwnerRule::RungExtension => "to-dn",
            OwnerRule::CallingDn => "from-dn",
            OwnerRule::CallingExtensionNumber | OwnerRule::CallingNumber => "from-no",
            OwnerRule::LegAnswered
            | OwnerRule::LegForwardedOutside
            | OwnerRule::LegVoicemail
            | OwnerRule::LegCaller
            | OwnerRule::MissedRungExtension => "legs",
            OwnerRule::MissedRoute => "missed_calls.route",
        }
    }
}

impl fmt::Display for OwnerRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OwnerRule::FinalDn => "final-dn is the person's extension the call ended on",
            OwnerRule::ChainLastPerson => "the last person's extension in the chain",
            OwnerRule::RungExtension => "to-dn is the person's extension the call rang",
            OwnerRule::CallingDn => "from-dn is the calling extension",
            OwnerRule::CallingExtensionNumber => "from-no is the calling extension (Ext.)",
            OwnerRule::CallingNumber => "from-no is an extension number",
            OwnerRule::LegAnswered => "the extension of the last leg a person answered",
            OwnerRule::LegForwardedOutside => {
                "the extension whose forward sent the call to an outside number that answered"
            }
            OwnerRule::LegVoicemail => "the extension whose voicemail took the call",
            OwnerRule::LegCaller => "the calling extension of the first leg",
            OwnerRule::MissedRungExtension => {
                "nobody answered: the one extension the call rang (missed_calls)"
            }
            OwnerRule::MissedRoute => {
                "nobody answered: the extension missed_calls.route gives the DN the call reached"
            }
        })
    }
}

/// What the site's numbering looks like: used only when type fields do not decide.
///
/// ```
/// use pbx_core::direction::DirectionPolicy;
/// let mut p = DirectionPolicy::default();
/// p.trunk_dns = vec!["10000".into()];
/// p.service_dns = vec!["800".into()];
/// assert!(p.is_trunk("10000"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectionPolicy {
    /// Digit counts a bare number may have to be an extension (default 2 to 5).
    /// Ignored when `extension_ranges` is not empty.
    pub extension_digits: RangeInclusive<usize>,
    /// Explicit extension number ranges (e.g. `100..=199`); when set, a bare number is an
    /// extension only inside one of them.
    pub extension_ranges: Vec<RangeInclusive<u64>>,
    /// DNs of trunks / lines (3CX often numbers them from 10000, but so are v20 extensions,
    /// so none are assumed).
    pub trunk_dns: Vec<String>,
    /// DNs that are not people: queues, ring groups, IVRs, voicemail. Never a call's owner.
    pub service_dns: Vec<String>,
    /// The fewest digits an external number has (default 7).
    pub min_external_digits: usize,
}

impl Default for DirectionPolicy {
    fn default() -> Self {
        DirectionPolicy {
            extension_digits: 2..=5,
            extension_ranges: Vec::new(),
            trunk_dns: Vec::new(),
            service_dns: Vec::new(),
            min_external_digits: 7,
        }
    }
}

impl DirectionPolicy {
    /// Whether `dn` is a configured trunk DN.
    pub fn is_trunk(&self, dn: &str) -> bool {
        self.trunk_dns.iter().any(|t| t == dn)
    }

    /// Whether `dn` is a configured service DN (queue, ring group, IVR, voicemail).
    pub fn is_service(&self, dn: &str) -> bool {
        self.service_dns.iter().any(|t| t == dn)
    }

    /// Whether a bare number looks like an extension under this policy.
    ///
    /// ```
    /// let p = pbx_core::direction::DirectionPolicy::default();
    /// assert!(p.is_extension_number("611"));
    /// assert!(!p.is_extension_number("0466452265"));
    /// assert!(!p.is_extension_number("+611"));
    /// ```
    pub fn is_extension_number(&self, s: &str) -> bool {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || self.is_trunk(s) {
            return false;
        }
        if self.extension_ranges.is_empty() {
            self.extension_digits.contains(&s.len())
        } else {
            s.parse::<u64>()
                .is_ok_and(|n| self.extension_ranges.iter().any(|r| r.contains(&n)))
        }
    }

    /// Whether `dn` may own a call: a number the extension rule accepts
    /// ([`DirectionPolicy::is_extension_number`]: digits only, within `extension_digits` or
    /// `extension_ranges`, not a trunk DN) that is not a configured service DN (queue, ring
    /// group, IVR, voicemail). A DID, a `+` number or a trunk never is.
    ///
    /// ```
    /// let mut p = pbx_core::direction::DirectionPolicy::default();
    /// p.service_dns = vec!["800".into()];
    /// assert!(p.is_owner_extension("101"));
    /// assert!(!p.is_owner_extension("800"));
    /// assert!(!p.is_owner_extension("+19075550100"));
    /// assert!(!p.is_owner_extension("9075550100"));
    /// ```
    pub fn is_owner_extension(&self, dn: &str) -> bool {
        self.is_extension_number(dn) && !self.is_service(dn)
    }

    /// Whether a number field is internal: `Ext.NNN`, or a bare extension-like number.
    pub fn is_internal<'a>(&self, n: impl Into<PartyNumberRef<'a>>) -> bool {
        match n.into() {
            PartyNumberRef::Extension(_) => true,
            PartyNumberRef::Number(s) => self.is_extension_number(s),
            _ => false,
        }
    }

    /// Whether a number field is external: starts with `+`, has at least
    /// `min_external_digits` digits, or is a withheld caller (`anonymous`, `private`, …).
    ///
    /// ```
    /// use pbx_core::cdr::PartyNumber;
    /// let p = pbx_core::direction::DirectionPolicy::default();
    /// assert!(p.is_external(&PartyNumber::Number("(907) 555-1234".into())));
    /// assert!(p.is_external(&PartyNumber::Number("anonymous".into())));
    /// assert!(!p.is_external(&PartyNumber::Extension("101".into())));
    /// ```
    pub fn is_external<'a>(&self, n: impl Into<PartyNumberRef<'a>>) -> bool {
        let PartyNumberRef::Number(s) = n.into() else {
            return false;
        };
        let s = crate::cdr::trim(s);
        if is_withheld(s) {
            return true;
        }
        let digits = s.bytes().filter(u8::is_ascii_digit).count();
        digits > 0
            && !self.is_extension_number(s)
            && (s.starts_with('+') || digits >= self.min_external_digits)
    }
}

/// Caller-id texts that mean "number withheld".
pub(crate) fn is_withheld(s: &str) -> bool {
    [
        "anonymous",
        "unknown",
        "private",
        "restricted",
        "withheld",
        "unavailable",
    ]
    .iter()
    .any(|w| s.eq_ignore_ascii_case(w))
}

/// A [`DirectionPolicy`] as plain numbers, each part optional: what a binding reads from its
/// caller (a part left out keeps the default, [`PolicyParts::to_policy`]) and gives back
/// (every part set, `From<&DirectionPolicy>`). Ranges are `(first, last)`, both included.
///
/// ```
/// use pbx_core::direction::{DirectionPolicy, PolicyParts};
/// let parts = PolicyParts { extension_ranges: Some(vec![(100, 199)]), ..PolicyParts::default() };
/// let policy = parts.to_policy();
/// assert_eq!(policy.extension_ranges, [100..=199]);
/// assert_eq!(policy.min_external_digits, DirectionPolicy::default().min_external_digits);
/// let back = PolicyParts::from(&policy);
/// assert_eq!(back.extension_digits, Some((2, 5)));
/// assert_eq!(back.to_policy(), policy);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyParts {
    /// [`DirectionPolicy::extension_digits`].
    pub extension_digits: Option<(u64, u64)>,
    /// [`DirectionPolicy::extension_ranges`].
    pub extension_ranges: Option<Vec<(u64, u64)>>,
    /// [`DirectionPolicy::trunk_dns`].
    pub trunk_dns: Option<Vec<String>>,
    /// [`DirectionPolicy::service_dns`].
    pub service_dns: Option<Vec<String>>,
    /// [`DirectionPolicy::min_external_digits`].
    pub min_external_digits: Option<u64>,
}

impl PolicyParts {
    /// The default policy with the given parts replaced.
    pub fn to_policy(&self) -> DirectionPolicy {
        let d = DirectionPolicy::default();
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let digits = |&(a, b): &(u64, u64)| size(a)..=size(b);
        DirectionPolicy {
            extension_digits: self
                .extension_digits
                .as_ref()
                .map_or(d.extension_digits, digits),
            extension_ranges: self
                .extension_ranges
                .as_ref()
                .map_or(d.extension_ranges, |v| {
                    v.iter().map(|&(a, b)| a..=b).collect()
                }),
            trunk_dns: self.trunk_dns.clone().unwrap_or(d.trunk_dns),
            service_dns: self.service_dns.clone().unwrap_or(d.service_dns),
            min_external_digits: self.min_external_digits.map_or(d.min_external_digits, size),
        }
    }
}

impl From<&DirectionPolicy> for PolicyParts {
    fn from(p: &DirectionPolicy) -> Self {
        let digits = &p.extension_digits;
        PolicyParts {
            extension_digits: Some((*digits.start() as u64, *digits.end() as u64)),
            extension_ranges: Some(
                p.extension_ranges
                    .iter()
                    .map(|r| (*r.start(), *r.end()))
                    .collect(),
            ),
            trunk_dns: Some(p.trunk_dns.clone()),
            service_dns: Some(p.service_dns.clone()),
            min_external_digits: Some(p.min_external_digits as u64),
        }
    }
}

/// The outcome of classifying one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// The direction.
    pub direction: Direction,
    /// The rule that decided it.
    pub rule: Rule,
    /// The extension that owns the call: for inbound the extension that answered (never a
    /// queue or ring group); for outbound and internal the calling extension.
    pub owner: Option<String>,
    /// The rule that picked [`Classification::owner`] (`None` when there is none).
    pub owner_rule: Option<OwnerRule>,
    /// The other party: the caller for inbound, the dialled/final number for outbound, the
    /// called extension for internal.
    pub counterpart: Option<PartyNumber>,
}

impl Classification {
    /// The same classification, borrowed.
    pub fn borrowed(&self) -> ClassificationRef<'_> {
        ClassificationRef {
            direction: self.direction,
            rule: self.rule,
            owner: self.owner.as_deref(),
            owner_rule: self.owner_rule,
            counterpart: self.counterpart.as_ref().map(PartyNumber::borrowed),
        }
    }
}

/// A [`Classification`] borrowing the owner and the other party from the record (what
/// [`classify_ref`] gives, without copying).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassificationRef<'a> {
    /// The direction.
    pub direction: Direction,
    /// The rule that decided it.
    pub rule: Rule,
    /// As [`Classification::owner`].
    pub owner: Option<&'a str>,
    /// As [`Classification::owner_rule`].
    pub owner_rule: Option<OwnerRule>,
    /// As [`Classification::counterpart`].
    pub counterpart: Option<PartyNumberRef<'a>>,
}

impl ClassificationRef<'_> {
    /// The owned classification.
    pub fn to_owned_classification(&self) -> Classification {
        Classification {
            direction: self.direction,
            rule: self.rule,
            owner: self.owner.map(str::to_owned),
            owner_rule: self.owner_rule,
            counterpart: self.counterpart.map(PartyNumber::from),
        }
    }
}

/// Classifies a call ([`classify_ref`] for a borrowed [`crate::cdr::CdrRef`]).
///
/// ```
/// use pbx_core::cdr::{CdrParser, FieldTemplate};
/// use pbx_core::direction::{classify, Direction, DirectionPolicy, Rule};
/// let line = "Call 23194,00000172FF13E364_4449,00:03:43,2020/06/29 07:56:32,2020/06/29 07:56:33,\
///     2020/06/29 08:00:16,TerminatedBySrc,0466452265,Ext.611,10000,611,611,ReplacedDst,Ext.194,194,\
///     ,,,,Chain: 0466452265;Ext.611;Ext.194;";
/// let cdr = CdrParser::new(FieldTemplate::v16_20()).parse_line(1, line)?;
/// let c = classify(&cdr, &DirectionPolicy::default());
/// assert_eq!(c.direction, Direction::Inbound);
/// assert_eq!(c.rule, Rule::ExternalCallerNumber);
/// assert_eq!(c.owner.as_deref(), Some("194"));
/// assert_eq!(c.counterpart.unwrap().as_str(), "0466452265");
/// # Ok::<(), pbx_core::Error>(())
/// ```
pub fn classify(cdr: &Cdr, policy: &DirectionPolicy) -> Classification {
    classify_ref(cdr, policy).to_owned_classification()
}

/// [`classify`] without copying: the owner and the other party borrow from the record.
///
/// ```
/// use pbx_core::cdr::{CdrParser, FieldTemplate, PartyNumberRef};
/// use pbx_core::direction::{classify_ref, Direction, DirectionPolicy};
/// let p = CdrParser::new(FieldTemplate::v16_20());
/// let mut scratch = Vec::new();
/// let cdr = p.parse_ref(1, b"Call 1,a_1,00:00:05,2020/06/29 07:56:32,,,,Ext.101,0466452265,101,,,,,,,,,,", &mut scratch)?;
/// let c = classify_ref(&cdr, &DirectionPolicy::default());
/// assert_eq!((c.direction, c.owner), (Direction::Outbound, Some("101")));
/// assert_eq!(c.counterpart, Some(PartyNumberRef::Number("0466452265")));
/// # Ok::<(), pbx_core::Error>(())
/// ```
pub fn classify_ref<'r, R: CallRecord + ?Sized>(
    cdr: &'r R,
    policy: &DirectionPolicy,
) -> ClassificationRef<'r> {
    let (direction, rule) = decide(cdr, policy);
    let (owner, owner_rule) = match direction {
        Direction::Inbound => answering_extension(cdr, policy),
        Direction::Outbound | Direction::Internal => calling_extension(cdr, policy),
        Direction::Unknown => None,
    }
    .unzip();
    let counterpart = match direction {
        Direction::Inbound => cdr.from_no(),
        Direction::Outbound => dialled_number(cdr, policy),
        Direction::Internal => cdr
            .to_no()
            .or_else(|| cdr.to_dn().map(PartyNumberRef::Extension)),
        Direction::Unknown => None,
    };
    ClassificationRef {
        direction,
        rule,
        owner,
        owner_rule,
        counterpart,
    }
}

fn decide<R: CallRecord + ?Sized>(cdr: &R, policy: &DirectionPolicy) -> (Direction, Rule) {
    // 1. Type fields (a word 3CX does not write counts as absent).
    match known(cdr.from_type()) {
        Some(t) if t.is_external() => return (Direction::Inbound, Rule::FromTypeExternal),
        Some(PartyType::Extension) => {
            let dest = [known(cdr.to_type()), known(cdr.final_type())];
            if dest.iter().any(|t| t.is_some_and(PartyType::is_external)) {
                return (Direction::Outbound, Rule::ToTypeExternal);
            }
            if dest.iter().any(|t| t.is_some_and(is_internal_type)) {
                return (Direction::Internal, Rule::InternalTypes);
            }
        }
        _ => {}
    }
    // 2. Configured trunk DNs.
    if cdr.from_dn().is_some_and(|dn| policy.is_trunk(dn)) {
        return (Direction::Inbound, Rule::FromTrunkDn);
    }
    let from_internal = caller_is_internal(cdr, policy);
    if from_internal
        && [cdr.to_dn(), cdr.final_dn()]
            .iter()
            .any(|dn| dn.is_some_and(|dn| policy.is_trunk(dn)))
    {
        return (Direction::Outbound, Rule::ToTrunkDn);
    }
    // 3. Number patterns.
    if cdr.from_no().is_some_and(|n| policy.is_external(n)) {
        return (Direction::Inbound, Rule::ExternalCallerNumber);
    }
    if from_internal {
        let callees = [cdr.final_number(), cdr.dial_no(), cdr.to_no()];
        if callees
            .iter()
            .any(|n| n.is_some_and(|n| policy.is_external(n)))
        {
            return (Direction::Outbound, Rule::ExternalCalleeNumber);
        }
        let to_internal = callees
            .iter()
            .any(|n| n.is_some_and(|n| policy.is_internal(n)))
            || [cdr.to_dn(), cdr.final_dn()]
                .iter()
                .any(|dn| dn.is_some_and(|dn| policy.is_extension_number(dn)));
        if to_internal {
            return (Direction::Internal, Rule::InternalNumbers);
        }
    }
    (Direction::Unknown, Rule::Undetermined)
}

/// A type field's value when it is a word 3CX writes; an unrecognised word is as absent.
fn known(t: Option<&PartyType>) -> Option<&PartyType> {
    t.filter(|t| t.is_recognised())
}

fn is_internal_type(t: &PartyType) -> bool {
    matches!(
        t,
        PartyType::Extension
            | PartyType::Queue
            | PartyType::RingGroup
            | PartyType::Ivr
            | PartyType::Voicemail
            | PartyType::Script
            | PartyType::Fax
    )
}

fn is_service_type(t: &PartyType) -> bool {
    is_internal_type(t) && *t != PartyType::Extension
}

fn caller_is_internal<R: CallRecord + ?Sized>(cdr: &R, policy: &DirectionPolicy) -> bool {
    cdr.from_no().is_some_and(|n| policy.is_internal(n))
        || (cdr.from_no().is_none()
            && cdr
                .from_dn()
                .is_some_and(|dn| policy.is_extension_number(dn)))
}

/// The extension that owns an inbound call: `final-dn` when it is a person's extension (a
/// transfer's `final-dn` is the last agent) and `final-number` is not an outside number (a
/// call forwarded to a mobile ends on the trunk's DN); when the call ended in voicemail, the mailbox's
/// extension (`final-dn` when the record also shows it as the extension rung, else the last
/// person's extension in the chain); else the last person's extension in the chain, else
/// `to-dn` when it is a person's. Queues, ring groups, IVRs and voicemail (by type field or
/// by [`DirectionPolicy::service_dns`]), trunks and numbers the extension rule rejects are
/// never the owner. A type field holding a word 3CX does not write counts as absent.
fn answering_extension<'r, R: CallRecord + ?Sized>(
    cdr: &'r R,
    policy: &DirectionPolicy,
) -> Option<(&'r str, OwnerRule)> {
    let (to_type, final_type) = (known(cdr.to_type()), known(cdr.final_type()));
    let rung_as_extension =
        |dn: &str| cdr.to_dn() == Some(dn) && to_type == Some(&PartyType::Extension);
    let is_service_dn = |dn: &str| {
        policy.is_service(dn)
            || policy.is_trunk(dn)
            || (cdr.to_dn() == Some(dn) && to_type.is_some_and(is_service_type))
            || (cdr.final_dn() == Some(dn)
                && final_type.is_some_and(is_service_type)
                && !(final_type == Some(&PartyType::Voicemail) && rung_as_extension(dn)))
    };
    let person = |dn: &str| policy.is_owner_extension(dn) && !is_service_dn(dn);
    // A call that ended on an outside number (forwarded to a mobile, transferred out): its
    // `final-dn` is the line it left through, not a person — the chain names who forwarded.
    let ended_outside = cdr.final_number().is_some_and(|n| policy.is_external(n));
    if let Some(dn) = cdr.final_dn().filter(|_| !ended_outside) {
        let by_type = match final_type {
            Some(PartyType::Extension) | None => true,
            // A voicemail DN that is the extension rung: that extension's mailbox.
            Some(PartyType::Voicemail) => rung_as_extension(dn),
            Some(_) => false,
        };
        if by_type && person(dn) {
            return Some((dn, OwnerRule::FinalDn));
        }
    }
    let from_chain = cdr
        .chain()
        .rev()
        .filter_map(|n| n.extension())
        .find(|ext| person(ext));
    if let Some(ext) = from_chain {
        return Some((ext, OwnerRule::ChainLastPerson));
    }
    // A record without final-dn or chain (a missed call in a short layout): the extension it
    // rang, when that is a person's.
    cdr.to_dn()
        .filter(|_| match to_type {
            Some(t) => *t == PartyType::Extension,
            None => true,
        })
        .filter(|dn| person(dn))
        .map(|dn| (dn, OwnerRule::RungExtension))
}

/// The calling extension: `from-dn` when the caller is an extension, else `Ext.` of `from-no`
/// — only a number the extension rule accepts.
fn calling_extension<'r, R: CallRecord + ?Sized>(
    cdr: &'r R,
    policy: &DirectionPolicy,
) -> Option<(&'r str, OwnerRule)> {
    let owner = |dn: &&str| policy.is_owner_extension(dn);
    if let Some(ext) = cdr.from_no().and_then(|n| n.extension()) {
        return cdr
            .from_dn()
            .filter(|dn| policy.is_extension_number(dn) || *dn == ext)
            .filter(owner)
            .map(|dn| (dn, OwnerRule::CallingDn))
            .or(Some(ext)
                .filter(owner)
                .map(|ext| (ext, OwnerRule::CallingExtensionNumber)));
    }
    let from_type_ext = cdr.from_type() == Some(&PartyType::Extension);
    cdr.from_dn()
        .filter(|dn| from_type_ext || policy.is_extension_number(dn))
        .filter(owner)
        .map(|dn| (dn, OwnerRule::CallingDn))
        .or_else(|| match cdr.from_no() {
            Some(PartyNumberRef::Number(n)) if policy.is_owner_extension(n) => {
                Some((n, OwnerRule::CallingNumber))
            }
            _ => None,
        })
}

/// The outside number of an outbound call: the first external one of `final-number`,
/// `dial-no`, `to-no`; else the first one present.
fn dialled_number<'r, R: CallRecord + ?Sized>(
    cdr: &'r R,
    policy: &DirectionPolicy,
) -> Option<PartyNumberRef<'r>> {
    let candidates = [cdr.final_number(), cdr.dial_no(), cdr.to_no()];
    candidates
        .iter()
        .flatten()
        .find(|n| policy.is_external(**n))
        .or_else(|| candidates.iter().flatten().next())
        .copied()
}
