//! A CDR → the call API's `PbxCallRequest`, or a skip with its reason.

use std::fmt;

use chrono::{DateTime, Datelike, Offset, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::cdr::LegSummary;
use crate::cdr::{CallLegs, CallRecord, Cdr, PartyNumber, PartyNumberRef, assemble_call};
use crate::direction::{
    Classification, ClassificationRef, Direction, DirectionPolicy, OwnerRule, Rule, classify,
    classify_ref,
};
use crate::error::{Error, Location};
use crate::extensions::{EmailSource, ExtensionMap};
use crate::missed::{
    MissedCalls, MissedRoute, answered_outside, nobody_answered, reached_by_legs, reached_dns,
    single_extension_rung,
};
#[cfg(doc)]
use crate::phone::Normalized;
use crate::phone::{NormalizedRef, NumberCache, NumberFormat, Region, api_number, normalize_visit};
/// The timezone parser, where it was first published (it lives in [`crate::zone`]).
pub use crate::zone::parse_timezone;

/// `callDirection` of the call API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum CallDirection {
    /// `"INBOUND"`.
    Inbound,
    /// `"OUTBOUND"`.
    Outbound,
}

crate::vocab::vocabulary!(
    /// `INBOUND` or `OUTBOUND`, as serialized.
    CallDirection, "call_direction",
    { Self::Inbound => "INBOUND", Self::Outbound => "OUTBOUND" },
    all: [Self::Inbound, Self::Outbound],
    display: code
);

/// The call API's `PbxCallRequest`, exactly as its JSON (camelCase).
///
/// ```
/// use pbx_core::call::{CallDirection, CallRequest};
/// let c = CallRequest {
///     phone_number: "9075551234".into(), call_duration: 300, call_owner_extension: "101".into(),
///     call_owner_email: "john.doe@example.com".into(), call_direction: CallDirection::Inbound,
///     timestamp: "2025-01-21T10:30:00.000-09:00".into(), pbx_call_id: "3cx-test-12345".into(),
/// };
/// assert_eq!(serde_json::to_string(&c)?,
///     r#"{"phoneNumber":"9075551234","callDuration":300,"callOwnerExtension":"101","callOwnerEmail":"john.doe@example.com","callDirection":"INBOUND","timestamp":"2025-01-21T10:30:00.000-09:00","pbxCallId":"3cx-test-12345"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    /// The other party's number.
    pub phone_number: String,
    /// Talk time in whole seconds; 0 when unanswered.
    pub call_duration: u64,
    /// The extension that owns the call.
    pub call_owner_extension: String,
    /// That extension's user email.
    pub call_owner_email: String,
    /// `INBOUND` or `OUTBOUND`.
    pub call_direction: CallDirection,
    /// Call start, RFC 3339 in the PBX's timezone, milliseconds, with offset.
    pub timestamp: String,
    /// The idempotency key: unique and stable per call.
    pub pbx_call_id: String,
}

/// What to do with internal (extension → extension) calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum InternalCalls {
    /// Do not send them (the default); each is skipped with [`SkipReason::Internal`].
    #[default]
    Skip,
    /// Send them as `OUTBOUND` from the calling extension, the called extension as the number
    /// (the API knows no third direction).
    AsOutbound,
}

crate::vocab::vocabulary!(
    /// `skip` or `as_outbound` (the YAML's `direction.internal_calls`). `FromStr` also
    /// accepts `asOutbound`.
    ///
    /// ```
    /// use pbx_core::call::InternalCalls;
    /// assert_eq!(InternalCalls::AsOutbound.code(), "as_outbound");
    /// assert_eq!("asOutbound".parse::<InternalCalls>()?, InternalCalls::AsOutbound);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    InternalCalls, "internal_calls",
    { Self::Skip => "skip", Self::AsOutbound => "as_outbound" },
    all: [Self::Skip, Self::AsOutbound],
    aliases: [("asOutbound", Self::AsOutbound)],
    display: code
);

/// Why a call was not turned into a call request. Every skip says why.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// An internal call, and internal calls are not sent.
    Internal,
    /// The direction cannot be told from the record.
    UnknownDirection,
    /// No extension owns the call (e.g. a call nobody answered that only reached a queue).
    NoOwner,
    /// The owner's extension has no user email (and no fallback is configured).
    NoOwnerEmail {
        /// The extension.
        extension: String,
    },
    /// A blank line in a CDR stream: no record at all.
    BlankLine,
    /// The call lies outside the time range being backfilled
    /// ([`crate::delivery::TimeRange`]).
    OutsideRange,
    /// A missed inbound call (nobody answered) that no `missed_calls.route` entry takes
    /// ([`crate::missed`]).
    MissedUnrouted {
        /// The DN a route would need: the queue, ring group, IVR or DID the call reached last
        /// (empty when the record names none).
        dn: String,
    },
    /// A missed inbound call routed to a person, outside business hours, and
    /// `missed_calls.outside_hours` is `skip`.
    MissedOutsideHours,
}

