//! Why a call was logged the way it was, or not at all: the mapper's decision trail.
//!
//! [`CallMapper::explain`] (text CDRs) and [`CallMapper::explain_legs`] (database legs) run
//! the very mapping [`CallMapper::map`] runs — the same classification and the same
//! decision code, with a [`Decisions`] trail that keeps what was decided instead of the
//! no-op trail `map` passes — and describe it: the fields used, the direction with the rule
//! that decided and its evidence, the owner with its rule and the field or leg it came from,
//! the other party raw → normalized, the owner's email and where it came from, the talk time
//! and the outcome (the request, the skip reason, or why the record was refused). So the
//! explanation cannot disagree with what is delivered: its [`Explanation::outcome`] is what
//! `map` returns.
//!
//! An [`Explanation`] serializes (serde) as one JSON object and prints (`Display`) as a few
//! readable lines.
//!
//! ```
//! use pbx_core::call::{CallMapper, Mapped};
//! use pbx_core::cdr::{CdrParser, FieldTemplate};
//! use pbx_core::explain::Outcome;
//! use pbx_core::extensions::User;
//! let line = "Call 23194,00000172FF13E364_4449,00:03:43,2020/06/29 07:56:32,2020/06/29 07:56:33,\
//!     2020/06/29 08:00:16,TerminatedBySrc,0466452265,Ext.611,10000,611,611,ReplacedDst,Ext.194,194,\
//!     ,,,,Chain: 0466452265;Ext.611;Ext.194;";
//! let cdr = CdrParser::new(FieldTemplate::v16_20()).parse_line(1, line)?;
//! let mapper = CallMapper::default()
//!     .with_extensions([User::new("194", "eva@example.com")].into_iter().collect());
//! let e = mapper.explain(&cdr);
//! assert_eq!(e.direction.rule, "EXTERNAL_CALLER_NUMBER");
//! assert_eq!(e.owner.extension.as_deref(), Some("194"));
//! assert_eq!(e.owner.rule.as_deref(), Some("FINAL_DN"));
//! assert_eq!(e.email.as_ref().map(|m| m.source.as_str()), Some("map"));
//! // The outcome is what `map` gives.
//! assert_eq!(e.outcome, Outcome::from(mapper.map(&cdr)));
//! assert!(e.to_string().contains("owner      194"));
//! # Ok::<(), pbx_core::Error>(())
//! ```

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use crate::Error;
pub use crate::call::Decisions;
use crate::call::{CallDirection, CallMapper, CallRequest, Mapped, SkipReason};
use crate::cdr::{CallLegs, Cdr, CdrParser, Field, LegParty, PartyNumberRef, assemble_call};
use crate::direction::{ClassificationRef, Rule, classify_ref};
use crate::phone::{NormalizedRef, normalize_visit};
use crate::traits::SourceRecord;

/// One field of the record and its value, as the record holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldUsed {
    /// The 3CX field name (`from-no`), or for a leg its id.
    pub field: String,
    /// The value as read.
    pub value: String,
}

/// One database leg of the call (`cdroutput`), as the leg rules saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LegUsed {
    /// `cdr_id`.
    pub cdr_id: String,
    /// The source party: entity type and DN (`external_line +19075550142`).
    pub source: String,
    /// The destination party.
    pub destination: String,
    /// `cdr_answered_at`, RFC 3339 UTC, when answered.
    pub answered_at: Option<String>,
    /// `cdr_ended_at`, RFC 3339 UTC.
    pub ended_at: Option<String>,
    /// `termination_reason`.
    pub termination_reason: Option<String>,
}

/// How the direction was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectionStep {
    /// `INBOUND`, `OUTBOUND`, `INTERNAL` or `UNKNOWN`.
    pub direction: String,
    /// The rule's code (`FROM_TYPE_EXTERNAL`, …; for database legs the rule the leg types
    /// match).
    pub rule: String,
    /// The rule in words.
    pub because: String,
    /// The fields the rule read, with their values.
    pub evidence: Vec<FieldUsed>,
    /// The `callDirection` sent (`None` when the call is skipped on its direction).
    pub sent_as: Option<CallDirection>,
}

