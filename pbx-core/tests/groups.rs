//! The call-group coverage monitor: debounce, hours, flapping members, restarts, exclusions.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use pbx_core::groups::{
    Alert, AlertAction, AlertId, AlertType, CallGroup, GroupKind, GroupMember, GroupMonitor,
    MonitorConfig, MonitorState, ResolveReason,
};
use pbx_core::hours::BusinessHours;

fn member(ext: &str, available: bool) -> GroupMember {
    GroupMember {
        extension: ext.into(),
        name: None,
        available,
    }
}

fn group(id: &str, members: Vec<GroupMember>) -> CallGroup {
    CallGroup {
        id: id.into(),
        name: format!("Group {id}"),
        kind: GroupKind::Queue,
        members,
    }
}

/// Monday 2026-11-23 at `h`:00 UTC.
fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap()
}

fn monitor() -> GroupMonitor {
    GroupMonitor::new(BusinessHours::weekdays(
        chrono_tz::UTC,
        "09:00-17:00".parse().unwrap(),
    ))
}

fn opens(actions: &[AlertAction]) -> Vec<(String, AlertType)> {
    actions
        .iter()
        .filter_map(|a| match a {
            AlertAction::Open(r) => Some((r.call_group_id.clone(), r.alert_type.clone())),
            _ => None,
        })
        .collect()
}

