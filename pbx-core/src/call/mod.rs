//! A CDR → the call API's `PbxCallRequest`, or a skip with its reason.

use chrono::{DateTime, Utc};

use crate::cdr::LegSummary;
use crate::cdr::{CallLegs, CallRecord, Cdr, PartyNumber, PartyNumberRef, assemble_call};
use crate::direction::{
    Classification, ClassificationRef, Direction, DirectionPolicy, OwnerRule, Rule, classify,
    classify_ref,
};
use crate::error::{Error, Location};
use crate::extensions::ExtensionMap;
use crate::missed::{
    MissedCalls, MissedRoute, answered_outside, nobody_answered, reached_by_legs, reached_dns,
    single_extension_rung,
};
#[cfg(doc)]
use crate::phone::Normalized;
use crate::phone::{NormalizedRef, NumberCache, api_number, normalize_visit};
/// The timezone parser, where it was first published (it lives in [`crate::zone`]).
pub use crate::zone::parse_timezone;

mod json;
mod options;
mod request;
mod skip;
mod timestamp;
mod trail;

use json::{CallId, CallParts, write_call_json};
pub use json::{MappedJson, pbx_call_id};
pub use options::{MappingCodes, MappingOptions};
pub use request::{CallDirection, CallRequest, InternalCalls, Mapped};
pub use skip::SkipReason;
pub use timestamp::{ApiTimestamp, api_timestamp};
pub use trail::Decisions;
pub(crate) use trail::Trail;

/// The skip of a missed call no route logs.
fn missed_skip(route: MissedRoute<'_>) -> SkipReason {
    match route {
        MissedRoute::Unrouted { dn } => SkipReason::MissedUnrouted { dn },
        MissedRoute::OutsideHours { .. } => SkipReason::MissedOutsideHours,
        MissedRoute::Routed { .. } => SkipReason::NoOwner,
    }
}

/// The expectation of a `phoneNumber` error for a number holding a control character.
const CONTROL_IN_NUMBER: &str = "the other party's number without control characters (a NUL or another control byte means a damaged record)";

/// Maps CDRs to call requests: classifies the direction, picks the owner and the other party,
/// looks up the owner's email and formats the request.
///
/// ```
/// use pbx_core::call::{CallMapper, Mapped};
/// use pbx_core::cdr::{CdrParser, FieldTemplate};
/// use pbx_core::extensions::{ExtensionMap, User};
/// let line = "Call 288831,4cc2c72490010000_26808,00:00:25,2024/06/17 05:59:49,2024/06/17 05:59:58,\
///     2024/06/17 06:00:23,TerminatedBySrc,Ext.10016,+46703014082,10016,10020,+46703014082,,\
///     +46703014082,10020,default,1,0.43,default,Chain: Ext.10016;+46703014082;,Extension,Line,\
///     Line,Backup no2,+46703014082,+46703014082,";
/// let cdr = CdrParser::new(FieldTemplate::v20_27()).parse_line(1, line)?;
/// let mut mapper = CallMapper::default()
///     .with_extensions([User::new("10016", "backup@example.com")].into_iter().collect());
/// mapper.options_mut().timezone = chrono_tz::Europe::Stockholm;
/// let Mapped::Call(call) = mapper.map(&cdr)? else { panic!("skipped") };
/// assert_eq!(call.phone_number, "+46703014082");
/// assert_eq!(call.call_owner_extension, "10016");
/// assert_eq!(call.call_duration, 25);
/// assert_eq!(call.timestamp, "2024-06-17T07:59:49.000+02:00");
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct CallMapper {
    /// How to tell directions when type fields do not.
    direction: DirectionPolicy,
    /// Timezone, internal calls, id prefix.
    options: MappingOptions,
    /// Extension → user.
    extensions: ExtensionMap,
    /// libphonenumber's answers for numbers seen before (never changes a result; a clone
    /// starts empty).
    number_cache: NumberCache,
    /// Who calls back a missed call ([`crate::missed`]).
    missed: MissedCalls,
}