/// How the owner was picked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OwnerStep {
    /// The owning extension, if any.
    pub extension: Option<String>,
    /// The rule's code ([`crate::direction::OwnerRule::code`]).
    pub rule: Option<String>,
    /// The rule in words.
    pub because: Option<String>,
    /// The field (`final-dn`, `chain`, …) or, for database legs, the leg (`leg <cdr_id>`)
    /// the owner was read from.
    pub from: Option<String>,
    /// An owner the record named that is not a person's extension (a DID, queue, trunk, a
    /// number outside the extension rule), refused.
    pub rejected: Option<String>,
}

/// The other party, raw and as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OtherPartyStep {
    /// As the record wrote it (`Ext.` numbers without the prefix).
    pub raw: String,
    /// The `phoneNumber` sent.
    pub normalized: String,
    /// `e164`, `internal`, `extension`, `anonymous` or `invalid`.
    pub kind: String,
    /// The default region numbers without a country code belong to.
    pub region: String,
    /// The number format (`e164`, …).
    pub format: String,
    /// How it was normalized, in words.
    pub rule: String,
}

/// The owner's email and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EmailStep {
    /// The email sent.
    pub email: String,
    /// `map`, `xapi_user` or `default_email` ([`crate::extensions::EmailSource::code`]).
    pub source: String,
    /// The source in words.
    pub because: String,
}

/// How the talk time was counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TalkTimeStep {
    /// Whole seconds (`callDuration`).
    pub seconds: u64,
    /// `duration` (the field), `time-end - time-answered`, `legs` (the answered extension
    /// legs' spans, overlaps once), `forwarded leg` (the outside leg's), or `unanswered`.
    pub from: String,
    /// For database legs: the ids of the legs whose spans were summed.
    pub legs: Vec<String>,
}

/// What became of the call: exactly what [`CallMapper::map`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A call to deliver: this request.
    Call(CallRequest),
    /// Not delivered, and why.
    Skipped(SkipReason),
    /// The record cannot be used (it would be quarantined): the error.
    Refused(Error),
}

impl From<Result<Mapped, Error>> for Outcome {
    fn from(mapped: Result<Mapped, Error>) -> Self {
        match mapped {
            Ok(Mapped::Call(c)) => Outcome::Call(c),
            Ok(Mapped::Skipped(r)) => Outcome::Skipped(r),
            Err(e) => Outcome::Refused(e),
        }
    }
}

/// [`Outcome`] as JSON: `{"kind": "call", "request": {…}}`, `{"kind": "skipped", "reason":
/// "no_owner", "because": "…"}` or `{"kind": "refused", "error_kind": "…", "error": "…"}`.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum OutcomeJson<'a> {
    Call {
        request: &'a CallRequest,
    },
    Skipped {
        reason: &'static str,
        because: String,
    },
    Refused {
        error_kind: &'static str,
        error: String,
    },
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Outcome::Call(request) => OutcomeJson::Call { request },
            Outcome::Skipped(r) => OutcomeJson::Skipped {
                reason: r.kind(),
                because: r.to_string(),
            },
            Outcome::Refused(e) => OutcomeJson::Refused {
                error_kind: e.kind().code(),
                error: e.to_string(),
            },
        }
        .serialize(s)
    }
}

/// Why a call was mapped the way it was: see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Explanation {
    /// The call's `pbxCallId`, when the record has an id.
    pub pbx_call_id: Option<String>,
    /// Where the record is (`line 3`, `row 42`), when known.
    pub location: Option<String>,
    /// The fields the mapping reads, as the record holds them (present ones only).
    pub fields: Vec<FieldUsed>,
    /// For database legs: the legs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub legs: Vec<LegUsed>,
    /// The direction.
    pub direction: DirectionStep,
    /// The owner.
    pub owner: OwnerStep,
    /// The other party (absent when the record names none).
    pub other_party: Option<OtherPartyStep>,
    /// The owner's email (absent when there is no owner or no email).
    pub email: Option<EmailStep>,
    /// The talk time.
    pub talk_time: TalkTimeStep,
    /// The outcome: what `map` returned.
    pub outcome: Outcome,
}

