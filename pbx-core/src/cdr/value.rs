//! The typed values inside a CDR: party numbers, party types, reasons, durations, timestamps.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

/// A number field (`from-no`, `to-no`, `dial-no`, `final-number`, chain entries) as 3CX wrote it.
///
/// ```
/// use pbx_core::cdr::PartyNumber;
/// assert_eq!(PartyNumber::parse("Ext.114"), PartyNumber::Extension("114".into()));
/// assert_eq!(PartyNumber::parse("0232354095"), PartyNumber::Number("0232354095".into()));
/// assert_eq!(PartyNumber::parse("EndCall"), PartyNumber::Special("EndCall".into()));
/// assert_eq!(PartyNumber::parse("Ext.114").to_string(), "Ext.114");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PartyNumber {
    /// An extension/DN written with the `Ext.` prefix (`Ext.114` → `"114"`).
    Extension(String),
    /// Anything else a caller or callee can be: an external number in any shape, a bare DN
    /// (`611` in `dial-no`), or a withheld caller (`anonymous`). Kept as written.
    Number(String),
    /// A 3CX pseudo-destination that is not a party: `EndCall`, `PickupExt.125`.
    Special(String),
}

impl PartyNumber {
    /// Reads one number field. Never fails: what is not an `Ext.` or a special is a `Number`.
    pub fn parse(raw: &str) -> PartyNumber {
        PartyNumberRef::parse(raw).into()
    }

    /// The same number, borrowed (what [`crate::cdr::CdrRef`] holds).
    ///
    /// ```
    /// use pbx_core::cdr::{PartyNumber, PartyNumberRef};
    /// assert_eq!(PartyNumber::parse("Ext.114").borrowed(), PartyNumberRef::Extension("114"));
    /// ```
    pub fn borrowed(&self) -> PartyNumberRef<'_> {
        match self {
            PartyNumber::Extension(s) => PartyNumberRef::Extension(s),
            PartyNumber::Number(s) => PartyNumberRef::Number(s),
            PartyNumber::Special(s) => PartyNumberRef::Special(s),
        }
    }

    /// The text of the number without any prefix (`Ext.114` → `114`).
    pub fn as_str(&self) -> &str {
        match self {
            PartyNumber::Extension(s) | PartyNumber::Number(s) | PartyNumber::Special(s) => s,
        }
    }

    /// The extension, when written as `Ext.NNN`.
    pub fn extension(&self) -> Option<&str> {
        match self {
            PartyNumber::Extension(s) => Some(s),
            _ => None,
        }
    }
}

/// A number field borrowed from the line it was read from: [`PartyNumber`] without owning its
/// text (the form the zero-copy path [`crate::cdr::CdrRef`] uses).
///
/// ```
/// use pbx_core::cdr::{PartyNumber, PartyNumberRef};
/// assert_eq!(PartyNumberRef::parse(" Ext.114 "), PartyNumberRef::Extension("114"));
/// assert_eq!(PartyNumberRef::parse("EndCall"), PartyNumberRef::Special("EndCall"));
/// assert_eq!(PartyNumber::from(PartyNumberRef::parse("0232354095")), PartyNumber::Number("0232354095".into()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PartyNumberRef<'a> {
    /// As [`PartyNumber::Extension`].
    Extension(&'a str),
    /// As [`PartyNumber::Number`].
    Number(&'a str),
    /// As [`PartyNumber::Special`].
    Special(&'a str),
}

impl<'a> PartyNumberRef<'a> {
    /// Reads one number field, as [`PartyNumber::parse`] does (the one implementation of both).
    pub fn parse(raw: &'a str) -> PartyNumberRef<'a> {
        let raw = trim(raw);
        if let Some(ext) = strip_prefix_ci(raw, "Ext.") {
            return PartyNumberRef::Extension(trim(ext));
        }
        if raw.eq_ignore_ascii_case("EndCall") || strip_prefix_ci(raw, "Pickup").is_some() {
            return PartyNumberRef::Special(raw);
        }
        PartyNumberRef::Number(raw)
    }

    /// The text of the number without any prefix (`Ext.114` → `114`).
    pub fn as_str(&self) -> &'a str {
        match *self {
            PartyNumberRef::Extension(s)
            | PartyNumberRef::Number(s)
            | PartyNumberRef::Special(s) => s,
        }
    }

    /// The extension, when written as `Ext.NNN`.
    pub fn extension(&self) -> Option<&'a str> {
        match *self {
            PartyNumberRef::Extension(s) => Some(s),
            _ => None,
        }
    }
}

impl From<PartyNumberRef<'_>> for PartyNumber {
    fn from(n: PartyNumberRef<'_>) -> PartyNumber {
        match n {
            PartyNumberRef::Extension(s) => PartyNumber::Extension(s.to_owned()),
            PartyNumberRef::Number(s) => PartyNumber::Number(s.to_owned()),
            PartyNumberRef::Special(s) => PartyNumber::Special(s.to_owned()),
        }
    }
}

