//! Source errors that cannot heal, against a real PostgreSQL server: a refused login, a missing
//! database, table or column, a permission denied. `--once` (a drain) stops at once with
//! `pbx_sources::DeliveryError::SourceMisconfigured` (exit code 2) naming the setting; the service
//! reports `source: misconfigured`, keeps probing slowly, and picks up a fix (a grant) without a
//! restart. A connection refused stays transient.
//!
//! Every test is `#[ignore = "needs PostgreSQL…"]`; `scripts/test.sh` runs them with
//! `--ignored` against the private server of `scripts/pg.sh`, whose `pg_hba.conf` asks the
//! role `pbx_pw_login` for a password (every other role is trusted).

mod common;

use pbx_sources::DeliveryError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::pipeline_for;
use pbx_core::config::TableMapping;
use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore};
use pbx_sources::Error;
use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine, SourceHealth};
use pbx_sources::misconfigured::Problem;
use pbx_sources::postgres::SiteTableSource;
use pbx_testkit::pg_url;
use tokio_postgres::{Client, NoTls};

async fn admin() -> Client {
    let (client, conn) = tokio_postgres::connect(&pg_url(), NoTls)
        .await
        .expect("connect to PBX_TEST_PG_URL");
    tokio::spawn(conn);
    client
}

/// `PBX_TEST_PG_URL` with another user (and password) or database.
fn url_as(user: &str, password: Option<&str>, db: Option<&str>) -> String {
    let url = pg_url();
    let rest = url
        .strip_prefix("postgres://postgres@")
        .expect("PBX_TEST_PG_URL is postgres://postgres@host:port/db");
    let (host, database) = rest.split_once('/').expect("a database in the URL");
    let auth = password.map_or_else(|| user.to_owned(), |p| format!("{user}:{p}"));
    format!("postgres://{auth}@{host}/{}", db.unwrap_or(database))
}

/// A schema with a one-row site table; returns the schema's name.
async fn site_table(admin: &Client, name: &str) -> String {
    let schema = format!("e_{name}_{}", std::process::id());
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             CREATE TABLE {schema}.calls (id bigserial PRIMARY KEY, history_id text, call_id text,
               duration integer, started timestamptz, from_no text, to_no text, from_dn text, to_dn text);
             INSERT INTO {schema}.calls (history_id, call_id, duration, started, from_no, to_no, from_dn, to_dn)
               VALUES ('1', 'A_1', 30, '2026-11-02 18:00:00+00', '101', '+19075551234', '101', '10000');"
        ))
        .await
        .expect("create the site table");
    schema
}

fn mapping(table: &str, extra: &[(&str, &str)]) -> TableMapping {
    TableMapping {
        name: table.to_owned(),
        columns: [
            ("id", "id"),
            ("historyid", "history_id"),
            ("callid", "call_id"),
            ("duration", "duration"),
            ("time-start", "started"),
            ("from-no", "from_no"),
            ("to-no", "to_no"),
            ("from-dn", "from_dn"),
            ("to-dn", "to_dn"),
        ]
        .iter()
        .chain(extra)
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect(),
    }
}

fn engine(
    url: &str,
    table: &TableMapping,
    sink: &Arc<MemoryCallSink>,
) -> Engine<SiteTableSource, MemoryCallSink, MemoryCheckpointStore> {
    Engine::new(
        SiteTableSource::new(url, table).expect("a usable source"),
        Arc::clone(sink),
        MemoryCheckpointStore::new(),
        pipeline_for(101..=104),
        Arc::new(MemoryQuarantine::default()),
        EngineOptions {
            checkpoint_key: "errors".into(),
            // Transient failures would be retried 5 times over ≈ 15 s; a configuration
            // problem must not wait for any of it.
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_millis(300),
            ..EngineOptions::default()
        },
    )
}

/// Drains once and returns the error, which must come at once.
async fn drain_error(url: &str, table: &TableMapping) -> Error {
    let sink = Arc::new(MemoryCallSink::new());
    let mut e = engine(url, table, &sink);
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let err = e
        .drain(rx, chrono::Utc::now, |_| {})
        .await
        .expect_err("the drain must fail");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a configuration problem is not retried ({:?})",
        started.elapsed()
    );
    assert!(sink.delivered().is_empty());
    err
}