/// The fields the mapping reads, in the order of the 3CX layout.
const FIELDS_READ: [Field; 17] = [
    Field::HistoryId,
    Field::CallId,
    Field::Duration,
    Field::TimeStart,
    Field::TimeAnswered,
    Field::TimeEnd,
    Field::FromNo,
    Field::ToNo,
    Field::FromDn,
    Field::ToDn,
    Field::DialNo,
    Field::FinalNumber,
    Field::FinalDn,
    Field::Chain,
    Field::FromType,
    Field::ToType,
    Field::FinalType,
];

/// The fields each direction rule reads.
fn evidence_fields(rule: Rule) -> &'static [Field] {
    match rule {
        Rule::FromTypeExternal => &[Field::FromType],
        Rule::ToTypeExternal | Rule::InternalTypes => {
            &[Field::FromType, Field::ToType, Field::FinalType]
        }
        Rule::FromTrunkDn => &[Field::FromDn],
        Rule::ToTrunkDn => &[Field::FromNo, Field::FromDn, Field::ToDn, Field::FinalDn],
        Rule::ExternalCallerNumber => &[Field::FromNo],
        Rule::ExternalCalleeNumber => &[
            Field::FromNo,
            Field::FinalNumber,
            Field::DialNo,
            Field::ToNo,
        ],
        Rule::InternalNumbers => &[
            Field::FromNo,
            Field::FinalNumber,
            Field::DialNo,
            Field::ToNo,
            Field::ToDn,
            Field::FinalDn,
        ],
        _ => &[
            Field::FromType,
            Field::ToType,
            Field::FinalType,
            Field::FromDn,
            Field::FromNo,
            Field::ToNo,
            Field::DialNo,
            Field::FinalNumber,
        ],
    }
}

fn field_values(cdr: &Cdr, fields: &[Field]) -> Vec<FieldUsed> {
    fields
        .iter()
        .filter_map(|&f| {
            cdr.get(f).map(|v| FieldUsed {
                field: f.name().to_owned(),
                value: v.to_string(),
            })
        })
        .collect()
}

fn rfc3339(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339())
}

fn party(p: &LegParty) -> String {
    let kind = p.entity_type.as_deref().unwrap_or("?").trim();
    let number = p
        .dn_number
        .as_deref()
        .or(p.participant_phone_number.as_deref())
        .unwrap_or("")
        .trim();
    format!("{kind} {number}").trim_end().to_owned()
}

/// The legs of a database call, as shown.
fn legs_used(call: &CallLegs) -> Vec<LegUsed> {
    call.legs
        .iter()
        .map(|l| LegUsed {
            cdr_id: l.cdr_id.clone(),
            source: party(&l.source),
            destination: party(&l.destination),
            answered_at: rfc3339(l.answered_at),
            ended_at: rfc3339(l.ended_at),
            termination_reason: l.termination_reason.clone(),
        })
        .collect()
}

/// What the legs summary says beyond the classification: where the owner and the talk came
/// from.
struct LegsTrail<'c> {
    call: &'c CallLegs,
    init_leg: Option<usize>,
    owner_leg: Option<usize>,
    talk_legs: Vec<usize>,
    forwarded: bool,
}

impl CallMapper {
    /// Explains how [`CallMapper::map`] maps `cdr` (see [`crate::explain`]): the same
    /// classification and decisions, kept. Never fails: a record `map` refuses is explained
    /// with [`Outcome::Refused`].
    ///
    /// ```
    /// use pbx_core::call::CallMapper;
    /// use pbx_core::cdr::{CdrParser, FieldTemplate};
    /// let line = "Call 1,a_1,00:00:05,2020/06/29 07:56:32,,,,Ext.101,0466452265,101,,,,,,,,,,";
    /// let cdr = CdrParser::new(FieldTemplate::v16_20()).parse_line(1, line)?;
    /// let e = CallMapper::default().explain(&cdr);
    /// assert_eq!(e.direction.direction, "OUTBOUND");
    /// assert_eq!(e.outcome.skip_reason().map(|r| r.kind()), Some("no_owner_email"));
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn explain(&self, cdr: &Cdr) -> Explanation {
        let c = classify_ref(cdr, self.direction());
        self.explain_classified(cdr, &c, None)
    }

