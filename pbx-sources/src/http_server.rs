//! A bounded HTTP/1 server for a service port (`/health`, `/status`, `/metrics`, `/trigger/*`).
//!
//! [`serve_bounded`] serves an axum [`Router`] on a [`TcpListener`] like `axum::serve`, but a
//! careless or hostile client cannot hold the port hostage:
//!
//! - **header-read timeout**: a request head must arrive within
//!   [`ServerOptions::header_read_timeout`] (a client sending one byte a second is cut off);
//! - **idle timeout**: a connection with no request in progress for
//!   [`ServerOptions::idle_timeout`] is closed (keep-alive or half-sent);
//! - **connection cap**: at most [`ServerOptions::max_connections`] at once, and never more than
//!   the process's open-file limit minus [`ServerOptions::reserved_fds`] (the descriptors the CDR
//!   sources, the database and the call API need). At the cap a new connection takes the place
//!   of the oldest one that is not serving a request, so a flood of idle connections cannot lock
//!   out `/health`; when every connection is serving a request the new one is closed;
//! - **request size**: request heads over [`ServerOptions::max_header_bytes`] are refused
//!   (431) and bodies over [`ServerOptions::max_body_bytes`] are refused (413);
//! - **shutdown**: when the `shutdown` future completes, listening stops, every connection
//!   without a request in progress (idle, or with a request only partly received) is closed at
//!   once, and requests in progress get [`ServerOptions::shutdown_grace`] to finish.
//!
//! [`require_bearer_token`] guards routes (the sideloader's `/trigger/*`) with a bearer token;
//! [`warn_if_exposed`] logs a warning when the port is reachable from other hosts.
//!
//! ```no_run
//! # async fn demo(stop: tokio::sync::oneshot::Receiver<()>) -> std::io::Result<()> {
//! use axum::{Router, routing::{get, post}};
//! use pbx_sources::http_server::{ServerOptions, require_bearer_token, serve_bounded, warn_if_exposed};
//! let token = Some(pbx_core::config::Secret::new("s3cret"));
//! let triggers = require_bearer_token(
//!     Router::new().route("/trigger/poll", post(|| async { "ok" })),
//!     token.clone(),
//! );
//! let app = Router::new().route("/health", get(|| async { "ok" })).merge(triggers);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! warn_if_exposed(listener.local_addr()?, token.is_some());
//! serve_bounded(listener, app, ServerOptions::default(), async {
//!     let _ = stop.await; // e.g. SIGTERM
//! })
//! .await;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use pbx_core::config::Secret;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The limits of [`serve_bounded`]. Start from [`ServerOptions::default`] and change fields.
///
/// ```
/// let mut options = pbx_sources::http_server::ServerOptions::default();
/// options.max_connections = 64;
/// assert_eq!(options.header_read_timeout, std::time::Duration::from_secs(5));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Time allowed for a request head (request line and headers) to arrive (default 5 s).
    pub header_read_timeout: Duration,
    /// A connection with no request in progress for this long is closed (default 30 s).
    pub idle_timeout: Duration,
    /// Connections open at once (default 256).
    pub max_connections: usize,
    /// File descriptors left for everything else: the cap is lowered to the open-file limit
    /// minus this when that is smaller (default 256).
    pub reserved_fds: u64,
    /// The largest request head, in bytes (default 16 KiB; at least 8 KiB).
    pub max_header_bytes: usize,
    /// The largest request body, in bytes (default 64 KiB).
    pub max_body_bytes: usize,
    /// After shutdown starts, how long a request in progress may take to finish (default 5 s).
    pub shutdown_grace: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            max_connections: 256,
            reserved_fds: 256,
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl ServerOptions {
    /// The connection cap in effect: [`ServerOptions::max_connections`], lowered to the
    /// process's soft open-file limit minus [`ServerOptions::reserved_fds`] (at least 1).
    pub fn effective_max_connections(&self) -> usize {
        let cap = self.max_connections.max(1);
        match open_file_limit() {
            Some(limit) => {
                let room = usize::try_from(limit.saturating_sub(self.reserved_fds)).unwrap_or(cap);
                cap.min(room.max(1))
            }
            None => cap,
        }
    }
}

