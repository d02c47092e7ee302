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
        config.call_api.max_retry_after,
        std::time::Duration::from_secs(300)
    );
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
    assert_eq!(
        config.host_sections.get("http").unwrap()["listen"],
        "0.0.0.0:3000"
    );
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
        (format!("{BASE}call_api: {{base_url: 'http://x', max_retry_after_secs: 0}}").replacen(BASE.lines().nth(1).unwrap(), "", 1),
            vec![("call_api.max_retry_after_secs", "is out of range")]),
        (format!("{BASE}call_api: {{base_url: 'http://x', max_retry_after_secs: 18446744073709551615}}").replacen(BASE.lines().nth(1).unwrap(), "", 1),
            vec![("call_api.max_retry_after_secs", "is out of range")]),
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
        "call_api: {base_url: 'ftp://x'}\npolling: {batch_size: 0}\n",
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

/// Every configuration error that involves a URL shows it redacted: no password, no query
/// value.
#[test]
fn url_errors_never_show_secrets() {
    let secret = "PASSW0RD-d41d";
    let cases = [
        format!(
            "source: {{kind: file, path: x}}\ncall_api: {{base_url: 'htp://admin:{secret}@api.example.com'}}\n"
        ),
        format!(
            "source: {{kind: file, path: x}}\ncall_api: {{base_url: 'https://api.example.com/?key={secret}'}}\n"
        ),
        format!(
            "source: {{kind: file, path: x}}\ncall_api: {{base_url: 'https://admin:{secret}@api.example.com'}}\n"
        ),
        format!(
            "source: {{kind: file, path: x}}\ncall_api: {{base_url: 'http://admin:{secret}@api.example.com:99999'}}\n"
        ),
        format!(
            "source: {{kind: file, path: x}}\ncall_api: {{base_url: 'admin:{secret}@api.example.com'}}\n"
        ),
        format!(
            "{BASE}xapi: {{base_url: 'ftp://u:{secret}@pbx?token={secret}', client_id: c, client_secret: s}}\n"
        ),
        format!(
            "source: {{kind: postgres_cl, url: 'mysql://u:{secret}@db/x'}}\ncall_api: {{base_url: 'http://x'}}\n"
        ),
        format!(
            "source: {{kind: postgres_cl, url: 'postgres://u:{secret}@db:0/x?password={secret}'}}\ncall_api: {{base_url: 'http://x'}}\n"
        ),
        format!(
            "source: {{kind: postgres_cdroutput, url: 'host=db password={secret}'}}\ncall_api: {{base_url: 'http://x'}}\n"
        ),
        format!("{BASE}checkpoint: {{kind: postgres, url: 'postgresql://u:{secret}@db:x/cp'}}\n"),
        format!("{BASE}checkpoint: {{kind: postgres, url: 'pg://u:{secret}@db/cp'}}\n"),
    ];
    for yaml in &cases {
        let e = Config::from_yaml(yaml, &no_env).unwrap_err().to_string();
        assert!(!e.contains(secret), "secret shown:\n{e}");
        assert!(e.contains("url"), "{e}");
    }
    // The redacted value is still recognisable.
    let e = Config::from_yaml(&cases[0], &no_env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"htp://***@api.example.com\""), "{e}");
    let e = Config::from_yaml(&cases[1], &no_env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("?key=***"), "{e}");
}

/// YAML problems in the user's words, with where they are.
#[test]
fn yaml_problems_are_worded_for_the_user() {
    let dup = issues(&format!(
        "{BASE}http: {{listen: '127.0.0.1:1'}}\nhttp: {{listen: '127.0.0.1:2'}}\n"
    ));
    let text = dup[0].to_string();
    assert!(text.contains("the key `http` appears twice"), "{text}");
    assert!(!text.contains("DuplicateKeyPolicy"), "{text}");
    assert!(text.contains("line 4"), "{text}");
    // Too many values, too many levels (the YAML reader's limits), far too many levels.
    let many = format!("{BASE}x: [{}0]\n", "0,".repeat(300_000));
    let deep = format!("{BASE}x: {}{}\n", "[".repeat(100), "]".repeat(100));
    let deeper = format!("{BASE}x: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    for yaml in [many, deep, deeper] {
        let text = issues(&yaml)[0].to_string();
        assert!(
            text.contains("too large or too deeply nested") || text.contains("nested too deeply"),
            "{text}"
        );
        assert!(
            !text.contains("budget") && !text.contains("Nodes") && !text.contains("Depth"),
            "{text}"
        );
    }
}

