//! 3CX XAPI `GET /OfficeHours` (names verbatim from the XAPI OpenAPI file) and its conversion
//! to [`BusinessHours`].

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Weekday};
use serde::{Deserialize, Serialize};

use super::holiday::{Holiday, HolidayDate};
use super::schedule::BusinessHours;
use super::time::{Interval, TimeOfDay};
use crate::error::Error;

/// `Pbx.OfficeHours`.
///
/// ```
/// use pbx_core::hours::xapi::OfficeHours;
/// let oh: OfficeHours = serde_json::from_str(r#"{"TimeZoneId":"America/New_York",
///   "Hours":{"Type":"OfficeHours","Periods":[{"DayOfWeek":"Monday","Start":"09:00:00","Stop":"17:00:00"}]},
///   "OfficeHolidays":[],"SomethingNew":1}"#)?;
/// let hours = oh.to_business_hours()?;
/// assert_eq!(hours.timezone(), chrono_tz::America::New_York);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OfficeHours {
    /// `BreakTime`: breaks inside office hours.
    #[serde(default)]
    pub break_time: Option<Schedule>,
    /// `Hours`: the office hours.
    #[serde(default)]
    pub hours: Option<Schedule>,
    /// `OfficeHolidays`.
    #[serde(default)]
    pub office_holidays: Vec<XapiHoliday>,
    /// `SystemLanguage`.
    #[serde(default)]
    pub system_language: Option<String>,
    /// `TimeZoneId`: an IANA or a Windows zone name.
    #[serde(default)]
    pub time_zone_id: Option<String>,
}

/// `Pbx.Schedule`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Schedule {
    /// `IgnoreHolidays`.
    #[serde(default)]
    pub ignore_holidays: Option<bool>,
    /// `Periods`.
    #[serde(default)]
    pub periods: Vec<Period>,
    /// `Type` (`Pbx.RuleHoursType`): `AllHours`, `OfficeHours`, `SpecificHours`, …
    #[serde(default)]
    pub r#type: Option<String>,
}

/// `Pbx.Period`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Period {
    /// `DayOfWeek`: `Sunday` … `Saturday`.
    #[serde(default)]
    pub day_of_week: Option<String>,
    /// `Start`: `HH:MM:SS[.fff]`.
    #[serde(default)]
    pub start: Option<String>,
    /// `Stop`: `HH:MM:SS[.fff]`.
    #[serde(default)]
    pub stop: Option<String>,
}

/// `Pbx.Holiday`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct XapiHoliday {
    /// `Id`.
    #[serde(default)]
    pub id: Option<i32>,
    /// `Name`.
    pub name: String,
    /// `Day`.
    pub day: u8,
    /// `Month`.
    pub month: u8,
    /// `Year`.
    #[serde(default)]
    pub year: i32,
    /// `DayEnd`.
    #[serde(default)]
    pub day_end: u8,
    /// `MonthEnd`.
    #[serde(default)]
    pub month_end: u8,
    /// `YearEnd`.
    #[serde(default)]
    pub year_end: i32,
    /// `IsRecurrent`: every year.
    #[serde(default)]
    pub is_recurrent: Option<bool>,
    /// `TimeOfStartDate`: an ISO 8601 duration from the start date's midnight (`PT0S`).
    #[serde(default)]
    pub time_of_start_date: Option<String>,
    /// `TimeOfEndDate`: an ISO 8601 duration from the end date's midnight (`PT17H30M`).
    #[serde(default)]
    pub time_of_end_date: Option<String>,
}

