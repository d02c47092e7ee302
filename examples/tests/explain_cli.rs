//! `pbx-convert --explain` and `pbx-sideloader explain` run as a user runs them: the
//! explanation's outcome is what the conversion (or delivery) produces, line by line.

use std::process::{Command, Output};

use serde_json::Value;

const CONVERT: &str = env!("CARGO_BIN_EXE_pbx-convert");
const SIDELOADER: &str = env!("CARGO_BIN_EXE_pbx-sideloader");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data");
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn run(bin: &str, args: &[&str], dir: &str) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the program starts")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn convert_explain_json_agrees_with_the_conversion_on_every_sample_line() {
    let sample = format!("{DATA}/cdr-sample.log");
    let ext = format!("{DATA}/extensions.yml");
    let common = [
        "--timezone",
        "America/Anchorage",
        "--extensions",
        ext.as_str(),
        "--service-dns",
        "700,800,900,999",
        sample.as_str(),
    ];
    let converted = json_lines(&stdout(&run(CONVERT, &common, ROOT)));
    let mut args = common.to_vec();
    args.extend(["--explain", "--json"]);
    let explained = json_lines(&stdout(&run(CONVERT, &args, ROOT)));
    assert_eq!(converted.len(), explained.len());
    let mut calls = 0;
    for (c, e) in converted.iter().zip(&explained) {
        assert_eq!(c["line"], e["line"]);
        let outcome = &e["explain"]["outcome"];
        if let Some(call) = c.get("call") {
            assert_eq!(outcome["kind"], "call", "line {}", c["line"]);
            assert_eq!(&outcome["request"], call, "line {}", c["line"]);
            calls += 1;
        } else if let Some(reason) = c.get("skipped") {
            assert_eq!(outcome["kind"], "skipped", "line {}", c["line"]);
            assert_eq!(&outcome["because"], reason, "line {}", c["line"]);
        } else {
            assert_eq!(outcome["kind"], "refused", "line {}", c["line"]);
        }
    }
    assert!(calls > 30, "{calls} calls");
}

#[test]
fn convert_explain_text_names_the_rules() {
    let sample = format!("{DATA}/cdr-sample.log");
    let ext = format!("{DATA}/extensions.yml");
    let text = stdout(&run(
        CONVERT,
        &["--extensions", &ext, "--explain", &sample],
        ROOT,
    ));
    let first = text.split("\n\n").next().unwrap();
    assert!(first.contains("call       3cx-40001-"), "{first}");
    assert!(first.contains("direction  INBOUND by FROM_TYPE_EXTERNAL"), "{first}");
    assert!(first.contains("owner      101 by FINAL_DN (from final-dn)"), "{first}");
    assert!(first.contains("other      9075551234 -> +19075551234"), "{first}");
    assert!(first.contains("email      anna.berg@example.com from the extension map"), "{first}");
    assert!(first.contains("outcome    call {\"phoneNumber\":\"+19075551234\""), "{first}");
}

#[test]
fn convert_json_needs_explain() {
    let out = run(CONVERT, &["--json"], ROOT);
    assert_eq!(out.status.code(), Some(2));
}
