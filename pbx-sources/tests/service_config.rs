//! The service's own sections (`http`, `logging`, `ha`, `quarantine`), read by
//! [`pbx_sources::runtime::ServiceConfig`] out of what pbx-core leaves unread: their values,
//! defaults and messages, and — through [`load_config`] — every problem of a file reported at
//! once, whichever crate reads the setting.

use std::time::Duration;

use pbx_core::Error;
use pbx_core::config::{Config, ConfigIssue};
use pbx_sources::runtime::{HaConfig, LogFormat, ServiceConfig, load_config};

const BASE: &str =
    "source: {kind: file, path: /tmp/cdr.log}\ncall_api: {base_url: 'http://localhost:8080'}\n";

const LEGACY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/config/legacy-sideloader.yml"
));

fn no_env(_: &str) -> Option<String> {
    None
}

fn service(yaml: &str, env: &dyn Fn(&str) -> Option<String>) -> ServiceConfig {
    load_config(yaml, env).unwrap_or_else(|e| panic!("{e}")).1
}

fn issues_with(yaml: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<ConfigIssue> {
    match load_config(yaml, env) {
        Err(Error::InvalidConfig { issues }) => issues,
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(other) => panic!("{other}"),
    }
}

fn issues(yaml: &str) -> Vec<ConfigIssue> {
    issues_with(yaml, &no_env)
}

#[test]
fn bad_service_settings_are_named_with_their_paths() {
    #[rustfmt::skip]
    let cases: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("{BASE}http: {{listen: 'localhost'}}"), vec![("http.listen", "is not an address")]),
        (format!("{BASE}logging: {{level: loud, format: xml}}"), vec![("logging.level", "is not a log level"), ("logging.format", "is not a log format")]),
        (format!("{BASE}http: {{listn: '0.0.0.0:1'}}\nquarantine: {{paht: q.jsonl}}"),
            vec![("http.listn", "is not a known setting (check the spelling)"), ("quarantine.paht", "is not a known setting")]),
        (format!("{BASE}ha: [1]"), vec![("ha", "has the wrong shape: it must be a mapping of settings")]),
        (format!("{BASE}quarantine: {{path: '${{BROKEN'}}"), vec![("quarantine.path", "unterminated")]),
        (format!("{BASE}ha: {{poll_secs: 0}}\n"), vec![("ha.poll_secs", "is out of range (1 to 3600)")]),
        (format!("{BASE}ha: {{enabled: false, lock_key: 9223372036854775808}}\n"), vec![("ha.lock_key", "is out of range (-9223372036854775808 to 9223372036854775807)")]),
        (format!("{BASE}ha: {{lock_key: twelve}}\n"), vec![("ha.lock_key", "is not a whole number")]),
    ];
    for (yaml, expected) in cases {
        let found = issues(&yaml);
        let shown: Vec<String> = found.iter().map(|i| i.to_string()).collect();
        assert_eq!(found.len(), expected.len(), "{yaml}\n{shown:#?}");
        for (path, fragment) in expected {
            assert!(
                found
                    .iter()
                    .any(|i| i.path == path && i.to_string().contains(fragment)),
                "`{path}` … `{fragment}` for:\n{yaml}\ngot:\n{shown:#?}"
            );
        }
    }
}

/// pbx-core's `Config::from_yaml` accepts the service sections and leaves them unread;
/// `ServiceConfig::from_config` reads them afterwards, with the same messages.
#[test]
fn core_leaves_the_service_sections_to_service_config() {
    let yaml = format!("{BASE}logging: {{level: loud}}\nquarantine: {{path: '${{Q:-q.jsonl}}'}}\n");
    let config = Config::from_yaml(&yaml, &no_env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.host_sections.get("quarantine").unwrap()["path"],
        "q.jsonl"
    );
    let err = ServiceConfig::from_config(&config).unwrap_err();
    assert_eq!(
        err.issues()
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>(),
        ["logging.level: \"loud\" is not a log level (error, warn, info, debug, trace)"]
    );
}

