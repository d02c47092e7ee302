//! `pbx-sideloader` as a service, against in-process doubles of the 3CX configuration API
//! (XAPI: token, `/Users`, `/RingGroups`, `/Queues`, per the v1 swagger) and of the
//! call-logger API (calls and call-group alerts, per its published contract):
//!
//! - call-group monitoring: a group without an available member during business hours opens
//!   exactly one alert; a restart neither posts it again nor forgets it; when a member
//!   becomes available it is resolved; `POST /trigger/alerts` runs a check now;
//! - office hours from XAPI (`business_hours.from_xapi`) are read again every
//!   `xapi.refresh_secs` and shown in `/status`, and the monitor's health (a failing XAPI,
//!   failures by reason, open alerts) shows in `/status` and `/metrics`;
//! - the extension map is read from XAPI again every `xapi.refresh_secs`: a user added at the
//!   PBX owns the calls that come after;
//! - SIGTERM stops the service within a deadline with its checkpoint saved.

mod common;
use common::{free_port, scratch};

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_pbx-sideloader");
const SAMPLE: &str = include_str!("../data/cdr-sample.log");
const CLIENT_ID: &str = "pbx-sideloader-test";
const SECRET: &str = "xapi-secret-e2e-51c3";
const TOKEN: &str = "xapi-token-e2e";

// ---- the 3CX XAPI double ------------------------------------------------------------------

#[derive(Default)]
struct Pbx {
    users: Vec<Value>,
    ring_groups: Vec<Value>,
    /// `GET /OfficeHours` (`null`: 404).
    office_hours: Value,
    /// The next `/Users` requests to answer 502.
    users_fail: usize,
    /// Requests per path (`/xapi/v1/Users`, …).
    hits: HashMap<String, usize>,
}

type SharedPbx = Arc<Mutex<Pbx>>;

fn user(id: u32, number: &str, email: &str, available: bool) -> Value {
    json!({"Id": id, "Number": number, "FirstName": format!("First{number}"),
           "LastName": format!("Last{number}"), "DisplayName": format!("User {number}"),
           "EmailAddress": email, "QueueStatus": "LoggedIn", "IsRegistered": true,
           "CurrentProfileName": if available { "Available" } else { "Away" }})
}

async fn token(Form(form): Form<HashMap<String, String>>) -> Response {
    let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(SECRET);
    if !ok {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    axum::Json(json!({"token_type": "Bearer", "expires_in": 3600, "access_token": TOKEN}))
        .into_response()
}

/// One OData collection page (`$skip`/`$top` honoured).
fn odata(
    pbx: &SharedPbx,
    path: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    pick: fn(&Pbx) -> &Vec<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut p = pbx.lock().unwrap();
    *p.hits.entry(path.to_owned()).or_default() += 1;
    let skip: usize = query.get("$skip").map_or(0, |s| s.parse().unwrap());
    let top: usize = query.get("$top").map_or(usize::MAX, |s| s.parse().unwrap());
    let value: Vec<Value> = pick(&p).iter().skip(skip).take(top).cloned().collect();
    axum::Json(
        json!({"@odata.context": format!("https://pbx/xapi/v1/$metadata#{path}"), "value": value}),
    )
    .into_response()
}

async fn users(
    State(pbx): State<SharedPbx>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    {
        let mut p = pbx.lock().unwrap();
        if p.users_fail > 0 {
            p.users_fail -= 1;
            return (StatusCode::BAD_GATEWAY, "upstream down").into_response();
        }
    }
    odata(&pbx, "/xapi/v1/Users", &headers, &q, |p| &p.users)
}

async fn office_hours(State(pbx): State<SharedPbx>, headers: HeaderMap) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut p = pbx.lock().unwrap();
    *p.hits.entry("/xapi/v1/OfficeHours".to_owned()).or_default() += 1;
    if p.office_hours.is_null() {
        return StatusCode::NOT_FOUND.into_response();
    }
    axum::Json(p.office_hours.clone()).into_response()
}

async fn ring_groups(
    State(pbx): State<SharedPbx>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    odata(&pbx, "/xapi/v1/RingGroups", &headers, &q, |p| {
        &p.ring_groups
    })
}

