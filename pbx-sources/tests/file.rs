//! File adapters on real files: the CDR file source, the checkpoint file, the JSON-lines sink.

mod common;

use common::scratch;
use pbx_sources::{CheckpointError, FileError};
use std::io::Write;

use pbx_core::call::{CallDirection, CallRequest};
use pbx_core::{CallSink, CdrSource, Checkpoint, CheckpointStore, DeliveryOutcome, RawRecord};
use pbx_sources::Error;
use pbx_sources::file::FileSource;
use pbx_sources::file_checkpoint::FileCheckpointStore;
use pbx_sources::file_sink::JsonLinesSink;
use pbx_sources::folder::DirectorySource;

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
    assert!(
        matches!(e, Error::Checkpoint(CheckpointError::BadCheckpoint { .. })),
        "{e}"
    );
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
    assert!(
        matches!(
            e,
            Error::Checkpoint(CheckpointError::CorruptCheckpoint { .. })
        ),
        "{e}"
    );
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

fn append(path: &std::path::Path, data: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
}

/// Fetches until empty, following checkpoints; returns the lines and the last checkpoint.
async fn drain(
    src: &mut FileSource,
    mut after: Option<Checkpoint>,
) -> (Vec<String>, Option<Checkpoint>) {
    let mut out = Vec::new();
    loop {
        let batch = src.fetch(after.as_ref(), 2).await.unwrap();
        if batch.is_empty() {
            return (out, after);
        }
        out.extend(texts(&batch));
        after = Some(batch.last().unwrap().checkpoint.clone());
    }
}

