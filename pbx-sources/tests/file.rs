//! File adapters on real files: the CDR file source, the checkpoint file, the JSON-lines sink.

use std::io::Write;
use std::path::PathBuf;

use pbx_core::call::{CallDirection, CallRequest};
use pbx_core::{CallSink, CdrSource, Checkpoint, CheckpointStore, DeliveryOutcome, RawRecord};
use pbx_sources::checkpoint::{CheckpointError, FileCheckpointStore};
use pbx_sources::file::{FileSource, FileSourceError};
use pbx_sources::jsonl::JsonLinesSink;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pbx-file-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn texts(batch: &[pbx_core::SourceRecord]) -> Vec<String> {
    batch
        .iter()
        .map(|r| match r.record.as_ref().unwrap() {
            RawRecord::Line { text, .. } => String::from_utf8_lossy(text).trim_end().to_owned(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn file_source_reads_complete_lines_from_its_checkpoint() {
    let dir = scratch("source");
    let path = dir.join("cdr.log");
    std::fs::write(&path, "a1\r\na2\r\n\r\na3\r\npartial").unwrap();
    let mut src = FileSource::new(&path);
    let batch = src.fetch(None, 2).await.unwrap();
    assert_eq!(texts(&batch), vec!["a1", "a2"]);
    let batch2 = src.fetch(Some(&batch[1].checkpoint), 10).await.unwrap();
    assert_eq!(
        texts(&batch2),
        vec!["a3"],
        "blank lines passed over; the partial line waits"
    );
    let RawRecord::Line { number, .. } = batch2[0].record.as_ref().unwrap() else {
        panic!()
    };
    assert_eq!(*number, 4);
    // The writer finishes the line.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b" line\n")
        .unwrap();
    let batch3 = src.fetch(Some(&batch2[0].checkpoint), 10).await.unwrap();
    assert_eq!(texts(&batch3), vec!["partial line"]);
    assert!(
        src.fetch(Some(&batch3[0].checkpoint), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Truncated: read again from the start.
    std::fs::write(&path, "b1\n").unwrap();
    assert_eq!(
        texts(&src.fetch(Some(&batch3[0].checkpoint), 10).await.unwrap()),
        vec!["b1"]
    );
    // A foreign checkpoint is an error, not a silent restart.
    let e = src
        .fetch(Some(&Checkpoint::new("17")), 10)
        .await
        .unwrap_err();
    assert!(matches!(e, FileSourceError::BadCheckpoint(_)), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn checkpoint_file_is_atomic_and_corruption_is_an_error() {
    let dir = scratch("checkpoint");
    let path = dir.join("state/checkpoint.json");
    let store = FileCheckpointStore::new(&path);
    assert_eq!(store.load("cdr").await.unwrap(), None);
    store.save("cdr", &Checkpoint::new("1:10:2")).await.unwrap();
    store.save("other", &Checkpoint::new("x")).await.unwrap();
    store.save("cdr", &Checkpoint::new("1:20:3")).await.unwrap();
    let again = FileCheckpointStore::new(&path);
    assert_eq!(
        again.load("cdr").await.unwrap(),
        Some(Checkpoint::new("1:20:3"))
    );
    assert_eq!(
        again.load("other").await.unwrap(),
        Some(Checkpoint::new("x"))
    );
    assert!(!path.with_extension("tmp").exists());
    std::fs::write(&path, "{\"cdr\": \"1:2").unwrap();
    let e = again.load("cdr").await.unwrap_err();
    assert!(matches!(e, CheckpointError::Corrupt { .. }), "{e}");
    assert!(
        again.save("cdr", &Checkpoint::new("0")).await.is_err(),
        "never overwrites a corrupt file"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn jsonl_sink_writes_each_call_once_across_restarts() {
    let dir = scratch("sink");
    let path = dir.join("out/calls.jsonl");
    let call = CallRequest {
        phone_number: "+19075551234".into(),
        call_duration: 3,
        call_owner_extension: "101".into(),
        call_owner_email: "a@example.com".into(),
        call_direction: CallDirection::Inbound,
        timestamp: "2026-11-02T08:02:11.000-09:00".into(),
        pbx_call_id: "3cx-1".into(),
    };
    let sink = JsonLinesSink::open(&path).unwrap();
    assert_eq!(sink.deliver(&call).await, DeliveryOutcome::Delivered);
    assert_eq!(sink.deliver(&call).await, DeliveryOutcome::Duplicate);
    let reopened = JsonLinesSink::open(&path).unwrap();
    assert_eq!(reopened.len(), 1);
    assert_eq!(reopened.deliver(&call).await, DeliveryOutcome::Duplicate);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.starts_with("{\"phoneNumber\":\"+19075551234\""));
    std::fs::write(&path, "not json\n").unwrap();
    assert!(JsonLinesSink::open(&path).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}
