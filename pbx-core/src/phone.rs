//! The other party's number, normalized: E.164 with a default region, an internal extension,
//! a withheld caller, or an input that cannot be a number — always what libphonenumber says.
//!
//! [`normalize`] first reads the 3CX wrappers around a number, in this order (each rule is
//! case-insensitive and applies to the input with surrounding white space removed):
//!
//! 1. blank, `anonymous`, `unknown`, `private`, `restricted`, `withheld`, `unavailable`
//!    → [`Normalized::Anonymous`];
//! 2. `EndCall`, `Pickup…` (3CX pseudo-destinations, not parties) → [`Normalized::Invalid`]
//!    with [`InvalidReason::NotAParty`];
//! 3. `sip:` / `sips:` URIs → their user part (before `@`, without `;` parameters); a withheld
//!    user part is anonymous; `tel:` URIs are read by libphonenumber itself (RFC 3966, with
//!    `phone-context`), except that `tel:101` is the extension `101` like any bare extension;
//! 4. `Ext.101` → [`Normalized::Internal`] (always, whatever the extension rule);
//! 5. a leading caller-id code — `*67`, `*82` (NANP) or `#31#`, `*31#` (GSM) — is dropped;
//! 6. digits only that the extension rule ([`DirectionPolicy::is_extension_number`], the same
//!    rule that decides call direction) calls an extension → [`Normalized::Internal`];
//! 7. anything else is parsed by libphonenumber (the `rlibphonenumber` port, metadata of
//!    libphonenumber 9.0.42) with the default region: an input it parses and calls a
//!    *possible* number becomes [`Normalized::E164`]; otherwise [`Normalized::Invalid`] with
//!    libphonenumber's reason. Everything libphonenumber reads is read the same way: punctuation,
//!    the region's international (`011`, `00`) and national (`0`) prefixes, vanity letters
//!    (`1-800-FLOWERS`), and extension suffixes (`ext. 1234`, `x1234`, `;ext=1234`), which are
//!    kept apart in [`Normalized::E164`]'s `extension` and never part of the number.
//!
//! NANP spellings (`(907) 555-1234`, `907.555.1234`, `1-907-555-1234`, `+1 907 555 1234`) take
//! a fast path that gives libphonenumber's answer without running its parser: it applies only
//! where that answer is fixed by the digits alone (ten digits whose area code starts with 2–9,
//! optionally after a `1` or `+1`, and only punctuation around them); `0xx`/`1xx` area codes,
//! `011…` and everything else go to libphonenumber. The differential test
//! (`pbx-core/tests/phone_diff/`) checks the whole function against Python's `phonenumbers`.
//!
//! ```
//! use pbx_core::phone::{normalize, Normalized, NumberPolicy};
//! let us = NumberPolicy::default(); // region US, E.164
//! assert_eq!(normalize("(907) 555-1234", &us), Normalized::e164("+19075551234"));
//! assert_eq!(normalize("011 44 20 7946 0018", &us), Normalized::e164("+442079460018"));
//! assert_eq!(normalize("Ext.101", &us), Normalized::internal("101"));
//! assert_eq!(normalize("anonymous", &us), Normalized::Anonymous);
//! let se = NumberPolicy::new("SE".parse()?);
//! assert_eq!(normalize("0701234567", &se), Normalized::e164("+46701234567"));
//! # Ok::<(), pbx_core::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use rlibphonenumber::{PHONE_NUMBER_UTIL, ParseError, PhoneNumberFormat, ValidationError};
use serde::{Deserialize, Serialize};

use crate::cdr::PartyNumber;
use crate::direction::{DirectionPolicy, is_withheld};
use crate::error::Error;

/// A default region for phone numbers: an ISO 3166 alpha-2 code that libphonenumber has
/// numbering metadata for (`US`, `SE`, `GB`, …). Stored upper case.
///
/// ```
/// use pbx_core::phone::Region;
/// let se: Region = "se".parse()?;
/// assert_eq!(se.as_str(), "SE");
/// assert_eq!(Region::US.to_string(), "US");
/// assert!("XX".parse::<Region>().is_err());
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region([u8; 2]);

impl Region {
    /// The United States.
    pub const US: Region = Region(*b"US");

    /// Reads a region code (case-insensitive); `setting` names the setting in the error.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming `setting` when `code` is not two letters that
    /// libphonenumber has metadata for.
    ///
    /// ```
    /// use pbx_core::phone::Region;
    /// assert_eq!(Region::parse("--default-region", " gb ")?.as_str(), "GB");
    /// let err = Region::parse("--default-region", "USA").unwrap_err();
    /// assert!(err.to_string().contains("--default-region"));
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn parse(setting: &str, code: &str) -> Result<Region, Error> {
        let invalid = || Error::InvalidSetting {
            setting: setting.to_owned(),
            value: code.to_owned(),
            reason: "expected a two-letter ISO 3166 country code with phone numbering data, \
                     such as US, SE or GB"
                .to_owned(),
        };
        let bytes = code.trim().as_bytes();
        let [a, b] = bytes else {
            return Err(invalid());
        };
        if !a.is_ascii_alphabetic() || !b.is_ascii_alphabetic() {
            return Err(invalid());
        }
        let region = Region([a.to_ascii_uppercase(), b.to_ascii_uppercase()]);
        if PHONE_NUMBER_UTIL
            .get_country_code_for_region(region.lib())
            .is_none()
        {
            return Err(invalid());
        }
        Ok(region)
    }

