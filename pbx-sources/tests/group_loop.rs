//! The call-group monitor loop over in-memory adapters: opens once, resolves, survives a
//! restart and a lost state file.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use pbx_core::AlertSink;
use pbx_core::groups::{CallGroup, GroupKind, GroupMember, GroupMonitor};
use pbx_core::hours::BusinessHours;
use pbx_core::memory::{MemoryAlertSink, MemoryCheckpointStore, StaticGroupDirectory};
use pbx_sources::group_monitor::GroupLoop;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap()
}

fn group(available: bool) -> Vec<CallGroup> {
    vec![CallGroup {
        id: "800".into(),
        name: "Support".into(),
        kind: GroupKind::Queue,
        members: vec![GroupMember {
            extension: "101".into(),
            name: None,
            available,
        }],
    }]
}

fn monitor() -> GroupMonitor {
    GroupMonitor::new(BusinessHours::weekdays(
        chrono_tz::UTC,
        "09:00-17:00".parse().unwrap(),
    ))
}

#[tokio::test]
async fn opens_once_resolves_and_survives_restarts() {
    let dir = Arc::new(StaticGroupDirectory::new(group(false)));
    let alerts = Arc::new(MemoryAlertSink::new());
    let store = Arc::new(MemoryCheckpointStore::new());
    let mut l = GroupLoop::new(
        Arc::clone(&dir),
        Arc::clone(&alerts),
        Arc::clone(&store),
        monitor(),
    );
    assert_eq!(l.check(at(10)).await.unwrap().opened, 0, "debounced");
    assert_eq!(l.check(at(11)).await.unwrap().opened, 1);
    assert_eq!(alerts.active().await.unwrap().len(), 1);
    // A restart with the saved state: no second alert.
    let mut restarted = GroupLoop::new(
        Arc::clone(&dir),
        Arc::clone(&alerts),
        Arc::clone(&store),
        monitor(),
    );
    assert_eq!(restarted.check(at(12)).await.unwrap().opened, 0);
    assert_eq!(alerts.all().len(), 1);
    // Staffed again: resolved.
    dir.set(group(true));
    assert_eq!(restarted.check(at(13)).await.unwrap().resolved, 1);
    assert!(alerts.active().await.unwrap().is_empty());
}

#[tokio::test]
async fn lost_state_takes_over_the_backends_open_alerts() {
    let dir = Arc::new(StaticGroupDirectory::new(group(false)));
    let alerts = Arc::new(MemoryAlertSink::new());
    let mut first = GroupLoop::new(
        Arc::clone(&dir),
        Arc::clone(&alerts),
        Arc::new(MemoryCheckpointStore::new()),
        monitor(),
    );
    first.check(at(10)).await.unwrap();
    first.check(at(11)).await.unwrap();
    assert_eq!(alerts.all().len(), 1);
    // A fresh store (state file lost): the open alert is adopted, not posted again, and
    // resolved when hours close.
    let mut second = GroupLoop::new(
        Arc::clone(&dir),
        Arc::clone(&alerts),
        Arc::new(MemoryCheckpointStore::new()),
        monitor(),
    );
    assert_eq!(second.check(at(12)).await.unwrap().opened, 0);
    assert_eq!(alerts.all().len(), 1);
    assert_eq!(second.check(at(18)).await.unwrap().resolved, 1);
    assert!(alerts.active().await.unwrap().is_empty());
}