fn assert_misconfigured(err: &Error, problem: Problem, setting: &str, says: &str) {
    let Error::Delivery(DeliveryError::SourceMisconfigured { diagnosis, .. }) = err else {
        panic!("expected SourceMisconfigured, got {err:?}");
    };
    assert_eq!(diagnosis.problem(), problem, "{err}");
    assert_eq!(diagnosis.setting(), setting);
    assert!(err.is_config() && err.exit_code() == 2, "{err}");
    assert_eq!(err.kind().code(), "source_misconfigured");
    let text = err.to_string();
    assert!(text.contains(&format!("`{setting}`")), "{text}");
    assert!(text.contains(says), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: PBX_TEST_PG_URL (scripts/test.sh runs it; scripts/pg.sh starts a private server)"]
async fn a_refused_login_stops_a_drain_at_once_without_showing_the_password() {
    let admin = admin().await;
    let schema = site_table(&admin, "login").await;
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE pbx_pw_login LOGIN PASSWORD 'the-right-one';
             EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             GRANT USAGE ON SCHEMA {schema} TO pbx_pw_login; GRANT SELECT ON {schema}.calls TO pbx_pw_login;"
        ))
        .await
        .unwrap();
    let table = mapping(&format!("{schema}.calls"), &[]);
    let err = drain_error(&url_as("pbx_pw_login", Some("Wr0ngPassw0rd"), None), &table).await;
    assert_misconfigured(
        &err,
        Problem::Login,
        "source.url",
        "password authentication failed",
    );
    assert!(!err.to_string().contains("Wr0ngPassw0rd"), "{err}");
    // The right password reads the row.
    let sink = Arc::new(MemoryCallSink::new());
    let mut e = engine(
        &url_as("pbx_pw_login", Some("the-right-one"), None),
        &table,
        &sink,
    );
    let (_stop, rx) = tokio::sync::watch::channel(false);
    e.drain(rx, chrono::Utc::now, |_| {}).await.unwrap();
    assert_eq!(sink.delivered().len(), 1);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: PBX_TEST_PG_URL (scripts/test.sh runs it; scripts/pg.sh starts a private server)"]
async fn a_missing_database_table_or_column_names_the_setting() {
    let admin = admin().await;
    let schema = site_table(&admin, "missing").await;
    let url = pg_url();

    let err = drain_error(
        &url_as("postgres", None, Some("no_such_db_pbx")),
        &mapping(&format!("{schema}.calls"), &[]),
    )
    .await;
    assert_misconfigured(&err, Problem::Database, "source.url", "no_such_db_pbx");

    let err = drain_error(&url, &mapping(&format!("{schema}.no_such_table"), &[])).await;
    assert_misconfigured(&err, Problem::Table, "source.table", "no_such_table");

    let err = drain_error(&url, &mapping("no_such_schema.calls", &[])).await;
    assert_misconfigured(&err, Problem::Table, "source.table", "no_such_schema");

    let err = drain_error(
        &url,
        &mapping(
            &format!("{schema}.calls"),
            &[("to-dispname", "no_such_column")],
        ),
    )
    .await;
    assert_misconfigured(&err, Problem::Column, "source.columns", "no_such_column");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: PBX_TEST_PG_URL (scripts/test.sh runs it; scripts/pg.sh starts a private server)"]
async fn a_connection_refused_stays_transient() {
    // A port nothing listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let sink = Arc::new(MemoryCallSink::new());
    let mut e = engine(&url, &mapping("calls", &[]), &sink);
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let err = e.drain(rx, chrono::Utc::now, |_| {}).await.unwrap_err();
    assert!(
        matches!(err, Error::Delivery(DeliveryError::Source { .. })),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 1);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: PBX_TEST_PG_URL (scripts/test.sh runs it; scripts/pg.sh starts a private server)"]
async fn the_service_reports_a_revoked_permission_and_recovers_after_a_grant() {
    let admin = admin().await;
    let schema = site_table(&admin, "grant").await;
    let role = format!("pbx_reader_{}", std::process::id());
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             GRANT USAGE ON SCHEMA {schema} TO {role}; REVOKE SELECT ON {schema}.calls FROM {role};"
        ))
        .await
        .unwrap();
    let table = mapping(&format!("{schema}.calls"), &[]);

    // `--once`: exit code 2 at once.
    let err = drain_error(&url_as(&role, None, None), &table).await;
    assert_misconfigured(&err, Problem::Permission, "source.url", "permission denied");

    // The service: not ready, says why, probes, and recovers after the grant.
    let sink = Arc::new(MemoryCallSink::new());
    let mut e = engine(&url_as(&role, None, None), &table, &sink);
    let status = e.status();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let service = tokio::spawn(async move {
        e.run(rx, chrono::Utc::now).await.unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = status.lock().unwrap().clone();
        if let SourceHealth::Misconfigured {
            problem, setting, ..
        } = &s.source
        {
            assert_eq!((*problem, *setting), ("permission", "source.url"));
            assert!(
                s.last_error.as_deref().unwrap().contains("GRANT")
                    || s.last_error.as_deref().unwrap().contains("grant")
            );
            break;
        }
        assert!(Instant::now() < deadline, "never reported: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    admin
        .batch_execute(&format!("GRANT SELECT ON {schema}.calls TO {role};"))
        .await
        .unwrap();
    while sink.delivered().is_empty() {
        assert!(Instant::now() < deadline, "the grant was never picked up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status.lock().unwrap().source, SourceHealth::Ok);
    stop.send(true).unwrap();
    service.await.unwrap();
}
