//! [`MappingOptions`]: the settings of a mapping, and their codes ([`MappingCodes`]).

use chrono_tz::Tz;

use super::request::InternalCalls;
use crate::error::Error;
use crate::phone::{NumberFormat, Region};
use crate::zone::parse_timezone;

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
    /// [`DirectionPolicy`](crate::direction::DirectionPolicy) rule.
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