fn resolves(actions: &[AlertAction]) -> Vec<(String, ResolveReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            AlertAction::Resolve {
                group_id, reason, ..
            } => Some((group_id.clone(), *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn no_members_opens_after_debounce_once() {
    let m = monitor();
    let mut s = MonitorState::default();
    let groups = vec![group("800", vec![])];
    assert!(m.evaluate(at(10), &groups, &mut s).is_empty());
    let a = m.evaluate(at(10) + TimeDelta::minutes(5), &groups, &mut s);
    assert_eq!(opens(&a), vec![("800".into(), AlertType::NoAssignedUsers)]);
    match &a[0] {
        AlertAction::Open(r) => assert_eq!(
            r.alert_message,
            "Group 800 has no assigned users during business hours"
        ),
        other => panic!("{other:?}"),
    }
    // Still failing: no second alert.
    for k in 2..6 {
        assert!(
            m.evaluate(at(10) + TimeDelta::minutes(5 * k), &groups, &mut s)
                .is_empty()
        );
    }
}

#[test]
fn members_but_none_available() {
    let m = monitor().with_config(MonitorConfig {
        debounce: 1,
        ..MonitorConfig::default()
    });
    let mut s = MonitorState::default();
    let a = m.evaluate(
        at(10),
        &[group(
            "700",
            vec![member("101", false), member("102", false)],
        )],
        &mut s,
    );
    assert_eq!(opens(&a), vec![("700".into(), AlertType::NoAvailableUsers)]);
}

#[test]
fn staffed_groups_and_closed_hours_raise_nothing() {
    let m = monitor();
    let mut s = MonitorState::default();
    let staffed = vec![group(
        "800",
        vec![member("101", true), member("102", false)],
    )];
    for h in [10, 11, 12] {
        assert!(m.evaluate(at(h), &staffed, &mut s).is_empty());
    }
    let empty = vec![group("800", vec![])];
    for h in [18, 19, 20, 21] {
        assert!(
            m.evaluate(at(h), &empty, &mut s).is_empty(),
            "closed at {h}:00"
        );
    }
}

#[test]
fn flapping_member_resets_the_debounce() {
    let m = monitor().with_config(MonitorConfig {
        debounce: 3,
        ..MonitorConfig::default()
    });
    let mut s = MonitorState::default();
    let down = vec![group("800", vec![member("101", false)])];
    let up = vec![group("800", vec![member("101", true)])];
    let mut t = at(10);
    for _ in 0..5 {
        assert!(m.evaluate(t, &down, &mut s).is_empty());
        assert!(
            m.evaluate(t + TimeDelta::minutes(1), &down, &mut s)
                .is_empty()
        );
        assert!(
            m.evaluate(t + TimeDelta::minutes(2), &up, &mut s)
                .is_empty()
        );
        t += TimeDelta::minutes(3);
    }
    // Three in a row now.
    m.evaluate(t, &down, &mut s);
    m.evaluate(t, &down, &mut s);
    assert_eq!(opens(&m.evaluate(t, &down, &mut s)).len(), 1);
    // Back up: resolved with its id.
    s.record_alert_id("800", AlertId("41".into()));
    let a = m.evaluate(t + TimeDelta::minutes(1), &up, &mut s);
    assert_eq!(resolves(&a), vec![("800".into(), ResolveReason::Staffed)]);
    match &a[0] {
        AlertAction::Resolve { alert, .. } => {
            assert_eq!(alert.alert_id, Some(AlertId("41".into())))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hours_closing_resolves_an_open_alert() {
    let m = monitor();
    let mut s = MonitorState::default();
    let empty = vec![group("800", vec![])];
    m.evaluate(at(15), &empty, &mut s);
    assert_eq!(opens(&m.evaluate(at(16), &empty, &mut s)).len(), 1);
    let a = m.evaluate(at(17), &empty, &mut s);
    assert_eq!(resolves(&a), vec![("800".into(), ResolveReason::Closed)]);
    // Next morning it takes the debounce again.
    let next = at(9) + TimeDelta::days(1);
    assert!(m.evaluate(next, &empty, &mut s).is_empty());
    assert_eq!(
        opens(&m.evaluate(next + TimeDelta::minutes(5), &empty, &mut s)).len(),
        1
    );
}

#[test]
fn restart_mid_alert_neither_reposts_nor_forgets() {
    let m = monitor();
    let mut s = MonitorState::default();
    let empty = vec![group("800", vec![])];
    m.evaluate(at(10), &empty, &mut s);
    assert_eq!(opens(&m.evaluate(at(11), &empty, &mut s)).len(), 1);
    s.record_alert_id("800", AlertId("7".into()));
    // Saved and loaded by a new process.
    let saved = serde_json::to_string(&s).unwrap();
    let mut restored: MonitorState = serde_json::from_str(&saved).unwrap();
    assert_eq!(restored, s);
    assert!(
        m.evaluate(at(12), &empty, &mut restored).is_empty(),
        "no second post"
    );
    let a = m.evaluate(
        at(13),
        &[group("800", vec![member("101", true)])],
        &mut restored,
    );
    assert_eq!(resolves(&a), vec![("800".into(), ResolveReason::Staffed)]);
}

#[test]
fn lost_state_adopts_the_backends_active_alerts() {
    let m = monitor();
    let mut s = MonitorState::default();
    let active = Alert {
        id: AlertId("9".into()),
        call_group_id: "800".into(),
        call_group_name: "Group 800".into(),
        alert_type: AlertType::NoAssignedUsers,
        alert_message: "m".into(),
        is_active: true,
        created_at: None,
        resolved_at: None,
    };
    s.adopt_active(&[active], at(10));
    let empty = vec![group("800", vec![])];
    assert!(m.evaluate(at(10), &empty, &mut s).is_empty());
    assert!(
        m.evaluate(at(11), &empty, &mut s).is_empty(),
        "adopted: not posted again"
    );
    let a = m.evaluate(at(18), &empty, &mut s);
    assert_eq!(resolves(&a), vec![("800".into(), ResolveReason::Closed)]);
}

#[test]
fn failed_delivery_is_retried_on_the_next_check() {
    let m = monitor().with_config(MonitorConfig {
        debounce: 1,
        ..MonitorConfig::default()
    });
    let mut s = MonitorState::default();
    let empty = vec![group("800", vec![])];
    assert_eq!(opens(&m.evaluate(at(10), &empty, &mut s)).len(), 1);
    s.open_failed("800");
    assert_eq!(
        opens(&m.evaluate(at(11), &empty, &mut s)).len(),
        1,
        "posted again"
    );
    let a = m.evaluate(at(17), &empty, &mut s);
    let AlertAction::Resolve { alert, .. } = a[0].clone() else {
        panic!("{a:?}")
    };
    s.resolve_failed("800", alert);
    assert_eq!(
        resolves(&m.evaluate(at(18), &empty, &mut s)).len(),
        1,
        "resolved again"
    );
}

#[test]
fn excluded_and_gone_groups() {
    let mut m = monitor().with_config(MonitorConfig {
        debounce: 1,
        ..MonitorConfig::default()
    });
    let mut s = MonitorState::default();
    let groups = vec![group("800", vec![]), group("700", vec![])];
    assert_eq!(opens(&m.evaluate(at(10), &groups, &mut s)).len(), 2);
    let config = MonitorConfig {
        exclude: vec!["700".into()],
        ..m.config().clone()
    };
    m = m.with_config(config);
    let a = m.evaluate(at(11), &groups, &mut s);
    assert_eq!(resolves(&a), vec![("700".into(), ResolveReason::Excluded)]);
    assert!(
        m.evaluate(at(12), &groups, &mut s).is_empty(),
        "excluded stays quiet"
    );
    // 800 disappears from the directory.
    let a = m.evaluate(at(13), &[group("700", vec![])], &mut s);
    assert_eq!(resolves(&a), vec![("800".into(), ResolveReason::Gone)]);
    assert!(!s.groups.contains_key("800"));
    // Include list: only 900 is watched.
    m = m.with_config(MonitorConfig {
        debounce: 1,
        include: vec!["900".into()],
        exclude: vec![],
    });
    let a = m.evaluate(
        at(14),
        &[group("900", vec![]), group("901", vec![])],
        &mut s,
    );
    assert_eq!(opens(&a), vec![("900".into(), AlertType::NoAssignedUsers)]);
}

#[test]
fn per_group_hours() {
    let m = monitor()
        .with_config(MonitorConfig {
            debounce: 1,
            ..MonitorConfig::default()
        })
        .with_group_hours(
            [("night".to_owned(), BusinessHours::always(chrono_tz::UTC))]
                .into_iter()
                .collect(),
        );
    let mut s = MonitorState::default();
    let a = m.evaluate(
        at(22),
        &[group("night", vec![]), group("day", vec![])],
        &mut s,
    );
    assert_eq!(
        opens(&a),
        vec![("night".into(), AlertType::NoAssignedUsers)]
    );
}

fn backend_alert(id: &str, group: &str, kind: AlertType) -> Alert {
    Alert {
        id: AlertId(id.into()),
        call_group_id: group.into(),
        call_group_name: format!("Group {group}"),
        alert_type: kind,
        alert_message: "m".into(),
        is_active: true,
        created_at: None,
        resolved_at: None,
    }
}

#[test]
fn only_the_groups_own_alert_is_recorded_for_an_open() {
    let m = monitor().with_config(MonitorConfig {
        debounce: 1,
        ..MonitorConfig::default()
    });
    let groups = vec![group("801", vec![member("101", false)])];
    let mut state = MonitorState::default();
    let actions = m.evaluate(at(10), &groups, &mut state);
    let [AlertAction::Open(req)] = &actions[..] else {
        panic!("{actions:?}")
    };
    // Another group's alert, or this group's of another type: not ours, open undone.
    for foreign in [
        backend_alert("9", "999", AlertType::NoAvailableUsers),
        backend_alert("9", "801", AlertType::NoAssignedUsers),
    ] {
        assert!(!req.is_answered_by(&foreign));
        let mut s = state.clone();
        assert!(!s.record_opened(req, &foreign));
        assert!(s.groups["801"].alert.is_none());
        assert_eq!(s.open_alerts(), 0);
        // The next check posts again.
        assert_eq!(opens(&m.evaluate(at(11), &groups, &mut s)).len(), 1);
    }
    let own = backend_alert("5", "801", AlertType::NoAvailableUsers);
    assert!(state.record_opened(req, &own));
    assert_eq!(
        state.groups["801"].alert.as_ref().unwrap().alert_id,
        Some(AlertId("5".into()))
    );
    assert_eq!(state.open_alerts(), 1);
}

#[test]
fn a_forgotten_alert_lets_the_group_be_alerted_again() {
    // The adapter got NotFound for the resolve and did not call resolve_failed: the alert
    // is gone from the state, so the next unstaffed spell opens a new one.
    let m = monitor().with_config(MonitorConfig {
        debounce: 1,
        ..MonitorConfig::default()
    });
    let mut state = MonitorState::default();
    let unstaffed = vec![group("800", vec![member("101", false)])];
    let staffed = vec![group("800", vec![member("101", true)])];
    assert_eq!(opens(&m.evaluate(at(10), &unstaffed, &mut state)).len(), 1);
    state.record_alert_id("800", AlertId("1".into()));
    assert_eq!(resolves(&m.evaluate(at(11), &staffed, &mut state)).len(), 1);
    assert!(m.evaluate(at(12), &staffed, &mut state).is_empty());
    assert_eq!(opens(&m.evaluate(at(13), &unstaffed, &mut state)).len(), 1);
}

#[test]
fn set_hours_replaces_the_shared_hours_only() {
    let mut m = monitor().with_group_hours(
        [(
            "900".to_owned(),
            BusinessHours::weekdays(chrono_tz::UTC, "00:00-23:59".parse().unwrap()),
        )]
        .into_iter()
        .collect(),
    );
    let groups = vec![
        group("800", vec![member("101", false)]),
        group("900", vec![member("102", false)]),
    ];
    let mut state = MonitorState::default();
    // 20:00: only 900 is open; after set_hours (open all day) 800 is too.
    m.evaluate(at(20), &groups, &mut state);
    assert_eq!(state.groups["800"].failures, 0);
    m.set_hours(BusinessHours::always(chrono_tz::UTC));
    m.evaluate(at(20), &groups, &mut state);
    assert_eq!(state.groups["800"].failures, 1);
    assert_eq!(state.groups["900"].failures, 2);
}
