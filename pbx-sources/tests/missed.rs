//! Missed calls through the runtime (issue 29, point 2): the sample file drained once by a
//! `Sideloader`, the missed calls no `missed_calls.route` takes counted per DN in `/status`
//! (`missed_unrouted`) and `/metrics` (`pbx_missed_unrouted_calls_total{dn="…"}`), and routed
//! ones delivered during business hours.

use std::path::PathBuf;

use pbx_core::config::Config;
use pbx_sources::runtime::{Sideloader, endpoints};
use serde_json::Value;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/data/cdr-sample.log"
);

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pbx-missed-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Drains the sample once with `missed` appended to the configuration; the summary's skip
/// counts, `/status` and `/metrics`.
fn drain(name: &str, missed: &str) -> (Value, Value, String) {
    let dir = scratch(name);
    let yaml = format!(
        "pbx: {{timezone: America/Anchorage}}\n\
         source: {{kind: file, path: '{SAMPLE}'}}\n\
         call_api: {{base_url: 'file:{dir}/calls.jsonl'}}\n\
         extensions: {{default_email: 'pbx@example.com'}}\n\
         business_hours: {{monday: '09:00-17:00', tuesday: '09:00-17:00', wednesday: '09:00-17:00', thursday: '09:00-17:00', friday: '09:00-17:00'}}\n\
         checkpoint: {{kind: file, path: '{dir}/checkpoint.json'}}\n\
         quarantine: {{path: '{dir}/quarantine.jsonl'}}\n\
         {missed}",
        dir = dir.display()
    );
    let config = Config::from_yaml(&yaml, &|_| None).expect("a valid configuration");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut sideloader = Sideloader::from_config(&config).await.unwrap();
        let summary = sideloader.once().await.unwrap();
        let handle = sideloader.handle();
        (
            serde_json::to_value(&summary.counters.skipped).unwrap(),
            endpoints::status_json(&handle),
            endpoints::metrics_text(&handle),
        )
    })
}

#[test]
fn unrouted_missed_calls_are_counted_per_dn_in_status_and_metrics() {
    let (skipped, status, metrics) = drain("unrouted", "");
    // The sample's six calls nobody answered: queue 800 (lines 10, 43), IVR 900 (line 14),
    // ring group 700 (line 19), and the general voicemail 999 behind IVR 900 and ring
    // group 700 (lines 13, 55).
    assert_eq!(skipped["missed_unrouted"], 6, "{skipped}");
    assert!(skipped.get("no_owner").is_none(), "{skipped}");
    let unrouted = &status["missed_unrouted"];
    for (dn, calls) in [("800", 2), ("999", 2), ("900", 1), ("700", 1)] {
        assert_eq!(unrouted[dn]["calls"], calls, "{dn}: {status}");
        assert!(unrouted[dn]["firstSeen"].is_string(), "{status}");
        assert!(
            metrics.contains(&format!(
                "pbx_missed_unrouted_calls_total{{dn=\"{dn}\"}} {calls}\n"
            )),
            "{dn}: {metrics}"
        );
    }
    assert_eq!(unrouted.as_object().unwrap().len(), 4, "{status}");
    assert!(
        metrics.contains("pbx_records_skipped_total{reason=\"missed_unrouted\"} 6\n"),
        "{metrics}"
    );
}

#[test]
fn routed_missed_calls_are_delivered_in_business_hours_and_skipped_outside() {
    let (skipped, status, metrics) = drain(
        "routed",
        "missed_calls: {route: {'800': '103', '700': '101', '900': '108'}}\n",
    );
    // In hours: line 10 (Mon 15:20, queue 800) and line 19 (Tue 11:55, ring group 700) are
    // delivered; lines 13, 14, 43 and 55 are after hours or on Saturday.
    assert_eq!(skipped["missed_outside_hours"], 4, "{skipped}");
    assert!(skipped.get("missed_unrouted").is_none(), "{skipped}");
    assert_eq!(status["missed_unrouted"], serde_json::json!({}), "{status}");
    assert!(
        !metrics.contains("pbx_missed_unrouted_calls_total{"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pbx_calls_delivered_total 52\n"),
        "50 as before (112's three calls go to the default email) and two missed calls: {metrics}"
    );
    // With outside_hours: log, all six are delivered.
    let (skipped, _, metrics) = drain(
        "routed-log",
        "missed_calls: {outside_hours: log, route: {'800': '103', '700': '101', '900': '108'}}\n",
    );
    assert!(skipped.get("missed_outside_hours").is_none(), "{skipped}");
    assert!(
        metrics.contains("pbx_calls_delivered_total 56\n"),
        "{metrics}"
    );
    // Disabled: the old summary.
    let (skipped, status, _) = drain("off", "missed_calls: {enabled: false}\n");
    assert_eq!(skipped["no_owner"], 6, "{skipped}");
    assert_eq!(status["missed_unrouted"], serde_json::json!({}), "{status}");
}
