//! `pbx-sideloader --once` when delivery cannot go on: the API down (exit 1 with a one-line
//! reason, the checkpoint at the last acknowledged call) and SIGTERM (graceful: calls in
//! flight finish, the acknowledged prefix is saved, a second run delivers the rest once).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{BIN, CallApi, SharedCallApi, scratch, serve_call_api};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data");

fn config(dir: &Path, base_url: &str, call_api_more: &str) -> PathBuf {
    let path = dir.join("config.yml");
    std::fs::write(
        &path,
        format!(
            "pbx: {{timezone: America/Anchorage}}\n\
             source: {{kind: file, path: '{DATA}/cdr-sample.log'}}\n\
             call_api: {{base_url: '{base_url}', timeout_secs: 2{call_api_more}}}\n\
             extensions: {{default_email: 'pbx@example.com'}}\n\
             checkpoint: {{kind: file, path: '{out}/checkpoint.json'}}\n\
             quarantine: {{path: '{out}/quarantine.jsonl'}}\n",
            out = dir.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn once_gives_up_with_exit_1_and_one_line_when_the_api_is_down() {
    let dir = scratch("down");
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = config(
        &dir,
        &format!("http://127.0.0.1:{port}"),
        ", max_attempts: 2",
    );
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "--once"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(took < Duration::from_secs(30), "{took:?}");
    let reason: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("pbx-sideloader: "))
        .collect();
    assert_eq!(reason.len(), 1, "{err}");
    assert!(
        reason[0].contains("unavailable") && reason[0].contains("connection failed"),
        "{err}"
    );
    // Nothing was acknowledged: nothing quarantined, no checkpoint past a call.
    assert!(!dir.join("quarantine.jsonl").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sigterm_during_once_saves_the_acknowledged_prefix_and_a_second_run_finishes() {
    let dir = scratch("sigterm");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let api: SharedCallApi = Arc::new(Mutex::new(CallApi {
        delay: Duration::from_millis(150),
        ..CallApi::default()
    }));
    let addr = serve_call_api(&runtime, &api);
    let cfg = config(&dir, &format!("http://{addr}"), ", concurrency: 2");
    let child = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // 50 calls, two at a time, 150 ms each: stop after a few are stored.
    let deadline = Instant::now() + Duration::from_secs(20);
    while api.lock().unwrap().stored.len() < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");
    // Stopped before the source was drained: exit 1 with the reason, not killed (143).
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("stopped by a signal"), "{err}");
    let stored = api.lock().unwrap().stored.len();
    assert!(stored < 50, "{stored}: the signal came too late");
    let saved = std::fs::read_to_string(dir.join("checkpoint.json")).expect("checkpoint saved");
    assert!(saved.contains("\"cdr\""), "{saved}");

    // The second run delivers the rest; no call is stored twice (a re-sent one answers 409).
    api.lock().unwrap().delay = Duration::ZERO;
    let out = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api = api.lock().unwrap();
    assert_eq!(api.stored.len(), 50);
    let resent: u32 = api.stored.values().sum();
    assert_eq!(resent, 0, "calls sent again after the stop");
    std::fs::remove_dir_all(dir).unwrap();
}
