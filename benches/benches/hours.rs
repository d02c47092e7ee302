//! Business hours: `is_open` and `next_change` over a year of instants, in a DST zone, with
//! a lunch break, yearly and fixed holidays (observed days included), a holiday span, an extra
//! closure and an extra opening.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbx_core::hours::{BusinessHours, Holiday, HolidayDate};
use std::hint::black_box;

/// Mon–Fri 08:30–17:30 and Sat 10:00–14:00 in New York (DST), a lunch break, US-style
/// holidays, a two-day span, a closure and an extra Sunday opening.
fn office() -> BusinessHours {
    let i = |s: &str| s.parse().expect("an interval");
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a date");
    let mut hours = BusinessHours::weekdays(chrono_tz::America::New_York, i("08:30-17:30"))
        .with_day(Weekday::Sat, vec![i("10:00-14:00")]);
    for d in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ] {
        hours = hours.with_breaks(d, vec![i("12:00-12:45")]);
    }
    for (name, m, d) in [
        ("New Year", 1, 1),
        ("Independence Day", 7, 4),
        ("Veterans Day", 11, 11),
        ("Christmas Eve", 12, 24),
        ("Christmas", 12, 25),
    ] {
        hours = hours.with_holiday(Holiday::yearly(name, m, d));
    }
    hours
        .with_holiday(Holiday::fixed("Thanksgiving", date(2026, 11, 26)))
        .with_holiday(Holiday::fixed("Memorial Day", date(2026, 5, 25)))
        .with_holiday(Holiday {
            name: "Inventory".into(),
            date: HolidayDate::Span {
                start: date(2026, 3, 5).and_hms_opt(13, 0, 0).expect("a time"),
                end: date(2026, 3, 6).and_hms_opt(23, 59, 0).expect("a time"),
                yearly: true,
            },
        })
        .with_closure(date(2026, 8, 14), "Offsite")
        .with_opening(date(2026, 12, 20), vec![i("10:00-16:00")])
}

/// `n` instants spread over 2026 (every 7 h 13 min from New Year, so every hour of the day
/// and both DST changes are visited).
fn instants(n: usize) -> Vec<DateTime<Utc>> {
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("an instant");
    (0..n as i32)
        .map(|k| start + TimeDelta::minutes(433 * i64::from(k)))
        .collect()
}

fn bench(c: &mut Criterion) {
    let hours = office();
    let at = instants(1_000);
    let mut g = c.benchmark_group("hours");
    g.throughput(Throughput::Elements(at.len() as u64));
    g.bench_function("is_open", |b| {
        b.iter(|| at.iter().filter(|&&t| hours.is_open(black_box(t))).count())
    });
    g.bench_function("next_change", |b| {
        b.iter(|| {
            at.iter()
                .filter_map(|&t| hours.next_change(black_box(t)))
                .count()
        })
    });
    let plain = BusinessHours::weekdays(
        chrono_tz::America::New_York,
        "09:00-17:00".parse().expect("an interval"),
    );
    g.bench_function("is_open/weekdays_only", |b| {
        b.iter(|| at.iter().filter(|&&t| plain.is_open(black_box(t))).count())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
