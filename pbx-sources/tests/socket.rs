//! The CDR socket source on real TCP (127.0.0.1) against test peers that behave like 3CX in
//! each mode: one connection per record, records streamed over one connection, packets split
//! anywhere, reconnects; bad peers; the journal across restarts; a child process killed
//! (SIGKILL) between receiving lines and delivering their calls.

mod common;

use common::{pipeline_for, scratch};
use pbx_sources::{CheckpointError, FileError};
use std::collections::HashSet;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use pbx_core::call::CallRequest;
use pbx_core::delivery::Disposition;
use pbx_core::memory::MemoryCallSink;
use pbx_core::{CallSink, CdrSource, Checkpoint, DeliveryOutcome, RawRecord, SourceRecord};
use pbx_sources::Error;
use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine};
use pbx_sources::file_checkpoint::FileCheckpointStore;
use pbx_sources::socket::{ConnectOptions, ListenOptions, SocketSource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SAMPLE: &str = include_str!("../../examples/data/cdr-sample.log");
const WAIT: Duration = Duration::from_secs(20);

fn localhost() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn text(r: &SourceRecord) -> String {
    match r.record.as_ref().unwrap() {
        RawRecord::Line { text, .. } => String::from_utf8_lossy(text).into_owned(),
        other => panic!("{other:?}"),
    }
}

/// Fetches from `after` until `n` lines arrived (waiting on the wake handle), or panics after
/// `WAIT`. Returns the lines and the checkpoint after the last.
async fn collect(
    src: &mut SocketSource,
    mut after: Option<Checkpoint>,
    n: usize,
) -> (Vec<String>, Option<Checkpoint>) {
    let wake = src.wake_handle();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut out = Vec::new();
    while out.len() < n {
        let batch = src.fetch(after.as_ref(), 1000).await.unwrap();
        if let Some(last) = batch.last() {
            after = Some(last.checkpoint.clone());
        }
        out.extend(batch.iter().map(text));
        if out.len() >= n {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} lines arrived: {out:?}",
            out.len()
        );
        let _ = tokio::time::timeout(Duration::from_millis(100), wake.notified()).await;
    }
    (out, after)
}

