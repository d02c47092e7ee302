//! Unmapped extensions made visible by the engine (issue 19): calls skipped because their
//! owner has no user are counted per extension in `Status::unmapped`, warned about the first
//! time (and at most hourly), and every skip is logged at debug with pbxCallId, location and
//! reason.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};
use pbx_core::RawRecord;
use pbx_core::call::CallMapper;
use pbx_core::delivery::Pipeline;
use pbx_core::extensions::User;
use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore, MemorySource};
use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine};

const SAMPLE: &str = include_str!("../../examples/data/cdr-sample.log");

/// A log writer the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn engine(
    records: Vec<RawRecord>,
    batch_size: usize,
) -> Engine<MemorySource, MemoryCallSink, Arc<MemoryCheckpointStore>> {
    // Users 101–111: 112 (Kevin Lee) owns three sample calls and has no user.
    let mapper = CallMapper::default().with_extensions(
        (101..=111)
            .map(|e| User::new(e.to_string(), format!("u{e}@example.com")))
            .collect(),
    );
    Engine::new(
        MemorySource::new(records),
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Pipeline {
            mapper,
            ..Pipeline::default()
        },
        Arc::new(MemoryQuarantine::default()),
        EngineOptions {
            batch_size,
            poll_interval: Duration::from_millis(10),
            ..EngineOptions::default()
        },
    )
}

fn sample() -> Vec<RawRecord> {
    SAMPLE
        .lines()
        .enumerate()
        .map(|(i, l)| RawRecord::Line {
            number: i as u64 + 1,
            text: l.as_bytes().to_vec(),
        })
        .collect()
}

#[tokio::test]
async fn unmapped_extensions_are_counted_warned_about_and_every_skip_is_logged() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut engine = engine(sample(), 10);
    let status = engine.status();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    // The whole sample, each line settled once; the clock moves a minute each time it is read.
    let ticks = std::sync::atomic::AtomicI64::new(0);
    let clock =
        move || t0 + TimeDelta::minutes(ticks.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    let (_stop, rx) = tokio::sync::watch::channel(false);
    engine.drain(rx.clone(), clock, |_| {}).await.unwrap();
    let s = status.lock().unwrap().clone();
    let kevin = s.unmapped.get("112").expect("112 is tracked");
    assert_eq!(kevin.calls, 3, "lines 21, 23 and 53");
    assert_eq!(s.unmapped.len(), 1, "only 112 lacks a user");
    assert!(kevin.first_seen < kevin.last_seen);
    // Nothing new on a later round: settled skips are counted once.
    engine
        .drain(rx, move || t0 + TimeDelta::hours(2), |_| {})
        .await
        .unwrap();
    assert_eq!(status.lock().unwrap().unmapped.get("112").unwrap().calls, 3);

    // /status and /metrics material.
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["unmapped"]["112"]["calls"], 3);
    let mut metrics = String::new();
    s.unmapped.write_metrics(&mut metrics);
    assert!(
        metrics.contains("pbx_unmapped_extension_calls_total{extension=\"112\"} 3\n"),
        "{metrics}"
    );

    let text = log.text();
    // One warning (the three calls fall within the hour), naming the extension and count.
    let warnings: Vec<&str> = text
        .lines()
        // The extension by its field (a timestamp such as `…09.134112Z` holds "112" too).
        .filter(|l| l.contains("WARN") && l.contains("extension=112"))
        .collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].contains("skipped_calls=1"), "{}", warnings[0]);
    // A missed call no route takes: one warning per DN, naming the setting to add.
    let queue: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("missed calls to 800"))
        .collect();
    assert_eq!(queue.len(), 1, "{text}");
    assert!(
        queue[0].contains("missed_calls.route.\"800\""),
        "{}",
        queue[0]
    );
    assert_eq!(s.unmapped.missed_unrouted().get("800").unwrap().calls, 2);
    // Every skip at debug: 18 in the sample (internal 9, missed_unrouted 6, no_owner_email 3).
    let skips: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("call not logged"))
        .collect();
    assert_eq!(skips.len(), 18, "{text}");
    let queue_missed = skips
        .iter()
        .find(|l| l.contains("3cx-40010-000001A19EC79F48_5231"))
        .expect("line 10, the missed queue call");
    assert!(queue_missed.contains("DEBUG"), "{queue_missed}");
    assert!(queue_missed.contains("location=line 10"), "{queue_missed}");
    assert!(
        queue_missed.contains("reason=\"missed_unrouted\""),
        "{queue_missed}"
    );
}

#[tokio::test]
async fn an_unmapped_extension_is_warned_about_again_after_an_hour() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Line 23 (inbound, owned by 112) three times, under three call ids, one per round.
    let line = SAMPLE.lines().nth(22).unwrap();
    let records = (0..3)
        .map(|i| RawRecord::Line {
            number: i + 1,
            text: line
                .replace("Call 40023", &format!("Call 9{i}"))
                .into_bytes(),
        })
        .collect();
    let mut engine = engine(records, 1);
    let t0 = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    // The clock reads 0, 10 and 61 minutes after t0 as the three calls are skipped.
    let times = std::sync::Mutex::new(vec![61, 10, 0]);
    let clock = move || {
        let mut t = times.lock().unwrap();
        let m = if t.len() > 1 { t.pop().unwrap() } else { t[0] };
        t0 + TimeDelta::minutes(m)
    };
    let (_stop, rx) = tokio::sync::watch::channel(false);
    engine.drain(rx, clock, |_| {}).await.unwrap();
    let text = log.text();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 2, "first time and an hour later: {text}");
    assert!(warnings[0].contains("skipped_calls=1"), "{text}");
    assert!(warnings[1].contains("skipped_calls=3"), "{text}");
    let s = engine.status().lock().unwrap().clone();
    let e = s.unmapped.get("112").unwrap();
    assert_eq!(
        (e.calls, e.first_seen, e.last_seen),
        (3, t0, t0 + TimeDelta::minutes(61))
    );
}
