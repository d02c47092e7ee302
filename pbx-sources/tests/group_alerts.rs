//! The call-group monitor loop over the real clients (XAPI groups and office hours,
//! call-logger alerts) against in-process stand-ins that follow the documented contracts —
//! and misbehave as real ones do: an alert purged by an operator (resolve 404/410), a phantom
//! alert in the backend's active list, another group's alert answered to a post, office hours
//! changed in 3CX, XAPI failing.

mod common;

use pbx_sources::MonitorError;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::{Logs, Reply, Request, Server};
use pbx_core::groups::{GroupMonitor, MonitorConfig};
use pbx_core::hours::BusinessHours;
use pbx_core::memory::MemoryCheckpointStore;
use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig, RetryPolicy};
use pbx_sources::group_monitor::{GroupLoop, ScheduleSource};
use pbx_sources::xapi::{XapiClient, XapiConfig, XapiGroupDirectory};
use pbx_sources::{Error, Secret};
use serde_json::{Value, json};

const ALERTS: &str = "/api/alerts/call-groups";

// ---- the XAPI stand-in --------------------------------------------------------------------

struct Pbx {
    /// Ring group 800's member 101: its current profile.
    profile: &'static str,
    office_hours: Value,
    faults: HashMap<String, VecDeque<Reply>>,
}

fn office_hours(holidays: Value) -> Value {
    json!({
        "Hours": {"Type": "OfficeHours", "IgnoreHolidays": false, "Periods": [
            {"DayOfWeek": "Monday", "Start": "08:00:00", "Stop": "18:00:00"}]},
        "BreakTime": {"Type": "BreakTime", "IgnoreHolidays": null, "Periods": []},
        "TimeZoneId": "UTC",
        "OfficeHolidays": holidays
    })
}

/// A one-day holiday on 2026-11-23 (the Monday of the tests).
fn holiday_today() -> Value {
    json!([{"Id": 1, "Name": "Closure", "Day": 23, "Month": 11, "Year": 2026,
        "DayEnd": 23, "MonthEnd": 11, "YearEnd": 2026, "IsRecurrent": false,
        "TimeOfStartDate": "PT0S", "TimeOfEndDate": "PT0S"}])
}

fn xapi_backend(pbx: Arc<Mutex<Pbx>>) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |r| {
        let mut p = pbx.lock().unwrap();
        if let Some(reply) = p.faults.get_mut(&r.path).and_then(VecDeque::pop_front) {
            return reply;
        }
        let list = |value: Value| Reply::json(200, json!({ "value": value }));
        match r.path.as_str() {
            "/connect/token" => Reply::json(
                200,
                json!({"token_type": "Bearer", "expires_in": 3600, "access_token": "tok"}),
            ),
            _ if r.bearer() != Some("tok") => Reply::status(401),
            "/xapi/v1/Users" => list(json!([{"Id": 1, "Number": "101",
                "EmailAddress": "anna@example.com", "QueueStatus": "LoggedIn",
                "IsRegistered": true, "CurrentProfileName": p.profile}])),
            "/xapi/v1/RingGroups" => list(json!([{"Id": 1, "Number": "800", "Name": "Sales",
                "Members": [{"Id": 11, "Number": "101", "Name": "Anna"}]}])),
            "/xapi/v1/Queues" => list(json!([])),
            "/xapi/v1/OfficeHours" => Reply::json(200, p.office_hours.clone()),
            _ => Reply::status(404),
        }
    }
}

// ---- the call-logger stand-in ---------------------------------------------------------------

#[derive(Default)]
struct Backend {
    alerts: Vec<Value>,
    next_id: u64,
    /// Listed as active but unknown to resolve (an alert deleted behind the list's back).
    phantoms: Vec<Value>,
    /// The answer to every post, instead of the contract's (status, alert).
    post_answer: Option<(u16, Value)>,
    /// The status of a resolve of an unknown id (404 or 410).
    unknown_status: u16,
}

impl Backend {
    fn purge(&mut self, id: u64) {
        self.alerts.retain(|a| a["id"] != json!(id));
    }
}

fn alert(id: u64, group: &str, kind: &str) -> Value {
    json!({"id": id, "callGroupId": group, "callGroupName": "Group", "alertType": kind,
        "alertMessage": "m", "isActive": true, "createdAt": "2026-11-23T10:00:00",
        "resolvedAt": null})
}

