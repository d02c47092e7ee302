//! The weekly schedule in one timezone, with holidays, and its queries.

use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use super::holiday::{Holiday, HolidayDate, ObservedRule};
use super::time::Interval;

/// Why the office is open at an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenReason {
    /// Inside a weekly interval of this weekday (the day the interval starts).
    Interval {
        /// The weekday the interval belongs to.
        weekday: Weekday,
        /// The interval.
        interval: Interval,
    },
    /// Inside an interval of an extra opening on this date.
    ExtraOpening {
        /// The local date of the opening.
        date: NaiveDate,
        /// The interval.
        interval: Interval,
    },
    /// The schedule is open all the time.
    Always,
}

/// Why the office is closed at an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClosedReason {
    /// No interval covers the instant.
    OutsideHours,
    /// A holiday (or its observed day) closes the interval that would cover it.
    Holiday {
        /// The holiday's name.
        name: String,
        /// True on the observed day rather than the holiday's own date.
        observed: bool,
    },
    /// An extra closure on that date.
    ExtraClosure {
        /// Its name.
        name: String,
    },
    /// A break inside opening hours.
    Break,
    /// The schedule is never open.
    Never,
}

/// Open or closed, and why.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use pbx_core::hours::{BusinessHours, HoursState, OpenReason};
/// let hours = BusinessHours::weekdays(chrono_tz::UTC, "09:00-17:00".parse()?);
/// let monday_10 = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
/// assert!(matches!(hours.state(monday_10), HoursState::Open(OpenReason::Interval { .. })));
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HoursState {
    /// Open.
    Open(OpenReason),
    /// Closed.
    Closed(ClosedReason),
}

impl HoursState {
    /// The codes [`HoursState::code`] gives, one per reason (see [`crate::vocab`]).
    pub const CODES: &'static [&'static str] = &[
        "interval",
        "extra_opening",
        "always",
        "outside_hours",
        "holiday",
        "extra_closure",
        "break",
        "never",
    ];

    /// True when open.
    pub fn is_open(&self) -> bool {
        matches!(self, HoursState::Open(_))
    }

    /// Why, as a stable code (what the bindings publish): `interval`, `extra_opening` or
    /// `always` when open; `outside_hours`, `holiday`, `extra_closure`, `break` or `never`
    /// when closed.
    ///
    /// ```
    /// use pbx_core::hours::{BusinessHours, HoursState};
    /// let always = BusinessHours::always(chrono_tz::UTC);
    /// assert_eq!(always.state(chrono::Utc::now()).code(), "always");
    /// assert!(HoursState::CODES.contains(&"outside_hours"));
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            HoursState::Open(OpenReason::Interval { .. }) => "interval",
            HoursState::Open(OpenReason::ExtraOpening { .. }) => "extra_opening",
            HoursState::Open(OpenReason::Always) => "always",
            HoursState::Closed(ClosedReason::OutsideHours) => "outside_hours",
            HoursState::Closed(ClosedReason::Holiday { .. }) => "holiday",
            HoursState::Closed(ClosedReason::ExtraClosure { .. }) => "extra_closure",
            HoursState::Closed(ClosedReason::Break) => "break",
            HoursState::Closed(ClosedReason::Never) => "never",
        }
    }

    /// The holiday's or the closure's name, when that is why the office is closed.
    pub fn name(&self) -> Option<&str> {
        match self {
            HoursState::Closed(
                ClosedReason::Holiday { name, .. } | ClosedReason::ExtraClosure { name },
            ) => Some(name),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Schedule,
    Always,
    Never,
}

/// A span of UTC time `[start, end)` and what it is.
#[derive(Clone, Debug)]
struct Span<R> {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    reason: R,
}

/// Business hours: per weekday zero or more intervals in one IANA timezone, holidays with an
/// observed-day rule, extra closures and openings on single dates, and breaks.
///
/// All queries take the instant (`now` is always passed in) and never panic.
///
/// **DST**: interval boundaries are local times. A boundary that falls in a spring-forward gap
/// moves to the first valid instant after the gap (the transition itself). In a fall-back
/// fold, an interval covers both occurrences: it starts at the first occurrence of its start
/// and ends at the last occurrence of its end.
///
/// **Precedence** on a date: an extra opening replaces that date's weekly intervals (even on a
/// holiday); otherwise an extra closure or a whole-day holiday (on its date, or its observed
/// day) closes the intervals that *start* that date; holiday spans (from XAPI) and breaks close
/// exactly their own time.
///
/// **Range**: any instant chrono can represent is accepted. chrono-tz's rules are precomputed
/// from the IANA database; for instants past its last listed transition (currently 2037 for
/// most zones) the zone's last offset applies, so DST is not shifted there.
///
/// ```
/// use chrono::{TimeZone, Utc, Weekday};
/// use pbx_core::hours::{BusinessHours, Holiday};
/// let hours = BusinessHours::new(chrono_tz::America::Anchorage)
///     .with_day(Weekday::Mon, vec!["09:00-12:00".parse()?, "13:00-17:00".parse()?])
///     .with_holiday(Holiday::yearly("Christmas", 12, 25));
/// // Monday 2026-11-23 09:00 in Anchorage (UTC-9) is 18:00 UTC.
/// assert!(hours.is_open(Utc.with_ymd_and_hms(2026, 11, 23, 18, 0, 0).unwrap()));
/// assert!(!hours.is_open(Utc.with_ymd_and_hms(2026, 11, 23, 17, 59, 59).unwrap()));
/// let (at, opens) = hours.next_change(Utc.with_ymd_and_hms(2026, 11, 23, 18, 0, 0).unwrap()).unwrap();
/// assert_eq!((at, opens), (Utc.with_ymd_and_hms(2026, 11, 23, 21, 0, 0).unwrap(), false));
/// # Ok::<(), pbx_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessHours {
    tz: Tz,
    mode: Mode,
    week: [Vec<Interval>; 7],
    breaks: [Vec<Interval>; 7],
    holidays: Vec<Holiday>,
    observed: ObservedRule,
    closures: Vec<(NaiveDate, String)>,
    openings: Vec<(NaiveDate, Vec<Interval>)>,
}

