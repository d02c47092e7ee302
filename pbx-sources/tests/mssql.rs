//! The SQL Server site-table source (`pbx_sources::mssql`) through tiberius against the TDS
//! test double in `tests/tds` — no SQL Server can be installed on the test machines. The
//! double decodes every request, so these tests see the SQL text and the parameter values
//! exactly as they went over the wire. `tests/mssql_live.rs` runs against a real server.

mod tds;

use pbx_sources::{CheckpointError, DatabaseError, DeliveryError};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use pbx_core::config::{Secret, TableMapping};
use pbx_core::{CdrSource, Checkpoint, Location, RawRecord, SourceRecord};
use pbx_sources::Error;
use pbx_sources::mssql::MssqlSource;
use tds::{Request, SqlType, TdsDouble, Value};

const TABLE: &str = "dbo.CallLog";

fn mapping() -> TableMapping {
    TableMapping {
        name: TABLE.into(),
        columns: [
            ("id", "CdrId"),
            ("historyid", "HistoryId"),
            ("callid", "CallId"),
            ("time-start", "Started"),
            ("time-answered", "Answered"),
            ("time-end", "Ended"),
            ("duration", "TalkTime"),
            ("from-no", "Caller"),
            ("to-no", "Callee"),
            ("from-dn", "FromDn"),
            ("to-dn", "ToDn"),
            ("final-dn", "FinalDn"),
            ("from-type", "FromType"),
            ("to-type", "ToType"),
            ("final-type", "FinalType"),
        ]
        .into_iter()
        .map(|(f, c)| (f.to_owned(), c.to_owned()))
        .collect(),
    }
}

const COLUMNS: [(&str, SqlType); 15] = [
    ("CdrId", SqlType::BigInt),
    ("HistoryId", SqlType::NVarChar),
    ("CallId", SqlType::VarChar),
    ("Started", SqlType::DateTime2),
    ("Answered", SqlType::DateTime2),
    ("Ended", SqlType::DateTimeOffset),
    ("TalkTime", SqlType::NVarChar),
    ("Caller", SqlType::NVarChar),
    ("Callee", SqlType::NVarChar),
    ("FromDn", SqlType::NVarChar),
    ("ToDn", SqlType::NVarChar),
    ("FinalDn", SqlType::NVarChar),
    ("FromType", SqlType::NVarChar),
    ("ToType", SqlType::NVarChar),
    ("FinalType", SqlType::Int),
];

fn at(minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 2)
        .unwrap()
        .and_hms_milli_opt(8, minute, 11, 250)
        .unwrap()
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// An answered inbound call from an outside number to extension 101.
fn inbound(id: i64) -> Vec<Value> {
    let m = u32::try_from(id % 50).unwrap();
    vec![
        Value::Int(id),
        text(&format!("Call {}", 40000 + id)),
        text(&format!("00000{id:X}_1")),
        Value::Time(at(m)),
        Value::Time(at(m) + chrono::TimeDelta::seconds(4)),
        // The end as the site wrote it: local time at +02:00.
        Value::Zoned(
            (at(m) + chrono::TimeDelta::seconds(64))
                .and_utc()
                .with_timezone(&chrono::FixedOffset::east_opt(7200).unwrap()),
        ),
        text("00:01:00"),
        text("+19075551234"),
        text("Ext.101"),
        text("10000"),
        text("101"),
        text("101"),
        text("Line"),
        text("Extension"),
        Value::Null,
    ]
}

async fn double_with(ids: impl IntoIterator<Item = i64>) -> TdsDouble {
    let double = TdsDouble::start().await;
    double.create_table(TABLE, &COLUMNS);
    for id in ids {
        double.insert(TABLE, inbound(id));
    }
    double
}

fn source(double: &TdsDouble) -> MssqlSource {
    MssqlSource::new(&Secret::new(double.ado_url()), &mapping())
        .unwrap()
        .with_timeout(Duration::from_secs(10))
}

fn row_ids(records: &[SourceRecord]) -> Vec<i64> {
    records
        .iter()
        .map(|r| match &r.record {
            Ok(RawRecord::Row { id, .. }) => {
                assert_eq!(r.checkpoint.as_str(), id.to_string());
                *id
            }
            other => panic!("{other:?}"),
        })
        .collect()
}

