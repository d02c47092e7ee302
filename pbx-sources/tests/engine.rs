//! The delivery engine over pbx-core's in-memory adapters: checkpoints only after
//! acknowledgement, retries, quarantine, credentials refused, restarts.

mod common;

use common::{ids, pipeline_for};
use pbx_sources::DeliveryError;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use pbx_core::delivery::Pipeline;
use pbx_core::extensions::User;
use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore, MemorySource};
use pbx_core::{CheckpointStore, DeliveryOutcome, FailureKind, RawRecord};
use pbx_sources::Error;
use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine};

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

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

type TestEngine = Engine<MemorySource, MemoryCallSink, Arc<MemoryCheckpointStore>>;

/// Delivers until the source is drained, the clock standing at [`now`].
async fn drain<S: pbx_core::CdrSource>(
    e: &mut Engine<S, MemoryCallSink, Arc<MemoryCheckpointStore>>,
) -> Result<(), Error> {
    let (_stop, rx) = tokio::sync::watch::channel(false);
    e.drain(rx, now, |_| {}).await
}

fn received<S, K, C>(e: &Engine<S, K, C>) -> u64
where
    S: pbx_core::CdrSource,
    K: pbx_core::CallSink + 'static,
    C: CheckpointStore,
{
    e.status().lock().unwrap().counters.received
}

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
        pipeline_for(101..=112),
        quarantine.clone(),
        options,
    )
}

#[tokio::test]
async fn every_call_once_and_a_second_run_sends_nothing() {
    let (sink, store, q) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Arc::new(MemoryQuarantine::default()),
    );
    let mut e = engine(lines(SAMPLE), &sink, &store, &q, 500);
    drain(&mut e).await.unwrap();
    assert_eq!(
        store.load("cdr").await.unwrap().map(|c| c.to_string()),
        Some("65".into())
    );
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
    drain(&mut again).await.unwrap();
    assert_eq!(received(&again), 0);
    assert_eq!(ids(&sink).len(), delivered.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpoint_never_passes_an_unacknowledged_call() {
    let (sink, store, q) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Arc::new(MemoryQuarantine::default()),
    );
    // Lines 1–3 are calls (inbound, outbound, inbound); line 2 is asked to wait 2 s.
    let three: Vec<RawRecord> = lines(SAMPLE).into_iter().take(3).collect();
    sink.script(DeliveryOutcome::Delivered); // line 1: scripted "stored" (not kept by the sink)
    sink.script(DeliveryOutcome::Retry {
        kind: FailureKind::Http5xx,
        reason: "HTTP 503".into(),
        after: Some(Duration::from_secs(2)),
    });
    let mut e = engine(three, &sink, &store, &q, 10);
    let started = std::time::Instant::now();
    let run = tokio::spawn(async move {
        drain(&mut e).await.unwrap();
        e
    });
    // While line 2 waits, line 3 is stored but the checkpoint stays at line 1.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        store.load("cdr").await.unwrap().map(|c| c.to_string()),
        Some("1".into())
    );
    assert_eq!(ids(&sink).len(), 1, "line 3 stored");
    let e = run.await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured"
    );
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
    drain(&mut fresh).await.unwrap();
    assert_eq!(received(&fresh), 2);
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
    drain(&mut e).await.unwrap();
    assert_eq!(received(&e), 4);
    let mut entries = q.entries();
    assert_eq!(entries.len(), 2);
    // The bad line is quarantined as it is read, the rejected call once the API answers.
    entries.sort_by_key(|e| e.location != "line 99");
    entries.reverse();
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
    let err = drain(&mut e).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Delivery(DeliveryError::AuthFailed { status: 403 })
        ),
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
            kind: FailureKind::Timeout,
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