impl BusinessHours {
    /// A schedule in `tz` with no interval yet (always closed until days are added).
    pub fn new(tz: Tz) -> Self {
        BusinessHours {
            tz,
            mode: Mode::Schedule,
            week: Default::default(),
            breaks: Default::default(),
            holidays: Vec::new(),
            observed: ObservedRule::default(),
            closures: Vec::new(),
            openings: Vec::new(),
        }
    }

    /// Open Monday to Friday during `interval`.
    pub fn weekdays(tz: Tz, interval: Interval) -> Self {
        let mut h = Self::new(tz);
        for d in [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ] {
            h.week[d.num_days_from_monday() as usize] = vec![interval];
        }
        h
    }

    /// [`BusinessHours::weekdays`], [`BusinessHours::always`] (`interval` `None`, `open`) or
    /// [`BusinessHours::never`] from the codes a binding receives: an IANA (or Windows)
    /// `timezone` name ([`crate::zone::parse_timezone`], errors name the setting `timezone`)
    /// and an interval like `"09:00-17:00"`.
    ///
    /// ```
    /// use pbx_core::hours::BusinessHours;
    /// let h = BusinessHours::from_codes("Europe/Berlin", Some("09:00-17:00"), false)?;
    /// assert_eq!(h.timezone(), chrono_tz::Europe::Berlin);
    /// assert!(BusinessHours::from_codes("UTC", None, true)?.is_open(chrono::DateTime::UNIX_EPOCH));
    /// assert!(BusinessHours::from_codes("Mars/Olympus", None, false).is_err());
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn from_codes(
        timezone: &str,
        interval: Option<&str>,
        open: bool,
    ) -> Result<Self, crate::Error> {
        let tz = crate::zone::parse_timezone("timezone", timezone)?;
        Ok(match interval {
            Some(interval) => Self::weekdays(tz, interval.parse()?),
            None if open => Self::always(tz),
            None => Self::never(tz),
        })
    }

    /// Open all the time (3CX `AllHours`).
    pub fn always(tz: Tz) -> Self {
        BusinessHours {
            mode: Mode::Always,
            ..Self::new(tz)
        }
    }

    /// Never open (3CX `Never`).
    pub fn never(tz: Tz) -> Self {
        BusinessHours {
            mode: Mode::Never,
            ..Self::new(tz)
        }
    }

    /// Sets the intervals of one weekday (an empty list closes it).
    pub fn with_day(mut self, day: Weekday, intervals: Vec<Interval>) -> Self {
        self.week[day.num_days_from_monday() as usize] = intervals;
        self
    }

    /// Sets the breaks of one weekday (closed during them even inside an interval).
    pub fn with_breaks(mut self, day: Weekday, intervals: Vec<Interval>) -> Self {
        self.breaks[day.num_days_from_monday() as usize] = intervals;
        self
    }

    /// Adds a holiday.
    pub fn with_holiday(mut self, holiday: Holiday) -> Self {
        self.holidays.push(holiday);
        self
    }

    /// Sets the observed-day rule (default Saturday → Friday, Sunday → Monday).
    pub fn with_observed_rule(mut self, rule: ObservedRule) -> Self {
        self.observed = rule;
        self
    }

    /// Closes one date (its intervals that start that day).
    pub fn with_closure(mut self, date: NaiveDate, name: impl Into<String>) -> Self {
        self.closures.push((date, name.into()));
        self
    }

