//! `Retry-After` from the call API, however large, neither panics the engine nor is waited
//! out: it is cut to `EngineOptions::max_retry_after` (`call_api.max_retry_after_secs`) and
//! counts as an attempt toward `max_attempts`. (Its own test binary: the log-capturing tests
//! of `delivery.rs` must not share the process with a test that logs warnings at once.)

mod common;

use pbx_sources::DeliveryError;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{Reply, Server};
use pbx_core::RawRecord;
use pbx_core::delivery::Pipeline;
use pbx_core::extensions::{ExtensionMap, OwnerFallback};
use pbx_core::memory::{MemoryCheckpointStore, MemorySource};
use pbx_sources::Error;
use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig, RetryPolicy};
use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine};
use tokio::sync::watch;

const SAMPLE: &str = include_str!("../../examples/data/cdr-sample.log");

/// The sample's first `n` lines, each with its own ids.
fn cdr_lines(n: usize) -> Vec<RawRecord> {
    SAMPLE
        .lines()
        .take(n)
        .enumerate()
        .map(|(i, line)| RawRecord::Line {
            number: i as u64 + 1,
            text: line.as_bytes().to_vec(),
        })
        .collect()
}

/// A `Retry-After` too large for the clock, one of 28 hours, or a date in year 9999 neither
/// panics the engine nor is waited out: it is cut to `max_retry_after`, each one counts as an
/// attempt, and `drain` gives up once the oldest call used `max_attempts` — promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_retry_after_is_capped_and_counts_as_an_attempt() {
    for value in [
        "18446744073709551615",
        "99999",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let posts = Arc::new(AtomicU64::new(0));
        let p = Arc::clone(&posts);
        let v = value.to_owned();
        let server = Server::start(move |_| {
            p.fetch_add(1, Ordering::SeqCst);
            Reply::status(429).header("Retry-After", &v)
        })
        .await;
        let mut pipeline = Pipeline::default();
        pipeline.mapper.set_extensions(
            ExtensionMap::new()
                .with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into())),
        );
        let mut http = CallLoggerConfig::new(server.url());
        http.retry = RetryPolicy::none();
        let mut engine = Engine::new(
            MemorySource::new(cdr_lines(3)),
            Arc::new(CallLoggerClient::new(http).unwrap()),
            MemoryCheckpointStore::new(),
            pipeline,
            Arc::new(MemoryQuarantine::default()),
            EngineOptions {
                max_attempts: 3,
                max_retry_after: Duration::from_millis(100),
                retry_base: Duration::from_millis(10),
                backoff_base: Duration::from_millis(10),
                concurrency: 1,
                seed: Some(7),
                ..EngineOptions::default()
            },
        );
        let started = Instant::now();
        let (_stop, rx) = watch::channel(false);
        let result =
            tokio::time::timeout(Duration::from_secs(30), engine.drain(rx, Utc::now, |_| {}))
                .await
                .unwrap_or_else(|_| panic!("Retry-After: {value} was waited out"));
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Delivery(DeliveryError::Unavailable { attempts: 3, .. })
            ),
            "{value}: {err}"
        );
        assert!(err.to_string().contains("429"), "{err}");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(10), "{value}: {took:?}");
        let posts = posts.load(Ordering::SeqCst);
        assert!((3..=20).contains(&posts), "{value}: {posts} POSTs");
        assert_eq!(engine.status().lock().unwrap().counters.quarantined, 0);
    }
}