impl<'a> From<&'a PartyNumber> for PartyNumberRef<'a> {
    fn from(n: &'a PartyNumber) -> PartyNumberRef<'a> {
        n.borrowed()
    }
}

impl fmt::Display for PartyNumberRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartyNumberRef::Extension(s) => write!(f, "Ext.{s}"),
            PartyNumberRef::Number(s) | PartyNumberRef::Special(s) => f.write_str(s),
        }
    }
}

impl fmt::Display for PartyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartyNumber::Extension(s) => write!(f, "Ext.{s}"),
            PartyNumber::Number(s) | PartyNumber::Special(s) => f.write_str(s),
        }
    }
}

/// The kind of endpoint in `from-type`, `to-type`, `final-type` (both the old and the v20
/// vocabulary; compared case-insensitively).
///
/// ```
/// use pbx_core::cdr::PartyType;
/// assert_eq!(PartyType::parse("Line"), PartyType::ExternalLine);
/// assert_eq!(PartyType::parse("external_line"), PartyType::ExternalLine);
/// assert_eq!(PartyType::parse("VMAIL"), PartyType::Voicemail);
/// assert_eq!(PartyType::parse("Wormhole"), PartyType::Other("Wormhole".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PartyType {
    /// A user extension (`Extension`, `extension`).
    Extension,
    /// A trunk / external line (`Line`, `external_line`).
    ExternalLine,
    /// An outbound rule (`outbound_rule`, v20): the call left through a trunk.
    OutboundRule,
    /// A call queue (`Queue`, `queue`).
    Queue,
    /// A ring group (`RingGroup`, `ring_group`, `ring_group_hunt`, `ring_group_ring_all`).
    RingGroup,
    /// A digital receptionist (`Ivr`, `ivr`).
    Ivr,
    /// Voicemail (`VMail`, `voicemail`).
    Voicemail,
    /// A call-flow script (`script`).
    Script,
    /// A fax extension (`Fax`, `fax`).
    Fax,
    /// Any other value, kept as written.
    Other(String),
}

impl PartyType {
    /// Reads one type field. Never fails: unknown values are kept as [`PartyType::Other`].
    pub fn parse(raw: &str) -> PartyType {
        let raw = trim(raw);
        let mut buf = [0u8; 24];
        match ascii_lowercase(raw, &mut buf) {
            b"extension" => PartyType::Extension,
            b"line" | b"external_line" | b"externalline" => PartyType::ExternalLine,
            b"outbound_rule" | b"outboundrule" => PartyType::OutboundRule,
            b"queue" => PartyType::Queue,
            b"ringgroup" | b"ring_group" | b"ring_group_hunt" | b"ring_group_ring_all" => {
                PartyType::RingGroup
            }
            b"ivr" => PartyType::Ivr,
            b"vmail" | b"voicemail" => PartyType::Voicemail,
            b"script" => PartyType::Script,
            b"fax" => PartyType::Fax,
            _ => PartyType::Other(raw.to_owned()),
        }
    }

    /// The name 3CX's older vocabulary uses (what a formatted line holds).
    pub fn as_str(&self) -> &str {
        match self {
            PartyType::Extension => "Extension",
            PartyType::ExternalLine => "Line",
            PartyType::OutboundRule => "outbound_rule",
            PartyType::Queue => "Queue",
            PartyType::RingGroup => "RingGroup",
            PartyType::Ivr => "Ivr",
            PartyType::Voicemail => "VMail",
            PartyType::Script => "script",
            PartyType::Fax => "Fax",
            PartyType::Other(s) => s,
        }
    }

    /// True for the types that reach outside the PBX: an external line or an outbound rule.
    pub fn is_external(&self) -> bool {
        matches!(self, PartyType::ExternalLine | PartyType::OutboundRule)
    }