    /// The code, upper case.
    pub fn as_str(&self) -> &str {
        // Always two ASCII letters (checked on construction).
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }

    fn lib(self) -> rlibphonenumber::Region {
        rlibphonenumber::Region::from_code(self.as_str()).unwrap_or(rlibphonenumber::Region::US)
    }
}

impl Default for Region {
    fn default() -> Self {
        Region::US
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::parse("default_region", s)
    }
}

impl TryFrom<String> for Region {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Region> for String {
    fn from(r: Region) -> String {
        r.as_str().to_owned()
    }
}

/// How an external number is written in [`Normalized::E164`]'s `value`.
///
/// ```
/// use pbx_core::phone::{normalize, Normalized, NumberFormat, NumberPolicy};
/// let mut p = NumberPolicy::default();
/// p.format = NumberFormat::International;
/// assert_eq!(normalize("9075551234", &p), Normalized::e164("+1 907-555-1234"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NumberFormat {
    /// `+19075551234` (the default; what the call API expects).
    #[default]
    E164,
    /// `+1 907-555-1234`.
    International,
    /// `(907) 555-1234`, as dialled inside the number's own country.
    National,
    /// `tel:+1-907-555-1234`.
    Rfc3966,
}

crate::vocab::vocabulary!(
    /// `e164`, `international`, `national` or `rfc3966`, as serialized (also its `Display`).
    ///
    /// ```
    /// use pbx_core::phone::NumberFormat;
    /// assert_eq!("rfc3966".parse::<NumberFormat>()?, NumberFormat::Rfc3966);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    NumberFormat, "number_format",
    {
        Self::E164 => "e164",
        Self::International => "international",
        Self::National => "national",
        Self::Rfc3966 => "rfc3966",
    },
    all: [Self::E164, Self::International, Self::National, Self::Rfc3966],
    display: code
);

/// What [`normalize`] needs to know: the default region, which bare numbers are extensions,
/// and the output format.
///
/// ```
/// use pbx_core::phone::{normalize, Normalized, NumberPolicy, Region};
/// let mut p = NumberPolicy::new(Region::parse("region", "GB")?);
/// p.extensions.extension_ranges = vec![100..=199];
/// assert_eq!(normalize("150", &p), Normalized::internal("150"));
/// // Outside the ranges, a number is what libphonenumber says: too short for GB.
/// assert!(matches!(normalize("250", &p), Normalized::Invalid { .. }));
/// assert_eq!(normalize("020 7946 0018", &p), Normalized::e164("+442079460018"));
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NumberPolicy {
    /// The region a number without a country code belongs to (default `US`).
    pub default_region: Region,
    /// Which bare numbers are internal extensions: the same rule that decides call direction
    /// ([`DirectionPolicy::is_extension_number`]; only its extension digits, ranges and trunk
    /// DNs matter here).
    pub extensions: DirectionPolicy,
    /// How external numbers are written (default E.164).
    pub format: NumberFormat,
}

impl NumberPolicy {
    /// A policy for `default_region`, with the default extension rule and E.164 output.
    pub fn new(default_region: Region) -> Self {
        NumberPolicy {
            default_region,
            ..NumberPolicy::default()
        }
    }

    /// A policy from the codes a binding receives: the default region (`region_setting` is
    /// its name in errors) and the [`NumberFormat`] code; a missing one keeps the default.
    ///
    /// ```
    /// use pbx_core::phone::{NumberFormat, NumberPolicy, Region};
    /// let p = NumberPolicy::from_codes("default_region", Some("au"), Some("national"))?;
    /// assert_eq!((p.default_region, p.format), (Region::parse("", "AU")?, NumberFormat::National));
    /// assert_eq!(NumberPolicy::from_codes("region", None, None)?, NumberPolicy::default());
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn from_codes(
        region_setting: &str,
        default_region: Option<&str>,
        format: Option<&str>,
    ) -> Result<Self, Error> {
        let mut p = NumberPolicy::default();
        if let Some(region) = default_region {
            p.default_region = Region::parse(region_setting, region)?;
        }
        if let Some(format) = format {
            p.format = format.parse()?;
        }
        Ok(p)
    }
}

/// Why an input is not a number (see [`Normalized::Invalid`]).
///
/// ```
/// use pbx_core::phone::InvalidReason;
/// assert_eq!(InvalidReason::TooShort.to_string(), "too short to be a phone number");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InvalidReason {
    /// A 3CX pseudo-destination (`EndCall`, `PickupExt.125`), not a party.
    NotAParty,
    /// No phone number in the text (no digits, or letters and symbols libphonenumber rejects).
    NotANumber,
    /// The country calling code after `+` or an international prefix does not exist.
    InvalidCountryCode,
    /// Fewer digits than any number of its country.
    TooShort,
    /// More digits than any number of its country.
    TooLong,
    /// A digit count between the shortest and longest of its country that no number has.
    InvalidLength,
}