    /// Opens one date with its own intervals, replacing the weekly ones (even on a holiday).
    pub fn with_opening(mut self, date: NaiveDate, intervals: Vec<Interval>) -> Self {
        self.openings.push((date, intervals));
        self
    }

    /// The timezone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The intervals of one weekday.
    pub fn day(&self, day: Weekday) -> &[Interval] {
        &self.week[day.num_days_from_monday() as usize]
    }

    /// The holidays.
    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    /// Whether the office is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.state(at).is_open()
    }

    /// Open or closed at `at`, and why.
    pub fn state(&self, at: DateTime<Utc>) -> HoursState {
        match self.mode {
            Mode::Always => return HoursState::Open(OpenReason::Always),
            Mode::Never => return HoursState::Closed(ClosedReason::Never),
            Mode::Schedule => {}
        }
        let date = at.with_timezone(&self.tz).date_naive();
        let mut closed = None;
        for d in [date.pred_opt(), Some(date), date.succ_opt()]
            .into_iter()
            .flatten()
        {
            let (open, suppressed) = self.date_spans(d);
            if let Some(s) = open.iter().find(|s| s.start <= at && at < s.end) {
                return HoursState::Open(s.reason.clone());
            }
            if closed.is_none() {
                closed = suppressed
                    .into_iter()
                    .find(|s| s.start <= at && at < s.end)
                    .map(|s| s.reason);
            }
        }
        HoursState::Closed(closed.unwrap_or(ClosedReason::OutsideHours))
    }

    /// The next instant after `at` at which the office opens or closes, and `true` when it
    /// opens then. `None` when nothing changes within the next two years (always open, never
    /// open, or no interval at all).
    pub fn next_change(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, bool)> {
        if self.mode != Mode::Schedule {
            return None;
        }
        let open_now = self.is_open(at);
        let first = at.with_timezone(&self.tz).date_naive().pred_opt()?;
        // Spans of a date never start before that date's local midnight minus a day, so
        // walking dates in order finds boundaries in order once merged.
        let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        let mut d = first;
        for _ in 0..(366 * 2 + 2) {
            for s in self.date_spans(d).0 {
                spans.push((s.start, s.end));
            }
            d = d.succ_opt()?;
            // Spans of later dates start at or after this instant.
            let horizon = self
                .resolve(d.and_time(chrono::NaiveTime::MIN), true)?
                .checked_sub_signed(TimeDelta::days(1))?;
            if let Some(found) = first_change(&mut spans, at, open_now, horizon) {
                return Some(found);
            }
        }
        None
    }

    /// Open spans of the intervals that start on local `date`, and the spans a closure
    /// suppressed (with why).
    fn date_spans(&self, date: NaiveDate) -> (Vec<Span<OpenReason>>, Vec<Span<ClosedReason>>) {
        let weekday = date.weekday();
        let mut open = Vec::new();
        let mut suppressed = Vec::new();
        let opening = self.openings.iter().find(|(d, _)| *d == date);
        let closure = if opening.is_some() {
            None
        } else {
            self.closure_on(date)
        };
        let intervals: Vec<(Interval, OpenReason)> = match opening {
            Some((_, ints)) => ints
                .iter()
                .map(|&interval| (interval, OpenReason::ExtraOpening { date, interval }))
                .collect(),
            None => self.week[weekday.num_days_from_monday() as usize]
                .iter()
                .map(|&interval| (interval, OpenReason::Interval { weekday, interval }))
                .collect(),
        };
        for (interval, reason) in intervals {
            let Some((start, end)) = self.interval_instants(date, interval) else {
                continue;
            };
            match &closure {
                Some(why) => suppressed.push(Span {
                    start,
                    end,
                    reason: why.clone(),
                }),
                None => open.push(Span { start, end, reason }),
            }
        }
        // Breaks and holiday spans close exactly their own time.
        let mut cuts: Vec<Span<ClosedReason>> = Vec::new();
        for b in &self.breaks[weekday.num_days_from_monday() as usize] {
            if let Some((start, end)) = self.interval_instants(date, *b) {
                cuts.push(Span {
                    start,
                    end,
                    reason: ClosedReason::Break,
                });
            }
        }
        for h in &self.holidays {
            if let HolidayDate::Span { start, end, yearly } = h.date {
                for (s, e) in span_occurrences(start, end, yearly, date) {
                    if let (Some(s), Some(e)) = (self.resolve(s, true), self.resolve(e, false)) {
                        let reason = ClosedReason::Holiday {
                            name: h.name.clone(),
                            observed: false,
                        };
                        cuts.push(Span {
                            start: s,
                            end: e,
                            reason,
                        });
                    }
                }
            }
        }
        for cut in cuts {
            let mut kept = Vec::with_capacity(open.len());
            for s in open {
                if cut.end <= s.start || s.end <= cut.start {
                    kept.push(s);
                    continue;
                }
                if s.start < cut.start {
                    kept.push(Span {
                        start: s.start,
                        end: cut.start,
                        reason: s.reason.clone(),
                    });
                }
                if cut.end < s.end {
                    kept.push(Span {
                        start: cut.end,
                        end: s.end,
                        reason: s.reason.clone(),
                    });
                }
                let overlap = Span {
                    start: s.start.max(cut.start),
                    end: s.end.min(cut.end),
                    reason: cut.reason.clone(),
                };
                suppressed.push(overlap);
            }
            open = kept;
        }
        (open, suppressed)
    }

    /// Why `date` is closed all day, if it is: an extra closure, a holiday or an observed day.
    fn closure_on(&self, date: NaiveDate) -> Option<ClosedReason> {
        if let Some((_, name)) = self.closures.iter().find(|(d, _)| *d == date) {
            return Some(ClosedReason::ExtraClosure { name: name.clone() });
        }
        for h in &self.holidays {
            for year in [date.year() - 1, date.year(), date.year() + 1] {
                let Some(day) = h.day_in(year) else { continue };
                if day == date {
                    return Some(ClosedReason::Holiday {
                        name: h.name.clone(),
                        observed: false,
                    });
                }
                if self.observed.observed(day) == Some(date) {
                    return Some(ClosedReason::Holiday {
                        name: h.name.clone(),
                        observed: true,
                    });
                }
            }
        }
        None
    }

    /// The UTC instants of an interval starting on local `date`.
    fn interval_instants(
        &self,
        date: NaiveDate,
        i: Interval,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let (start_t, _) = i.start().to_naive();
        let (end_t, next_midnight) = i.end().to_naive();
        let end_date = if i.is_overnight() || next_midnight {
            date.succ_opt()?
        } else {
            date
        };
        let start = self.resolve(date.and_time(start_t), true)?;
        let end = self.resolve(end_date.and_time(end_t), false)?;
        (start < end).then_some((start, end))
    }

    /// A local time as an instant: in a fold the first (`earliest`) or last occurrence; in a
    /// gap the first valid instant after it.
    fn resolve(&self, local: NaiveDateTime, earliest: bool) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => {
                let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
                Some(if earliest { a.min(b) } else { a.max(b) })
            }
            LocalResult::None => self.gap_end(local),
        }
    }

    /// The first instant whose local time is at or after `local` (which lies in a gap).
    fn gap_end(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let at = |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0);
        let reached =
            |secs: i64| at(secs).is_some_and(|u| u.with_timezone(&self.tz).naive_local() >= local);
        // No zone's offset exceeds ±26 h, so the transition lies within this window.
        let guess = local.and_utc().timestamp();
        let (mut lo, mut hi) = (guess.checked_sub(27 * 3600)?, guess.checked_add(27 * 3600)?);
        if reached(lo) || !reached(hi) {
            return None;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if reached(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        at(hi)
    }
}

