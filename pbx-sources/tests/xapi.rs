//! The 3CX XAPI client against an in-process server that follows XAPI's contract (token
//! endpoint, one active token per client, OData `$top`/`$skip`/`$filter`, swagger names) and
//! its failure modes.

mod common;

use pbx_sources::HttpError;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Reply, Request, Server};
use pbx_core::cdr::FieldTemplate;
use pbx_core::groups::GroupKind;
use pbx_core::{ExtensionDirectory, GroupDirectory};
use pbx_sources::xapi::{
    AvailabilityPolicy, XapiClient, XapiConfig, XapiExtensionDirectory, XapiGroupDirectory,
};
use pbx_sources::{Error, Secret};
use serde_json::{Value, json};

const CLIENT_ID: &str = "pbx-sync";
const SECRET: &str = "xapi-secret-9d2f61";

/// The PBX as the tests script it.
struct Pbx {
    issued: usize,
    current: Option<String>,
    expires_in: Value,
    /// API requests to refuse with 401 although the token is current (a token revoked
    /// elsewhere, a PBX restart).
    revoke: usize,
    users: Vec<Value>,
    ring_groups: Vec<Value>,
    queues: Vec<Value>,
    office_hours: Value,
    cdr_settings: Value,
    /// Replies that replace the normal answer to a path, used up in order.
    faults: HashMap<String, VecDeque<Reply>>,
}

impl Pbx {
    fn new() -> Pbx {
        Pbx {
            issued: 0,
            current: None,
            expires_in: json!(3600),
            revoke: 0,
            users: users(),
            ring_groups: vec![
                json!({"Id": 1, "Number": "800", "Name": "Sales", "RingStrategy": "RingAll",
                "GreetingFile": "x.wav",
                "Members": [{"Id": 11, "Number": "101", "Name": "Anna Berg", "Tags": []},
                            {"Id": 12, "Number": "102", "Name": "Bob Smith"},
                            {"Id": 13, "Number": "999", "Name": "IVR"}]}),
            ],
            queues: vec![
                json!({"Id": 2, "Number": "801", "Name": "Support", "PollingStrategy": "Hunt",
                    "Agents": [{"Id": 11, "Number": "101", "Name": "Anna Berg", "SkillGroup": "1"},
                               {"Id": 12, "Number": "102", "Name": "Bob Smith", "SkillGroup": null},
                               {"Id": 14, "Number": "104", "Name": "Dan Away"}]}),
                json!({"Id": 3, "Number": "802", "Name": null, "Agents": []}),
            ],
            office_hours: office_hours(),
            cdr_settings: json!({"Enabled": true, "LogType": "PassiveSocket", "SocketIpAddress": "",
                "SocketPort": 9000, "RemoveCommaDelimiters": false, "LogSize": 0,
                "EnabledFields": [{"Name": "historyid", "Length": 0}, {"Name": "callid", "Length": 0},
                                  {"Name": "duration", "Length": 0}, {"Name": "time-start", "Length": 0}],
                "PossibleFields": ["historyid", "callid", "duration", "time-start", "chain"]}),
            faults: HashMap::new(),
        }
    }

    fn fault(&mut self, path: &str, replies: Vec<Reply>) {
        self.faults.entry(path.into()).or_default().extend(replies);
    }
}

fn users() -> Vec<Value> {
    let u = |id: u32, n: &str, email: Value, qs: &str, reg: bool, profile: &str| {
        json!({"Id": id, "Number": n, "FirstName": format!("First{n}"), "LastName": format!("Last{n}"),
               "DisplayName": format!("User {n}"), "EmailAddress": email, "QueueStatus": qs,
               "IsRegistered": reg, "CurrentProfileName": profile, "AuthPassword": "never-read",
               "Groups": [{"GroupId": 1}]})
    };
    vec![
        u(
            1,
            "101",
            json!("anna.berg@example.com"),
            "LoggedIn",
            true,
            "Available",
        ),
        u(
            2,
            "102",
            json!("bob.smith@example.com"),
            "LoggedOut",
            true,
            "available",
        ),
        u(3, "103", json!(null), "LoggedIn", true, "Available"),
        u(4, "104", json!("dan@example.com"), "LoggedIn", true, "Away"),
        u(
            5,
            "105",
            json!("eve@example.com"),
            "LoggedIn",
            false,
            "Available",
        ),
        u(
            6,
            "106",
            json!("fay@example.com"),
            "LoggedOut",
            false,
            "Out of office",
        ),
        u(
            7,
            "107",
            json!("gus@example.com"),
            "LoggedIn",
            true,
            "Available",
        ),
    ]
}