    /// Whether the value is a word 3CX writes: one of the kinds above, or another documented
    /// 3CX entity or DN type pbx has no rule for (`inbound_routing`, `endcall`, `paging_group`,
    /// `unknown`, …; compared ignoring case and `_`). A word that is neither — `External` or
    /// `Internal` written by a spreadsheet, say — is not trusted: the direction rules treat
    /// the field as absent, so trunk DNs and number patterns decide.
    ///
    /// ```
    /// use pbx_core::cdr::PartyType;
    /// assert!(PartyType::parse("Line").is_recognised());
    /// assert!(PartyType::parse("inbound_routing").is_recognised());
    /// assert!(PartyType::parse("PagingGroup").is_recognised());
    /// assert!(!PartyType::parse("External").is_recognised());
    /// assert!(!PartyType::parse("Internal").is_recognised());
    /// ```
    pub fn is_recognised(&self) -> bool {
        let PartyType::Other(raw) = self else {
            return true;
        };
        let mut key = [0u8; 24];
        let mut n = 0;
        for b in raw.bytes().filter(|&b| b != b'_') {
            let Some(slot) = key.get_mut(n) else {
                return false;
            };
            *slot = b.to_ascii_lowercase();
            n += 1;
        }
        // 3CX's entity types (`cdroutput.*_entity_type`) and DN types (`*_dn_type`) beyond
        // the kinds above, without `_`.
        const OTHER_3CX_TYPES: [&[u8]; 15] = [
            b"bridge",
            b"callbacktest",
            b"conference",
            b"echotest",
            b"endcall",
            b"group",
            b"inboundrouting",
            b"paginggroup",
            b"parkingorbit",
            b"provider",
            b"servicecall",
            b"sharedparking",
            b"specialmenu",
            b"unknown",
            b"vmailconsole",
        ];
        OTHER_3CX_TYPES
            .iter()
            .any(|w| w.eq_ignore_ascii_case(&key[..n]))
    }
}

impl fmt::Display for PartyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a call ended (`reason-terminated`), both vocabularies folded into one, case-insensitive.
///
/// ```
/// use pbx_core::cdr::TerminationReason;
/// assert_eq!(TerminationReason::parse("TerminatedBySrc"), TerminationReason::TerminatedBySource);
/// assert_eq!(TerminationReason::parse("src_participant_terminated"), TerminationReason::TerminatedBySource);
/// assert_eq!(TerminationReason::parse("failed_cancelled"), TerminationReason::Cancelled);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TerminationReason {
    /// The caller hung up (`TerminatedBySrc`, `src_participant_terminated`).
    TerminatedBySource,
    /// The callee hung up (`TerminatedByDst`, `dst_participant_terminated`).
    TerminatedByDestination,
    /// The call failed (`Failed`).
    Failed,
    /// The caller gave up before an answer (`Failed_Cancelled`, `cancelled`).
    Cancelled,
    /// No route to the destination (`no_route`).
    NoRoute,
    /// The callee declined (`declined`).
    Declined,
    /// The destination does not exist (`not_found`).
    NotFound,
    /// Nobody answered in time (`timeout`).
    Timeout,
    /// The destination was busy (`busy`).
    Busy,
    /// Any other value, kept as written.
    Other(String),
}

impl TerminationReason {
    /// Reads `reason-terminated`. Never fails: unknown values are kept as `Other`.
    pub fn parse(raw: &str) -> TerminationReason {
        let raw = trim(raw);
        let mut buf = [0u8; 32];
        match ascii_lowercase(raw, &mut buf) {
            b"terminatedbysrc" | b"src_participant_terminated" => {
                TerminationReason::TerminatedBySource
            }
            b"terminatedbydst" | b"dst_participant_terminated" => {
                TerminationReason::TerminatedByDestination
            }
            b"failed" => TerminationReason::Failed,
            b"failed_cancelled" | b"cancelled" => TerminationReason::Cancelled,
            b"no_route" => TerminationReason::NoRoute,
            b"declined" => TerminationReason::Declined,
            b"not_found" => TerminationReason::NotFound,
            b"timeout" => TerminationReason::Timeout,
            b"busy" => TerminationReason::Busy,
            _ => TerminationReason::Other(raw.to_owned()),
        }
    }

    /// The name a formatted line holds (the older vocabulary where it has one).
    pub fn as_str(&self) -> &str {
        match self {
            TerminationReason::TerminatedBySource => "TerminatedBySrc",
            TerminationReason::TerminatedByDestination => "TerminatedByDst",
            TerminationReason::Failed => "Failed",
            TerminationReason::Cancelled => "Failed_Cancelled",
            TerminationReason::NoRoute => "no_route",
            TerminationReason::Declined => "declined",
            TerminationReason::NotFound => "not_found",
            TerminationReason::Timeout => "timeout",
            TerminationReason::Busy => "busy",
            TerminationReason::Other(s) => s,
        }
    }
}

