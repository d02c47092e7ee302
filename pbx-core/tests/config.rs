//! Configuration: the shipped examples load; substitution; secrets; and a table of bad
//! configurations, each with the paths and messages the user sees.

use std::time::Duration;

use chrono::{TimeZone, Utc, Weekday};
use pbx_core::Error;
use pbx_core::config::{CheckpointConfig, Config, ConfigIssue, HoursConfig, SourceConfig};

const EXAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/config/sideloader.yml"
));
const LEGACY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/config/legacy-sideloader.yml"
));

fn no_env(_: &str) -> Option<String> {
    None
}

fn issues(yaml: &str) -> Vec<ConfigIssue> {
    match Config::from_yaml(yaml, &no_env) {
        Err(Error::InvalidConfig { issues }) => issues,
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(other) => panic!("{other}"),
    }
}

const BASE: &str =
    "source: {kind: file, path: /tmp/cdr.log}\ncall_api: {base_url: 'http://localhost:8080'}\n";

#[test]
fn the_example_config_loads_and_validates() {
    let config = Config::from_yaml(EXAMPLE, &no_env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.timezone, chrono_tz::America::Anchorage);
    assert!(
        matches!(&config.source, SourceConfig::PostgresTable { table, .. } if table.name == "public.cdr" && table.columns["time-start"] == "time_start")
    );
    assert_eq!(config.call_api.base_url, "http://localhost:8080");
    assert_eq!(config.call_api.token, None, "empty default → no token");
    assert_eq!(config.call_api.concurrency, 4);
    assert_eq!(
        config.extensions.email_for("102"),
        Some("bob.smith@example.com")
    );
    assert_eq!(
        config.direction.service_dns,
        vec!["700", "800", "900", "999"]
    );
    assert_eq!(config.direction.extension_ranges, vec![100..=199]);
    assert!(config.groups.enabled);
    assert_eq!(config.groups.monitor.exclude, vec!["900"]);
    assert!(config.groups.hours.contains_key("800"));
    assert_eq!(config.poll_interval, Duration::from_secs(30));
    assert!(
        matches!(&config.checkpoint, CheckpointConfig::File { path } if path == "/var/lib/pbx/checkpoint.json")
    );
    let Some(HoursConfig::Schedule(hours)) = &config.business_hours else {
        panic!("hours")
    };
    assert_eq!(hours.day(Weekday::Mon).len(), 2);
    assert!(hours.day(Weekday::Sat).is_empty());
    // Monday 2026-11-23 10:00 Anchorage = 19:00 UTC; 12:30 is lunch.
    assert!(hours.is_open(Utc.with_ymd_and_hms(2026, 11, 23, 19, 0, 0).unwrap()));
    assert!(!hours.is_open(Utc.with_ymd_and_hms(2026, 11, 23, 21, 30, 0).unwrap()));
}

#[test]
fn the_old_sideloader_shape_loads() {
    let env = |n: &str| (n == "DB_PASSWORD").then(|| "p@ss".to_string());
    let config = Config::from_yaml(LEGACY, &env).unwrap_or_else(|e| panic!("{e}"));
    let SourceConfig::PostgresTable { url, table } = &config.source else {
        panic!("{:?}", config.source)
    };
    assert_eq!(
        url.expose(),
        "postgres://sideloader:p@ss@localhost:5432/cdr"
    );
    assert_eq!(table.name, "cdr_records");
    assert_eq!(config.call_api.base_url, "http://localhost:8080");
    assert_eq!(
        config.extensions.email_for("101"),
        Some("john.doe@example.com")
    );
    assert_eq!(config.timezone, chrono_tz::America::Anchorage);
    assert_eq!(config.poll_interval, Duration::from_secs(30));
    assert_eq!(config.groups.interval, Duration::from_secs(300));
    assert_eq!(config.http_listen.port(), 3000);
    let Some(HoursConfig::Schedule(hours)) = &config.business_hours else {
        panic!("hours")
    };
    assert_eq!(hours.day(Weekday::Fri).len(), 1);
    assert!(hours.day(Weekday::Sun).is_empty());
}