#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// One open connection, as the accept loop sees it.
struct Slot {
    /// Requests being served on it (0: idle or still receiving a request head).
    busy: AtomicUsize,
    /// When it last became idle (milliseconds since the server started).
    idle_since_ms: AtomicU64,
    /// Told to close at once (evicted at the cap).
    kill: Notify,
}

struct Shared {
    options: ServerOptions,
    started: Instant,
    slots: Mutex<BTreeMap<u64, Arc<Slot>>>,
}

impl Shared {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Makes room for a new connection: `true` when there is (evicting the oldest connection
    /// without a request in progress at the cap), `false` when every slot is serving.
    fn admit(&self, id: u64) -> Option<Arc<Slot>> {
        let cap = self.options.effective_max_connections();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if slots.len() >= cap {
            let victim = slots
                .iter()
                .find(|(_, s)| s.busy.load(Ordering::SeqCst) == 0)
                .map(|(id, _)| *id);
            match victim {
                Some(v) => {
                    if let Some(slot) = slots.remove(&v) {
                        slot.kill.notify_one();
                    }
                }
                None => return None,
            }
        }
        let slot = Arc::new(Slot {
            busy: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(self.now_ms()),
            kill: Notify::new(),
        });
        slots.insert(id, Arc::clone(&slot));
        Some(slot)
    }

    fn release(&self, id: u64) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }
}

/// Marks a connection busy while a request is served.
struct Busy {
    slot: Arc<Slot>,
    shared: Arc<Shared>,
}