/// Occurrences of a holiday span that touch local `date` (the span's own, or for a yearly
/// span the ones starting in the years around `date`).
fn span_occurrences(
    start: NaiveDateTime,
    end: NaiveDateTime,
    yearly: bool,
    date: NaiveDate,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let day_start = date.and_time(chrono::NaiveTime::MIN);
    let (Some(day_end), Some(before)) = (
        day_start.checked_add_signed(TimeDelta::days(2)),
        day_start.checked_sub_signed(TimeDelta::days(1)),
    ) else {
        return Vec::new();
    };
    let touches = |s: NaiveDateTime, e: NaiveDateTime| s < day_end && e > before;
    if !yearly {
        return if touches(start, end) {
            vec![(start, end)]
        } else {
            Vec::new()
        };
    }
    let length = end - start;
    [date.year() - 1, date.year()]
        .into_iter()
        .filter_map(|y| start.with_year(y))
        .filter_map(|s| Some((s, s.checked_add_signed(length)?)))
        .filter(|(s, e)| touches(*s, *e))
        .collect()
}

/// Merges spans and finds the first change after `at`, if it is certain given that no span
/// still to come starts before `horizon`.
fn first_change(
    spans: &mut Vec<(DateTime<Utc>, DateTime<Utc>)>,
    at: DateTime<Utc>,
    open_now: bool,
    horizon: DateTime<Utc>,
) -> Option<(DateTime<Utc>, bool)> {
    spans.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(spans.len());
    for &(s, e) in spans.iter() {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    *spans = merged;
    let found = if open_now {
        spans
            .iter()
            .find(|(s, e)| *s <= at && at < *e)
            .map(|&(_, e)| (e, false))
    } else {
        spans.iter().find(|(s, _)| *s > at).map(|&(s, _)| (s, true))
    }?;
    // A later date's span could still start before (or touch) this boundary.
    (found.0 < horizon).then_some(found)
}
