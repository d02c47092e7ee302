//! The sideloader's HTTP endpoints as an axum [`Router`] a host mounts or not: `GET /health`,
//! `GET /status`, `GET /metrics` (Prometheus text), `POST /trigger/poll`,
//! `POST /trigger/alerts` and `GET /explain/<id>` (one call's decision trail and delivery
//! state, as `pbx-sideloader explain ID --json` prints it; 404 for an id the source does not
//! hold). With `http.token` in the configuration, the `/trigger/*` and `/explain/*` routes
//! answer 401 without `Authorization: Bearer <token>`
//! ([`crate::http_server::require_bearer_token`]); serve the router with
//! [`crate::http_server::serve_bounded`] on a port others can reach.
//!
//! ```no_run
//! # async fn demo(sideloader: &pbx_sources::runtime::Sideloader) {
//! use pbx_sources::runtime::endpoints;
//! // The sideloader's routes beside a service's own.
//! let app = axum::Router::new()
//!     .route("/hello", axum::routing::get(|| async { "hi" }))
//!     .merge(endpoints::router(sideloader.handle()));
//! # let _ = app;
//! # }
//! ```

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use super::SideloaderHandle;
use crate::group_monitor::FailureReason;

/// The routes, over `handle`'s sideloader; `/trigger/*` guarded by the configuration's
/// `http.token` when it has one.
pub fn router(handle: SideloaderHandle) -> Router {
    let token = handle.shared.http_token.clone();
    Router::new()
        .route("/health", get(health))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .merge(crate::http_server::require_bearer_token(
            Router::new()
                .route("/trigger/poll", post(trigger))
                .route("/trigger/alerts", post(trigger_alerts))
                .route("/explain/{id}", get(explain)),
            token,
        ))
        .with_state(handle)
}

/// `GET /health`: `200 {"status": "ok"}`, or `503 {"status": "not_ready", "source": {…}}`
/// while the CDR source is misconfigured (a refused login, a missing table, …: see
/// [`crate::delivery::SourceHealth`]). Transient failures do not make it unready.
async fn health(State(handle): State<SideloaderHandle>) -> impl IntoResponse {
    let source = handle.status().engine.source;
    if source.is_misconfigured() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "not_ready", "source": source})),
        )
    } else {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
    }
}

/// `GET /status` as JSON (the body of the route).
pub fn status_json(handle: &SideloaderHandle) -> serde_json::Value {
    let s = handle.status();
    let e = &s.engine;
    serde_json::json!({
        "checkpoint": e.checkpoint,
        "counters": e.counters,
        "last_error": e.last_error,
        "stopped": e.stopped,
        "source": e.source,
        "unmapped_extensions": e.unmapped,
        "missed_unrouted": e.unmapped.missed_unrouted(),
        "unknown_type_words": e.unknown_types,
        "uptime_secs": s.uptime.as_secs(),
        "groups": s.groups,
        "business_hours": s.business_hours.map(|h| serde_json::json!({
            "open": h.open,
            "next_change": h.next_change.map(|(t, opens)| serde_json::json!({"at": t.to_rfc3339(), "opens": opens})),
            "source": h.source,
            "timezone": h.timezone,
            "read_at": h.read_at.map(|t| t.to_rfc3339()),
            "last_error": h.last_error,
        })),
        "ha": s.leader.map(|l| serde_json::json!({"leader": l})),
    })
}

async fn status(State(handle): State<SideloaderHandle>) -> impl IntoResponse {
    axum::Json(status_json(&handle))
}

