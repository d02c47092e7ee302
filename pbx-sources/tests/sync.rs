//! The sync engine over pbx-core's in-memory adapters: checkpoints only after
//! acknowledgement, retries, quarantine, credentials refused, restarts.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use pbx_core::call::CallMapper;
use pbx_core::extensions::User;
use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore, MemorySource};
use pbx_core::sync::Pipeline;
use pbx_core::{CheckpointStore, DeliveryOutcome, RawRecord};
use pbx_sources::sync::{Engine, EngineOptions, MemoryQuarantine, SyncError};

const SAMPLE: &str = include_str!("../../examples/data/cdr-sample.log");

fn lines(text: &str) -> Vec<RawRecord> {
    text.lines()
        .enumerate()
        .map(|(i, l)| RawRecord::Line {
            number: i as u64 + 1,
            text: l.as_bytes().to_vec(),
        })
        .collect()
}

fn pipeline() -> Pipeline {
    let mapper = CallMapper {
        extensions: (101..=112)
            .map(|e| User::new(e.to_string(), format!("u{e}@example.com")))
            .collect(),
        ..CallMapper::default()
    };
    Pipeline {
        mapper,
        ..Pipeline::default()
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

type TestEngine = Engine<MemorySource, MemoryCallSink, Arc<MemoryCheckpointStore>>;

fn engine(
    records: Vec<RawRecord>,
    sink: &Arc<MemoryCallSink>,
    store: &Arc<MemoryCheckpointStore>,
    quarantine: &Arc<MemoryQuarantine>,
    batch: usize,
) -> TestEngine {
    let options = EngineOptions {
        batch_size: batch,
        poll_interval: Duration::from_millis(50),
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(40),
        ..EngineOptions::default()
    };
    Engine::new(
        MemorySource::new(records),
        Arc::clone(sink),
        Arc::clone(store),
        pipeline(),
        quarantine.clone(),
        options,
    )
}

fn ids(sink: &MemoryCallSink) -> Vec<String> {
    sink.delivered()
        .into_iter()
        .map(|c| c.pbx_call_id)
        .collect()
}

#[tokio::test]
async fn every_call_once_and_a_second_run_sends_nothing() {
    let (sink, store, q) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Arc::new(MemoryQuarantine::default()),
    );
    let mut e = engine(lines(SAMPLE), &sink, &store, &q, 500);
    let r = e.round(now()).await.unwrap();
    assert_eq!((r.fetched, r.settled, r.retry), (65, 65, None));
    assert_eq!(r.checkpoint.as_ref().map(|c| c.as_str()), Some("65"));
    let delivered = ids(&sink);
    assert_eq!(
        delivered.len(),
        delivered.iter().collect::<HashSet<_>>().len()
    );
    let status = e.status();
    let counters = status.lock().unwrap().counters.clone();
    assert_eq!(counters.received, 65);
    assert_eq!(counters.delivered as usize, delivered.len());
    assert_eq!(
        counters.delivered + counters.skipped.values().sum::<u64>() + counters.quarantined,
        65
    );
    assert!(counters.skipped["internal"] > 0);
    // A restart: a new engine on the same store fetches after the checkpoint.
    let mut again = engine(lines(SAMPLE), &sink, &store, &q, 500);
    let r = again.round(now()).await.unwrap();
    assert_eq!(r.fetched, 0);
    assert_eq!(ids(&sink).len(), delivered.len());
}

#[tokio::test]
async fn the_checkpoint_never_passes_an_unacknowledged_call() {
    let (sink, store, q) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Arc::new(MemoryQuarantine::default()),
    );
    // Lines 1–3 are calls (inbound, outbound, inbound).
    let three: Vec<RawRecord> = lines(SAMPLE).into_iter().take(3).collect();
    sink.script(DeliveryOutcome::Delivered); // line 1: scripted "stored" (not kept by the sink)
    sink.script(DeliveryOutcome::Retry {
        reason: "HTTP 503".into(),
        after: Some(Duration::from_secs(2)),
    });
    let mut e = engine(three, &sink, &store, &q, 10);
    let r = e.round(now()).await.unwrap();
    assert_eq!(r.settled, 1);
    assert_eq!(r.retry, Some(Duration::from_secs(2)));
    assert_eq!(
        store.load("cdr").await.unwrap().map(|c| c.to_string()),
        Some("1".into())
    );
    // Line 3 went through in round 1 even though line 2 did not: next round it is not sent
    // again (the engine remembers the answer) and settles with line 2.
    assert_eq!(ids(&sink).len(), 1);
    let r = e.round(now()).await.unwrap();
    assert_eq!((r.fetched, r.settled, r.retry), (2, 2, None));
    assert_eq!(ids(&sink).len(), 2, "each call stored once");
    let counters = e.status().lock().unwrap().counters.clone();
    assert_eq!((counters.delivered, counters.duplicates), (3, 0));
    assert_eq!(
        store.load("cdr").await.unwrap().map(|c| c.to_string()),
        Some("3".into())
    );
    // A new process (fresh store) sends everything again: the API's 409 settles each.
    let mut fresh = engine(
        lines(SAMPLE).into_iter().skip(1).take(2).collect(),
        &sink,
        &Arc::new(MemoryCheckpointStore::new()),
        &q,
        10,
    );
    let r = fresh.round(now()).await.unwrap();
    assert_eq!(r.settled, 2);
    assert_eq!(fresh.status().lock().unwrap().counters.duplicates, 2);
    assert_eq!(ids(&sink).len(), 2);
}

