//! A backfill over the CDR text sources reads only what may hold its calls (issue #29 point
//! 3): the directory source does not open files last modified before the range (less a
//! margin), and the file and directory sources do not hand out lines whose start time is
//! outside it — and the calls delivered are exactly those a full read delivers.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, TimeZone, Utc};
use common::scratch;
use pbx_core::call::SkipReason;
use pbx_core::cdr::CdrParser;
use pbx_core::delivery::{Disposition, Pipeline, TimeRange};
use pbx_core::{CdrSource, Checkpoint, SourceRecord};
use pbx_sources::file::FileSource;
use pbx_sources::folder::{BACKFILL_MARGIN, DirectorySource};

const CALLS: i64 = 400;

/// Call `i` starts every 6 hours from 1 August 2026: 100 days.
fn start(i: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(6 * i)
}

fn line(i: i64) -> String {
    let (s, e) = (start(i), start(i) + chrono::Duration::seconds(184));
    let f = "%Y/%m/%d %H:%M:%S";
    format!(
        "Call {},{:016X}_5204,00:03:04,{},{},{},TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,\
         Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,\r\n",
        40000 + i,
        i,
        s.format(f),
        (s + chrono::Duration::seconds(9)).format(f),
        e.format(f)
    )
}

/// The fifty-first day (calls 200 to 203).
fn day() -> TimeRange {
    TimeRange::parse("2026-09-20", "2026-09-20", chrono_tz::UTC).unwrap()
}

async fn drain(src: &mut impl CdrSource<Error = pbx_sources::Error>) -> Vec<SourceRecord> {
    let (mut all, mut after): (Vec<SourceRecord>, Option<Checkpoint>) = (Vec::new(), None);
    loop {
        let batch = src.fetch(after.as_ref(), 50).await.unwrap();
        let Some(last) = batch.last() else {
            return all;
        };
        after = Some(last.checkpoint.clone());
        all.extend(batch);
    }
}

/// What the pipeline does with `records` for the range, but for the calls it skips as outside
/// it: each decision with the record's location.
fn kept(records: &[SourceRecord]) -> BTreeSet<String> {
    let pipeline = Pipeline::default();
    records
        .iter()
        .map(|r| pipeline.prepare_within(r, Some(&day())))
        .filter(|p| p.disposition != Disposition::Skip(SkipReason::OutsideRange))
        .map(|p| {
            format!(
                "{:?} {:?} {:?}",
                p.location, p.skipped_call_id, p.disposition
            )
        })
        .collect()
}

#[tokio::test]
async fn a_directory_backfill_opens_only_files_from_the_range_on() {
    let dir = scratch("backfill-dir");
    let cdr = dir.join("cdr");
    std::fs::create_dir_all(&cdr).unwrap();
    for i in 0..CALLS {
        let path = cdr.join(format!(
            "cdr-{}.{i:03}.log",
            start(i).format("%y%m%d%H%M%S")
        ));
        std::fs::write(&path, line(i)).unwrap();
        // Written when the call ended — except call 201's, whose host clock was 12 hours
        // behind: last modified before the range's start, still within the margin.
        let mut ended = SystemTime::from(start(i)) + Duration::from_secs(184);
        if i == 201 {
            ended -= Duration::from_secs(12 * 3600);
        }
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(ended)
            .unwrap();
    }
    let everything = drain(&mut DirectorySource::new(&cdr, None)).await;
    assert_eq!(everything.len(), CALLS as usize);
    let mut narrow =
        DirectorySource::new(&cdr, None).with_range(Some(day()), &CdrParser::default());
    let read = drain(&mut narrow).await;
    // Files from the day before the range (the margin) on are opened: calls 196 to 399.
    let from = SystemTime::from(day().from()) - BACKFILL_MARGIN;
    let recent = (0..CALLS)
        .filter(|&i| SystemTime::from(start(i)) + Duration::from_secs(184) >= from)
        .count() as u64;
    assert_eq!(recent, 204);
    assert_eq!(narrow.files_read(), recent, "files opened");
    // Of their lines, only the day's are handed out.
    assert_eq!(read.len(), 4, "records handed out");
    let want = kept(&everything);
    assert_eq!(want.len(), 4);
    assert_eq!(kept(&read), want, "the same decisions as a full read");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_file_backfill_hands_out_only_lines_it_cannot_rule_out() {
    let dir = scratch("backfill-file");
    let path = dir.join("cdr.log");
    let mut text = String::new();
    for i in 0..CALLS {
        text.push_str(&line(i));
        if i == 100 {
            text.push_str("not a CDR line\r\n"); // cannot be ruled out: the engine quarantines it
        }
    }
    std::fs::write(&path, &text).unwrap();
    let everything = drain(&mut FileSource::new(&path)).await;
    assert_eq!(everything.len(), CALLS as usize + 1);
    let read =
        drain(&mut FileSource::new(&path).with_range(Some(day()), &CdrParser::default())).await;
    assert_eq!(read.len(), 4 + 1, "records handed out");
    assert_eq!(kept(&read), kept(&everything));
    assert_eq!(
        kept(&read).len(),
        5,
        "the day's four calls and the unreadable line"
    );
    // The last record's checkpoint is past every line: resuming reads nothing again.
    let last = read.last().unwrap().checkpoint.clone();
    let mut again = FileSource::new(&path).with_range(Some(day()), &CdrParser::default());
    assert!(again.fetch(Some(&last), 50).await.unwrap().is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}