    /// Explains one CDR text line (line `number`, read with `parser`) as `pbx-convert` and
    /// the bindings' `map_lines` map it: a blank line is skipped ([`SkipReason::BlankLine`]), a line that does not parse is
    /// [`Outcome::Refused`] with its line, any other is [`CallMapper::explain`]ed.
    ///
    /// ```
    /// use pbx_core::call::CallMapper;
    /// use pbx_core::cdr::CdrParser;
    /// let m = CallMapper::default();
    /// let e = m.explain_line(&CdrParser::default(), 4, b"Call 1,a_1,too few fields");
    /// assert_eq!(e.outcome.kind(), "refused");
    /// assert_eq!(e.location.as_deref(), Some("line 4"));
    /// assert_eq!(m.explain_line(&CdrParser::default(), 5, b"  ").outcome.kind(), "skipped");
    /// ```
    pub fn explain_line(&self, parser: &CdrParser, number: u64, line: &[u8]) -> Explanation {
        let at = crate::Location::Line(number);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Explanation::refused(crate::Error::InvalidCall {
                at: at.clone(),
                reason: "blank line".into(),
            })
            .with_outcome(Outcome::Skipped(SkipReason::BlankLine))
            .at(at.to_string());
        }
        match parser.parse_bytes(number, line) {
            Ok(cdr) => self.explain(&cdr).located_at(&at).at(at.to_string()),
            Err(err) => Explanation::refused(err.located(at.clone())).at(at.to_string()),
        }
    }

    /// Explains how one call given as database legs is mapped ([`CallMapper::map_legs`]):
    /// the legs, the leg the owner came from and the legs whose talk was summed.
    pub fn explain_legs(&self, call: &CallLegs) -> Explanation {
        let cdr = match assemble_call(call) {
            Ok(cdr) => cdr,
            Err(e) => return Explanation::refused_legs(call, e),
        };
        let summary = call.summary();
        let trail = LegsTrail {
            call,
            init_leg: summary.init_leg,
            owner_leg: summary.owner_leg,
            talk_legs: summary.talk_legs.clone(),
            forwarded: summary.owner_by_forward,
        };
        let c = self.classify_summary(call, summary);
        self.explain_classified(&cdr, &c.borrowed(), Some(trail))
    }

    fn explain_classified(
        &self,
        cdr: &Cdr,
        c: &ClassificationRef<'_>,
        legs: Option<LegsTrail<'_>>,
    ) -> Explanation {
        let mut d = Decisions::default();
        let outcome = Outcome::from(self.map_traced(cdr, c, &mut d));
        let is_legs = legs.is_some();
        let direction = DirectionStep {
            direction: c.direction.code().to_owned(),
            rule: c.rule.code().to_owned(),
            because: if is_legs {
                format!("database legs: {}", c.rule)
            } else {
                c.rule.to_string()
            },
            evidence: match &legs {
                // The first leg's parties: what the leg rules read the direction from.
                Some(l) => l
                    .init_leg
                    .and_then(|i| l.call.legs.get(i))
                    .map(|leg| {
                        vec![
                            FieldUsed {
                                field: format!("leg {} source", leg.cdr_id),
                                value: party(&leg.source),
                            },
                            FieldUsed {
                                field: format!("leg {} destination", leg.cdr_id),
                                value: party(&leg.destination),
                            },
                        ]
                    })
                    .unwrap_or_default(),
                None => field_values(cdr, evidence_fields(c.rule)),
            },
            sent_as: d.direction_sent,
        };
        let from = |rule: crate::direction::OwnerRule| match &legs {
            Some(l) => l
                .owner_leg
                .and_then(|i| l.call.legs.get(i))
                .map_or_else(|| "legs".to_owned(), |leg| format!("leg {}", leg.cdr_id)),
            None => rule.field().to_owned(),
        };
        // The classification's owner, or one the mapping picked itself (`Trail::owner`).
        let (owner_dn, owner_rule) = match d.owner {
            Some((dn, rule)) => (Some(dn), Some(rule)),
            None => (
                c.owner.filter(|_| d.owner_rejected.is_none()),
                c.owner_rule.filter(|_| d.owner_rejected.is_none()),
            ),
        };
        let owner = OwnerStep {
            extension: owner_dn.map(str::to_owned),
            rule: owner_rule.map(|r| r.code().to_owned()),
            because: owner_rule.map(|r| r.to_string()),
            from: owner_rule.map(from),
            rejected: d.owner_rejected.map(|dn| {
                format!("{dn} is not a person's extension (extension rule, trunk or service DN)")
            }),
        };
        let other_party = c.counterpart.map(|n| self.other_party(n));
        let email = match (&outcome, d.email) {
            (Outcome::Call(call), Some(source)) => Some(EmailStep {
                email: call.call_owner_email.clone(),
                source: source.code().to_owned(),
                because: source.to_string(),
            }),
            _ => None,
        };
        let talk_time = match &legs {
            Some(l) => TalkTimeStep {
                seconds: cdr.talk_seconds(),
                from: if l.forwarded {
                    "forwarded leg".into()
                } else if l.talk_legs.is_empty() {
                    "unanswered".into()
                } else {
                    "legs".into()
                },
                legs: l
                    .talk_legs
                    .iter()
                    .filter_map(|&i| l.call.legs.get(i))
                    .map(|leg| leg.cdr_id.clone())
                    .collect(),
            },
            None => TalkTimeStep {
                seconds: cdr.talk_seconds(),
                from: match (cdr.duration, cdr.time_answered, cdr.time_end) {
                    (Some(_), _, _) => "duration".into(),
                    (None, Some(a), Some(e)) if e > a => "time-end - time-answered".into(),
                    _ => "unanswered".into(),
                },
                legs: Vec::new(),
            },
        };
        Explanation {
            pbx_call_id: crate::call::pbx_call_id(cdr, &self.options().call_id_prefix),
            location: None,
            fields: field_values(cdr, &FIELDS_READ),
            legs: legs.map(|l| legs_used(l.call)).unwrap_or_default(),
            direction,
            owner,
            other_party,
            email,
            talk_time,
            outcome,
        }
    }

    /// The other party, raw → as sent (the sent text is [`CallMapper::with_phone_number`]'s,
    /// what the request carries).
    fn other_party(&self, n: PartyNumberRef<'_>) -> OtherPartyStep {
        let options = self.options();
        let normalized = self.with_phone_number(n, str::to_owned);
        let (kind, rule) = match n {
            PartyNumberRef::Extension(_) => (
                "extension",
                "an Ext. number: the extension's digits".to_owned(),
            ),
            _ => normalize_visit(
                n.as_str(),
                options.default_region,
                options.number_format,
                self.direction(),
                Some(self.number_cache()),
                |r| match r {
                    NormalizedRef::E164 { extension, .. } => (
                        "e164",
                        format!(
                            "an outside number: libphonenumber, region {}, format {}{}",
                            options.default_region,
                            options.number_format,
                            extension
                                .map_or(String::new(), |x| format!(" (extension {x} dropped)"))
                        ),
                    ),
                    NormalizedRef::Internal { .. } => (
                        "internal",
                        "a bare number the extension rule accepts: an internal extension"
                            .to_owned(),
                    ),
                    NormalizedRef::Anonymous => (
                        "anonymous",
                        "a withheld caller: sent as anonymous".to_owned(),
                    ),
                    NormalizedRef::Invalid { reason, .. } => (
                        "invalid",
                        format!("not a valid number ({reason}): sent as its digits"),
                    ),
                },
            ),
        };
        OtherPartyStep {
            raw: n.as_str().to_owned(),
            normalized,
            kind: kind.to_owned(),
            region: options.default_region.to_string(),
            format: options.number_format.to_string(),
            rule,
        }
    }
}

