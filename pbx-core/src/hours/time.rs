//! Times of day and opening intervals.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveTime;

use crate::error::Error;

/// A time of day from `00:00` to `24:00` (the latter only as an interval's end), to the second.
///
/// ```
/// use pbx_core::hours::TimeOfDay;
/// let t: TimeOfDay = "09:30".parse()?;
/// assert_eq!(t.seconds(), 9 * 3600 + 30 * 60);
/// assert_eq!("17:00:15".parse::<TimeOfDay>()?.to_string(), "17:00:15");
/// assert!("25:00".parse::<TimeOfDay>().is_err());
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u32);

impl TimeOfDay {
    /// Midnight at the start of a day.
    pub const MIDNIGHT: TimeOfDay = TimeOfDay(0);
    /// Midnight at the end of a day (`24:00`).
    pub const END_OF_DAY: TimeOfDay = TimeOfDay(86_400);

    /// A time from hours, minutes and seconds; `None` past `24:00:00`.
    pub fn from_hms(h: u32, m: u32, s: u32) -> Option<TimeOfDay> {
        let secs = h.checked_mul(3600)? + m * 60 + s;
        (m < 60 && s < 60 && secs <= 86_400).then_some(TimeOfDay(secs))
    }

    /// Seconds since midnight.
    pub fn seconds(self) -> u32 {
        self.0
    }

    /// As a `NaiveTime` plus whether it is `24:00` (the next day's midnight).
    pub(crate) fn to_naive(self) -> (NaiveTime, bool) {
        if self.0 >= 86_400 {
            (NaiveTime::MIN, true)
        } else {
            (
                NaiveTime::from_num_seconds_from_midnight_opt(self.0, 0).unwrap_or(NaiveTime::MIN),
                false,
            )
        }
    }
}

impl FromStr for TimeOfDay {
    type Err = Error;

    /// `HH:MM` or `HH:MM:SS` (a fraction after the seconds, as XAPI writes, is dropped).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Error::InvalidSetting {
            setting: "time of day".into(),
            value: s.to_owned(),
            reason: "not a time of day (HH:MM or HH:MM:SS, 00:00 to 24:00)".into(),
        };
        let main = s.trim().split('.').next().unwrap_or_default();
        let parts: Vec<&str> = main.split(':').collect();
        if !(2..=3).contains(&parts.len())
            || parts
                .iter()
                .any(|p| p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let num = |i: usize| {
            parts
                .get(i)
                .map_or(Ok(0), |p| p.parse::<u32>())
                .map_err(|_| bad())
        };
        TimeOfDay::from_hms(num(0)?, num(1)?, num(2)?).ok_or_else(bad)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = (self.0 / 3600, (self.0 / 60) % 60, self.0 % 60);
        if s == 0 {
            write!(f, "{h:02}:{m:02}")
        } else {
            write!(f, "{h:02}:{m:02}:{s:02}")
        }
    }
}

/// An opening interval within a day: `09:00-17:00`. When `end` is not after `start` the
/// interval runs overnight (`22:00-06:00`) and belongs to the day it starts.
///
/// ```
/// use pbx_core::hours::Interval;
/// let i: Interval = "22:00-06:00".parse()?;
/// assert!(i.is_overnight());
/// assert_eq!(i.to_string(), "22:00-06:00");
/// assert!("09:00-09:00".parse::<Interval>().is_err());
/// assert!("24:00-06:00".parse::<Interval>().is_err());
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interval {
    start: TimeOfDay,
    end: TimeOfDay,
}

impl Interval {
    /// An interval from `start` to `end`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when `start` equals `end` (empty, or a whole day: write
    /// `00:00-24:00`) or `start` is `24:00`.
    pub fn new(start: TimeOfDay, end: TimeOfDay) -> Result<Interval, Error> {
        if start == end || start == TimeOfDay::END_OF_DAY {
            return Err(Error::InvalidSetting {
                setting: "interval".into(),
                value: format!("{start}-{end}"),
                reason: "an interval needs a start before 24:00 and an end different from it (a whole day is 00:00-24:00)".into(),
            });
        }
        Ok(Interval { start, end })
    }

    /// Where it starts.
    pub fn start(&self) -> TimeOfDay {
        self.start
    }

    /// Where it ends (on the next day when overnight).
    pub fn end(&self) -> TimeOfDay {
        self.end
    }

    /// True when it ends on the next day.
    pub fn is_overnight(&self) -> bool {
        self.end <= self.start
    }
}

impl FromStr for Interval {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s.split_once('-').ok_or_else(|| Error::InvalidSetting {
            setting: "interval".into(),
            value: s.to_owned(),
            reason: "not an interval like 09:00-17:00".into(),
        })?;
        let with_value = |e: Error| match e {
            Error::InvalidSetting { reason, .. } => Error::InvalidSetting {
                setting: "interval".into(),
                value: s.to_owned(),
                reason,
            },
            other => other,
        };
        Interval::new(
            a.parse().map_err(with_value)?,
            b.parse().map_err(with_value)?,
        )
        .map_err(with_value)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}