#[test]
fn the_old_sideloaders_port_is_the_listen_port() {
    let (_, service) = load_config(LEGACY, &no_env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(service.http.listen.port(), 3000);
}

#[test]
fn log_format_codes_are_the_yaml_spellings() {
    // Each code reads back as the YAML value it came from.
    for (yaml, code) in [("text", "text"), ("json", "json")] {
        let service = service(&format!("{BASE}logging: {{format: {yaml}}}\n"), &no_env);
        assert_eq!(service.logging.format.code(), code);
    }
    assert_eq!(LogFormat::Text.code(), "text");
}

/// Files that break several things at once: every problem is in the one report — listen
/// address, call API URL (a bad port), source and checkpoint URLs together.
#[test]
fn files_breaking_several_things_report_everything_at_once() {
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "source: {kind: postgres_cdroutput, url: 'postgres://pbx:pw@db:99999/cdr'}\n\
             call_api: {base_url: 'http://api.example.com:70000'}\n\
             checkpoint: {kind: postgres, url: 'mysql://u:pw@db/x'}\n\
             http: {listen: 'everywhere'}\n",
            vec![
                ("source.url", "has the port `99999`"),
                ("call_api.base_url", "has a port that is not a number"),
                (
                    "checkpoint.url",
                    "is not a postgres:// or postgresql:// URL",
                ),
                ("http.listen", "is not an address"),
            ],
        ),
        (
            "source: {kind: socket_listen, listen: '0.0.0.0:5000', allow_peers: 5}\n\
             call_api: {base_url: 'http://api:99999'}\n\
             direction: {trunk_dns: {a: 1}, service_dns: 7}\n\
             http: {listen: nowhere}\n",
            vec![
                ("source.allow_peers", "must be a list (found integer `5`)"),
                ("direction.trunk_dns", "must be a list (found map)"),
                ("direction.service_dns", "must be a list"),
                ("call_api.base_url", "has a port that is not a number"),
                ("http.listen", "is not an address"),
            ],
        ),
        (
            "source: {kind: socket_connect, connect: 'pbx'}\n\
             call_api: {base_url: 'htp://calls'}\n\
             xapi: {base_url: 'https://pbx.example.com?x=1', client_id: c, client_secret: s}\n\
             polling: {interval_secs: 0}\n\
             logging: {level: chatty}\n",
            vec![
                ("source.connect", "is not host:port"),
                (
                    "call_api.base_url",
                    "\"htp://calls\" is not an http:// or https:// URL",
                ),
                ("xapi.base_url", "has a query or fragment"),
                ("polling.interval_secs", "is out of range"),
                ("logging.level", "is not a log level"),
            ],
        ),
        (
            "source: {kind: postgres_table, url: 'postgres://db/x', table: 'a b'}\n\
             call_api: {base_url: 'https://u:p@calls', timeout_secs: 100000000000000000000000}\n\
             extensions: {map: {'101': not-an-email, 'x1': a@example.com}}\n\
             http: {listen: '127.0.0.1:99999', token: ''}\n",
            vec![
                ("source.table", "is not a plain SQL identifier"),
                ("call_api.base_url", "holds a user name or password"),
                (
                    "call_api.timeout_secs",
                    "\"100000000000000000000000\" is not a whole number",
                ),
                (
                    "extensions.map.101.email",
                    "\"not-an-email\" is not an email address",
                ),
                ("extensions.map.x1", "is not an extension number"),
                ("http.listen", "is not an address"),
            ],
        ),
    ];
    for (yaml, expected) in cases {
        let found = issues(yaml);
        let shown = found.iter().map(|i| i.to_string()).collect::<Vec<_>>();
        for (path, fragment) in &expected {
            assert!(
                found
                    .iter()
                    .any(|i| i.path == *path && i.to_string().contains(fragment)),
                "expected `{path}` … `{fragment}` for:\n{yaml}\ngot:\n{}",
                shown.join("\n")
            );
        }
        assert_eq!(
            found.len(),
            expected.len(),
            "for:\n{yaml}\ngot:\n{}",
            shown.join("\n")
        );
    }
}

#[test]
fn the_trigger_token_is_a_secret() {
    let yaml = format!("{BASE}http: {{listen: '0.0.0.0:8081', token: 'tr1gger-t0ken'}}\n");
    let config = service(&yaml, &no_env);
    assert_eq!(
        config.http.token.as_ref().map(|t| t.expose()),
        Some("tr1gger-t0ken")
    );
    assert!(!format!("{config:?}").contains("tr1gger-t0ken"));
    let (core, _) = load_config(&yaml, &no_env).unwrap();
    assert!(!format!("{core:?}").contains("tr1gger-t0ken"), "{core:?}");
    let config = service(BASE, &no_env);
    assert!(config.http.token.is_none());
}