async fn queues(
    State(pbx): State<SharedPbx>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    static NONE: Vec<Value> = Vec::new();
    odata(&pbx, "/xapi/v1/Queues", &headers, &q, |_| &NONE)
}

// ---- the call-logger API double -----------------------------------------------------------

#[derive(Default)]
struct Backend {
    calls: Vec<Value>,
    alerts: Vec<Value>,
    alert_posts: usize,
    active_lists: usize,
    resolves: usize,
}

type SharedBackend = Arc<Mutex<Backend>>;

async fn from_pbx(State(b): State<SharedBackend>, axum::Json(call): axum::Json<Value>) -> Response {
    let mut b = b.lock().unwrap();
    if b.calls.iter().any(|c| c["pbxCallId"] == call["pbxCallId"]) {
        return StatusCode::CONFLICT.into_response();
    }
    b.calls.push(call.clone());
    (StatusCode::CREATED, axum::Json(call)).into_response()
}

async fn open_alert(
    State(b): State<SharedBackend>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut b = b.lock().unwrap();
    b.alert_posts += 1;
    // At most one active alert per group: a duplicate gets the existing one.
    if let Some(a) = b
        .alerts
        .iter()
        .find(|a| a["isActive"] == json!(true) && a["callGroupId"] == body["callGroupId"])
    {
        return axum::Json(a.clone()).into_response();
    }
    let alert = json!({"id": b.alerts.len() + 1, "callGroupId": body["callGroupId"],
        "callGroupName": body["callGroupName"], "alertType": body["alertType"],
        "alertMessage": body["alertMessage"], "isActive": true,
        "createdAt": "2026-11-25T10:30:00", "resolvedAt": null});
    b.alerts.push(alert.clone());
    (StatusCode::CREATED, axum::Json(alert)).into_response()
}

async fn list_alerts(
    State(b): State<SharedBackend>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut b = b.lock().unwrap();
    b.active_lists += 1;
    let active = q.get("active").map(String::as_str) == Some("true");
    let list: Vec<Value> = b
        .alerts
        .iter()
        .filter(|a| !active || a["isActive"] == json!(true))
        .cloned()
        .collect();
    axum::Json(list).into_response()
}