fn office_hours() -> Value {
    json!({
        "Hours": {"Type": "OfficeHours", "IgnoreHolidays": false, "Periods": [
            {"DayOfWeek": "Monday", "Start": "08:00:00", "Stop": "12:00:00"},
            {"DayOfWeek": "Monday", "Start": "13:00:00", "Stop": "17:30:00.500"},
            {"DayOfWeek": "Saturday", "Start": "22:00:00", "Stop": "02:00:00"}]},
        "BreakTime": {"Type": "BreakTime", "IgnoreHolidays": null, "Periods": []},
        "TimeZoneId": "Alaskan Standard Time",
        "SystemLanguage": "en",
        "OfficeHolidays": [{"Id": 1, "Name": "New Year", "Day": 1, "Month": 1, "Year": 2026,
            "DayEnd": 2, "MonthEnd": 1, "YearEnd": 2026, "IsRecurrent": true,
            "TimeOfStartDate": "PT0S", "TimeOfEndDate": "PT17H30M", "HolidayPrompt": "ny.wav",
            "Group": null}]
    })
}

/// `Number eq '800' or Number eq '801'` → the numbers.
fn filter_numbers(filter: &str) -> Vec<String> {
    filter
        .split(" or ")
        .map(|c| {
            c.trim()
                .strip_prefix("Number eq '")
                .unwrap()
                .strip_suffix('\'')
                .unwrap()
                .replace("''", "'")
        })
        .collect()
}

fn page(r: &Request, all: &[Value]) -> Reply {
    let items: Vec<Value> = match r.query("$filter") {
        Some(f) => {
            let numbers = filter_numbers(f);
            all.iter()
                .filter(|v| numbers.iter().any(|n| v["Number"] == json!(n)))
                .cloned()
                .collect()
        }
        None => all.to_vec(),
    };
    let skip: usize = r.query("$skip").map_or(0, |s| s.parse().unwrap());
    let top: usize = r.query("$top").map_or(usize::MAX, |s| s.parse().unwrap());
    let value: Vec<Value> = items.into_iter().skip(skip).take(top).collect();
    Reply::json(
        200,
        json!({"@odata.context": "https://pbx/xapi/v1/$metadata#X", "value": value}),
    )
}

fn backend(pbx: Arc<Mutex<Pbx>>) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |r| {
        let mut p = pbx.lock().unwrap();
        if let Some(reply) = p.faults.get_mut(&r.path).and_then(VecDeque::pop_front) {
            return reply;
        }
        if r.path == "/connect/token" {
            assert_eq!(r.method, "POST");
            assert_eq!(
                r.header("content-type"),
                Some("application/x-www-form-urlencoded")
            );
            if r.form("grant_type").as_deref() != Some("client_credentials")
                || r.form("client_id").as_deref() != Some(CLIENT_ID)
                || r.form("client_secret").as_deref() != Some(SECRET)
            {
                return Reply::json(400, json!({"error": "invalid_client"}));
            }
            p.issued += 1;
            let token = format!("tok-{}", p.issued);
            p.current = Some(token.clone());
            return Reply::json(
                200,
                json!({"token_type": "Bearer", "expires_in": p.expires_in,
                "access_token": token}),
            );
        }
        if p.current.is_none() || r.bearer() != p.current.as_deref() {
            return Reply::status(401);
        }
        if p.revoke > 0 {
            p.revoke -= 1;
            p.current = None;
            return Reply::status(401);
        }
        match r.path.as_str() {
            "/xapi/v1/Users" => page(r, &p.users),
            "/xapi/v1/RingGroups" => page(r, &p.ring_groups),
            "/xapi/v1/Queues" => page(r, &p.queues),
            "/xapi/v1/OfficeHours" => Reply::json(200, p.office_hours.clone()),
            "/xapi/v1/CDRSettings" => Reply::json(200, p.cdr_settings.clone()),
            _ => Reply::json(404, json!({"error": {"code": "", "message": "No route"}})),
        }
    }
}

async fn start() -> (Server, Arc<Mutex<Pbx>>) {
    start_with(Pbx::new()).await
}

async fn start_with(pbx: Pbx) -> (Server, Arc<Mutex<Pbx>>) {
    let pbx = Arc::new(Mutex::new(pbx));
    (Server::start(backend(pbx.clone())).await, pbx)
}

fn config(server: &Server) -> XapiConfig {
    let mut cfg = XapiConfig::new(server.url(), CLIENT_ID, Secret::new(SECRET));
    cfg.page_size = 3;
    cfg.timeout = Duration::from_secs(5);
    cfg
}

fn client(server: &Server) -> XapiClient {
    XapiClient::new(config(server)).unwrap()
}

fn tokens(server: &Server) -> usize {
    server.count("POST", "/connect/token")
}

fn api(server: &Server) -> Vec<Request> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/xapi/"))
        .collect()
}

// ---- token -----------------------------------------------------------------------------