impl Busy {
    fn new(slot: &Arc<Slot>, shared: &Arc<Shared>) -> Self {
        slot.busy.fetch_add(1, Ordering::SeqCst);
        Busy {
            slot: Arc::clone(slot),
            shared: Arc::clone(shared),
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.slot
            .idle_since_ms
            .store(self.shared.now_ms(), Ordering::SeqCst);
        self.slot.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `router` on `listener` within `options`' limits until `shutdown` completes, then
/// stops listening, closes every connection without a request in progress at once and gives
/// requests in progress [`ServerOptions::shutdown_grace`] to finish. Returns when every
/// connection is closed. Failing accepts (e.g. "too many open files") are logged and retried
/// after a short pause; they never end the server.
pub async fn serve_bounded<F>(
    listener: TcpListener,
    router: Router,
    options: ServerOptions,
    shutdown: F,
) where
    F: Future<Output = ()> + Send + 'static,
{
    let shared = Arc::new(Shared {
        options,
        started: Instant::now(),
        slots: Mutex::new(BTreeMap::new()),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut next_id = 0u64;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "service port: cannot accept a connection; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            // Reap finished connection tasks as we go.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        next_id += 1;
        let Some(slot) = shared.admit(next_id) else {
            tracing::debug!(%peer, "service port: every connection is serving a request; refused");
            drop(stream);
            continue;
        };
        connections.spawn(connection(
            stream,
            next_id,
            slot,
            Arc::clone(&shared),
            router.clone(),
            stop_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
}

async fn connection(
    stream: TcpStream,
    id: u64,
    slot: Arc<Slot>,
    shared: Arc<Shared>,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let options = &shared.options;
    let max_body = options.max_body_bytes;
    let service = {
        let (slot, shared) = (Arc::clone(&slot), Arc::clone(&shared));
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let busy = Busy::new(&slot, &shared);
            let mut router = router.clone();
            async move {
                let _busy = busy;
                let declared = req
                    .headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if declared.is_some_and(|n| n > max_body as u64) {
                    let mut resp = (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the request body is over the limit of {max_body} bytes\n"),
                    )
                        .into_response();
                    resp.headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    return Ok::<_, Infallible>(resp);
                }
                let req = req.map(|b| Body::new(http_body_util::Limited::new(b, max_body)));
                tower_service::Service::call(&mut router, req).await
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_header_bytes.max(8192))
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut grace_until: Option<Instant> = None;
    loop {
        let idle_deadline = shared.started
            + Duration::from_millis(slot.idle_since_ms.load(Ordering::SeqCst))
            + options.idle_timeout;
        tokio::select! {
            biased;
            () = slot.kill.notified() => break,
            _ = conn.as_mut() => break,
            _ = stop.changed(), if grace_until.is_none() => {
                if slot.busy.load(Ordering::SeqCst) == 0 {
                    break; // idle or a request only partly received: close at once
                }
                conn.as_mut().graceful_shutdown();
                grace_until = Some(Instant::now() + options.shutdown_grace);
            }
            () = tokio::time::sleep_until(grace_until.unwrap_or(idle_deadline)), if grace_until.is_some() => break,
            () = tokio::time::sleep_until(idle_deadline), if grace_until.is_none() => {
                let idle_since = slot.idle_since_ms.load(Ordering::SeqCst);
                if slot.busy.load(Ordering::SeqCst) == 0
                    && shared.now_ms().saturating_sub(idle_since) >= options.idle_timeout.as_millis() as u64
                {
                    break;
                }
                if slot.busy.load(Ordering::SeqCst) > 0 {
                    // Serving: look again one idle period after now.
                    slot.idle_since_ms.store(shared.now_ms(), Ordering::SeqCst);
                }
            }
        }
    }
    shared.release(id);
}

/// Guards every route of `routes` with `Authorization: Bearer <token>`: without it, or with
/// another token, the answer is `401 Unauthorized` (with `WWW-Authenticate: Bearer`) and the
/// handler does not run. With `token` `None` the routes are returned unchanged. The token is
/// compared in constant time and never logged.
///
/// ```
/// use axum::{Router, routing::post};
/// let triggers = pbx_sources::http_server::require_bearer_token(
///     Router::<()>::new().route("/trigger/poll", post(|| async { "ok" })),
///     Some(pbx_core::config::Secret::new("s3cret")),
/// );
/// let app: Router = Router::new().merge(triggers);
/// # let _ = app;
/// ```
pub fn require_bearer_token<S>(routes: Router<S>, token: Option<Secret>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return routes;
    };
    let token = Arc::new(token);
    routes.route_layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let token = Arc::clone(&token);
            async move {
                if bearer_matches(&req, &token) {
                    next.run(req).await
                } else {
                    let mut resp = (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(serde_json::json!({
                            "error": "this endpoint needs the bearer token set in http.token (Authorization: Bearer …)"
                        })),
                    )
                        .into_response();
                    resp.headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                    resp
                }
            }
        },
    ))
}

fn bearer_matches(req: &Request, token: &Secret) -> bool {
    use subtle::ConstantTimeEq;
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let Some(given) = value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case(b"bearer "))
        .map(|_| &value[7..])
    else {
        return false;
    };
    bool::from(given.ct_eq(token.expose().as_bytes()))
}

/// Logs a warning when `listen` is not a loopback address: the service port is then reachable
/// from other hosts, and without a token (`token_set` false) anyone there can trigger polls.
/// Returns whether it warned.
///
/// ```
/// use pbx_sources::http_server::warn_if_exposed;
/// assert!(!warn_if_exposed("127.0.0.1:8081".parse().unwrap(), false));
/// assert!(warn_if_exposed("0.0.0.0:8081".parse().unwrap(), true));
/// ```
pub fn warn_if_exposed(listen: SocketAddr, token_set: bool) -> bool {
    if listen.ip().is_loopback() {
        return false;
    }
    if token_set {
        tracing::warn!(
            %listen,
            "the service port listens beyond this host: /health, /status and /metrics are open to every host that reaches it; /trigger/* needs http.token"
        );
    } else {
        tracing::warn!(
            %listen,
            "the service port listens beyond this host and http.token is not set: every host that reaches it can read /status and /metrics and call /trigger/*; set http.token or listen on 127.0.0.1"
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_room_for_other_descriptors() {
        let options = ServerOptions {
            max_connections: usize::MAX,
            reserved_fds: 0,
            ..ServerOptions::default()
        };
        if let Some(limit) = open_file_limit() {
            assert!(options.effective_max_connections() as u64 <= limit);
            let reserving = ServerOptions {
                max_connections: usize::MAX,
                reserved_fds: limit.saturating_sub(10),
                ..ServerOptions::default()
            };
            assert!(reserving.effective_max_connections() <= 10);
        }
        assert_eq!(
            ServerOptions {
                max_connections: 3,
                reserved_fds: 0,
                ..ServerOptions::default()
            }
            .effective_max_connections(),
            3
        );
    }
}