async fn resolve_alert(State(b): State<SharedBackend>, UrlPath(id): UrlPath<u64>) -> Response {
    let mut b = b.lock().unwrap();
    b.resolves += 1;
    match b.alerts.iter_mut().find(|a| a["id"] == json!(id)) {
        Some(a) => {
            a["isActive"] = json!(false);
            a["resolvedAt"] = json!("2026-11-25T11:00:00");
            axum::Json(a.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such alert").into_response(),
    }
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn start_pbx(pbx: SharedPbx) -> SocketAddr {
    serve(
        Router::new()
            .route("/connect/token", post(token))
            .route("/xapi/v1/Users", get(users))
            .route("/xapi/v1/RingGroups", get(ring_groups))
            .route("/xapi/v1/Queues", get(queues))
            .route("/xapi/v1/OfficeHours", get(office_hours))
            .with_state(pbx),
    )
    .await
}

async fn start_backend(backend: SharedBackend) -> SocketAddr {
    serve(
        Router::new()
            .route("/api/calls/from-pbx", post(from_pbx))
            .route("/api/alerts/call-groups", post(open_alert).get(list_alerts))
            .route("/api/alerts/call-groups/{id}/resolve", put(resolve_alert))
            .with_state(backend),
    )
    .await
}

// ---- the sideloader process ---------------------------------------------------------------

/// A process that is killed if the test fails before stopping it.
struct Sideloader {
    child: Option<Child>,
    base: String,
}

impl Sideloader {
    fn start(config: &Path, port: u16) -> Sideloader {
        let child = Command::new(BIN)
            .args(["--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pbx-sideloader starts");
        Sideloader {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn status(&self) -> Option<Value> {
        let r = reqwest::get(format!("{}/status", self.base)).await.ok()?;
        r.json().await.ok()
    }

    async fn trigger(&self, what: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/trigger/{what}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Waits for the status endpoint to satisfy `ok`.
    async fn wait_status(&self, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.status().await
                && ok(&s)
            {
                return s;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM; the process must exit 0 within `deadline`. Returns its stderr.
    fn terminate(&mut self, deadline: Duration) -> String {
        let mut child = self.child.take().unwrap();
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
                assert_eq!(status.code(), Some(0), "exit after SIGTERM: {err}");
                return err;
            }
            if start.elapsed() > deadline {
                let _ = child.kill();
                panic!("pbx-sideloader did not stop within {deadline:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sideloader {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `ok` until it holds (20 s at most).
async fn eventually(what: &str, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The config: a CDR file source, the doubles, `call_api_more` inside `call_api` (like
/// `, concurrency: 1`), `extra` sections at the end.
fn write_config(
    dir: &Path,
    port: u16,
    pbx: SocketAddr,
    api: SocketAddr,
    call_api_more: &str,
    extra: &str,
) -> PathBuf {
    let path = dir.join("config.yml");
    let yaml = format!(
        "pbx: {{timezone: UTC}}\n\
         source: {{kind: file, path: '{out}/cdr.log'}}\n\
         call_api: {{base_url: 'http://{api}', timeout_secs: 5{call_api_more}}}\n\
         xapi: {{base_url: 'http://{pbx}', client_id: {CLIENT_ID}, client_secret: {SECRET}, refresh_secs: 10}}\n\
         checkpoint: {{kind: file, path: '{out}/checkpoint.json'}}\n\
         quarantine: {{path: '{out}/quarantine.jsonl'}}\n\
         http: {{listen: '127.0.0.1:{port}'}}\n\
         polling: {{interval_secs: 1}}\n\
         {extra}",
        out = dir.display()
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

/// An inbound call answered by `ext`: the sample's first line with its own ids.
fn call_line(n: u32, ext: &str) -> String {
    let first = SAMPLE.lines().next().unwrap();
    first
        .replace("40001", &format!("5{n:04}"))
        .replace("_5204", &format!("_9{n:03}"))
        .replace("101", ext)
        + "\r\n"
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

// ---- tests --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unstaffed_group_opens_one_alert_survives_a_restart_and_resolves() {
    let dir = scratch("groups");
    std::fs::write(dir.join("cdr.log"), "").unwrap();
    let pbx: SharedPbx = Arc::new(Mutex::new(Pbx {
        users: vec![
            user(1, "101", "anna@example.com", false),
            user(2, "102", "bob@example.com", false),
        ],
        ring_groups: vec![json!({"Id": 1, "Number": "800", "Name": "Support",
            "RingStrategy": "RingAll",
            "Members": [{"Id": 11, "Number": "101", "Name": "Anna"},
                        {"Id": 12, "Number": "102", "Name": "Bob"}]})],
        ..Pbx::default()
    }));
    let backend: SharedBackend = Arc::default();
    let (pbx_addr, api_addr) = (
        start_pbx(pbx.clone()).await,
        start_backend(backend.clone()).await,
    );
    let port = free_port();
    // Open around the clock: "now" is always within business hours.
    let hours = "'00:00-24:00'";
    let cfg = write_config(
        &dir,
        port,
        pbx_addr,
        api_addr,
        "",
        &format!(
            "business_hours: {{monday: {hours}, tuesday: {hours}, wednesday: {hours}, thursday: {hours}, \
             friday: {hours}, saturday: {hours}, sunday: {hours}}}\n\
             groups: {{enabled: true, interval_secs: 3600, debounce: 2}}\n"
        ),
    );
    let alert_posts = || backend.lock().unwrap().alert_posts;
    let active = || {
        backend
            .lock()
            .unwrap()
            .alerts
            .iter()
            .filter(|a| a["isActive"] == json!(true))
            .count()
    };

    let mut s = Sideloader::start(&cfg, port);
    // The first check runs at start; debounce 2 needs a second failing check.
    let first = s
        .wait_status("the first check", |st| !st["groups"]["at"].is_null())
        .await;
    assert_eq!(first["groups"]["groups"], 1, "{first}");
    assert_eq!(
        alert_posts(),
        0,
        "debounced: one failing check opens nothing"
    );
    let checked_at = |st: &Value| st["groups"]["at"].as_str().map(str::to_owned);
    for round in 0..3 {
        let before = checked_at(&s.status().await.unwrap());
        let (code, body) = s.trigger("alerts").await;
        assert_eq!((code, &body), (202, &json!({"triggered": "alerts"})));
        let after = s
            .wait_status("a triggered check", |st| checked_at(st) != before)
            .await;
        assert_eq!(after["groups"]["opened"], u64::from(round == 0), "{after}");
    }
    assert_eq!(alert_posts(), 1, "exactly one alert posted");
    assert_eq!(active(), 1);
    {
        let b = backend.lock().unwrap();
        assert_eq!(b.alerts[0]["callGroupId"], "800");
        assert_eq!(b.alerts[0]["alertType"], "NO_AVAILABLE_USERS");
        // First start without saved state: the backend's open alerts were asked for once.
        assert_eq!(b.active_lists, 1);
    }
    let err = s.terminate(Duration::from_secs(10));
    assert!(!err.contains("ERROR"), "{err}");

    // A restart: the saved state knows the alert; nothing is posted again or asked for.
    let mut s = Sideloader::start(&cfg, port);
    s.wait_status("the first check after the restart", |st| {
        !st["groups"]["at"].is_null()
    })
    .await;
    for _ in 0..2 {
        let before = checked_at(&s.status().await.unwrap());
        s.trigger("alerts").await;
        s.wait_status("a triggered check", |st| checked_at(st) != before)
            .await;
    }
    {
        let b = backend.lock().unwrap();
        assert_eq!(b.alert_posts, 1, "not posted again after the restart");
        assert_eq!(
            b.active_lists, 1,
            "the state was read from the checkpoint store"
        );
        assert_eq!(b.resolves, 0, "not forgotten either");
    }
    assert_eq!(active(), 1);

    // Bob becomes available: the alert is resolved, once.
    pbx.lock().unwrap().users[1] = user(2, "102", "bob@example.com", true);
    let before = checked_at(&s.status().await.unwrap());
    s.trigger("alerts").await;
    let st = s
        .wait_status("the check after Bob came back", |st| {
            checked_at(st) != before
        })
        .await;
    assert_eq!(st["groups"]["resolved"], 1, "{st}");
    eventually("the alert resolved", || active() == 0).await;
    s.trigger("alerts").await;
    let before = checked_at(&s.status().await.unwrap());
    s.trigger("alerts").await;
    s.wait_status("one more check", |st| checked_at(st) != before)
        .await;
    {
        let b = backend.lock().unwrap();
        assert_eq!((b.alert_posts, b.resolves), (1, 1));
        assert_eq!(b.alerts[0]["isActive"], false);
    }
    s.terminate(Duration::from_secs(10));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn office_hours_from_xapi_and_the_monitors_health_show_in_status_and_metrics() {
    let dir = scratch("groups-health");
    std::fs::write(dir.join("cdr.log"), "").unwrap();
    let all_day = |day: &str| json!({"DayOfWeek": day, "Start": "00:00:00", "Stop": "00:00:00"});
    let days = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let pbx: SharedPbx = Arc::new(Mutex::new(Pbx {
        users: vec![user(1, "101", "anna@example.com", false)],
        ring_groups: vec![json!({"Id": 1, "Number": "800", "Name": "Support",
            "Members": [{"Id": 11, "Number": "101", "Name": "Anna"}]})],
        office_hours: json!({
            "Hours": {"Type": "OfficeHours", "IgnoreHolidays": false,
                "Periods": days.iter().map(|d| all_day(d)).collect::<Vec<_>>()},
            "BreakTime": {"Type": "BreakTime", "Periods": []},
            "TimeZoneId": "W. Europe Standard Time",
            "OfficeHolidays": []}),
        ..Pbx::default()
    }));
    let backend: SharedBackend = Arc::default();
    let (pbx_addr, api_addr) = (
        start_pbx(pbx.clone()).await,
        start_backend(backend.clone()).await,
    );
    let port = free_port();
    let cfg = write_config(
        &dir,
        port,
        pbx_addr,
        api_addr,
        "",
        "business_hours: {from_xapi: true}\n\
         groups: {enabled: true, interval_secs: 3600, debounce: 1}\n",
    );
    let mut s = Sideloader::start(&cfg, port);
    let st = s
        .wait_status("the first check", |st| st["groups"]["opened"] == 1)
        .await;
    // The schedule in use: from XAPI, when read, open now.
    let hours = &st["business_hours"];
    assert_eq!(hours["source"], "xapi", "{st}");
    assert_eq!(hours["timezone"], "Europe/Berlin", "{st}");
    assert_eq!(hours["open"], true, "{st}");
    assert!(hours["read_at"].is_string(), "{st}");
    assert!(hours["last_error"].is_null(), "{st}");
    let g = &st["groups"];
    assert_eq!(g["checks"], 1, "{st}");
    assert_eq!(g["open_alerts"], 1, "{st}");
    assert!(
        g["last_success"].is_string() && g["last_failure"].is_null(),
        "{st}"
    );
    assert_eq!(g["states"]["800"]["alert"]["alert_id"], "1", "{st}");

    // XAPI /Users fails: the failure, its reason and the count are visible.
    pbx.lock().unwrap().users_fail = 1;
    let (code, _) = s.trigger("alerts").await;
    assert_eq!(code, 202);
    let st = s
        .wait_status("the failed check", |st| st["groups"]["checks"] == 2)
        .await;
    let g = &st["groups"];
    assert_eq!(g["last_failure"]["reason"], "directory", "{st}");
    assert!(
        g["last_failure"]["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 502"),
        "{st}"
    );
    assert_eq!(g["failed"].as_array().unwrap().len(), 1, "{st}");
    assert_eq!(g["failures"]["directory"], 1, "{st}");
    assert_eq!(g["open_alerts"], 1, "the alert is still held: {st}");
    let metrics = reqwest::get(format!("{}/metrics", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "pbx_group_checks_total 2",
        "pbx_group_check_failures_total{reason=\"directory\"} 1",
        "pbx_group_check_failures_total{reason=\"office_hours\"} 0",
        "pbx_group_alerts_open 1",
        "pbx_xapi_requests_total{outcome=\"status\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}:\n{metrics}");
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pbx_xapi_requests_total{outcome=\"ok\"} ")),
        "{metrics}"
    );
    assert_eq!(pbx.lock().unwrap().hits["/xapi/v1/OfficeHours"], 1);

    // 3CX: the office closes for good. After `xapi.refresh_secs` (10 s) the next check reads
    // the hours again and resolves the alert (closed).
    pbx.lock().unwrap().office_hours["Hours"]["Periods"] = json!([]);
    pbx.lock().unwrap().users_fail = 0;
    let read_at = hours["read_at"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_secs(10)).await;
    s.trigger("alerts").await;
    let st = s
        .wait_status("the check after the refresh", |st| {
            st["groups"]["checks"] == 3
        })
        .await;
    assert_eq!(pbx.lock().unwrap().hits["/xapi/v1/OfficeHours"], 2);
    assert_eq!(st["groups"]["resolved"], 1, "{st}");
    assert_eq!(st["business_hours"]["open"], false, "{st}");
    assert_ne!(st["business_hours"]["read_at"], json!(read_at), "{st}");
    s.terminate(Duration::from_secs(10));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_added_at_the_pbx_owns_later_calls_and_sigterm_saves_the_checkpoint() {
    let dir = scratch("refresh");
    let source = dir.join("cdr.log");
    std::fs::write(&source, call_line(1, "120")).unwrap();
    let pbx: SharedPbx = Arc::new(Mutex::new(Pbx {
        users: vec![user(1, "101", "anna@example.com", true)],
        ..Pbx::default()
    }));
    let backend: SharedBackend = Arc::default();
    let (pbx_addr, api_addr) = (
        start_pbx(pbx.clone()).await,
        start_backend(backend.clone()).await,
    );
    let port = free_port();
    let cfg = write_config(
        &dir,
        port,
        pbx_addr,
        api_addr,
        "",
        "extensions: {map: {'101': configured@example.com}, from_xapi: true}\n",
    );
    let mut s = Sideloader::start(&cfg, port);
    // 120 is nobody yet: its call is skipped with the reason.
    let st = s
        .wait_status("the first call settled", |st| {
            st["counters"]["skipped"]["no_owner_email"] == 1
        })
        .await;
    // …and it is listed as an unmapped extension in /status and /metrics.
    assert_eq!(st["unmapped_extensions"]["120"]["calls"], 1, "{st}");
    assert!(
        st["unmapped_extensions"]["120"]["lastSeen"].is_string(),
        "{st}"
    );
    let metrics = reqwest::get(format!("{}/metrics", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("pbx_unmapped_extension_calls_total{extension=\"120\"} 1\n"),
        "{metrics}"
    );
    // The configured map wins over XAPI for the extensions it lists.
    append(&source, &call_line(2, "101"));
    s.trigger("poll").await;
    eventually("101's call", || backend.lock().unwrap().calls.len() == 1).await;
    assert_eq!(
        backend.lock().unwrap().calls[0]["callOwnerEmail"],
        "configured@example.com"
    );
    let users_read = pbx.lock().unwrap().hits["/xapi/v1/Users"];

    // 120 is added at the PBX. Calls keep coming (one a second); once the map was read again
    // (refresh_secs: 10), 120's calls carry its address.
    pbx.lock()
        .unwrap()
        .users
        .push(user(2, "120", "new.hire@example.com", true));
    let added = Instant::now();
    let mut n = 3;
    let owned = loop {
        append(&source, &call_line(n, "120"));
        n += 1;
        s.trigger("poll").await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let found = backend
            .lock()
            .unwrap()
            .calls
            .iter()
            .find(|c| c["callOwnerExtension"] == "120")
            .cloned();
        if let Some(c) = found {
            break c;
        }
        assert!(
            added.elapsed() < Duration::from_secs(30),
            "120's calls never got an owner"
        );
    };
    assert_eq!(owned["callOwnerEmail"], "new.hire@example.com");
    assert_eq!(owned["callDirection"], "INBOUND");
    assert!(pbx.lock().unwrap().hits["/xapi/v1/Users"] > users_read);
    // Not read on every round (once a second): only when the refresh interval is up.
    assert!(
        pbx.lock().unwrap().hits["/xapi/v1/Users"] <= users_read + 3,
        "{:?}",
        pbx.lock().unwrap().hits
    );

    // SIGTERM: the service stops in time, with the checkpoint at the end of the file.
    s.wait_status("every line settled", |st| {
        st["counters"]["received"] == json!(n - 1)
    })
    .await;
    s.terminate(Duration::from_secs(10));
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("checkpoint.json")).unwrap())
            .unwrap();
    let len = std::fs::metadata(&source).unwrap().len();
    let offset: u64 = saved["cdr"]
        .as_str()
        .unwrap()
        .split(':')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(offset, len, "{saved}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_alerts_without_groups_is_a_conflict() {
    let dir = scratch("nogroups");
    std::fs::write(dir.join("cdr.log"), "").unwrap();
    let backend: SharedBackend = Arc::default();
    let api_addr = start_backend(backend).await;
    let pbx_addr = start_pbx(Arc::default()).await;
    let port = free_port();
    let cfg = write_config(&dir, port, pbx_addr, api_addr, "", "");
    let mut s = Sideloader::start(&cfg, port);
    s.wait_status("the service", |st| st["checkpoint"].is_null())
        .await;
    let (code, body) = s.trigger("alerts").await;
    assert_eq!(code, 409);
    assert!(body["error"].as_str().unwrap().contains("groups.enabled"));
    let (code, _) = s.trigger("poll").await;
    assert_eq!(code, 202);
    s.terminate(Duration::from_secs(10));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A call API that takes its time: each call is stored after `delay`.
async fn slow_from_pbx(
    State((b, delay)): State<(SharedBackend, Duration)>,
    body: axum::Json<Value>,
) -> Response {
    tokio::time::sleep(delay).await;
    from_pbx(State(b), body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_calls_in_flight_and_saves_the_acknowledged_prefix() {
    let dir = scratch("sigterm");
    let source = dir.join("cdr.log");
    let lines: Vec<String> = (1..=6).map(|n| call_line(n, "101")).collect();
    std::fs::write(&source, lines.concat()).unwrap();
    let backend: SharedBackend = Arc::default();
    let api_addr = serve(
        Router::new()
            .route("/api/calls/from-pbx", post(slow_from_pbx))
            .with_state((backend.clone(), Duration::from_millis(400))),
    )
    .await;
    let pbx_addr = start_pbx(Arc::default()).await;
    let port = free_port();
    let cfg = write_config(
        &dir,
        port,
        pbx_addr,
        api_addr,
        ", concurrency: 1",
        "extensions: {map: {'101': anna@example.com}}\n",
    );

    let mut s = Sideloader::start(&cfg, port);
    // Six calls, one at a time, 400 ms each: stop after the first is stored, while the
    // second is in flight.
    eventually("the first call stored", || {
        !backend.lock().unwrap().calls.is_empty()
    })
    .await;
    let started = Instant::now();
    let err = s.terminate(Duration::from_secs(15));
    let took = started.elapsed();
    // The call in flight was finished, not cut; no new one was started.
    let stored = backend.lock().unwrap().calls.len();
    assert!((1..6).contains(&stored), "{stored} stored\n{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The checkpoint is at the acknowledged prefix: the calls stored so far.
    let saved = std::fs::read_to_string(dir.join("checkpoint.json")).unwrap();
    let offset: usize = lines[..stored].iter().map(String::len).sum();
    assert!(saved.contains(&format!(":{offset}:{stored}")), "{saved}");
    // A run after the stop sends the rest, each once.
    let out = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.starts_with(&format!(
            "pbx-sideloader: {} delivered, 0 already delivered",
            6 - stored
        )),
        "{out}"
    );
    let ids: std::collections::HashSet<String> = backend
        .lock()
        .unwrap()
        .calls
        .iter()
        .map(|c| c["pbxCallId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 6);
    assert_eq!(backend.lock().unwrap().calls.len(), 6);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Missed calls (issue 29, point 2) with `business_hours.from_xapi`: 3CX's office hours, read
/// at start, decide which routed missed calls are logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_missed_calls_follow_the_office_hours_from_xapi() {
    let dir = scratch("missed-xapi");
    // The sample's line 10 (Tue 3 Nov 00:20 UTC) and line 43 (Sat 7 Nov 20:14 UTC): nobody
    // answered queue 800.
    let lines: Vec<&str> = SAMPLE.lines().collect();
    std::fs::write(
        dir.join("cdr.log"),
        format!("{}\n{}\n", lines[9], lines[42]),
    )
    .unwrap();
    let pbx: SharedPbx = Arc::new(Mutex::new(Pbx {
        // Open all Tuesday, closed on Saturday.
        office_hours: json!({
            "Hours": {"Type": "OfficeHours", "IgnoreHolidays": false,
                "Periods": [{"DayOfWeek": "Tuesday", "Start": "00:00:00", "Stop": "00:00:00"}]},
            "BreakTime": {"Type": "BreakTime", "Periods": []},
            "TimeZoneId": "UTC",
            "OfficeHolidays": []}),
        ..Pbx::default()
    }));
    let backend: SharedBackend = Arc::default();
    let (pbx_addr, api_addr) = (
        start_pbx(pbx.clone()).await,
        start_backend(backend.clone()).await,
    );
    let port = free_port();
    let cfg = write_config(
        &dir,
        port,
        pbx_addr,
        api_addr,
        "",
        "business_hours: {from_xapi: true}\n\
         extensions: {map: {'103': carla@example.com}}\n\
         missed_calls: {route: {'800': '103'}}\n",
    );
    let mut s = Sideloader::start(&cfg, port);
    let st = s
        .wait_status("both calls settled", |st| st["counters"]["received"] == 2)
        .await;
    assert_eq!(st["counters"]["skipped"]["missed_outside_hours"], 1, "{st}");
    eventually("the Tuesday call", || {
        backend.lock().unwrap().calls.len() == 1
    })
    .await;
    let call = backend.lock().unwrap().calls[0].clone();
    assert_eq!(call["callOwnerExtension"], "103", "{call}");
    assert_eq!(call["callOwnerEmail"], "carla@example.com", "{call}");
    assert_eq!(call["callDuration"], 0, "{call}");
    assert_eq!(call["phoneNumber"], "+19075557810", "{call}");
    assert_eq!(pbx.lock().unwrap().hits["/xapi/v1/OfficeHours"], 1);
    s.terminate(Duration::from_secs(10));
    std::fs::remove_dir_all(dir).unwrap();
}