#[tokio::test]
async fn one_token_is_fetched_with_client_credentials_and_reused() {
    let (server, _) = start().await;
    let c = client(&server);
    c.cdr_settings().await.unwrap();
    c.office_hours().await.unwrap();
    c.users().await.unwrap();
    assert_eq!(tokens(&server), 1);
    let token_req = &server.requests()[0];
    assert_eq!(token_req.form("client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(token_req.form("client_secret").as_deref(), Some(SECRET));
    assert_eq!(
        token_req.form("grant_type").as_deref(),
        Some("client_credentials")
    );
    let api = api(&server);
    assert_eq!(api.len(), 2 + 3);
    assert!(api.iter().all(|r| r.bearer() == Some("tok-1")));
}

#[tokio::test]
async fn an_expired_token_is_replaced_before_it_is_used() {
    // expires_in 0: every request needs a fresh token, and never meets a 401.
    let mut pbx = Pbx::new();
    pbx.expires_in = json!(0);
    let (server, _) = start_with(pbx).await;
    let c = client(&server);
    c.cdr_settings().await.unwrap();
    c.office_hours().await.unwrap();
    assert_eq!(tokens(&server), 2);
    let api = api(&server);
    assert_eq!(api[0].bearer(), Some("tok-1"));
    assert_eq!(api[1].bearer(), Some("tok-2"));
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/xapi/")
                && r.bearer() != Some("tok-1")
                && r.bearer() != Some("tok-2"))
    );
}

#[tokio::test]
async fn expires_in_in_old_minutes_or_as_a_string_still_yields_a_working_cache() {
    for expires in [json!(60), json!("3600"), json!(null)] {
        let mut pbx = Pbx::new();
        pbx.expires_in = expires.clone();
        let (server, _) = start_with(pbx).await;
        let c = client(&server);
        c.cdr_settings().await.unwrap();
        c.cdr_settings().await.unwrap();
        assert_eq!(tokens(&server), 1, "expires_in {expires}");
    }
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_then_succeeds() {
    let (server, pbx) = start().await;
    let c = client(&server);
    c.cdr_settings().await.unwrap();
    pbx.lock().unwrap().revoke = 1;
    let template = c.cdr_template().await.unwrap();
    assert_eq!(template.len(), 4);
    assert_eq!(tokens(&server), 2);
    let api = api(&server);
    assert_eq!(api.len(), 3);
    assert_eq!(
        api.iter().map(|r| r.bearer().unwrap()).collect::<Vec<_>>(),
        vec!["tok-1", "tok-1", "tok-2"]
    );
}

#[tokio::test]
async fn a_second_401_after_a_fresh_token_is_an_auth_error() {
    let (server, pbx) = start().await;
    pbx.lock().unwrap().revoke = 5;
    let c = client(&server);
    let e = c.users().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Auth { status: 401, .. })),
        "{e:?}"
    );
    assert!(!e.is_transient());
    assert_eq!(tokens(&server), 2);
    assert_eq!(server.count("GET", "/xapi/v1/Users"), 2);
}

#[tokio::test]
async fn a_403_is_not_refreshed() {
    let (server, pbx) = start().await;
    pbx.lock()
        .unwrap()
        .fault("/xapi/v1/CDRSettings", vec![Reply::status(403)]);
    let c = client(&server);
    let e = c.cdr_settings().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Auth { status: 403, .. })),
        "{e:?}"
    );
    assert_eq!(tokens(&server), 1);
    assert_eq!(server.count("GET", "/xapi/v1/CDRSettings"), 1);
}

