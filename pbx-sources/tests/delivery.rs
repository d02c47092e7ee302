//! The streaming engine against an in-process call API (the real HTTP client, one attempt
//! per request, the engine retrying): throughput under faults against the same API without
//! them, a poison call set aside and replayed, an outage waited out, `drain` giving up when
//! the API stays down, credentials refused, and a slow checkpoint store.

mod common;

use pbx_sources::DeliveryError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use common::{Reply, Request, Server};
use pbx_core::call::CallRequest;
use pbx_core::delivery::Pipeline;
use pbx_core::extensions::{ExtensionMap, OwnerFallback};
use pbx_core::memory::{MemoryCheckpointStore, MemorySource};
use pbx_core::{CallSink, Checkpoint, CheckpointStore, DeliveryOutcome, RawRecord};
use pbx_sources::Error;
use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig, RetryPolicy};
use pbx_sources::delivery::{
    Engine, EngineOptions, FileQuarantine, MemoryQuarantine, Quarantine, Status, replay,
};
use tokio::sync::watch;

const SAMPLE: &str = include_str!("../../examples/data/cdr-sample.log");

/// `n` CDR lines: the sample's lines over and over, each with its own ids.
fn cdr_lines(n: usize) -> Vec<RawRecord> {
    let lines: Vec<&str> = SAMPLE.lines().collect();
    (0..n)
        .map(|i| {
            let line = lines[i % lines.len()];
            let (_, rest) = line.split_once(',').unwrap();
            let (_, rest) = rest.split_once(',').unwrap();
            RawRecord::Line {
                number: i as u64 + 1,
                text: format!("Call {},{:016X}_{i},{rest}", 100_000 + i, i).into_bytes(),
            }
        })
        .collect()
}

fn pipeline() -> Pipeline {
    let mut p = Pipeline::default();
    p.mapper.set_extensions(
        ExtensionMap::new().with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into())),
    );
    p
}

/// How many of `records` are calls to deliver (the rest are skipped, e.g. internal).
fn calls_in(records: &[RawRecord]) -> usize {
    let p = pipeline();
    records
        .iter()
        .filter(|r| {
            let rec = pbx_core::SourceRecord {
                checkpoint: Checkpoint::new("x"),
                record: Ok((*r).clone()),
            };
            matches!(
                p.prepare(&rec).disposition,
                pbx_core::delivery::Disposition::Deliver(_)
            )
        })
        .count()
}

/// The real client, one attempt per request (the engine retries), `timeout` per request.
fn client(url: &str, timeout: Duration) -> CallLoggerClient {
    let mut cfg = CallLoggerConfig::new(url);
    cfg.timeout = timeout;
    cfg.retry = RetryPolicy::none();
    CallLoggerClient::new(cfg).unwrap()
}

/// A call API that stores each `pbxCallId` once (409 after), with `fate` deciding each
/// request's answer before it is stored: `None` stores it.
#[derive(Clone, Default)]
struct Api {
    stored: Arc<Mutex<HashMap<String, u32>>>,
    posts: Arc<AtomicU64>,
}

impl Api {
    fn answer(&self, req: &Request, latency: Duration, fate: Option<Reply>) -> Reply {
        self.posts.fetch_add(1, Ordering::SeqCst);
        if let Some(reply) = fate {
            return reply;
        }
        let id = req.json()["pbxCallId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut stored = self.stored.lock().unwrap();
        let n = stored.entry(id).or_default();
        *n += 1;
        if *n > 1 {
            return Reply::status(409).after(latency);
        }
        Reply::status(201).after(latency)
    }

    fn stored_once(&self) -> usize {
        self.stored.lock().unwrap().len()
    }

    /// Calls sent again after the API had stored them (answered 409; never stored twice).
    fn sent_again(&self) -> usize {
        self.stored
            .lock()
            .unwrap()
            .values()
            .filter(|n| **n > 1)
            .count()
    }
}

fn options(concurrency: usize) -> EngineOptions {
    EngineOptions {
        batch_size: 500,
        concurrency,
        poll_interval: Duration::from_millis(50),
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(400),
        seed: Some(7),
        ..EngineOptions::default()
    }
}

async fn drain<K: CallSink + 'static, C: CheckpointStore>(
    engine: &mut Engine<MemorySource, K, C>,
) -> Result<(), Error> {
    let (_stop, rx) = watch::channel(false);
    engine.drain(rx, Utc::now, |_| {}).await
}

