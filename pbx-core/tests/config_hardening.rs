//! Configuration hardening (issue #28): secrets stay hidden in every error, `${…}` problems
//! included; duplicate extensions; an empty trigger token beyond loopback; range checks on
//! disabled sections.

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
    // A setting that is not a secret still shows its value.
    let text = issues(&format!("{BASE}quarantine: {{path: '/var/${{DIR'}}\n"))[0].to_string();
    assert!(
        text.contains(r#"quarantine.path: "/var/${DIR" has an unterminated `${`"#),
        "{text}"
    );
}