#[tokio::test]
async fn refused_client_credentials_are_a_token_error_and_nothing_else_is_sent() {
    let (server, _) = start().await;
    let mut cfg = config(&server);
    cfg.client_secret = Secret::new("wrong-secret-123");
    let c = XapiClient::new(cfg).unwrap();
    let e = c.users().await.unwrap_err();
    match &e {
        Error::Http(HttpError::Token { reason, .. }) => {
            assert!(reason.contains("invalid_client"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(tokens(&server), 1);
    assert!(api(&server).is_empty());
}

#[tokio::test]
async fn a_token_answer_without_access_token_or_malformed_is_a_typed_error() {
    let (server, pbx) = start().await;
    pbx.lock().unwrap().fault(
        "/connect/token",
        vec![
            Reply::json(200, json!({"token_type": "Bearer", "expires_in": 60})),
            Reply::raw_json(200, r#"{"access_token": "tok-"#),
            Reply::text(503, "starting"),
        ],
    );
    let c = client(&server);
    match c.users().await.unwrap_err() {
        Error::Http(HttpError::MissingField { field, entity, .. }) => {
            assert_eq!(field, "access_token");
            assert_eq!(entity, "token response");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.users().await.unwrap_err(),
        Error::Http(HttpError::Decode { .. })
    ));
    let e = c.users().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Status { status: 503, .. })) && e.is_transient(),
        "{e:?}"
    );
    assert!(api(&server).is_empty());
    // The PBX is back: the next call gets a token and works.
    assert_eq!(c.users().await.unwrap().len(), 7);
}

// ---- collections, paging, OData ----------------------------------------------------------

#[tokio::test]
async fn users_are_read_across_pages_with_select_and_orderby() {
    let (server, _) = start().await;
    let c = client(&server);
    let users = c.users().await.unwrap();
    assert_eq!(users.len(), 7);
    assert_eq!(
        users.iter().map(|u| u.id).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    let reqs: Vec<_> = api(&server);
    assert_eq!(reqs.len(), 3);
    for (r, skip) in reqs.iter().zip(["0", "3", "6"]) {
        assert_eq!(r.path, "/xapi/v1/Users");
        assert_eq!(r.query("$top"), Some("3"));
        assert_eq!(r.query("$skip"), Some(skip));
        assert_eq!(r.query("$orderby"), Some("Id"));
        assert_eq!(
            r.query("$select"),
            Some(
                "Id,Number,FirstName,LastName,DisplayName,EmailAddress,QueueStatus,CurrentProfileName,IsRegistered"
            )
        );
    }
}

#[tokio::test]
async fn a_full_last_page_takes_one_more_empty_page() {
    let mut pbx = Pbx::new();
    pbx.users.truncate(6);
    let (server, _) = start_with(pbx).await;
    let c = client(&server);
    assert_eq!(c.users().await.unwrap().len(), 6);
    let skips: Vec<_> = api(&server)
        .iter()
        .map(|r| r.query("$skip").unwrap().to_owned())
        .collect();
    assert_eq!(skips, vec!["0", "3", "6"]);
}

#[tokio::test]
async fn a_server_that_ignores_top_is_read_in_one_request() {
    let (server, pbx) = start().await;
    let all = json!({"value": pbx.lock().unwrap().users.clone()});
    pbx.lock()
        .unwrap()
        .fault("/xapi/v1/Users", vec![Reply::json(200, all)]);
    let c = client(&server);
    assert_eq!(c.users().await.unwrap().len(), 7);
    assert_eq!(server.count("GET", "/xapi/v1/Users"), 1);
}

#[tokio::test]
async fn a_server_that_ignores_skip_is_caught_instead_of_looping() {
    let (server, pbx) = start().await;
    let first = json!({"value": pbx.lock().unwrap().users[..3].to_vec()});
    pbx.lock()
        .unwrap()
        .fault("/xapi/v1/Users", vec![Reply::json(200, first); 5]);
    let e = client(&server).users().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Paging { pages: 1, .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("ignores $skip"), "{e}");
    assert_eq!(server.count("GET", "/xapi/v1/Users"), 2);
}

#[tokio::test]
async fn a_failure_on_a_later_page_fails_the_whole_read() {
    let (server, pbx) = start().await;
    let first = json!({"value": pbx.lock().unwrap().users[..3].to_vec()});
    pbx.lock().unwrap().fault(
        "/xapi/v1/Users",
        vec![
            Reply::json(200, first),
            Reply::json(500, json!({"error": {"code": "", "message": "db gone"}})),
        ],
    );
    let c = client(&server);
    let e = c.users().await.unwrap_err();
    match &e {
        Error::Http(HttpError::Status {
            status: 500,
            body,
            op,
        }) => {
            assert_eq!(body, "db gone");
            assert!(op.contains("$skip=3"), "{op}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count("GET", "/xapi/v1/Users"), 2);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error() {
    let (server, pbx) = start().await;
    pbx.lock().unwrap().fault(
        "/xapi/v1/Users",
        vec![
            Reply::raw_json(200, r#"{"value":[{"Id":1,"Number":"101""#),
            Reply::raw_json(200, r#"<html>login</html>"#),
            Reply::json(200, json!({"value": [{"Id": "one", "Number": "101"}]})),
        ],
    );
    let c = client(&server);
    for _ in 0..2 {
        let e = c.users().await.unwrap_err();
        assert!(matches!(e, Error::Http(HttpError::Decode { .. })), "{e:?}");
    }
    match c.users().await.unwrap_err() {
        Error::Http(HttpError::Decode { path, .. }) => assert_eq!(path, "value[0].Id"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count("GET", "/xapi/v1/Users"), 3);
}

#[tokio::test]
async fn a_missing_required_field_is_a_typed_error_naming_it() {
    let (server, pbx) = start().await;
    {
        let mut p = pbx.lock().unwrap();
        p.queues[0]["Agents"][1]
            .as_object_mut()
            .unwrap()
            .remove("Number");
        p.office_hours["OfficeHolidays"][0]
            .as_object_mut()
            .unwrap()
            .remove("Name");
        p.cdr_settings["EnabledFields"][2]
            .as_object_mut()
            .unwrap()
            .remove("Name");
        p.users[4].as_object_mut().unwrap().remove("Number");
        p.fault(
            "/xapi/v1/RingGroups",
            vec![Reply::json(200, json!({"@odata.count": 0}))],
        );
    }
    let c = client(&server);
    let field = |e: Error| match e {
        Error::Http(HttpError::MissingField {
            entity,
            path,
            field,
            ..
        }) => (entity, path, field),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field(c.queues(None).await.unwrap_err()),
        (
            "Queue",
            "value[0].Agents[1]".to_owned(),
            "Number".to_owned()
        )
    );
    assert_eq!(
        field(c.office_hours().await.unwrap_err()),
        (
            "OfficeHours",
            "OfficeHolidays[0]".to_owned(),
            "Name".to_owned()
        )
    );
    assert_eq!(
        field(c.cdr_template().await.unwrap_err()),
        (
            "CDRSettingsField",
            "EnabledFields[2]".to_owned(),
            "Name".to_owned()
        )
    );
    // A user without a number is skipped (with a warning), not an error for every user.
    let map = c.extension_map().await.unwrap();
    assert_eq!(map.email_for("105"), None);
    assert_eq!(map.email_for("101"), Some("anna.berg@example.com"));
    let e = c.ring_groups(None).await.unwrap_err();
    assert!(
        e.to_string().contains("lacks the required field `value`"),
        "{e}"
    );
}

#[tokio::test]
async fn server_errors_timeouts_and_resets_are_transient_errors() {
    let (server, pbx) = start().await;
    pbx.lock().unwrap().fault(
        "/xapi/v1/CDRSettings",
        vec![
            Reply::json(
                503,
                json!({"error": {"code": "", "message": "Service restarting"}}),
            ),
            Reply::json(200, json!({})).after(Duration::from_secs(2)),
            Reply::Cut(b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n{\"Enabled\":tr".to_vec()),
            Reply::Cut(Vec::new()),
        ],
    );
    let mut cfg = config(&server);
    cfg.timeout = Duration::from_millis(150);
    let c = XapiClient::new(cfg).unwrap();
    let e = c.cdr_settings().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Status { status: 503, ref body, .. }) if body == "Service restarting"),
        "{e:?}"
    );
    for expected in ["timed out", "cut short", ""] {
        let e = c.cdr_settings().await.unwrap_err();
        assert!(
            matches!(e, Error::Http(HttpError::Transport { .. })) && e.is_transient(),
            "{e:?}"
        );
        assert!(e.to_string().contains(expected), "{e}");
    }
    assert_eq!(server.count("GET", "/xapi/v1/CDRSettings"), 4);
    assert_eq!(tokens(&server), 1);
    assert_eq!(c.cdr_settings().await.unwrap().socket_port, Some(9000));
}

// ---- directories -------------------------------------------------------------------------

#[tokio::test]
async fn the_extension_map_comes_from_users() {
    let (server, _) = start().await;
    let map = client(&server).extension_map().await.unwrap();
    assert_eq!(map.len(), 6, "user 103 has no email");
    assert_eq!(map.email_for("101"), Some("anna.berg@example.com"));
    assert_eq!(map.get("101").unwrap().name.as_deref(), Some("User 101"));
    assert_eq!(map.email_for("103"), None);
}

#[tokio::test]
async fn two_users_with_one_number_keep_the_first_by_id_and_say_which_email_is_used() {
    let (server, pbx) = start().await;
    {
        let mut p = pbx.lock().unwrap();
        // Id 8 takes Anna's number with another email; Id 9 repeats Bob's email (no conflict).
        let mut dup = p.users[0].clone();
        dup["Id"] = json!(8);
        dup["EmailAddress"] = json!("impostor@example.com");
        let mut same = p.users[1].clone();
        same["Id"] = json!(9);
        p.users.extend([dup, same]);
    }
    let (logs, guard) = common::Logs::capture();
    let map = client(&server).extension_map().await.unwrap();
    drop(guard);
    assert_eq!(map.email_for("101"), Some("anna.berg@example.com"));
    assert_eq!(map.email_for("102"), Some("bob.smith@example.com"));
    let text = logs.text();
    let warns: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("same number"))
        .collect();
    assert_eq!(warns.len(), 1, "{text}");
    for part in [
        "number=\"101\"",
        "used=anna.berg@example.com",
        "ignored=impostor@example.com",
        "ignored_user_id=8",
        "first by Id keeps it",
    ] {
        assert!(warns[0].contains(part), "{part}: {}", warns[0]);
    }
}

#[tokio::test]
async fn users_without_a_number_or_email_are_skipped_with_a_warning_not_a_failed_start() {
    let (server, pbx) = start().await;
    {
        let mut p = pbx.lock().unwrap();
        p.users[3]["Number"] = json!("");
        p.users[4].as_object_mut().unwrap().remove("Number");
        p.users[5]["Number"] = json!(null);
    }
    let (logs, guard) = common::Logs::capture();
    // The directory the sideloader reads at start: it answers, without those users.
    let dir = XapiExtensionDirectory::new(Arc::new(client(&server)), Duration::from_secs(300));
    let map = dir.extensions().await.unwrap();
    drop(guard);
    assert_eq!(map.len(), 3, "101, 102 and 107 (103 has no email)");
    assert_eq!(map.email_for("104"), None);
    let text = logs.text();
    assert!(
        text.contains("XAPI users without a number are skipped")
            && text.contains(
                "users=Id 4 (dan@example.com), Id 5 (eve@example.com), Id 6 (fay@example.com)"
            ),
        "{text}"
    );
    assert!(
        text.contains("without an email address") && text.contains("numbers=103"),
        "{text}"
    );
    // The groups still join: a member whose user has no number is just unavailable.
    let groups = XapiGroupDirectory::new(Arc::new(client(&server)))
        .groups()
        .await
        .unwrap();
    assert_eq!(groups.len(), 3);
}

#[tokio::test]
async fn the_user_list_is_bounded_in_total_with_a_clear_error() {
    let (server, pbx) = start().await;
    let mut cfg = config(&server);
    cfg.max_entities = 5;
    let c = XapiClient::new(cfg.clone()).unwrap();
    // Page by page (3 + 3 > 5): the second page is refused, the third never asked for.
    let e = c.users().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Paging { pages: 1, .. })),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "GET /xapi/v1/Users: paging stopped after 1 pages: more than 5 User entities (the \
         limit, XapiConfig::max_entities); nothing of this list is used"
    );
    assert_eq!(server.count("GET", "/xapi/v1/Users"), 2);
    // One page with everything (a server that ignores $top): refused too.
    let all = json!({"value": pbx.lock().unwrap().users.clone()});
    pbx.lock()
        .unwrap()
        .fault("/xapi/v1/Users", vec![Reply::json(200, all)]);
    let e = c.extension_map().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Paging { pages: 0, .. })),
        "{e:?}"
    );
    // At the limit exactly: read.
    cfg.max_entities = 7;
    assert_eq!(
        XapiClient::new(cfg).unwrap().users().await.unwrap().len(),
        7
    );
    assert_eq!(
        XapiConfig::new("http://x", "c", Secret::new("s")).max_entities,
        20_000
    );
}

