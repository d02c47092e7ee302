//! `pbx-convert` run as a user runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pbx-convert");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data");

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pbx-convert starts");
    {
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(stdin.unwrap_or_default())
            .expect("write stdin");
    }
    child.wait_with_output().expect("pbx-convert ends")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn sample_gives_one_object_per_line() {
    let sample = format!("{DATA}/cdr-sample.log");
    let ext = format!("{DATA}/extensions.yml");
    let out = run(
        &[
            "--timezone",
            "America/Anchorage",
            "--extensions",
            &ext,
            &sample,
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let input_lines = std::fs::read_to_string(&sample).unwrap().lines().count();
    assert_eq!(lines.len(), input_lines);
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(v["line"], i as u64 + 1);
        let kinds = ["call", "skipped", "error"]
            .iter()
            .filter(|k| v.get(**k).is_some())
            .count();
        assert_eq!(kinds, 1, "{v}");
    }
    // Line 1: inbound to Anna Berg, in Anchorage time.
    assert_eq!(
        lines[0]["call"],
        serde_json::json!({
            "phoneNumber": "+19075551234", "callDuration": 184, "callOwnerExtension": "101",
            "callOwnerEmail": "anna.berg@example.com", "callDirection": "INBOUND",
            "timestamp": "2026-11-02T08:02:11.000-09:00",
            "pbxCallId": "3cx-40001-000001A19D361A38_5204"
        })
    );
    // Line 4: internal, skipped with its reason; line 21: owner 112 has no email.
    assert_eq!(
        lines[3]["skipped"],
        "internal call (internal calls are not sent)"
    );
    assert_eq!(
        lines[20]["skipped"],
        "extension 112 has no user email in the extension map"
    );
    let calls = lines.iter().filter(|v| v.get("call").is_some()).count();
    assert!(calls >= 40, "{calls} calls");
    // The output's key order is the contract's.
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert!(
        first.starts_with(r#"{"line":1,"call":{"phoneNumber":"#),
        "{first}"
    );
}

#[test]
fn default_region_drives_phone_numbers() {
    let sample = format!("{DATA}/cdr-sample.log");
    let ext = format!("{DATA}/extensions.yml");
    let phone_numbers = |region: &str| -> Vec<String> {
        let out = run(
            &["--extensions", &ext, "--default-region", region, &sample],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out)
            .iter()
            .filter_map(|v| v["call"]["phoneNumber"].as_str().map(str::to_owned))
            .collect()
    };
    let us = phone_numbers("US");
    assert!(!us.is_empty());
    // Every external number of the sample is E.164: `+` and 8 to 15 digits.
    for n in us.iter().filter(|n| n.len() > 5) {
        let digits = n.strip_prefix('+').unwrap_or_default();
        assert!(
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
            "{n}"
        );
    }
    // The same national number read as British is a different E.164 number.
    assert_eq!(us[0], "+19075551234");
    assert_eq!(phone_numbers("gb")[0], "+449075551234");
}

#[test]
fn bad_lines_are_reported_and_the_rest_go_on() {
    let input = b"Call 1,abc\r\n\r\nCall 23219,00000172FF3328E8_4479,,2020/06/29 08:30:42,,2020/06/29 08:30:50,Failed_Cancelled,0466452265,Ext.196,10000,196,196,,,,,,,,\r\nCall 2,x,3 min,2020/06/29 08:30:42,,,,,,,,,,,,,,,,\n";
    let out = run(&["--template", "20", "-"], Some(input));
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["error"]["field"], Value::Null);
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2 fields, but the template has 20")
    );
    assert_eq!(lines[1]["skipped"], "blank line");
    // Unmapped owner without an extensions file: skipped, with the reason.
    assert_eq!(
        lines[2]["skipped"],
        "extension 196 has no user email in the extension map"
    );
    assert_eq!(lines[3]["line"], 4);
    assert_eq!(lines[3]["error"]["field"], "duration");
    assert_eq!(lines[3]["error"]["value"], "3 min");
}

#[test]
fn custom_template_and_stdin() {
    let input = "Call 7,Ext.101,+46703014082,2024/06/17 05:59:49,00:00:25,Extension,Line\n";
    let out = run(
        &[
            "--template",
            "historyid,from-no,to-no,time-start,duration,from-type,to-type",
            "--include-internal",
            "--timezone",
            "Europe/Stockholm",
        ],
        Some(input.as_bytes()),
    );
    let lines = json_lines(&out);
    assert_eq!(
        lines[0]["skipped"],
        "extension 101 has no user email in the extension map"
    );
}

#[test]
fn unusable_arguments_exit_2_with_one_line() {
    for args in [
        vec!["--template", "historyid,colour"],
        vec!["--timezone", "Mars/Olympus"],
        vec!["--default-region", "USA"],
        vec!["--extensions", "/nonexistent/ext.yml"],
    ] {
        let out = run(&args, Some(b""));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.starts_with("pbx-convert: "), "{err}");
    }
}

