//! The API's `timestamp`: a call's start in the PBX's zone, with its offset.

use std::fmt;

use chrono::{DateTime, Datelike, Offset, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;

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
