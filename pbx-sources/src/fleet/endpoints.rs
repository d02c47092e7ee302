//! The fleet process's HTTP endpoints as an axum [`Router`]: `GET /health` (200 while the
//! process holds its store connection, else 503), `GET /status` (the fleet: sites held here,
//! by whom elsewhere, each site's state, lag and last error), `GET /status/sites/<id>` (one
//! site; with its sideloader's whole status while it runs here; 404 for an unknown id),
//! `GET /metrics` (the per-site series of every site running here with a `site` label, plus
//! the fleet's own gauges) and `POST /trigger/poll/<id>` (guarded by `http.token`).
//!
//! ```no_run
//! # fn demo(fleet: &pbx_sources::fleet::Fleet) {
//! let app = pbx_sources::fleet::endpoints::router(fleet.handle());
//! # let _ = app;
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use super::{FleetHandle, SiteState};
use crate::runtime::endpoints::{metrics_text, status_json};

/// The routes, on `handle`'s fleet.
pub fn router(handle: FleetHandle) -> Router {
    let token = handle.shared.http_token.clone();
    Router::new()
        .route("/health", get(health))
        .route("/status", get(status))
        .route("/status/sites/{id}", get(site))
        .route("/metrics", get(metrics))
        .merge(crate::http_server::require_bearer_token(
            Router::new().route("/trigger/poll/{id}", post(trigger)),
            token,
        ))
        .with_state(handle)
}

async fn health(State(handle): State<FleetHandle>) -> impl IntoResponse {
    if handle.healthy() {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
    } else {
        let error = handle.status().store_error;
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "no_store", "error": error})),
        )
    }
}

async fn status(State(handle): State<FleetHandle>) -> impl IntoResponse {
    axum::Json(handle.status())
}

async fn site(State(handle): State<FleetHandle>, Path(id): Path<String>) -> impl IntoResponse {
    let status = handle.status();
    let Some(view) = status.sites.into_iter().find(|s| s.site == id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": format!("no site {id:?}")})),
        );
    };
    let mut body = serde_json::to_value(&view).unwrap_or_default();
    if let Some(h) = handle.site(&id)
        && let Some(map) = body.as_object_mut()
    {
        map.insert("sideloader".into(), status_json(&h));
    }
    (StatusCode::OK, axum::Json(body))
}

async fn trigger(State(handle): State<FleetHandle>, Path(id): Path<String>) -> impl IntoResponse {
    match handle.site(&id) {
        Some(h) => {
            h.trigger_poll();
            (
                StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({"triggered": "poll", "site": id})),
            )
        }
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": format!("site {id:?} does not run here")})),
        ),
    }
}

/// The Prometheus text of the fleet: its gauges, then every per-site series with a `site`
/// label (one `# HELP`/`# TYPE` per metric).
pub fn fleet_metrics(handle: &FleetHandle) -> String {
    let status = handle.status();
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge(
        "pbx_fleet_live_processes",
        "Fleet processes with a live heartbeat.",
        status.live_processes.to_string(),
    );
    gauge(
        "pbx_fleet_sites_known",
        "Sites the fleet store knows.",
        status.sites_known.to_string(),
    );
    gauge(
        "pbx_fleet_sites_held",
        "Sites this process holds a lease on.",
        status.held_here.to_string(),
    );
    gauge(
        "pbx_fleet_store_up",
        "1 while the fleet store answers.",
        u8::from(handle.healthy()).to_string(),
    );
    let invalid = status
        .sites
        .iter()
        .filter(|s| s.state == SiteState::Invalid)
        .count();
    gauge(
        "pbx_fleet_sites_invalid",
        "Site files here that do not validate.",
        invalid.to_string(),
    );
    // name → (header lines, samples), in order of first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut series: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for view in &status.sites {
        let Some(h) = handle.site(&view.site) else {
            continue;
        };
        for line in metrics_text(&h).lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let name = rest
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let entry = series.entry(name.clone()).or_insert_with(|| {
                    order.push(name.clone());
                    Default::default()
                });
                if !entry.0.iter().any(|l| l == line) {
                    entry.0.push(line.to_owned());
                }
                continue;
            }
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            let (name, rest) = line.split_at(end);
            // Site ids are letters, digits, '-', '_' and '.': nothing to escape.
            let labelled = match rest.strip_prefix('{') {
                Some(labels) => format!("{name}{{site=\"{}\",{labels}", view.site),
                None => format!("{name}{{site=\"{}\"}}{rest}", view.site),
            };
            let entry = series.entry(name.to_owned()).or_insert_with(|| {
                order.push(name.to_owned());
                Default::default()
            });
            entry.1.push(labelled);
        }
    }
    for name in order {
        if let Some((headers, samples)) = series.get(&name) {
            for l in headers.iter().chain(samples) {
                let _ = writeln!(out, "{l}");
            }
        }
    }
    out
}

async fn metrics(State(handle): State<FleetHandle>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        fleet_metrics(&handle),
    )
}