impl fmt::Display for TerminationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the call's destination changed (`reason-changed`), case-insensitive.
///
/// ```
/// use pbx_core::cdr::ChangeReason;
/// assert_eq!(ChangeReason::parse("ReplacedDst"), ChangeReason::ReplacedDestination);
/// assert_eq!(ChangeReason::parse("polling"), ChangeReason::Other("polling".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeReason {
    /// The destination was replaced, e.g. by a transfer or pickup (`ReplacedDst`).
    ReplacedDestination,
    /// The source was replaced (`ReplacedSrc`).
    ReplacedSource,
    /// Any other value, kept as written.
    Other(String),
}

impl ChangeReason {
    /// Reads `reason-changed`. Never fails.
    pub fn parse(raw: &str) -> ChangeReason {
        let raw = trim(raw);
        if raw.eq_ignore_ascii_case("ReplacedDst") {
            ChangeReason::ReplacedDestination
        } else if raw.eq_ignore_ascii_case("ReplacedSrc") {
            ChangeReason::ReplacedSource
        } else {
            ChangeReason::Other(raw.to_owned())
        }
    }

    /// The name a formatted line holds.
    pub fn as_str(&self) -> &str {
        match self {
            ChangeReason::ReplacedDestination => "ReplacedDst",
            ChangeReason::ReplacedSource => "ReplacedSrc",
            ChangeReason::Other(s) => s,
        }
    }
}

impl fmt::Display for ChangeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `s` without leading and trailing white space (as [`str::trim`]), checking only the two ends
/// when they are visible ASCII (the usual case).
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if (0x21..0x7f).contains(a) && (0x21..0x7f).contains(b) => s,
        (None, _) | (_, None) => s,
        _ => s.trim(),
    }
}

/// `raw` with ASCII letters lowercased (other bytes kept), in `buf`; empty when `raw` does not
/// fit (no known name is that long, so it matches none).
fn ascii_lowercase<'b>(raw: &str, buf: &'b mut [u8]) -> &'b [u8] {
    let Some(out) = buf.get_mut(..raw.len()) else {
        return &[];
    };
    for (o, b) in out.iter_mut().zip(raw.bytes()) {
        *o = b.to_ascii_lowercase();
    }
    out
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Reads a `chain` field: `Chain: 0474022045;Ext.611;Ext.182;` → the endpoints in order.
/// The `Chain:` label is optional; empty entries are dropped.
///
/// ```
/// use pbx_core::cdr::{parse_chain, PartyNumber};
/// let chain = parse_chain("Chain: 0474022045;Ext.611;Ext.182;");
/// assert_eq!(chain, vec![
///     PartyNumber::Number("0474022045".into()),
///     PartyNumber::Extension("611".into()),
///     PartyNumber::Extension("182".into()),
/// ]);
/// ```
pub fn parse_chain(raw: &str) -> Vec<PartyNumber> {
    parse_chain_of(Chain::parse(raw))
}

/// The owned entries of a chain.
pub(super) fn parse_chain_of(chain: Chain<'_>) -> Vec<PartyNumber> {
    if chain.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(memchr::memchr_iter(b';', chain.0.as_bytes()).count() + 1);
    out.extend(chain.iter().map(PartyNumber::from));
    out
}

/// A `chain` field borrowed from its line, read entry by entry when asked (the zero-copy form
/// of [`parse_chain`], which is this iterator collected).
///
/// ```
/// use pbx_core::cdr::{Chain, PartyNumberRef};
/// let chain = Chain::parse("Chain: 0474022045;Ext.611;;Ext.182;");
/// let last = chain.iter().next_back();
/// assert_eq!(last, Some(PartyNumberRef::Extension("182")));
/// assert_eq!(chain.iter().count(), 3);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Chain<'a>(&'a str);

impl<'a> Chain<'a> {
    /// Reads a `chain` field: an optional `Chain:` label, then entries separated by `;`.
    pub fn parse(raw: &'a str) -> Chain<'a> {
        let raw = trim(raw);
        Chain(strip_prefix_ci(raw, "Chain:").unwrap_or(raw))
    }

    /// True when the field holds no text after its label (it may still hold only `;`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in order; empty entries are passed over.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = PartyNumberRef<'a>> + 'a {
        let body = self.0;
        body.split(';')
            .map(trim)
            .filter(|s| !s.is_empty())
            .map(PartyNumberRef::parse)
    }
}

