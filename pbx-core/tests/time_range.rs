//! Backfill time ranges: local dates to UTC instants (DST included), and which calls a range
//! admits.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use pbx_core::call::SkipReason;
use pbx_core::cdr::Cdr;
use pbx_core::delivery::{Disposition, Pipeline, TimeRange};
use pbx_core::{Checkpoint, RawRecord, SourceRecord};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn dates_cover_whole_local_days_across_a_dst_change() {
    // 8 March 2026: Anchorage springs forward (AKST −9 → AKDT −8) at 02:00.
    let r = TimeRange::from_dates(
        day(2026, 3, 8),
        day(2026, 3, 8),
        chrono_tz::America::Anchorage,
    )
    .unwrap();
    assert_eq!(r.from(), utc("2026-03-08T09:00:00Z"));
    assert_eq!(r.to(), utc("2026-03-09T08:00:00Z"));
    // Only one day, both ends inclusive: the last instant of the day is in, midnight after is not.
    assert!(r.contains(utc("2026-03-09T07:59:59Z")));
    assert!(!r.contains(utc("2026-03-09T08:00:00Z")));
    assert!(!r.contains(utc("2026-03-08T08:59:59Z")));
}

#[test]
fn a_midnight_skipped_by_dst_starts_after_the_gap() {
    // Santiago springs forward at 24:00 on 6 September 2025: midnight does not exist.
    let r = TimeRange::from_dates(
        day(2025, 9, 7),
        day(2025, 9, 7),
        chrono_tz::America::Santiago,
    )
    .unwrap();
    // 01:00 local (−03) is the first instant of the day.
    assert_eq!(r.from(), utc("2025-09-07T04:00:00Z"));
}

#[test]
fn an_inverted_range_is_refused() {
    assert!(TimeRange::from_dates(day(2026, 3, 9), day(2026, 3, 8), chrono_tz::UTC).is_none());
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    assert!(TimeRange::new(t, t).is_none());
}

#[test]
fn a_call_belongs_to_the_range_of_its_start_then_its_end() {
    let r = TimeRange::new(utc("2026-11-02T00:00:00Z"), utc("2026-11-03T00:00:00Z")).unwrap();
    let mut cdr = Cdr::default();
    assert!(r.admits(&cdr), "a call that cannot be placed is kept");
    cdr.time_end = Some(utc("2026-11-02T00:00:30Z"));
    assert!(r.admits(&cdr));
    // Started the evening before: it belongs to the day before, whatever its end.
    cdr.time_start = Some(utc("2026-11-01T23:59:50Z"));
    assert!(!r.admits(&cdr));
    cdr.time_start = Some(utc("2026-11-02T23:59:59Z"));
    cdr.time_end = Some(utc("2026-11-03T00:10:00Z"));
    assert!(r.admits(&cdr));
}

#[test]
fn the_pipeline_skips_calls_outside_and_still_quarantines_unreadable_lines() {
    let sample = include_str!("../../examples/data/cdr-sample.log");
    let pipeline = Pipeline::default();
    // The sample runs from 2 to 20 November 2026 (UTC start times).
    let range = TimeRange::new(utc("2026-11-18T00:00:00Z"), utc("2026-11-30T00:00:00Z")).unwrap();
    let mut inside = 0;
    let mut outside = 0;
    for (i, line) in sample.lines().enumerate() {
        let rec = SourceRecord {
            checkpoint: Checkpoint::new(i.to_string()),
            record: Ok(RawRecord::Line {
                number: i as u64 + 1,
                text: line.as_bytes().to_vec(),
            }),
        };
        let all = pipeline.prepare(&rec);
        let within = pipeline.prepare_within(&rec, Some(&range));
        if within.disposition == Disposition::Skip(SkipReason::OutsideRange) {
            outside += 1;
        } else {
            // Inside the range the decision is the one without a range.
            assert_eq!(within, all, "line {}", i + 1);
            inside += 1;
        }
    }
    assert!(
        inside > 0 && outside > 0,
        "{inside} inside, {outside} outside"
    );
    let bad = SourceRecord {
        checkpoint: Checkpoint::new("x"),
        record: Ok(RawRecord::Line {
            number: 9,
            text: b"Call 9,broken".to_vec(),
        }),
    };
    assert!(matches!(
        pipeline.prepare_within(&bad, Some(&range)).disposition,
        Disposition::Quarantine { .. }
    ));
    assert_eq!(SkipReason::OutsideRange.kind(), "outside_range");
}

/// The cheap read of a line's start time (for skipping a backfill's lines without parsing
/// them) agrees with the full parse on every line of the bundled samples, in both layouts,
/// and with the start moved first or last in a site's own order.
#[test]
fn the_peeked_start_time_is_the_parsed_one() {
    use pbx_core::cdr::{CdrParser, FieldTemplate};
    let sample = include_str!("../../examples/data/cdr-sample.log");
    let v16 = include_str!("../../examples/data/cdr-v16-20field.log");
    let mut checked = 0;
    for (text, template) in [
        (sample, FieldTemplate::v20_27()),
        (v16, FieldTemplate::v16_20()),
    ] {
        let parser = CdrParser::new(template);
        for (i, line) in text.lines().enumerate() {
            let parsed = parser.parse_line(i as u64 + 1, line).unwrap().time_start;
            assert_eq!(parser.peek_time_start(line.as_bytes()), parsed, "{line}");
            checked += 1;
        }
    }
    assert_eq!(checked, 75);
    for order in ["time-start,historyid,to-no", "historyid,to-no,time-start"] {
        let parser = CdrParser::new(order.parse().unwrap());
        let line = if order.starts_with("time") {
            "Call 2026/11/02 17:02:11,40001,101\r\n"
        } else {
            "Call 40001,101, 2026/11/02 17:02:11 ,\r\n"
        };
        let parsed = parser.parse_line(1, line).unwrap().time_start;
        assert!(parsed.is_some());
        assert_eq!(parser.peek_time_start(line.as_bytes()), parsed, "{order}");
    }
    // What cannot be read cheaply is left to the full parse, never ruled out.
    let day = TimeRange::parse("2026-11-02", "2026-11-02", chrono_tz::UTC).unwrap();
    let parser = CdrParser::new("historyid,callid,time-start".parse().unwrap());
    for line in [
        "Call 1,\"a,b\",2020/01/01 00:00:00",
        "Call 1,x",
        "Call 1,x,",
        "Call 1,x,not a time",
        "",
    ] {
        assert!(!day.rules_out_line(&parser, line.as_bytes()), "{line}");
    }
    assert!(day.rules_out_line(&parser, b"Call 1,x,2020/01/01 00:00:00"));
}