impl Outcome {
    /// The request of a call to deliver.
    pub fn call(&self) -> Option<&CallRequest> {
        match self {
            Outcome::Call(c) => Some(c),
            _ => None,
        }
    }

    /// Why the call is skipped, if it is.
    pub fn skip_reason(&self) -> Option<&SkipReason> {
        match self {
            Outcome::Skipped(r) => Some(r),
            _ => None,
        }
    }

    /// `call`, `skipped` or `refused`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Call(_) => "call",
            Outcome::Skipped(_) => "skipped",
            Outcome::Refused(_) => "refused",
        }
    }
}

impl Explanation {
    /// An explanation of a record that could not be read at all (a line that does not
    /// parse): the error, nothing decided.
    ///
    /// ```
    /// use pbx_core::explain::Explanation;
    /// let e = Explanation::refused(pbx_core::Error::InvalidCall {
    ///     at: pbx_core::Location::Line(3), reason: "no start".into() });
    /// assert_eq!(e.outcome.kind(), "refused");
    /// ```
    pub fn refused(error: Error) -> Explanation {
        Explanation {
            pbx_call_id: None,
            location: error.location().map(ToString::to_string),
            fields: Vec::new(),
            legs: Vec::new(),
            direction: DirectionStep {
                direction: "UNKNOWN".into(),
                rule: Rule::Undetermined.code().into(),
                because: "the record was not read".into(),
                evidence: Vec::new(),
                sent_as: None,
            },
            owner: OwnerStep {
                extension: None,
                rule: None,
                because: None,
                from: None,
                rejected: None,
            },
            other_party: None,
            email: None,
            talk_time: TalkTimeStep {
                seconds: 0,
                from: "unanswered".into(),
                legs: Vec::new(),
            },
            outcome: Outcome::Refused(error),
        }
    }