/// The pages of a source until it has nothing more, with the checkpoint carried along.
async fn drain(
    source: &mut MssqlSource,
    mut after: Option<Checkpoint>,
    page: usize,
) -> (Vec<Vec<i64>>, Option<Checkpoint>) {
    let mut pages = Vec::new();
    loop {
        let batch = source.fetch(after.as_ref(), page).await.unwrap();
        if batch.is_empty() {
            return (pages, after);
        }
        after = Some(batch.last().unwrap().checkpoint.clone());
        pages.push(row_ids(&batch));
    }
}

fn params(r: &Request) -> Vec<(String, Value)> {
    match r {
        Request::Rpc {
            procedure,
            sql,
            declarations,
            params,
        } => {
            assert_eq!(procedure, "sp_executesql");
            assert_eq!(
                sql,
                "SELECT TOP (@P1) [CdrId], [HistoryId], [CallId], [TalkTime], [Started], [Answered], [Ended], [Caller], [Callee], [FromDn], [ToDn], [FinalDn], [FromType], [ToType], [FinalType] FROM [dbo].[CallLog] WHERE [CdrId] > @P2 ORDER BY [CdrId]"
            );
            assert_eq!(declarations, "@P1 bigint,@P2 bigint");
            params.clone()
        }
        Request::Batch { sql } => panic!("a batch was sent: {sql}"),
    }
}

fn p(n: i64, after: i64) -> Vec<(String, Value)> {
    vec![
        ("@P1".to_owned(), Value::Int(n)),
        ("@P2".to_owned(), Value::Int(after)),
    ]
}

#[tokio::test]
async fn pages_follow_the_id_with_keyset_values_sent_as_parameters() {
    // Ids with gaps, inserted out of order: the order is the id's, not the insertion's.
    let mut ids: Vec<i64> = (1..=25).map(|i| i * 3).collect();
    ids.swap(0, 7);
    ids.swap(12, 20);
    let double = double_with(ids).await;
    let mut src = source(&double);
    let (pages, last) = drain(&mut src, None, 10).await;
    let expected: Vec<i64> = (1..=25).map(|i| i * 3).collect();
    assert_eq!(pages.len(), 3);
    assert_eq!(pages.concat(), expected);
    assert_eq!(pages[2].len(), 5);
    assert_eq!(last, Some(Checkpoint::new("75")));

    // What went over the wire: one statement, only placeholders, the values as bigint
    // parameters — the page size and the last id of the page before.
    let sent: Vec<_> = double.requests().iter().map(params).collect();
    assert_eq!(sent, [p(10, i64::MIN), p(10, 30), p(10, 60), p(10, 75)]);
    // One session for all the pages.
    assert_eq!(double.logins(), 1);

    // The rows arrive mapped into pbx-core's CDR.
    let first = src.fetch(None, 1).await.unwrap();
    let Ok(RawRecord::Row { id: 3, cdr }) = &first[0].record else {
        panic!("{first:?}")
    };
    assert_eq!(cdr.history_id.as_deref(), Some("40003"));
    assert_eq!(cdr.call_id.as_deref(), Some("000003_1"));
    assert_eq!(
        cdr.time_start,
        Some(
            Utc.with_ymd_and_hms(2026, 11, 2, 8, 3, 11).unwrap()
                + chrono::TimeDelta::milliseconds(250)
        )
    );
    assert_eq!(
        cdr.time_end.map(|t| t.to_rfc3339()),
        Some("2026-11-02T08:04:15.250+00:00".into())
    );
    assert_eq!(cdr.duration, Some(Duration::from_secs(60)));
    assert_eq!(cdr.to_dn.as_deref(), Some("101"));
    assert_eq!(cdr.final_type, None);
}

