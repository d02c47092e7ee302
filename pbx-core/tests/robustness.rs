//! The quick bad-input pass (the long coverage-guided runs are `fuzz/run.sh`): arbitrary
//! text into the config loader, arbitrary JSON into the XAPI office-hours conversion and
//! arbitrary numbers into phone normalization never panic.

use chrono::{TimeZone, Utc};
use pbx_core::config::Config;
use pbx_core::hours::xapi::OfficeHours;
use pbx_core::phone::{NumberPolicy, Region, normalize};
use proptest::prelude::*;

fn yamlish() -> impl Strategy<Value = String> {
    let keys = prop_oneof![
        Just("source"),
        Just("call_api"),
        Just("business_hours"),
        Just("monday"),
        Just("kind"),
        Just("base_url"),
        Just("holidays"),
        Just("date"),
        Just("extensions"),
        Just("map"),
        Just("x"),
    ];
    let values = prop_oneof![
        Just("'${VAR}'".to_owned()),
        Just("${X:-1}".to_owned()),
        Just("[1, 2]".to_owned()),
        Just("{a: b}".to_owned()),
        Just("null".to_owned()),
        Just("'09:00-17:00'".to_owned()),
        "[ -~]{0,12}".prop_map(|s| s),
    ];
    proptest::collection::vec((0usize..4, keys, values), 0..12).prop_map(|items| {
        items
            .into_iter()
            .map(|(indent, k, v)| format!("{}{k}: {v}\n", "  ".repeat(indent)))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn config_loader_never_panics(text in yamlish()) {
        let _ = Config::from_yaml(&text, &|n: &str| (n == "X").then(|| "2".to_owned()));
    }

    #[test]
    fn config_loader_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Config::from_yaml(&String::from_utf8_lossy(&bytes), &|_: &str| None);
    }

    #[test]
    fn office_hours_never_panic(
        zone in prop_oneof![Just("UTC"), Just("America/New_York"), Just("Alaskan Standard Time"), Just("Nowhere")],
        periods in proptest::collection::vec((0usize..8, "[0-2][0-9]:[0-5][0-9]:[0-5][0-9]", "[0-2][0-9]:[0-5][0-9]:[0-5][0-9]"), 0..6),
        holiday in (0u8..40, 0u8..15, 1990i32..2100, 0u8..40, 0u8..15, "PT[0-9]{1,2}H", any::<bool>()),
        at in 0i64..7_258_118_400,
    ) {
        let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Funday"];
        let periods: Vec<_> = periods
            .iter()
            .map(|(d, s, e)| serde_json::json!({"DayOfWeek": days[*d], "Start": s, "Stop": e}))
            .collect();
        let (day, month, year, day_end, month_end, time, recurrent) = holiday;
        let json = serde_json::json!({
            "TimeZoneId": zone,
            "Hours": {"Type": "OfficeHours", "Periods": periods},
            "OfficeHolidays": [{"Name": "h", "Day": day, "Month": month, "Year": year, "DayEnd": day_end,
                "MonthEnd": month_end, "YearEnd": year, "IsRecurrent": recurrent, "TimeOfStartDate": "PT0S",
                "TimeOfEndDate": time}],
        });
        let oh: OfficeHours = serde_json::from_value(json).unwrap();
        if let Ok(hours) = oh.to_business_hours() {
            let t = Utc.timestamp_opt(at, 0).unwrap();
            let _ = hours.state(t);
            let _ = hours.next_change(t);
        }
    }

    #[test]
    fn phone_normalization_never_panics(raw in "[ -~]{0,40}", region in prop_oneof![Just("US"), Just("SE"), Just("GB")]) {
        let policy = NumberPolicy::new(Region::parse("region", region).unwrap());
        let _ = normalize(&raw, &policy);
    }
}