    fn refused_legs(call: &CallLegs, error: Error) -> Explanation {
        let mut e = Explanation::refused(error);
        e.legs = legs_used(call);
        e
    }

    /// The same explanation, with where the record is (`line 3`, `row 42`).
    #[must_use]
    pub fn at(mut self, location: impl Into<String>) -> Explanation {
        self.location = Some(location.into());
        self
    }

    /// A refusal's error located at `at` (as the pipeline locates it).
    fn located_at(mut self, at: &crate::Location) -> Explanation {
        if let Outcome::Refused(e) = self.outcome {
            self.outcome = Outcome::Refused(e.located(at.clone()));
        }
        self
    }

    /// The same explanation, with its outcome replaced (the delivery pipeline's range
    /// filter skips a call outside a backfill's range before it is mapped).
    #[must_use]
    pub fn with_outcome(mut self, outcome: Outcome) -> Explanation {
        self.outcome = outcome;
        self
    }
}

/// Shows `Some` or `-`.
fn or_dash(v: Option<&str>) -> &str {
    v.unwrap_or("-")
}

impl fmt::Display for Explanation {
    /// The readable form: one line per step, the request JSON or the skip reason last.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "call       {}", or_dash(self.pbx_call_id.as_deref()))?;
        if let Some(at) = &self.location {
            writeln!(f, "at         {at}")?;
        }
        if !self.fields.is_empty() {
            writeln!(f, "fields")?;
            for u in &self.fields {
                writeln!(f, "  {:<14} {}", u.field, u.value)?;
            }
        }
        if !self.legs.is_empty() {
            writeln!(f, "legs")?;
            for l in &self.legs {
                writeln!(
                    f,
                    "  {}  {} -> {}  answered {}  ended {}  {}",
                    l.cdr_id,
                    l.source,
                    l.destination,
                    or_dash(l.answered_at.as_deref()),
                    or_dash(l.ended_at.as_deref()),
                    or_dash(l.termination_reason.as_deref()),
                )?;
            }
        }
        let d = &self.direction;
        write!(f, "direction  {} by {}: {}", d.direction, d.rule, d.because)?;
        if !d.evidence.is_empty() {
            let ev: Vec<String> = d
                .evidence
                .iter()
                .map(|u| format!("{}={}", u.field, u.value))
                .collect();
            write!(f, " [{}]", ev.join(", "))?;
        }
        match d.sent_as {
            Some(sent) if sent.code() != d.direction => writeln!(f, "; sent as {}", sent.code())?,
            _ => writeln!(f)?,
        }
        let o = &self.owner;
        match (&o.extension, &o.rule) {
            (Some(ext), Some(rule)) => writeln!(
                f,
                "owner      {ext} by {rule} (from {}): {}",
                or_dash(o.from.as_deref()),
                or_dash(o.because.as_deref())
            )?,
            _ => writeln!(f, "owner      none")?,
        }
        if let Some(r) = &o.rejected {
            writeln!(f, "  refused  {r}")?;
        }
        if let Some(p) = &self.other_party {
            writeln!(
                f,
                "other      {} -> {} ({}; {})",
                p.raw, p.normalized, p.kind, p.rule
            )?;
        }
        if let Some(m) = &self.email {
            writeln!(f, "email      {} from {}", m.email, m.because)?;
        }
        let t = &self.talk_time;
        write!(f, "talk       {} s from {}", t.seconds, t.from)?;
        if t.legs.is_empty() {
            writeln!(f)?;
        } else {
            writeln!(f, " [{}]", t.legs.join(", "))?;
        }
        match &self.outcome {
            Outcome::Call(c) => write!(
                f,
                "outcome    call {}",
                serde_json::to_string(c).unwrap_or_default()
            ),
            Outcome::Skipped(r) => write!(f, "outcome    skipped {}: {r}", r.kind()),
            Outcome::Refused(e) => write!(f, "outcome    refused: {e}"),
        }
    }
}