impl OfficeHours {
    /// Converts to [`BusinessHours`].
    ///
    /// - `TimeZoneId`: an IANA name, or a Windows zone name mapped by CLDR's windowsZones
    ///   table; anything else is an error.
    /// - `Hours.Type`: `AllHours` → always open; `Never` → never open; `OfficeHours`,
    ///   `SpecificHours`, `SpecificHoursExcludingHolidays` → the `Periods`. The inverted types
    ///   (`OutOf…`) and `BreakTime` are not business hours and are refused.
    /// - `IgnoreHolidays: true` leaves the holidays out.
    /// - `BreakTime.Periods` become breaks.
    /// - A holiday runs from `Day/Month/Year` plus `TimeOfStartDate` to
    ///   `DayEnd/MonthEnd/YearEnd` plus `TimeOfEndDate`; when both times are zero it covers
    ///   whole days, the end date included. `IsRecurrent` repeats it every year.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the XAPI field and value that cannot be used.
    pub fn to_business_hours(&self) -> Result<BusinessHours, Error> {
        let tz_name = self.time_zone_id.as_deref().unwrap_or_default();
        let tz = crate::zone::parse_timezone("TimeZoneId", tz_name)?;
        let hours = self
            .hours
            .as_ref()
            .ok_or_else(|| invalid("Hours", "", "missing"))?;
        let kind = hours.r#type.as_deref().unwrap_or("OfficeHours");
        let mut bh = match kind {
            "AllHours" => return Ok(BusinessHours::always(tz)),
            "Never" => return Ok(BusinessHours::never(tz)),
            "OfficeHours" | "SpecificHours" | "SpecificHoursExcludingHolidays" => {
                BusinessHours::new(tz)
            }
            other => {
                return Err(invalid(
                    "Hours.Type",
                    other,
                    "not a kind of business hours (AllHours, Never, OfficeHours, SpecificHours, SpecificHoursExcludingHolidays)",
                ));
            }
        };
        for (day, intervals) in periods_by_day("Hours", &hours.periods)? {
            bh = bh.with_day(day, intervals);
        }
        if let Some(breaks) = &self.break_time {
            for (day, intervals) in periods_by_day("BreakTime", &breaks.periods)? {
                bh = bh.with_breaks(day, intervals);
            }
        }
        if hours.ignore_holidays != Some(true) {
            for (i, h) in self.office_holidays.iter().enumerate() {
                bh = bh.with_holiday(holiday(i, h)?);
            }
        }
        Ok(bh)
    }
}

