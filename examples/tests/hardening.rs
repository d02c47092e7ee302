//! Issue 28 ("hardening, round three") as a user meets it through `pbx-sideloader`: files
//! that are not ours, two processes on one checkpoint, a torn quarantine, log injection.

mod common;
use common::scratch;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pbx-sideloader");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data");

/// A configuration over the sample CDR file; `base_url` the sink, `more` extra YAML.
fn config(dir: &Path, base_url: &str, checkpoint: &str, quarantine: &str, more: &str) -> PathBuf {
    let path = dir.join("config.yml");
    let yaml = format!(
        "pbx: {{timezone: America/Anchorage}}\n\
         source: {{kind: file, path: '{DATA}/cdr-sample.log'}}\n\
         call_api: {{base_url: '{base_url}', token: test-token, max_attempts: 1}}\n\
         extensions: {{map: {{'101': a@example.com, '104': d@example.com}}, default_email: 'pbx@example.com'}}\n\
         checkpoint: {{kind: file, path: '{checkpoint}'}}\n\
         quarantine: {{path: '{quarantine}'}}\n\
         http: {{listen: '127.0.0.1:0'}}\n\
         {more}"
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

fn run(cfg: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(cfg)
        .args(args)
        .output()
        .expect("pbx-sideloader runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Point 3: the call file, the checkpoint and the quarantine must be three files.
#[test]
fn a_sink_checkpoint_or_quarantine_sharing_one_file_is_refused() {
    let dir = scratch("same-file");
    let d = dir.display();
    let calls = format!("{d}/calls.jsonl");
    let cases = [
        (
            format!("file:{calls}"),
            calls.clone(),
            format!("{d}/q.jsonl"),
        ),
        (
            format!("file:{calls}"),
            format!("{d}/checkpoint.json"),
            // The same file by another spelling.
            format!("{d}/./calls.jsonl"),
        ),
        (
            format!("file:{calls}"),
            format!("{d}/checkpoint.json"),
            format!("{d}/checkpoint.json"),
        ),
    ];
    for (sink, checkpoint, quarantine) in cases {
        std::fs::write(&checkpoint, "{\n  \"cdr\": \"1:2:3\"\n}").unwrap_or(());
        let before = std::fs::read(&checkpoint).ok();
        let cfg = config(&dir, &sink, &checkpoint, &quarantine, "");
        let (code, _, err) = run(&cfg, &["--once"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("is the same file as"), "{err}");
        assert_eq!(std::fs::read(&checkpoint).ok(), before, "untouched");
        let _ = std::fs::remove_file(&checkpoint);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Point 6: a second process on the same checkpoint file is refused with a clear message.
#[test]
fn a_second_process_on_one_checkpoint_is_refused() {
    let dir = scratch("two-processes");
    let d = dir.display();
    let cfg = config(
        &dir,
        &format!("file:{d}/calls.jsonl"),
        &format!("{d}/checkpoint.json"),
        &format!("{d}/quarantine.jsonl"),
        "",
    );
    let mut service = Command::new(BIN)
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(dir.join("checkpoint.json")).is_ok_and(|t| t.contains("cdr")) {
        assert!(Instant::now() < deadline, "the service never saved");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, _, err) = run(&cfg, &["--once"]);
    service.kill().unwrap();
    service.wait().unwrap();
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("checkpoint file") && err.contains("is in use by another process"),
        "{err}"
    );
    // Once the service is gone, a run goes ahead (the lock went with the process).
    let (code, out, err) = run(&cfg, &["--once"]);
    assert_eq!(code, 0, "{err}");
    // The service may have been killed before its last save: the run sends what was not
    // behind the checkpoint again, and the sink keeps each call once.
    assert!(out.contains(" delivered, "), "{out}\n{err}");
    let calls = std::fs::read_to_string(dir.join("calls.jsonl")).unwrap();
    let ids: Vec<&str> = calls
        .lines()
        .map(|l| {
            l.split("\"pbxCallId\":\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    let unique: std::collections::BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a call written twice:\n{calls}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Point 4: `--replay` skips and reports a line it cannot read (a torn or glued entry)
/// instead of refusing the whole file, and keeps it.
#[test]
fn replay_skips_and_reports_an_unreadable_quarantine_line() {
    let dir = scratch("replay-torn");
    let d = dir.display();
    let sample = std::fs::read_to_string(format!("{DATA}/cdr-sample.log")).unwrap();
    let mut lines: Vec<&str> = sample.lines().take(3).collect();
    lines.insert(1, "Call 9,broken");
    let source = dir.join("cdr.log");
    std::fs::write(&source, lines.join("\r\n") + "\r\n").unwrap();
    let cfg = config(
        &dir,
        &format!("file:{d}/calls.jsonl"),
        &format!("{d}/checkpoint.json"),
        &format!("{d}/quarantine.jsonl"),
        "",
    );
    let yaml = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(&format!("{DATA}/cdr-sample.log"), source.to_str().unwrap());
    std::fs::write(&cfg, yaml).unwrap();
    let (code, out, err) = run(&cfg, &["--once"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 quarantined"), "{out}");
    // A torn append with the next entry glued to it, as a crash before this fix left it.
    let q = dir.join("quarantine.jsonl");
    let entry = std::fs::read_to_string(&q).unwrap();
    let glued = format!("{}{entry}", &entry[..entry.len() / 2]);
    std::fs::write(&q, format!("{entry}{glued}")).unwrap();
    let (code, out, err) = run(&cfg, &["--replay"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("replayed 1 quarantined records") && out.contains("1 unreadable line(s)"),
        "{out}"
    );
    assert!(out.contains("(line 2)"), "{out}");
    assert!(err.contains("line=2"), "the skipped line is logged: {err}");
    let kept = std::fs::read_to_string(&q).unwrap();
    assert!(
        kept.contains(glued.trim_end()),
        "the unreadable line is kept: {kept}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A call API that answers every request 503 with `body`.
fn hostile_api(body: &'static [u8]) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut request = vec![0; length];
                    if reader.read_exact(&mut request).is_err() {
                        return;
                    }
                    let head = format!(
                        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    let stream = reader.get_mut();
                    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Point 7: an API answer with ANSI escapes, CR/LF and NUL is escaped in the text log (and in
/// the closing error line): no fake log line, no terminal control.
#[test]
fn control_characters_from_the_api_are_escaped_in_the_text_log() {
    let dir = scratch("log-injection");
    let d = dir.display();
    let api = hostile_api(
        b"\x1b[2J\x1b[31mdown\r\n2026-12-07T00:00:00.000000Z  INFO pbx_sources: FAKE all 999 calls delivered\x00",
    );
    let cfg = config(
        &dir,
        &api,
        &format!("{d}/checkpoint.json"),
        &format!("{d}/quarantine.jsonl"),
        "",
    );
    let (code, _, err) = run(&cfg, &["--once"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("FAKE all 999"), "the body is logged: {err}");
    for bad in ['\x1b', '\r', '\0'] {
        assert!(!err.contains(bad), "{bad:?} in the log: {err:?}");
    }
    assert!(
        err.lines().all(|l| !l.contains("INFO pbx_sources: FAKE")
            || !l.starts_with("2026-12-07T00:00:00.000000Z")),
        "a fake log line: {err}"
    );
    assert!(
        err.contains("\\u{1b}[31m") && err.contains("\\r\\n"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
