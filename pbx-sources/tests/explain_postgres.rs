//! `explain` on every `cdroutput` fixture (`tests/sql/cdroutput.sql` and
//! `cdroutput_day.sql`, read through the real `CdrOutputSource` from a real PostgreSQL): for
//! every call, the explanation's outcome is the pipeline's disposition, an owner comes with
//! its rule and leg, and a call's talk time names the legs summed. Run through scripts/pg.sh
//! (`PBX_TEST_PG_URL`); scripts/test.sh runs it with `--ignored`.

mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::pipeline_for;
use pbx_core::delivery::Disposition;
use pbx_core::explain::{CallQuery, Outcome};
use pbx_core::{CdrSource, RawRecord};
use pbx_sources::postgres::CdrOutputSource;
use tokio_postgres::NoTls;

const CDROUTPUT_SQL: &str = include_str!("sql/cdroutput.sql");
const CDROUTPUT_DAY_SQL: &str = include_str!("sql/cdroutput_day.sql");

fn pg_url() -> String {
    match std::env::var("PBX_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "PBX_TEST_PG_URL is not set: run this test through scripts/pg.sh (a private PostgreSQL) or scripts/test.sh"
        ),
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL (scripts/pg.sh)"]
async fn every_cdroutput_fixture_call_is_explained_as_it_is_delivered() {
    let url = pg_url();
    let (admin, conn) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    let schema = format!("t_explain_{}", std::process::id());
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}; {CDROUTPUT_SQL}\n{CDROUTPUT_DAY_SQL}"
        ))
        .await
        .expect("load the cdroutput fixtures");
    // A clock after every fixture call ended (the call still in progress stays unread).
    let clock = Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap();
    let mut source = CdrOutputSource::new(&url, Duration::from_secs(60))
        .unwrap()
        .with_schema(&schema)
        .unwrap()
        .with_clock(move || clock);
    let pipeline = pipeline_for(100..=999);
    let mut records = Vec::new();
    loop {
        let batch = source
            .fetch(
                records
                    .last()
                    .map(|r: &pbx_core::SourceRecord| &r.checkpoint),
                100,
            )
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        records.extend(batch);
    }
    assert!(records.len() >= 5, "{} fixture calls", records.len());
    let (mut calls, mut skipped) = (0, 0);
    for record in &records {
        let Ok(RawRecord::Legs(legs)) = &record.record else {
            panic!("a cdroutput record is a call's legs: {record:?}")
        };
        let e = pipeline.explain(record);
        match (&e.outcome, pipeline.prepare(record).disposition) {
            (Outcome::Call(a), Disposition::Deliver(b)) => {
                assert_eq!(*a, b);
                calls += 1;
                let from = e.owner.from.as_deref().unwrap_or_default();
                assert!(
                    from.starts_with("leg ") || from == "legs",
                    "{}: the owner's leg: {:?}",
                    legs.main_call_history_id,
                    e.owner
                );
                assert_eq!(e.talk_time.seconds, a.call_duration);
                if e.talk_time.from == "legs" {
                    assert!(!e.talk_time.legs.is_empty());
                }
            }
            (Outcome::Skipped(a), Disposition::Skip(b)) => {
                assert_eq!(*a, b);
                skipped += 1;
            }
            (Outcome::Refused(a), Disposition::Quarantine { reason }) => {
                assert_eq!(a.to_string(), reason);
            }
            (got, want) => panic!(
                "{}: explain {got:?}, delivery {want:?}",
                legs.main_call_history_id
            ),
        }
        assert_eq!(e.legs.len(), legs.legs.len());
        // The call is found by its id as `explain ID` finds it.
        assert!(pipeline.matches(record, &CallQuery::parse(&legs.main_call_history_id)));
        if let Some(id) = &e.pbx_call_id {
            assert!(pipeline.matches(record, &CallQuery::parse(id)));
        }
    }
    // The lookup by id `explain` uses finds the same record as the scan, by the call's id
    // and by a leg's; the keyset orders it against a checkpoint.
    for record in &records {
        let Ok(RawRecord::Legs(legs)) = &record.record else {
            unreachable!()
        };
        let by_main = source.fetch_call(&legs.main_call_history_id).await.unwrap();
        assert_eq!(
            by_main.as_ref(),
            Some(record),
            "{}",
            legs.main_call_history_id
        );
        let leg = &legs.legs[legs.legs.len() - 1].cdr_id;
        assert_eq!(
            source.fetch_call(leg).await.unwrap().as_ref(),
            Some(record),
            "leg {leg}"
        );
        assert_eq!(
            CdrOutputSource::is_at_or_before(
                &record.checkpoint,
                &records[records.len() - 1].checkpoint
            ),
            Some(true)
        );
    }
    assert_eq!(
        CdrOutputSource::is_at_or_before(
            &records[records.len() - 1].checkpoint,
            &records[0].checkpoint
        ),
        Some(false)
    );
    assert_eq!(
        source
            .fetch_call("00000000-0000-0000-0000-000000000000")
            .await
            .unwrap(),
        None
    );
    assert_eq!(source.fetch_call("3cx-1-2").await.unwrap(), None);
    assert!(
        calls >= 3 && skipped >= 1,
        "{calls} calls, {skipped} skipped"
    );
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}