fn alert_backend(b: Arc<Mutex<Backend>>) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |r| {
        let mut b = b.lock().unwrap();
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", ALERTS) => {
                if let Some((status, answer)) = b.post_answer.clone() {
                    return Reply::json(status, answer);
                }
                let body = r.json();
                if let Some(a) = b.alerts.iter().find(|a| {
                    a["isActive"] == json!(true) && a["callGroupId"] == body["callGroupId"]
                }) {
                    return Reply::json(200, a.clone());
                }
                b.next_id += 1;
                let a = alert(
                    b.next_id,
                    body["callGroupId"].as_str().unwrap(),
                    body["alertType"].as_str().unwrap(),
                );
                b.alerts.push(a.clone());
                Reply::json(201, a)
            }
            ("GET", ALERTS) => {
                let mut active: Vec<Value> = b
                    .alerts
                    .iter()
                    .filter(|a| a["isActive"] == json!(true))
                    .cloned()
                    .collect();
                active.extend(b.phantoms.iter().cloned());
                Reply::json(200, json!(active))
            }
            ("PUT", p) if p.starts_with(ALERTS) && p.ends_with("/resolve") => {
                let id: u64 = p[ALERTS.len() + 1..p.len() - "/resolve".len()]
                    .parse()
                    .unwrap();
                match b.alerts.iter_mut().find(|a| a["id"] == json!(id)) {
                    Some(a) => {
                        a["isActive"] = json!(false);
                        Reply::json(200, a.clone())
                    }
                    None => Reply::text(b.unknown_status, "no such alert"),
                }
            }
            _ => Reply::status(404),
        }
    }
}

// ---- the loop over both -------------------------------------------------------------------

struct Rig {
    pbx: Arc<Mutex<Pbx>>,
    backend: Arc<Mutex<Backend>>,
    xapi_server: Server,
    api: Server,
    xapi: Arc<XapiClient>,
    store: Arc<MemoryCheckpointStore>,
}

type Loop = GroupLoop<XapiGroupDirectory, CallLoggerClient, Arc<MemoryCheckpointStore>>;

impl Rig {
    async fn start() -> Rig {
        let pbx = Arc::new(Mutex::new(Pbx {
            profile: "Away",
            office_hours: office_hours(json!([])),
            faults: HashMap::new(),
        }));
        let backend = Arc::new(Mutex::new(Backend {
            unknown_status: 404,
            ..Backend::default()
        }));
        let xapi_server = Server::start(xapi_backend(Arc::clone(&pbx))).await;
        let api = Server::start(alert_backend(Arc::clone(&backend))).await;
        let mut cfg = XapiConfig::new(xapi_server.url(), "pbx-sync", Secret::new("s3cr3t"));
        cfg.timeout = Duration::from_secs(5);
        let xapi = Arc::new(XapiClient::new(cfg).unwrap());
        Rig {
            pbx,
            backend,
            xapi_server,
            api,
            xapi,
            store: Arc::new(MemoryCheckpointStore::new()),
        }
    }

    /// A loop (debounce 1) with the office hours Monday 08:00-18:00 UTC.
    fn group_loop(&self) -> Loop {
        let mut http = CallLoggerConfig::new(self.api.url());
        http.retry = RetryPolicy::none();
        http.timeout = Duration::from_secs(5);
        let monitor = GroupMonitor::new(BusinessHours::weekdays(
            chrono_tz::UTC,
            "08:00-18:00".parse().unwrap(),
        ))
        .with_config(MonitorConfig {
            debounce: 1,
            ..MonitorConfig::default()
        });
        GroupLoop::new(
            XapiGroupDirectory::new(Arc::clone(&self.xapi)),
            CallLoggerClient::new(http).unwrap(),
            Arc::clone(&self.store),
            monitor,
        )
    }

    fn staffed(&self, yes: bool) {
        self.pbx.lock().unwrap().profile = if yes { "Available" } else { "Away" };
    }

    fn resolves(&self, id: u64) -> usize {
        self.api.count("PUT", &format!("{ALERTS}/{id}/resolve"))
    }
}

/// Monday 2026-11-23, `h:m` UTC.
fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

#[tokio::test]
async fn a_resolve_answered_404_or_410_forgets_the_alert_and_the_group_is_alerted_again() {
    for status in [404, 410] {
        let rig = Rig::start().await;
        rig.backend.lock().unwrap().unknown_status = status;
        let mut l = rig.group_loop();
        assert_eq!(l.check(at(10, 0)).await.unwrap().opened, 1);
        // An operator resolves and purges alert 1 at the backend.
        rig.backend.lock().unwrap().purge(1);
        rig.staffed(true);
        let (logs, guard) = Logs::capture();
        let r = l.check(at(10, 5)).await.unwrap();
        drop(guard);
        assert_eq!((r.resolved, r.forgotten), (0, 1), "{status}: {r:?}");
        assert!(r.failed.is_empty(), "{r:?}");
        assert!(logs.text().contains("WARN"), "{}", logs.text());
        assert!(logs.text().contains("does not know this alert"));
        // One try, never again.
        l.check(at(10, 10)).await.unwrap();
        assert_eq!(rig.resolves(1), 1);
        assert_eq!(l.health().lock().unwrap().open_alerts, 0);
        // Unstaffed again: a new alert.
        rig.staffed(false);
        let r = l.check(at(10, 15)).await.unwrap();
        assert_eq!(r.opened, 1, "{status}: {r:?}");
        assert_eq!(rig.api.count("POST", ALERTS), 2);
        let h = l.health().lock().unwrap().clone();
        assert_eq!(h.open_alerts, 1);
        let open = h.states["800"].alert.as_ref().unwrap();
        assert_eq!(open.alert_id.as_ref().unwrap().0, "2");
    }
}

