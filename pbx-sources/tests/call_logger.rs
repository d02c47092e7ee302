//! The call-logger API client against an in-process server that follows the API's contract
//! (`reference/call-logger-api.md`) and its failure modes.

mod common;

use pbx_sources::HttpError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Logs, RecordingSleeper, Reply, Server, call};
use pbx_core::groups::{AlertId, AlertRequest, AlertType, ResolveOutcome};
use pbx_core::{AlertSink, CallSink, DeliveryOutcome, FailureKind};
use pbx_sources::call_logger::{CallLoggerClient, CallLoggerConfig, RetryPolicy};
use pbx_sources::{Error, Secret};
use serde_json::json;

const CALLS: &str = "/api/calls/from-pbx";
const ALERTS: &str = "/api/alerts/call-groups";

fn config(server: &Server) -> CallLoggerConfig {
    let mut cfg = CallLoggerConfig::new(server.url());
    cfg.token = Some(Secret::new("test-token-0001"));
    cfg.timeout = Duration::from_secs(5);
    cfg.retry = RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(100),
        cap: Duration::from_millis(800),
        max_retry_after: Duration::from_secs(30),
        seed: Some(1),
    };
    cfg
}

fn client(server: &Server) -> (CallLoggerClient, RecordingSleeper) {
    client_with(config(server))
}

fn client_with(cfg: CallLoggerConfig) -> (CallLoggerClient, RecordingSleeper) {
    let sleeper = RecordingSleeper::default();
    let c = CallLoggerClient::new(cfg)
        .unwrap()
        .with_sleeper(sleeper.clone());
    (c, sleeper)
}

/// Answers from a script, one reply per request; the last one repeats.
fn scripted(replies: Vec<Reply>) -> impl Fn(&common::Request) -> Reply + Send + Sync + 'static {
    let n = AtomicUsize::new(0);
    move |_| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        replies[i.min(replies.len() - 1)].clone()
    }
}

fn stored(id: u32) -> serde_json::Value {
    json!({"id": id, "phoneNumber": "9075551234", "isPbxOriginated": true,
           "pbxDataReceivedAt": "2025-01-21T19:30:01Z"})
}