crate::vocab::vocabulary!(
    /// The reason's code as in its serialized form (`too_short`, `not_a_number`, …), for the
    /// bindings' `reason` field. `Display` is the explanation.
    ///
    /// ```
    /// use pbx_core::phone::InvalidReason;
    /// assert_eq!(InvalidReason::TooShort.code(), "too_short");
    /// for r in InvalidReason::ALL {
    ///     assert_eq!(serde_json::to_value(r)?, r.code());
    /// }
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    InvalidReason, "invalid_reason",
    {
        Self::NotAParty => "not_a_party",
        Self::NotANumber => "not_a_number",
        Self::InvalidCountryCode => "invalid_country_code",
        Self::TooShort => "too_short",
        Self::TooLong => "too_long",
        Self::InvalidLength => "invalid_length",
    },
    all: [
        Self::NotAParty, Self::NotANumber, Self::InvalidCountryCode, Self::TooShort,
        Self::TooLong, Self::InvalidLength,
    ]
);

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidReason::NotAParty => "a 3CX pseudo-destination, not a party",
            InvalidReason::NotANumber => "not a phone number",
            InvalidReason::InvalidCountryCode => "unknown country calling code",
            InvalidReason::TooShort => "too short to be a phone number",
            InvalidReason::TooLong => "too long to be a phone number",
            InvalidReason::InvalidLength => "no number of its country has this many digits",
        })
    }
}

/// A normalized number. Serializes as an object tagged by `kind`
/// (`e164`, `internal`, `anonymous`, `invalid`).
///
/// ```
/// use pbx_core::phone::{InvalidReason, Normalized};
/// let n = Normalized::E164 { value: "+19075551234".into(), extension: Some("12".into()) };
/// assert_eq!(serde_json::to_string(&n)?, r#"{"kind":"e164","value":"+19075551234","extension":"12"}"#);
/// assert_eq!(serde_json::to_string(&Normalized::internal("101"))?, r#"{"kind":"internal","value":"101"}"#);
/// assert_eq!(serde_json::to_string(&Normalized::Anonymous)?, r#"{"kind":"anonymous"}"#);
/// let bad = Normalized::Invalid { raw: "12".into(), reason: InvalidReason::TooShort };
/// assert_eq!(serde_json::to_string(&bad)?, r#"{"kind":"invalid","raw":"12","reason":"too_short"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Normalized {
    /// An external number, in the policy's format (E.164 by default, e.g. `+19075551234`).
    #[serde(rename = "e164")]
    E164 {
        /// The number, without any extension.
        value: String,
        /// An extension written after the number (`ext. 1234`, `x1234`, `;ext=1234`), digits only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extension: Option<String>,
    },
    /// An internal extension (`Ext.101`, `sip:101@pbx.local`, or a bare number the extension
    /// rule accepts), as its digits.
    Internal {
        /// The extension.
        value: String,
    },
    /// A withheld or blank caller.
    Anonymous,
    /// Text that cannot be a phone number (libphonenumber cannot parse it, or does not call
    /// it a possible number for the default region).
    Invalid {
        /// The input as given.
        raw: String,
        /// Why.
        reason: InvalidReason,
    },
}

impl Normalized {
    /// An external number without extension.
    ///
    /// ```
    /// # use pbx_core::phone::Normalized;
    /// assert_eq!(Normalized::e164("+46701234567").value(), Some("+46701234567"));
    /// ```
    pub fn e164(value: impl Into<String>) -> Normalized {
        Normalized::E164 {
            value: value.into(),
            extension: None,
        }
    }

    /// An internal extension.
    ///
    /// ```
    /// # use pbx_core::phone::Normalized;
    /// assert_eq!(Normalized::internal("101").value(), Some("101"));
    /// ```
    pub fn internal(value: impl Into<String>) -> Normalized {
        Normalized::Internal {
            value: value.into(),
        }
    }

    /// The number of an external or internal outcome; `None` for anonymous and invalid ones.
    ///
    /// ```
    /// # use pbx_core::phone::Normalized;
    /// assert_eq!(Normalized::Anonymous.value(), None);
    /// ```
    pub fn value(&self) -> Option<&str> {
        match self {
            Normalized::E164 { value, .. } | Normalized::Internal { value } => Some(value),
            Normalized::Anonymous | Normalized::Invalid { .. } => None,
        }
    }

    /// The outcome's kind as in its serialized form: `e164`, `internal`, `anonymous`, `invalid`.
    ///
    /// ```
    /// # use pbx_core::phone::Normalized;
    /// assert_eq!(Normalized::e164("+19075551234").kind(), "e164");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Normalized::E164 { .. } => "e164",
            Normalized::Internal { .. } => "internal",
            Normalized::Anonymous => "anonymous",
            Normalized::Invalid { .. } => "invalid",
        }
    }
}

/// A [`Normalized`] borrowing its text: what [`normalize_ref`] hands its visitor, without
/// building a `String` for the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NormalizedRef<'a> {
    /// As [`Normalized::E164`].
    E164 {
        /// The number, without any extension.
        value: &'a str,
        /// An extension written after the number, digits only.
        extension: Option<&'a str>,
    },
    /// As [`Normalized::Internal`].
    Internal {
        /// The extension.
        value: &'a str,
    },
    /// As [`Normalized::Anonymous`].
    Anonymous,
    /// As [`Normalized::Invalid`].
    Invalid {
        /// The input as given.
        raw: &'a str,
        /// Why.
        reason: InvalidReason,
    },
}