#[tokio::test]
async fn rotation_finishes_the_old_file_before_the_new_one() {
    let dir = scratch("rotate");
    let path = dir.join("cdr.log");
    append(&path, "a1\r\na2\r\n");
    let mut src = FileSource::new(&path);
    let (got, cp) = drain(&mut src, None).await;
    assert_eq!(got, ["a1", "a2"]);
    // 3CX writes more, then the log is rotated (rename + new file) and written again before
    // the next fetch; the old file's last line even lacks its line end.
    append(&path, "a3\r\na4");
    std::fs::rename(&path, dir.join("cdr.log.1")).unwrap();
    append(&path, "b1\r\nb2\r\n");
    let (got, cp) = drain(&mut src, cp).await;
    assert_eq!(got, ["a3", "a4", "b1", "b2"], "neither loss nor re-reading");
    // Rotated and the old file deleted: the open handle still finishes it.
    append(&path, "b3\r\n");
    std::fs::rename(&path, dir.join("cdr.log.1")).unwrap();
    std::fs::remove_file(dir.join("cdr.log.1")).unwrap();
    append(&path, "c1\r\n");
    let (got, cp) = drain(&mut src, cp).await;
    assert_eq!(got, ["b3", "c1"]);
    // After a restart (no open handle), the rotated file is found by its inode next to the path.
    append(&path, "c2\r\n");
    std::fs::rename(&path, dir.join("cdr.log.2")).unwrap();
    append(&path, "d1\r\n");
    let mut restarted = FileSource::new(&path);
    let (got, _) = drain(&mut restarted, cp).await;
    assert_eq!(got, ["c2", "d1"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn truncation_is_read_from_the_start_even_when_regrown_past_the_offset() {
    let dir = scratch("truncate");
    let path = dir.join("cdr.log");
    append(&path, "a1\na2\n");
    let mut src = FileSource::new(&path);
    let (got, cp) = drain(&mut src, None).await;
    assert_eq!(got, ["a1", "a2"]);
    // copytruncate: same inode, shorter.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&path, "b1\n");
    let (got, cp) = drain(&mut src, cp).await;
    assert_eq!(got, ["b1"]);
    // Truncated and written past the old offset before we looked: the fingerprint tells.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&path, "c1-long\nc2\n");
    let (got, _) = drain(&mut src, cp).await;
    assert_eq!(got, ["c1-long", "c2"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn file_watch_wakes_on_appends() {
    let dir = scratch("watch");
    let path = dir.join("cdr.log");
    append(&path, "a1\n");
    let src = FileSource::new(&path);
    let wake = src.watch(std::time::Duration::from_millis(20));
    append(&path, "a2\n");
    tokio::time::timeout(std::time::Duration::from_secs(10), wake.notified())
        .await
        .expect("woken");
    std::fs::remove_dir_all(dir).unwrap();
}

async fn drain_dir(
    src: &mut DirectorySource,
    mut after: Option<Checkpoint>,
) -> (Vec<String>, Option<Checkpoint>) {
    let mut out = Vec::new();
    loop {
        let batch = src.fetch(after.as_ref(), 2).await.unwrap();
        if batch.is_empty() {
            return (out, after);
        }
        out.extend(texts(&batch));
        after = Some(batch.last().unwrap().checkpoint.clone());
    }
}

fn set_old(path: &std::path::Path) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(old)
        .unwrap();
}

#[tokio::test]
async fn directory_files_once_each_by_name_and_incomplete_ones_wait() {
    let dir = scratch("dir-by-name");
    let cdr = dir.join("cdr");
    std::fs::create_dir_all(&cdr).unwrap();
    let write = |name: &str, data: &str, old: bool| {
        let p = cdr.join(name);
        std::fs::write(&p, data).unwrap();
        if old {
            set_old(&p);
        }
    };
    write("cdr-240617055949.1.log", "call-1\r\n", true);
    write("cdr-240617060000.2.log", "call-2a\r\ncall-2b\r\n", true);
    // Still being written: no line end yet, just modified.
    write("cdr-240617060100.3.log", "call-3", false);
    write("cdr-240617060200.4.log", "call-4\r\n", true);
    write(".hidden", "x\n", true);
    let mut src = DirectorySource::new(&cdr, None);
    let (got, cp) = drain_dir(&mut src, None).await;
    assert_eq!(
        got,
        ["call-1", "call-2a", "call-2b"],
        "nothing past the incomplete file"
    );
    // It completes; the rest follows, each once.
    write("cdr-240617060100.3.log", "call-3\r\n", true);
    let (got, cp) = drain_dir(&mut src, cp).await;
    assert_eq!(got, ["call-3", "call-4"]);
    // A restart from a checkpoint in the middle of a file resumes inside it.
    let (got, _) = drain_dir(
        &mut DirectorySource::new(&cdr, None),
        Some(Checkpoint::new("1/cdr-240617060000.2.log")),
    )
    .await;
    assert_eq!(got, ["call-2b", "call-3", "call-4"]);
    write("cdr-240617060300.5.log", "call-5\r\n", true);
    let (got, _) = drain_dir(&mut src, cp).await;
    assert_eq!(got, ["call-5"]);
    // A stale file without a final line end is taken after `stale`.
    let mut quick = DirectorySource::new(&cdr, None);
    quick.stale = std::time::Duration::from_secs(60);
    write("cdr-240617060400.6.log", "call-6", true);
    let (got, _) = drain_dir(
        &mut quick,
        Some(Checkpoint::new("done/cdr-240617060300.5.log")),
    )
    .await;
    assert_eq!(got, ["call-6"]);
    let e = src
        .fetch(Some(&Checkpoint::new("1:2:3")), 10)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Checkpoint(CheckpointError::BadCheckpoint { .. })),
        "{e}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn directory_files_are_moved_once_the_checkpoint_passes_them() {
    let dir = scratch("dir-moved");
    let cdr = dir.join("cdr");
    let done = dir.join("processed");
    std::fs::create_dir_all(&cdr).unwrap();
    for (name, data) in [
        ("a.log", "call-a\n"),
        ("b.log", "call-b\n"),
        ("c.log", "call-c\n"),
    ] {
        std::fs::write(cdr.join(name), data).unwrap();
        set_old(&cdr.join(name));
    }
    let mut src = DirectorySource::new(&cdr, Some(done.clone()));
    let batch = src.fetch(None, 10).await.unwrap();
    assert_eq!(texts(&batch), ["call-a", "call-b", "call-c"]);
    // The engine settled a and b only.
    let again = src.fetch(Some(&batch[1].checkpoint), 10).await.unwrap();
    assert_eq!(texts(&again), ["call-c"]);
    assert!(done.join("a.log").exists() && done.join("b.log").exists());
    assert!(cdr.join("c.log").exists());
    // A late file with an earlier name is still processed in moved mode.
    std::fs::write(cdr.join("0-late.log"), "call-late\n").unwrap();
    set_old(&cdr.join("0-late.log"));
    let next = src.fetch(Some(&again[0].checkpoint), 10).await.unwrap();
    assert_eq!(texts(&next), ["call-late"]);
    assert!(done.join("c.log").exists());
    // After a restart, the checkpoint's own file is moved.
    let mut restarted = DirectorySource::new(&cdr, Some(done.clone()));
    assert!(
        restarted
            .fetch(Some(&next[0].checkpoint), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(done.join("0-late.log").exists());
    assert_eq!(std::fs::read_dir(&cdr).unwrap().count(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_endless_line_is_an_error_for_that_line_and_is_never_held_in_memory() {
    let dir = scratch("long-line");
    let path = dir.join("cdr.log");
    // 8 MiB without a line end between two good lines.
    let long = "x".repeat(8 << 20);
    std::fs::write(&path, format!("a1\n{long}\na3\n")).unwrap();
    let mut src = FileSource::new(&path);
    let batch = src.fetch(None, 10).await.unwrap();
    assert_eq!(batch.len(), 3);
    match &batch[1].record {
        Err(pbx_core::Error::LineTooLong { at, len, max }) => {
            assert_eq!(*at, pbx_core::Location::Line(2));
            assert_eq!((*len, *max), ((8 << 20) + 1, 65536));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(texts(&batch[2..]), vec!["a3"]);
    // A restart from the long line's checkpoint goes on after it, fingerprint intact.
    let again = src.fetch(Some(&batch[1].checkpoint), 10).await.unwrap();
    assert_eq!(texts(&again), vec!["a3"]);
    // A line at the limit itself is handed to the parser whole.
    let at_limit = "y".repeat(65536);
    append(&path, &format!("{at_limit}\r\n"));
    let last = src.fetch(Some(&batch[2].checkpoint), 10).await.unwrap();
    assert_eq!(texts(&last), vec![at_limit]);
}

/// A checkpoint file of the wrong shape is the same "corrupt" error as garbage — never read as
/// "no checkpoint yet", which would deliver everything again.
#[tokio::test]
async fn a_checkpoint_of_the_wrong_shape_is_corrupt() {
    let dir = scratch("checkpoint-shape");
    let path = dir.join("checkpoint.json");
    let known = |k: &str| k == "cdr" || k.starts_with("backfill:");
    for (text, reason) in [
        ("{}", "holds no checkpoint"),
        (
            "{\"foo\":\"bar\"}",
            "\"foo\" is not the name of a checkpoint",
        ),
        ("{\"cdr\": 5}", "\"cdr\" is 5, not a position"),
        ("{\"cdr\": \"\"}", "not a position"),
        ("{\"cdr\": {\"offset\": 1}}", "not a position"),
        ("[\"cdr\"]", "not a mapping"),
        ("null", "not a mapping"),
        ("\"1:2:3\"", "not a mapping"),
        ("garbage", "not JSON"),
        ("", "not JSON"),
    ] {
        std::fs::write(&path, text).unwrap();
        let store = FileCheckpointStore::new(&path).expecting_keys(known);
        let e = store.load("cdr").await.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Checkpoint(CheckpointError::CorruptCheckpoint { .. })
            ),
            "{text}: {e}"
        );
        let shown = e.to_string();
        assert!(shown.contains(reason), "{text}: {shown}");
        assert!(shown.ends_with("fix or remove it deliberately"), "{shown}");
        assert!(store.save("cdr", &Checkpoint::new("1:1:1")).await.is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "never replaced"
        );
    }
    // Known keys of another run (a backfill's) are not corruption: no checkpoint for `cdr`.
    std::fs::write(&path, "{\"backfill:a/b\": \"1:2:3\"}").unwrap();
    let store = FileCheckpointStore::new(&path).expecting_keys(known);
    assert_eq!(store.load("cdr").await.unwrap(), None);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A last line written only in part (the process died mid-write) is cut on open and its call
/// written again; a complete bad line is still an error naming the file and line.
#[tokio::test]
async fn jsonl_sink_cuts_a_torn_last_line() {
    let dir = scratch("sink-torn");
    let path = dir.join("calls.jsonl");
    let call = |id: &str| CallRequest {
        phone_number: "+19075551234".into(),
        call_duration: 3,
        call_owner_extension: "101".into(),
        call_owner_email: "a@example.com".into(),
        call_direction: CallDirection::Inbound,
        timestamp: "2026-11-02T08:02:11.000-09:00".into(),
        pbx_call_id: id.into(),
    };
    let sink = JsonLinesSink::open(&path).unwrap();
    assert_eq!(
        sink.deliver(&call("3cx-1")).await,
        DeliveryOutcome::Delivered
    );
    let complete = std::fs::read_to_string(&path).unwrap();
    // Half of a second line, without its line end (and cut inside a UTF-8 character).
    let second = serde_json::to_string(&call("3cx-2")).unwrap();
    let mut torn = complete.clone().into_bytes();
    torn.extend_from_slice(&second.as_bytes()[..40]);
    torn.extend_from_slice(&"é".as_bytes()[..1]);
    std::fs::write(&path, &torn).unwrap();
    let reopened = JsonLinesSink::open(&path).unwrap();
    assert_eq!(reopened.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        complete,
        "the torn tail is cut"
    );
    assert_eq!(
        reopened.deliver(&call("3cx-2")).await,
        DeliveryOutcome::Delivered
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    // A file of one torn line only.
    std::fs::write(&path, &second.as_bytes()[..10]).unwrap();
    assert!(JsonLinesSink::open(&path).unwrap().is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), b"");
    // A complete line that is not a call is an error naming the file and the line.
    std::fs::write(&path, format!("{complete}not json\n")).unwrap();
    let e = JsonLinesSink::open(&path).unwrap_err().to_string();
    assert!(
        e.contains("calls.jsonl line 2 is not a call request"),
        "{e}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 28, point 3: the sink checks a file before it repairs anything, and repairs only a
/// torn call request — an unrelated text file or the checkpoint file is refused untouched.
#[tokio::test]
async fn jsonl_sink_refuses_files_that_are_not_call_files_and_leaves_them_untouched() {
    let dir = scratch("sink-not-ours");
    let path = dir.join("notes.txt");
    for text in [
        "first line\nsecond line without a line end",
        // What the checkpoint store writes (pretty JSON, no final line end).
        "{\n  \"cdr\": \"1234:5678:9:00ff00ff00ff00ff\"\n}",
        "just one line",
    ] {
        std::fs::write(&path, text).unwrap();
        let e = JsonLinesSink::open(&path).unwrap_err().to_string();
        assert!(e.contains("is not a call request"), "{e}");
        assert!(e.contains("it was not changed"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "untouched");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 28, point 2: the sink reads its file line by line, no line past 1 MiB.
#[tokio::test]
async fn jsonl_sink_reads_no_line_past_its_limit() {
    let dir = scratch("sink-long");
    let path = dir.join("calls.jsonl");
    std::fs::write(&path, vec![b'x'; 2 * 1024 * 1024]).unwrap();
    let e = JsonLinesSink::open(&path).unwrap_err().to_string();
    assert!(e.contains("over the limit of 1048576 bytes"), "{e}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * 1024 * 1024);
    #[cfg(target_os = "linux")]
    {
        // An endless "file": refused at the limit, at once.
        let started = std::time::Instant::now();
        let e = JsonLinesSink::open("/dev/full").unwrap_err().to_string();
        assert!(e.contains("over the limit"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 28, point 2: a checkpoint file is read up to 1 MiB, never whole.
#[tokio::test]
async fn an_oversized_checkpoint_file_is_corrupt_not_read_whole() {
    let dir = scratch("checkpoint-large");
    let path = dir.join("checkpoint.json");
    let big = format!("{{\"cdr\": \"{}\"}}", "1".repeat(2 * 1024 * 1024));
    std::fs::write(&path, big).unwrap();
    let store = FileCheckpointStore::new(&path);
    let e = store.load("cdr").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Checkpoint(CheckpointError::CorruptCheckpoint { .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("over the limit"), "{e}");
    #[cfg(unix)]
    {
        let e = FileCheckpointStore::new("/dev/zero")
            .load("cdr")
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Checkpoint(CheckpointError::CorruptCheckpoint { .. })
            ),
            "{e}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 28, point 6: two writers of one checkpoint file never share a temporary file, and a
/// locked store refuses a second one.
#[tokio::test]
async fn two_checkpoint_writers_never_share_a_temporary_file_and_a_lock_refuses_the_second() {
    let dir = scratch("checkpoint-two");
    let path = dir.join("checkpoint.json");
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let store = FileCheckpointStore::new(&path);
                rt.block_on(async {
                    for i in 0..300 {
                        store
                            .save("cdr", &Checkpoint::new(format!("{w}-{i}")))
                            .await
                            .unwrap_or_else(|e| panic!("writer {w}, save {i}: {e}"));
                    }
                });
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let first = FileCheckpointStore::new(&path).locked().unwrap();
    let e = FileCheckpointStore::new(&path).locked().unwrap_err();
    assert!(matches!(e, Error::File(FileError::InUse { .. })), "{e}");
    assert!(e.to_string().contains("in use by another process"), "{e}");
    drop(first);
    std::fs::remove_dir_all(dir).unwrap();
}

fn set_future(path: &std::path::Path) {
    let future = std::time::SystemTime::now() + std::time::Duration::from_secs(3600 * 24 * 365);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(future)
        .unwrap();
}

/// Issue 28, point 5: a file whose time is in the future (clock skew, `touch -d 2099-01-01`)
/// does not hold itself and every later file.
#[tokio::test]
async fn a_file_from_the_future_does_not_hide_the_files_after_it() {
    let dir = scratch("dir-future");
    let cdr = dir.join("cdr");
    std::fs::create_dir_all(&cdr).unwrap();
    for (name, data) in [
        ("cdr-1.log", "call-1\r\n"),
        ("cdr-2.log", "call-2\r\n"),
        ("cdr-3.log", "call-3\r\n"),
    ] {
        std::fs::write(cdr.join(name), data).unwrap();
        set_old(&cdr.join(name));
    }
    set_future(&cdr.join("cdr-2.log"));
    let mut src = DirectorySource::new(&cdr, None);
    let (got, _) = drain_dir(&mut src, None).await;
    assert_eq!(got, ["call-1", "call-2", "call-3"]);
    // One still being written (no line end yet) waits, even with a time in the future…
    std::fs::write(cdr.join("cdr-4.log"), "call-4").unwrap();
    set_future(&cdr.join("cdr-4.log"));
    std::fs::write(cdr.join("cdr-5.log"), "call-5\r\n").unwrap();
    set_old(&cdr.join("cdr-5.log"));
    let mut quick = DirectorySource::new(&cdr, None);
    quick.stale = std::time::Duration::from_millis(300);
    let after = Some(Checkpoint::new("done/cdr-3.log"));
    let (got, _) = drain_dir(&mut quick, after.clone()).await;
    assert!(got.is_empty(), "{got:?}");
    // …until its size has not changed for `stale`, measured by this process.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (got, _) = drain_dir(&mut quick, after).await;
    assert_eq!(got, ["call-4", "call-5"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 28, point 2: a directory source's file is streamed: an overlong line is an error
/// for that line, never held whole, and the other lines of the file are read.
#[tokio::test]
async fn a_directory_file_is_streamed_and_an_overlong_line_is_its_own_error() {
    let dir = scratch("dir-long");
    let cdr = dir.join("cdr");
    std::fs::create_dir_all(&cdr).unwrap();
    let path = cdr.join("cdr-1.log");
    let mut data = b"call-1\r\n".to_vec();
    data.extend(vec![b'x'; 300 * 1024]);
    data.extend_from_slice(b"\r\ncall-3\r\n");
    std::fs::write(&path, data).unwrap();
    set_old(&path);
    let batch = DirectorySource::new(&cdr, None)
        .fetch(None, 10)
        .await
        .unwrap();
    assert_eq!(batch.len(), 3);
    assert!(matches!(
        &batch[1].record,
        Err(pbx_core::Error::LineTooLong { len, .. }) if *len > 300 * 1024
    ));
    assert_eq!(batch[1].checkpoint, Checkpoint::new("v2//0/2/cdr-1.log"));
    assert_eq!(batch[2].checkpoint, Checkpoint::new("v2//0/0//cdr-1.log"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Drains `src` from `after` in batches of `limit`.
async fn drain_dir_by(
    src: &mut DirectorySource,
    mut after: Option<Checkpoint>,
    limit: usize,
) -> (Vec<String>, Option<Checkpoint>) {
    let mut out = Vec::new();
    loop {
        let batch = src.fetch(after.as_ref(), limit).await.unwrap();
        if batch.is_empty() {
            return (out, after);
        }
        out.extend(texts(&batch));
        after = Some(batch.last().unwrap().checkpoint.clone());
    }
}

fn write_old(dir: &std::path::Path, name: &str, data: &str) {
    std::fs::write(dir.join(name), data).unwrap();
    set_old(&dir.join(name));
}

/// Issue 28, point 5: a PBX clock stepping back names new files so that they sort before
/// files already read. By name, each is still read exactly once — by the process that was
/// running and after a restart — and nothing is read twice.
#[tokio::test]
async fn a_file_sorting_before_finished_ones_is_read_exactly_once() {
    let dir = scratch("dir-clock-back");
    let cdr = dir.join("cdr");
    std::fs::create_dir_all(&cdr).unwrap();
    write_old(&cdr, "cdr-240617100000.1.log", "call-10\r\n");
    write_old(&cdr, "cdr-240617110000.1.log", "call-11\r\n");
    let mut src = DirectorySource::new(&cdr, None);
    let (got, cp) = drain_dir(&mut src, None).await;
    assert_eq!(got, ["call-10", "call-11"]);
    // The clock steps back an hour: the next file sorts between the two finished ones.
    write_old(&cdr, "cdr-240617103000.1.log", "call-10b\r\n");
    let (got, cp2) = drain_dir(&mut src, cp.clone()).await;
    assert_eq!(got, ["call-10b"], "read by the running process");
    let (got, _) = drain_dir(&mut src, cp2.clone()).await;
    assert!(got.is_empty(), "{got:?}");
    // A restart from the checkpoint before it reads it (once); from the one after, nothing.
    let (got, _) = drain_dir(&mut DirectorySource::new(&cdr, None), cp).await;
    assert_eq!(got, ["call-10b"]);
    let (got, cp3) = drain_dir(&mut DirectorySource::new(&cdr, None), cp2.clone()).await;
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(cp3, cp2);
    // A file appearing while nothing runs, sorting before everything read.
    write_old(&cdr, "cdr-240617090000.1.log", "call-9\r\n");
    let (got, cp4) = drain_dir(&mut DirectorySource::new(&cdr, None), cp2).await;
    assert_eq!(got, ["call-9"]);
    let (got, _) = drain_dir(&mut DirectorySource::new(&cdr, None), cp4).await;
    assert!(got.is_empty(), "{got:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A checkpoint of the first form (`done/<name>`: everything sorting before `name` done) is
/// still read, and the next checkpoint is of the new form.
#[tokio::test]
async fn a_checkpoint_of_the_first_form_is_migrated() {
    let dir = scratch("dir-migrate");
    let cdr = dir.join("cdr");
    std::fs::create_dir_all(&cdr).unwrap();
    for n in 1..=4 {
        write_old(
            &cdr,
            &format!("cdr-{n}.log"),
            &format!("call-{n}a\ncall-{n}b\n"),
        );
    }
    let mut src = DirectorySource::new(&cdr, None);
    let (got, cp) = drain_dir(&mut src, Some(Checkpoint::new("1/cdr-2.log"))).await;
    assert_eq!(got, ["call-2b", "call-3a", "call-3b", "call-4a", "call-4b"]);
    let cp = cp.unwrap();
    assert!(cp.as_str().starts_with("v2/cdr-2.log/"), "{cp}");
    let (got, _) = drain_dir(&mut DirectorySource::new(&cdr, None), Some(cp)).await;
    assert!(got.is_empty(), "{got:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The checkpoint names at most 256 finished files however many the directory holds, and a
/// clock stepping back within them still does not hide a file.
#[tokio::test]
async fn a_directory_with_many_files_keeps_the_checkpoint_bounded() {
    let dir = scratch("dir-many");
    let cdr = dir.join("cdr");
    std::fs::create_dir_all(&cdr).unwrap();
    let name = |i: u32| format!("cdr-2406{:08}.000001.log", i * 10);
    for i in 0..1000 {
        write_old(&cdr, &name(i), &format!("call-{i}\r\n"));
    }
    let mut src = DirectorySource::new(&cdr, None);
    let (got, cp) = drain_dir_by(&mut src, None, 100).await;
    assert_eq!(got.len(), 1000);
    let cp = cp.unwrap();
    let names = cp.as_str().matches(".log").count();
    assert!(names <= 258, "{names} names in the checkpoint");
    assert!(cp.as_str().len() < 258 * 32, "{} bytes", cp.as_str().len());
    // A step back of a hundred files: between names already read.
    let late = format!("cdr-2406{:08}.000001.log", 900 * 10 + 5);
    write_old(&cdr, &late, "call-late\r\n");
    let (got, cp2) = drain_dir_by(&mut DirectorySource::new(&cdr, None), Some(cp), 100).await;
    assert_eq!(got, ["call-late"]);
    let (got, _) = drain_dir_by(&mut DirectorySource::new(&cdr, None), cp2.clone(), 100).await;
    assert!(got.is_empty(), "{got:?}");
    // A step back past every name the checkpoint keeps: the running process still reads it
    // once (it had not seen the file), and a restart does not read it again.
    write_old(&cdr, "cdr-2406000000005.000001.log", "call-early\r\n");
    let (got, cp3) = drain_dir_by(&mut src, cp2, 100).await;
    assert_eq!(got, ["call-early"]);
    let (got, _) = drain_dir_by(&mut src, cp3.clone(), 100).await;
    assert!(got.is_empty(), "{got:?}");
    let (got, _) = drain_dir_by(&mut DirectorySource::new(&cdr, None), cp3.clone(), 100).await;
    assert!(got.is_empty(), "{got:?}");
    // The one case by name cannot tell: a file sorting before every name kept that appears
    // while nothing runs. It is not read (a restart warns; docs/directory-source.md).
    write_old(&cdr, "cdr-2406000000001.000001.log", "call-unseen\r\n");
    let (got, _) = drain_dir_by(&mut DirectorySource::new(&cdr, None), cp3, 100).await;
    assert!(got.is_empty(), "{got:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