#[tokio::test]
async fn requests_are_counted_by_outcome() {
    let (server, pbx) = start().await;
    let c = client(&server);
    c.users().await.unwrap(); // 3 pages
    pbx.lock().unwrap().fault(
        "/xapi/v1/CDRSettings",
        vec![
            Reply::status(502),
            Reply::raw_json(200, "{"),
            Reply::status(403),
        ],
    );
    for _ in 0..3 {
        c.cdr_settings().await.unwrap_err();
    }
    let counts = c.request_counts();
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        vec![("auth", 1), ("decode", 1), ("ok", 3), ("status", 1)]
    );
}

#[tokio::test]
async fn the_extension_directory_caches_within_its_interval() {
    let (server, _) = start().await;
    let dir = XapiExtensionDirectory::new(Arc::new(client(&server)), Duration::from_secs(3600));
    for _ in 0..3 {
        assert_eq!(dir.extensions().await.unwrap().len(), 6);
    }
    assert_eq!(
        server.count("GET", "/xapi/v1/Users"),
        3,
        "one read of three pages"
    );
}

#[tokio::test]
async fn the_extension_directory_keeps_the_last_good_copy_when_a_refresh_fails() {
    let (server, pbx) = start().await;
    let dir = XapiExtensionDirectory::new(Arc::new(client(&server)), Duration::ZERO);
    let first = dir.extensions().await.unwrap();
    assert_eq!(server.count("GET", "/xapi/v1/Users"), 3);
    pbx.lock().unwrap().fault(
        "/xapi/v1/Users",
        vec![Reply::status(500), Reply::raw_json(200, "{")],
    );
    assert_eq!(dir.extensions().await.unwrap(), first);
    assert_eq!(dir.extensions().await.unwrap(), first);
    assert_eq!(server.count("GET", "/xapi/v1/Users"), 5);
    assert!(dir.refresh().await.is_ok());
    // The PBX changes; the next refresh sees it.
    pbx.lock().unwrap().users[0]["EmailAddress"] = json!("anna@new.example.com");
    assert_eq!(
        dir.extensions().await.unwrap().email_for("101"),
        Some("anna@new.example.com")
    );
    assert_eq!(server.count("GET", "/xapi/v1/Users"), 11);
}