#[tokio::test]
async fn a_time_range_delivers_only_the_calls_inside_and_settles_the_rest() {
    use pbx_core::delivery::TimeRange;
    let (sink, store, q) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Arc::new(MemoryQuarantine::default()),
    );
    // Everything first, to know what the range should keep.
    let mut all = engine(lines(SAMPLE), &sink, &store, &q, 500);
    drain(&mut all).await.unwrap();
    let every: Vec<_> = sink.delivered();
    let range = TimeRange::new(
        Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 10, 0, 0, 0).unwrap(),
    )
    .unwrap();
    let inside: Vec<String> = every
        .iter()
        .filter(|c| {
            let t = chrono::DateTime::parse_from_rfc3339(&c.timestamp).unwrap();
            range.contains(t.with_timezone(&Utc))
        })
        .map(|c| c.pbx_call_id.clone())
        .collect();
    assert!(!inside.is_empty() && inside.len() < every.len());

    let (sink, store) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
    );
    let mut e = Engine::new(
        MemorySource::new(lines(SAMPLE)),
        Arc::clone(&sink),
        Arc::clone(&store),
        pipeline_for(101..=112),
        q.clone(),
        EngineOptions {
            batch_size: 10,
            range: Some(range),
            ..EngineOptions::default()
        },
    );
    drain(&mut e).await.unwrap();
    let mut delivered = ids(&sink);
    let mut expected = inside.clone();
    delivered.sort();
    expected.sort();
    assert_eq!(delivered, expected);
    let status = e.status();
    let c = status.lock().unwrap().counters.clone();
    assert_eq!(c.received, 65);
    assert_eq!(c.delivered as usize, inside.len());
    let outside = c.skipped["outside_range"];
    assert!(outside as usize >= every.len() - inside.len(), "{c:?}");
    // The checkpoint went to the end: records outside the range are settled.
    assert_eq!(
        store
            .load("cdr")
            .await
            .unwrap()
            .map(|c| c.as_str().to_owned()),
        Some("65".to_owned())
    );
}

/// A directory whose users the test changes while the engine runs.
#[derive(Default)]
struct ChangingDirectory {
    map: std::sync::Mutex<pbx_core::extensions::ExtensionMap>,
    fail: std::sync::atomic::AtomicBool,
}

#[derive(Debug, thiserror::Error)]
#[error("directory down")]
struct Down;

#[async_trait::async_trait]
impl pbx_core::ExtensionDirectory for ChangingDirectory {
    type Error = Down;
    async fn extensions(&self) -> Result<pbx_core::extensions::ExtensionMap, Down> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Down);
        }
        Ok(self.map.lock().unwrap().clone())
    }
}

#[tokio::test]
async fn users_added_to_the_directory_own_later_calls_and_the_config_wins() {
    let (sink, store, q) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Arc::new(MemoryQuarantine::default()),
    );
    let directory = Arc::new(ChangingDirectory::default());
    *directory.map.lock().unwrap() = [User::new("101", "from-pbx-101@example.com")]
        .into_iter()
        .collect();
    let config_map: pbx_core::extensions::ExtensionMap =
        [User::new("101", "configured-101@example.com")]
            .into_iter()
            .collect();
    let all = lines(SAMPLE);
    let records = Arc::new(std::sync::Mutex::new(all[..8].to_vec()));
    let source = GrowingSource {
        records: Arc::clone(&records),
        hold: Arc::default(),
        entered: Arc::default(),
        gate: Arc::default(),
    };
    let mut e = Engine::new(
        source,
        Arc::clone(&sink),
        Arc::clone(&store),
        Pipeline::default(),
        q.clone(),
        EngineOptions {
            batch_size: 8,
            ..EngineOptions::default()
        },
    )
    .with_extension_directory(Arc::clone(&directory), config_map);
    // Lines 1–8: 101's call goes to the configured address; 102's (line 2) has no user yet.
    drain(&mut e).await.unwrap();
    let first = sink.delivered();
    assert!(
        first
            .iter()
            .any(|c| c.call_owner_email == "configured-101@example.com")
    );
    assert!(first.iter().all(|c| c.call_owner_extension != "102"));
    assert!(e.status().lock().unwrap().counters.skipped["no_owner_email"] > 0);
    // 102 is added in the PBX: its next call (line 28) is delivered with its address.
    directory
        .map
        .lock()
        .unwrap()
        .insert(User::new("102", "bob@example.com"));
    records.lock().unwrap().extend_from_slice(&all[8..32]);
    drain(&mut e).await.unwrap(); // lines 9–32
    let second = sink.delivered();
    assert!(
        second[first.len()..]
            .iter()
            .any(|c| c.call_owner_email == "bob@example.com"),
        "{second:?}"
    );
    // The directory fails: the map in use is kept (102 still owns line 38).
    directory
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    records.lock().unwrap().extend_from_slice(&all[32..]);
    drain(&mut e).await.unwrap();
    let all = sink.delivered();
    let line_38 = all
        .iter()
        .find(|c| c.pbx_call_id.starts_with("3cx-40038-"))
        .expect("line 38 (a call of 102) delivered");
    assert_eq!(line_38.call_owner_email, "bob@example.com");
}

