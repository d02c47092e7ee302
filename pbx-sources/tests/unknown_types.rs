//! Type words 3CX does not write (issue #32): a spreadsheet-saved export's `External` and
//! `Internal` are treated as absent, so the calls are delivered by the trunk-DN and
//! number-pattern rules; the engine counts the records per word (`Status::unknown_types`, for
//! `/status` and `/metrics`) and warns once, naming the words — whichever loop runs it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use pbx_core::RawRecord;
use pbx_core::call::CallMapper;
use pbx_core::delivery::Pipeline;
use pbx_core::extensions::User;
use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore, MemorySource};
use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine, Status};

/// Inbound from 0466452265 answered by 611 (chain emptied by the spreadsheet).
const INBOUND: &str = "Call 40101,00000191AAAA0001_1,00:03:43,2024/03/04 09:00:00,\
    2024/03/04 09:00:05,2024/03/04 09:03:48,TerminatedBySrc,0466452265,Ext.611,10000,611,611,,\
    Ext.611,611,,,,,,External,Internal,Internal,Client,Desk 611,Desk 611,";
/// 102 calling 0232354095.
const OUTBOUND: &str = "Call 40102,00000191AAAA0002_1,00:00:40,2024/03/04 09:10:00,\
    2024/03/04 09:10:07,2024/03/04 09:10:47,TerminatedBySrc,Ext.102,0232354095,102,10000,\
    0232354095,,0232354095,10000,,,,,,Internal,External,External,Bruno,,,";
/// A record 3CX wrote itself: nothing unknown.
const V20: &str = "Call 288831,4cc2c72490010000_26808,00:00:25,2024/06/17 05:59:49,\
    2024/06/17 05:59:58,2024/06/17 06:00:23,TerminatedBySrc,Ext.102,+46703014082,102,10020,\
    +46703014082,,+46703014082,10020,default,1,0.43,default,Chain: Ext.102;+46703014082;,\
    Extension,Line,Line,Bruno,+46703014082,+46703014082,";

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

fn records() -> Vec<RawRecord> {
    // The spreadsheet's two shapes three times each (distinct ids), and one clean record.
    let mut out = Vec::new();
    for i in 0..3 {
        for line in [INBOUND, OUTBOUND] {
            out.push(line.replace(",00000191AAAA", &format!(",{i}0000191AAAA")));
        }
    }
    out.push(V20.to_owned());
    out.into_iter()
        .enumerate()
        .map(|(i, l)| RawRecord::Line {
            number: i as u64 + 1,
            text: l.into_bytes(),
        })
        .collect()
}

fn engine(
    batch_size: usize,
) -> (
    Engine<MemorySource, MemoryCallSink, Arc<MemoryCheckpointStore>>,
    Arc<MemoryCallSink>,
) {
    let mapper = CallMapper::default().with_extensions(
        [
            User::new("611", "desk@example.com"),
            User::new("102", "bruno@example.com"),
        ]
        .into_iter()
        .collect(),
    );
    let sink = Arc::new(MemoryCallSink::new());
    let engine = Engine::new(
        MemorySource::new(records()),
        Arc::clone(&sink),
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
    );
    (engine, sink)
}

fn check_counts(s: &Status) {
    assert_eq!(s.unknown_types.records(), 6, "{s:?}");
    assert_eq!(s.unknown_types.get("External"), Some(6));
    assert_eq!(s.unknown_types.get("Internal"), Some(6));
    assert_eq!(s.unknown_types.iter().count(), 2);
    // /status material.
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(json["unknown_types"]["records"], 6, "{json}");
    assert_eq!(json["unknown_types"]["words"]["External"], 6, "{json}");
    // /metrics material.
    let mut metrics = String::new();
    s.unknown_types.write_metrics(&mut metrics);
    assert!(
        metrics.contains("pbx_records_unknown_type_total 6\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pbx_unknown_type_words_total{word=\"Internal\"} 6\n"),
        "{metrics}"
    );
    // Every call delivered: none skipped `no_owner`.
    assert_eq!(s.counters.delivered, 7, "{s:?}");
    assert!(s.counters.skipped.is_empty(), "{s:?}");
}

fn one_warning(log: &Captured) {
    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "one warning for both words: {text}");
    assert!(
        warnings[0].contains("External, Internal")
            && warnings[0].contains("treated as absent")
            && warnings[0].contains("location=line 1"),
        "{}",
        warnings[0]
    );
}

fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (log, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn unknown_type_words_are_counted_and_warned_about_once_by_rounds() {
    let (log, _guard) = capture();
    let (mut engine, sink) = engine(3);
    let status = engine.status();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let (_stop, rx) = tokio::sync::watch::channel(false);
    engine.drain(rx, move || t0, |_| {}).await.unwrap();
    check_counts(&status.lock().unwrap());
    assert_eq!(sink.delivered().len(), 7);
    one_warning(&log);
}

#[tokio::test]
async fn unknown_type_words_are_counted_and_warned_about_once_by_the_stream() {
    let (log, _guard) = capture();
    let (mut engine, sink) = engine(2);
    let status = engine.status();
    let (_stop, rx) = tokio::sync::watch::channel(false);
    engine.drain(rx, Utc::now, |_| {}).await.unwrap();
    check_counts(&status.lock().unwrap());
    assert_eq!(sink.delivered().len(), 7);
    one_warning(&log);
}
