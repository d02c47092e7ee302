//! Timezone names as 3CX and users write them: an IANA name (`America/Anchorage`) or a Windows
//! zone name (`Alaskan Standard Time`, what XAPI's office hours give). Used by the call mapping
//! (`pbx.timezone`), business hours and the configuration; it depends on none of them.

use chrono_tz::Tz;

use crate::error::Error;

/// Reads a timezone: an IANA name (`America/Anchorage`) or a Windows zone name as 3CX's
/// `OfficeHours.TimeZoneId` may give it (`Alaskan Standard Time`, mapped by CLDR's
/// windowsZones, world default). Surrounding white space is ignored. This is pbx's one
/// timezone parser: the configuration, the XAPI office hours and the bindings all use it.
///
/// # Errors
/// [`Error::InvalidSetting`] naming `setting` when the name is neither.
///
/// ```
/// use pbx_core::zone::parse_timezone; // also pbx_core::call::parse_timezone
/// assert_eq!(parse_timezone("timezone", "America/Anchorage")?, chrono_tz::America::Anchorage);
/// assert_eq!(parse_timezone("TimeZoneId", "Alaskan Standard Time")?, chrono_tz::America::Anchorage);
/// let err = parse_timezone("timezone", "Mars/Olympus").unwrap_err();
/// assert!(err.to_string().starts_with("invalid setting `timezone` = \"Mars/Olympus\""));
/// # Ok::<(), pbx_core::Error>(())
/// ```
pub fn parse_timezone(setting: &str, name: &str) -> Result<Tz, Error> {
    let trimmed = name.trim();
    if let Ok(tz) = trimmed.parse::<Tz>() {
        return Ok(tz);
    }
    localzone::win_zone_to_iana(trimmed, None)
        .and_then(|iana| iana.parse::<Tz>().ok())
        .ok_or_else(|| Error::InvalidSetting {
            setting: setting.to_owned(),
            value: name.to_owned(),
            reason: "not an IANA timezone name (such as America/Anchorage or Europe/Berlin) \
                     nor a Windows zone name (such as Alaskan Standard Time)"
                .into(),
        })
}
