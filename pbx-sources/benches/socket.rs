//! The CDR socket source on loopback, through a real journal (fsync) on the target directory's
//! file system:
//! - `socket/accept_8_senders`: lines per second accepted (made durable) from 8 concurrent
//!   senders streaming CRLF lines;
//! - `socket/line_to_sink`: one line at a time, from the last byte written by the sender to
//!   the call handed to an in-memory sink by the delivery engine (woken by the journal). Besides
//!   criterion's figures, prints the p50/p99 of every sample taken.
//!
//! `cargo bench -p pbx-sources --bench socket`

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbx_core::call::{CallMapper, CallRequest};
use pbx_core::delivery::Pipeline;
use pbx_core::extensions::User;
use pbx_core::memory::MemoryCheckpointStore;
use pbx_core::{CallSink, DeliveryOutcome};
use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine};
use pbx_sources::socket::{ListenOptions, SocketSource};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const SAMPLE: &str = include_str!("../../examples/data/cdr-sample.log");

fn journal_dir(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The sample's first line (an inbound call answered by 101) with history id `n`.
fn line(n: u64) -> String {
    let first = SAMPLE.lines().next().expect("sample");
    format!(
        "{}\r\n",
        first.replacen("Call 40001", &format!("Call {n}"), 1)
    )
}

fn accept(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let per_sender = 2_000u64;
    let senders = 8u64;
    let payload: Arc<Vec<u8>> =
        Arc::new((0..per_sender).flat_map(|i| line(i).into_bytes()).collect());
    let src = rt.block_on(async {
        SocketSource::listen(ListenOptions::new(
            "127.0.0.1:0".parse().expect("addr"),
            journal_dir("accept"),
        ))
        .await
        .expect("listen")
    });
    let addr = src.local_addr().expect("bound");
    let stats = src.stats();
    let mut g = c.benchmark_group("socket");
    g.sample_size(10);
    g.throughput(Throughput::Elements(per_sender * senders));
    g.bench_function("accept_8_senders", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let target = stats.lines.load(Ordering::Relaxed) + per_sender * senders;
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..senders)
                        .map(|_| {
                            let payload = Arc::clone(&payload);
                            tokio::spawn(async move {
                                let mut s = TcpStream::connect(addr).await.expect("connect");
                                s.write_all(&payload).await.expect("send");
                                s.shutdown().await.expect("close");
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.expect("sender");
                    }
                    while stats.lines.load(Ordering::Relaxed) < target {
                        tokio::task::yield_now().await;
                    }
                    total += start.elapsed();
                }
                total
            })
        })
    });
    g.finish();
    drop(src);
}

/// Records when each call reaches it.
struct TimedSink(tokio::sync::mpsc::UnboundedSender<Instant>);

#[async_trait]
impl CallSink for TimedSink {
    async fn deliver(&self, _call: &CallRequest) -> DeliveryOutcome {
        let _ = self.0.send(Instant::now());
        DeliveryOutcome::Delivered
    }
}

fn latency(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (tx, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    let (addr, stop, engine) = rt.block_on(async {
        let src = SocketSource::listen(ListenOptions::new(
            "127.0.0.1:0".parse().expect("addr"),
            journal_dir("latency"),
        ))
        .await
        .expect("listen");
        let addr = src.local_addr().expect("bound");
        let wake = src.wake_handle();
        let pipeline = Pipeline {
            mapper: CallMapper::default()
                .with_extensions([User::new("101", "anna@example.com")].into_iter().collect()),
            ..Pipeline::default()
        };
        let mut engine = Engine::new(
            src,
            Arc::new(TimedSink(tx)),
            Arc::new(MemoryCheckpointStore::new()),
            pipeline,
            Arc::new(MemoryQuarantine::default()),
            EngineOptions::default(), // poll_interval 30 s: only the journal's wake-up drives it
        )
        .with_trigger(wake);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let engine = tokio::spawn(async move { engine.run(stopped, Utc::now).await });
        (addr, stop, engine)
    });
    let mut stream = rt.block_on(async {
        let s = TcpStream::connect(addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        s
    });
    let mut samples: Vec<Duration> = Vec::new();
    let mut n = 1_000_000u64;
    let mut g = c.benchmark_group("socket");
    g.sample_size(20);
    g.bench_function("line_to_sink", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    stream.write_all(line(n).as_bytes()).await.expect("send");
                    let sent = Instant::now();
                    let got = arrived.recv().await.expect("delivered");
                    let took = got.saturating_duration_since(sent);
                    samples.push(took);
                    total += took;
                }
                total
            })
        })
    });
    g.finish();
    samples.sort_unstable();
    if !samples.is_empty() {
        let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        println!(
            "socket/line_to_sink: {} samples, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            samples.len(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            samples[samples.len() - 1].as_secs_f64() * 1e3
        );
    }
    rt.block_on(async {
        stop.send(true).expect("stop");
        drop(stream);
        let _ = engine.await;
    });
}

criterion_group!(benches, accept, latency);
criterion_main!(benches);