crate::vocab::vocabulary!(
    /// The reason's stable code, as the bindings publish it: `INTERNAL`, `UNKNOWN_DIRECTION`,
    /// `NO_OWNER`, `NO_OWNER_EMAIL`, `BLANK_LINE`, `OUTSIDE_RANGE`, `MISSED_UNROUTED`,
    /// `MISSED_OUTSIDE_HOURS` (the upper-case [`SkipReason::kind`]). `Display` is the
    /// explanation. `FromStr` accepts the code or the kind; `NO_OWNER_EMAIL` gives an empty
    /// `extension` and `MISSED_UNROUTED` an empty `dn` (as in [`SkipReason::ALL`]).
    ///
    /// ```
    /// use pbx_core::call::SkipReason;
    /// assert_eq!(SkipReason::OutsideRange.code(), "OUTSIDE_RANGE");
    /// assert_eq!("no_owner".parse::<SkipReason>()?, SkipReason::NoOwner);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    SkipReason, "skip_reason",
    {
        Self::Internal => "INTERNAL",
        Self::UnknownDirection => "UNKNOWN_DIRECTION",
        Self::NoOwner => "NO_OWNER",
        Self::NoOwnerEmail { .. } => "NO_OWNER_EMAIL",
        Self::BlankLine => "BLANK_LINE",
        Self::OutsideRange => "OUTSIDE_RANGE",
        Self::MissedUnrouted { .. } => "MISSED_UNROUTED",
        Self::MissedOutsideHours => "MISSED_OUTSIDE_HOURS",
    },
    all: [
        Self::Internal, Self::UnknownDirection, Self::NoOwner,
        Self::NoOwnerEmail { extension: String::new() }, Self::BlankLine, Self::OutsideRange,
        Self::MissedUnrouted { dn: String::new() }, Self::MissedOutsideHours,
    ],
    aliases: [
        ("internal", Self::Internal),
        ("unknown_direction", Self::UnknownDirection),
        ("no_owner", Self::NoOwner),
        ("no_owner_email", Self::NoOwnerEmail { extension: String::new() }),
        ("blank_line", Self::BlankLine),
        ("outside_range", Self::OutsideRange),
        ("missed_unrouted", Self::MissedUnrouted { dn: String::new() }),
        ("missed_outside_hours", Self::MissedOutsideHours),
    ]
);

impl SkipReason {
    /// The extension the reason names ([`SkipReason::NoOwnerEmail`]), else `None`.
    ///
    /// ```
    /// use pbx_core::call::SkipReason;
    /// let r = SkipReason::NoOwnerEmail { extension: "101".into() };
    /// assert_eq!(r.extension(), Some("101"));
    /// assert_eq!(SkipReason::NoOwner.extension(), None);
    /// ```
    pub fn extension(&self) -> Option<&str> {
        match self {
            SkipReason::NoOwnerEmail { extension } => Some(extension),
            _ => None,
        }
    }

    /// A short stable name of the reason (for counters and metrics labels; [`SkipReason::code`]
    /// is the same in upper case).
    ///
    /// ```
    /// assert_eq!(pbx_core::call::SkipReason::NoOwner.kind(), "no_owner");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::Internal => "internal",
            SkipReason::UnknownDirection => "unknown_direction",
            SkipReason::NoOwner => "no_owner",
            SkipReason::NoOwnerEmail { .. } => "no_owner_email",
            SkipReason::BlankLine => "blank_line",
            SkipReason::OutsideRange => "outside_range",
            SkipReason::MissedUnrouted { .. } => "missed_unrouted",
            SkipReason::MissedOutsideHours => "missed_outside_hours",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Internal => f.write_str("internal call (internal calls are not sent)"),
            SkipReason::UnknownDirection => {
                f.write_str("direction unknown: no type field, trunk DN or number pattern decides")
            }
            SkipReason::NoOwner => f.write_str("no extension owns the call"),
            SkipReason::NoOwnerEmail { extension } => {
                write!(
                    f,
                    "extension {extension} has no user email in the extension map"
                )
            }
            SkipReason::BlankLine => f.write_str("blank line"),
            SkipReason::OutsideRange => {
                f.write_str("the call is outside the time range being backfilled")
            }
            SkipReason::MissedUnrouted { dn } if dn.is_empty() => f.write_str(
                "missed call: the record names no queue, ring group, IVR or DID, and \
                 missed_calls.route has no default",
            ),
            SkipReason::MissedUnrouted { dn } => write!(
                f,
                "missed call to {dn}: missed_calls.route has no entry for it (nor a default)"
            ),
            SkipReason::MissedOutsideHours => f.write_str(
                "missed call outside business hours (missed_calls.outside_hours is skip)",
            ),
        }
    }
}

