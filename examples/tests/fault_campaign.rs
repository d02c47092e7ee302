//! A fault campaign: the sideloader delivers a few thousand calls from a CDR file to an
//! in-process call API that fails at random (503 before storing, 500 after storing — the
//! acknowledgement lost — and slow answers past the timeout), while the sideloader process is
//! SIGKILLed at random moments a dozen times and restarted. In the end every call was stored
//! exactly once, none is missing, and the checkpoint is at the end of the file.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use pbx_core::call::{CallMapper, Mapped, MappingOptions};
use pbx_core::cdr::CdrParser;
use pbx_core::extensions::{ExtensionMap, OwnerFallback};
use pbx_testkit::Rng;
use pbx_testkit::call_api::{CallApi, Faults, serve_call_api};

const BIN: &str = env!("CARGO_BIN_EXE_pbx-sideloader");
const SAMPLE: &str = include_str!("../data/cdr-sample.log");

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
    let dir = pbx_testkit::scratch("fault");
    let total = 2_000;
    let text = cdr_file(total);
    let source: PathBuf = dir.join("cdr.log");
    std::fs::write(&source, &text).unwrap();
    let expected = expected_ids(&text);
    assert!(expected.len() > 1_000);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Fails often: 8 % 503 before storing, 3 % stored with the answer lost (500), 1 % answered
    // after the 1 s client timeout.
    let api = CallApi::shared(Faults::OFTEN);
    let addr = serve_call_api(&runtime, &api);

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
    let state = &*guard;
    let stored: HashSet<String> = state.stored.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&stored).take(5).collect();
    let extra: Vec<_> = stored.difference(&expected).take(5).collect();
    assert!(missing.is_empty(), "missing calls: {missing:?}");
    assert!(extra.is_empty(), "unexpected calls: {extra:?}");
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
        state.duplicates()
    );
    drop(guard);
    std::fs::remove_dir_all(&dir).unwrap();
}