/// A source that grows while the engine runs; while `hold` is set, a fetch reads what is
/// there, says so on `entered`, then waits for `gate` before answering (a slow read that
/// began before new records arrived).
struct GrowingSource {
    records: Arc<std::sync::Mutex<Vec<RawRecord>>>,
    hold: Arc<std::sync::atomic::AtomicBool>,
    entered: Arc<tokio::sync::Notify>,
    gate: Arc<tokio::sync::Notify>,
}

#[async_trait::async_trait]
impl pbx_core::CdrSource for GrowingSource {
    type Error = pbx_core::Error;

    async fn fetch(
        &mut self,
        after: Option<&pbx_core::Checkpoint>,
        limit: usize,
    ) -> Result<Vec<pbx_core::SourceRecord>, pbx_core::Error> {
        let start: usize = after.map_or(0, |c| c.as_str().parse().unwrap());
        let read: Vec<pbx_core::SourceRecord> = self
            .records
            .lock()
            .unwrap()
            .iter()
            .enumerate()
            .skip(start)
            .take(limit)
            .map(|(i, r)| pbx_core::SourceRecord {
                checkpoint: pbx_core::Checkpoint::new((i + 1).to_string()),
                record: Ok(r.clone()),
            })
            .collect();
        if self.hold.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.entered.notify_one();
            self.gate.notified().await;
        }
        Ok(read)
    }
}

#[tokio::test]
async fn a_wake_up_during_a_fetch_reads_the_source_again_at_once() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::sync::Notify;
    let all = lines(SAMPLE);
    let records = Arc::new(std::sync::Mutex::new(all[..3].to_vec()));
    let hold = Arc::new(AtomicBool::new(false));
    let (entered, gate, wake) = (
        Arc::new(Notify::new()),
        Arc::new(Notify::new()),
        Arc::new(Notify::new()),
    );
    let source = GrowingSource {
        records: Arc::clone(&records),
        hold: Arc::clone(&hold),
        entered: Arc::clone(&entered),
        gate: Arc::clone(&gate),
    };
    let options = EngineOptions {
        // Only a wake-up makes the engine read again within this test.
        poll_interval: Duration::from_secs(3600),
        save_interval: Duration::from_millis(10),
        ..EngineOptions::default()
    };
    let sink = Arc::new(MemoryCallSink::new());
    let mut e = Engine::new(
        source,
        Arc::clone(&sink),
        Arc::new(MemoryCheckpointStore::new()),
        pipeline_for(101..=112),
        Arc::new(MemoryQuarantine::default()),
        options,
    )
    .with_trigger(Arc::clone(&wake));
    let status = e.status();
    let received = move || status.lock().unwrap().counters.received;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { e.run(rx, now).await });
    let until = |n: u64, what: &'static str| {
        let received = received.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(10), async {
                while received() < n {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{what}: {} of {n} records read", received()));
        }
    };
    until(3, "the first read").await;
    // A wake-up starts a read that finds nothing new and is slow to answer; two records
    // arrive (with their own wake-up) while it is out.
    hold.store(true, Ordering::SeqCst);
    wake.notify_one();
    entered.notified().await;
    records.lock().unwrap().extend_from_slice(&all[3..5]);
    wake.notify_one();
    tokio::time::sleep(Duration::from_millis(20)).await;
    gate.notify_one();
    until(5, "after the wake-up during the read").await;
    tx.send(true).unwrap();
    task.await.unwrap().unwrap();
}

/// A sink that panics on its `n`th call (a bug somewhere below the engine), then delivers.
struct PanicsOnce {
    inner: MemoryCallSink,
    calls: std::sync::atomic::AtomicUsize,
    at: usize,
}

