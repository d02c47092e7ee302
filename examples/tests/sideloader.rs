//! `pbx-sideloader` run as a user runs it: twice over the sample (the second run delivers
//! nothing), and with a bad configuration (every problem, exit 2, nothing started).

mod common;
use common::scratch;

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_pbx-sideloader");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data");

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
        out.contains("50 delivered") && out.contains("internal 9, missed_unrouted 6"),
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

    // A service config with one bad value: exit 2 at once, nothing written, nothing served.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let good = std::fs::read_to_string(config(&dir, &format!("{DATA}/cdr-sample.log"))).unwrap();
    let path = dir.join("service.yml");
    std::fs::write(
        &path,
        format!(
            "{good}http: {{listen: '127.0.0.1:{port}'}}\npolling: {{interval_secs: 0}}\n\
             groups: {{enabled: true}}\n"
        ),
    )
    .unwrap();
    let (code, out, err) = run(&["--config", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    for expected in [
        "polling.interval_secs",
        "business_hours",
        "xapi",
        "3 problems",
    ] {
        assert!(err.contains(expected), "missing {expected}: {err}");
    }
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["bad.yml", "config.yml", "service.yml"]);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The calls in a JSON-lines sink, sorted (calls complete in any order).
fn call_ids(path: &Path) -> Vec<(String, String)> {
    let mut ids: Vec<(String, String)> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["pbxCallId"].as_str().unwrap().to_owned(),
                v["timestamp"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn backfill_delivers_the_calls_of_its_days_resumes_and_leaves_the_live_checkpoint() {
    let sample = format!("{DATA}/cdr-sample.log");
    // Everything, to know which calls the range holds (timestamps are Anchorage time).
    let all_dir = scratch("backfill-all");
    let cfg = config(&all_dir, &sample);
    let (code, _, err) = run(&["--config", cfg.to_str().unwrap(), "--once"]);
    assert_eq!(code, 0, "{err}");
    let expected: Vec<(String, String)> = call_ids(&all_dir.join("calls.jsonl"))
        .into_iter()
        .filter(|(_, t)| ("2026-11-05".."2026-11-10").contains(&&t[..10]))
        .collect();
    assert!(expected.len() > 5 && expected.len() < 45, "{expected:?}");

    let dir = scratch("backfill");
    let cfg = config(&dir, &sample);
    let cfg = cfg.to_str().unwrap();
    let (code, out, err) = run(&[
        "backfill",
        "--config",
        cfg,
        "--from",
        "2026-11-05",
        "--to",
        "2026-11-09",
    ]);
    assert_eq!(code, 0, "{err}");
    // Days in pbx.timezone (AKST, UTC−9), both included.
    assert!(
        out.starts_with(
            "pbx-sideloader: backfill 2026-11-05T09:00:00+00:00 to 2026-11-10T09:00:00+00:00: "
        ),
        "{out}"
    );
    // The file source hands on only the lines whose start is in the range (19 of the 65):
    // nothing is left for the engine to skip as `outside_range`.
    for part in [
        &format!("{} delivered, 0 already delivered", expected.len()),
        "5 skipped (internal 4, missed_unrouted 1), 0 quarantined",
        "19 records",
        "calls/s",
    ] {
        assert!(out.contains(part), "missing {part}: {out}");
    }
    assert!(!out.contains("unfinished"), "{out}");
    // stderr is not a terminal: no progress bar.
    assert!(!err.contains("records:"), "{err}");
    assert_eq!(call_ids(&dir.join("calls.jsonl")), expected);

    // Again: its own checkpoint is at the end, nothing is sent twice.
    let (code, out, err) = run(&[
        "--config",
        cfg,
        "backfill",
        "--from",
        "2026-11-05",
        "--to",
        "2026-11-09",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": 0 delivered"), "{out}");
    assert!(out.contains("0 records"), "{out}");
    // The live checkpoint did not move: the service's run goes through every call (the
    // JSON-lines sink, like the API, knows the backfilled ones).
    let (code, out, err) = run(&["--config", cfg, "--once"]);
    assert_eq!(code, 0, "{err}");
    let counts = format!(
        "pbx-sideloader: {} delivered, {} already delivered",
        50 - expected.len(),
        expected.len()
    );
    assert!(out.starts_with(&counts), "{out}");

    // Instants (RFC 3339) give the same range; --to is excluded.
    let exact = scratch("backfill-exact");
    let cfg = config(&exact, &sample);
    let (code, out, err) = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "--json-logs",
        "backfill",
        "--from",
        "2026-11-05T00:00:00-09:00",
        "--to",
        "2026-11-10T00:00:00-09:00",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("{} delivered", expected.len())),
        "{out}"
    );
    assert_eq!(call_ids(&exact.join("calls.jsonl")), expected);
    for d in [all_dir, dir, exact] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn a_bad_backfill_range_exits_2_and_starts_nothing() {
    let dir = scratch("backfill-bad");
    let cfg = config(&dir, &format!("{DATA}/cdr-sample.log"));
    let cfg = cfg.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["backfill", "--from", "2026-13-01", "--to", "2026-11-09"],
            "--from \"2026-13-01\" is not a date",
        ),
        (
            vec!["backfill", "--from", "2026-11-09", "--to", "yesterday"],
            "--to \"yesterday\" is not a date",
        ),
        (
            vec!["backfill", "--from", "2026-11-09", "--to", "2026-11-05"],
            "--to \"2026-11-05\" ends the range at 2026-11-06T09:00:00+00:00, not after its start 2026-11-09T09:00:00+00:00 (from \"2026-11-09\")",
        ),
        (vec!["backfill", "--from", "2026-11-09"], "--to"),
        (
            vec![
                "--once",
                "backfill",
                "--from",
                "2026-11-05",
                "--to",
                "2026-11-09",
            ],
            "cannot be used",
        ),
    ] {
        let mut all = vec!["--config", cfg];
        all.extend(args);
        let (code, out, err) = run(&all);
        assert_eq!(code, 2, "{all:?}: {out}{err}");
        assert!(err.contains(expected), "{all:?}: {err}");
        assert!(out.is_empty(), "{out}");
    }
    assert!(!dir.join("calls.jsonl").exists());
    assert!(!dir.join("checkpoint.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// A configuration like [`config`]'s with another `source` section.
fn config_with_source(dir: &Path, source: &str) -> PathBuf {
    let path = config(dir, "unused");
    let yaml = std::fs::read_to_string(&path)
        .unwrap()
        .replace("source: {kind: file, path: 'unused'}", source);
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn a_directory_of_one_file_per_call_is_delivered_once() {
    let dir = scratch("directory");
    let cdrs = dir.join("cdr");
    std::fs::create_dir_all(&cdrs).unwrap();
    let sample = std::fs::read_to_string(format!("{DATA}/cdr-sample.log")).unwrap();
    for (i, line) in sample.lines().enumerate() {
        std::fs::write(cdrs.join(format!("cdr-{i:05}.log")), format!("{line}\r\n")).unwrap();
    }
    // A file is taken once it has been quiet for 300 ms.
    std::thread::sleep(std::time::Duration::from_millis(600));
    let cfg = config_with_source(
        &dir,
        &format!("source: {{kind: directory, path: '{}'}}", cdrs.display()),
    );
    let (code, out, err) = run(&["--config", cfg.to_str().unwrap(), "--once"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("pbx-sideloader: 50 delivered"), "{out}");
    let (code, out, err) = run(&["--config", cfg.to_str().unwrap(), "--once"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("pbx-sideloader: 0 delivered"), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_service_delivers_what_3cx_sends_to_its_socket() {
    use std::io::Write;
    let dir = scratch("socket");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = config_with_source(
        &dir,
        &format!(
            "source: {{kind: socket_listen, listen: '127.0.0.1:{port}', journal: '{}/journal'}}\nhttp: {{listen: '127.0.0.1:0'}}",
            dir.display()
        ),
    );
    let mut service = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut pbx = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "no listener: {e}");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    };
    let sample = std::fs::read_to_string(format!("{DATA}/cdr-sample.log")).unwrap();
    for line in sample.lines() {
        write!(pbx, "{line}\r\n").unwrap();
    }
    drop(pbx);
    let calls = dir.join("calls.jsonl");
    let delivered = loop {
        let n = std::fs::read_to_string(&calls)
            .map(|c| c.lines().count())
            .unwrap_or(0);
        if n >= 50 || std::time::Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    service.kill().unwrap();
    service.wait().unwrap();
    assert_eq!(delivered, 50);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_endless_config_file_is_refused_at_its_limit() {
    let started = std::time::Instant::now();
    let (code, _, err) = run(&["--config", "/dev/zero", "--once"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read /dev/zero: it is over the limit of 1048576 bytes"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let dir = scratch("config-dir");
    let (code, _, err) = run(&["--config", dir.to_str().unwrap(), "--once"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("cannot read {}", dir.display())),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_checkpoint_of_the_wrong_shape_stops_delivery_instead_of_starting_over() {
    let dir = scratch("checkpoint-shape");
    let cfg = config(&dir, &format!("{DATA}/cdr-sample.log"));
    for bad in ["{}", "{\"foo\":\"bar\"}", "{\"cdr\": 42}", "garbage"] {
        std::fs::write(dir.join("checkpoint.json"), bad).unwrap();
        let (code, _, err) = run(&["--config", cfg.to_str().unwrap(), "--once"]);
        assert_eq!(code, 1, "{bad}: {err}");
        assert!(
            err.contains("is corrupt") && err.contains("fix or remove it deliberately"),
            "{bad}: {err}"
        );
        assert!(
            !dir.join("calls.jsonl").exists(),
            "{bad}: delivered from zero"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("checkpoint.json")).unwrap(),
            bad
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_torn_last_line_in_the_call_file_is_cut_and_written_again() {
    let dir = scratch("torn-sink");
    let cfg = config(&dir, &format!("{DATA}/cdr-sample.log"));
    let (code, _, err) = run(&["--config", cfg.to_str().unwrap(), "--once"]);
    assert_eq!(code, 0, "{err}");
    let calls = std::fs::read_to_string(dir.join("calls.jsonl")).unwrap();
    // A crash mid-write: the last line only in part, and the checkpoint before it.
    let last_start = calls.trim_end().rfind('\n').unwrap() + 1;
    std::fs::write(dir.join("calls.jsonl"), &calls[..last_start + 25]).unwrap();
    std::fs::remove_file(dir.join("checkpoint.json")).unwrap();
    let (code, out, err) = run(&["--config", cfg.to_str().unwrap(), "--once"]);
    assert_eq!(code, 0, "never exit 2 for runtime state: {err}");
    assert!(err.contains("cut a partly written last line"), "{err}");
    assert!(out.contains("1 delivered, 49 already delivered"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.join("calls.jsonl")).unwrap(),
        calls
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The service port under a hostile client: hundreds of idle connections and slow ones
/// sending a byte at a time. `/health` keeps answering, calls keep being delivered, the
/// triggers need the token, and SIGTERM with a half-sent request open stops at once.
#[test]
fn the_service_port_survives_idle_and_slow_floods() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};
    let dir = scratch("flood");
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (cdr_port, http_port) = (free(), free());
    let cfg = config_with_source(
        &dir,
        &format!(
            "source: {{kind: socket_listen, listen: '127.0.0.1:{cdr_port}', journal: '{}/journal'}}\n\
             http: {{listen: '127.0.0.1:{http_port}', token: 'flood-t0ken'}}",
            dir.display()
        ),
    );
    let mut service = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let http = ("127.0.0.1", http_port);
    let request = |raw: &str| -> std::io::Result<String> {
        let mut s = TcpStream::connect(http)?;
        s.set_read_timeout(Some(Duration::from_secs(3)))?;
        s.write_all(raw.as_bytes())?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    };
    let health = || request("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    while health().is_err() {
        assert!(Instant::now() < deadline, "the service did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // 400 idle connections, 40 slow ones (a byte every 200 ms, for 6 s at most).
    let idle: Vec<TcpStream> = (0..400)
        .filter_map(|_| TcpStream::connect(http).ok())
        .collect();
    let slow: Vec<_> = (0..40)
        .map(|_| {
            std::thread::spawn(move || {
                let started = Instant::now();
                if let Ok(mut s) = TcpStream::connect(http) {
                    for b in b"POST /trigger/poll HTTP/1.1\r\nHost: x\r\nX-Slow: "
                        .iter()
                        .cycle()
                    {
                        if s.write_all(&[*b]).is_err() || started.elapsed() > Duration::from_secs(6)
                        {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
                started.elapsed()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // Calls are delivered meanwhile.
    let mut pbx = TcpStream::connect(("127.0.0.1", cdr_port)).unwrap();
    let sample = std::fs::read_to_string(format!("{DATA}/cdr-sample.log")).unwrap();
    for line in sample.lines() {
        write!(pbx, "{line}\r\n").unwrap();
    }
    drop(pbx);
    for _ in 0..10 {
        let answer = health().expect("/health during the flood");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let trigger = |auth: &str| {
        request(&format!(
            "POST /trigger/poll HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
        ))
        .unwrap()
    };
    assert!(trigger("").starts_with("HTTP/1.1 401"));
    assert!(trigger("Authorization: Bearer nope\r\n").starts_with("HTTP/1.1 401"));
    assert!(trigger("Authorization: Bearer flood-t0ken\r\n").starts_with("HTTP/1.1 202"));
    let calls = dir.join("calls.jsonl");
    let delivered = loop {
        let n = std::fs::read_to_string(&calls)
            .map(|c| c.lines().count())
            .unwrap_or(0);
        if n >= 50 || Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(delivered, 50);
    // The slow clients were cut off (header timeout) long before they gave up.
    for s in slow {
        let lasted = s.join().unwrap();
        assert!(
            lasted < Duration::from_secs(6),
            "a slow client held on for {lasted:?}"
        );
    }
    drop(idle);
    // SIGTERM with a half-sent request and an idle connection open: stops at once.
    let mut half = TcpStream::connect(http).unwrap();
    half.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let _idle = TcpStream::connect(http).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let stopping = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = service.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(20),
            "no stop within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = stopping.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(3), "stopping took {took:?}");
    let mut err = String::new();
    service
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("flood-t0ken"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_service_port_beyond_loopback_is_warned_about() {
    let dir = scratch("exposed");
    let cfg = config_with_source(
        &dir,
        &format!(
            "source: {{kind: file, path: '{DATA}/cdr-sample.log'}}\nhttp: {{listen: '0.0.0.0:0'}}"
        ),
    );
    let service = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status();
    let out = service.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the service port listens beyond this host and http.token is not set"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
