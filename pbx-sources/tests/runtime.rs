//! The runtime's failures through the one `pbx_sources::Error`: the `kind` the bindings give,
//! the exit code the binary uses, and the cause kept as a typed `source()` (not text) — from
//! real paths: a socket source whose port is taken, a call file that cannot be opened, a
//! corrupt checkpoint file.

use pbx_sources::{CheckpointError, FileError};
use std::error::Error as _;
use std::path::Path;

use pbx_core::config::Config;
use pbx_sources::Error;
use pbx_sources::runtime::Sideloader;

use pbx_testkit::scratch;

fn config(dir: &Path, source: &str, calls: &str) -> Config {
    let yaml = format!(
        "pbx: {{timezone: America/Anchorage}}\n\
         source: {source}\n\
         call_api: {{base_url: 'file:{calls}'}}\n\
         extensions: {{default_email: 'pbx@example.com'}}\n\
         checkpoint: {{kind: file, path: '{dir}/checkpoint.json'}}\n\
         quarantine: {{path: '{dir}/quarantine.jsonl'}}\n",
        dir = dir.display()
    );
    Config::from_yaml(&yaml, &|_| None).expect("a valid configuration")
}

#[tokio::test]
async fn a_source_that_cannot_start_is_a_config_error_with_the_os_error_as_its_cause() {
    let dir = scratch("bind");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let source = format!(
        "{{kind: socket_listen, listen: '{addr}', journal: '{}/journal'}}",
        dir.display()
    );
    let calls = format!("{}/calls.jsonl", dir.display());
    let Err(e) = Sideloader::from_config(&config(&dir, &source, &calls)).await else {
        panic!("the port is taken");
    };
    assert_eq!(e.kind().code(), "config", "{e}");
    assert!(e.is_config());
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string()
            .starts_with(&format!("source: cannot listen on {addr}: ")),
        "{e}"
    );
    let Error::Setup { part, source } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(*part, "source");
    assert!(
        matches!(**source, Error::File(FileError::Bind { .. })),
        "{source:?}"
    );
    let os = source
        .source()
        .and_then(|c| c.downcast_ref::<std::io::Error>())
        .expect("the OS error, typed");
    assert_eq!(os.kind(), std::io::ErrorKind::AddrInUse);
    drop(taken);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_call_file_that_cannot_be_opened_fails_at_run_time() {
    let dir = scratch("sink");
    std::fs::write(dir.join("a-file"), "").unwrap();
    std::fs::write(dir.join("cdr.log"), "").unwrap();
    let source = format!("{{kind: file, path: '{}/cdr.log'}}", dir.display());
    let calls = format!("{}/a-file/calls.jsonl", dir.display());
    let Err(e) = Sideloader::from_config(&config(&dir, &source, &calls)).await else {
        panic!("the call file's folder is a file");
    };
    assert_eq!(e.kind().code(), "failed", "{e}");
    assert!(!e.is_config());
    assert_eq!(e.exit_code(), 1);
    assert!(
        e.to_string()
            .starts_with(&format!("cannot open the call file {calls}: ")),
        "{e}"
    );
    assert!(
        e.source()
            .and_then(|c| c.downcast_ref::<std::io::Error>())
            .is_some(),
        "{e:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_corrupt_checkpoint_stops_a_drain_with_the_stores_own_error_as_its_cause() {
    let dir = scratch("checkpoint");
    std::fs::write(dir.join("cdr.log"), "").unwrap();
    std::fs::write(dir.join("checkpoint.json"), "{}").unwrap();
    let source = format!("{{kind: file, path: '{}/cdr.log'}}", dir.display());
    let calls = format!("{}/calls.jsonl", dir.display());
    let mut sideloader = Sideloader::from_config(&config(&dir, &source, &calls))
        .await
        .unwrap();
    let e = sideloader
        .once()
        .await
        .expect_err("the checkpoint is corrupt");
    assert_eq!(e.kind().code(), "checkpoint", "{e}");
    assert!(!e.is_transient());
    assert_eq!(e.exit_code(), 1);
    assert!(
        e.to_string()
            .ends_with("is corrupt (it holds no checkpoint); fix or remove it deliberately"),
        "{e}"
    );
    let store = e
        .source()
        .and_then(|c| c.downcast_ref::<Error>())
        .expect("the store's error, typed");
    assert!(
        matches!(
            store,
            Error::Checkpoint(CheckpointError::CorruptCheckpoint { key: None, .. })
        ),
        "{store:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A call starting on 1 August 2026 plus `6 * i` hours, as a CDR line.
fn line(i: i64) -> String {
    use chrono::TimeZone;
    let s =
        chrono::Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(6 * i);
    let f = "%Y/%m/%d %H:%M:%S";
    format!(
        "Call {},{:016X}_5204,00:03:04,{},{},{},TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,\
         Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,\r\n",
        40000 + i,
        i,
        s.format(f),
        (s + chrono::Duration::seconds(9)).format(f),
        (s + chrono::Duration::seconds(184)).format(f)
    )
}

/// Through the sideloader (`pbx-sideloader backfill`): the source built with it is narrowed
/// to the backfill's range, so the summary's `records` are the day's, not the file's.
#[tokio::test]
async fn a_sideloader_backfill_over_a_file_reads_the_days_records() {
    let dir = scratch("backfill-sideloader");
    let path = dir.join("cdr.log");
    std::fs::write(&path, (0..400).map(line).collect::<String>()).unwrap();
    let yaml = format!(
        "pbx: {{timezone: UTC}}\n\
         source: {{kind: file, path: '{cdr}'}}\n\
         call_api: {{base_url: 'file:{dir}/calls.jsonl'}}\n\
         extensions: {{default_email: 'pbx@example.com'}}\n\
         checkpoint: {{kind: file, path: '{dir}/checkpoint.json'}}\n\
         quarantine: {{path: '{dir}/quarantine.jsonl'}}\n",
        cdr = path.display(),
        dir = dir.display()
    );
    let config = pbx_core::config::Config::from_yaml(&yaml, &|_| None).unwrap();
    let mut sideloader = pbx_sources::runtime::Sideloader::from_config(&config)
        .await
        .unwrap();
    let report = sideloader
        .backfill(
            pbx_core::delivery::TimeRange::parse("2026-09-20", "2026-09-20", chrono_tz::UTC)
                .unwrap(),
            |_| {},
        )
        .await;
    assert!(report.error.is_none(), "{report}");
    assert_eq!(report.summary.counters.received, 4, "{report}");
    assert_eq!(report.summary.counters.delivered, 4, "{report}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_service_lends_its_sideloader_to_one_drain_at_a_time_and_not_while_it_runs() {
    use pbx_sources::runtime::Service;
    let dir = scratch("service");
    let sample = include_str!("../../examples/data/cdr-sample.log");
    std::fs::write(dir.join("cdr.log"), sample).unwrap();
    let source = format!("{{kind: file, path: '{}/cdr.log'}}", dir.display());
    let calls = format!("{}/calls.jsonl", dir.display());
    let service = Service::from_config(&config(&dir, &source, &calls))
        .await
        .unwrap();
    // Two drains asked at once: the second is refused, the first delivers.
    let (first, second) = (service.once(), service.once());
    let busy = second.await.unwrap_err();
    assert!(matches!(busy, Error::Busy), "{busy:?}");
    assert_eq!(busy.kind().code(), "busy");
    assert_eq!(busy.category().code(), "PBX_INVALID_STATE");
    let summary = first.await.unwrap();
    assert!(summary.counters.delivered > 0, "{summary:?}");
    assert!(summary.text.contains("delivered"), "{}", summary.text);
    // The view the bindings serialize: the counters flattened beside the rest, none dropped.
    let json = serde_json::to_value(&summary).unwrap();
    for key in [
        "delivered",
        "poisoned",
        "auth_failures",
        "failures",
        "sink",
        "text",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    service.start(|| {}).unwrap();
    assert!(service.status().running);
    assert!(matches!(service.once().await, Err(Error::Busy)));
    assert!(matches!(service.start(|| {}), Err(Error::Busy)));
    assert!(matches!(
        service.backfill("2026-11-02", "2026-11-02").await,
        Err(Error::Busy)
    ));
    let status = service.stop().await.unwrap();
    assert!(!status.running);
    assert_eq!(status.counters.delivered, summary.counters.delivered);
    // Idle again: a drain finds nothing new; a bad range is pbx-core's error, typed.
    assert_eq!(service.once().await.unwrap().counters.delivered, 0);
    let Err(Error::Core { source, .. }) = service.backfill("tomorrow", "2026-11-02").await else {
        panic!("a bound that does not parse");
    };
    assert_eq!(source.kind().code(), "invalid_setting");
    std::fs::remove_dir_all(dir).unwrap();
}