#[tokio::test]
async fn created_201_is_delivered_with_the_exact_body_and_bearer_token() {
    let server = Server::start(scripted(vec![Reply::json(201, stored(1))])).await;
    let (c, sleeper) = client(&server);
    assert_eq!(
        c.deliver(&call("3cx-test-12345")).await,
        DeliveryOutcome::Delivered
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", CALLS));
    assert_eq!(r.bearer(), Some("test-token-0001"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({"phoneNumber":"9075551234","callDuration":300,"callOwnerExtension":"101",
               "callOwnerEmail":"john.doe@example.com","callDirection":"INBOUND",
               "timestamp":"2025-01-21T10:30:00.000-09:00","pbxCallId":"3cx-test-12345"})
    );
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn ok_200_is_delivered_and_no_token_means_no_authorization_header() {
    let server = Server::start(scripted(vec![Reply::json(200, stored(2))])).await;
    let mut cfg = config(&server);
    cfg.token = None;
    let (c, _) = client_with(cfg);
    assert_eq!(c.deliver(&call("3cx-1")).await, DeliveryOutcome::Delivered);
    assert_eq!(server.count("POST", CALLS), 1);
    assert_eq!(server.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn conflict_409_is_a_duplicate_and_is_not_retried() {
    let server = Server::start(scripted(vec![Reply::text(409, "exists")])).await;
    let (c, sleeper) = client(&server);
    assert_eq!(c.deliver(&call("3cx-1")).await, DeliveryOutcome::Duplicate);
    assert!(c.deliver(&call("3cx-1")).await.is_final());
    assert_eq!(server.count("POST", CALLS), 2);
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn bad_request_400_and_422_are_rejected_with_the_message_and_never_retried() {
    let server = Server::start(scripted(vec![
        Reply::json(400, json!({"message": "callOwnerEmail must be an email"})),
        Reply::text(422, "timestamp unparseable"),
    ]))
    .await;
    let (c, sleeper) = client(&server);
    match c.deliver(&call("3cx-1")).await {
        DeliveryOutcome::Rejected { status: 400, body } => {
            assert!(body.contains("callOwnerEmail must be an email"), "{body}")
        }
        other => panic!("{other:?}"),
    }
    match c.deliver(&call("3cx-2")).await {
        DeliveryOutcome::Rejected { status: 422, body } => {
            assert_eq!(body, "timestamp unparseable")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count("POST", CALLS), 2);
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn any_other_4xx_is_a_rejection_but_404_and_429_are_not() {
    let server = Server::start(scripted(vec![
        Reply::text(413, "payload too large"),
        Reply::text(415, "unsupported media type"),
    ]))
    .await;
    let (c, sleeper) = client(&server);
    for status in [413, 415] {
        match c.deliver(&call("3cx-1")).await {
            DeliveryOutcome::Rejected { status: s, .. } => assert_eq!(s, status),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(server.count("POST", CALLS), 2);
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn unauthorized_401_and_forbidden_403_fail_auth_without_retry() {
    let server = Server::start(scripted(vec![Reply::status(401), Reply::status(403)])).await;
    let (c, sleeper) = client(&server);
    assert_eq!(
        c.deliver(&call("3cx-1")).await,
        DeliveryOutcome::AuthFailed { status: 401 }
    );
    assert_eq!(
        c.deliver(&call("3cx-2")).await,
        DeliveryOutcome::AuthFailed { status: 403 }
    );
    assert_eq!(server.count("POST", CALLS), 2);
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn a_burst_of_5xx_is_retried_with_capped_jittered_backoff_then_delivered() {
    let server = Server::start(scripted(vec![
        Reply::text(503, "maintenance"),
        Reply::status(500),
        Reply::status(502),
        Reply::json(201, stored(3)),
    ]))
    .await;
    let (c, sleeper) = client(&server);
    assert_eq!(c.deliver(&call("3cx-1")).await, DeliveryOutcome::Delivered);
    assert_eq!(server.count("POST", CALLS), 4);
    let delays = sleeper.delays();
    assert_eq!(delays.len(), 3);
    for (n, d) in delays.iter().enumerate() {
        let ceiling =
            Duration::from_millis(100 * 2u64.pow(n as u32)).min(Duration::from_millis(800));
        assert!(*d <= ceiling, "retry {n}: {d:?} > {ceiling:?}");
    }
    // Same seed, same delays: the jitter is reproducible.
    let server2 = Server::start(scripted(vec![
        Reply::status(503),
        Reply::status(503),
        Reply::status(503),
        Reply::status(201),
    ]))
    .await;
    let (c2, sleeper2) = client(&server2);
    c2.deliver(&call("3cx-1")).await;
    assert_eq!(sleeper2.delays(), delays);
}

#[tokio::test]
async fn persistent_5xx_uses_up_the_attempts_and_answers_retry() {
    let server = Server::start(scripted(vec![Reply::text(500, "boom")])).await;
    let mut cfg = config(&server);
    cfg.retry.attempts = 3;
    let (c, sleeper) = client_with(cfg);
    match c.deliver(&call("3cx-1")).await {
        DeliveryOutcome::Retry {
            kind: FailureKind::Http5xx,
            reason,
            after: None,
        } => {
            assert!(
                reason.contains("HTTP 500") && reason.contains("boom"),
                "{reason}"
            );
            assert!(reason.contains("3 attempt"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count("POST", CALLS), 3);
    assert_eq!(sleeper.delays().len(), 2);
}

#[tokio::test]
async fn too_many_requests_429_waits_exactly_retry_after() {
    let server = Server::start(scripted(vec![
        Reply::status(429).header("Retry-After", "7"),
        Reply::status(429).header("Retry-After", "2"),
        Reply::json(201, stored(4)),
    ]))
    .await;
    let (c, sleeper) = client(&server);
    assert_eq!(c.deliver(&call("3cx-1")).await, DeliveryOutcome::Delivered);
    assert_eq!(server.count("POST", CALLS), 3);
    assert_eq!(
        sleeper.delays(),
        vec![Duration::from_secs(7), Duration::from_secs(2)]
    );
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let at = std::time::SystemTime::now() + Duration::from_secs(20);
    let date = httpdate_fmt(at);
    let server = Server::start(scripted(vec![
        Reply::status(503).header("Retry-After", &date),
        Reply::json(201, stored(5)),
    ]))
    .await;
    let (c, sleeper) = client(&server);
    assert_eq!(c.deliver(&call("3cx-1")).await, DeliveryOutcome::Delivered);
    let d = sleeper.delays();
    assert_eq!(d.len(), 1);
    assert!(
        d[0] > Duration::from_secs(17) && d[0] <= Duration::from_secs(20),
        "{d:?}"
    );
}

fn httpdate_fmt(t: std::time::SystemTime) -> String {
    // RFC 7231 IMF-fixdate, computed by hand to keep the test free of extra crates.
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let days = secs / 86_400;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!("{weekday}, {d:02} {mon} {year} {h:02}:{m:02}:{s:02} GMT")
}

#[tokio::test]
async fn retry_after_beyond_the_cap_is_handed_to_the_caller_without_waiting() {
    let server = Server::start(scripted(vec![
        Reply::status(429).header("Retry-After", "3600"),
    ]))
    .await;
    let (c, sleeper) = client(&server);
    match c.deliver(&call("3cx-1")).await {
        DeliveryOutcome::Retry {
            kind: FailureKind::Http429,
            after,
            reason,
        } => {
            assert_eq!(after, Some(Duration::from_secs(3600)));
            assert!(reason.contains("429"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count("POST", CALLS), 1);
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn a_response_slower_than_the_timeout_is_retried() {
    let server = Server::start(scripted(vec![
        Reply::json(201, stored(6)).after(Duration::from_secs(2)),
        Reply::json(201, stored(6)),
    ]))
    .await;
    let mut cfg = config(&server);
    cfg.timeout = Duration::from_millis(150);
    let (c, sleeper) = client_with(cfg);
    let started = std::time::Instant::now();
    assert_eq!(c.deliver(&call("3cx-1")).await, DeliveryOutcome::Delivered);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.count("POST", CALLS), 2);
    assert_eq!(sleeper.delays().len(), 1);
}

#[tokio::test]
async fn timeouts_on_every_attempt_answer_retry() {
    let server = Server::start(scripted(vec![
        Reply::status(201).after(Duration::from_secs(2)),
    ]))
    .await;
    let mut cfg = config(&server);
    cfg.timeout = Duration::from_millis(100);
    cfg.retry.attempts = 2;
    let (c, _) = client_with(cfg);
    match c.deliver(&call("3cx-1")).await {
        DeliveryOutcome::Retry {
            kind: FailureKind::Timeout,
            reason,
            after: None,
        } => {
            assert!(reason.contains("timed out"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count("POST", CALLS), 2);
}

#[tokio::test]
async fn a_connection_reset_before_the_status_line_is_retried() {
    let server = Server::start(scripted(vec![
        Reply::Cut(b"HTTP/1.1 20".to_vec()),
        Reply::Cut(Vec::new()),
        Reply::json(201, stored(7)),
    ]))
    .await;
    let (c, sleeper) = client(&server);
    assert_eq!(c.deliver(&call("3cx-1")).await, DeliveryOutcome::Delivered);
    assert_eq!(server.count("POST", CALLS), 3);
    assert_eq!(sleeper.delays().len(), 2);
}

#[tokio::test]
async fn a_connection_reset_mid_body_after_201_still_counts_as_delivered() {
    let head = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"id\":8,";
    let server = Server::start(scripted(vec![Reply::Cut(head.as_bytes().to_vec())])).await;
    let (c, _) = client(&server);
    assert_eq!(c.deliver(&call("3cx-1")).await, DeliveryOutcome::Delivered);
    assert_eq!(server.count("POST", CALLS), 1);
}

#[tokio::test]
async fn a_reset_after_the_backend_stored_the_call_ends_as_a_duplicate() {
    // The contract server stores the call, then the connection dies before the answer; the
    // retry meets 409 — delivered exactly once.
    let ids = Arc::new(Mutex::new(Vec::<String>::new()));
    let first = AtomicUsize::new(0);
    let store = ids.clone();
    let server = Server::start(move |r| {
        let id = r.json()["pbxCallId"].as_str().unwrap().to_owned();
        let mut ids = store.lock().unwrap();
        if ids.contains(&id) {
            return Reply::text(409, "duplicate pbxCallId");
        }
        ids.push(id);
        if first.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::Cut(Vec::new())
        } else {
            Reply::json(201, stored(9))
        }
    })
    .await;
    let (c, _) = client(&server);
    assert_eq!(c.deliver(&call("3cx-1")).await, DeliveryOutcome::Duplicate);
    assert_eq!(server.count("POST", CALLS), 2);
    assert_eq!(*ids.lock().unwrap(), vec!["3cx-1".to_owned()]);
}

#[tokio::test]
async fn a_refused_connection_answers_retry_after_the_attempts() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = CallLoggerConfig::new(format!("http://127.0.0.1:{port}"));
    cfg.retry = RetryPolicy {
        attempts: 3,
        seed: Some(3),
        ..RetryPolicy::default()
    };
    let (c, sleeper) = client_with(cfg);
    match c.deliver(&call("3cx-1")).await {
        DeliveryOutcome::Retry {
            kind: FailureKind::Connection,
            reason,
            ..
        } => {
            assert!(reason.contains("connection failed"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sleeper.delays().len(), 2);
}

#[tokio::test]
async fn an_unexpected_404_is_not_final_and_not_retried_in_line() {
    let server = Server::start(scripted(vec![Reply::text(404, "no such path")])).await;
    let (c, sleeper) = client(&server);
    match c.deliver(&call("3cx-1")).await {
        DeliveryOutcome::Retry {
            kind: FailureKind::HttpOther,
            reason,
            after: None,
        } => {
            assert!(reason.contains("unexpected HTTP 404"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count("POST", CALLS), 1);
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = Server::start(scripted(vec![
        Reply::status(302).header("Location", "/elsewhere"),
    ]))
    .await;
    let (c, _) = client(&server);
    assert!(matches!(
        c.deliver(&call("3cx-1")).await,
        DeliveryOutcome::Retry { .. }
    ));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn call_sink_trait_delivers_through_the_client() {
    let server = Server::start(scripted(vec![Reply::json(201, stored(1))])).await;
    let (c, _) = client(&server);
    let sink: &dyn CallSink = &c;
    assert_eq!(
        sink.deliver(&call("3cx-1")).await,
        DeliveryOutcome::Delivered
    );
    assert_eq!(server.count("POST", CALLS), 1);
}

// ---- alerts ----------------------------------------------------------------------------

/// A backend that keeps at most one active alert per group, as the contract says. `dup_status`
/// is the status of its answer to a duplicate post (with the existing alert as body).
fn alert_backend(
    dup_status: u16,
    dup_body: bool,
) -> impl Fn(&common::Request) -> Reply + Send + Sync {
    let alerts = Mutex::new(Vec::<serde_json::Value>::new());
    move |r| {
        let mut alerts = alerts.lock().unwrap();
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", ALERTS) => {
                let body = r.json();
                if let Some(a) = alerts.iter().find(|a| {
                    a["isActive"] == json!(true) && a["callGroupId"] == body["callGroupId"]
                }) {
                    return if dup_body {
                        Reply::json(dup_status, a.clone())
                    } else {
                        Reply::text(dup_status, "alert already active")
                    };
                }
                let a = json!({"id": alerts.len() + 1, "callGroupId": body["callGroupId"],
                    "callGroupName": body["callGroupName"], "alertType": body["alertType"],
                    "alertMessage": body["alertMessage"], "isActive": true,
                    "createdAt": "2025-01-21T10:30:00", "resolvedAt": null, "extra": 1});
                alerts.push(a.clone());
                Reply::json(201, a)
            }
            ("GET", ALERTS) => {
                assert_eq!(r.query("active"), Some("true"));
                let active: Vec<_> = alerts
                    .iter()
                    .filter(|a| a["isActive"] == json!(true))
                    .cloned()
                    .collect();
                Reply::json(200, json!(active))
            }
            ("PUT", p) if p.starts_with(ALERTS) && p.ends_with("/resolve") => {
                let id: u64 = p[ALERTS.len() + 1..p.len() - "/resolve".len()]
                    .parse()
                    .unwrap();
                match alerts.iter_mut().find(|a| a["id"] == json!(id)) {
                    Some(a) => {
                        a["isActive"] = json!(false);
                        a["resolvedAt"] = json!("2025-01-21T11:00:00");
                        Reply::json(200, a.clone())
                    }
                    None => Reply::text(404, "no such alert"),
                }
            }
            _ => Reply::status(404),
        }
    }
}

fn alert_request(group: &str) -> AlertRequest {
    AlertRequest {
        call_group_id: group.into(),
        call_group_name: "Support Team".into(),
        alert_type: AlertType::NoAssignedUsers,
        alert_message: "Support Team has no assigned users during business hours".into(),
    }
}

#[tokio::test]
async fn alerts_open_list_and_resolve_against_the_contract() {
    let server = Server::start(alert_backend(200, true)).await;
    let (c, _) = client(&server);
    let a = c.open(&alert_request("100")).await.unwrap();
    assert_eq!(a.id, AlertId("1".into()));
    assert!(a.is_active);
    let posted = &server.requests()[0];
    assert_eq!(
        posted.json(),
        json!({"callGroupId":"100","callGroupName":"Support Team","alertType":"NO_ASSIGNED_USERS",
               "alertMessage":"Support Team has no assigned users during business hours"})
    );
    assert_eq!(posted.bearer(), Some("test-token-0001"));
    // A duplicate post answers the existing alert: success, same id.
    let again = c.open(&alert_request("100")).await.unwrap();
    assert_eq!(again.id, a.id);
    let b = c.open(&alert_request("200")).await.unwrap();
    assert_eq!(c.active().await.unwrap().len(), 2);
    assert_eq!(c.resolve(&a.id).await.unwrap(), ResolveOutcome::Resolved);
    let active = c.active().await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].id, b.id);
    assert_eq!(server.count("POST", ALERTS), 3);
    assert_eq!(server.count("GET", ALERTS), 2);
    assert_eq!(server.count("PUT", "/api/alerts/call-groups/1/resolve"), 1);
    // An alert the backend does not know (404) is NotFound, not an error to retry.
    assert_eq!(
        c.resolve(&AlertId("99".into())).await.unwrap(),
        ResolveOutcome::NotFound
    );
    assert_eq!(server.count("PUT", "/api/alerts/call-groups/99/resolve"), 1);
}

#[tokio::test]
async fn a_resolve_answered_410_is_not_found_and_other_failures_are_errors() {
    let server = Server::start(scripted(vec![
        Reply::text(410, "gone"),
        Reply::text(400, "bad id"),
    ]))
    .await;
    let (c, sleeper) = client(&server);
    assert_eq!(
        c.resolve(&AlertId("7".into())).await.unwrap(),
        ResolveOutcome::NotFound
    );
    let e = c.resolve(&AlertId("7".into())).await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Status { status: 400, .. })),
        "{e}"
    );
    assert!(
        e.to_string().contains("/api/alerts/call-groups/7/resolve"),
        "{e}"
    );
    assert!(sleeper.delays().is_empty(), "neither is retried in-line");
}

#[tokio::test]
async fn a_duplicate_alert_answered_409_with_the_alert_is_success() {
    let server = Server::start(alert_backend(409, true)).await;
    let (c, _) = client(&server);
    let a = c.open(&alert_request("100")).await.unwrap();
    let b = c.open(&alert_request("100")).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(server.count("POST", ALERTS), 2);
    assert_eq!(server.count("GET", ALERTS), 0);
}

#[tokio::test]
async fn a_duplicate_alert_answered_409_without_a_body_is_looked_up() {
    let server = Server::start(alert_backend(409, false)).await;
    let (c, _) = client(&server);
    let a = c.open(&alert_request("100")).await.unwrap();
    let b = c.open(&alert_request("100")).await.unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(server.count("POST", ALERTS), 2);
    assert_eq!(server.count("GET", ALERTS), 1);
}

#[tokio::test]
async fn alert_requests_retry_5xx_and_then_give_up_with_the_status() {
    let server = Server::start(scripted(vec![
        Reply::status(503),
        Reply::json(
            201,
            json!({"id": 5, "callGroupId": "100", "callGroupName": "S",
            "alertType": "NO_ASSIGNED_USERS", "alertMessage": "m", "isActive": true}),
        ),
    ]))
    .await;
    let (c, sleeper) = client(&server);
    assert_eq!(c.open(&alert_request("100")).await.unwrap().id.0, "5");
    assert_eq!(server.count("POST", ALERTS), 2);
    assert_eq!(sleeper.delays().len(), 1);

    let down = Server::start(scripted(vec![Reply::text(502, "bad gateway")])).await;
    let (c, _) = client(&down);
    let e = c.active().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Status { status: 502, .. })),
        "{e:?}"
    );
    assert!(e.is_transient());
    assert_eq!(down.count("GET", ALERTS), 4);
}

#[tokio::test]
async fn malformed_alert_json_is_a_decode_error_naming_the_place() {
    let server = Server::start(scripted(vec![Reply::raw_json(
        200,
        r#"[{"id":1,"callGroupId":"#,
    )]))
    .await;
    let (c, _) = client(&server);
    let e = c.active().await.unwrap_err();
    assert!(matches!(e, Error::Http(HttpError::Decode { .. })), "{e:?}");
    assert!(e.to_string().contains("GET /api/alerts/call-groups"), "{e}");
    assert_eq!(server.requests().len(), 1);

    let missing = Server::start(scripted(vec![Reply::json(200, json!([{"id": 1}]))])).await;
    let (c, _) = client(&missing);
    match c.active().await.unwrap_err() {
        Error::Http(HttpError::MissingField { field, path, .. }) => {
            assert_eq!(field, "callGroupId");
            assert_eq!(path, "[0]");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn alert_auth_failures_are_errors_without_retry() {
    let server = Server::start(scripted(vec![Reply::status(403)])).await;
    let (c, sleeper) = client(&server);
    let e = c.open(&alert_request("100")).await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Auth { status: 403, .. })),
        "{e:?}"
    );
    assert_eq!(server.requests().len(), 1);
    assert!(sleeper.delays().is_empty());
}

// ---- health ----------------------------------------------------------------------------

#[tokio::test]
async fn health_reports_up_and_down_in_one_attempt() {
    let up = Server::start(scripted(vec![Reply::json(200, json!({"status": "UP"}))])).await;
    let (c, _) = client(&up);
    assert_eq!(c.health().await.unwrap(), json!({"status": "UP"}));
    assert_eq!(up.count("GET", "/api/health"), 1);

    let down = Server::start(scripted(vec![Reply::text(503, "DOWN")])).await;
    let (c, sleeper) = client(&down);
    let e = c.health().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Status { status: 503, ref body, .. }) if body == "DOWN"),
        "{e:?}"
    );
    assert_eq!(down.count("GET", "/api/health"), 1);
    assert!(sleeper.delays().is_empty());
}

// ---- configuration and security ---------------------------------------------------------

#[tokio::test]
async fn the_insecure_flag_logs_a_warning_at_start_up() {
    let (logs, _guard) = Logs::capture();
    let mut cfg = CallLoggerConfig::new("https://calls.example.com");
    let _secure = CallLoggerClient::new(cfg.clone()).unwrap();
    assert!(!logs.text().contains("verification is OFF"));
    cfg.danger_accept_invalid_certs = true;
    let _insecure = CallLoggerClient::new(cfg).unwrap();
    let text = logs.text();
    assert!(
        text.contains("WARN") && text.contains("TLS certificate verification is OFF"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_settings_are_refused_before_anything_is_sent() {
    let e = CallLoggerClient::new(CallLoggerConfig::new(
        "https://user:hunter22@calls.example.com",
    ))
    .unwrap_err();
    assert!(matches!(
        e,
        Error::Config {
            setting: "base_url",
            ..
        }
    ));
    assert!(!format!("{e} {e:?}").contains("hunter22"));
    let mut cfg = CallLoggerConfig::new("https://calls.example.com");
    cfg.concurrency = 0;
    assert!(matches!(
        CallLoggerClient::new(cfg).unwrap_err(),
        Error::Config {
            setting: "concurrency",
            ..
        }
    ));
    let mut cfg = CallLoggerConfig::new("https://calls.example.com");
    cfg.token = Some(Secret::new("bad\ntoken-value"));
    let e = CallLoggerClient::new(cfg).unwrap_err();
    assert!(!format!("{e} {e:?}").contains("token-value"));
}

#[tokio::test]
async fn the_bearer_token_never_appears_in_logs_outcomes_or_errors() {
    const TOKEN: &str = "sk-live-CALLS-7f3a9b2c";
    let (logs, _guard) = Logs::capture();
    // A backend that refuses the token, echoes it in a 400 and a 503 body, and is down.
    let server = Server::start(scripted(vec![
        Reply::text(
            400,
            &format!("invalid token {TOKEN} for field callOwnerEmail"),
        ),
        Reply::text(503, &format!("upstream refused Bearer {TOKEN}")),
        Reply::text(503, &format!("upstream refused Bearer {TOKEN}")),
        Reply::status(401),
        Reply::text(401, &format!("token {TOKEN} expired")),
    ]))
    .await;
    let mut cfg = config(&server);
    cfg.token = Some(Secret::new(TOKEN));
    cfg.retry.attempts = 2;
    let (c, _) = client_with(cfg.clone());
    let mut seen = String::new();
    seen += &format!("{:?}\n", c.deliver(&call("3cx-1")).await);
    seen += &format!("{:?}\n", c.deliver(&call("3cx-2")).await);
    seen += &format!("{:?}\n", c.deliver(&call("3cx-3")).await);
    let e = c.health().await.unwrap_err();
    seen += &format!("{e}\n{e:?}\n{c:?}\n{cfg:?}\n");
    assert_eq!(server.requests().len(), 5);
    assert!(server.requests().iter().all(|r| r.bearer() == Some(TOKEN)));
    let text = logs.text();
    assert!(
        text.contains("credentials"),
        "the auth failure is logged loudly: {text}"
    );
    assert!(text.contains("ERROR"), "{text}");
    assert!(
        seen.contains("***"),
        "the echoed token was scrubbed: {seen}"
    );
    assert!(!text.contains(TOKEN), "token in logs:\n{text}");
    assert!(!seen.contains(TOKEN), "token in outcomes/errors:\n{seen}");
}

#[tokio::test]
async fn the_call_api_section_of_the_config_becomes_client_settings() {
    let yaml = "source:\n  kind: file\n  path: /var/lib/3cx/cdr.log\n\
        call_api:\n  base_url: ${API}\n  token: ${TOKEN}\n  timeout_secs: 7\n  concurrency: 9\n  \
        max_attempts: 3\n  insecure_skip_tls_verify: true\n";
    let env = |k: &str| match k {
        "API" => Some("http://127.0.0.1:9".to_owned()),
        "TOKEN" => Some("cfg-token-1234".to_owned()),
        _ => None,
    };
    let config = pbx_core::config::Config::from_yaml(yaml, &env).unwrap();
    let c = CallLoggerConfig::from(&config.call_api);
    assert_eq!(c.base_url, "http://127.0.0.1:9");
    assert_eq!(c.token.as_ref().map(|t| t.expose()), Some("cfg-token-1234"));
    assert_eq!(c.timeout, Duration::from_secs(7));
    assert_eq!(c.concurrency, 9);
    assert_eq!(c.retry.attempts, 3);
    assert!(c.danger_accept_invalid_certs);
    assert!(CallLoggerClient::new(c).is_ok());
}

// ---- limits -----------------------------------------------------------------------------

#[tokio::test]
async fn an_answer_over_the_body_limit_is_an_error_not_a_buffer() {
    // 2 MiB of text where the API answers small JSON objects: refused at 1 MiB.
    let big = "x".repeat(2 << 20);
    let server = Server::start(scripted(vec![Reply::text(200, &big)])).await;
    let (c, _) = client(&server);
    let e = c.health().await.unwrap_err();
    assert!(
        matches!(&e, Error::Http(HttpError::Transport { reason, .. }) if reason.contains("limit of 1048576 bytes")),
        "{e}"
    );
    // Just under the limit is read whole.
    let fits = "y".repeat((1 << 20) - 1);
    let server = Server::start(scripted(vec![Reply::text(200, &fits)])).await;
    let (c, _) = client(&server);
    assert_eq!(c.health().await.unwrap(), json!(fits));
}