#[tokio::test]
async fn the_forgotten_alert_stays_forgotten_across_a_restart() {
    let rig = Rig::start().await;
    let mut l = rig.group_loop();
    l.check(at(10, 0)).await.unwrap();
    rig.backend.lock().unwrap().purge(1);
    rig.staffed(true);
    assert_eq!(l.check(at(10, 5)).await.unwrap().forgotten, 1);
    // A restart over the same store: nothing to resolve, no second try.
    let mut restarted = rig.group_loop();
    let r = restarted.check(at(10, 10)).await.unwrap();
    assert_eq!((r.resolved, r.forgotten, r.opened), (0, 0, 0));
    assert_eq!(rig.resolves(1), 1);
}

#[tokio::test]
async fn phantom_alerts_adopted_from_the_backend_are_dropped_after_one_try() {
    let rig = Rig::start().await;
    rig.staffed(true);
    // The state is lost; the backend lists an alert for 800 and one for a group that is not
    // in the PBX, neither of which it can resolve.
    rig.backend.lock().unwrap().phantoms = vec![
        alert(77, "800", "NO_AVAILABLE_USERS"),
        alert(78, "999", "NO_ASSIGNED_USERS"),
    ];
    let mut l = rig.group_loop();
    let (logs, guard) = Logs::capture();
    let r = l.check(at(10, 0)).await.unwrap();
    drop(guard);
    assert_eq!(r.forgotten, 2, "{r:?}");
    assert!(r.failed.is_empty(), "{r:?}");
    assert_eq!(
        logs.text().matches("does not know this alert").count(),
        2,
        "{}",
        logs.text()
    );
    for _ in 0..3 {
        let r = l.check(at(10, 5)).await.unwrap();
        assert_eq!((r.resolved, r.forgotten), (0, 0));
    }
    assert_eq!((rig.resolves(77), rig.resolves(78)), (1, 1));
    assert_eq!(l.health().lock().unwrap().open_alerts, 0);
}

#[tokio::test]
async fn another_groups_alert_answered_to_a_post_is_ignored_and_never_resolved() {
    for status in [200, 409] {
        let rig = Rig::start().await;
        rig.backend.lock().unwrap().post_answer =
            Some((status, alert(9, "999", "NO_AVAILABLE_USERS")));
        let mut l = rig.group_loop();
        let (logs, guard) = Logs::capture();
        let r = l.check(at(10, 0)).await.unwrap();
        drop(guard);
        assert_eq!(r.opened, 0, "{status}: {r:?}");
        assert!(
            r.failed[0].contains("alert 9 of group 999"),
            "{status}: {r:?}"
        );
        assert!(
            logs.text().contains("another group's alert"),
            "{}",
            logs.text()
        );
        let h = l.health().lock().unwrap().clone();
        assert_eq!(h.failures["alert_mismatch"], 1);
        assert_eq!(h.last_failure.as_ref().unwrap().reason, "alert_mismatch");
        assert!(h.states["800"].alert.is_none(), "{h:?}");
        // Staffed again: group 999's alert is not touched.
        rig.staffed(true);
        l.check(at(10, 5)).await.unwrap();
        assert_eq!(rig.resolves(9), 0);
        // The backend answers right again: the group gets its own alert.
        rig.backend.lock().unwrap().post_answer = None;
        rig.staffed(false);
        let r = l.check(at(10, 10)).await.unwrap();
        assert_eq!(r.opened, 1, "{status}: {r:?}");
        let h = l.health().lock().unwrap().clone();
        assert_eq!(
            h.states["800"]
                .alert
                .as_ref()
                .unwrap()
                .alert_id
                .as_ref()
                .unwrap()
                .0,
            "1"
        );
    }
    // The same group with another type is not ours either.
    let rig = Rig::start().await;
    rig.backend.lock().unwrap().post_answer = Some((200, alert(5, "800", "NO_ASSIGNED_USERS")));
    let mut l = rig.group_loop();
    assert_eq!(l.check(at(10, 0)).await.unwrap().opened, 0);
}

