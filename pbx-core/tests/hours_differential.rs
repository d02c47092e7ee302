//! Differential test: `BusinessHours::is_open` against an independent reference written in
//! Python on `zoneinfo` (`tests/hours_reference.py`), at ≥ 10 000 instants around DST changes
//! in several zones. Needs `python3` (3.9+) with the system's time-zone data.

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{DateTime, Offset, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use pbx_core::hours::{BusinessHours, Interval};

/// A small deterministic generator (SplitMix64): the same instants every run.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: i64) -> i64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as i64
    }
}

const ZONES: [&str; 7] = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Anchorage",
    "America/Santiago",
    "Pacific/Chatham",
    "Asia/Tokyo",
];

/// Intervals chosen to start and end inside the hours where zones shift (00:00–04:00 local),
/// without overlapping each other (an overlap would hide a wrong boundary).
fn schedule() -> Vec<(Weekday, Vec<&'static str>)> {
    vec![
        (Weekday::Mon, vec!["00:00-01:00", "09:00-17:00"]),
        (Weekday::Tue, vec!["02:30-03:30"]),
        (Weekday::Wed, vec!["01:30-02:45", "12:00-13:00"]),
        (Weekday::Thu, vec!["23:30-02:30"]),
        (Weekday::Fri, vec!["02:00-03:00"]),
        (Weekday::Sat, vec!["23:15-00:45"]),
        (
            Weekday::Sun,
            vec!["01:00-01:30", "02:10-02:50", "03:00-09:00", "12:00-24:00"],
        ),
    ]
}

/// Every instant (to the hour) in 2024–2027 where the zone's offset changes.
fn transitions(tz: Tz) -> Vec<i64> {
    let start = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let end = Utc
        .with_ymd_and_hms(2028, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let offset = |u: i64| {
        let t = DateTime::<Utc>::from_timestamp(u, 0).unwrap();
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    };
    let mut out = Vec::new();
    let mut u = start;
    while u < end {
        if offset(u) != offset(u + 1800) {
            out.push(u + 1800);
        }
        u += 1800;
    }
    out
}

#[test]
fn is_open_agrees_with_python_zoneinfo() {
    let mut rng = SplitMix(7);
    let mut cases = Vec::new();
    let mut ours: Vec<Vec<bool>> = Vec::new();
    let mut total = 0;
    for zone in ZONES {
        let tz: Tz = zone.parse().unwrap();
        let mut hours = BusinessHours::new(tz);
        let mut week = serde_json::Map::new();
        for (day, list) in schedule() {
            let intervals: Vec<Interval> = list.iter().map(|s| s.parse().unwrap()).collect();
            week.insert(
                day.num_days_from_monday().to_string(),
                serde_json::Value::from(
                    intervals
                        .iter()
                        .map(|i| vec![i.start().seconds(), i.end().seconds()])
                        .collect::<Vec<_>>(),
                ),
            );
            hours = hours.with_day(day, intervals);
        }
        let mut instants: Vec<i64> = Vec::new();
        let changes = transitions(tz);
        for &t in &changes {
            // Exact neighbourhood of the change, then random seconds within ±2 days.
            instants.extend((-3..=3).map(|k| t + k));
            for _ in 0..400 {
                instants.push(t + rng.below(4 * 86_400) - 2 * 86_400);
            }
        }
        if changes.is_empty() {
            // A zone without DST: random instants over the years.
            let base = Utc
                .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
                .unwrap()
                .timestamp();
            for _ in 0..2000 {
                instants.push(base + rng.below(4 * 365 * 86_400));
            }
        }
        total += instants.len();
        ours.push(
            instants
                .iter()
                .map(|&u| hours.is_open(DateTime::<Utc>::from_timestamp(u, 0).unwrap()))
                .collect(),
        );
        cases.push(serde_json::json!({"zone": zone, "week": week, "instants": instants}));
    }
    assert!(total >= 10_000, "only {total} instants");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hours_reference.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs (the test script installs it)");
    let input = serde_json::to_vec(&serde_json::json!({"cases": cases})).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the reference failed");
    let theirs: Vec<Vec<bool>> = serde_json::from_slice(&out.stdout).unwrap();

    let mut disagreements = Vec::new();
    for (z, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        let instants = cases[z]["instants"].as_array().unwrap();
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            if x != y {
                let u = instants[i].as_i64().unwrap();
                let t = DateTime::<Utc>::from_timestamp(u, 0).unwrap();
                let tz: Tz = ZONES[z].parse().unwrap();
                disagreements.push(format!(
                    "{} {t} (local {}): ours {x}, reference {y}",
                    ZONES[z],
                    t.with_timezone(&tz)
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {total} disagree; first: {:#?}",
        disagreements.len(),
        &disagreements[..disagreements.len().min(10)]
    );
    eprintln!(
        "hours differential: {total} instants in {} zones, 0 disagreements",
        ZONES.len()
    );
}