#[test]
fn substitution_uses_the_environment_and_defaults() {
    let yaml = "source: {kind: socket_listen, listen: '${LISTEN:-0.0.0.0:5000}'}\ncall_api:\n  base_url: ${URL}\n  timeout_secs: '${TIMEOUT:-20}'\n  concurrency: ${CONC}\n";
    let env = |n: &str| match n {
        "URL" => Some("https://calls.example.com/".to_string()),
        "CONC" => Some("8".to_string()),
        _ => None,
    };
    let config = Config::from_yaml(yaml, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.call_api.base_url, "https://calls.example.com");
    assert_eq!(config.call_api.timeout, Duration::from_secs(20));
    assert_eq!(config.call_api.concurrency, 8);
    assert!(
        matches!(&config.source, SourceConfig::SocketListen { listen, .. } if listen == "0.0.0.0:5000")
    );
}

#[test]
fn secrets_never_show() {
    let yaml = format!(
        "{BASE}xapi: {{base_url: 'https://pbx', client_id: c, client_secret: 'hunter2-xyz'}}\n"
    );
    let config = Config::from_yaml(&yaml, &no_env).unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2-xyz"), "{shown}");
    // A bad database URL is reported without its password.
    let yaml = "source: {kind: postgres_table, url: 'mysql://u:hunter2-xyz@h/db', table: t}\ncall_api: {base_url: 'http://x'}\n";
    let e = Config::from_yaml(yaml, &no_env).unwrap_err().to_string();
    assert!(e.contains("source.url"), "{e}");
    assert!(!e.contains("hunter2-xyz"), "{e}");
}