impl<'a> NormalizedRef<'a> {
    /// The number of an external or internal outcome (as [`Normalized::value`]).
    pub fn value(&self) -> Option<&'a str> {
        match *self {
            NormalizedRef::E164 { value, .. } | NormalizedRef::Internal { value } => Some(value),
            NormalizedRef::Anonymous | NormalizedRef::Invalid { .. } => None,
        }
    }

    /// The outcome's kind (as [`Normalized::kind`]).
    pub fn kind(&self) -> &'static str {
        match self {
            NormalizedRef::E164 { .. } => "e164",
            NormalizedRef::Internal { .. } => "internal",
            NormalizedRef::Anonymous => "anonymous",
            NormalizedRef::Invalid { .. } => "invalid",
        }
    }

    /// The owned outcome.
    pub fn to_normalized(&self) -> Normalized {
        match *self {
            NormalizedRef::E164 { value, extension } => Normalized::E164 {
                value: value.to_owned(),
                extension: extension.map(str::to_owned),
            },
            NormalizedRef::Internal { value } => Normalized::internal(value),
            NormalizedRef::Anonymous => Normalized::Anonymous,
            NormalizedRef::Invalid { raw, reason } => Normalized::Invalid {
                raw: raw.to_owned(),
                reason,
            },
        }
    }
}

impl Normalized {
    /// The same outcome, borrowed.
    pub fn borrowed(&self) -> NormalizedRef<'_> {
        match self {
            Normalized::E164 { value, extension } => NormalizedRef::E164 {
                value,
                extension: extension.as_deref(),
            },
            Normalized::Internal { value } => NormalizedRef::Internal { value },
            Normalized::Anonymous => NormalizedRef::Anonymous,
            Normalized::Invalid { raw, reason } => NormalizedRef::Invalid {
                raw,
                reason: *reason,
            },
        }
    }
}

/// [`normalize`] without building the answer: `visit` sees it borrowed (from `raw`, a stack
/// buffer or `cache`) and its result is returned. The allocation-free form for bulk callers;
/// `cache` (optional) remembers libphonenumber's answers for numbers seen again.
///
/// ```
/// use pbx_core::phone::{normalize_ref, NumberPolicy};
/// let p = NumberPolicy::default();
/// let mut out = String::new();
/// for raw in ["(907) 555-1234", "Ext.101", "anonymous"] {
///     normalize_ref(raw, &p, None, |n| out.push_str(n.value().unwrap_or("-")));
///     out.push(' ');
/// }
/// assert_eq!(out, "+19075551234 101 - ");
/// ```
pub fn normalize_ref<T>(
    raw: &str,
    policy: &NumberPolicy,
    cache: Option<&NumberCache>,
    visit: impl FnOnce(NormalizedRef<'_>) -> T,
) -> T {
    normalize_visit(
        raw,
        policy.default_region,
        policy.format,
        &policy.extensions,
        cache,
        visit,
    )
}

/// Normalizes one number (see the [module documentation](self) for the rules). Never panics.
///
/// ```
/// use pbx_core::phone::{normalize, InvalidReason, Normalized, NumberPolicy};
/// let p = NumberPolicy::default();
/// assert_eq!(normalize("+1 907 555 1234", &p), Normalized::e164("+19075551234"));
/// assert_eq!(normalize("1-800-FLOWERS", &p), Normalized::e164("+18003569377"));
/// assert_eq!(normalize("*67 907.555.1234", &p), Normalized::e164("+19075551234"));
/// assert_eq!(normalize("sip:+442079460018@carrier;user=phone", &p), Normalized::e164("+442079460018"));
/// assert_eq!(normalize("sip:101@pbx.local", &p), Normalized::internal("101"));
/// assert_eq!(
///     normalize("907-555-1234 ext. 1234", &p),
///     Normalized::E164 { value: "+19075551234".into(), extension: Some("1234".into()) },
/// );
/// assert_eq!(
///     normalize("EndCall", &p),
///     Normalized::Invalid { raw: "EndCall".into(), reason: InvalidReason::NotAParty },
/// );
/// ```
pub fn normalize(raw: &str, policy: &NumberPolicy) -> Normalized {
    normalize_with(
        raw,
        policy.default_region,
        policy.format,
        &policy.extensions,
    )
}

/// Normalizes many numbers: the bulk path (one call per batch from the bindings; any
/// iterator of texts, so a binding can pass slices of one buffer). Element `i` of the result
/// is `normalize(raws[i], policy)`.
///
/// ```
/// use pbx_core::phone::{normalize_batch, Normalized, NumberPolicy};
/// let out = normalize_batch(&["9075551234", "Ext.101", ""], &NumberPolicy::default());
/// assert_eq!(out, [Normalized::e164("+19075551234"), Normalized::internal("101"), Normalized::Anonymous]);
/// ```
pub fn normalize_batch<S: AsRef<str>>(
    raws: impl IntoIterator<Item = S>,
    policy: &NumberPolicy,
) -> Vec<Normalized> {
    raws.into_iter()
        .map(|raw| normalize(raw.as_ref(), policy))
        .collect()
}

/// The compact answers of a batch: per number its value ([`NormalizedRef::value`]: the number
/// in the policy's format or the extension; `None` for a withheld or invalid number), held in
/// one buffer, so a batch costs two allocations however long it is.
///
/// ```
/// use pbx_core::phone::{NormalizedValues, NumberPolicy};
/// let out = NormalizedValues::new(["9075551234", "Ext.101", "anonymous"], &NumberPolicy::default());
/// assert_eq!(out.iter().collect::<Vec<_>>(), [Some("+19075551234"), Some("101"), None]);
/// assert_eq!(out.len(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NormalizedValues {
    values: String,
    spans: Vec<Option<(usize, usize)>>,
}