#[async_trait::async_trait]
impl pbx_core::CallSink for PanicsOnce {
    async fn deliver(&self, call: &pbx_core::call::CallRequest) -> DeliveryOutcome {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == self.at {
            panic!("a bug in the sink");
        }
        self.inner.deliver(call).await
    }
}

#[tokio::test]
async fn a_panic_in_the_engine_is_an_error_and_the_engine_runs_again() {
    let sink = Arc::new(PanicsOnce {
        inner: MemoryCallSink::new(),
        calls: 0.into(),
        at: 10,
    });
    let store = Arc::new(MemoryCheckpointStore::new());
    let mut e = Engine::new(
        MemorySource::new(lines(SAMPLE)),
        Arc::clone(&sink),
        Arc::clone(&store),
        pipeline_for(101..=112),
        Arc::new(MemoryQuarantine::default()),
        EngineOptions::default(),
    );
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let err = e.drain(rx.clone(), now, |_| {}).await.unwrap_err();
    assert!(
        matches!(&err, Error::Delivery(DeliveryError::Panicked { during: "a drain", message }) if message == "a bug in the sink"),
        "{err}"
    );
    assert_eq!(err.kind().code(), "panicked");
    // The same engine drains the rest; nothing is lost and nothing stored twice.
    e.drain(rx, now, |_| {}).await.unwrap();
    let got: HashSet<String> = ids(&sink.inner).into_iter().collect();
    let clean = Arc::new(MemoryCallSink::new());
    let q = Arc::new(MemoryQuarantine::default());
    let mut reference = engine(
        lines(SAMPLE),
        &clean,
        &Arc::new(MemoryCheckpointStore::new()),
        &q,
        500,
    );
    let (_stop, rx) = tokio::sync::watch::channel(false);
    reference.drain(rx, now, |_| {}).await.unwrap();
    let want: HashSet<String> = ids(&clean).into_iter().collect();
    assert!(want.len() > 10);
    assert_eq!(got, want);
    assert_eq!(store.load("cdr").await.unwrap().unwrap().as_str(), "65");
}

/// Fails every call for the first `down` (an outage), and the first call it ever saw always
/// (a poison call, at the head of the window).
struct DownThenPoison {
    inner: MemoryCallSink,
    started: std::time::Instant,
    down: Duration,
    poison: std::sync::Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl pbx_core::CallSink for DownThenPoison {
    async fn deliver(&self, call: &pbx_core::call::CallRequest) -> DeliveryOutcome {
        let poison = self
            .poison
            .lock()
            .unwrap()
            .get_or_insert_with(|| call.pbx_call_id.clone())
            .clone();
        let (kind, reason) = if call.pbx_call_id == poison {
            (FailureKind::Http5xx, "HTTP 500: boom")
        } else if self.started.elapsed() < self.down {
            (FailureKind::Connection, "connection refused")
        } else {
            return self.inner.deliver(call).await;
        };
        DeliveryOutcome::Retry {
            kind,
            reason: reason.into(),
            after: None,
        }
    }
}

/// After an outage, the probes must not all be the poison call at the head: the outage ends
/// at the first other call that goes through, and the poison call is set aside.
#[tokio::test]
async fn a_poison_call_at_the_head_does_not_keep_an_outage_going() {
    let sink = Arc::new(DownThenPoison {
        inner: MemoryCallSink::new(),
        started: std::time::Instant::now(),
        down: Duration::from_millis(300),
        poison: std::sync::Mutex::new(None),
    });
    let mut e = Engine::new(
        MemorySource::new(lines(SAMPLE)),
        Arc::clone(&sink),
        MemoryCheckpointStore::new(),
        pipeline_for(101..=112),
        Arc::new(MemoryQuarantine::default()),
        EngineOptions {
            concurrency: 2,
            max_attempts: 2,
            poison_after: Duration::ZERO,
            retry_base: Duration::from_millis(5),
            backoff_base: Duration::from_millis(10),
            backoff_cap: Duration::from_millis(40),
            poll_interval: Duration::from_millis(50),
            seed: Some(3),
            ..EngineOptions::default()
        },
    );
    let status = e.status();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(async move { e.run(rx, now).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let c = status.lock().unwrap().counters.clone();
        if c.poisoned == 1 && c.delivered >= 20 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stuck behind the poison call: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    run.await.unwrap().unwrap();
}