/// Each bad configuration: the YAML, and the (path, message fragment) pairs expected — every
/// problem in a file is reported at once.
#[test]
fn bad_configs_table() {
    let cases: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("call_api: {base_url: 'http://x'}".into(), vec![("source", "is required")]),
        ("source: {kind: file, path: x}".into(), vec![("call_api", "is required")]),
        ("source: {kind: ftp}\ncall_api: {base_url: 'http://x'}".into(), vec![("source.kind", "\"ftp\" is not a source kind")]),
        ("source: {kind: file}\ncall_api: {base_url: 'http://x'}".into(), vec![("source.path", "is required")]),
        (format!("{BASE}call_apii: {{}}"), vec![("call_apii", "is not a known setting")]),
        ("source: {kind: file, path: x, pth: y}\ncall_api: {base_url: 'http://x', tokn: z}".into(),
            vec![("source.pth", "is not a known setting"), ("call_api.tokn", "is not a known setting")]),
        ("source: {kind: file, path: x}\ncall_api: {base_url: 'ftp://x'}".into(), vec![("call_api.base_url", "\"ftp://x\" is not an http:// or https:// URL (or file:PATH")]),
        (format!("{BASE}pbx: {{timezone: Mars/Olympus}}"), vec![("pbx.timezone", "\"Mars/Olympus\" is not a time zone")]),
        (format!("{BASE}pbx: {{cdr_template: 'historyid,colour'}}"), vec![("pbx.cdr_template", "is not a CDR field template")]),
        (format!("{BASE}business_hours: {{monday: ['09:00-12:00', '25:00-26:00']}}"),
            vec![("business_hours.monday[1]", "\"25:00-26:00\" is not an interval like 09:00-17:00")]),
        (format!("{BASE}business_hours: {{tuesday: {{start: '09:00'}}}}"), vec![("business_hours.tuesday", "needs both start and end")]),
        (format!("{BASE}business_hours: {{wednesday: '09:00-09:00'}}"), vec![("business_hours.wednesday", "is not an interval")]),
        (format!("{BASE}business_hours: {{holidays: [{{name: X, date: '2026-02-30'}}]}}"), vec![("business_hours.holidays[0].date", "is not a date")]),
        (format!("{BASE}business_hours: {{observed: {{saturday: thursday}}}}"), vec![("business_hours.observed.saturday", "is not friday, monday or none")]),
        (format!("{BASE}call_api: {{base_url: 'http://x', timeout_secs: 0, concurrency: many}}").replacen(BASE.lines().nth(1).unwrap(), "", 1),
            vec![("call_api.timeout_secs", "is out of range"), ("call_api.concurrency", "\"many\" is not a whole number")]),
        (format!("{BASE}extensions: {{map: {{'10a': x@example.com, '102': not-an-email}}}}"),
            vec![("extensions.map.10a", "is not an extension number"), ("extensions.map.102.email", "\"not-an-email\" is not an email address")]),
        (format!("{BASE}extensions: {{map: {{'101': {{email: a@example.com, nmae: A}}}}}}"), vec![("extensions.map.101.nmae", "is not a known setting")]),
        (format!("{BASE}phone: {{default_region: USA}}"), vec![("phone.default_region", "\"USA\" is not a two-letter country code")]),
        (format!("{BASE}direction: {{extension_digits: '5-2', extension_ranges: ['100-x'], internal_calls: sometimes}}"),
            vec![("direction.extension_digits", "is not a digit count"), ("direction.extension_ranges[0]", "is not a range"), ("direction.internal_calls", "is not skip or as_outbound")]),
        (format!("{BASE}groups: {{enabled: true}}"), vec![("business_hours", "is required when groups.enabled"), ("xapi", "is required when groups.enabled")]),
        (format!("{BASE}groups: {{debounce: 0}}"), vec![("groups.debounce", "is out of range")]),
        (format!("{BASE}xapi: {{base_url: 'https://pbx'}}"), vec![("xapi.client_id", "is required"), ("xapi.client_secret", "is required")]),
        (format!("{BASE}checkpoint: {{kind: redis}}"), vec![("checkpoint.kind", "\"redis\" is not a checkpoint store")]),
        (format!("{BASE}http: {{listen: 'localhost'}}"), vec![("http.listen", "is not an address")]),
        (format!("{BASE}logging: {{level: loud, format: xml}}"), vec![("logging.level", "is not a log level"), ("logging.format", "is not a log format")]),
        ("source: {kind: postgres_table, url: 'postgres://h/db', table: 'cdr; drop table x', columns: {time-start: 'a b', colour: c}}\ncall_api: {base_url: 'http://x'}".into(),
            vec![("source.table", "is not a plain SQL identifier"), ("source.columns.time-start", "is not a plain SQL identifier"), ("source.columns.colour", "is not id or a CDR field name")]),
        ("source: {kind: socket_listen, listen: 'nowhere', allow_peers: ['10.0.0.300']}\ncall_api: {base_url: 'http://x'}".into(),
            vec![("source.listen", "is not an address"), ("source.allow_peers[0]", "is not an IP address")]),
        (format!("{BASE}call_api: {{base_url: '${{API_URL}}', token: '${{TOKEN}}'}}").replacen(BASE.lines().nth(1).unwrap(), "", 1),
            vec![("call_api.base_url", "environment variable `API_URL` is not set"), ("call_api.token", "environment variable `TOKEN` is not set")]),
        (format!("{BASE}quarantine: {{path: '${{BROKEN'}}"), vec![("quarantine.path", "unterminated")]),
        ("source: [1, 2]\ncall_api: {base_url: 'http://x'}".into(), vec![("source", "has the wrong shape")]),
        (format!("{BASE}colour: blue"), vec![("colour", "is not a known setting")]),
        ("source: {kind: file\n".into(), vec![("", "is not valid YAML")]),
        ("- just\n- a list\n".into(), vec![("", "must be a mapping")]),
    ];
    assert!(cases.len() >= 20);
    for (yaml, expected) in cases {
        let found = issues(&yaml);
        for (path, fragment) in &expected {
            assert!(
                found
                    .iter()
                    .any(|i| i.path == *path && i.to_string().contains(fragment)),
                "expected `{path}` … `{fragment}` for:\n{yaml}\ngot:\n{}",
                found
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        assert_eq!(found.len(), expected.len(), "for:\n{yaml}\ngot: {found:#?}");
    }
}

#[test]
fn the_error_lists_every_issue() {
    let e = Config::from_yaml(
        "call_api: {base_url: 'ftp://x'}\nlogging: {level: loud}\n",
        &no_env,
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("invalid configuration (3 problems):"),
        "{text}"
    );
    assert!(
        text.contains("\n  call_api.base_url: \"ftp://x\" is not an http:// or https:// URL"),
        "{text}"
    );
}

#[test]
fn oversized_config_is_refused() {
    let big = format!(
        "{BASE}# {}\n",
        "x".repeat(pbx_core::config::MAX_CONFIG_BYTES)
    );
    assert!(issues(&big)[0].message.contains("over the limit"));
}