#[tokio::test]
async fn a_restart_from_the_checkpoint_emits_nothing_twice() {
    let double = double_with(1..=12).await;
    let mut first = source(&double);
    let page1 = first.fetch(None, 5).await.unwrap();
    let page2 = first
        .fetch(Some(&page1.last().unwrap().checkpoint), 5)
        .await
        .unwrap();
    let saved = page2.last().unwrap().checkpoint.clone();
    drop(first);
    // New rows arrive while the sideloader is down.
    for id in 13..=20 {
        double.insert(TABLE, inbound(id));
    }
    // A new process: a new source, the saved checkpoint, a new session.
    let mut second = source(&double);
    let (pages, _) = drain(&mut second, Some(saved), 5).await;
    let seen: Vec<i64> = [row_ids(&page1), row_ids(&page2), pages.concat()].concat();
    assert_eq!(seen, (1..=20).collect::<Vec<_>>());
    assert_eq!(double.logins(), 2);
    // Nothing new: an empty page, again and again.
    assert!(
        second
            .fetch(Some(&Checkpoint::new("20")), 5)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_bad_row_is_that_rows_error_and_the_page_goes_on() {
    let double = double_with([1]).await;
    let mut no_start = inbound(2);
    no_start[3] = Value::Null;
    double.insert(TABLE, no_start);
    let mut bad_talk = inbound(3);
    bad_talk[6] = text("three minutes");
    double.insert(TABLE, bad_talk);
    let mut no_ids = inbound(4);
    no_ids[1] = Value::Null;
    no_ids[2] = text("  ");
    double.insert(TABLE, no_ids);
    double.insert(TABLE, inbound(5));

    let page = source(&double).fetch(None, 10).await.unwrap();
    let checkpoints: Vec<&str> = page.iter().map(|r| r.checkpoint.as_str()).collect();
    assert_eq!(checkpoints, ["1", "2", "3", "4", "5"]);
    assert!(matches!(page[0].record, Ok(RawRecord::Row { id: 1, .. })));
    assert!(matches!(page[4].record, Ok(RawRecord::Row { id: 5, .. })));
    let err = |i: usize| page[i].record.as_ref().unwrap_err().clone();

    let e = err(1);
    assert!(
        matches!(&e, pbx_core::Error::InvalidColumn { at: Location::Row(id), column, field: "time-start", value: None, .. } if id == "2" && &**column == "Started"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "row 2: column `Started` (time-start) is NULL, expected the call's start time (a UTC time)"
    );
    let e = err(2);
    assert!(
        matches!(&e, pbx_core::Error::InvalidColumn { at: Location::Row(id), column, field: "duration", value: Some(v), .. } if id == "3" && &**column == "TalkTime" && v == "three minutes"),
        "{e:?}"
    );
    let e = err(3);
    assert_eq!(e.location(), Some(&Location::Row("4".into())));
    assert!(e.to_string().contains("HistoryId"), "{e}");
}

#[tokio::test]
async fn a_connection_cut_mid_result_is_an_error_then_the_next_fetch_recovers() {
    let double = double_with(1..=10).await;
    let mut src = source(&double);
    double.cut_next_result_after(3);
    let e = src.fetch(None, 10).await.unwrap_err();
    assert!(
        matches!(e, Error::Database(DatabaseError::SqlServer { .. })),
        "{e:?}"
    );
    assert!(e.is_transient());
    assert!(!src.is_connected());
    // Nothing was handed out, so the same checkpoint gives the whole page on a new session.
    let page = src.fetch(None, 10).await.unwrap();
    assert_eq!(row_ids(&page), (1..=10).collect::<Vec<_>>());
    assert_eq!(double.logins(), 2);
}

#[tokio::test]
async fn a_server_restart_between_polls_is_an_error_then_the_next_fetch_recovers() {
    let double = double_with(1..=9).await;
    let mut src = source(&double);
    let page1 = src.fetch(None, 4).await.unwrap();
    let cp = page1.last().unwrap().checkpoint.clone();
    double.drop_connections().await;
    let e = src.fetch(Some(&cp), 4).await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert!(!src.is_connected());
    let page2 = src.fetch(Some(&cp), 4).await.unwrap();
    let page3 = src
        .fetch(Some(&page2.last().unwrap().checkpoint), 4)
        .await
        .unwrap();
    let seen = [row_ids(&page1), row_ids(&page2), row_ids(&page3)].concat();
    assert_eq!(seen, (1..=9).collect::<Vec<_>>());
    assert_eq!(double.logins(), 2);
}

#[tokio::test]
async fn a_hung_server_times_out_then_the_next_fetch_recovers() {
    let double = double_with(1..=3).await;
    let mut src = MssqlSource::new(&Secret::new(double.ado_url()), &mapping())
        .unwrap()
        .with_timeout(Duration::from_millis(300));
    double.stall_next_query();
    let e = src.fetch(None, 10).await.unwrap_err();
    assert!(
        matches!(e, Error::Database(DatabaseError::Timeout { .. })),
        "{e:?}"
    );
    assert_eq!(row_ids(&src.fetch(None, 10).await.unwrap()), [1, 2, 3]);
}

#[tokio::test]
async fn names_that_are_not_plain_identifiers_are_refused_before_any_connection() {
    let double = double_with(1..=3).await;
    let url = Secret::new(double.ado_url());
    let evil_tables = [
        "CallLog; DROP TABLE CallLog",
        "CallLog]; DROP TABLE CallLog--",
        "dbo.CallLog WHERE 1=1 --",
        "[dbo].[CallLog]",
        "a.b.c",
    ];
    for name in evil_tables {
        let m = TableMapping {
            name: name.into(),
            ..mapping()
        };
        let e = MssqlSource::new(&url, &m).unwrap_err();
        assert!(matches!(e, Error::Setting { .. }), "{name}: {e:?}");
        assert!(e.to_string().contains("source.table"), "{e}");
    }
    for column in ["Caller]) OR (1=1", "Caller--", "Caller, [Callee]", "@P2"] {
        for field in ["from-no", "id"] {
            let mut m = mapping();
            m.columns.insert(field.into(), column.into());
            let e = MssqlSource::new(&url, &m).unwrap_err();
            assert!(
                e.to_string().contains(&format!("source.columns.{field}")),
                "{e}"
            );
        }
    }
    assert!(double.requests().is_empty());
    assert_eq!(double.logins() + double.failed_logins(), 0);
}

#[tokio::test]
async fn url_spellings_and_a_refused_login() {
    let double = double_with(1..=2).await;
    // The mssql:// URL (password percent-encoded) reaches the same table.
    let mut src = MssqlSource::new(&Secret::new(double.mssql_url()), &mapping()).unwrap();
    assert_eq!(src.server(), format!("127.0.0.1:{}", double.addr().port()));
    assert_eq!(row_ids(&src.fetch(None, 5).await.unwrap()), [1, 2]);

    // A wrong password: the server's refusal, never the password.
    let wrong = double.ado_url().replace(tds::PASSWORD, "hunter2-wrong");
    let mut src = MssqlSource::new(&Secret::new(wrong), &mapping()).unwrap();
    let e = src.fetch(None, 5).await.unwrap_err();
    assert!(
        matches!(e, Error::Database(DatabaseError::Connect { .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("Login failed for user 'pbx'"), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(!format!("{src:?}").contains("hunter2"));
    assert_eq!(double.failed_logins(), 1);

    // Asking for TLS from a server that has none fails at once, saying so.
    let tls = double.ado_url().replace("DANGER_PLAINTEXT", "true");
    let e = MssqlSource::new(&Secret::new(tls), &mapping())
        .unwrap()
        .fetch(None, 5)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Database(DatabaseError::Connect { .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("encryption"), "{e}");

    // A checkpoint that is not an id is refused without a query.
    let before = double.requests().len();
    let e = src
        .fetch(Some(&Checkpoint::new("1:2:3")), 5)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Checkpoint(CheckpointError::BadCheckpoint { .. })),
        "{e:?}"
    );
    assert_eq!(double.requests().len(), before);
}

#[tokio::test]
async fn an_id_column_that_is_not_an_integer_fails_the_page() {
    let double = TdsDouble::start().await;
    double.create_table(
        "dbo.Texty",
        &[
            ("id", SqlType::BigInt),
            ("ref", SqlType::NVarChar),
            ("ts", SqlType::DateTime2),
        ],
    );
    double.insert(
        "dbo.Texty",
        vec![Value::Int(1), text("A-1"), Value::Time(at(1))],
    );
    let m = TableMapping {
        name: "dbo.Texty".into(),
        columns: [("id", "ref"), ("time-start", "ts")]
            .into_iter()
            .map(|(f, c)| (f.to_owned(), c.to_owned()))
            .collect(),
    };
    let mut src = MssqlSource::new(&Secret::new(double.ado_url()), &m).unwrap();
    // The double, like SQL Server, cannot compare the text with the bigint parameter.
    let e = src.fetch(None, 5).await.unwrap_err();
    assert!(
        matches!(e, Error::Database(DatabaseError::SqlServer { .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("Conversion failed"), "{e}");
}

#[cfg(feature = "delivery")]
#[tokio::test]
async fn the_sync_engine_delivers_each_row_once_across_restarts() {
    use pbx_core::call::CallMapper;
    use pbx_core::delivery::Pipeline;
    use pbx_core::extensions::User;
    use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore};
    use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine};

    let double = double_with(1..=7).await;
    let mut bad = inbound(8);
    bad[3] = Value::Null;
    double.insert(TABLE, bad);
    let (sink, store, quarantine) = (
        Arc::new(MemoryCallSink::new()),
        Arc::new(MemoryCheckpointStore::new()),
        Arc::new(MemoryQuarantine::default()),
    );
    let engine = |src: MssqlSource| {
        Engine::new(
            src,
            Arc::clone(&sink),
            Arc::clone(&store),
            Pipeline {
                mapper: CallMapper::default()
                    .with_extensions([User::new("101", "anna@example.com")].into_iter().collect()),
                ..Pipeline::default()
            },
            quarantine.clone(),
            EngineOptions {
                batch_size: 3,
                ..EngineOptions::default()
            },
        )
    };
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let drain = async |e: &mut Engine<MssqlSource, MemoryCallSink, Arc<MemoryCheckpointStore>>| {
        let (_stop, rx) = tokio::sync::watch::channel(false);
        e.drain(rx, move || now, |_| {}).await.unwrap();
        e.status().lock().unwrap().counters.received
    };
    let mut e = engine(source(&double));
    assert_eq!(drain(&mut e).await, 8);
    let delivered: Vec<String> = sink
        .delivered()
        .into_iter()
        .map(|c| c.pbx_call_id)
        .collect();
    assert_eq!(delivered.len(), 7, "{delivered:?}");
    assert_eq!(delivered.iter().collect::<HashSet<_>>().len(), 7);
    assert!(
        delivered.iter().all(|id| id.starts_with("3cx-400")),
        "{delivered:?}"
    );
    assert_eq!(quarantine.entries().len(), 1);
    // A restart: new engine, new source, same store — nothing is fetched again.
    let mut again = engine(source(&double));
    assert_eq!(drain(&mut again).await, 0);
    assert_eq!(sink.delivered().len(), 7);
}

/// The double itself: a batch with literal values and an `sp_executesql` call with
/// parameters are logged apart, with the decoded values — what the tests above rely on.
#[tokio::test]
async fn the_double_tells_a_literal_batch_from_parameters() {
    use tokio_util::compat::TokioAsyncWriteCompatExt;

    let double = double_with(1..=4).await;
    let config = tiberius::Config::from_ado_string(&double.ado_url()).unwrap();
    let tcp = tokio::net::TcpStream::connect(config.get_addr())
        .await
        .unwrap();
    let mut client = tiberius::Client::connect(config, tcp.compat_write())
        .await
        .unwrap();
    let ids = |rows: Vec<tiberius::Row>| -> Vec<i64> {
        rows.iter().map(|r| r.get::<i64, _>(0).unwrap()).collect()
    };
    let sql = "SELECT TOP (2) CdrId FROM CallLog WHERE CdrId > 1 ORDER BY CdrId";
    let rows = client
        .simple_query(sql)
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(ids(rows), [2, 3]);
    // A text parameter is decoded as text, and compared with a bigint it fails as on SQL
    // Server.
    let e = match client
        .query(
            "SELECT TOP (@P1) [CdrId] FROM [dbo].[CallLog] WHERE [CdrId] > @P2 ORDER BY [CdrId]",
            &[&3i32, &"2"],
        )
        .await
    {
        Ok(_) => panic!("a text compared with a bigint was answered"),
        Err(e) => e,
    };
    assert!(e.to_string().contains("Conversion failed"), "{e}");
    // An undeclared variable in a batch is an error, not a silent match.
    let e = match client
        .simple_query("SELECT TOP (@P1) CdrId FROM CallLog WHERE CdrId > 0 ORDER BY CdrId")
        .await
    {
        Ok(_) => panic!("an undeclared variable was answered"),
        Err(e) => e,
    };
    assert!(
        e.to_string().contains("Must declare the scalar variable"),
        "{e}"
    );
    assert_eq!(
        double.requests(),
        [
            Request::Batch { sql: sql.into() },
            Request::Rpc {
                procedure: "sp_executesql".into(),
                sql: "SELECT TOP (@P1) [CdrId] FROM [dbo].[CallLog] WHERE [CdrId] > @P2 ORDER BY [CdrId]".into(),
                declarations: "@P1 int,@P2 nvarchar(4000)".into(),
                params: vec![
                    ("@P1".into(), Value::Int(3)),
                    ("@P2".into(), Value::Text("2".into())),
                ],
            },
            Request::Batch {
                sql: "SELECT TOP (@P1) CdrId FROM CallLog WHERE CdrId > 0 ORDER BY CdrId".into()
            },
        ]
    );
}

/// Errors that cannot heal, by SQL Server's error numbers (the double answers as SQL Server
/// does): a drain stops at once with `SourceMisconfigured` naming the setting (exit code 2).
#[tokio::test]
async fn errors_that_cannot_heal_stop_a_drain_at_once_and_name_the_setting() {
    use pbx_core::delivery::Pipeline;
    use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore};
    use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine};
    use pbx_sources::misconfigured::Problem;

    let double = double_with(1..=2).await;
    let drain = |url: String, table: TableMapping| async move {
        let mut e = Engine::new(
            MssqlSource::new(&Secret::new(url), &table)
                .unwrap()
                .with_timeout(Duration::from_secs(10)),
            Arc::new(MemoryCallSink::new()),
            MemoryCheckpointStore::new(),
            Pipeline::default(),
            Arc::new(MemoryQuarantine::default()),
            EngineOptions {
                backoff_base: Duration::from_secs(1),
                ..EngineOptions::default()
            },
        );
        let (_stop, rx) = tokio::sync::watch::channel(false);
        let started = std::time::Instant::now();
        let err = e.drain(rx, Utc::now, |_| {}).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );
        err
    };
    let check = |err: Error, problem: Problem, setting: &str, says: &str| {
        let Error::Delivery(DeliveryError::SourceMisconfigured { diagnosis, .. }) = &err else {
            panic!("expected SourceMisconfigured, got {err:?}");
        };
        assert_eq!(
            (diagnosis.problem(), diagnosis.setting()),
            (problem, setting),
            "{err}"
        );
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains(says), "{err}");
        assert!(!err.to_string().contains(tds::PASSWORD), "{err}");
    };

    let wrong = double.ado_url().replace(tds::PASSWORD, "hunter2-wrong");
    let err = drain(wrong, mapping()).await;
    check(
        err,
        Problem::Login,
        "source.url",
        "Login failed for user 'pbx'",
    );

    let db = double
        .ado_url()
        .replace("database=cdrdb", "database=nosuchdb");
    check(
        drain(db, mapping()).await,
        Problem::Database,
        "source.url",
        "nosuchdb",
    );

    let mut missing = mapping();
    missing.name = "dbo.NoSuchTable".into();
    check(
        drain(double.ado_url(), missing).await,
        Problem::Table,
        "source.table",
        "NoSuchTable",
    );

    let mut column = mapping();
    column
        .columns
        .insert("to-dispname".into(), "NoSuchColumn".into());
    check(
        drain(double.ado_url(), column).await,
        Problem::Column,
        "source.columns",
        "NoSuchColumn",
    );

    double.deny_select("dbo.CallLog", true);
    check(
        drain(double.ado_url(), mapping()).await,
        Problem::Permission,
        "source.url",
        "SELECT permission was denied",
    );
    double.deny_select("dbo.CallLog", false);

    // `encrypt=strict` against a server without TDS 8: said so within seconds, not a bare
    // 15 s handshake timeout.
    let strict = double
        .ado_url()
        .replace("encrypt=DANGER_PLAINTEXT", "encrypt=strict");
    check(
        drain(strict, mapping()).await,
        Problem::Encryption,
        "source.url",
        "encrypt=strict needs TDS 8",
    );
}

/// Row `id` of a table spanning 500 days: its call starts `12 * id` hours after 1 January
/// 2025 (the start column holding `start`'s spelling of it).
fn spread(id: i64, start: impl Fn(NaiveDateTime) -> Value) -> Vec<Value> {
    let mut row = inbound(id);
    let at = NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + chrono::TimeDelta::hours(12 * id);
    row[3] = start(at);
    row
}

/// The ids of a batch, rows that could not be mapped included.
fn any_ids(records: &[SourceRecord]) -> Vec<String> {
    records.iter().map(|r| r.checkpoint.to_string()).collect()
}

async fn drain_all(source: &mut MssqlSource) -> Vec<String> {
    let (mut all, mut after): (Vec<String>, Option<Checkpoint>) = (Vec::new(), None);
    loop {
        let batch = source.fetch(after.as_ref(), 100).await.unwrap();
        let Some(last) = batch.last() else {
            return all;
        };
        after = Some(last.checkpoint.clone());
        all.extend(any_ids(&batch));
    }
}

fn one_day() -> pbx_core::delivery::TimeRange {
    pbx_core::delivery::TimeRange::parse("2025-06-01", "2025-06-01", chrono_tz::UTC).unwrap()
}

/// Issue 29, point 3: a backfill's range narrows the query — the bounds travel as
/// `datetime2` parameters (`@P3`, `@P4`), never in the SQL text — so a one-day backfill of
/// a 1 000-row, 500-day table reads that day's rows (and the one without a start time), not
/// the table.
#[tokio::test]
async fn a_backfill_reads_only_the_rows_of_its_range() {
    let double = TdsDouble::start().await;
    double.create_table(TABLE, &COLUMNS);
    for id in 1..=1000 {
        double.insert(TABLE, spread(id, Value::Time));
    }
    let mut without_start = spread(1001, Value::Time);
    without_start[3] = Value::Null;
    double.insert(TABLE, without_start);
    assert_eq!(drain_all(&mut source(&double)).await.len(), 1001);
    let before = double.requests().len();

    let mut src = source(&double).with_range(Some(one_day()));
    let read = drain_all(&mut src).await;
    // 1 June 2025 00:00 and 12:00 UTC: rows 302 and 303; 304 starts at 2 June 00:00, inside
    // the second the bounds are widened by (the engine skips it); row 1001 has no start.
    assert_eq!(read, ["302", "303", "304", "1001"]);
    assert!(
        src.sql()
            .contains("AND (([Started] >= @P3 AND [Started] < @P4) OR [Started] IS NULL)"),
        "{}",
        src.sql()
    );

    let sent = &double.requests()[before..];
    // First the page statement for no row (the column types), then the narrowed pages.
    let Request::Rpc {
        sql, params: probe, ..
    } = &sent[0]
    else {
        panic!("{:?}", sent[0])
    };
    assert!(!sql.contains("@P3"), "{sql}");
    assert_eq!(probe, &p(0, i64::MIN));
    let from = NaiveDate::from_ymd_opt(2025, 5, 31)
        .unwrap()
        .and_hms_opt(23, 59, 59)
        .unwrap();
    let to = NaiveDate::from_ymd_opt(2025, 6, 2)
        .unwrap()
        .and_hms_opt(0, 0, 1)
        .unwrap();
    for r in &sent[1..] {
        let Request::Rpc {
            sql,
            declarations,
            params,
            ..
        } = r
        else {
            panic!("{r:?}")
        };
        assert_eq!(sql, src.sql());
        assert!(!sql.contains("2025"), "no value in the text: {sql}");
        assert!(declarations.contains("@P3 datetime2"), "{declarations}");
        assert_eq!(
            params[2..],
            [
                ("@P3".to_owned(), Value::Time(from)),
                ("@P4".to_owned(), Value::Time(to))
            ]
        );
    }
    assert_eq!(sent.len(), 3, "the probe, one page, the empty page");
}

/// A start column of `datetimeoffset` is narrowed too (the bounds compare as UTC); one kept
/// as text cannot be, and the whole table is read (the engine skips what is outside).
#[tokio::test]
async fn a_backfill_narrows_a_zoned_start_and_reads_a_text_start_whole() {
    let zoned = TdsDouble::start().await;
    let mut columns = COLUMNS;
    columns[3].1 = SqlType::DateTimeOffset;
    zoned.create_table(TABLE, &columns);
    let plus2 = chrono::FixedOffset::east_opt(7200).unwrap();
    for id in 1..=1000 {
        zoned.insert(
            TABLE,
            spread(id, |t| Value::Zoned(t.and_utc().with_timezone(&plus2))),
        );
    }
    let mut src = source(&zoned).with_range(Some(one_day()));
    assert_eq!(drain_all(&mut src).await, ["302", "303", "304"]);

    let text = TdsDouble::start().await;
    columns[3].1 = SqlType::NVarChar;
    text.create_table(TABLE, &columns);
    for id in 1..=300 {
        text.insert(
            TABLE,
            spread(id, |t| {
                Value::Text(t.format("%Y-%m-%d %H:%M:%S").to_string())
            }),
        );
    }
    let mut src = source(&text).with_range(Some(one_day()));
    assert_eq!(drain_all(&mut src).await.len(), 300);
    assert!(!src.sql().contains("@P3"), "{}", src.sql());
}