#[tokio::test]
async fn office_hours_from_xapi_are_read_again_every_refresh() {
    let rig = Rig::start().await;
    let t0 = at(9, 0);
    let hours = rig.xapi.business_hours().await.unwrap();
    // The hours read at start (as the runtime does), then again every 5 minutes.
    let source: Arc<dyn pbx_sources::group_monitor::HoursSource> = rig.xapi.clone();
    let mut l = rig
        .group_loop()
        .with_hours_source(source, Duration::from_secs(300), Some(t0));
    // Not due: no read; the group is unstaffed in open hours.
    assert_eq!(l.check(t0).await.unwrap().opened, 1);
    assert_eq!(rig.xapi_server.count("GET", "/xapi/v1/OfficeHours"), 1);
    {
        let s = l.schedule();
        let s = s.lock().unwrap();
        assert_eq!(s.source, ScheduleSource::Xapi);
        assert_eq!(s.read_at, Some(t0));
        assert!(s.hours.is_open(at(10, 0)));
        assert_eq!(s.hours.timezone(), hours.timezone());
    }
    // 3CX: today becomes a holiday. The next due check reads it and resolves (closed).
    rig.pbx.lock().unwrap().office_hours = office_hours(holiday_today());
    let r = l.check(at(9, 4)).await.unwrap();
    assert_eq!(r.resolved, 0, "not due yet");
    let r = l.check(at(9, 5)).await.unwrap();
    assert_eq!(r.resolved, 1, "{r:?}");
    assert_eq!(rig.xapi_server.count("GET", "/xapi/v1/OfficeHours"), 2);
    assert_eq!(l.schedule().lock().unwrap().read_at, Some(at(9, 5)));
    assert!(!l.schedule().lock().unwrap().hours.is_open(at(10, 0)));
    // A failed read keeps the hours in use, says why, and is tried again at the next check.
    rig.pbx.lock().unwrap().faults.insert(
        "/xapi/v1/OfficeHours".into(),
        VecDeque::from([Reply::status(502)]),
    );
    let r = l.check(at(9, 10)).await.unwrap();
    assert_eq!(r.failed.len(), 1, "{r:?}");
    let s = l.schedule().lock().unwrap().clone();
    assert_eq!(s.read_at, Some(at(9, 5)));
    assert!(s.last_error.as_deref().unwrap().contains("502"), "{s:?}");
    assert!(!s.hours.is_open(at(10, 0)));
    let h = l.health().lock().unwrap().clone();
    assert_eq!(h.failures["office_hours"], 1);
    assert_eq!(h.last_failure.unwrap().reason, "office_hours");
    rig.pbx.lock().unwrap().office_hours = office_hours(json!([]));
    l.check(at(9, 11)).await.unwrap();
    let s = l.schedule().lock().unwrap().clone();
    assert_eq!((s.read_at, s.last_error), (Some(at(9, 11)), None));
    assert!(s.hours.is_open(at(10, 0)));
}

#[tokio::test]
async fn a_failing_monitor_shows_its_last_failure_and_counts() {
    let rig = Rig::start().await;
    let mut l = rig.group_loop();
    l.check(at(10, 0)).await.unwrap();
    assert_eq!(l.health().lock().unwrap().last_success, Some(at(10, 0)));
    let faults = [
        Reply::status(502),
        Reply::status(302).header("location", "http://elsewhere/"),
        Reply::json(200, json!({"value": "not a list"})),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        rig.pbx
            .lock()
            .unwrap()
            .faults
            .insert("/xapi/v1/Users".into(), VecDeque::from([fault]));
        let now = at(10, 1 + i as u32);
        let e = l.check(now).await.unwrap_err();
        assert!(
            matches!(e, Error::Monitor(MonitorError::GroupDirectory { .. })),
            "{e:?}"
        );
        let h = l.health().lock().unwrap().clone();
        assert_eq!(h.last.at, Some(now), "the last check is the failed one");
        assert_eq!(h.last.failed.len(), 1, "{h:?}");
        let failure = h.last_failure.unwrap();
        assert_eq!((failure.at, failure.reason), (now, "directory"));
        assert!(
            failure.error.contains("/xapi/v1/Users"),
            "{}",
            failure.error
        );
        assert_eq!(h.last_success, Some(at(10, 0)));
        assert_eq!(h.failures["directory"], i as u64 + 1);
        assert_eq!(h.checks, i as u64 + 2);
        assert_eq!(h.open_alerts, 1, "the open alert is still held");
    }
    l.check(at(10, 10)).await.unwrap();
    let h = l.health().lock().unwrap().clone();
    assert_eq!(h.last_success, Some(at(10, 10)));
    assert!(h.last.failed.is_empty());
    // XAPI requests by outcome.
    let counts = rig.xapi.request_counts();
    assert_eq!(counts["status"], 2, "{counts:?}");
    assert_eq!(counts["decode"], 1, "{counts:?}");
    assert!(counts["ok"] >= 10, "{counts:?}");
}