#[tokio::test]
async fn bad_and_rejected_records_are_quarantined_and_the_rest_go_on() {
    let (sink, store, q) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Arc::new(MemoryQuarantine::default()),
    );
    let mut records = lines(SAMPLE);
    records.truncate(3);
    records.insert(
        1,
        RawRecord::Line {
            number: 99,
            text: b"Call 1,garbage".to_vec(),
        },
    );
    sink.script(DeliveryOutcome::Rejected {
        status: 400,
        body: "phoneNumber must not be blank".into(),
    });
    let mut e = engine(records, &sink, &store, &q, 10);
    let r = e.round(now()).await.unwrap();
    assert_eq!((r.fetched, r.settled), (4, 4));
    let entries = q.entries();
    assert_eq!(entries.len(), 2);
    assert!(
        entries[0].reason.contains("HTTP 400") && entries[0].reason.contains("must not be blank"),
        "{:?}",
        entries[0]
    );
    assert_eq!(entries[1].location, "line 99");
    assert!(entries[1].reason.contains("2 fields"), "{:?}", entries[1]);
    assert_eq!(entries[1].record, "Call 1,garbage");
    assert_eq!(ids(&sink).len(), 2);
}

#[tokio::test]
async fn refused_credentials_stop_delivery_at_the_last_settled_record() {
    let (sink, store, q) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Arc::new(MemoryQuarantine::default()),
    );
    sink.script(DeliveryOutcome::Delivered);
    sink.script(DeliveryOutcome::AuthFailed { status: 403 });
    let mut e = engine(
        lines(SAMPLE).into_iter().take(3).collect(),
        &sink,
        &store,
        &q,
        10,
    );
    let err = e.round(now()).await.unwrap_err();
    assert!(
        matches!(err, SyncError::AuthFailed { status: 403 }),
        "{err}"
    );
    assert_eq!(
        store.load("cdr").await.unwrap().map(|c| c.to_string()),
        Some("1".into())
    );
}

#[tokio::test(start_paused = true)]
async fn run_backs_off_then_drains_and_stops_on_shutdown() {
    let (sink, store, q) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Arc::new(MemoryQuarantine::default()),
    );
    for _ in 0..3 {
        sink.script(DeliveryOutcome::Retry {
            reason: "timeout".into(),
            after: None,
        });
    }
    let mut e = engine(lines(SAMPLE), &sink, &store, &q, 20);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { e.run(rx, now).await });
    // Paused time advances by itself while the engine sleeps.
    tokio::time::sleep(Duration::from_secs(5)).await;
    tx.send(true).unwrap();
    task.await.unwrap().unwrap();
    assert_eq!(
        store.load("cdr").await.unwrap().map(|c| c.to_string()),
        Some("65".into())
    );
    let delivered = ids(&sink);
    assert_eq!(
        delivered.len(),
        delivered.iter().collect::<HashSet<_>>().len()
    );
}