/// Writes `data` in pieces of `step` bytes, each its own TCP segment (no delay).
async fn send_split(stream: &mut TcpStream, data: &[u8], step: usize) {
    stream.set_nodelay(true).unwrap();
    for piece in data.chunks(step) {
        stream.write_all(piece).await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Reads until the peer closes (0 or an error); panics if it stays open for `WAIT`.
async fn closed_by_peer(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(_) => panic!("the connection was not closed"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_mode_streamed_and_one_record_per_connection_split_anywhere() {
    let dir = scratch("active");
    let mut src = SocketSource::listen(ListenOptions::new(localhost(), dir.join("journal")))
        .await
        .unwrap();
    let addr = src.local_addr().unwrap();
    // Three "builds" at once: two stream CRLF lines over one long connection, cut into odd
    // pieces; one opens a connection per record (the last record without a line end, then
    // closes).
    let mut peers = Vec::new();
    for (peer, step) in [(0, 7), (1, 1)] {
        peers.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let data: String = (0..20).map(|i| format!("s{peer}-{i},x,y\r\n")).collect();
            send_split(&mut s, data.as_bytes(), step).await;
            s.shutdown().await.unwrap();
        }));
    }
    peers.push(tokio::spawn(async move {
        for i in 0..10 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let line = if i == 9 {
                format!("c-{i},x,y")
            } else {
                format!("c-{i},x,y\r\n")
            };
            send_split(&mut s, line.as_bytes(), 3).await;
            s.shutdown().await.unwrap();
        }
    }));
    for p in peers {
        p.await.unwrap();
    }
    let (lines, _) = collect(&mut src, None, 50).await;
    assert_eq!(lines.len(), 50, "{lines:?}");
    let got: HashSet<&str> = lines.iter().map(String::as_str).collect();
    for peer in 0..2 {
        let mine: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with(&format!("s{peer}-")))
            .collect();
        let want: Vec<String> = (0..20).map(|i| format!("s{peer}-{i},x,y")).collect();
        assert_eq!(
            mine,
            want.iter().collect::<Vec<_>>(),
            "one connection keeps its order"
        );
    }
    for i in 0..10 {
        assert!(got.contains(format!("c-{i},x,y").as_str()), "c-{i}");
    }
    let stats = src.stats();
    assert_eq!(stats.connections.load(Ordering::Relaxed), 12);
    assert_eq!(stats.dropped.load(Ordering::Relaxed), 0);
    drop(src);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_peers_are_dropped_and_the_listener_keeps_serving() {
    let dir = scratch("bad");
    let mut options = ListenOptions::new(localhost(), dir.join("journal"));
    options.max_line = 200;
    options.idle_timeout = Duration::from_millis(300);
    let mut src = SocketSource::listen(options).await.unwrap();
    let addr = src.local_addr().unwrap();

    // An endless line: dropped once it passes the limit, without waiting for a line end.
    let mut endless = TcpStream::connect(addr).await.unwrap();
    endless.write_all(b"good-1,a\r\n").await.unwrap();
    let _ = endless.write_all(&[b'x'; 1000]).await;
    closed_by_peer(&mut endless).await;
    // Binary garbage (a TLS ClientHello): dropped.
    let mut tls = TcpStream::connect(addr).await.unwrap();
    let _ = tls
        .write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        .await;
    closed_by_peer(&mut tls).await;
    // An idle connection: closed after the idle timeout.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    closed_by_peer(&mut idle).await;
    // A good peer afterwards is served.
    let mut good = TcpStream::connect(addr).await.unwrap();
    good.write_all(b"good-2,b\r\n").await.unwrap();
    let (lines, _) = collect(&mut src, None, 2).await;
    assert_eq!(lines, ["good-1,a", "good-2,b"]);
    assert_eq!(src.stats().dropped.load(Ordering::Relaxed), 3);
    drop(src);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn peers_outside_the_allow_list_are_refused() {
    let dir = scratch("allow");
    let mut options = ListenOptions::new(localhost(), dir.join("journal"));
    options.allow_peers = vec!["10.9.9.9".parse().unwrap()];
    let src = SocketSource::listen(options).await.unwrap();
    let mut s = TcpStream::connect(src.local_addr().unwrap()).await.unwrap();
    let _ = s.write_all(b"intruder,a\r\n").await;
    closed_by_peer(&mut s).await;
    assert_eq!(src.stats().dropped.load(Ordering::Relaxed), 1);
    drop(src);

    let mut options = ListenOptions::new(localhost(), dir.join("journal"));
    options.allow_peers = vec!["127.0.0.1".parse().unwrap()];
    let mut src = SocketSource::listen(options).await.unwrap();
    let mut s = TcpStream::connect(src.local_addr().unwrap()).await.unwrap();
    s.write_all(b"pbx,a\r\n").await.unwrap();
    let (lines, _) = collect(&mut src, None, 1).await;
    assert_eq!(
        lines,
        ["pbx,a"],
        "the refused peer's line never reached the journal"
    );
    drop(src);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_mode_reconnects_with_backoff() {
    let dir = scratch("passive");
    // The PBX's CDR port: accepts us and streams two records, then goes away.
    let pbx = TcpListener::bind(localhost()).await.unwrap();
    let addr = pbx.local_addr().unwrap();
    let mut options = ConnectOptions::new(addr.to_string(), dir.join("journal"));
    options.backoff_base = Duration::from_millis(20);
    options.backoff_cap = Duration::from_millis(200);
    let mut src = SocketSource::connect(options).await.unwrap();
    let (mut s, _) = pbx.accept().await.unwrap();
    send_split(&mut s, b"p-1,a\r\np-2,", 4).await;
    send_split(&mut s, b"b\r\n", 1).await;
    drop(s);
    drop(pbx);
    let (first, cp) = collect(&mut src, None, 2).await;
    assert_eq!(first, ["p-1,a", "p-2,b"]);
    // Down for a while: connection attempts fail and back off.
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Back on the same port; it streams more, packets split anywhere.
    let pbx = TcpListener::bind(addr).await.unwrap();
    let (mut s, _) = tokio::time::timeout(WAIT, pbx.accept())
        .await
        .expect("the source reconnects")
        .unwrap();
    send_split(&mut s, b"p-3,c\r\np-4,d\r\n", 5).await;
    let (second, _) = collect(&mut src, cp, 2).await;
    assert_eq!(second, ["p-3,c", "p-4,d"]);
    assert_eq!(src.stats().connections.load(Ordering::Relaxed), 2);
    drop(src);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_survives_restarts_and_is_compacted_past_the_checkpoint() {
    let dir = scratch("journal");
    let journal = dir.join("journal");
    let segments = || {
        std::fs::read_dir(&journal)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("seg-")
            })
            .count()
    };
    let mut options = ListenOptions::new(localhost(), &journal);
    options.journal.segment_bytes = 64;
    let mut src = SocketSource::listen(options.clone()).await.unwrap();
    let mut s = TcpStream::connect(src.local_addr().unwrap()).await.unwrap();
    // One line at a time, each made durable before the next is sent (so segments roll).
    let stats = src.stats();
    for i in 0..40u64 {
        s.write_all(format!("line-{i:02},abcdef\r\n").as_bytes())
            .await
            .unwrap();
        while stats.lines.load(Ordering::Relaxed) <= i {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let (lines, _) = collect(&mut src, None, 40).await;
    assert_eq!(lines.len(), 40);
    assert!(segments() > 5, "{} segments", segments());
    // The engine delivered the first 30 and saved the checkpoint after line 30.
    let all = src.fetch(None, 100).await.unwrap();
    let cp30 = all[29].checkpoint.clone();
    drop(s);
    drop(src);

    // Restart: the journal is read from the checkpoint, and segments before it are deleted.
    let mut src = SocketSource::listen(options.clone()).await.unwrap();
    let before = segments();
    let rest = src.fetch(Some(&cp30), 100).await.unwrap();
    let texts: Vec<String> = rest.iter().map(text).collect();
    let want: Vec<String> = (30..40).map(|i| format!("line-{i:02},abcdef")).collect();
    assert_eq!(texts, want);
    assert!(segments() < before, "compacted: {before} → {}", segments());
    let RawRecord::Line { number, .. } = rest[0].record.as_ref().unwrap() else {
        panic!()
    };
    assert_eq!(*number, 31, "line numbers go on across restarts");
    // Lines received after the restart continue the journal.
    let mut s = TcpStream::connect(src.local_addr().unwrap()).await.unwrap();
    s.write_all(b"line-40,abcdef\r\n").await.unwrap();
    let (more, _) = collect(&mut src, Some(rest[9].checkpoint.clone()), 1).await;
    assert_eq!(more, ["line-40,abcdef"]);
    // Someone else's checkpoint is an error, not a silent restart.
    let e = src
        .fetch(Some(&Checkpoint::new("7:10:2")), 10)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Checkpoint(CheckpointError::BadCheckpoint { .. })),
        "{e}"
    );
    drop(src);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The pbxCallIds the sample's first `n` lines map to, in order.
fn expected_ids(n: usize) -> Vec<String> {
    let p = pipeline_for(101..=112);
    SAMPLE
        .lines()
        .take(n)
        .enumerate()
        .filter_map(|(i, l)| {
            let rec = SourceRecord {
                checkpoint: Checkpoint::new(i.to_string()),
                record: Ok(RawRecord::Line {
                    number: i as u64 + 1,
                    text: l.as_bytes().to_vec(),
                }),
            };
            match p.prepare(&rec).disposition {
                Disposition::Deliver(call) => Some(call.pbx_call_id),
                _ => None,
            }
        })
        .collect()
}

fn engine_options() -> EngineOptions {
    EngineOptions {
        batch_size: 1,
        concurrency: 1,
        // Only the socket's wake-up drives the engine in these tests.
        poll_interval: Duration::from_secs(3600),
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(50),
        ..EngineOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_delivers_as_lines_arrive() {
    let dir = scratch("engine");
    let src = SocketSource::listen(ListenOptions::new(localhost(), dir.join("journal")))
        .await
        .unwrap();
    let addr = src.local_addr().unwrap();
    let wake = src.wake_handle();
    let sink = Arc::new(MemoryCallSink::new());
    let mut options = engine_options();
    options.batch_size = 100;
    let mut engine = Engine::new(
        src,
        Arc::clone(&sink),
        Arc::new(FileCheckpointStore::new(dir.join("checkpoint.json"))),
        pipeline_for(101..=112),
        Arc::new(MemoryQuarantine::default()),
        options,
    )
    .with_trigger(wake);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { engine.run(stopped, Utc::now).await });
    let want = expected_ids(20);
    let mut s = TcpStream::connect(addr).await.unwrap();
    for line in SAMPLE.lines().take(20) {
        s.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while sink.delivered().len() < want.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            sink.delivered().len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    let got: Vec<String> = sink
        .delivered()
        .into_iter()
        .map(|c| c.pbx_call_id)
        .collect();
    assert_eq!(got, want);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Delivers the first `ok` calls, then hangs forever (a call API that stopped answering),
/// printing what it does for the parent process.
struct HangingSink {
    ok: usize,
    seen: std::sync::Mutex<usize>,
}

#[async_trait]
impl CallSink for HangingSink {
    async fn deliver(&self, call: &CallRequest) -> DeliveryOutcome {
        let n = {
            let mut seen = self.seen.lock().unwrap();
            *seen += 1;
            *seen
        };
        if n <= self.ok {
            println!("delivered {}", call.pbx_call_id);
            return DeliveryOutcome::Delivered;
        }
        println!("hanging {}", call.pbx_call_id);
        std::future::pending().await
    }
}

const CHILD_ENV: &str = "PBX_SOCKET_KILL_CHILD_DIR";

/// The child side of `sigkill_between_receive_and_delivery_loses_nothing`, which starts it
/// with `--ignored --exact kill_test_child` and the journal directory in `CHILD_ENV`.
#[test]
#[ignore = "the child process of sigkill_between_receive_and_delivery_loses_nothing; started by it"]
fn kill_test_child() {
    let dir = std::env::var(CHILD_ENV).unwrap_or_else(|_| {
        panic!("{CHILD_ENV} is not set: this test is the child of sigkill_between_receive_and_delivery_loses_nothing")
    });
    let dir = PathBuf::from(dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let src = SocketSource::listen(ListenOptions::new(localhost(), dir.join("journal")))
            .await
            .unwrap();
        println!("port {}", src.local_addr().unwrap().port());
        let stats = src.stats();
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                let n = stats.lines.load(Ordering::Relaxed);
                if n != last {
                    println!("journaled {n}");
                    last = n;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        let wake = src.wake_handle();
        let mut engine = Engine::new(
            src,
            Arc::new(HangingSink {
                ok: 3,
                seen: std::sync::Mutex::new(0),
            }),
            Arc::new(FileCheckpointStore::new(dir.join("checkpoint.json"))),
            pipeline_for(101..=112),
            Arc::new(MemoryQuarantine::default()),
            engine_options(),
        )
        .with_trigger(wake);
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let _ = engine.run(stopped, Utc::now).await;
    });
}

/// The first output line of the child's (already seen or still to come) that starts with
/// `prefix` and passes `pred`. libtest may print its own text before ours on a line, so lines
/// are kept from our markers on.
fn wait_for(
    lines: &std::sync::mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    prefix: &str,
    pred: impl Fn(&str) -> bool,
) -> String {
    if let Some(l) = seen.iter().find(|l| l.starts_with(prefix) && pred(l)) {
        return l.clone();
    }
    loop {
        let line = lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("the child never printed {prefix:?}; it printed {seen:?}"));
        let line = ["port ", "journaled ", "delivered ", "hanging "]
            .iter()
            .filter_map(|m| line.find(m))
            .min()
            .map_or(line.clone(), |i| line[i..].to_owned());
        seen.push(line.clone());
        if line.starts_with(prefix) && pred(&line) {
            return line;
        }
    }
}

/// Kills the child if the test fails before it does.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_receive_and_delivery_loses_nothing() {
    let dir = scratch("kill");
    let mut child = KillOnDrop(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "kill_test_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (tx, lines) = std::sync::mpsc::channel();
    let out = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let port: u16 = wait_for(&lines, &mut seen, "port ", |_| true)[5..]
        .parse()
        .unwrap();
    let n = 12;
    let want = expected_ids(n);
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    for line in SAMPLE.lines().take(n) {
        s.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
    }
    // Every line received (journaled), three calls delivered, the fourth in flight: kill.
    let all = format!("journaled {n}");
    wait_for(&lines, &mut seen, "journaled ", |l| l == all);
    let hanging = wait_for(&lines, &mut seen, "hanging ", |_| true);
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    drop(s);
    let delivered_before: Vec<String> = seen
        .iter()
        .filter_map(|l| l.strip_prefix("delivered ").map(str::to_owned))
        .collect();
    assert_eq!(delivered_before, want[..3]);
    assert_eq!(hanging, format!("hanging {}", want[3]));

    // Restart on the same journal and checkpoint: the rest is delivered, nothing twice.
    let src = SocketSource::listen(ListenOptions::new(localhost(), dir.join("journal")))
        .await
        .unwrap();
    let sink = Arc::new(MemoryCallSink::new());
    let mut engine = Engine::new(
        src,
        Arc::clone(&sink),
        Arc::new(FileCheckpointStore::new(dir.join("checkpoint.json"))),
        pipeline_for(101..=112),
        Arc::new(MemoryQuarantine::default()),
        engine_options(),
    );
    let (_stop, rx) = tokio::sync::watch::channel(false);
    engine.drain(rx, Utc::now, |_| {}).await.unwrap();
    let after: Vec<String> = sink
        .delivered()
        .into_iter()
        .map(|c| c.pbx_call_id)
        .collect();
    // Nothing lost. Calls acknowledged just before the kill may be sent again (the checkpoint
    // is saved in the background after acknowledgement; the API answers those 409).
    let resent = after.len().saturating_sub(want.len() - 3);
    assert!(resent <= 3, "{after:?}");
    assert_eq!(after[..resent], want[3 - resent..3], "{after:?}");
    assert_eq!(after[resent..], want[3..]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn text_sources_are_built_from_the_configuration() {
    use pbx_core::config::{Secret, SourceConfig};
    use pbx_sources::cdr_text::CdrTextSource;
    let dir = scratch("config");
    let listen = SourceConfig::SocketListen {
        listen: "127.0.0.1:0".into(),
        allow_peers: vec!["127.0.0.1".parse().unwrap()],
        journal: dir.join("journal").to_string_lossy().into_owned(),
    };
    let mut src = CdrTextSource::from_config(&listen).await.unwrap();
    let CdrTextSource::Socket(socket) = &src else {
        panic!("{src:?}")
    };
    let mut s = TcpStream::connect(socket.local_addr().unwrap())
        .await
        .unwrap();
    let wake = src.wake_handle(Duration::from_millis(50));
    s.write_all(b"cfg,a\r\n").await.unwrap();
    tokio::time::timeout(WAIT, wake.notified()).await.unwrap();
    let got = src.fetch(None, 10).await.unwrap();
    assert_eq!(got.iter().map(text).collect::<Vec<_>>(), ["cfg,a"]);
    let dir_cfg = SourceConfig::Directory {
        path: dir.to_string_lossy().into_owned(),
        processed_dir: None,
    };
    assert!(matches!(
        CdrTextSource::from_config(&dir_cfg).await.unwrap(),
        CdrTextSource::Directory(_)
    ));
    let pg = SourceConfig::PostgresCallLog {
        url: Secret::new("postgres://x".to_owned()),
    };
    let e = CdrTextSource::from_config(&pg).await.unwrap_err();
    assert!(matches!(e, Error::WrongSourceKind { .. }), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_journal_directory_serves_one_source_at_a_time() {
    let dir = scratch("one-journal");
    let first = SocketSource::listen(ListenOptions::new(localhost(), dir.join("journal")))
        .await
        .unwrap();
    // A second source on the same journal is refused (after a short wait for a shutdown).
    let second = SocketSource::listen(ListenOptions::new(localhost(), dir.join("journal"))).await;
    match second {
        Err(Error::File(FileError::Io { source, .. })) => {
            assert_eq!(source.kind(), std::io::ErrorKind::WouldBlock);
            assert!(source.to_string().contains("journal is locked"), "{source}");
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("two sources opened one journal"),
    }
    // Once the first is dropped, a new one gets it.
    drop(first);
    SocketSource::listen(ListenOptions::new(localhost(), dir.join("journal")))
        .await
        .unwrap();
}