#[test]
fn unreadable_input_exits_1() {
    let out = run(&["/nonexistent/cdr.log"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/cdr.log"));
}

#[test]
fn invalid_extensions_yaml_is_an_argument_error() {
    let dir = pbx_testkit::scratch("test");
    let path = dir.join("bad.yml");
    std::fs::write(&path, "extensions: [1, 2]\n").unwrap();
    let out = run(&["--extensions", path.to_str().unwrap()], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yml"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn extensions_may_be_a_flat_map_or_the_configuration_shape() {
    let dir = pbx_testkit::scratch("flat");
    let sample = format!("{DATA}/cdr-sample.log");
    let nested = run(
        &["--extensions", &format!("{DATA}/extensions.yml"), &sample],
        None,
    );
    assert!(nested.status.success());
    // What people write first: `"101": email`, without the `extensions:` key.
    let flat = dir.join("flat.yml");
    let mut text = String::new();
    for line in std::fs::read_to_string(format!("{DATA}/extensions.yml"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("  \""))
    {
        text.push_str(line.trim_start());
        text.push('\n');
    }
    std::fs::write(&flat, &text).unwrap();
    let out = run(&["--extensions", flat.to_str().unwrap(), &sample], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json_lines(&out),
        json_lines(&nested),
        "same calls either way"
    );
    // The configuration file's shape: `extensions: {map: …, default_email: …}`.
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "extensions:\n  map:\n{}  default_email: pbx@example.com\n",
            text.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        ),
    )
    .unwrap();
    let out = run(&["--extensions", config.to_str().unwrap(), &sample], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    // Line 21: 112 has no user; the default email takes it.
    assert_eq!(lines[20]["call"]["callOwnerEmail"], "pbx@example.com");
    // A flat map with a bad email names the entry.
    std::fs::write(&flat, "\"101\": not-an-email\n").unwrap();
    let out = run(&["--extensions", flat.to_str().unwrap()], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("101.email"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The resident set size high-water mark of a running process, in kB (Linux).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmHWM")
}

#[test]
fn dev_zero_does_not_grow_memory() {
    let mut child = Command::new(BIN)
        .arg("/dev/zero")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let peak = peak_rss_kb(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    // Unbounded, it grew by hundreds of MB a second.
    assert!(peak < 64 * 1024, "peak RSS {peak} kB reading /dev/zero");
}

#[test]
fn an_endless_line_on_stdin_is_skipped_as_it_is_read() {
    let mut child = Command::new(BIN)
        .args(["--timezone", "America/Anchorage"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..200 {
        stdin.write_all(&chunk).unwrap(); // 200 MiB of one line
    }
    let peak = peak_rss_kb(child.id());
    let sample = std::fs::read_to_string(format!("{DATA}/cdr-sample.log")).unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin
        .write_all(sample.lines().next().unwrap().as_bytes())
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(peak < 64 * 1024, "peak RSS {peak} kB with a 200 MiB line");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1: line is 209715201 bytes long, over the limit of 65536 bytes"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1]["call"].is_object() || lines[1]["skipped"].is_string(),
        "{}",
        lines[1]
    );
}

#[test]
fn a_directory_as_input_or_extensions_is_named() {
    let dir = pbx_testkit::scratch("dir");
    let out = run(&[dir.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot read {}: it is a directory", dir.display())),
        "{err}"
    );
    let out = run(&["--extensions", dir.to_str().unwrap()], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot read {}", dir.display())),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn extension_files_are_bounded_and_checked_like_the_sideloaders() {
    let out = run(&["--extensions", "/dev/zero"], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("over the limit of 1048576 bytes"), "{err}");
    let dir = pbx_testkit::scratch("ext");
    let path = dir.join("ext.yml");
    for (yaml, expected) in [
        (
            "extensions: {'101': not-an-email}\n",
            "extensions.101.email: \"not-an-email\" is not an email address",
        ),
        (
            "extensions: {'101': {email: a@example.com, nmae: A}}\n",
            "extensions.101.nmae: is not a known setting",
        ),
        (
            "extensions: {'101': [1]}\n",
            "extensions.101: \"[1]\" must be an email or {email, name}",
        ),
        (
            "extensions: {'101': a@example.com}\nextensions: {}\n",
            "the key `extensions` appears twice",
        ),
    ] {
        std::fs::write(&path, yaml).unwrap();
        let out = run(&["--extensions", path.to_str().unwrap()], Some(b""));
        assert_eq!(out.status.code(), Some(2), "{yaml}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{yaml}: {err}");
        for jargon in ["untagged", "DuplicateKeyPolicy", "budget"] {
            assert!(!err.contains(jargon), "{err}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A byte-order mark starting the input (a file saved by a Windows editor) is not part of the
/// first record: the same call, the same `pbxCallId` as without it (issue #28 point 8).
#[test]
fn a_byte_order_mark_starting_the_input_is_not_part_of_the_first_record() {
    let sample = std::fs::read(format!("{DATA}/cdr-sample.log")).unwrap();
    let ext = format!("{DATA}/extensions.yml");
    let args = ["--timezone", "America/Anchorage", "--extensions", &ext];
    let plain = json_lines(&run(&args, Some(&sample)));
    let mut marked = b"\xEF\xBB\xBF".to_vec();
    marked.extend_from_slice(&sample);
    let from_stdin = json_lines(&run(&args, Some(&marked)));
    assert_eq!(
        from_stdin[0]["call"]["pbxCallId"],
        "3cx-40001-000001A19D361A38_5204"
    );
    assert_eq!(from_stdin, plain);
    let dir = pbx_testkit::scratch("bom");
    let file = dir.join("cdr.log");
    std::fs::write(&file, &marked).unwrap();
    let from_file = json_lines(&run(&[&args[..], &[file.to_str().unwrap()]].concat(), None));
    assert_eq!(from_file, plain);
    std::fs::remove_dir_all(dir).unwrap();
}
