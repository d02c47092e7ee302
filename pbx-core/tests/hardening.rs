//! Hardening, issue #28: secrets stay hidden in every configuration error, `${…}` problems
//! included; a byte-order mark starting a text; duplicate extensions; range checks on disabled
//! sections; numbers that cannot be E.164. (The service sections' — an empty trigger token
//! beyond loopback, `ha` ranges — are pbx-sources' `tests/service_config.rs`.)

use pbx_core::Error;
use pbx_core::config::{Config, ConfigIssue};

const BASE: &str =
    "source: {kind: file, path: /tmp/cdr.log}\ncall_api: {base_url: 'http://localhost:8080'}\n";

fn no_env(_: &str) -> Option<String> {
    None
}

fn issues_with(yaml: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<ConfigIssue> {
    match Config::from_yaml(yaml, env) {
        Err(Error::InvalidConfig { issues }) => issues,
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(other) => panic!("{other}"),
    }
}

fn issues(yaml: &str) -> Vec<ConfigIssue> {
    issues_with(yaml, &no_env)
}

/// Every way a secret-bearing setting can fail substitution, for each such setting: the
/// error (its text, and each issue's value as the bindings publish it) never holds the secret.
#[test]
fn substitution_errors_never_show_secrets() {
    let secret = "RealPassw0rd";
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                "source: {{kind: postgres_cl, url: 'postgres://user:{secret}@${{DB_HOST}}/db'}}\ncall_api: {{base_url: 'http://x'}}\n"
            ),
            "source.url",
        ),
        (
            format!(
                "source: {{kind: mssql_table, url: 'Server=${{DB_HOST}};User Id=sa;Password={secret}', table: t}}\ncall_api: {{base_url: 'http://x'}}\n"
            ),
            "source.url",
        ),
        (
            format!(
                "source: {{kind: file, path: x}}\ncall_api: {{base_url: 'http://x', token: '{secret}-${{TENANT}}'}}\n"
            ),
            "call_api.token",
        ),
        // A secret that merely contains `${`.
        (
            format!(
                "source: {{kind: file, path: x}}\ncall_api: {{base_url: 'http://x', token: '{secret}${{x'}}\n"
            ),
            "call_api.token",
        ),
        (
            format!(
                "source: {{kind: file, path: x}}\ncall_api: {{base_url: 'http://x', token: 'x${{{secret}-1}}'}}\n"
            ),
            "call_api.token",
        ),
        (
            format!(
                "{BASE}xapi: {{base_url: 'https://pbx', client_id: c, client_secret: '{secret}${{SUFFIX}}'}}\n"
            ),
            "xapi.client_secret",
        ),
        (
            format!("{BASE}http: {{token: '${{{secret}'}}\n"),
            "http.token",
        ),
        (
            format!(
                "{BASE}checkpoint: {{kind: postgres, url: 'postgres://cp:{secret}@${{CP_HOST}}/cp'}}\n"
            ),
            "checkpoint.url",
        ),
        (
            format!(
                "{BASE}checkpoint: {{kind: postgres, url: 'postgres://cp:{secret}/x@db/cp?p=${{P'}}\n"
            ),
            "checkpoint.url",
        ),
    ];
    for (yaml, path) in &cases {
        let found = issues(yaml);
        let text = Error::InvalidConfig {
            issues: found.clone(),
        }
        .to_string();
        assert!(!text.contains(secret), "secret shown:\n{text}");
        let issue = found
            .iter()
            .find(|i| i.path == *path)
            .unwrap_or_else(|| panic!("no issue at {path}:\n{text}"));
        assert!(
            issue.value.as_deref().is_some_and(|v| v.contains("***")),
            "{issue:?}"
        );
    }
    // What stays visible is what the user needs: the variable, the host part of a URL.
    let text = issues(&cases[0].0)[0].to_string();
    assert!(
        text.contains(r#"source.url: "postgres://***@${DB_HOST}/db" environment variable `DB_HOST` is not set"#),
        "{text}"
    );
    let text = issues(&cases[2].0)[0].to_string();
    assert!(
        text.contains(r#"call_api.token: "***" environment variable `TENANT` is not set"#),
        "{text}"
    );
    // An API address is shown redacted as every URL in a message is.
    let text = issues(&format!(
        "source: {{kind: file, path: x}}\ncall_api: {{base_url: 'https://admin:{secret}@${{API_HOST}}'}}\n"
    ))[0]
        .to_string();
    assert!(
        text.contains(r#"call_api.base_url: "https://***@${API_HOST}" environment variable `API_HOST` is not set"#),
        "{text}"
    );
    // A setting that is not a secret still shows its value.
    let text = issues(&format!("{BASE}quarantine: {{path: '/var/${{DIR'}}\n"))[0].to_string();
    assert!(
        text.contains(r#"quarantine.path: "/var/${DIR" has an unterminated `${`"#),
        "{text}"
    );
}

/// A configuration or extension file saved with a byte-order mark (Windows editors) reads as
/// without it (the YAML reader's own rule; kept as a regression check).
#[test]
fn a_byte_order_mark_starting_a_config_is_ignored() {
    let config = Config::from_yaml(&format!("\u{feff}{BASE}"), &no_env).unwrap();
    assert_eq!(config.call_api.base_url, "http://localhost:8080");
    let map = pbx_core::config::extensions_from_yaml("\u{feff}'101': anna@example.com\n").unwrap();
    assert_eq!(map.email_for("101"), Some("anna@example.com"));
}

/// Text handed to the parser whole (the bindings' `parse_lines`) loses a byte-order mark that
/// starts it: the first call keeps its `pbxCallId`.
#[test]
fn a_byte_order_mark_starting_parsed_text_is_not_part_of_the_first_record() {
    let line = "Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,";
    let parser = pbx_core::cdr::CdrParser::new(pbx_core::cdr::FieldTemplate::default());
    let text = format!("\u{feff}{line}\r\n{line}\r\n");
    let ids: Vec<String> = pbx_core::cdr::parse_lines(&parser, text.as_bytes())
        .map(|(_, cdr)| pbx_core::call::pbx_call_id(&cdr.unwrap(), "3cx").unwrap())
        .collect();
    assert_eq!(ids, ["3cx-40001-000001A19D361A38_5204"; 2]);
}

/// One extension written twice (`"101"` and `101` are one key) is reported, in the
/// configuration and in an extension file, never silently the last one.
#[test]
fn an_extension_written_twice_is_reported() {
    for yaml in [
        format!("{BASE}extensions:\n  map:\n    \"101\": a@example.com\n    101: b@example.com\n"),
        format!("{BASE}extensions: {{map: {{'101': a@example.com, 101: b@example.com}}}}\n"),
    ] {
        let found = issues(&yaml);
        let text = found[0].to_string();
        assert!(
            text.contains("the key `101` appears twice in one mapping"),
            "{text}"
        );
        assert!(text.contains("(line "), "{text}");
    }
    let err = pbx_core::config::extensions_from_yaml("'101': a@example.com\n101: b@example.com\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("the key `101` appears twice"), "{err}");
    // The YAML reader's own check (the same spelling twice) still answers as before.
    let text = issues(&format!(
        "{BASE}extensions: {{map: {{'101': a@example.com, '101': b@example.com}}}}\n"
    ))[0]
        .to_string();
    assert!(text.contains("the key `101` appears twice"), "{text}");
}

/// Settings of a section that is switched off are checked all the same.
#[test]
fn settings_of_disabled_sections_are_range_checked() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!("{BASE}groups: {{enabled: false, interval_secs: 1}}\n"),
            "groups.interval_secs",
            "is out of range",
        ),
        (
            "source: {kind: file, path: x, settle_secs: 99999}\ncall_api: {base_url: 'http://x'}\n"
                .to_owned(),
            "source.settle_secs",
            "is out of range (0 to 3600)",
        ),
        (
            format!(
                "{BASE}business_hours: {{from_xapi: true, monday: '25:00-26:00'}}\nxapi: {{base_url: 'https://pbx', client_id: c, client_secret: s}}\n"
            ),
            "business_hours.monday",
            "is not an interval",
        ),
    ];
    let cases = cases.into_iter().chain([
        (
            format!("{BASE}checkpoint: {{kind: file, url: 'postgres://u:pw@db:99999/cp'}}\n"),
            "checkpoint.url",
            "port",
        ),
        (
            format!("{BASE}checkpoint: {{table: 'cp; drop table x'}}\n"),
            "checkpoint.table",
            "is not a plain SQL identifier",
        ),
    ]);
    for (yaml, path, want) in cases {
        let found = issues(&yaml);
        assert!(
            found
                .iter()
                .any(|i| i.path == *path && i.to_string().contains(want)),
            "{path}: {found:?}"
        );
    }
}

/// A number no `phoneNumber` can be made of refuses the call with an error naming the value
/// (the sideloader quarantines it; the other records go on), where it used to be sent as its
/// bare digits: `907555<NUL>1234` as `9075551234` (not E.164, and another party's number), and
/// 200 digits as they are.
#[test]
fn numbers_that_cannot_be_e164_refuse_the_call() {
    use pbx_core::call::{CallMapper, Mapped, MappedJson};
    use pbx_core::cdr::{CdrParser, FieldTemplate};
    use pbx_core::extensions::User;
    let line = "Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,";
    let parser = CdrParser::new(FieldTemplate::default());
    let mapper = CallMapper::default()
        .with_extensions([User::new("101", "anna@example.com")].into_iter().collect());
    let map = |number: &str| {
        let cdr = parser
            .parse_line(7, &line.replace("9075551234", number))
            .unwrap();
        let mut json = Vec::new();
        let as_json = mapper.map_json(&cdr, &mut json);
        (mapper.map(&cdr), as_json, json)
    };
    let long = "9".repeat(200);
    let cases = [
        ("907555\u{0}1234", "without control characters"),
        ("+1907555\u{0}1234", "without control characters"),
        (long.as_str(), "at most 15 digits"),
        ("1234567890123456", "at most 15 digits"),
    ];
    for (number, want) in cases {
        let (mapped, as_json, json) = map(number);
        let e = mapped.unwrap_err();
        assert_eq!(e.field(), Some("phoneNumber"));
        let text = e.located(pbx_core::Location::Line(7)).to_string();
        assert!(
            text.starts_with("line 7: field `phoneNumber` has value"),
            "{text}"
        );
        assert!(text.contains(want), "{text}");
        assert_eq!(as_json.unwrap_err().field(), Some("phoneNumber"));
        assert!(json.is_empty(), "nothing written for a refused call");
    }
    // Still sent: E.164 numbers, a number with a long extension, short invalid numbers as
    // their digits (as before), withheld callers.
    for (number, sent) in [
        ("9075551234", "+19075551234"),
        ("+1 907 555 1234 ext. 1234567890", "+19075551234"),
        ("12-34", "1234"),
        ("anonymous", "anonymous"),
    ] {
        let (mapped, as_json, _) = map(number);
        match mapped.unwrap() {
            Mapped::Call(call) => assert_eq!(call.phone_number, sent, "{number}"),
            other => panic!("{number}: {other:?}"),
        }
        assert_eq!(as_json.unwrap(), MappedJson::Call);
    }
}

/// The mapping's byte-level control check agrees with `char::is_control` minus
/// `char::is_whitespace` on every character up to U+00FF (C0, DEL, C1, NEL, Latin-1).
#[test]
fn the_control_character_rule_is_chars_own() {
    use pbx_core::call::CallMapper;
    use pbx_core::cdr::{CdrParser, FieldTemplate};
    use pbx_core::extensions::User;
    let line = "Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,NUM,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,";
    let parser = CdrParser::new(FieldTemplate::default());
    let mapper = CallMapper::default()
        .with_extensions([User::new("101", "anna@example.com")].into_iter().collect());
    for code in 0u32..=0xff {
        let ch = char::from_u32(code).unwrap();
        if matches!(ch, ',' | '"' | '\n' | '\r') {
            continue; // CSV syntax, not field content
        }
        let number = format!("907555{ch}1234");
        let Ok(cdr) = parser.parse_line(1, &line.replace("NUM", &number)) else {
            continue;
        };
        let refused = mapper
            .map(&cdr)
            .is_err_and(|e| e.field() == Some("phoneNumber"));
        assert_eq!(
            refused,
            ch.is_control() && !ch.is_whitespace(),
            "U+{code:04X}"
        );
    }
}

/// In the sideloader's pipeline such a call is quarantined with its line, field and value;
/// the record after it is delivered as usual.
#[test]
fn a_refused_number_is_quarantined_and_the_next_record_goes_on() {
    use pbx_core::call::CallMapper;
    use pbx_core::delivery::{Disposition, Pipeline};
    use pbx_core::extensions::User;
    use pbx_core::{Checkpoint, RawRecord, SourceRecord};
    let line = "Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,NUM,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: NUM;Ext.101;,Line,Extension,Extension,NUM,Anna Berg,Anna Berg,,";
    let pipeline = Pipeline {
        mapper: CallMapper::default()
            .with_extensions([User::new("101", "anna@example.com")].into_iter().collect()),
        ..Pipeline::default()
    };
    let record = |n: u64, number: &str| SourceRecord {
        checkpoint: Checkpoint::new(n.to_string()),
        record: Ok(RawRecord::Line {
            number: n,
            text: line.replace("NUM", number).into_bytes(),
        }),
    };
    let bad = pipeline.prepare(&record(4, "907555\u{0}1234"));
    match &bad.disposition {
        Disposition::Quarantine { reason } => assert!(
            reason.starts_with(r#"line 4: field `phoneNumber` has value "907555\01234""#),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    let long = pipeline.prepare(&record(5, &"9".repeat(200)));
    assert!(matches!(long.disposition, Disposition::Quarantine { .. }));
    let good = pipeline.prepare(&record(6, "9075551234"));
    match good.disposition {
        Disposition::Deliver(call) => assert_eq!(call.phone_number, "+19075551234"),
        other => panic!("{other:?}"),
    }
}