/// The result of mapping one CDR.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mapped {
    /// A call to deliver.
    Call(CallRequest),
    /// A call not to deliver, and why.
    Skipped(SkipReason),
}

impl Mapped {
    /// The call to deliver, if it is one.
    pub fn call(&self) -> Option<&CallRequest> {
        match self {
            Mapped::Call(c) => Some(c),
            Mapped::Skipped(_) => None,
        }
    }

    /// Why the call is not delivered, if it is skipped.
    ///
    /// ```
    /// use pbx_core::call::{Mapped, SkipReason};
    /// assert_eq!(Mapped::Skipped(SkipReason::NoOwner).skip_reason(), Some(&SkipReason::NoOwner));
    /// ```
    pub fn skip_reason(&self) -> Option<&SkipReason> {
        match self {
            Mapped::Skipped(r) => Some(r),
            Mapped::Call(_) => None,
        }
    }
}

/// Settings for mapping CDRs to call requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingOptions {
    /// The PBX's timezone; `timestamp` carries its offset (default UTC).
    pub timezone: Tz,
    /// What to do with internal calls (default: skip).
    pub internal_calls: InternalCalls,
    /// The prefix of `pbxCallId` (default `3cx`).
    pub call_id_prefix: String,
    /// The region of numbers written without a country code (default `US`); see
    /// [`crate::phone`]. Which bare numbers are extensions is the mapper's
    /// [`DirectionPolicy`] rule.
    pub default_region: Region,
    /// How `phoneNumber` is written for an external number (default E.164).
    pub number_format: NumberFormat,
}

impl Default for MappingOptions {
    fn default() -> Self {
        MappingOptions {
            timezone: Tz::UTC,
            internal_calls: InternalCalls::Skip,
            call_id_prefix: "3cx".to_owned(),
            default_region: Region::US,
            number_format: NumberFormat::E164,
        }
    }
}

/// The settings of a [`MappingOptions`] as the codes a binding receives (`"America/Anchorage"`,
/// `"AU"`, `"as_outbound"`, `"national"`); a missing one keeps the default.
///
/// ```
/// use pbx_core::call::{InternalCalls, MappingCodes};
/// let codes = MappingCodes {
///     timezone: Some("America/Anchorage"),
///     internal_calls: Some("as_outbound"),
///     ..MappingCodes::default()
/// };
/// let options = codes.options("default_region")?;
/// assert_eq!(options.timezone, chrono_tz::America::Anchorage);
/// assert_eq!(options.internal_calls, InternalCalls::AsOutbound);
/// assert_eq!(options.call_id_prefix, "3cx");
/// let bad = MappingCodes { default_region: Some("XX"), ..MappingCodes::default() };
/// assert!(bad.options("defaultRegion").unwrap_err().to_string().contains("`defaultRegion`"));
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MappingCodes<'a> {
    /// An IANA (or Windows) timezone name ([`parse_timezone`]).
    pub timezone: Option<&'a str>,
    /// An ISO 3166 region ([`Region::parse`]).
    pub default_region: Option<&'a str>,
    /// An [`InternalCalls`] code.
    pub internal_calls: Option<&'a str>,
    /// A [`NumberFormat`] code.
    pub number_format: Option<&'a str>,
    /// The prefix of `pbxCallId`.
    pub call_id_prefix: Option<&'a str>,
}

impl MappingCodes<'_> {
    /// The options these codes give, parsed in field order; `region_setting` is the name of
    /// the default region in errors (`default_region`, `defaultRegion`).
    pub fn options(&self, region_setting: &str) -> Result<MappingOptions, Error> {
        let mut o = MappingOptions::default();
        if let Some(tz) = self.timezone {
            o.timezone = parse_timezone("timezone", tz)?;
        }
        if let Some(region) = self.default_region {
            o.default_region = Region::parse(region_setting, region)?;
        }
        if let Some(internal) = self.internal_calls {
            o.internal_calls = internal.parse()?;
        }
        if let Some(format) = self.number_format {
            o.number_format = format.parse()?;
        }
        if let Some(prefix) = self.call_id_prefix {
            o.call_id_prefix = prefix.to_owned();
        }
        Ok(o)
    }
}