#[tokio::test]
async fn the_extension_directory_reports_an_error_when_it_never_had_a_copy() {
    let (server, pbx) = start().await;
    pbx.lock()
        .unwrap()
        .fault("/xapi/v1/Users", vec![Reply::status(502)]);
    let dir = XapiExtensionDirectory::new(Arc::new(client(&server)), Duration::ZERO);
    let e = dir.extensions().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(HttpError::Status { status: 502, .. })),
        "{e:?}"
    );
    assert_eq!(dir.extensions().await.unwrap().len(), 6);
}

#[tokio::test]
async fn groups_join_members_with_queue_status_registration_and_profile() {
    let (server, _) = start().await;
    let dir = XapiGroupDirectory::new(Arc::new(client(&server)));
    let groups = dir.groups().await.unwrap();
    let summary: Vec<_> = groups
        .iter()
        .map(|g| {
            (
                g.id.as_str(),
                g.name.as_str(),
                g.kind,
                g.members
                    .iter()
                    .map(|m| (m.extension.as_str(), m.available))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            // Ring groups ignore queue login: 102 is logged out of queues but available.
            (
                "800",
                "Sales",
                GroupKind::RingGroup,
                vec![("101", true), ("102", true), ("999", false)]
            ),
            // Queues need LoggedIn: 102 is logged out; 104 is logged in but Away.
            (
                "801",
                "Support",
                GroupKind::Queue,
                vec![("101", true), ("102", false), ("104", false)]
            ),
            ("802", "802", GroupKind::Queue, vec![]),
        ]
    );
    assert_eq!(groups[0].members[0].name.as_deref(), Some("Anna Berg"));
    let rg = &server
        .requests()
        .into_iter()
        .find(|r| r.path == "/xapi/v1/RingGroups")
        .unwrap();
    assert_eq!(rg.query("$expand"), Some("Members"));
    let q = &server
        .requests()
        .into_iter()
        .find(|r| r.path == "/xapi/v1/Queues")
        .unwrap();
    assert_eq!(q.query("$expand"), Some("Agents"));
    assert_eq!(server.count("GET", "/xapi/v1/RingGroups"), 1);
    assert_eq!(server.count("GET", "/xapi/v1/Queues"), 1);
    assert_eq!(server.count("GET", "/xapi/v1/Users"), 3);
    assert_eq!(tokens(&server), 1);
}

#[tokio::test]
async fn availability_policy_decides_profiles_and_registration() {
    let (server, _) = start().await;
    let policy = AvailabilityPolicy {
        available_profiles: vec!["Available".into(), "Away".into()],
        require_registered: false,
    };
    let dir = XapiGroupDirectory::new(Arc::new(client(&server))).with_policy(policy);
    let groups = dir.groups().await.unwrap();
    let support = groups.iter().find(|g| g.id == "801").unwrap();
    assert_eq!(
        support
            .available_members()
            .map(|m| m.extension.as_str())
            .collect::<Vec<_>>(),
        vec!["101", "104"]
    );
}

#[tokio::test]
async fn monitored_groups_are_selected_with_an_odata_filter() {
    let (server, _) = start().await;
    let dir = XapiGroupDirectory::new(Arc::new(client(&server))).monitor(["801", "O'Neil"]);
    let groups = dir.groups().await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        vec!["801"]
    );
    for path in ["/xapi/v1/RingGroups", "/xapi/v1/Queues"] {
        let r = server
            .requests()
            .into_iter()
            .find(|r| r.path == path)
            .unwrap();
        assert_eq!(
            r.query("$filter"),
            Some("Number eq '801' or Number eq 'O''Neil'")
        );
    }
    let none = XapiGroupDirectory::new(Arc::new(client(&server))).monitor(Vec::<String>::new());
    assert!(none.groups().await.unwrap().is_empty());
}

