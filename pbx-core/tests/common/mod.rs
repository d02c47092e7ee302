//! What several of pbx-core's test files share: short builders for optional text and instants.
#![allow(dead_code, unreachable_pub)] // each test binary uses its own part

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

/// `Some(raw.to_owned())`: an optional text field that is present.
pub fn s(raw: &str) -> Option<String> {
    Some(raw.to_owned())
}

/// A UTC instant from its calendar fields.
pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

/// `secs` seconds after 2026-11-02 18:00:00 UTC, the start of the leg scenarios.
pub fn at(secs: i64) -> DateTime<Utc> {
    utc(2026, 11, 2, 18, 0, 0) + TimeDelta::seconds(secs)
}
