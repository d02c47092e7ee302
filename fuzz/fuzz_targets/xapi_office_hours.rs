//! XAPI `OfficeHours` JSON: decoding, conversion to business hours, and queries.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use pbx_core::hours::xapi::OfficeHours;

fuzz_target!(|data: &[u8]| {
    let Ok(oh) = serde_json::from_slice::<OfficeHours>(data) else { return };
    let Ok(hours) = oh.to_business_hours() else { return };
    for secs in [0i64, 1_700_000_000, 4_102_444_800] {
        let at = Utc.timestamp_opt(secs, 0).unwrap();
        let _ = hours.state(at);
        let _ = hours.next_change(at);
    }
});