/// Formats a UTC instant as the API's timestamp: RFC 3339 in `tz`, milliseconds, with offset.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2025, 1, 21, 19, 30, 0).unwrap();
/// assert_eq!(pbx_core::call::api_timestamp(t, chrono_tz::America::Anchorage), "2025-01-21T10:30:00.000-09:00");
/// assert_eq!(pbx_core::call::api_timestamp(t, chrono_tz::UTC), "2025-01-21T19:30:00.000+00:00");
/// ```
pub fn api_timestamp(t: DateTime<Utc>, tz: Tz) -> String {
    ApiTimestamp::new(t, tz).as_str().to_owned()
}

/// [`api_timestamp`] on the stack: the text without a `String` for the usual years (chrono's
/// spelling, in a `String`, for years outside 0–9999, leap seconds and offsets with seconds).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use pbx_core::call::ApiTimestamp;
/// let t = Utc.with_ymd_and_hms(2025, 1, 21, 19, 30, 0).unwrap();
/// assert_eq!(ApiTimestamp::new(t, chrono_tz::America::Anchorage).as_str(), "2025-01-21T10:30:00.000-09:00");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiTimestamp(TimestampText);

#[derive(Clone, Debug, PartialEq, Eq)]
enum TimestampText {
    Digits([u8; 29]),
    Chrono(String),
}

impl ApiTimestamp {
    /// `t` in `tz`, RFC 3339 with milliseconds and offset.
    pub fn new(t: DateTime<Utc>, tz: Tz) -> ApiTimestamp {
        let local = t.with_timezone(&tz);
        let offset = local.offset().fix().local_minus_utc();
        let naive = local.naive_local();
        let millis = naive.nanosecond() / 1_000_000;
        if !(0..=9999).contains(&naive.year()) || millis > 999 || offset % 60 != 0 {
            // Outside what the digits below write (chrono's own spelling, the same for the rest).
            return ApiTimestamp(TimestampText::Chrono(
                local.to_rfc3339_opts(SecondsFormat::Millis, false),
            ));
        }
        // `YYYY-MM-DDTHH:MM:SS.mmm±HH:MM`, written directly (chrono's formatter costs more than
        // the rest of the mapping).
        let mut out = *b"0000-00-00T00:00:00.000+00:00";
        let abs = offset.unsigned_abs();
        for (at, len, v) in [
            (0, 4, naive.year().unsigned_abs()),
            (5, 2, naive.month()),
            (8, 2, naive.day()),
            (11, 2, naive.hour()),
            (14, 2, naive.minute()),
            (17, 2, naive.second()),
            (20, 3, millis),
            (24, 2, abs / 3600),
            (27, 2, abs / 60 % 60),
        ] {
            let mut v = v;
            for digit in out[at..at + len].iter_mut().rev() {
                *digit = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        if offset < 0 {
            out[23] = b'-';
        }
        ApiTimestamp(TimestampText::Digits(out))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // ASCII digits and separators only.
            TimestampText::Digits(d) => std::str::from_utf8(d).unwrap_or_default(),
            TimestampText::Chrono(s) => s,
        }
    }
}

impl fmt::Display for ApiTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The call's idempotency key: `{prefix}-{historyid}-{callid}` (either id alone when the other
/// is absent). `None` when the record has neither.
///
/// ```
/// let mut cdr = pbx_core::cdr::Cdr::default();
/// assert_eq!(pbx_core::call::pbx_call_id(&cdr, "3cx"), None);
/// cdr.history_id = Some("23194".into());
/// cdr.call_id = Some("00000172FF13E364_4449".into());
/// assert_eq!(pbx_core::call::pbx_call_id(&cdr, "3cx").as_deref(), Some("3cx-23194-00000172FF13E364_4449"));
/// ```
pub fn pbx_call_id<R: CallRecord + ?Sized>(cdr: &R, prefix: &str) -> Option<String> {
    CallId::of(cdr, prefix).map(|id| id.to_string())
}

/// `{prefix}-{historyid}-{callid}` without building it (written by `Display`).
#[derive(Clone, Copy)]
struct CallId<'a> {
    prefix: &'a str,
    parts: [Option<&'a str>; 2],
}

impl<'a> CallId<'a> {
    fn of<R: CallRecord + ?Sized>(cdr: &'a R, prefix: &'a str) -> Option<CallId<'a>> {
        let parts = match (cdr.history_id(), cdr.call_id()) {
            (Some(h), Some(c)) => [Some(h), Some(c)],
            (Some(id), None) | (None, Some(id)) => [Some(id), None],
            (None, None) => return None,
        };
        Some(CallId { prefix, parts })
    }
}