/// Reads a talk time `HH:MM:SS` (hours may have any number of digits; an optional fraction
/// after the seconds is kept). `None` when the text is not such a duration.
///
/// ```
/// use std::time::Duration;
/// use pbx_core::cdr::parse_duration;
/// assert_eq!(parse_duration("00:03:43"), Some(Duration::from_secs(223)));
/// assert_eq!(parse_duration("100:00:00"), Some(Duration::from_secs(360_000)));
/// assert_eq!(parse_duration("00:61:00"), None);
/// ```
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let (main, frac) = match raw.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (raw, None),
    };
    let b = main.as_bytes();
    let mut pos = 0;
    let h = take_digits(b, &mut pos, 1, 6)?;
    expect(b, &mut pos, b':')?;
    let m = take_digits(b, &mut pos, 2, 2)?;
    expect(b, &mut pos, b':')?;
    let s = take_digits(b, &mut pos, 2, 2)?;
    if pos != b.len() || m > 59 || s > 59 {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) => fraction_nanos(f)?,
    };
    Some(Duration::new(h * 3600 + m * 60 + s, nanos))
}

/// Formats a duration as 3CX does: `HH:MM:SS` (fractions dropped).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(pbx_core::cdr::format_duration(Duration::from_secs(223)), "00:03:43");
/// ```
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Reads a CDR timestamp as **UTC**: `yyyy/MM/dd HH:mm:ss` with `/`, `.` or `-` between the
/// date parts (the same one twice), a space or `T` before the time, and an optional fraction
/// of a second. Month, day and hour may have one digit. `None` when it is not such a time or
/// not a real date.
///
/// ```
/// use pbx_core::cdr::parse_timestamp;
/// let t = parse_timestamp("2020/06/29 07:56:32").unwrap();
/// assert_eq!(t.to_rfc3339(), "2020-06-29T07:56:32+00:00");
/// assert_eq!(parse_timestamp("2020.06.29 07:56:32"), Some(t));
/// assert_eq!(parse_timestamp("2020-06-29T07:56:32"), Some(t));
/// assert_eq!(parse_timestamp("2020/02/30 07:56:32"), None);
/// ```
pub fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    let b = raw.as_bytes();
    let mut pos = 0;
    let year = take_digits(b, &mut pos, 4, 4)?;
    let sep = *b.get(pos)?;
    if !matches!(sep, b'/' | b'.' | b'-') {
        return None;
    }
    pos += 1;
    let month = take_digits(b, &mut pos, 1, 2)?;
    expect(b, &mut pos, sep)?;
    let day = take_digits(b, &mut pos, 1, 2)?;
    match b.get(pos) {
        Some(b' ' | b'T') => pos += 1,
        _ => return None,
    }
    while b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let hour = take_digits(b, &mut pos, 1, 2)?;
    expect(b, &mut pos, b':')?;
    let minute = take_digits(b, &mut pos, 2, 2)?;
    expect(b, &mut pos, b':')?;
    let second = take_digits(b, &mut pos, 2, 2)?;
    let nanos = if b.get(pos) == Some(&b'.') {
        fraction_nanos(&raw[pos + 1..])?
    } else if pos == b.len() {
        0
    } else {
        return None;
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month as u32, day as u32)?;
    let time = date.and_hms_nano_opt(hour as u32, minute as u32, second as u32, nanos)?;
    Some(time.and_utc())
}

/// Formats a UTC time as 3CX does: `yyyy/MM/dd HH:mm:ss` (fractions dropped).
///
/// ```
/// let t = pbx_core::cdr::parse_timestamp("2024-06-17 05:59:49").unwrap();
/// assert_eq!(pbx_core::cdr::format_timestamp(t), "2024/06/17 05:59:49");
/// ```
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y/%m/%d %H:%M:%S").to_string()
}

fn take_digits(b: &[u8], pos: &mut usize, min: usize, max: usize) -> Option<u64> {
    let start = *pos;
    let mut v: u64 = 0;
    while *pos < b.len() && *pos - start < max && b[*pos].is_ascii_digit() {
        v = v * 10 + u64::from(b[*pos] - b'0');
        *pos += 1;
    }
    (*pos - start >= min).then_some(v)
}

fn expect(b: &[u8], pos: &mut usize, c: u8) -> Option<()> {
    (b.get(*pos) == Some(&c)).then(|| *pos += 1)
}

/// A fraction of a second (`123` → 123 ms in nanoseconds); 1 to 9 digits.
fn fraction_nanos(f: &str) -> Option<u32> {
    if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v: u32 = f.parse().ok()?;
    Some(v * 10u32.pow(9 - f.len() as u32))
}
