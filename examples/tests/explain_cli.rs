//! `pbx-convert --explain` and `pbx-sideloader explain` run as a user runs them: the
//! explanation's outcome is what the conversion (or delivery) produces, line by line.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{free_port, scratch};
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
    assert!(
        first.contains("direction  INBOUND by FROM_TYPE_EXTERNAL"),
        "{first}"
    );
    assert!(
        first.contains("owner      101 by FINAL_DN (from final-dn)"),
        "{first}"
    );
    assert!(
        first.contains("other      9075551234 -> +19075551234"),
        "{first}"
    );
    assert!(
        first.contains("email      anna.berg@example.com from the extension map"),
        "{first}"
    );
    assert!(
        first.contains("outcome    call {\"phoneNumber\":\"+19075551234\""),
        "{first}"
    );
}

#[test]
fn convert_json_needs_explain() {
    let out = run(CONVERT, &["--json"], ROOT);
    assert_eq!(out.status.code(), Some(2));
}

/// The embedded default's configuration (the sample, its extension map), its state in `dir`,
/// and `extra` YAML.
fn sample_config(dir: &Path, extra: &str) -> PathBuf {
    let yaml = format!(
        "pbx: {{timezone: America/Anchorage, cdr_template: '27'}}\n\
         source: {{kind: file, path: '{DATA}/cdr-sample.log'}}\n\
         call_api: {{base_url: 'file:{out}/calls.jsonl'}}\n\
         extensions: {{map: {{'101': anna.berg@example.com, '104': david.kowalski@example.com}}}}\n\
         direction: {{service_dns: ['700', '800', '900', '999']}}\n\
         checkpoint: {{kind: file, path: '{out}/checkpoint.json'}}\n\
         quarantine: {{path: '{out}/quarantine.jsonl'}}\n{extra}",
        out = dir.display()
    );
    let path = dir.join("config.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn sideloader_explain_reads_the_call_and_its_delivery_state() {
    let dir = scratch("explain-cli");
    let cfg = sample_config(&dir, "");
    let cfg = cfg.to_str().unwrap();
    // Before any run: no checkpoint.
    let text = stdout(&run(
        SIDELOADER,
        &["--config", cfg, "explain", "40003"],
        ROOT,
    ));
    assert!(
        text.contains("owner      104 by FINAL_DN (from final-dn)"),
        "{text}"
    );
    assert!(text.contains("delivery   no checkpoint yet"), "{text}");

    let once = run(SIDELOADER, &["--config", cfg, "--once"], ROOT);
    assert!(
        once.status.success(),
        "{}",
        String::from_utf8_lossy(&once.stderr)
    );
    let delivered: Vec<Value> =
        json_lines(&std::fs::read_to_string(dir.join("calls.jsonl")).unwrap());

    // By pbxCallId, as JSON: one object, the request the run delivered.
    let json = stdout(&run(
        SIDELOADER,
        &[
            "--config",
            cfg,
            "explain",
            "3cx-40003-000001A19D6FA898_5209",
            "--json",
        ],
        ROOT,
    ));
    let e: Value = serde_json::from_str(&json).expect("one JSON object");
    assert_eq!(e["outcome"]["kind"], "call");
    let request = &e["outcome"]["request"];
    assert!(delivered.contains(request), "{request} was delivered");
    assert_eq!(e["delivery"]["position"], "before_checkpoint");
    assert_eq!(e["owner"]["rule"], "FINAL_DN");
    assert_eq!(e["email"]["source"], "map");

    // By line: the same call.
    let by_line: Value = serde_json::from_str(&stdout(&run(
        SIDELOADER,
        &["--config", cfg, "explain", "--line", "3", "--json"],
        ROOT,
    )))
    .unwrap();
    assert_eq!(by_line, e);

    // A call skipped for want of an email says so.
    let skipped: Value = serde_json::from_str(&stdout(&run(
        SIDELOADER,
        &["--config", cfg, "explain", "40002", "--json"],
        ROOT,
    )))
    .unwrap();
    assert_eq!(skipped["outcome"]["reason"], "no_owner_email");

    // An id the source does not hold: exit 1 with a one-line reason.
    let missing = run(
        SIDELOADER,
        &["--config", cfg, "explain", "no-such-call"],
        ROOT,
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no call with id no-such-call"));
}

#[test]
fn the_explain_endpoint_needs_the_token_and_answers_404_for_an_unknown_id() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};
    let dir = scratch("explain-http");
    let port = free_port();
    let cfg = sample_config(
        &dir,
        &format!("http: {{listen: '127.0.0.1:{port}', token: 'expl-t0ken'}}\n"),
    );
    let mut service = Command::new(SIDELOADER)
        .args(["--config", cfg.to_str().unwrap()])
        .current_dir(ROOT)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let get = |path: &str, auth: &str| -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        )?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while get("/health", "").is_err() {
        assert!(Instant::now() < deadline, "the service did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let auth = "Authorization: Bearer expl-t0ken\r\n";
    let no_token = get("/explain/40003", "").unwrap();
    let wrong = get("/explain/40003", "Authorization: Bearer nope\r\n").unwrap();
    let unknown = get("/explain/no-such-call", auth).unwrap();
    let known = get("/explain/3cx-40003-000001A19D6FA898_5209", auth).unwrap();
    let _ = service.kill();
    let _ = service.wait();
    assert!(no_token.starts_with("HTTP/1.1 401"), "{no_token}");
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    assert!(known.starts_with("HTTP/1.1 200"), "{known}");
    let body = &known[known.find("\r\n\r\n").unwrap() + 4..];
    let e: Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(e["pbx_call_id"], "3cx-40003-000001A19D6FA898_5209");
    assert_eq!(e["owner"]["extension"], "104");
    assert!(e["delivery"]["position"].is_string());
}

#[tokio::test]
#[ignore = "needs PostgreSQL (scripts/pg.sh)"]
async fn sideloader_explain_looks_a_cdroutput_call_up_by_its_id() {
    let url = common::pg_url();
    let admin = common::pg_connect(&url).await;
    let db = format!("t_explain_cli_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
    ] {
        admin.simple_query(&sql).await.unwrap();
    }
    let (base, _) = url.rsplit_once('/').unwrap();
    let db_url = format!("{base}/{db}");
    let fixtures =
        std::fs::read_to_string(format!("{ROOT}/pbx-sources/tests/sql/cdroutput.sql")).unwrap();
    common::pg_connect(&db_url)
        .await
        .batch_execute(&fixtures)
        .await
        .expect("load the cdroutput fixtures");
    let dir = scratch("explain-cdroutput");
    let cfg = dir.join("config.yml");
    std::fs::write(
        &cfg,
        format!(
            "source: {{kind: postgres_cdroutput, url: '{db_url}'}}\n\
             call_api: {{base_url: 'file:{out}/calls.jsonl'}}\n\
             extensions: {{map: {{'101': a@example.com, '102': b@example.com, '103': c@example.com, '104': d@example.com}}}}\n\
             checkpoint: {{kind: file, path: '{out}/checkpoint.json'}}\n\
             quarantine: {{path: '{out}/quarantine.jsonl'}}\n",
            out = dir.display()
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let main = "00000000-019a-4a0e-1a00-000000000100";
    let before: Value = serde_json::from_str(&stdout(&run(
        SIDELOADER,
        &["--config", cfg, "explain", main, "--json"],
        ROOT,
    )))
    .unwrap();
    assert_eq!(before["delivery"]["position"], "no_checkpoint");
    assert_eq!(before["owner"]["rule"], "LEG_ANSWERED");
    assert!(
        before["owner"]["from"]
            .as_str()
            .unwrap()
            .starts_with("leg ")
    );
    let once = run(SIDELOADER, &["--config", cfg, "--once"], ROOT);
    assert!(
        once.status.success(),
        "{}",
        String::from_utf8_lossy(&once.stderr)
    );
    let after: Value = serde_json::from_str(&stdout(&run(
        SIDELOADER,
        &["--config", cfg, "explain", main, "--json"],
        ROOT,
    )))
    .unwrap();
    assert_eq!(after["delivery"]["position"], "before_checkpoint");
    let delivered = json_lines(&std::fs::read_to_string(dir.join("calls.jsonl")).unwrap());
    assert!(delivered.contains(&after["outcome"]["request"]));
    // By its pbxCallId (a scan): the same call.
    let id = after["pbx_call_id"].as_str().unwrap();
    let by_id: Value = serde_json::from_str(&stdout(&run(
        SIDELOADER,
        &["--config", cfg, "explain", id, "--json"],
        ROOT,
    )))
    .unwrap();
    assert_eq!(by_id, after);
    // `--line` names nothing in a database source.
    let line = run(
        SIDELOADER,
        &["--config", cfg, "explain", "--line", "1"],
        ROOT,
    );
    assert_eq!(line.status.code(), Some(2));
    admin
        .simple_query(&format!("DROP DATABASE IF EXISTS {db}"))
        .await
        .unwrap();
}
