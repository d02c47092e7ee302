//! The bounded service-port server (`pbx_sources::http_server`) against hostile clients, all on
//! loopback: many idle and slow connections (bounded in count and in time) while `/health`
//! keeps answering, oversized requests, a half-sent request at shutdown, a request in progress
//! at shutdown, and the bearer-token guard.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use pbx_core::config::Secret;
use pbx_sources::http_server::{ServerOptions, require_bearer_token, serve_bounded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Server {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    triggered: Arc<AtomicUsize>,
}

fn options() -> ServerOptions {
    let mut o = ServerOptions::default();
    o.header_read_timeout = Duration::from_secs(1);
    o.idle_timeout = Duration::from_secs(2);
    o.max_connections = 32;
    o.reserved_fds = 0;
    o.max_body_bytes = 1024;
    o.shutdown_grace = Duration::from_millis(500);
    o
}

async fn start(options: ServerOptions, token: Option<&str>) -> Server {
    let triggered = Arc::new(AtomicUsize::new(0));
    let t = Arc::clone(&triggered);
    let triggers = require_bearer_token(
        Router::new().route(
            "/trigger/poll",
            post(move || {
                let t = Arc::clone(&t);
                async move {
                    t.fetch_add(1, Ordering::SeqCst);
                    "triggered"
                }
            }),
        ),
        token.map(Secret::new),
    );
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow done"
            }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(600)).await;
                "never"
            }),
        )
        .merge(triggers);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_bounded(listener, app, options, async move {
        let _ = rx.await;
    }));
    Server {
        addr,
        stop: Some(tx),
        task,
        triggered,
    }
}

/// One request on a fresh connection; the status code and body, or an error.
async fn request(addr: std::net::SocketAddr, raw: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(raw.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {text:?}")))?;
    Ok((code, text))
}

async fn health(addr: std::net::SocketAddr) -> std::io::Result<(u16, String)> {
    tokio::time::timeout(
        Duration::from_secs(2),
        request(
            addr,
            "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ),
    )
    .await
    .map_err(|_| std::io::Error::other("/health did not answer within 2 s"))?
}

/// Whether the server closed `s` (EOF or reset) within `wait`.
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut b = [0u8; 256];
    loop {
        match tokio::time::timeout(wait, s.read(&mut b)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_floods_are_bounded_and_health_keeps_answering() {
    let server = start(options(), None).await;
    let addr = server.addr;
    // 200 idle connections and 40 that send one byte of a request head every 100 ms.
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let slow: Vec<JoinHandle<Duration>> = (0..40)
        .map(|_| {
            tokio::spawn(async move {
                let t0 = Instant::now();
                let mut s = TcpStream::connect(addr).await.unwrap();
                for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ".iter().cycle() {
                    if s.write_all(&[*b]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if t0.elapsed() > Duration::from_secs(20) {
                        break;
                    }
                }
                t0.elapsed()
            })
        })
        .collect();
    // Once the flood holds its connections, /health answers every time, on fresh connections.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..10 {
        let (code, body) = health(addr).await.expect("/health during the flood");
        assert_eq!(code, 200, "{body}");
        assert!(body.ends_with("ok"), "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // At most the cap stays open: the others were closed by the server.
    let mut open = 0;
    for s in &mut idle {
        if !closed_within(s, Duration::from_millis(5)).await {
            open += 1;
        }
    }
    assert!(
        open <= 32,
        "{open} idle connections still open with a cap of 32"
    );
    // The slow ones are cut off by the header timeout (1 s) or evicted; none lasts 20 s.
    for handle in slow {
        let lasted = handle.await.unwrap();
        assert!(
            lasted < Duration::from_secs(5),
            "a slow client held on for {lasted:?}"
        );
    }
    // Within the idle timeout (2 s) every idle connection is closed.
    for s in &mut idle {
        assert!(
            closed_within(s, Duration::from_secs(4)).await,
            "an idle connection was never closed"
        );
    }
    let (code, _) = health(addr).await.unwrap();
    assert_eq!(code, 200);
    let mut server = server;
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(3), server.task)
        .await
        .expect("stopped")
        .unwrap();
}

#[tokio::test]
async fn oversized_requests_are_refused() {
    let server = start(options(), None).await;
    let big_body = format!(
        "POST /trigger/poll HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n{}",
        "x".repeat(2048)
    );
    let (code, _) = request(server.addr, &big_body).await.unwrap();
    assert_eq!(code, 413);
    assert_eq!(server.triggered.load(Ordering::SeqCst), 0);
    let big_head = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "y".repeat(64 * 1024)
    );
    match request(server.addr, &big_head).await {
        Ok((code, _)) => assert_eq!(code, 431),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{e}"
        ),
    }
}

#[tokio::test]
async fn a_half_sent_request_does_not_delay_the_stop() {
    let mut options = options();
    options.header_read_timeout = Duration::from_secs(60);
    options.idle_timeout = Duration::from_secs(60);
    let mut server = start(options, None).await;
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    // A keep-alive connection that served one request and waits for the next.
    let mut keep = TcpStream::connect(server.addr).await.unwrap();
    keep.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut b = [0u8; 512];
    let n = keep.read(&mut b).await.unwrap();
    assert!(String::from_utf8_lossy(&b[..n]).starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), server.task)
        .await
        .expect("the server stopped within 20 s")
        .unwrap();
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "stopping took {took:?}");
    for s in [&mut half, &mut idle, &mut keep] {
        assert!(closed_within(s, Duration::from_millis(500)).await);
    }
}

#[tokio::test]
async fn requests_in_progress_finish_within_the_grace_and_no_longer() {
    let mut server = start(options(), None).await;
    let addr = server.addr;
    let slow = tokio::spawn(request(
        addr,
        "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    let hang = tokio::spawn(request(
        addr,
        "GET /hang HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("stopped")
        .unwrap();
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "stopping took {took:?} with a 500 ms grace"
    );
    let (code, body) = slow.await.unwrap().unwrap();
    assert_eq!(code, 200);
    assert!(body.ends_with("slow done"), "{body}");
    // The hanging one was cut at the grace: no answer.
    assert!(hang.await.unwrap().is_err());
    // The port is closed.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn trigger_needs_the_bearer_token_when_one_is_set() {
    let server = start(options(), Some("t0ken-s3cret")).await;
    let post = |auth: &str| {
        format!(
            "POST /trigger/poll HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
    };
    let (code, body) = request(server.addr, &post("")).await.unwrap();
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("WWW-Authenticate: Bearer") || body.contains("www-authenticate: Bearer"));
    assert!(body.contains("http.token"), "{body}");
    assert!(!body.contains("t0ken-s3cret"));
    let (code, _) = request(server.addr, &post("Authorization: Bearer wrong\r\n"))
        .await
        .unwrap();
    assert_eq!(code, 401);
    let (code, _) = request(server.addr, &post("Authorization: Basic dDB rZW4=\r\n"))
        .await
        .unwrap();
    assert_eq!(code, 401);
    assert_eq!(server.triggered.load(Ordering::SeqCst), 0);
    let (code, body) = request(server.addr, &post("Authorization: Bearer t0ken-s3cret\r\n"))
        .await
        .unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(server.triggered.load(Ordering::SeqCst), 1);
    // Other routes need no token.
    assert_eq!(health(server.addr).await.unwrap().0, 200);
    // Without a token configured the trigger is open.
    let open = start(options(), None).await;
    assert_eq!(request(open.addr, &post("")).await.unwrap().0, 200);
}
