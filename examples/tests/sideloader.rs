//! `pbx-sideloader` run as a user runs it: twice over the sample (the second run delivers
//! nothing), and with a bad configuration (every problem, exit 2, nothing started).

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_pbx-sideloader");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data");

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("pbx-sideloader-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(dir: &Path, source: &str) -> PathBuf {
    let path = dir.join("config.yml");
    let yaml = format!(
        "pbx: {{timezone: America/Anchorage}}\n\
         source: {{kind: file, path: '{source}'}}\n\
         call_api: {{base_url: 'file:{out}/calls.jsonl'}}\n\
         extensions: {{map: {{'101': a@example.com, '104': d@example.com}}, default_email: 'pbx@example.com'}}\n\
         checkpoint: {{kind: file, path: '{out}/checkpoint.json'}}\n\
         quarantine: {{path: '{out}/quarantine.jsonl'}}\n",
        out = dir.display()
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("pbx-sideloader runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn two_runs_deliver_each_call_once() {
    let dir = scratch("twice");
    let cfg = config(&dir, &format!("{DATA}/cdr-sample.log"));
    let (code, out, err) = run(&["--config", cfg.to_str().unwrap(), "--once"]);
    assert_eq!(code, 0, "{err}");
    // With a default email every inbound/outbound call with an owner is delivered.
    assert!(
        out.contains("50 delivered") && out.contains("internal 9, no_owner 6"),
        "{out}"
    );
    assert!(out.contains("quarantined"), "{out}");
    let calls = std::fs::read_to_string(dir.join("calls.jsonl")).unwrap();
    assert_eq!(calls.lines().count(), 50);
    let (code, out, err) = run(&["--config", cfg.to_str().unwrap(), "--once"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("pbx-sideloader: 0 delivered"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.join("calls.jsonl")).unwrap(),
        calls
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_lines_are_quarantined_with_their_reason() {
    let dir = scratch("quarantine");
    let sample = std::fs::read_to_string(format!("{DATA}/cdr-sample.log")).unwrap();
    let mut lines: Vec<&str> = sample.lines().take(3).collect();
    lines.insert(1, "Call 9,broken");
    let source = dir.join("cdr.log");
    std::fs::write(&source, lines.join("\r\n") + "\r\n").unwrap();
    let cfg = config(&dir, source.to_str().unwrap());
    let (code, out, err) = run(&["--config", cfg.to_str().unwrap(), "--once"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("3 delivered") && out.contains("1 quarantined"),
        "{out}"
    );
    let q = std::fs::read_to_string(dir.join("quarantine.jsonl")).unwrap();
    assert!(
        q.contains("\"location\":\"line 2\"") && q.contains("Call 9,broken"),
        "{q}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_bad_configuration_lists_every_problem_and_exits_2() {
    let dir = scratch("badconfig");
    let path = dir.join("bad.yml");
    std::fs::write(
        &path,
        "source: {kind: ftp}\ncall_api: {base_url: 'ftp://x', tokn: y}\nlogging: {level: loud}\n",
    )
    .unwrap();
    let (code, out, err) = run(&["--config", path.to_str().unwrap(), "--once"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    for expected in [
        "source.kind",
        "call_api.base_url",
        "call_api.tokn",
        "logging.level",
        "4 problems",
    ] {
        assert!(err.contains(expected), "missing {expected}: {err}");
    }
    let (code, _, err) = run(&["--config", "/nonexistent/pbx.yml"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent/pbx.yml"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