#[test]
fn extension_files_use_the_sideloaders_validation() {
    use pbx_core::config::extensions_from_yaml;
    let map = extensions_from_yaml(
        "extensions: {'101': a@example.com, '102': {email: b@example.com, name: B}}",
    )
    .unwrap();
    assert_eq!(map.get("102").unwrap().email, "b@example.com");
    // The configuration file's own layout, with its default email.
    let map = extensions_from_yaml(
        "extensions: {map: {'101': a@example.com}, default_email: pbx@example.com}",
    )
    .unwrap();
    assert_eq!(map.email_for("101"), Some("a@example.com"));
    assert_eq!(map.email_for("999"), Some("pbx@example.com"));
    for (yaml, path, fragment) in [
        (
            "extensions: {'101': not-an-email}",
            "extensions.101.email",
            "\"not-an-email\" is not an email address",
        ),
        (
            "'101': not-an-email",
            "101.email",
            "is not an email address",
        ),
        (
            "extensions: {'10x': a@example.com}",
            "extensions.10x",
            "is not an extension number",
        ),
        (
            "extensions: {'101': [a]}",
            "extensions.101",
            "must be an email or {email, name}",
        ),
        (
            "extensions: {'101': {email: a@example.com, mail: b}}",
            "extensions.101.mail",
            "is not a known setting",
        ),
        (
            "extensions: {map: {'101': a@example.com}, default_email: nobody}",
            "extensions.default_email",
            "is not an email address",
        ),
        (
            "extensions: {map: {'101': x}}",
            "extensions.map.101.email",
            "is not an email address",
        ),
        ("extensions: [1]", "extensions", "must be a mapping"),
        ("- a\n- b\n", "", "must be a mapping of extensions"),
    ] {
        let e = extensions_from_yaml(yaml).unwrap_err();
        let Error::InvalidConfig { issues } = &e else {
            panic!("{e}")
        };
        assert!(
            issues
                .iter()
                .any(|i| i.path == path && i.to_string().contains(fragment)),
            "{yaml}: {e}"
        );
        assert!(!e.to_string().contains("untagged"), "{e}");
    }
}

#[test]
fn hours_source_codes_are_the_yaml_spellings() {
    let example = Config::from_yaml(EXAMPLE, &no_env).unwrap_or_else(|e| panic!("{e}"));
    let hours = example
        .business_hours
        .as_ref()
        .expect("the example has business hours");
    assert_eq!(hours.source_code(), "schedule");
    assert!(matches!(hours, HoursConfig::Schedule(_)));
    assert_eq!(HoursConfig::FromXapi.source_code(), "xapi");
}

#[test]
fn an_extension_map_from_yaml_names_the_key_of_each_problem() {
    use pbx_core::extensions::ExtensionMap;
    let yaml =
        "extensions:\n  '101': {email: anna@example.com, name: Anna}\n  '102': bob@example.com\n";
    let map = ExtensionMap::from_yaml(yaml, Some("extensions")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(map.len(), 2);
    assert_eq!(map.get("101").and_then(|u| u.name.as_deref()), Some("Anna"));
    let plain = ExtensionMap::from_yaml("'102': bob@example.com\n", None).unwrap();
    assert_eq!(plain.email_for("102"), Some("bob@example.com"));
    for (text, key, reason) in [
        (yaml, Some("users"), "no top-level key \"users\""),
        ("'101': [1, 2]\n", None, "not an extension map"),
        (
            "extensions: [1]\n",
            Some("extensions"),
            "not an extension map",
        ),
        ("{ not yaml", None, "unclosed"),
    ] {
        match ExtensionMap::from_yaml(text, key) {
            Err(Error::InvalidSetting {
                setting,
                reason: got,
                ..
            }) => {
                assert_eq!(setting, key.unwrap_or("extensions"));
                assert!(got.contains(reason), "{got}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}
