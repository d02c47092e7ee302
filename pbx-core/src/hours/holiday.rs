//! Holidays and the observed-day rule.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Weekday};

/// When a holiday falls.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HolidayDate {
    /// One date (`2026-12-24`): closed all that day.
    Fixed(NaiveDate),
    /// The same date every year (`12-25`): closed all that day. In a year without that date
    /// (`02-29`), no day.
    Yearly {
        /// 1–12.
        month: u32,
        /// 1–31.
        day: u32,
    },
    /// A span of local time, `[start, end)`, possibly over several days or from mid-day (as 3CX
    /// XAPI `OfficeHolidays` can say); with `yearly`, the same span every year.
    Span {
        /// Local start.
        start: NaiveDateTime,
        /// Local end (exclusive).
        end: NaiveDateTime,
        /// Repeats every year.
        yearly: bool,
    },
}

/// A named holiday: the office is closed then.
///
/// ```
/// use pbx_core::hours::{Holiday, HolidayDate};
/// let h = Holiday::yearly("Christmas", 12, 25);
/// assert_eq!(h.date, HolidayDate::Yearly { month: 12, day: 25 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holiday {
    /// Its name (shown in `state` answers).
    pub name: String,
    /// When it falls.
    pub date: HolidayDate,
}

impl Holiday {
    /// A holiday on one date.
    pub fn fixed(name: impl Into<String>, date: NaiveDate) -> Holiday {
        Holiday {
            name: name.into(),
            date: HolidayDate::Fixed(date),
        }
    }

    /// A holiday on the same date every year.
    pub fn yearly(name: impl Into<String>, month: u32, day: u32) -> Holiday {
        Holiday {
            name: name.into(),
            date: HolidayDate::Yearly { month, day },
        }
    }

    /// The whole-day date this holiday falls on in `year`, if it is a whole-day holiday.
    pub(crate) fn day_in(&self, year: i32) -> Option<NaiveDate> {
        match self.date {
            HolidayDate::Fixed(d) => (d.year() == year).then_some(d),
            HolidayDate::Yearly { month, day } => NaiveDate::from_ymd_opt(year, month, day),
            HolidayDate::Span { .. } => None,
        }
    }
}

/// Where a holiday that falls on a weekend day is observed as well.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Shift {
    /// Not observed on another day.
    #[default]
    Stay,
    /// Also closed on the Friday before.
    Friday,
    /// Also closed on the Monday after.
    Monday,
}

/// The observed-day rule: a whole-day holiday on a Saturday or Sunday also closes the day its
/// rule names. The default is the common one: Saturday → Friday, Sunday → Monday.
///
/// ```
/// use chrono::NaiveDate;
/// use pbx_core::hours::{ObservedRule, Shift};
/// let rule = ObservedRule::default();
/// let sat = NaiveDate::from_ymd_opt(2027, 12, 25).unwrap(); // a Saturday
/// assert_eq!(rule.observed(sat), Some(NaiveDate::from_ymd_opt(2027, 12, 24).unwrap()));
/// assert_eq!(ObservedRule { saturday: Shift::Stay, sunday: Shift::Stay }.observed(sat), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObservedRule {
    /// For a holiday on a Saturday.
    pub saturday: Shift,
    /// For a holiday on a Sunday.
    pub sunday: Shift,
}

impl Default for ObservedRule {
    fn default() -> Self {
        ObservedRule {
            saturday: Shift::Friday,
            sunday: Shift::Monday,
        }
    }
}

impl ObservedRule {
    /// The other day a holiday on `date` is observed on, if any.
    pub fn observed(&self, date: NaiveDate) -> Option<NaiveDate> {
        let shift = match date.weekday() {
            Weekday::Sat => self.saturday,
            Weekday::Sun => self.sunday,
            _ => Shift::Stay,
        };
        let target = match shift {
            Shift::Stay => return None,
            Shift::Friday => Weekday::Fri,
            Shift::Monday => Weekday::Mon,
        };
        let mut d = date;
        for _ in 0..3 {
            d = match shift {
                Shift::Friday => d.pred_opt()?,
                _ => d.succ_opt()?,
            };
            if d.weekday() == target {
                return Some(d);
            }
        }
        None
    }
}