fn status<S, K, C>(engine: &Engine<S, K, C>) -> Status
where
    S: pbx_core::CdrSource,
    K: CallSink + 'static,
    C: CheckpointStore,
{
    engine.status().lock().unwrap().clone()
}

/// SplitMix64 of `x`: a deterministic fate per request.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Delivers `records` into a fresh API with `faults`, returns the time taken and the API.
async fn timed_run(records: &[RawRecord], faults: bool) -> (Duration, Api, Status) {
    const LATENCY: Duration = Duration::from_millis(20);
    const TIMEOUT: Duration = Duration::from_millis(300);
    let api = Api::default();
    let a = api.clone();
    let n = Arc::new(AtomicU64::new(0));
    let server = Server::start(move |req| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        let fate = if faults {
            // ≈ 13 %: 8 % 503, 3 % connection reset, 2 % slower than the client's timeout
            // (stored, but the answer never arrives).
            match mix(i) % 100 {
                0..8 => Some(Reply::status(503).after(LATENCY)),
                8..11 => Some(Reply::Cut(Vec::new())),
                11..13 => {
                    let _ = a.answer(req, LATENCY, None);
                    Some(Reply::status(201).after(TIMEOUT + Duration::from_millis(200)))
                }
                _ => None,
            }
        } else {
            None
        };
        a.answer(req, LATENCY, fate)
    })
    .await;
    let store = Arc::new(MemoryCheckpointStore::new());
    let mut engine = Engine::new(
        MemorySource::new(records.to_vec()),
        Arc::new(client(&server.url(), TIMEOUT)),
        Arc::clone(&store),
        pipeline(),
        Arc::new(MemoryQuarantine::default()),
        options(16),
    );
    let started = Instant::now();
    drain(&mut engine).await.unwrap();
    let took = started.elapsed();
    let s = status(&engine);
    assert_eq!(
        store.load("cdr").await.unwrap(),
        Some(Checkpoint::new(records.len().to_string())),
        "the checkpoint reaches the end"
    );
    (took, api, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_cost_at_most_twice_the_clean_time() {
    let records = cdr_lines(6_600);
    let calls = calls_in(&records);
    assert!(calls >= 5_000, "{calls}");

    let (clean, api, s) = timed_run(&records, false).await;
    assert_eq!(api.stored_once(), calls);
    assert_eq!(s.counters.delivered as usize, calls);

    let (faulty, api, s) = timed_run(&records, true).await;
    println!(
        "{calls} calls: clean {:.2} s, with faults {:.2} s",
        clean.as_secs_f64(),
        faulty.as_secs_f64()
    );
    assert_eq!(api.stored_once(), calls, "every call stored");
    // Only calls whose answer was lost (a reset or a timeout after the store) are sent again,
    // and the API answers those 409.
    assert!(
        api.sent_again() <= calls / 20,
        "{} sent again",
        api.sent_again()
    );
    assert_eq!(s.counters.quarantined, 0);
    assert!(s.counters.retries > 0, "the faults happened");
    let failed = s.counters.failures.clone();
    println!(
        "{calls} calls: clean {:.2} s, with faults {:.2} s (ratio {:.2}); failures {failed:?}, {} POSTs",
        clean.as_secs_f64(),
        faulty.as_secs_f64(),
        faulty.as_secs_f64() / clean.as_secs_f64(),
        api.posts.load(Ordering::SeqCst)
    );
    assert!(
        faulty <= clean * 2,
        "with faults {faulty:?}, clean {clean:?}: more than twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_call_is_set_aside_and_replayed_once_the_api_accepts_it() {
    let dir = pbx_testkit::scratch("poison");
    let records = cdr_lines(300);
    let calls = calls_in(&records);
    // The 11th record's call trips a bug on the server: always 500.
    let poison = "000000000000000A_10";
    let fixed = Arc::new(AtomicBool::new(false));
    let api = Api::default();
    let (a, f) = (api.clone(), Arc::clone(&fixed));
    let server = Server::start(move |req| {
        let id = req.json()["pbxCallId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let fate = (id.contains(poison) && !f.load(Ordering::SeqCst))
            .then(|| Reply::text(500, "NullPointerException"));
        a.answer(req, Duration::from_millis(2), fate)
    })
    .await;
    let quarantine = Arc::new(FileQuarantine::new(dir.join("quarantine.jsonl")));
    let store = Arc::new(MemoryCheckpointStore::new());
    let sink = Arc::new(client(&server.url(), Duration::from_secs(2)));
    let mut engine = Engine::new(
        MemorySource::new(records.clone()),
        Arc::clone(&sink),
        Arc::clone(&store),
        pipeline(),
        Arc::clone(&quarantine) as Arc<dyn Quarantine>,
        EngineOptions {
            max_attempts: 3,
            poison_after: Duration::from_millis(400),
            retry_base: Duration::from_millis(20),
            ..options(4)
        },
    );
    let started = Instant::now();
    drain(&mut engine).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "not before poison_after"
    );
    let s = status(&engine);
    assert_eq!(s.counters.poisoned, 1);
    assert_eq!(s.counters.quarantined, 1);
    assert_eq!(api.stored_once(), calls - 1, "every other call delivered");
    assert_eq!(
        store.load("cdr").await.unwrap(),
        Some(Checkpoint::new("300")),
        "the checkpoint moved past it"
    );
    let entries = quarantine.read_all().unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].record.contains(poison), "{:?}", entries[0]);
    assert!(
        entries[0].reason.contains("poison"),
        "{}",
        entries[0].reason
    );
    assert!(
        entries[0].reason.matches("NullPointerException").count() >= 3,
        "every answer kept: {}",
        entries[0].reason
    );
    let posts_for_poison = server
        .requests()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(poison))
        .count();
    assert!(posts_for_poison >= 3, "{posts_for_poison}");

    // The server is fixed: the replay delivers it, once.
    fixed.store(true, Ordering::SeqCst);
    let report = replay(&quarantine, &pipeline(), &*sink, Utc::now())
        .await
        .unwrap();
    assert_eq!((report.delivered, report.kept), (1, 0), "{report:?}");
    assert_eq!(api.stored_once(), calls);
    assert_eq!(api.sent_again(), 0);
    assert!(quarantine.read_all().unwrap().is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_longer_than_the_poison_window_quarantines_nothing() {
    let records = cdr_lines(400);
    let calls = calls_in(&records);
    let down = Arc::new(AtomicBool::new(true));
    let api = Api::default();
    let (a, d) = (api.clone(), Arc::clone(&down));
    let server = Server::start(move |req| {
        let fate = d
            .load(Ordering::SeqCst)
            .then(|| Reply::text(503, "maintenance"));
        a.answer(req, Duration::from_millis(1), fate)
    })
    .await;
    let quarantine = Arc::new(MemoryQuarantine::default());
    let store = Arc::new(MemoryCheckpointStore::new());
    let mut engine = Engine::new(
        MemorySource::new(records),
        Arc::new(client(&server.url(), Duration::from_secs(2))),
        Arc::clone(&store),
        pipeline(),
        Arc::clone(&quarantine) as Arc<dyn Quarantine>,
        EngineOptions {
            max_attempts: 2,
            poison_after: Duration::from_millis(200),
            retry_base: Duration::from_millis(10),
            ..options(8)
        },
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let status_handle = engine.status();
    let task = tokio::spawn(async move {
        let r = engine.run(stop_rx, Utc::now).await;
        (engine, r)
    });
    // Down for 1.5 s: seven times the poison window.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let posts_while_down = api.posts.load(Ordering::SeqCst);
    {
        let s = status_handle.lock().unwrap().clone();
        assert_eq!(s.counters.quarantined, 0);
        assert!(
            s.last_error.as_deref().unwrap_or_default().contains("503"),
            "{s:?}"
        );
    }
    down.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(20);
    while api.stored_once() < calls && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    let (engine, result) = task.await.unwrap();
    result.unwrap();
    let s = status(&engine);
    assert_eq!(s.counters.quarantined, 0, "nothing quarantined");
    assert!(quarantine.entries().is_empty());
    assert_eq!(api.stored_once(), calls, "everything delivered");
    assert_eq!(api.sent_again(), 0, "once");
    assert_eq!(
        store.load("cdr").await.unwrap(),
        Some(Checkpoint::new("400"))
    );
    // The engine backed off as a whole: far fewer requests than calls × attempts.
    println!("{posts_while_down} POSTs during the 1.5 s outage");
    assert!(posts_while_down < 60, "{posts_while_down} POSTs while down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_gives_up_when_the_api_stays_down_and_keeps_the_acknowledged_prefix() {
    let records = cdr_lines(60);
    // The first 20 requests go through, then the API is down for good.
    let n = Arc::new(AtomicU64::new(0));
    let api = Api::default();
    let a = api.clone();
    let server = Server::start(move |req| {
        let fate = (n.fetch_add(1, Ordering::SeqCst) >= 20).then(|| Reply::status(503));
        a.answer(req, Duration::ZERO, fate)
    })
    .await;
    let store = Arc::new(MemoryCheckpointStore::new());
    let mut engine = Engine::new(
        MemorySource::new(records),
        Arc::new(client(&server.url(), Duration::from_secs(2))),
        Arc::clone(&store),
        pipeline(),
        Arc::new(MemoryQuarantine::default()),
        EngineOptions {
            max_attempts: 3,
            retry_base: Duration::from_millis(10),
            ..options(1)
        },
    );
    let started = Instant::now();
    let err = drain(&mut engine).await.unwrap_err();
    assert!(
        matches!(err, Error::Delivery(DeliveryError::Unavailable { .. })),
        "{err}"
    );
    assert!(err.is_transient());
    assert!(err.to_string().contains("503"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let s = status(&engine);
    assert_eq!(s.counters.quarantined, 0);
    // Saved at the last acknowledged call: the one before the first unacknowledged record.
    let saved = store.load("cdr").await.unwrap().expect("a checkpoint");
    let n: usize = saved.as_str().parse().unwrap();
    assert!((15..60).contains(&n), "{saved}");
    assert_eq!(s.checkpoint.as_deref(), Some(saved.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_stop_every_call_not_yet_in_flight() {
    let records = cdr_lines(500);
    let server = Server::start(|_| Reply::text(401, "bad token")).await;
    let mut engine = Engine::new(
        MemorySource::new(records),
        Arc::new(client(&server.url(), Duration::from_secs(2))),
        MemoryCheckpointStore::new(),
        pipeline(),
        Arc::new(MemoryQuarantine::default()),
        options(4),
    );
    let err = drain(&mut engine).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Delivery(DeliveryError::AuthFailed { status: 401 })
        ),
        "{err}"
    );
    assert!(!err.is_transient());
    let posts = server.count("POST", "/api/calls/from-pbx");
    assert!(posts <= 4, "{posts} POSTs with a refused token");
    assert!(status(&engine).stopped.is_some());
}

/// A checkpoint store whose saves take 50 ms (a slow disk or a far database).
struct SlowStore {
    inner: MemoryCheckpointStore,
    saves: AtomicU64,
}

#[async_trait]
impl CheckpointStore for SlowStore {
    type Error = std::convert::Infallible;

    async fn load(&self, key: &str) -> Result<Option<Checkpoint>, Self::Error> {
        self.inner.load(key).await
    }
    async fn save(&self, key: &str, checkpoint: &Checkpoint) -> Result<(), Self::Error> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.inner.save(key, checkpoint).await
    }
}

/// A sink that takes 1 ms per call.
struct SteadySink(AtomicU64);

#[async_trait]
impl CallSink for SteadySink {
    async fn deliver(&self, _: &CallRequest) -> DeliveryOutcome {
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.0.fetch_add(1, Ordering::SeqCst);
        DeliveryOutcome::Delivered
    }
}

/// Drains `records` into a [`SteadySink`] with `store`; the time taken.
async fn steady_run<C: CheckpointStore>(records: &[RawRecord], store: C, calls: u64) -> Duration {
    let sink = Arc::new(SteadySink(AtomicU64::new(0)));
    let mut engine = Engine::new(
        MemorySource::new(records.to_vec()),
        Arc::clone(&sink),
        store,
        pipeline(),
        Arc::new(MemoryQuarantine::default()),
        options(16),
    );
    let started = Instant::now();
    drain(&mut engine).await.unwrap();
    let took = started.elapsed();
    assert_eq!(sink.0.load(Ordering::SeqCst), calls);
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_checkpoint_store_does_not_halve_throughput() {
    let records = cdr_lines(6_000);
    let calls = calls_in(&records) as u64;
    let fast = steady_run(&records, MemoryCheckpointStore::new(), calls).await;
    let slow_store = Arc::new(SlowStore {
        inner: MemoryCheckpointStore::new(),
        saves: AtomicU64::new(0),
    });
    let slow = steady_run(&records, Arc::clone(&slow_store), calls).await;
    let saves = slow_store.saves.load(Ordering::SeqCst);
    println!(
        "{calls} calls: fast store {:.2} s, store sleeping 50 ms per save {:.2} s ({saves} saves)",
        fast.as_secs_f64(),
        slow.as_secs_f64()
    );
    assert_eq!(
        slow_store.inner.load("cdr").await.unwrap(),
        Some(Checkpoint::new("6000"))
    );
    assert!(saves >= 2, "{saves}");
    assert!(slow <= fast * 2, "slow store {slow:?} vs fast {fast:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_file_sink_that_cannot_be_written_says_so_and_drain_gives_up() {
    let dir = std::env::temp_dir().join(format!("pbx-badsink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sink =
        pbx_sources::file_sink::JsonLinesSink::open(dir.join("out").join("calls.jsonl")).unwrap();
    // The folder goes away under the running sink (a read-only or unmounted disk alike).
    std::fs::remove_dir_all(&dir).unwrap();
    let (logs, _guard) = common::Logs::capture();
    let mut engine = Engine::new(
        MemorySource::new(cdr_lines(40)),
        Arc::new(sink),
        MemoryCheckpointStore::new(),
        pipeline(),
        Arc::new(MemoryQuarantine::default()),
        EngineOptions {
            max_attempts: 3,
            retry_base: Duration::from_millis(5),
            backoff_base: Duration::from_millis(5),
            ..options(4)
        },
    );
    let err = drain(&mut engine).await.unwrap_err();
    assert!(
        matches!(err, Error::Delivery(DeliveryError::Unavailable { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("cannot write"), "{err}");
    let s = status(&engine);
    assert!(
        s.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("cannot write"),
        "{s:?}"
    );
    assert!(s.counters.failures["io"] >= 4, "{:?}", s.counters.failures);
    assert_eq!(s.counters.quarantined, 0);
    let text = logs.text();
    let warnings = text.matches("delivery failed").count();
    // Logged at warn with the reason, at most once per 5 s (the rest counted as held back).
    assert!(
        text.contains("WARN") && text.contains("cannot write"),
        "{text}"
    );
    assert!((1..=2).contains(&warnings), "{warnings} warnings:\n{text}");
    assert!(text.contains("looks down"), "{text}");
}

/// `/status` counts what the API acknowledged as it happens: with the first call failing
/// (its retries held back by a long `Retry-After`), the calls behind it show as delivered
/// while the checkpoint cannot move past the first one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_acknowledged_calls_while_the_head_call_waits() {
    let records = cdr_lines(40);
    let calls = calls_in(&records);
    let head = "0000000000000000_0";
    let api = Api::default();
    let a = api.clone();
    let server = Server::start(move |req| {
        let id = req.json()["pbxCallId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let fate = id
            .contains(head)
            .then(|| Reply::text(503, "busy").header("Retry-After", "3600"));
        a.answer(req, Duration::from_millis(1), fate)
    })
    .await;
    let store = Arc::new(MemoryCheckpointStore::new());
    let mut engine = Engine::new(
        MemorySource::new(records),
        Arc::new(client(&server.url(), Duration::from_secs(2))),
        Arc::clone(&store),
        pipeline(),
        Arc::new(MemoryQuarantine::default()),
        options(4),
    );
    let status = engine.status();
    let (stop, rx) = watch::channel(false);
    let run = tokio::spawn(async move {
        engine.run(rx, Utc::now).await.unwrap();
        engine
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = status.lock().unwrap().clone();
        if s.counters.delivered as usize == calls - 1 {
            assert_eq!(
                s.checkpoint, None,
                "the checkpoint waits for the first call"
            );
            assert!(s.counters.failures["http_5xx"] >= 1, "{:?}", s.counters);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never counted live: {:?}",
            s.counters
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    run.await.unwrap();
    assert_eq!(store.load("cdr").await.unwrap(), None);
}