// ---- office hours and CDR settings -------------------------------------------------------

#[tokio::test]
async fn office_hours_keep_the_swagger_names_and_ignore_extra_fields() {
    let (server, _) = start().await;
    let h = client(&server).office_hours().await.unwrap();
    let hours = h.hours.as_ref().unwrap();
    assert_eq!(hours.r#type.as_deref(), Some("OfficeHours"));
    assert_eq!(hours.ignore_holidays, Some(false));
    assert_eq!(hours.periods.len(), 3);
    assert_eq!(hours.periods[1].day_of_week.as_deref(), Some("Monday"));
    assert_eq!(hours.periods[1].stop.as_deref(), Some("17:30:00.500"));
    assert_eq!(hours.periods[2].day_of_week.as_deref(), Some("Saturday"));
    assert_eq!(
        h.break_time.as_ref().unwrap().r#type.as_deref(),
        Some("BreakTime")
    );
    assert_eq!(h.time_zone_id.as_deref(), Some("Alaskan Standard Time"));
    let ny = &h.office_holidays[0];
    assert_eq!(
        (
            ny.day,
            ny.month,
            ny.year,
            ny.day_end,
            ny.month_end,
            ny.year_end
        ),
        (1, 1, 2026, 2, 1, 2026)
    );
    assert_eq!(ny.name, "New Year");
    assert_eq!(ny.is_recurrent, Some(true));
    assert_eq!(ny.time_of_start_date.as_deref(), Some("PT0S"));
    assert_eq!(ny.time_of_end_date.as_deref(), Some("PT17H30M"));
    let r = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/xapi/v1/OfficeHours")
        .unwrap();
    assert_eq!(r.query("$expand"), Some("OfficeHolidays"));
}

#[tokio::test]
async fn office_hours_become_business_hours_in_the_pbx_timezone() {
    let (server, _) = start().await;
    let hours = client(&server).business_hours().await.unwrap();
    assert_eq!(hours.timezone(), chrono_tz::America::Anchorage);
    assert_eq!(server.count("GET", "/xapi/v1/OfficeHours"), 1);
}

#[tokio::test]
async fn unusable_office_hours_are_a_core_error_naming_the_field() {
    let (server, pbx) = start().await;
    pbx.lock().unwrap().office_hours["TimeZoneId"] = json!("Atlantis Time");
    let e = client(&server).business_hours().await.unwrap_err();
    assert!(matches!(e, Error::Core { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("GET /xapi/v1/OfficeHours") && text.contains("Atlantis Time"),
        "{text}"
    );
    pbx.lock().unwrap().office_hours["Hours"]["Type"] = json!(42);
    match client(&server).office_hours().await.unwrap_err() {
        Error::Http(HttpError::Decode { path, .. }) => assert_eq!(path, "Hours.Type"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn cdr_settings_give_the_field_template() {
    let (server, _) = start().await;
    let c = client(&server);
    let t = c.cdr_template().await.unwrap();
    assert_eq!(
        t,
        FieldTemplate::from_names(["historyid", "callid", "duration", "time-start"]).unwrap()
    );
    let s = c.cdr_settings().await.unwrap();
    assert_eq!(s.log_type.as_deref(), Some("PassiveSocket"));
    assert_eq!(s.possible_fields.len(), 5);
    assert_eq!(server.count("GET", "/xapi/v1/CDRSettings"), 2);
}

#[tokio::test]
async fn an_unknown_cdr_field_name_is_refused_by_the_core() {
    let (server, pbx) = start().await;
    pbx.lock().unwrap().cdr_settings["EnabledFields"][1]["Name"] = json!("no-such-field");
    let e = client(&server).cdr_template().await.unwrap_err();
    assert!(matches!(e, Error::Core { .. }), "{e:?}");
    assert!(e.to_string().contains("no-such-field"), "{e}");
}

#[tokio::test]
async fn bad_xapi_settings_are_refused_up_front() {
    let e = XapiClient::new(XapiConfig::new(
        "https://pbx.example.com",
        "id",
        Secret::new(""),
    ))
    .unwrap_err();
    assert!(matches!(
        e,
        Error::Config {
            setting: "xapi.client_secret",
            ..
        }
    ));
    let mut cfg = XapiConfig::new("https://pbx.example.com", "id", Secret::new("s3cr3t"));
    cfg.page_size = 0;
    assert!(matches!(
        XapiClient::new(cfg).unwrap_err(),
        Error::Config {
            setting: "xapi.page_size",
            ..
        }
    ));
}

// ---- security ----------------------------------------------------------------------------

#[tokio::test]
async fn the_client_secret_and_tokens_never_appear_in_logs_or_errors() {
    let (logs, _guard) = common::Logs::capture();
    let (server, pbx) = start().await;
    pbx.lock().unwrap().fault(
        "/connect/token",
        vec![Reply::json(
            401,
            json!({"error": "invalid_client",
            "error_description": format!("client secret {SECRET} does not match")}),
        )],
    );
    let mut cfg = config(&server);
    cfg.danger_accept_invalid_certs = true;
    let c = XapiClient::new(cfg.clone()).unwrap();
    let mut seen = Vec::new();
    // 1. The token endpoint refuses and echoes the secret.
    seen.push(c.users().await.unwrap_err());
    // 2. The API fails and echoes the secret and the token in an OData error.
    pbx.lock().unwrap().fault(
        "/xapi/v1/CDRSettings",
        vec![Reply::json(
            500,
            json!({"error": {"code": "", "message": format!("bad {SECRET} / Bearer tok-1")}}),
        )],
    );
    seen.push(c.cdr_settings().await.unwrap_err());
    // 3. Every token is refused.
    pbx.lock().unwrap().revoke = 2;
    seen.push(c.office_hours().await.unwrap_err());
    assert_eq!(tokens(&server), 3);
    let mut text = logs.text();
    for e in &seen {
        text += &format!("{e}\n{e:?}\n");
    }
    text += &format!("{c:?}\n{cfg:?}\n");
    assert!(
        text.contains("TLS certificate verification is OFF"),
        "{text}"
    );
    assert!(text.contains("invalid_client"), "{text}");
    assert!(text.contains("***"), "echoed secrets are scrubbed: {text}");
    for secret in [SECRET, "tok-1", "tok-2", "tok-3"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}

#[tokio::test]
async fn the_xapi_section_of_the_config_becomes_client_settings() {
    let (server, _) = start().await;
    let yaml = format!(
        "source:\n  kind: file\n  path: /var/lib/3cx/cdr.log\n\
         call_api:\n  base_url: http://127.0.0.1:9\n\
         xapi:\n  base_url: {}\n  client_id: {CLIENT_ID}\n  client_secret: ${{XAPI_SECRET}}\n",
        server.url()
    );
    let env = |k: &str| (k == "XAPI_SECRET").then(|| SECRET.to_owned());
    let config = pbx_core::config::Config::from_yaml(&yaml, &env).unwrap();
    let cfg = XapiConfig::from(config.xapi.as_ref().unwrap());
    assert_eq!(
        (cfg.client_id.as_str(), cfg.client_secret.expose()),
        (CLIENT_ID, SECRET)
    );
    assert!(!cfg.danger_accept_invalid_certs);
    let c = XapiClient::new(cfg).unwrap();
    assert_eq!(c.cdr_template().await.unwrap().len(), 4);
}
