//! A UTF-8 byte-order mark starting a CDR text (issue #28 point 8): the file, directory and
//! socket sources hand out the first record without it, so it gets the same `pbxCallId` as
//! without a mark.

mod common;

use common::scratch;
use std::time::Duration;

use pbx_core::cdr::{CdrParser, FieldTemplate};
use pbx_core::{CdrSource, RawRecord, SourceRecord};
use pbx_sources::file::FileSource;
use pbx_sources::folder::DirectorySource;
use pbx_sources::socket::{ListenOptions, SocketSource};
use tokio::io::AsyncWriteExt;

const BOM: &str = "\u{feff}";
const LINE: &str = "Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,";
const WANT_ID: &str = "3cx-40001-000001A19D361A38_5204";

/// Each record's `pbxCallId`, as the sideloader computes it.
fn call_ids(batch: &[SourceRecord]) -> Vec<String> {
    let parser = CdrParser::new(FieldTemplate::default());
    batch
        .iter()
        .map(|r| match r.record.as_ref().unwrap() {
            RawRecord::Line { number, text } => {
                let cdr = parser.parse_bytes(*number, text).unwrap();
                pbx_core::call::pbx_call_id(&cdr, "3cx").unwrap()
            }
            other => panic!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn the_file_source_reads_the_first_record_without_the_mark() {
    let dir = scratch("file");
    let path = dir.join("cdr.log");
    std::fs::write(&path, format!("{BOM}{LINE}\r\n{LINE}\r\n")).unwrap();
    let mut src = FileSource::new(&path);
    let batch = src.fetch(None, 10).await.unwrap();
    assert_eq!(call_ids(&batch), [WANT_ID, WANT_ID]);
    // Resuming from the first record's checkpoint reads the second (offsets count the mark).
    let rest = src.fetch(Some(&batch[0].checkpoint), 10).await.unwrap();
    assert_eq!(call_ids(&rest), [WANT_ID]);
    // A file holding only a mark and a line end holds no record.
    std::fs::write(&path, format!("{BOM}\r\n")).unwrap();
    assert!(
        FileSource::new(&path)
            .fetch(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_directory_source_reads_each_file_without_the_mark() {
    let dir = scratch("dir");
    let cdr = dir.join("cdr");
    std::fs::create_dir_all(&cdr).unwrap();
    for name in ["cdr-1.log", "cdr-2.log"] {
        let p = cdr.join(name);
        std::fs::write(&p, format!("{BOM}{LINE}\r\n")).unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let mut src = DirectorySource::new(&cdr, None);
    let batch = src.fetch(None, 10).await.unwrap();
    assert_eq!(call_ids(&batch), [WANT_ID, WANT_ID]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_source_reads_each_connection_without_the_mark() {
    let dir = scratch("socket");
    let mut src = SocketSource::listen(ListenOptions::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.join("journal"),
    ))
    .await
    .unwrap();
    let addr = src.local_addr().unwrap();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("{BOM}{LINE}\r\n").as_bytes())
            .await
            .unwrap();
        s.shutdown().await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "only {got:?}");
        got = src.fetch(None, 10).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(call_ids(&got), [WANT_ID, WANT_ID]);
    drop(src);
    std::fs::remove_dir_all(dir).unwrap();
}
