//! `fast-call-api [ADDR]`: a call-logger API that answers every `POST /api/calls/from-pbx`
//! with 201 at once and counts them (`GET /count`), for the backfill throughput script
//! (`benches/backfill.sh`). Prints `listening on ADDR` when ready. Default address
//! `127.0.0.1:0` (a free port).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let count = Arc::new(AtomicU64::new(0));
        let app = Router::new()
            .route(
                "/api/calls/from-pbx",
                post(
                    |State(n): State<Arc<AtomicU64>>, _body: String| async move {
                        n.fetch_add(1, Ordering::Relaxed);
                        StatusCode::CREATED
                    },
                ),
            )
            .route(
                "/count",
                get(|State(n): State<Arc<AtomicU64>>| async move {
                    n.load(Ordering::Relaxed).to_string()
                }),
            )
            .with_state(count);
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        axum::serve(listener, app).await
    })
}
