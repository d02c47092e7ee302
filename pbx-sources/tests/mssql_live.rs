//! The SQL Server site-table source against a real server that speaks TDS (SQL Server, or a
//! T-SQL engine such as Babelfish; the test prints what `@@VERSION` says), when `PBX_TEST_MSSQL_URL`
//! names one (any spelling `pbx_sources::mssql` accepts, e.g.
//! `server=tcp:localhost,1433;user id=sa;password=…;TrustServerCertificate=true`). The test
//! creates its own table `dbo.pbx_live_cdr_<pid>`, fills it, reads it through the source in
//! pages, checks a bad row and a restart, and drops the table. It is `#[ignore]`d: run it
//! with `--ignored` where a SQL Server exists (`scripts/test.sh` does when the variable is
//! set); run without the variable, it fails.
//!
//! ```sh
//! docker run -e ACCEPT_EULA=Y -e MSSQL_SA_PASSWORD='Str0ng!Passw0rd' -p 1433:1433 -d mcr.microsoft.com/mssql/server:2022-latest
//! PBX_TEST_MSSQL_URL="server=tcp:localhost,1433;user id=sa;password='Str0ng!Passw0rd';TrustServerCertificate=true" \
//!   cargo test -p pbx-sources --features mssql --test mssql_live -- --ignored --nocapture
//! ```

use std::time::Duration;

use pbx_core::config::{Secret, TableMapping};
use pbx_core::{CdrSource, Checkpoint, Location, RawRecord};
use pbx_sources::mssql::MssqlSource;
use tokio_util::compat::TokioAsyncWriteCompatExt;

const VAR: &str = "PBX_TEST_MSSQL_URL";

/// A plain tiberius session for setting up the table: the URL is parsed by the source
/// first, so only ADO.NET and JDBC spellings are handed to tiberius here.
async fn admin(url: &str) -> tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>> {
    let config = if url.to_ascii_lowercase().starts_with("jdbc:") {
        tiberius::Config::from_jdbc_string(url)
    } else {
        tiberius::Config::from_ado_string(url)
    }
    .expect("for the live test, give PBX_TEST_MSSQL_URL as an ADO.NET or jdbc: string");
    let tcp = tokio::net::TcpStream::connect(config.get_addr())
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    tiberius::Client::connect(config, tcp.compat_write())
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs a real SQL Server named by PBX_TEST_MSSQL_URL"]
async fn site_table_on_a_real_sql_server() {
    let url = std::env::var(VAR).unwrap_or_else(|_| {
        panic!("{VAR} is not set: name a real SQL Server to run this test (see the file's docs)")
    });
    let table = format!("pbx_live_cdr_{}", std::process::id());
    let mut client = admin(&url).await;
    // What answered: SQL Server says "Microsoft SQL Server 2022 …", a T-SQL engine such as
    // Babelfish names itself.
    let server: String = client
        .simple_query("SELECT @@VERSION")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .and_then(|row| {
            row.get::<&str, _>(0)
                .map(|v| v.lines().next().unwrap_or(v).trim().to_owned())
        })
        .unwrap_or_else(|| "a server that did not say its version".into());
    let url = url.clone();
    client
        .simple_query(format!(
            "IF OBJECT_ID('dbo.{table}') IS NOT NULL DROP TABLE dbo.{table}; \
             CREATE TABLE dbo.{table} (CdrId bigint NOT NULL PRIMARY KEY, HistoryId nvarchar(40) NULL, \
             Started datetime2(3) NULL, Ended datetimeoffset NULL, TalkSecs int NULL, Caller varchar(40) NULL, \
             Callee nvarchar(40) NULL, Cost decimal(9,2) NULL)"
        ))
        .await
        .unwrap()
        .into_results()
        .await
        .unwrap();
    // 250 rows with gaps in the ids; row 40 has no start time.
    for chunk in (1..=250i64).collect::<Vec<_>>().chunks(50) {
        let values: Vec<String> = chunk
            .iter()
            .map(|i| {
                let id = i * 2;
                let started = if id == 40 {
                    "NULL".to_owned()
                } else {
                    format!("'2026-11-02T08:{:02}:11.250'", i % 60)
                };
                format!(
                    "({id}, N'Call {}', {started}, '2026-11-02T10:{:02}:00+02:00', {}, '+19075551234', N'Ext.101', 0.25)",
                    40000 + id,
                    i % 60,
                    i % 300
                )
            })
            .collect();
        client
            .simple_query(format!(
                "INSERT INTO dbo.{table} VALUES {}",
                values.join(", ")
            ))
            .await
            .unwrap()
            .into_results()
            .await
            .unwrap();
    }

    let mapping = TableMapping {
        name: format!("dbo.{table}"),
        columns: [
            ("id", "CdrId"),
            ("historyid", "HistoryId"),
            ("time-start", "Started"),
            ("time-end", "Ended"),
            ("duration", "TalkSecs"),
            ("from-no", "Caller"),
            ("to-no", "Callee"),
            ("bill-cost", "Cost"),
        ]
        .into_iter()
        .map(|(f, c)| (f.to_owned(), c.to_owned()))
        .collect(),
    };
    let result = async move {
        let mut src = MssqlSource::new(&Secret::new(url.clone()), &mapping)
            .unwrap()
            .with_timeout(Duration::from_secs(60));
        let mut after: Option<Checkpoint> = None;
        let mut ids = Vec::new();
        let mut bad = Vec::new();
        let mut pages = 0;
        loop {
            let page = src.fetch(after.as_ref(), 64).await.unwrap();
            if page.is_empty() {
                break;
            }
            pages += 1;
            for r in &page {
                match &r.record {
                    Ok(RawRecord::Row { id, cdr }) => {
                        assert_eq!(cdr.history_id.as_deref(), Some(&*format!("{}", 40000 + id)));
                        // datetimeoffset 10:MM:00+02:00 is 08:MM:00 UTC.
                        let minute = (id / 2) % 60;
                        assert_eq!(
                            cdr.time_end.map(|t| t.to_rfc3339()),
                            Some(format!("2026-11-02T08:{minute:02}:00+00:00"))
                        );
                        assert_eq!(cdr.bill_cost.as_deref(), Some("0.25"));
                        ids.push(*id);
                    }
                    Err(e) => bad.push(e.location().cloned()),
                    other => panic!("{other:?}"),
                }
            }
            after = Some(page.last().unwrap().checkpoint.clone());
            // A restart after the second page: a new source from the checkpoint.
            if pages == 2 {
                src = MssqlSource::new(&Secret::new(url.clone()), &mapping).unwrap();
            }
        }
        assert_eq!(pages, 4);
        assert_eq!(bad, [Some(Location::Row("40".into()))]);
        let expected: Vec<i64> = (1..=250).map(|i| i * 2).filter(|id| *id != 40).collect();
        assert_eq!(ids, expected);
        println!("mssql_live: 250 rows in {pages} pages from {server}, 1 row error (id 40)");
    };
    let outcome = tokio::spawn(result).await;
    client
        .simple_query(format!("DROP TABLE dbo.{table}"))
        .await
        .unwrap()
        .into_results()
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