fn invalid(setting: &str, value: &str, reason: &str) -> Error {
    Error::InvalidSetting {
        setting: setting.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn weekday(name: &str) -> Option<Weekday> {
    Some(match name {
        "Monday" => Weekday::Mon,
        "Tuesday" => Weekday::Tue,
        "Wednesday" => Weekday::Wed,
        "Thursday" => Weekday::Thu,
        "Friday" => Weekday::Fri,
        "Saturday" => Weekday::Sat,
        "Sunday" => Weekday::Sun,
        _ => return None,
    })
}

fn periods_by_day(what: &str, periods: &[Period]) -> Result<Vec<(Weekday, Vec<Interval>)>, Error> {
    let mut days: Vec<(Weekday, Vec<Interval>)> = Vec::new();
    for (i, p) in periods.iter().enumerate() {
        let field = |f: &str| format!("{what}.Periods[{i}].{f}");
        let day_name = p.day_of_week.as_deref().unwrap_or_default();
        let day = weekday(day_name).ok_or_else(|| {
            invalid(
                &field("DayOfWeek"),
                day_name,
                "not a day name (Sunday … Saturday)",
            )
        })?;
        let time = |f: &str, v: &Option<String>| -> Result<TimeOfDay, Error> {
            let v = v.as_deref().unwrap_or_default();
            v.parse()
                .map_err(|_| invalid(&field(f), v, "not a time HH:MM:SS"))
        };
        let (start, stop) = (time("Start", &p.start)?, time("Stop", &p.stop)?);
        // Start == Stop at midnight is a whole day.
        let stop = if start == stop && start == TimeOfDay::MIDNIGHT {
            TimeOfDay::END_OF_DAY
        } else {
            stop
        };
        let interval = Interval::new(start, stop)
            .map_err(|_| invalid(&field("Stop"), &stop.to_string(), "equal to Start"))?;
        match days.iter_mut().find(|(d, _)| *d == day) {
            Some((_, list)) => list.push(interval),
            None => days.push((day, vec![interval])),
        }
    }
    Ok(days)
}

fn holiday(i: usize, h: &XapiHoliday) -> Result<Holiday, Error> {
    let field = |f: &str| format!("OfficeHolidays[{i}].{f}");
    let date = |y: i32, m: u8, d: u8, which: &str| {
        NaiveDate::from_ymd_opt(y, u32::from(m), u32::from(d)).ok_or_else(|| {
            invalid(
                &field(which),
                &format!("{y:04}-{m:02}-{d:02}"),
                "not a date",
            )
        })
    };
    let recurrent = h.is_recurrent == Some(true);
    // A recurrent holiday's year may be 0 or anything: any leap year keeps 02-29 possible.
    let year = if recurrent { 2000 } else { h.year };
    let start_date = date(year, h.month, h.day, "Day")?;
    let (end_y, end_m, end_d) = if h.month_end == 0 || h.day_end == 0 {
        (year, h.month, h.day)
    } else if recurrent {
        (
            year + (h.year_end - h.year).clamp(0, 1),
            h.month_end,
            h.day_end,
        )
    } else {
        (h.year_end, h.month_end, h.day_end)
    };
    let end_date = date(end_y, end_m, end_d, "DayEnd")?;
    let offset = |f: &str, v: &Option<String>| -> Result<TimeDelta, Error> {
        let v = v.as_deref().unwrap_or("PT0S");
        iso_duration(v)
            .ok_or_else(|| invalid(&field(f), v, "not an ISO 8601 duration like PT17H30M"))
    };
    let (from, to) = (
        offset("TimeOfStartDate", &h.time_of_start_date)?,
        offset("TimeOfEndDate", &h.time_of_end_date)?,
    );
    let midnight = |d: NaiveDate| NaiveDateTime::new(d, NaiveTime::MIN);
    let out_of_range = |f: &str, v: &Option<String>| {
        invalid(
            &field(f),
            v.as_deref().unwrap_or_default(),
            "is out of range",
        )
    };
    let start = midnight(start_date)
        .checked_add_signed(from)
        .ok_or_else(|| out_of_range("TimeOfStartDate", &h.time_of_start_date))?;
    let end = if from.is_zero() && to.is_zero() {
        midnight(end_date).checked_add_signed(TimeDelta::days(1))
    } else {
        midnight(end_date).checked_add_signed(to)
    }
    .ok_or_else(|| out_of_range("TimeOfEndDate", &h.time_of_end_date))?;
    if end <= start {
        return Err(invalid(
            &field("TimeOfEndDate"),
            &end.to_string(),
            "the holiday ends before it starts",
        ));
    }
    Ok(Holiday {
        name: h.name.clone(),
        date: HolidayDate::Span {
            start,
            end,
            yearly: recurrent,
        },
    })
}

/// Reads an ISO 8601 duration of days, hours, minutes and seconds (`PT17H30M`, `P1D`,
/// `PT0S`), at most 400 days either way; `None` for anything else.
fn iso_duration(s: &str) -> Option<TimeDelta> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let rest = rest.strip_prefix('P').filter(|r| !r.is_empty())?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = TimeDelta::zero();
    let mut read = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut num = String::new();
        let mut allowed = units.iter();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let &(_, secs) = allowed.by_ref().find(|(u, _)| *u == c)?;
            let value: f64 = num.parse().ok()?;
            let ms = value * secs as f64 * 1000.0;
            if !ms.is_finite() || ms.abs() > MAX_DURATION_MS as f64 {
                return None;
            }
            total = total.checked_add(&TimeDelta::try_milliseconds(ms.round() as i64)?)?;
            num.clear();
        }
        num.is_empty().then_some(())
    };
    read(date_part, &[('D', 86_400)])?;
    if let Some(t) = time_part {
        if t.is_empty() {
            return None;
        }
        read(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    if total.num_milliseconds().abs() > MAX_DURATION_MS {
        return None;
    }
    Some(if negative { -total } else { total })
}

/// The longest holiday time offset accepted: 400 days.
const MAX_DURATION_MS: i64 = 400 * 86_400 * 1000;

#[cfg(test)]
mod tests {
    use super::iso_duration;
    use chrono::TimeDelta;

    #[test]
    fn iso_durations() {
        assert_eq!(iso_duration("PT0S"), Some(TimeDelta::zero()));
        assert_eq!(
            iso_duration("PT17H30M"),
            Some(TimeDelta::minutes(17 * 60 + 30))
        );
        assert_eq!(iso_duration("P1DT2H"), Some(TimeDelta::hours(26)));
        assert_eq!(iso_duration("PT1.5S"), Some(TimeDelta::milliseconds(1500)));
        for bad in ["", "P", "PT", "17:30", "PT5X", "PTH", "PT1M1H"] {
            assert_eq!(iso_duration(bad), None, "{bad}");
        }
    }
}
