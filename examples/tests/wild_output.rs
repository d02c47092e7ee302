//! 3CX output as sites write it (issue #32), through the programs and the runtime: a v18
//! site's own field order with `Call ` in front of `time-start`, the same order without the
//! call's ids (one configuration error, exit 2), and a spreadsheet-saved export whose type
//! fields hold `External`/`Internal` (delivered by the fallback rules, counted in `/status`
//! and `/metrics`).

mod common;
use common::{BIN, scratch};

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use pbx_core::config::Config;
use pbx_sources::runtime::{Sideloader, endpoints};
use serde_json::Value;

const CONVERT: &str = env!("CARGO_BIN_EXE_pbx-convert");

const V18_ORDER: &str = "time-start,dial-no,from-dn,duration,time-answered,time-end,reason-terminated,reason-changed,missed-queue-calls,from-no,to-no,to-dn,final-number,final-dn,from-type,to-type,final-type,from-dispname,to-dispname,final-dispname";

/// Inbound to 101 (72 s) and outbound from 102 (40 s), in the v18 order plus `historyid,callid`.
const V18_LINES: &str = "Call 2024/09/09 02:06:33,0441234500,10001,00:01:12,2024/09/09 02:06:40,2024/09/09 02:07:52,TerminatedBySrc,,,+41445550123,Ext.101,101,Ext.101,101,Line,Extension,Extension,Client AG,Anna,Anna,4711,00000191D5A1B2C3_101\r\n\
Call 2024/09/09 03:10:05,0791234567,102,00:00:40,2024/09/09 03:10:12,2024/09/09 03:10:52,TerminatedByDst,,,Ext.102,0791234567,10001,0791234567,10001,Extension,Line,Line,Bruno,,,4712,00000191D5A1B2C3_102\r\n";

/// A spreadsheet's re-save of the 27-field layout: inbound answered by 611, outbound from 102.
const SHEET_LINES: &str = "Call 40101,00000191AAAA0001_1,00:03:43,2024/03/04 09:00:00,2024/03/04 09:00:05,2024/03/04 09:03:48,TerminatedBySrc,0466452265,Ext.611,10000,611,611,,Ext.611,611,,,,,,External,Internal,Internal,Client,Desk 611,Desk 611,\r\n\
Call 40102,00000191AAAA0002_1,00:00:40,2024/03/04 09:10:00,2024/03/04 09:10:07,2024/03/04 09:10:47,TerminatedBySrc,Ext.102,0232354095,102,10000,0232354095,,0232354095,10000,,,,,,Internal,External,External,Bruno,,,\r\n";

fn convert(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(CONVERT)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pbx-convert starts");
    // A program that refuses its arguments exits before reading: a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().expect("pbx-convert ends")
}

fn config_yaml(dir: &Path, source: &Path, template: &str) -> String {
    format!(
        "pbx: {{cdr_template: '{template}'}}\n\
         source: {{kind: file, path: '{}'}}\n\
         call_api: {{base_url: 'file:{out}/calls.jsonl'}}\n\
         extensions: {{map: {{'101': a@example.com, '102': b@example.com, '611': d@example.com}}}}\n\
         checkpoint: {{kind: file, path: '{out}/checkpoint.json'}}\n\
         quarantine: {{path: '{out}/quarantine.jsonl'}}\n\
         logging: {{level: error}}\n",
        source.display(),
        out = dir.display()
    )
}

#[test]
fn a_template_without_ids_is_one_error_exit_2_in_both_programs() {
    let out = convert(&["--template", V18_ORDER], V18_LINES);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no line is read");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("pbx-convert: --template: ")
            && err.contains("neither `historyid` nor `callid`")
            && err.contains("CDR output's enabled fields"),
        "{err}"
    );

    let dir = scratch("noids");
    let source = dir.join("cdr.log");
    std::fs::write(&source, V18_LINES).unwrap();
    let cfg = dir.join("config.yml");
    std::fs::write(&cfg, config_yaml(&dir, &source, V18_ORDER)).unwrap();
    let out = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains("pbx.cdr_template") && err.contains("neither `historyid` nor `callid`"),
        "{err}"
    );
    assert!(!dir.join("calls.jsonl").exists(), "nothing started");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn v18_lines_with_call_before_time_start_convert_to_calls() {
    let template = format!("{V18_ORDER},historyid,callid");
    let ext = scratch("v18").join("ext.yml");
    std::fs::write(&ext, "'101': a@example.com\n'102': b@example.com\n").unwrap();
    let out = convert(
        &[
            "--template",
            &template,
            "--default-region",
            "CH",
            "--extensions",
            ext.to_str().unwrap(),
        ],
        V18_LINES,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (a, b) = (&lines[0]["call"], &lines[1]["call"]);
    assert_eq!(a["callDirection"], "INBOUND", "{lines:?}");
    assert_eq!(a["callOwnerExtension"], "101");
    assert_eq!(a["callDuration"], 72);
    assert_eq!(a["phoneNumber"], "+41445550123");
    assert_eq!(a["timestamp"], "2024-09-09T02:06:33.000+00:00");
    assert_eq!(a["pbxCallId"], "3cx-4711-00000191D5A1B2C3_101");
    assert_eq!(b["callDirection"], "OUTBOUND");
    assert_eq!(b["callOwnerExtension"], "102");
    assert_eq!(b["phoneNumber"], "+41791234567");
    assert_eq!(b["callDuration"], 40);
}

#[test]
fn unknown_type_words_are_delivered_and_shown_in_status_and_metrics() {
    let dir = scratch("sheet");
    let source = dir.join("cdr.log");
    std::fs::write(&source, SHEET_LINES).unwrap();
    let config = Config::from_yaml(&config_yaml(&dir, &source, "27"), &|_| None).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (summary, status, metrics) = rt.block_on(async {
        let mut sideloader = Sideloader::from_config(&config).await.unwrap();
        let summary = sideloader.once().await.unwrap();
        let handle = sideloader.handle();
        (
            summary,
            endpoints::status_json(&handle),
            endpoints::metrics_text(&handle),
        )
    });
    assert_eq!(summary.counters.delivered, 2, "{summary}");
    assert!(summary.counters.skipped.is_empty(), "{summary}");
    assert_eq!(status["unknown_type_words"]["records"], 2, "{status}");
    assert_eq!(
        status["unknown_type_words"]["words"]["External"], 2,
        "{status}"
    );
    assert_eq!(
        status["unknown_type_words"]["words"]["Internal"], 2,
        "{status}"
    );
    assert!(
        metrics.contains("pbx_records_unknown_type_total 2\n")
            && metrics.contains("pbx_unknown_type_words_total{word=\"External\"} 2\n"),
        "{metrics}"
    );
    let calls = std::fs::read_to_string(dir.join("calls.jsonl")).unwrap();
    assert!(
        calls.contains("\"callOwnerExtension\":\"611\"")
            && calls.contains("\"callOwnerExtension\":\"102\""),
        "{calls}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