impl NormalizedValues {
    /// Normalizes each of `raws` with `policy` ([`normalize_ref`]).
    pub fn new<S: AsRef<str>>(raws: impl IntoIterator<Item = S>, policy: &NumberPolicy) -> Self {
        let mut values = String::new();
        let spans = raws
            .into_iter()
            .map(|raw| {
                normalize_ref(raw.as_ref(), policy, None, |n| {
                    n.value().map(|v| {
                        let start = values.len();
                        values.push_str(v);
                        (start, values.len())
                    })
                })
            })
            .collect();
        NormalizedValues { values, spans }
    }

    /// The value of each number, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<&str>> + '_ {
        self.spans
            .iter()
            .map(|s| s.map(|(a, b)| &self.values[a..b]))
    }

    /// How many numbers the batch had.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True for a batch of no number.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// [`normalize`] with the policy's parts given separately (the call mapper keeps its extension
/// rule in its direction policy).
pub(crate) fn normalize_with(
    raw: &str,
    region: Region,
    format: NumberFormat,
    extensions: &DirectionPolicy,
) -> Normalized {
    normalize_cached(raw, region, format, extensions, None)
}

/// [`normalize_with`], asking `cache` before libphonenumber.
pub(crate) fn normalize_cached(
    raw: &str,
    region: Region,
    format: NumberFormat,
    extensions: &DirectionPolicy,
    cache: Option<&NumberCache>,
) -> Normalized {
    normalize_visit(raw, region, format, extensions, cache, |n| {
        n.to_normalized()
    })
}