impl crate::delivery::Pipeline {
    /// Explains what [`Pipeline::prepare`](crate::delivery::Pipeline::prepare) decides for
    /// one record of a source: a CDR line parsed with the pipeline's parser, a `cdroutput`
    /// call by its legs, a site-table row — each explained by the mapper
    /// ([`CallMapper::explain`], [`CallMapper::explain_legs`]), with where the record is. A
    /// record that does not parse is explained with [`Outcome::Refused`].
    ///
    /// ```
    /// use pbx_core::{Checkpoint, RawRecord, SourceRecord};
    /// use pbx_core::delivery::Pipeline;
    /// let line = "Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,\
    ///     2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,\
    ///     Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,";
    /// let rec = SourceRecord { checkpoint: Checkpoint::new("1"),
    ///     record: Ok(RawRecord::Line { number: 7, text: line.as_bytes().to_vec() }) };
    /// let e = Pipeline::default().explain(&rec);
    /// assert_eq!(e.location.as_deref(), Some("line 7"));
    /// assert_eq!(e.owner.extension.as_deref(), Some("101"));
    /// ```
    pub fn explain(&self, record: &SourceRecord) -> Explanation {
        use crate::traits::RawRecord;
        match &record.record {
            Err(e) => Explanation::refused(e.clone()),
            // As `prepare`: parsed as it is (a blank line is the parser's error there too).
            Ok(RawRecord::Line { number, text }) => {
                let at = crate::Location::Line(*number);
                match self.parser.parse_bytes(*number, text) {
                    Ok(cdr) => self.mapper.explain(&cdr).located_at(&at).at(at.to_string()),
                    Err(err) => Explanation::refused(err.located(at.clone())).at(at.to_string()),
                }
            }
            Ok(RawRecord::Legs(legs)) => {
                let at = crate::Location::Row(legs.main_call_history_id.clone());
                let e = self.mapper.explain_legs(legs);
                e.located_at(&at).at(format!(
                    "cdroutput main_call_history_id={} ({} legs)",
                    legs.main_call_history_id,
                    legs.legs.len()
                ))
            }
            Ok(RawRecord::Cdr(cdr)) => self.mapper.explain(cdr),
            Ok(RawRecord::Row { id, cdr }) => {
                let at = crate::Location::Row(id.to_string());
                let e = self.mapper.explain(cdr);
                e.located_at(&at).at(format!("site table row {id}"))
            }
        }
    }
}

/// Which call to explain, as an operator names it.
///
/// ```
/// use pbx_core::explain::CallQuery;
/// let q = CallQuery::parse("3cx-40001-000001A19D361A38_5204");
/// assert_eq!(q, CallQuery::Id("3cx-40001-000001A19D361A38_5204".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallQuery {
    /// A `pbxCallId`, a 3CX history id or call id, or for database sources a
    /// `main_call_history_id`, a leg's `cdr_id` or a site-table row id.
    Id(String),
    /// Line `N` of a CDR text source (1-based).
    Line(u64),
}