#[test]
fn the_service_sections_fill_service_config_and_keep_their_messages() {
    let yaml = format!(
        "{BASE}http: {{listen: '0.0.0.0:9090', token: t0k}}\nlogging: {{level: debug, format: json}}\n\
         checkpoint: {{kind: postgres, url: 'postgres://h/db'}}\nha: {{enabled: true, lock_key: 42, poll_secs: 5}}\n"
    );
    let found = service(&yaml, &no_env);
    let s = &found;
    assert_eq!(s.http.listen.to_string(), "0.0.0.0:9090");
    assert_eq!(s.http.token.as_ref().map(|t| t.expose()), Some("t0k"));
    assert_eq!(s.logging.level, "debug");
    assert_eq!(s.logging.format, LogFormat::Json);
    let ha = s.ha.as_ref().expect("ha enabled");
    assert_eq!((ha.lock_key, ha.poll), (42, Duration::from_secs(5)));

    // Defaults: the service sections may be left out entirely.
    let config = service(BASE, &no_env);
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:8081");
    assert_eq!(config.logging.level, "info");
    assert_eq!(config.logging.format, LogFormat::Text);
    assert!(config.ha.is_none());
    let yaml = format!(
        "{BASE}checkpoint: {{kind: postgres, url: 'postgres://h/db'}}\nha: {{enabled: true}}\n"
    );
    let config = service(&yaml, &no_env);
    assert_eq!(
        config.ha.map(|h| h.lock_key),
        Some(HaConfig::DEFAULT_LOCK_KEY)
    );

    // The messages are those of the sections, by path, as before the split.
    let found: Vec<String> = issues(&format!(
        "{BASE}ha: {{enabled: true, lock_key: big}}\nlogging: {{level: loud}}\n"
    ))
    .iter()
    .map(|i| i.to_string())
    .collect();
    assert_eq!(
        found,
        [
            "logging.level: \"loud\" is not a log level (error, warn, info, debug, trace)",
            "ha.enabled: needs checkpoint.kind: postgres (the standby resumes from the leader's checkpoint, and the lock lives on that server)",
            "ha.lock_key: \"big\" is not a whole number (a 64-bit signed integer)",
        ],
        "{found:#?}"
    );
}

/// An `http.token` that is empty (as written, or once substituted) on a listener beyond
/// loopback would leave the triggers open: refused, naming what the user wrote.
#[test]
fn an_empty_trigger_token_beyond_loopback_is_refused() {
    let env = |n: &str| (n == "EMPTY_TOKEN").then(String::new);
    let cases = [
        (
            "token: ''",
            r#"http.token: "" is empty, and http.listen 0.0.0.0:8081 is beyond this host"#,
        ),
        (
            "token: '  '",
            r#"http.token: "  " is empty (only white space)"#,
        ),
        (
            "token: '${EMPTY_TOKEN}'",
            r#"http.token: "${EMPTY_TOKEN}" is empty once its variables are substituted, and http.listen 0.0.0.0:8081"#,
        ),
        (
            "token: '${UNSET_TOKEN:-}'",
            r#"http.token: "${UNSET_TOKEN:-}" is empty once its variables are substituted"#,
        ),
        (
            "token: null",
            "http.token: is empty, and http.listen 0.0.0.0:8081",
        ),
    ];
    for (token, want) in cases {
        let yaml = format!("{BASE}http: {{listen: '0.0.0.0:8081', {token}}}\n");
        let found = issues_with(&yaml, &env);
        assert_eq!(found.len(), 1, "{found:?}");
        let text = found[0].to_string();
        assert!(text.contains(want), "{token}: {text}");
        assert!(
            text.contains("set a token, or listen on 127.0.0.1"),
            "{text}"
        );
    }
    // On loopback an empty token is no token, as when it is not written.
    let yaml = format!("{BASE}http: {{listen: '127.0.0.1:8081', token: '${{EMPTY_TOKEN}}'}}\n");
    let config = service(&yaml, &env);
    assert!(config.http.token.is_none());
    // A set token beyond loopback, and no token at all (the start-up warning says "not set"),
    // are accepted as before.
    let yaml = format!("{BASE}http: {{listen: '0.0.0.0:8081', token: t0ken}}\n");
    assert!(load_config(&yaml, &env).is_ok());
    let yaml = format!("{BASE}http: {{listen: '0.0.0.0:8081'}}\n");
    assert!(load_config(&yaml, &env).is_ok());
}