impl fmt::Display for CallId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix)?;
        for p in self.parts.into_iter().flatten() {
            f.write_str("-")?;
            f.write_str(p)?;
        }
        Ok(())
    }
}

impl Serialize for CallId<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Appends `s` as a JSON string, exactly as `serde_json` writes it: as it is between quotes
/// when nothing in it needs escaping (the usual case, checked first), else by `serde_json`.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Appends the JSON of a [`CallRequest`] with these values, byte for byte what `serde_json`
/// writes for it (same keys, same order; `pbx-core/tests/zero_copy.rs` compares them).
fn write_call_json(out: &mut Vec<u8>, parts: &CallParts<'_>, phone_number: &str, timestamp: &str) {
    out.extend_from_slice(b"{\"phoneNumber\":");
    write_json_str(out, phone_number);
    out.extend_from_slice(b",\"callDuration\":");
    // serde_json writes integers with `itoa`; a `Vec` never fails.
    let _ = serde_json::to_writer(&mut *out, &parts.talk_seconds);
    out.extend_from_slice(b",\"callOwnerExtension\":");
    write_json_str(out, parts.owner);
    out.extend_from_slice(b",\"callOwnerEmail\":");
    write_json_str(out, parts.email);
    out.extend_from_slice(match parts.direction {
        CallDirection::Inbound => b",\"callDirection\":\"INBOUND\",\"timestamp\":",
        CallDirection::Outbound => b",\"callDirection\":\"OUTBOUND\",\"timestamp\":",
    });
    write_json_str(out, timestamp);
    out.extend_from_slice(b",\"pbxCallId\":");
    let id = parts.call_id;
    let clean = |s: &str| s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if clean(id.prefix) && id.parts.iter().flatten().all(|p| clean(p)) {
        out.push(b'"');
        out.extend_from_slice(id.prefix.as_bytes());
        for p in id.parts.iter().flatten() {
            out.push(b'-');
            out.extend_from_slice(p.as_bytes());
        }
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, &id);
    }
    out.push(b'}');
}

/// What the mapping decided for a call to deliver, borrowed from the record, the
/// classification and the extension map.
struct CallParts<'a> {
    start: DateTime<Utc>,
    call_id: CallId<'a>,
    direction: CallDirection,
    owner: &'a str,
    email: &'a str,
    counterpart: Option<PartyNumberRef<'a>>,
    talk_seconds: u64,
}

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

/// What [`CallMapper::map_json`] did with a record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MappedJson {
    /// The call request's JSON was appended to the buffer.
    Call,
    /// A call not to deliver, and why (nothing was written).
    Skipped(SkipReason),
}

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

/// What the mapping is told as it decides ([`CallMapper::map`] passes `()`, which keeps
/// nothing and costs nothing; [`Decisions`] keeps it for an explanation).
pub(crate) trait Trail<'a> {
    /// The direction the call is sent as.
    fn direction_sent(&mut self, _direction: CallDirection) {}
    /// The classification named an owner that is not a person's extension.
    fn owner_rejected(&mut self, _dn: &'a str) {}
    /// An owner picked in the mapping itself, after the classification named none (a new
    /// owner rule, such as the missed-call route, calls this where it decides).
    fn owner(&mut self, _extension: &'a str, _rule: OwnerRule) {}
    /// Where the owner's email came from.
    fn email(&mut self, _source: EmailSource) {}
}

impl Trail<'_> for () {}

/// The decisions the mapper took for one call, as it took them (see [`crate::explain`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decisions<'a> {
    /// The direction sent (`None` when the call was skipped before).
    pub direction_sent: Option<CallDirection>,
    /// An owner the classification named that the extension rule refused.
    pub owner_rejected: Option<&'a str>,
    /// An owner picked by the mapping after the classification named none, and its rule.
    pub owner: Option<(&'a str, OwnerRule)>,
    /// Where the owner's email came from.
    pub email: Option<EmailSource>,
}

impl<'a> Trail<'a> for Decisions<'a> {
    fn direction_sent(&mut self, direction: CallDirection) {
        self.direction_sent = Some(direction);
    }
    fn owner_rejected(&mut self, dn: &'a str) {
        self.owner_rejected = Some(dn);
    }
    fn owner(&mut self, extension: &'a str, rule: OwnerRule) {
        self.owner = Some((extension, rule));
    }
    fn email(&mut self, source: EmailSource) {
        self.email = Some(source);
    }
}