impl CallQuery {
    /// An id as given (surrounding white space removed).
    pub fn parse(id: &str) -> CallQuery {
        CallQuery::Id(id.trim().to_owned())
    }

    /// The call an `explain` caller names by an id or a line: line `N` when given (it wins
    /// over an id), else the id ([`CallQuery::parse`]); `None` when neither is given.
    ///
    /// ```
    /// use pbx_core::explain::CallQuery;
    /// assert_eq!(CallQuery::from_parts(Some("40001"), Some(3)), Some(CallQuery::Line(3)));
    /// assert_eq!(CallQuery::from_parts(Some(" 40001 "), None), Some(CallQuery::parse("40001")));
    /// assert_eq!(CallQuery::from_parts(None, None), None);
    /// ```
    pub fn from_parts(id: Option<&str>, line: Option<u64>) -> Option<CallQuery> {
        match (id, line) {
            (_, Some(n)) => Some(CallQuery::Line(n)),
            (id, None) => id.map(CallQuery::parse),
        }
    }
}

impl fmt::Display for CallQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallQuery::Id(id) => write!(f, "id {id}"),
            CallQuery::Line(n) => write!(f, "line {n}"),
        }
    }
}

impl crate::delivery::Pipeline {
    /// Whether `record` is the call `query` names: for a CDR line its number, `historyid`,
    /// `callid` or `pbxCallId`; for database legs the `main_call_history_id`, a leg's
    /// `cdr_id` or `call_history_id`, or the `pbxCallId`; for a site-table row its id or the
    /// record's ids. A line that does not parse matches only by number.
    ///
    /// ```
    /// use pbx_core::{Checkpoint, RawRecord, SourceRecord};
    /// use pbx_core::delivery::Pipeline;
    /// use pbx_core::explain::CallQuery;
    /// let p = Pipeline::default();
    /// let line = "Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,\
    ///     2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,\
    ///     Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,";
    /// let rec = SourceRecord { checkpoint: Checkpoint::new("1"), record: Ok(RawRecord::Line {
    ///     number: 3, text: line.as_bytes().to_vec() }) };
    /// assert!(p.matches(&rec, &CallQuery::parse("40001")));
    /// assert!(p.matches(&rec, &CallQuery::parse("3cx-40001-000001A19D361A38_5204")));
    /// assert!(p.matches(&rec, &CallQuery::Line(3)));
    /// assert!(!p.matches(&rec, &CallQuery::parse("40002")));
    /// ```
    pub fn matches(&self, record: &SourceRecord, query: &CallQuery) -> bool {
        use crate::traits::RawRecord;
        let prefix = &self.mapper.options().call_id_prefix;
        let by_ids = |cdr: &Cdr, id: &str| {
            cdr.history_id.as_deref() == Some(id)
                || cdr.call_id.as_deref() == Some(id)
                || crate::call::pbx_call_id(cdr, prefix).as_deref() == Some(id)
        };
        match (&record.record, query) {
            (Ok(RawRecord::Line { number, .. }), CallQuery::Line(n)) => number == n,
            (Ok(RawRecord::Line { number, text }), CallQuery::Id(id)) => {
                // Only lines that mention the id are parsed.
                let mentions = text.windows(id.len().max(1)).any(|w| w == id.as_bytes())
                    || id.starts_with(prefix.as_str());
                mentions
                    && self
                        .parser
                        .parse_bytes(*number, text)
                        .is_ok_and(|cdr| by_ids(&cdr, id))
            }
            (Ok(RawRecord::Legs(call)), CallQuery::Id(id)) => {
                call.main_call_history_id == *id
                    || call
                        .legs
                        .iter()
                        .any(|l| l.cdr_id == *id || l.call_history_id == *id)
                    || assemble_call(call).is_ok_and(|cdr| by_ids(&cdr, id))
            }
            (Ok(RawRecord::Row { id: row, cdr }), CallQuery::Id(id)) => {
                row.to_string() == *id || by_ids(cdr, id)
            }
            (Ok(RawRecord::Cdr(cdr)), CallQuery::Id(id)) => by_ids(cdr, id),
            _ => false,
        }
    }
}
