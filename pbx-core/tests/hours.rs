//! Business hours: boundaries, overnight spans, holidays and observed days, DST in several
//! zones, next_change, XAPI conversion, and no panic over 1970–2200.

mod common;

use chrono::{DateTime, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use common::utc;
use pbx_core::hours::xapi::OfficeHours;
use pbx_core::hours::{
    BusinessHours, ClosedReason, Holiday, HoursState, Interval, ObservedRule, OpenReason, Shift,
};
use proptest::prelude::*;

fn iv(s: &str) -> Interval {
    s.parse().unwrap()
}

/// A local wall time in `tz` as UTC (the first occurrence in a fold).
fn local(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn office(tz: Tz) -> BusinessHours {
    BusinessHours::weekdays(tz, iv("09:00-17:00"))
}

#[test]
fn classic_boundaries() {
    let tz = chrono_tz::America::Anchorage;
    let h = office(tz);
    // Monday 2026-11-23.
    let open = local(tz, 2026, 11, 23, 9, 0);
    assert!(h.is_open(open), "the first instant of opening is open");
    assert!(!h.is_open(open - chrono::TimeDelta::seconds(1)));
    let close = local(tz, 2026, 11, 23, 17, 0);
    assert!(!h.is_open(close), "the closing instant is closed");
    assert!(h.is_open(close - chrono::TimeDelta::seconds(1)));
    // Two times on one day before opening.
    assert!(!h.is_open(local(tz, 2026, 11, 23, 0, 1)));
    assert!(!h.is_open(local(tz, 2026, 11, 23, 8, 59)));
    // Weekend.
    assert!(!h.is_open(local(tz, 2026, 11, 28, 12, 0)));
}

#[test]
fn several_intervals_and_overnight_spans() {
    let tz = chrono_tz::Europe::Berlin;
    let h = BusinessHours::new(tz)
        .with_day(Weekday::Mon, vec![iv("09:00-12:00"), iv("13:00-17:00")])
        .with_day(Weekday::Fri, vec![iv("22:00-06:00")]);
    assert!(h.is_open(local(tz, 2026, 11, 23, 11, 59)));
    assert!(!h.is_open(local(tz, 2026, 11, 23, 12, 30)));
    assert!(h.is_open(local(tz, 2026, 11, 23, 13, 0)));
    // Friday night into Saturday morning belongs to Friday.
    assert!(h.is_open(local(tz, 2026, 11, 27, 23, 0)));
    assert!(h.is_open(local(tz, 2026, 11, 28, 5, 59)));
    assert!(!h.is_open(local(tz, 2026, 11, 28, 6, 0)));
    assert!(!h.is_open(local(tz, 2026, 11, 27, 21, 59)));
    match h.state(local(tz, 2026, 11, 28, 2, 0)) {
        HoursState::Open(OpenReason::Interval { weekday, interval }) => {
            assert_eq!(weekday, Weekday::Fri);
            assert_eq!(interval, iv("22:00-06:00"));
        }
        other => panic!("{other:?}"),
    }
    // A whole day.
    let all_day = BusinessHours::new(tz).with_day(Weekday::Sun, vec![iv("00:00-24:00")]);
    assert!(all_day.is_open(local(tz, 2026, 11, 29, 0, 0)));
    assert!(all_day.is_open(local(tz, 2026, 11, 29, 23, 59)));
    assert!(!all_day.is_open(local(tz, 2026, 11, 30, 0, 0)));
}

#[test]
fn holidays_observed_days_closures_and_openings() {
    let tz = chrono_tz::America::New_York;
    let h = office(tz)
        .with_holiday(Holiday::yearly("Independence Day", 7, 4))
        .with_holiday(Holiday::fixed("Company day", date(2026, 11, 24)))
        .with_closure(date(2026, 11, 25), "Inventory")
        .with_opening(date(2026, 11, 28), vec![iv("10:00-14:00")]);
    // 2026-07-04 is a Saturday: observed on Friday 07-03.
    match h.state(local(tz, 2026, 7, 3, 10, 0)) {
        HoursState::Closed(ClosedReason::Holiday { name, observed }) => {
            assert_eq!(name, "Independence Day");
            assert!(observed);
        }
        other => panic!("{other:?}"),
    }
    assert!(h.is_open(local(tz, 2026, 7, 2, 10, 0)));
    // 2027-07-04 is a Sunday: observed Monday 07-05.
    assert!(!h.is_open(local(tz, 2027, 7, 5, 10, 0)));
    assert!(h.is_open(local(tz, 2027, 7, 6, 10, 0)));
    // On a weekday, the day itself.
    assert!(!h.is_open(local(tz, 2029, 7, 4, 10, 0)));
    assert_eq!(
        h.state(local(tz, 2026, 11, 24, 10, 0)),
        HoursState::Closed(ClosedReason::Holiday {
            name: "Company day".into(),
            observed: false
        })
    );
    assert_eq!(
        h.state(local(tz, 2026, 11, 25, 10, 0)),
        HoursState::Closed(ClosedReason::ExtraClosure {
            name: "Inventory".into()
        })
    );
    // An extra opening on a Saturday.
    assert!(h.is_open(local(tz, 2026, 11, 28, 10, 0)));
    assert!(!h.is_open(local(tz, 2026, 11, 28, 14, 0)));
    assert!(matches!(
        h.state(local(tz, 2026, 11, 28, 11, 0)),
        HoursState::Open(OpenReason::ExtraOpening { .. })
    ));
    // A configurable rule: no observed days.
    let plain = office(tz)
        .with_holiday(Holiday::yearly("Independence Day", 7, 4))
        .with_observed_rule(ObservedRule {
            saturday: Shift::Stay,
            sunday: Shift::Stay,
        });
    assert!(plain.is_open(local(tz, 2026, 7, 3, 10, 0)));
    // Saturday → Monday.
    let monday = office(tz)
        .with_holiday(Holiday::yearly("Independence Day", 7, 4))
        .with_observed_rule(ObservedRule {
            saturday: Shift::Monday,
            sunday: Shift::Monday,
        });
    assert!(monday.is_open(local(tz, 2026, 7, 3, 10, 0)));
    assert!(!monday.is_open(local(tz, 2026, 7, 6, 10, 0)));
}

#[test]
fn new_year_on_a_saturday_is_observed_in_the_previous_year() {
    let tz = chrono_tz::America::New_York;
    let h = office(tz).with_holiday(Holiday::yearly("New Year", 1, 1));
    // 2028-01-01 is a Saturday → Friday 2027-12-31.
    assert!(!h.is_open(local(tz, 2027, 12, 31, 10, 0)));
    assert!(h.is_open(local(tz, 2027, 12, 30, 10, 0)));
}

/// Spring forward: the boundary inside the gap moves to the first valid instant after it.
#[test]
fn dst_gap_new_york() {
    let tz = chrono_tz::America::New_York;
    // 2026-03-08 02:00 EST → 03:00 EDT (07:00 UTC).
    let h = BusinessHours::new(tz).with_day(Weekday::Sun, vec![iv("02:30-04:00")]);
    assert!(!h.is_open(utc(2026, 3, 8, 6, 59, 59)));
    assert!(
        h.is_open(utc(2026, 3, 8, 7, 0, 0)),
        "opens at the transition"
    );
    assert!(h.is_open(utc(2026, 3, 8, 7, 59, 59)));
    assert!(!h.is_open(utc(2026, 3, 8, 8, 0, 0)), "closes at 04:00 EDT");
    assert_eq!(
        h.next_change(utc(2026, 3, 8, 5, 0, 0)),
        Some((utc(2026, 3, 8, 7, 0, 0), true))
    );
    // An interval ending in the gap ends at the transition.
    let h = BusinessHours::new(tz).with_day(Weekday::Sun, vec![iv("01:00-02:30")]);
    assert!(h.is_open(utc(2026, 3, 8, 6, 59, 59)));
    assert!(!h.is_open(utc(2026, 3, 8, 7, 0, 0)));
}

/// Fall back: an interval covers both occurrences of the folded hour.
#[test]
fn dst_fold_new_york_and_berlin() {
    let tz = chrono_tz::America::New_York;
    // 2026-11-01 02:00 EDT → 01:00 EST: 01:00–02:00 local happens twice (05:00–07:00 UTC).
    let h = BusinessHours::new(tz).with_day(Weekday::Sun, vec![iv("01:00-01:30")]);
    assert!(h.is_open(utc(2026, 11, 1, 5, 0, 0)), "first 01:00 EDT");
    assert!(
        h.is_open(utc(2026, 11, 1, 6, 15, 0)),
        "01:15 EST, second time round"
    );
    assert!(
        !h.is_open(utc(2026, 11, 1, 6, 30, 0)),
        "second 01:30 closes"
    );
    let tz = chrono_tz::Europe::Berlin;
    // 2026-10-25 03:00 CEST → 02:00 CET: 02:00–03:00 twice (00:00–02:00 UTC).
    let h = BusinessHours::new(tz).with_day(Weekday::Sun, vec![iv("02:30-09:00")]);
    assert!(h.is_open(utc(2026, 10, 25, 0, 30, 0)), "first 02:30 CEST");
    assert!(!h.is_open(utc(2026, 10, 25, 0, 29, 59)));
    assert!(h.is_open(utc(2026, 10, 25, 7, 59, 59)));
    assert!(!h.is_open(utc(2026, 10, 25, 8, 0, 0)));
    // Spring: 2026-03-29 02:00 CET → 03:00 CEST (01:00 UTC).
    let h = BusinessHours::new(tz).with_day(Weekday::Sun, vec![iv("02:15-02:45")]);
    assert!(
        !h.is_open(utc(2026, 3, 29, 1, 0, 0)),
        "an interval wholly in the gap is empty"
    );
}

#[test]
fn dst_anchorage_lord_howe_and_a_zone_without_dst() {
    let tz = chrono_tz::America::Anchorage;
    let h = office(tz);
    // Winter UTC-9, summer UTC-8.
    assert!(h.is_open(utc(2026, 1, 5, 18, 0, 0)));
    assert!(!h.is_open(utc(2026, 1, 5, 17, 0, 0)));
    assert!(h.is_open(utc(2026, 7, 6, 17, 0, 0)));
    assert!(!h.is_open(utc(2026, 7, 6, 16, 59, 59)));
    // Lord Howe: 30-minute shift. 2026-10-04 02:00 → 02:30 (+10:30 → +11:00) at 15:30 UTC on 10-03.
    let tz = chrono_tz::Australia::Lord_Howe;
    let h = BusinessHours::new(tz).with_day(Weekday::Sun, vec![iv("02:10-03:00")]);
    assert!(!h.is_open(utc(2026, 10, 3, 15, 29, 59)));
    assert!(
        h.is_open(utc(2026, 10, 3, 15, 30, 0)),
        "opens at the transition (02:30 +11)"
    );
    assert!(
        !h.is_open(utc(2026, 10, 3, 16, 0, 0)),
        "closes at 03:00 +11"
    );
    // 2026-04-05 02:00 +11 → 01:30 +10:30: 01:30–02:00 twice (14:30–15:30 UTC on 04-04).
    let h = BusinessHours::new(tz).with_day(Weekday::Sun, vec![iv("01:30-01:45")]);
    assert!(h.is_open(utc(2026, 4, 4, 14, 30, 0)));
    assert!(h.is_open(utc(2026, 4, 4, 15, 0, 0)));
    assert!(!h.is_open(utc(2026, 4, 4, 15, 15, 0)));
    // Tokyo: no DST, the same UTC hours all year.
    let tz = chrono_tz::Asia::Tokyo;
    let h = office(tz);
    assert!(h.is_open(utc(2026, 1, 5, 0, 0, 0)));
    assert!(h.is_open(utc(2026, 7, 6, 0, 0, 0)));
    assert!(!h.is_open(utc(2026, 7, 6, 8, 0, 0)));
}

#[test]
fn next_change_walks_nights_weekends_and_holidays() {
    let tz = chrono_tz::America::Anchorage;
    let h = office(tz).with_holiday(Holiday::yearly("Christmas", 12, 25));
    // Friday 17:00 → Monday 09:00.
    let fri = local(tz, 2026, 11, 27, 17, 0);
    assert_eq!(
        h.next_change(fri),
        Some((local(tz, 2026, 11, 30, 9, 0), true))
    );
    // In hours → closing time.
    assert_eq!(
        h.next_change(local(tz, 2026, 11, 30, 9, 0)),
        Some((local(tz, 2026, 11, 30, 17, 0), false))
    );
    // Christmas 2026 is a Friday: Thursday 17:00 → Monday 09:00.
    assert_eq!(
        h.next_change(local(tz, 2026, 12, 24, 17, 0)),
        Some((local(tz, 2026, 12, 28, 9, 0), true))
    );
    // Never / always / no interval.
    assert_eq!(BusinessHours::always(tz).next_change(fri), None);
    assert_eq!(BusinessHours::never(tz).next_change(fri), None);
    assert_eq!(BusinessHours::new(tz).next_change(fri), None);
    assert!(BusinessHours::always(tz).is_open(fri));
    // Adjacent intervals merge: no change at their seam.
    let h = BusinessHours::new(tz)
        .with_day(Weekday::Mon, vec![iv("09:00-12:00"), iv("12:00-17:00")])
        .with_day(Weekday::Sun, vec![iv("20:00-00:00")]);
    assert_eq!(
        h.next_change(local(tz, 2026, 11, 30, 10, 0)),
        Some((local(tz, 2026, 11, 30, 17, 0), false))
    );
}

#[test]
fn breaks_close_inside_hours() {
    let tz = chrono_tz::UTC;
    let h = office(tz).with_breaks(Weekday::Mon, vec![iv("12:00-13:00")]);
    assert!(h.is_open(utc(2026, 11, 23, 11, 59, 0)));
    assert_eq!(
        h.state(utc(2026, 11, 23, 12, 30, 0)),
        HoursState::Closed(ClosedReason::Break)
    );
    assert!(h.is_open(utc(2026, 11, 23, 13, 0, 0)));
    assert_eq!(
        h.next_change(utc(2026, 11, 23, 10, 0, 0)),
        Some((utc(2026, 11, 23, 12, 0, 0), false))
    );
}

#[test]
fn from_xapi_office_hours() {
    let json = r#"{
      "TimeZoneId": "Alaskan Standard Time",
      "Hours": {"Type": "OfficeHours", "IgnoreHolidays": false, "Periods": [
        {"DayOfWeek": "Monday", "Start": "09:00:00", "Stop": "17:00:00"},
        {"DayOfWeek": "Tuesday", "Start": "09:00:00.000", "Stop": "12:00:00"},
        {"DayOfWeek": "Tuesday", "Start": "13:00:00", "Stop": "17:00:00"},
        {"DayOfWeek": "Saturday", "Start": "22:00:00", "Stop": "02:00:00"}]},
      "BreakTime": {"Type": "BreakTime", "Periods": [{"DayOfWeek": "Monday", "Start": "12:00:00", "Stop": "12:30:00"}]},
      "OfficeHolidays": [
        {"Id": 1, "Name": "Christmas", "Day": 25, "Month": 12, "Year": 2026, "DayEnd": 25, "MonthEnd": 12, "YearEnd": 2026,
         "IsRecurrent": true, "TimeOfStartDate": "PT0S", "TimeOfEndDate": "PT0S"},
        {"Id": 2, "Name": "Offsite", "Day": 30, "Month": 11, "Year": 2026, "DayEnd": 1, "MonthEnd": 12, "YearEnd": 2026,
         "IsRecurrent": false, "TimeOfStartDate": "PT13H", "TimeOfEndDate": "PT10H30M"}
      ],
      "SystemLanguage": "en"
    }"#;
    let oh: OfficeHours = serde_json::from_str(json).unwrap();
    let h = oh.to_business_hours().unwrap();
    let tz = chrono_tz::America::Anchorage;
    assert_eq!(h.timezone(), tz);
    assert!(h.is_open(local(tz, 2026, 11, 23, 9, 0)));
    assert_eq!(
        h.state(local(tz, 2026, 11, 23, 12, 10)),
        HoursState::Closed(ClosedReason::Break)
    );
    assert!(!h.is_open(local(tz, 2026, 11, 24, 12, 30)));
    assert!(h.is_open(local(tz, 2026, 11, 28, 23, 0)));
    assert!(h.is_open(local(tz, 2026, 11, 29, 1, 59)));
    // Recurrent Christmas, a Friday in 2026 and a Monday in 2028.
    assert!(!h.is_open(local(tz, 2028, 12, 25, 10, 0)));
    assert!(h.is_open(local(tz, 2028, 12, 26, 10, 0)));
    // The offsite: Monday 11-30 from 13:00 to Tuesday 12-01 10:30.
    assert!(h.is_open(local(tz, 2026, 11, 30, 12, 59)));
    assert!(matches!(
        h.state(local(tz, 2026, 11, 30, 13, 0)),
        HoursState::Closed(ClosedReason::Holiday { .. })
    ));
    assert!(!h.is_open(local(tz, 2026, 12, 1, 10, 29)));
    assert!(h.is_open(local(tz, 2026, 12, 1, 10, 30)));
}

#[test]
fn from_xapi_errors_name_the_field() {
    let bad = |json: &str| {
        let oh: OfficeHours = serde_json::from_str(json).unwrap();
        oh.to_business_hours().unwrap_err().to_string()
    };
    let e = bad(r#"{"TimeZoneId":"Atlantis","Hours":{"Type":"OfficeHours","Periods":[]}}"#);
    assert!(e.contains("TimeZoneId") && e.contains("Atlantis"), "{e}");
    let e = bad(
        r#"{"TimeZoneId":"UTC","Hours":{"Type":"OfficeHours","Periods":[{"DayOfWeek":"Funday","Start":"09:00:00","Stop":"10:00:00"}]}}"#,
    );
    assert!(e.contains("Hours.Periods[0].DayOfWeek"), "{e}");
    let e = bad(
        r#"{"TimeZoneId":"UTC","Hours":{"Type":"OfficeHours","Periods":[{"DayOfWeek":"Monday","Start":"9am","Stop":"10:00:00"}]}}"#,
    );
    assert!(e.contains("Hours.Periods[0].Start"), "{e}");
    let e = bad(r#"{"TimeZoneId":"UTC","Hours":{"Type":"OutOfOfficeHours","Periods":[]}}"#);
    assert!(e.contains("Hours.Type"), "{e}");
    let e = bad(
        r#"{"TimeZoneId":"UTC","Hours":{"Type":"OfficeHours","Periods":[]},"OfficeHolidays":[{"Name":"x","Day":31,"Month":2,"Year":2026}]}"#,
    );
    assert!(e.contains("OfficeHolidays[0].Day"), "{e}");
    // A holiday without its required Name is a serde error naming it.
    let missing =
        serde_json::from_str::<OfficeHours>(r#"{"OfficeHolidays":[{"Day":1,"Month":1}]}"#)
            .unwrap_err();
    assert!(missing.to_string().contains("Name"), "{missing}");
    // Found by fuzzing: an absurd duration is an error, not an overflow panic.
    let e = bad(
        r#"{"TimeZoneId":"UTC","Hours":{"Type":"OfficeHours","Periods":[]},"OfficeHolidays":[{"Name":"x","Day":25,"Month":12,"IsRecurrent":true,"TimeOfStartDate":"PT1S","TimeOfEndDate":"PT155555555555555555555555555555555555555555555555555555552H"}]}"#,
    );
    assert!(e.contains("OfficeHolidays[0].TimeOfEndDate"), "{e}");
    // AllHours and Never.
    let oh: OfficeHours =
        serde_json::from_str(r#"{"TimeZoneId":"UTC","Hours":{"Type":"AllHours"}}"#).unwrap();
    assert!(
        oh.to_business_hours()
            .unwrap()
            .is_open(utc(2026, 1, 1, 3, 0, 0))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// No panic for any instant 1970–2200, in zones with odd rules, and is_open agrees with
    /// next_change's direction.
    #[test]
    fn never_panics_1970_to_2200(secs in 0i64..7_258_118_400, zone in 0usize..6) {
        let tz = [chrono_tz::America::New_York, chrono_tz::Australia::Lord_Howe, chrono_tz::Europe::Berlin,
                  chrono_tz::Asia::Tokyo, chrono_tz::America::Anchorage, chrono_tz::Pacific::Apia][zone];
        let h = BusinessHours::weekdays(tz, iv("02:30-01:30"))
            .with_holiday(Holiday::yearly("Leap", 2, 29))
            .with_breaks(Weekday::Wed, vec![iv("01:00-03:00")]);
        let at = Utc.timestamp_opt(secs, 0).unwrap();
        let open = h.is_open(at);
        let _ = h.state(at);
        if let Some((t, opens)) = h.next_change(at) {
            prop_assert!(t > at);
            prop_assert_eq!(opens, !open);
            prop_assert_eq!(h.is_open(t), opens);
            prop_assert_eq!(h.is_open(t - chrono::TimeDelta::seconds(1)), open);
        }
    }
}