/// The one implementation of the rules: the answer is handed to `visit` borrowed.
pub(crate) fn normalize_visit<T>(
    raw: &str,
    region: Region,
    format: NumberFormat,
    extensions: &DirectionPolicy,
    cache: Option<&NumberCache>,
    visit: impl FnOnce(NormalizedRef<'_>) -> T,
) -> T {
    let s = crate::cdr::trim(raw);
    let Some(&first) = s.as_bytes().first() else {
        return visit(NormalizedRef::Anonymous);
    };
    let mut candidate = s;
    if !(first.is_ascii_digit() || first == b'+' || first == b'(') {
        match unwrap_3cx(s, extensions) {
            Unwrapped::Number(n) => candidate = n,
            Unwrapped::Done(outcome) => return visit(outcome),
            Unwrapped::Invalid(reason) => return visit(NormalizedRef::Invalid { raw, reason }),
        }
    }
    if extensions.is_extension_number(candidate) {
        return visit(NormalizedRef::Internal { value: candidate });
    }
    if format == NumberFormat::E164
        && let Some(e164) = nanp_fast_path(candidate.as_bytes(), region == Region::US)
    {
        return visit(NormalizedRef::E164 {
            value: e164.as_str(),
            extension: None,
        });
    }
    match cache {
        Some(cache) => cache.library(raw, candidate, region, format, visit),
        None => visit(library(raw, candidate, region, format).borrowed()),
    }
}

/// The most answers a [`NumberCache`] holds; it starts over when full.
const NUMBER_CACHE_SIZE: usize = 1024;

/// A small memo of libphonenumber's answers (the slow part of [`normalize`]) for numbers seen
/// again, as callers and callees recur in CDRs. An answer depends only on the text, the region
/// and the format, all of which are part of the key, so the cache never changes a result.
/// Thread-safe; a clone starts empty; at most 1 024 answers are kept.
///
/// ```
/// use pbx_core::call::CallMapper;
/// use pbx_core::cdr::PartyNumber;
/// let m = CallMapper::default(); // holds one
/// let n = PartyNumber::parse("+44 20 7946 0018");
/// assert_eq!(m.phone_number(&n), "+442079460018");
/// assert_eq!(m.phone_number(&n), "+442079460018"); // answered from the cache
/// ```
#[derive(Default)]
pub struct NumberCache {
    /// Raw text → the rest of the key and the answer.
    answers: std::sync::Mutex<std::collections::HashMap<Box<str>, CachedAnswer>>,
}

struct CachedAnswer {
    candidate: Box<str>,
    region: Region,
    format: NumberFormat,
    answer: Normalized,
}

impl NumberCache {
    /// `library(raw, candidate, region, format)`, remembered, handed to `visit` (under the
    /// cache's lock on a hit: no copy). When another thread holds the cache, computes without
    /// it.
    fn library<T>(
        &self,
        raw: &str,
        candidate: &str,
        region: Region,
        format: NumberFormat,
        visit: impl FnOnce(NormalizedRef<'_>) -> T,
    ) -> T {
        if let Ok(answers) = self.answers.try_lock()
            && let Some(hit) = answers.get(raw)
            && *hit.candidate == *candidate
            && hit.region == region
            && hit.format == format
        {
            return visit(hit.answer.borrowed());
        }
        let answer = library(raw, candidate, region, format);
        let out = visit(answer.borrowed());
        if let Ok(mut answers) = self.answers.try_lock() {
            if answers.len() >= NUMBER_CACHE_SIZE {
                answers.clear();
            }
            answers.insert(
                raw.into(),
                CachedAnswer {
                    candidate: candidate.into(),
                    region,
                    format,
                    answer,
                },
            );
        }
        out
    }

    /// How many answers it holds.
    pub fn len(&self) -> usize {
        self.answers.lock().map_or(0, |a| a.len())
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Clone for NumberCache {
    /// An empty cache (answers are cheap to find again; sharing would need a lock across
    /// clones).
    fn clone(&self) -> Self {
        NumberCache::default()
    }
}

impl fmt::Debug for NumberCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumberCache")
            .field("answers", &self.len())
            .finish()
    }
}

enum Unwrapped<'a> {
    /// A number to read on.
    Number(&'a str),
    /// A final outcome.
    Done(NormalizedRef<'a>),
    /// Not a number, for this reason.
    Invalid(InvalidReason),
}

/// Rules 1–5 of the module documentation, for an input that does not start with a digit,
/// `+` or `(` (those need none of them).
fn unwrap_3cx<'a>(s: &'a str, extensions: &DirectionPolicy) -> Unwrapped<'a> {
    if is_withheld(s) {
        return Unwrapped::Done(NormalizedRef::Anonymous);
    }
    if s.eq_ignore_ascii_case("EndCall") || strip_prefix_ci(s, "Pickup").is_some() {
        return Unwrapped::Invalid(InvalidReason::NotAParty);
    }
    if let Some(rest) = strip_prefix_ci(s, "sip:").or_else(|| strip_prefix_ci(s, "sips:")) {
        let user = rest.split(['@', ';']).next().unwrap_or_default().trim();
        if user.is_empty() || is_withheld(user) {
            return Unwrapped::Done(NormalizedRef::Anonymous);
        }
        return match unwrap_3cx_inner(user) {
            Some(done) => done,
            None => Unwrapped::Number(user),
        };
    }
    if let Some(rest) = strip_prefix_ci(s, "tel:") {
        let number = rest.split(';').next().unwrap_or_default().trim();
        if extensions.is_extension_number(number) {
            return Unwrapped::Done(NormalizedRef::Internal { value: number });
        }
        return Unwrapped::Number(s);
    }
    match unwrap_3cx_inner(s) {
        Some(done) => done,
        None => Unwrapped::Number(s),
    }
}

/// Rules 4–5: `Ext.`, caller-id codes.
fn unwrap_3cx_inner(s: &str) -> Option<Unwrapped<'_>> {
    if let Some(ext) = strip_prefix_ci(s, "Ext.") {
        let ext = ext.trim();
        return Some(if ext.is_empty() {
            Unwrapped::Invalid(InvalidReason::NotANumber)
        } else {
            Unwrapped::Done(NormalizedRef::Internal { value: ext })
        });
    }
    for code in ["*67", "*82", "#31#", "*31#"] {
        if let Some(rest) = s.strip_prefix(code) {
            let rest = rest.trim_start();
            if rest.is_empty() {
                return None;
            }
            return Some(Unwrapped::Number(rest));
        }
    }
    None
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// libphonenumber's E.164 answer for a NANP number whose answer the digits alone decide, or
/// `None` to ask libphonenumber.
///
/// Taken: only ASCII digits and the separators ` -.()`, optionally one leading `+`, with
/// - `+1` and ten digits whose first is 2–9 (any default region): the country code is 1, and
///   the national number does not start with the national prefix `1`, so nothing is stripped;
///   ten digits are always a possible length for country code 1;
/// - with default region US and no `+`: ten digits starting 2–9 (no international prefix
///   `011`, no national prefix `1`, so kept as they are), or `1` and ten digits starting 2–9
///   (eleven digits are too long for US, so libphonenumber takes the `1` as the country code).
///
/// Everything else — `0xx`/`1xx` area codes, `011…`, letters, other punctuation — returns
/// `None`.
fn nanp_fast_path(s: &[u8], region_is_us: bool) -> Option<Nanp> {
    if s.len() > 40 {
        return None;
    }
    let (plus, body) = match s.split_first() {
        Some((b'+', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut digits = [0u8; 11];
    let mut n = 0;
    for &b in body {
        match b {
            b'0'..=b'9' => {
                *digits.get_mut(n)? = b;
                n += 1;
            }
            b' ' | b'-' | b'.' | b'(' | b')' => {}
            _ => return None,
        }
    }
    let nsn = match n {
        10 if !plus && region_is_us => &digits[..10],
        11 if digits[0] == b'1' && (plus || region_is_us) => &digits[1..],
        _ => return None,
    };
    if !(b'2'..=b'9').contains(&nsn[0]) {
        return None;
    }
    let mut out = *b"+1..........";
    out[2..].copy_from_slice(nsn);
    Some(Nanp(out))
}

/// `+1` and ten ASCII digits, on the stack.
struct Nanp([u8; 12]);

impl Nanp {
    fn as_str(&self) -> &str {
        // Always ASCII (`+`, `1` and the digits copied in).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// libphonenumber rejects longer input as too long (counted in characters, as Python's
/// `phonenumbers` does; rlibphonenumber has no such limit).
const MAX_INPUT_CHARS: usize = 250;

/// Where rlibphonenumber 2.2.15 is more lenient than libphonenumber, `false`: the Java, C++ and
/// Python libphonenumber accept a bare two-digit number (`55`) or a longer number with an
/// extension, but not two digits followed by an extension (`55,2407`, `31-4#`); rlibphonenumber
/// groups its viability pattern so that it accepts that too. For such text, libphonenumber's
/// answer is "not a number" unless the long form matches, which is what rlibphonenumber's own
/// check answers for the text behind a `+` (a leading `+` rules out the two-digit branch and is
/// absorbed by the long form's optional plus signs). `true` for everything else: then
/// rlibphonenumber's parse decides.
fn viable_as_libphonenumber(candidate: &str) -> bool {
    let Some(national) = text_libphonenumber_checks(candidate) else {
        return true;
    };
    // Only two digits followed by a non-digit can match the two-digit branch with an extension
    // (every extension pattern starts with a separator, a letter or a symbol).
    let mut chars = national.chars();
    let two_digits_then_more = matches!(
        (chars.next(), chars.next(), chars.next()),
        (Some(a), Some(b), Some(c)) if a.is_numeric() && b.is_numeric() && !c.is_numeric()
    );
    if !two_digits_then_more || !PHONE_NUMBER_UTIL.is_viable_phone_number(national) {
        return true;
    }
    let mut with_plus = String::with_capacity(national.len() + 1);
    with_plus.push('+');
    with_plus.push_str(national);
    PHONE_NUMBER_UTIL.is_viable_phone_number(&with_plus)
}

/// The text libphonenumber checks for viability (its `buildNationalNumberForParsing`): from the
/// first digit or plus sign, without trailing characters that are neither numbers, letters nor
/// `#`, cut before a second number (`/x…`) and an ISDN subaddress (`;isub=`). `None` for RFC 3966
/// input with a `phone-context` (left to rlibphonenumber), for text without digits, and for text
/// that does not start with two digits and a non-digit (which needs no further check).
fn text_libphonenumber_checks(candidate: &str) -> Option<&str> {
    let start = candidate.find(|c: char| c.is_numeric() || c == '+' || c == '\u{FF0B}')?;
    // Cheap exit first: the text checked below starts here, and is only ever shortened.
    let mut head = candidate[start..].chars();
    if !matches!(
        (head.next(), head.next(), head.next()),
        (Some(a), Some(b), Some(c)) if a.is_numeric() && b.is_numeric() && !c.is_numeric()
    ) {
        return None;
    }
    if candidate.contains(";phone-context=") {
        return None;
    }
    let mut s = candidate[start..]
        .trim_end_matches(|c: char| !(c.is_numeric() || c.is_alphabetic() || c == '#'));
    if let Some(i) = s.find(";isub=") {
        s = &s[..i];
    }
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if (b == b'/' || b == b'\\') && bytes[i + 1..].iter().find(|&&c| c != b' ') == Some(&b'x') {
            s = &s[..i];
            break;
        }
    }
    Some(s)
}

/// Rule 7: libphonenumber.
fn library(raw: &str, candidate: &str, region: Region, format: NumberFormat) -> Normalized {
    let invalid = |reason| Normalized::Invalid {
        raw: raw.to_owned(),
        reason,
    };
    if candidate.len() > MAX_INPUT_CHARS && candidate.chars().count() > MAX_INPUT_CHARS {
        return invalid(InvalidReason::TooLong);
    }
    if !viable_as_libphonenumber(candidate) {
        return invalid(InvalidReason::NotANumber);
    }
    let number = match PHONE_NUMBER_UTIL.parse(candidate, Some(region.lib())) {
        Ok(n) => n,
        Err(e) => {
            return invalid(match e {
                ParseError::InvalidCountryCode => InvalidReason::InvalidCountryCode,
                ParseError::TooShortAfterIdd | ParseError::TooShortNsn => InvalidReason::TooShort,
                ParseError::TooLongNsn => InvalidReason::TooLong,
                ParseError::NotANumber(_) => InvalidReason::NotANumber,
            });
        }
    };
    if let Err(e) = PHONE_NUMBER_UTIL.is_possible_number_with_reason(&number) {
        return invalid(match e {
            ValidationError::InvalidCountryCode => InvalidReason::InvalidCountryCode,
            ValidationError::TooShort => InvalidReason::TooShort,
            ValidationError::TooLong => InvalidReason::TooLong,
            _ => InvalidReason::InvalidLength,
        });
    }
    let value = number
        .format_as(match format {
            NumberFormat::E164 => PhoneNumberFormat::E164,
            NumberFormat::International => PhoneNumberFormat::International,
            NumberFormat::National => PhoneNumberFormat::National,
            NumberFormat::Rfc3966 => PhoneNumberFormat::RFC3966,
        })
        .into_owned();
    let extension = number.extension.filter(|e| !e.is_empty());
    Normalized::E164 { value, extension }
}

/// The most digits an E.164 number has, country code included (ITU-T E.164 §6.1). A call
/// whose other party's number libphonenumber rejects and that holds more digits is refused by
/// the call mapping, never sent as [`api_number`] would write it.
pub const E164_MAX_DIGITS: usize = 15;

/// The number to send for a party without normalization: digits only (a leading `+` kept),
/// `anonymous` for a withheld caller, or the raw text when it holds no digit. The call
/// mapping sends this for numbers that [`normalize`] calls [`Normalized::Invalid`].
///
/// ```
/// use pbx_core::cdr::PartyNumber;
/// use pbx_core::phone::api_number;
/// assert_eq!(api_number(&PartyNumber::Number("(907) 555-1234".into())), "9075551234");
/// assert_eq!(api_number(&PartyNumber::Number("+46 70 301 40 82".into())), "+46703014082");
/// assert_eq!(api_number(&PartyNumber::Extension("101".into())), "101");
/// assert_eq!(api_number(&PartyNumber::Number("Anonymous".into())), "anonymous");
/// ```
pub fn api_number(n: &PartyNumber) -> String {
    let raw = n.as_str().trim();
    if is_withheld(raw) {
        return "anonymous".to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    if raw.starts_with('+') {
        out.push('+');
    }
    out.extend(raw.chars().filter(char::is_ascii_digit));
    if out.trim_start_matches('+').is_empty() {
        return raw.to_owned();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(s: &[u8], region_is_us: bool) -> Option<String> {
        nanp_fast_path(s, region_is_us).map(|n| n.as_str().to_owned())
    }

    fn n(raw: &str) -> Normalized {
        normalize(raw, &NumberPolicy::default())
    }

    #[test]
    fn fast_path_only_for_fixed_answers() {
        assert_eq!(
            fast(b"(907) 555-1234", true).as_deref(),
            Some("+19075551234")
        );
        assert_eq!(
            fast(b"+1 907 555 1234", false).as_deref(),
            Some("+19075551234")
        );
        assert_eq!(fast(b"19075551234", false), None);
        assert_eq!(fast(b"1235551234", true), None);
        assert_eq!(fast(b"0115551234", true), None);
        assert_eq!(fast(b"907/555/1234", true), None);
        assert_eq!(fast(b"907555123456", true), None);
    }

    #[test]
    fn spellings() {
        for raw in [
            "(907) 555-1234",
            "907.555.1234",
            "9075551234",
            "19075551234",
            "+1 907 555 1234",
            "tel:+1-907-555-1234",
            "*67 907 555 1234",
            "*679075551234",
        ] {
            assert_eq!(n(raw), Normalized::e164("+19075551234"), "{raw}");
        }
        let se = NumberPolicy::new("SE".parse().unwrap());
        assert_eq!(
            normalize("00 44 20 7946 0018", &se),
            Normalized::e164("+442079460018")
        );
        assert_eq!(n("PickupExt.125").kind(), "invalid");
        assert_eq!(n("sip:anonymous@anonymous.invalid"), Normalized::Anonymous);
        assert_eq!(n("Private"), Normalized::Anonymous);
        assert_eq!(n("  "), Normalized::Anonymous);
        assert_eq!(n("tel:101"), Normalized::internal("101"));
        assert_eq!(
            n("abc"),
            Normalized::Invalid {
                raw: "abc".into(),
                reason: InvalidReason::NotANumber
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(raw in "\\PC{0,40}", region in proptest::sample::select(vec!["US", "SE", "DE", "BR", "AR"])) {
            let p = NumberPolicy::new(region.parse().unwrap());
            let out = normalize(&raw, &p);
            if let Normalized::E164 { value, .. } = &out {
                proptest::prop_assert!(value.starts_with('+'));
            }
        }

        #[test]
        fn fast_path_spellings_agree_with_the_library(
            area in 200u32..1000, rest in 0u32..10_000_000, spelling in 0usize..6,
        ) {
            let d = format!("{area}{rest:07}");
            let raw = match spelling {
                0 => d.clone(),
                1 => format!("1{d}"),
                2 => format!("+1{d}"),
                3 => format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..]),
                4 => format!("{}.{}.{}", &d[..3], &d[3..6], &d[6..]),
                _ => format!("+1 {} {} {}", &d[..3], &d[3..6], &d[6..]),
            };
            let fast = fast(raw.as_bytes(), true);
            proptest::prop_assert!(fast.is_some());
            proptest::prop_assert_eq!(
                Normalized::e164(fast.unwrap()),
                library(&raw, &raw, Region::US, NumberFormat::E164)
            );
        }
    }

    #[test]
    fn national_prefix_with_other_region() {
        let de = NumberPolicy::new("DE".parse().unwrap());
        assert_eq!(
            normalize("0232354095", &de),
            Normalized::e164("+49232354095")
        );
    }
}
