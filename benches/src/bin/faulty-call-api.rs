//! `faulty-call-api [ADDR]`: a call-logger API stand-in that fails like a flaky production
//! API, for the delivery fault campaign (`benches/faults.sh`). It stores each `pbxCallId` once
//! (201, then 409) and, per request, drawn from a seeded generator:
//! - `FAULT_503` % answered `503` before storing;
//! - `FAULT_RESET` % reset (TCP RST) right after the request was read, before storing;
//! - `FAULT_SLOW` % answered after `SLOW_MS` (default 3000) — past a 2 s client timeout —
//!   having stored the call;
//! - the rest answered after `LATENCY_MS` (default 2).
//!
//! `GET /count` answers the number of calls stored. Prints `listening on ADDR` when ready.
//! Plain HTTP/1.1 with keep-alive over tokio, so a reset is a real RST (`SO_LINGER` 0).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The fault mix, in percent, and the waits.
#[derive(Clone, Copy)]
struct Faults {
    p503: u64,
    reset: u64,
    slow: u64,
    slow_ms: u64,
    latency_ms: u64,
}

struct Api {
    faults: Faults,
    stored: Mutex<HashSet<String>>,
    requests: AtomicU64,
    seed: u64,
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// SplitMix64 of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let api = Arc::new(Api {
        faults: Faults {
            p503: env("FAULT_503", 0),
            reset: env("FAULT_RESET", 0),
            slow: env("FAULT_SLOW", 0),
            slow_ms: env("SLOW_MS", 3000),
            latency_ms: env("LATENCY_MS", 2),
        },
        stored: Mutex::default(),
        requests: AtomicU64::new(0),
        seed: env("SEED", 7),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let api = Arc::clone(&api);
            tokio::spawn(async move {
                let _ = serve(stream, &api).await;
            });
        }
    })
}

/// One connection: requests one after another (keep-alive) until the client closes it or a
/// reset is drawn.
async fn serve(mut stream: TcpStream, api: &Api) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let Some((head_end, body_len)) = read_head(&mut stream, &mut buf).await? else {
            return Ok(());
        };
        while buf.len() < head_end + body_len {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let request: Vec<u8> = buf.drain(..head_end + body_len).collect();
        let head = String::from_utf8_lossy(&request[..head_end]);
        let body = String::from_utf8_lossy(&request[head_end..]);
        let reply = if head.starts_with("GET /count") {
            let n = api.stored.lock().unwrap_or_else(|e| e.into_inner()).len();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{n}",
                n.to_string().len()
            )
        } else {
            let draw = mix(api.seed ^ api.requests.fetch_add(1, Ordering::Relaxed)) % 100;
            let f = api.faults;
            if draw < f.reset {
                stream.set_zero_linger()?;
                return Ok(()); // dropped with SO_LINGER 0: an RST
            }
            if draw < f.reset + f.p503 {
                tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy".to_owned()
            } else {
                let wait = if draw < f.reset + f.p503 + f.slow {
                    f.slow_ms
                } else {
                    f.latency_ms
                };
                let id = body
                    .split("\"pbxCallId\":\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_default()
                    .to_owned();
                let new = api
                    .stored
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                if new {
                    "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".to_owned()
                } else {
                    "HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\n\r\n".to_owned()
                }
            }
        };
        stream.write_all(reply.as_bytes()).await?;
    }
}

/// Reads until the end of a request head; returns its length and the body's
/// (`Content-Length`), or `None` when the client closed the connection.
async fn read_head(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(usize, usize)>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let body = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            return Ok(Some((end + 4, body)));
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
