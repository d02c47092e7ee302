//! A fault campaign: the sideloader delivers a few thousand calls from a CDR file to an
//! in-process call API that fails at random (503 before storing, 500 after storing — the
//! acknowledgement lost — and slow answers past the timeout), while the sideloader process is
//! SIGKILLed at random moments a dozen times and restarted. In the end every call was stored
//! exactly once, none is missing, and the checkpoint is at the end of the file.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use pbx_core::call::{CallMapper, Mapped, MappingOptions};
use pbx_core::cdr::CdrParser;
use pbx_core::extensions::{ExtensionMap, OwnerFallback};

const BIN: &str = env!("CARGO_BIN_EXE_pbx-sideloader");
const SAMPLE: &str = include_str!("../data/cdr-sample.log");

/// A deterministic generator (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default)]
struct Api {
    stored: HashMap<String, u32>,
    posts: u64,
    second_acceptances: u64,
}

type Shared = Arc<Mutex<(Api, Rng)>>;

async fn from_pbx(State(api): State<Shared>, body: String) -> StatusCode {
    let call: serde_json::Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(_) => return StatusCode::BAD_REQUEST,
    };
    let id = call["pbxCallId"].as_str().unwrap_or_default().to_owned();
    let (fate, delay) = {
        let mut guard = api.lock().unwrap();
        let (state, rng) = &mut *guard;
        state.posts += 1;
        (rng.below(100), rng.below(100))
    };
    if delay < 1 {
        // Slower than the client's timeout.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    if fate < 8 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let mut guard = api.lock().unwrap();
    let state = &mut guard.0;
    if let Some(n) = state.stored.get_mut(&id) {
        *n += 1;
        return StatusCode::CONFLICT;
    }
    state.stored.insert(id, 1);
    if fate < 11 {
        // Stored, but the answer is lost.
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::CREATED
}

/// `n` CDR lines: the sample's lines over and over, each with its own ids.
fn cdr_file(n: usize) -> String {
    let lines: Vec<&str> = SAMPLE.lines().collect();
    let mut out = String::new();
    for i in 0..n {
        let line = lines[i % lines.len()];
        let (_, rest) = line.split_once(',').unwrap();
        let (_, rest) = rest.split_once(',').unwrap();
        out.push_str(&format!("Call {},{:016X}_{i},{rest}\r\n", 100_000 + i, i));
    }
    out
}

fn expected_ids(text: &str) -> HashSet<String> {
    let parser = CdrParser::default();
    let mapper = CallMapper::default()
        .with_extensions(
            ExtensionMap::new()
                .with_fallback(OwnerFallback::DefaultEmail("pbx@example.com".into())),
        )
        .with_options(MappingOptions {
            timezone: chrono_tz::America::Anchorage,
            ..MappingOptions::default()
        });
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            match mapper
                .map(&parser.parse_line(i as u64 + 1, l).unwrap())
                .unwrap()
            {
                Mapped::Call(c) => Some(c.pbx_call_id),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn every_call_exactly_once_through_random_failures_and_kills() {
    let dir = std::env::temp_dir().join(format!("pbx-fault-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let total = 2_000;
    let text = cdr_file(total);
    let source: PathBuf = dir.join("cdr.log");
    std::fs::write(&source, &text).unwrap();
    let expected = expected_ids(&text);
    assert!(expected.len() > 1_000);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let api: Shared = Arc::new(Mutex::new((Api::default(), Rng(42))));
    let app = Router::new()
        .route("/api/calls/from-pbx", post(from_pbx))
        .with_state(Arc::clone(&api));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });

    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "pbx: {{timezone: America/Anchorage}}\n\
             source: {{kind: file, path: '{}'}}\n\
             call_api: {{base_url: 'http://{addr}', timeout_secs: 1, concurrency: 8, max_attempts: 3}}\n\
             extensions: {{default_email: 'pbx@example.com'}}\n\
             polling: {{interval_secs: 1, batch_size: 200}}\n\
             checkpoint: {{kind: file, path: '{}/checkpoint.json'}}\n\
             quarantine: {{path: '{}/quarantine.jsonl'}}\n\
             http: {{listen: '127.0.0.1:0'}}\n\
             logging: {{level: error}}\n",
            source.display(),
            dir.display(),
            dir.display()
        ),
    )
    .unwrap();

    // A dozen runs killed at random moments.
    let mut rng = Rng(7);
    for _ in 0..12 {
        let mut child = Command::new(BIN)
            .args(["--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100 + rng.below(400)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    // Then runs to the end.
    let mut finished = false;
    for _ in 0..20 {
        let status = Command::new(BIN)
            .args(["--config", config.to_str().unwrap(), "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        if status.success() {
            finished = true;
            break;
        }
    }
    assert!(finished, "the sideloader never drained the file");

    let guard = api.lock().unwrap();
    let state = &guard.0;
    let stored: HashSet<String> = state.stored.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&stored).take(5).collect();
    let extra: Vec<_> = stored.difference(&expected).take(5).collect();
    assert!(missing.is_empty(), "missing calls: {missing:?}");
    assert!(extra.is_empty(), "unexpected calls: {extra:?}");
    assert_eq!(state.second_acceptances, 0);
    let checkpoint = std::fs::read_to_string(dir.join("checkpoint.json")).unwrap();
    // The file source's checkpoint is `inode:offset:line:fingerprint`: at the last line.
    let saved: serde_json::Value = serde_json::from_str(&checkpoint).unwrap();
    let line = saved["cdr"]
        .as_str()
        .and_then(|c| c.split(':').nth(2))
        .and_then(|l| l.parse::<usize>().ok());
    assert_eq!(line, Some(total), "{checkpoint}");
    eprintln!(
        "fault campaign: {} calls stored once each from {} POSTs ({} answered 409)",
        stored.len(),
        state.posts,
        state
            .stored
            .values()
            .map(|n| u64::from(*n - 1))
            .sum::<u64>()
    );
    drop(guard);
    std::fs::remove_dir_all(&dir).unwrap();
}