impl CallMapper {
    /// A mapper with these settings (and an empty number cache).
    ///
    /// ```
    /// use pbx_core::call::{CallMapper, MappingOptions};
    /// use pbx_core::direction::DirectionPolicy;
    /// use pbx_core::extensions::{ExtensionMap, User};
    /// let mut options = MappingOptions::default();
    /// options.timezone = pbx_core::call::parse_timezone("timezone", "America/Anchorage")?;
    /// let users: ExtensionMap = [User::new("101", "a@example.com")].into_iter().collect();
    /// let mapper = CallMapper::new(options, DirectionPolicy::default(), users);
    /// assert_eq!(mapper.options().timezone, chrono_tz::America::Anchorage);
    /// assert_eq!(mapper.extensions().len(), 1);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn new(
        options: MappingOptions,
        direction: DirectionPolicy,
        extensions: ExtensionMap,
    ) -> Self {
        CallMapper {
            direction,
            options,
            extensions,
            number_cache: NumberCache::default(),
            missed: MissedCalls::default(),
        }
    }

    /// The same mapper with these missed-call rules ([`crate::missed`]).
    #[must_use]
    pub fn with_missed_calls(mut self, missed: MissedCalls) -> Self {
        self.missed = missed;
        self
    }

    /// The missed-call rules.
    pub fn missed_calls(&self) -> &MissedCalls {
        &self.missed
    }

    /// The missed-call rules, to change in place (the business hours read from 3CX at start).
    ///
    /// ```
    /// let mut mapper = pbx_core::call::CallMapper::default();
    /// mapper.missed_calls_mut().enabled = false;
    /// assert!(!mapper.missed_calls().enabled);
    /// ```
    pub fn missed_calls_mut(&mut self) -> &mut MissedCalls {
        &mut self.missed
    }

    /// The same mapper with these mapping options.
    #[must_use]
    pub fn with_options(mut self, options: MappingOptions) -> Self {
        self.options = options;
        self
    }

    /// The same mapper with this direction policy.
    #[must_use]
    pub fn with_direction(mut self, direction: DirectionPolicy) -> Self {
        self.direction = direction;
        self
    }

    /// The same mapper with this extension map.
    #[must_use]
    pub fn with_extensions(mut self, extensions: ExtensionMap) -> Self {
        self.extensions = extensions;
        self
    }

    /// Replaces the extension map in place (the users refreshed from 3CX while a service
    /// runs); the number cache is kept.
    ///
    /// ```
    /// use pbx_core::call::CallMapper;
    /// use pbx_core::extensions::User;
    /// let mut mapper = CallMapper::default();
    /// mapper.set_extensions([User::new("101", "a@example.com")].into_iter().collect());
    /// assert_eq!(mapper.extensions().email_for("101"), Some("a@example.com"));
    /// ```
    pub fn set_extensions(&mut self, extensions: ExtensionMap) {
        self.extensions = extensions;
    }

    /// The mapping options (timezone, internal calls, id prefix, region, number format).
    pub fn options(&self) -> &MappingOptions {
        &self.options
    }

    /// The mapping options, to change one in place (the number cache stays valid: it is
    /// keyed by region and format).
    ///
    /// ```
    /// use pbx_core::call::CallMapper;
    /// let mut mapper = CallMapper::default();
    /// mapper.options_mut().timezone = chrono_tz::Europe::Stockholm;
    /// assert_eq!(mapper.options().timezone, chrono_tz::Europe::Stockholm);
    /// ```
    pub fn options_mut(&mut self) -> &mut MappingOptions {
        &mut self.options
    }

    /// The direction policy, to change in place.
    pub fn direction_mut(&mut self) -> &mut DirectionPolicy {
        &mut self.direction
    }

    /// The direction policy.
    pub fn direction(&self) -> &DirectionPolicy {
        &self.direction
    }

    /// The extension map.
    pub fn extensions(&self) -> &ExtensionMap {
        &self.extensions
    }

    /// The cache of libphonenumber's answers (for tests and metrics: it never changes a
    /// result).
    pub fn number_cache(&self) -> &NumberCache {
        &self.number_cache
    }

    /// Classifies the call (exposed for logs: the rule that decided).
    pub fn classify(&self, cdr: &Cdr) -> Classification {
        classify(cdr, &self.direction)
    }

    /// The `phoneNumber` for a party, normalized by [`crate::phone`] with
    /// [`MappingOptions::default_region`] and the direction policy's extension rule: the E.164
    /// number (without any extension suffix) for an external number, the digits of an internal
    /// extension, `anonymous` for a withheld caller. A number that cannot be normalized
    /// ([`Normalized::Invalid`]) is not dropped: it is sent as [`api_number`] writes it
    /// (its digits, a leading `+` kept; the text itself when it has no digit) — except that
    /// [`CallMapper::map`] refuses a call whose number holds a control character or, being
    /// invalid, more than [`crate::phone::E164_MAX_DIGITS`] digits.
    ///
    /// ```
    /// use pbx_core::call::CallMapper;
    /// use pbx_core::cdr::PartyNumber;
    /// let m = CallMapper::default();
    /// assert_eq!(m.phone_number(&PartyNumber::parse("(907) 555-1234")), "+19075551234");
    /// assert_eq!(m.phone_number(&PartyNumber::parse("Ext.101")), "101");
    /// assert_eq!(m.phone_number(&PartyNumber::parse("Anonymous")), "anonymous");
    /// assert_eq!(m.phone_number(&PartyNumber::parse("12-34")), "1234");
    /// ```
    pub fn phone_number(&self, n: &PartyNumber) -> String {
        self.with_phone_number(n.borrowed(), str::to_owned)
    }

    /// [`CallMapper::phone_number`] without building a `String`: `f` sees the text (borrowed
    /// from the number, a stack buffer or the number cache).
    ///
    /// ```
    /// use pbx_core::call::CallMapper;
    /// use pbx_core::cdr::PartyNumberRef;
    /// let m = CallMapper::default();
    /// assert_eq!(m.with_phone_number(PartyNumberRef::parse("(907) 555-1234"), str::len), 12);
    /// ```
    pub fn with_phone_number<T>(&self, n: PartyNumberRef<'_>, f: impl FnOnce(&str) -> T) -> T {
        if let PartyNumberRef::Extension(ext) = n {
            return f(ext);
        }
        normalize_visit(
            n.as_str(),
            self.options.default_region,
            self.options.number_format,
            &self.direction,
            Some(&self.number_cache),
            |normalized| match normalized {
                NormalizedRef::E164 { value, .. } | NormalizedRef::Internal { value } => f(value),
                NormalizedRef::Anonymous => f("anonymous"),
                _ => f(&api_number(&n.into())),
            },
        )
    }

    /// Classifies a call from its database legs ([`CallLegs::summary`]: owner, other party and
    /// direction by the leg rules), with the rule named after the entity types that decided.
    /// An owner the site's extension rule does not accept
    /// ([`DirectionPolicy::is_owner_extension`]) is dropped: a call's owner is always a person.
    /// With the missed-call rules on ([`crate::missed`]), an inbound call nobody answered
    /// that rang exactly one extension is that extension's
    /// ([`crate::missed::single_extension_rung`]).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use pbx_core::call::CallMapper;
    /// use pbx_core::cdr::{group_legs, CdrLeg, LegParty};
    /// let t = |s| Some(Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, s).unwrap());
    /// let party = |entity: &str, dn: &str| LegParty { entity_type: Some(entity.into()),
    ///     dn_number: Some(dn.into()), participant_phone_number: Some(dn.into()), ..Default::default() };
    /// // Nobody answered the Support queue; the caller gave up.
    /// let leg = CdrLeg { cdr_id: "a".into(), main_call_history_id: "m".into(),
    ///     source: party("external_line", "+19075550142"), destination: party("queue", "800"),
    ///     started_at: t(0), answered_at: t(1), ended_at: t(40), ..Default::default() };
    /// let c = CallMapper::default().classify_legs(&group_legs(vec![leg])[0]);
    /// assert_eq!(c.owner, None);
    /// ```
    pub fn classify_legs(&self, call: &CallLegs) -> Classification {
        self.classify_summary(call, call.summary())
    }

    /// [`CallMapper::classify_legs`] from the legs' summary.
    pub(crate) fn classify_summary(&self, call: &CallLegs, summary: LegSummary) -> Classification {
        let rule = match summary.direction {
            Direction::Inbound => Rule::FromTypeExternal,
            Direction::Outbound => Rule::ToTypeExternal,
            Direction::Internal => Rule::InternalTypes,
            _ => Rule::Undetermined,
        };
        // A missed call that rang exactly one extension belongs to it ([`crate::missed`]).
        let missed = || {
            (self.missed.enabled
                && summary.direction == Direction::Inbound
                && nobody_answered(call))
            .then(|| single_extension_rung(call).map(str::to_owned))
            .flatten()
        };
        let (owner, missed_rung) = match summary.owner.clone() {
            Some(o) => (Some(o), false),
            None => (missed(), true),
        };
        let owner = owner.filter(|o| self.direction.is_owner_extension(o));
        let owner_rule = owner.as_ref().map(|_| match summary.direction {
            _ if missed_rung => OwnerRule::MissedRungExtension,
            Direction::Inbound if summary.owner_by_forward => OwnerRule::LegForwardedOutside,
            Direction::Inbound if summary.owner_by_voicemail => OwnerRule::LegVoicemail,
            Direction::Inbound => OwnerRule::LegAnswered,
            _ => OwnerRule::LegCaller,
        });
        Classification {
            direction: summary.direction,
            rule,
            owner,
            owner_rule,
            counterpart: summary.counterpart,
        }
    }

    /// Maps one call given as database legs: the legs assembled into a record
    /// ([`assemble_call`]: start time, id, talk time), classified by the leg rules
    /// ([`CallMapper::classify_legs`]).
    ///
    /// # Errors
    /// As [`assemble_call`] and [`CallMapper::map`].
    pub fn map_legs(&self, call: &CallLegs) -> Result<Mapped, Error> {
        self.map_assembled_legs(call, &assemble_call(call)?)
    }

    /// [`CallMapper::map_legs`] for legs already assembled into `cdr` ([`assemble_call`] of
    /// the same legs): classified by the leg rules, and a missed call (nobody picked up)
    /// routed by the DNs the legs reached ([`crate::missed`]).
    ///
    /// # Errors
    /// As [`CallMapper::map`].
    pub fn map_assembled_legs(&self, call: &CallLegs, cdr: &Cdr) -> Result<Mapped, Error> {
        let mut c = self.classify_legs(call);
        if c.direction == Direction::Inbound && c.owner.is_none() {
            // No owner: a missed call is routed by the DNs the legs reached (their types say
            // which are queues, ring groups and IVRs); any other has no owner.
            let start = cdr.time_start.unwrap_or_default();
            let region = self.options.default_region;
            let route = nobody_answered(call)
                .then(|| self.missed.route(&reached_by_legs(call), region, start))
                .flatten();
            match route {
                Some(MissedRoute::Routed { extension, .. }) => {
                    c.owner = Some(extension.to_owned());
                    if cdr.duration.is_some() {
                        // A missed call has no talk time, whatever a leg's clock says.
                        let unanswered = Cdr {
                            duration: None,
                            ..cdr.clone()
                        };
                        return self.map_classified(&unanswered, &c);
                    }
                }
                Some(other) => return Ok(Mapped::Skipped(missed_skip(other))),
                None => return Ok(Mapped::Skipped(SkipReason::NoOwner)),
            }
        }
        self.map_classified(cdr, &c)
    }

    /// Maps one CDR.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] (with [`Location::Unknown`]; see [`Error::located`]) when the
    /// record lacks what every call needs: a start time (`time-start`) or an id (`historyid` /
    /// `callid`); for a call to deliver, with field `phoneNumber` when the other party's
    /// number holds a control character (a NUL) or, where libphonenumber finds no number,
    /// more than [`crate::phone::E164_MAX_DIGITS`] digits.
    pub fn map(&self, cdr: &Cdr) -> Result<Mapped, Error> {
        self.map_record(cdr)
    }

    /// [`CallMapper::map`] for a record read from line `line` of a CDR text (`None`: not
    /// from a line): an error names that line — what the bindings' `to_call_request` /
    /// `toCallRequest` and `map_lines` / `mapLines` give for each record.
    ///
    /// ```
    /// use pbx_core::call::CallMapper;
    /// use pbx_core::cdr::{CdrParser, FieldTemplate};
    /// use pbx_core::Location;
    /// let parser = CdrParser::new(FieldTemplate::v16_20());
    /// let cdr = parser.parse_line(7, "Call 1,,,,,,,Ext.101,Ext.102,101,102,,,,,,,,,")?;
    /// let err = CallMapper::default().map_at(&cdr, Some(7)).unwrap_err();
    /// assert_eq!(err.location(), Some(&Location::Line(7)));
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`CallMapper::map`], located at `line`.
    pub fn map_at(&self, cdr: &Cdr, line: Option<u64>) -> Result<Mapped, Error> {
        self.map(cdr).map_err(|e| match line {
            Some(n) => e.located(Location::Line(n)),
            None => e,
        })
    }

    /// [`CallMapper::map`] for any record: an owned [`Cdr`] or a borrowed
    /// [`crate::cdr::CdrRef`] (the decisions are the same code).
    ///
    /// # Errors
    /// As [`CallMapper::map`].
    pub fn map_record<R: CallRecord + ?Sized>(&self, cdr: &R) -> Result<Mapped, Error> {
        let c = classify_ref(cdr, &self.direction);
        self.map_traced(cdr, &c, &mut ())
    }

    /// The one mapping of a classified record: [`CallMapper::map`] with no trail (`()`),
    /// [`CallMapper::explain`] with a [`Decisions`] trail that keeps what was decided.
    pub(crate) fn map_traced<'a, R: CallRecord + ?Sized, T: Trail<'a>>(
        &'a self,
        cdr: &'a R,
        c: &ClassificationRef<'a>,
        trail: &mut T,
    ) -> Result<Mapped, Error> {
        Ok(match self.call_parts(cdr, c, trail)? {
            Ok(parts) => Mapped::Call(self.call_request(parts)),
            Err(skip) => Mapped::Skipped(skip),
        })
    }

    /// Maps one CDR already classified by [`CallMapper::classify`].
    ///
    /// # Errors
    /// As [`CallMapper::map`].
    pub fn map_classified(&self, cdr: &Cdr, c: &Classification) -> Result<Mapped, Error> {
        self.map_traced(cdr, &c.borrowed(), &mut ())
    }

    /// Maps one record and, for a call to deliver, appends its request's JSON (exactly
    /// `serde_json::to_writer` of the [`CallRequest`] [`CallMapper::map`] gives) to `out`,
    /// without building the request: the allocation-free hot path (reuse `out` for every
    /// record).
    ///
    /// ```
    /// use pbx_core::call::{CallMapper, Mapped, MappedJson};
    /// use pbx_core::cdr::{CdrParser, FieldTemplate};
    /// use pbx_core::extensions::User;
    /// let line = b"Call 1,a_1,00:00:05,2020/06/29 07:56:32,,,,Ext.101,0466452265,101,,,,,,,,,,";
    /// let parser = CdrParser::new(FieldTemplate::v16_20());
    /// let mapper = CallMapper::default()
    ///     .with_extensions([User::new("101", "a@example.com")].into_iter().collect());
    /// let (mut scratch, mut out) = (Vec::new(), Vec::new());
    /// let cdr = parser.parse_ref(1, line, &mut scratch)?;
    /// assert_eq!(mapper.map_json(&cdr, &mut out)?, MappedJson::Call);
    /// let Mapped::Call(call) = mapper.map_record(&cdr)? else { panic!() };
    /// assert_eq!(out, serde_json::to_vec(&call).unwrap());
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`CallMapper::map`].
    pub fn map_json<R: CallRecord + ?Sized>(
        &self,
        cdr: &R,
        out: &mut Vec<u8>,
    ) -> Result<MappedJson, Error> {
        let c = classify_ref(cdr, &self.direction);
        let parts = match self.call_parts(cdr, &c, &mut ())? {
            Ok(parts) => parts,
            Err(skip) => return Ok(MappedJson::Skipped(skip)),
        };
        let timestamp = ApiTimestamp::new(parts.start, self.options.timezone);
        let mut write = |phone_number: &str| {
            write_call_json(out, &parts, phone_number, timestamp.as_str());
        };
        match parts.counterpart {
            Some(n) => self.with_phone_number(n, write),
            None => write(""),
        }
        Ok(MappedJson::Call)
    }

    /// The owned request of a call to deliver.
    fn call_request(&self, parts: CallParts<'_>) -> CallRequest {
        CallRequest {
            phone_number: parts
                .counterpart
                .map(|n| self.with_phone_number(n, str::to_owned))
                .unwrap_or_default(),
            call_duration: parts.talk_seconds,
            call_owner_extension: parts.owner.to_owned(),
            call_owner_email: parts.email.to_owned(),
            call_direction: parts.direction,
            timestamp: api_timestamp(parts.start, self.options.timezone),
            pbx_call_id: parts.call_id.to_string(),
        }
    }

    /// The mapping decisions, once for every form of record and output: what every call
    /// needs, the direction sent, the owner and its email, or why the call is skipped.
    ///
    /// `trail` is told each decision as it is taken (`()` forgets them: the hot path;
    /// [`Decisions`] keeps them for [`CallMapper::explain`]). A new decision (an owner rule,
    /// a skip) is recorded here, where it is taken, so the explanation cannot disagree.
    fn call_parts<'a, R: CallRecord + ?Sized, T: Trail<'a>>(
        &'a self,
        cdr: &'a R,
        c: &ClassificationRef<'a>,
        trail: &mut T,
    ) -> Result<Result<CallParts<'a>, SkipReason>, Error> {
        let missing = |field: &'static str, expected: &'static str| Error::InvalidValue {
            at: Location::Unknown,
            field,
            value: String::new(),
            expected,
        };
        let start = cdr
            .time_start()
            .ok_or_else(|| missing("time-start", "the call's start time (every call needs one)"))?;
        let call_id = CallId::of(cdr, &self.options.call_id_prefix)
            .ok_or_else(|| missing("historyid", "a history id or call id to identify the call"))?;
        let direction = match (c.direction, self.options.internal_calls) {
            (Direction::Inbound, _) => CallDirection::Inbound,
            (Direction::Outbound, _) | (Direction::Internal, InternalCalls::AsOutbound) => {
                CallDirection::Outbound
            }
            (Direction::Internal, InternalCalls::Skip) => {
                return Ok(Err(SkipReason::Internal));
            }
            _ => return Ok(Err(SkipReason::UnknownDirection)),
        };
        // The owner is always a person: an extension by the site's extension rule, never a
        // DID, trunk, queue, ring group or IVR (whatever classified the call).
        trail.direction_sent(direction);
        let mut talk_seconds = cdr.talk_seconds();
        let owner = match c.owner {
            Some(owner) if self.direction.is_owner_extension(owner) => owner,
            Some(rejected) => {
                trail.owner_rejected(rejected);
                return Ok(Err(SkipReason::NoOwner));
            }
            // A missed call: routed to the person who calls back ([`crate::missed`]).
            None => match self.missed_owner(cdr, c.direction, start) {
                Ok(extension) => {
                    talk_seconds = 0;
                    trail.owner(extension, OwnerRule::MissedRoute);
                    extension
                }
                Err(skip) => return Ok(Err(skip)),
            },
        };
        let Some((email, source)) = self.extensions.email_source(owner) else {
            return Ok(Err(SkipReason::NoOwnerEmail {
                extension: owner.to_owned(),
            }));
        };
        trail.email(source);
        if let Some(n) = c.counterpart {
            self.check_sendable(n)?;
        }
        Ok(Ok(CallParts {
            start,
            call_id,
            direction,
            owner,
            email,
            counterpart: c.counterpart,
            talk_seconds,
        }))
    }

    /// The owner of a record without one: for an inbound call nobody answered (not even on
    /// a mobile), the extension the missed-call routes give the DNs it reached; else why it
    /// is skipped.
    fn missed_owner<R: CallRecord + ?Sized>(
        &self,
        cdr: &R,
        direction: Direction,
        start: DateTime<Utc>,
    ) -> Result<&str, SkipReason> {
        if direction != Direction::Inbound || answered_outside(cdr, &self.direction) {
            return Err(SkipReason::NoOwner);
        }
        let reached = reached_dns(cdr, &self.direction);
        match self
            .missed
            .route(&reached, self.options.default_region, start)
        {
            Some(MissedRoute::Routed { extension, .. })
                if self.direction.is_owner_extension(extension) =>
            {
                Ok(extension)
            }
            Some(other @ (MissedRoute::Unrouted { .. } | MissedRoute::OutsideHours { .. })) => {
                Err(missed_skip(other))
            }
            _ => Err(SkipReason::NoOwner),
        }
    }

    /// Refuses a counterpart no `phoneNumber` can be made of: one holding a control character
    /// (a NUL: the record is damaged, and its digits alone would pass for another number), or
    /// one libphonenumber rejects with more digits than E.164 allows
    /// ([`crate::phone::E164_MAX_DIGITS`]), which [`api_number`] would otherwise pass through.
    /// A byte scan; libphonenumber only runs for the rare number over 15 digits (it may
    /// still be a number with an extension).
    fn check_sendable(&self, n: PartyNumberRef<'_>) -> Result<(), Error> {
        let raw = n.as_str();
        let refuse = |expected: &'static str| {
            Err(Error::InvalidValue {
                at: Location::Unknown,
                field: "phoneNumber",
                value: raw.to_owned(),
                expected,
            })
        };
        // One pass over the bytes: the digits, and any control character that is not white
        // space (`char::is_control` minus `char::is_whitespace`: C0 but tab to CR, DEL, C1
        // but NEL, which UTF-8 writes as 0xC2 0x80–0x9F).
        let bytes = raw.as_bytes();
        let mut digits = 0usize;
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'0'..=b'9' => digits += 1,
                0x00..=0x08 | 0x0e..=0x1f | 0x7f => {
                    return refuse(CONTROL_IN_NUMBER);
                }
                0xc2 if matches!(bytes.get(i + 1), Some(0x80..=0x84 | 0x86..=0x9f)) => {
                    return refuse(CONTROL_IN_NUMBER);
                }
                _ => {}
            }
        }
        if matches!(n, PartyNumberRef::Extension(_)) || digits <= crate::phone::E164_MAX_DIGITS {
            return Ok(());
        }
        let invalid = normalize_visit(
            raw,
            self.options.default_region,
            self.options.number_format,
            &self.direction,
            Some(&self.number_cache),
            |normalized| matches!(normalized, NormalizedRef::Invalid { .. }),
        );
        if invalid {
            return refuse(
                "the other party's number: at most 15 digits, the most an E.164 number has",
            );
        }
        Ok(())
    }
}