/// `GET /metrics` in the Prometheus text format (the body of the route).
pub fn metrics_text(handle: &SideloaderHandle) -> String {
    let status = handle.status();
    let groups = status.groups;
    let s = status.engine;
    let c = &s.counters;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    };
    counter(
        "pbx_records_received_total",
        "Records read from the source and settled.",
        c.received,
    );
    counter(
        "pbx_calls_delivered_total",
        "Calls the API stored.",
        c.delivered,
    );
    counter(
        "pbx_calls_duplicate_total",
        "Calls the API already had.",
        c.duplicates,
    );
    counter(
        "pbx_records_quarantined_total",
        "Records quarantined.",
        c.quarantined,
    );
    counter(
        "pbx_delivery_retries_total",
        "Deliveries to be retried.",
        c.retries,
    );
    counter(
        "pbx_auth_failures_total",
        "Credential refusals by the API.",
        c.auth_failures,
    );
    counter(
        "pbx_calls_poisoned_total",
        "Calls quarantined as poison (failing while others were delivered).",
        c.poisoned,
    );
    let _ = writeln!(
        out,
        "# HELP pbx_delivery_failures_total Failed delivery attempts, by reason.\n# TYPE pbx_delivery_failures_total counter"
    );
    for (reason, n) in &c.failures {
        let _ = writeln!(
            out,
            "pbx_delivery_failures_total{{reason=\"{reason}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP pbx_records_skipped_total Records not sent, by reason.\n# TYPE pbx_records_skipped_total counter"
    );
    for (reason, n) in &c.skipped {
        let _ = writeln!(out, "pbx_records_skipped_total{{reason=\"{reason}\"}} {n}");
    }
    s.unmapped.write_metrics(&mut out);
    s.unmapped.missed_unrouted().write_metrics(&mut out);
    if let Some(g) = &groups {
        let _ = writeln!(
            out,
            "# HELP pbx_group_checks_total Call-group checks run.\n# TYPE pbx_group_checks_total counter\npbx_group_checks_total {}",
            g.checks
        );
        let _ = writeln!(
            out,
            "# HELP pbx_group_check_failures_total Call-group monitor failures, by reason.\n# TYPE pbx_group_check_failures_total counter"
        );
        for reason in FailureReason::ALL {
            let n = g.failures.get(reason.code()).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "pbx_group_check_failures_total{{reason=\"{}\"}} {n}",
                reason.code()
            );
        }
        let _ = writeln!(
            out,
            "# HELP pbx_group_alerts_open Call groups with an alert open.\n# TYPE pbx_group_alerts_open gauge\npbx_group_alerts_open {}",
            g.open_alerts
        );
        let _ = writeln!(
            out,
            "# HELP pbx_group_last_success_timestamp_seconds End of the last call-group check without failures (0: none yet).\n# TYPE pbx_group_last_success_timestamp_seconds gauge\npbx_group_last_success_timestamp_seconds {}",
            g.last_success.map_or(0, |t| t.timestamp())
        );
    }
    if let Some(xapi) = &handle.shared.xapi {
        let _ = writeln!(
            out,
            "# HELP pbx_xapi_requests_total XAPI requests (token requests included), by outcome.\n# TYPE pbx_xapi_requests_total counter"
        );
        for (outcome, n) in xapi.request_counts() {
            let _ = writeln!(out, "pbx_xapi_requests_total{{outcome=\"{outcome}\"}} {n}");
        }
    }
    let _ = writeln!(
        out,
        "# HELP pbx_source_misconfigured 1 while the CDR source fails in a way waiting will not heal (login, table, permission, TLS trust).\n# TYPE pbx_source_misconfigured gauge\npbx_source_misconfigured {}",
        u8::from(s.source.is_misconfigured())
    );
    s.unknown_types.write_metrics(&mut out);
    let _ = writeln!(
        out,
        "# HELP pbx_up 1 while delivering, 0 once stopped.\n# TYPE pbx_up gauge\npbx_up {}",
        u8::from(s.stopped.is_none())
    );
    out
}

async fn metrics(State(handle): State<SideloaderHandle>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        metrics_text(&handle),
    )
}

async fn trigger(State(handle): State<SideloaderHandle>) -> impl IntoResponse {
    handle.trigger_poll();
    (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({"triggered": "poll"})),
    )
}

async fn trigger_alerts(State(handle): State<SideloaderHandle>) -> impl IntoResponse {
    if handle.trigger_alerts() {
        (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({"triggered": "alerts"})),
        )
    } else {
        (
            StatusCode::CONFLICT,
            axum::Json(
                serde_json::json!({"error": "call-group monitoring is not enabled (groups.enabled)"}),
            ),
        )
    }
}

/// `GET /explain/<id>`: `200` with the explanation ([`super::CallExplanation`] as JSON),
/// `404` when the source holds no call with that id, `500` with the error when the source,
/// checkpoint store or quarantine cannot be read.
async fn explain(
    State(handle): State<SideloaderHandle>,
    Path(id): Path<String>,
) -> axum::response::Response {
    match handle.explain(&super::CallQuery::parse(&id)).await {
        Ok(Some(e)) => (StatusCode::OK, axum::Json(e)).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": format!("no call with id {id} in the source")})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({"error": e.to_string(), "kind": e.kind().code()})),
        )
            .into_response(),
    }
}
