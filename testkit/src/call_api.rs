//! The fake call-logger API: `POST /api/calls/from-pbx` as the documented contract has it
//! (201 stored, 409 already stored, 400 for a body that is not JSON), keeping every
//! `pbxCallId` it stored, and failing at random when asked ([`Faults`]) — before storing (503),
//! after storing with the answer lost (500), or slower than the client's timeout.
//!
//! ```
//! use pbx_testkit::call_api::{CallApi, Faults, serve_call_api};
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let api = CallApi::shared(Faults::NONE);
//! let addr = serve_call_api(&runtime, &api);
//! assert_ne!(addr.port(), 0);
//! assert!(api.lock().unwrap().stored.is_empty());
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::net::TcpListener;

use crate::Rng;

/// How often the fake API fails, in parts per 10 000 of the POSTs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faults {
    /// Answered 503 before storing.
    pub unavailable: u64,
    /// Stored, then answered 500: the acknowledgement is lost, the call is sent again (409).
    pub ack_lost: u64,
    /// Answered only after [`Faults::slow_by`] (past a short client timeout).
    pub slow: u64,
    /// How late a slow answer comes.
    pub slow_by: Duration,
}

impl Faults {
    /// Never fails.
    pub const NONE: Faults = Faults {
        unavailable: 0,
        ack_lost: 0,
        slow: 0,
        slow_by: Duration::ZERO,
    };

    /// The rates of the sideloader's PostgreSQL fault campaign: 1 % 503, 0.5 % lost
    /// acknowledgements, 0.05 % answered after 1.5 s. The engine holds a call up for its retry
    /// delay on each failure: these rates keep a 20 000-call campaign within a couple of minutes.
    pub const RARE: Faults = Faults {
        unavailable: 100,
        ack_lost: 50,
        slow: 5,
        slow_by: Duration::from_millis(1500),
    };

    /// Harsher rates for a short campaign: 8 % 503, 3 % lost acknowledgements, 1 % answered
    /// after 1.5 s.
    pub const OFTEN: Faults = Faults {
        unavailable: 800,
        ack_lost: 300,
        slow: 100,
        slow_by: Duration::from_millis(1500),
    };
}

/// What the fake API saw, and how it behaves.
#[derive(Debug)]
pub struct CallApi {
    /// Every stored `pbxCallId` and how many times it was posted after that (answered 409).
    pub stored: HashMap<String, u32>,
    /// Every POST.
    pub posts: u64,
    /// How often to fail (while [`CallApi::faults_on`]).
    pub faults: Faults,
    /// Whether [`CallApi::faults`] apply now.
    pub faults_on: bool,
    /// Answer 503 to everything (the API is down).
    pub down: bool,
    /// Answer each POST this much later (a slow API, so a drain takes a while).
    pub delay: Duration,
    /// The fault draws (seed 42 unless set).
    pub rng: Rng,
}

impl Default for CallApi {
    fn default() -> Self {
        CallApi {
            stored: HashMap::new(),
            posts: 0,
            faults: Faults::NONE,
            faults_on: false,
            down: false,
            delay: Duration::ZERO,
            rng: Rng(42),
        }
    }
}

impl CallApi {
    /// A fresh API, shared with its server, failing at `faults` (on from the start unless
    /// they are [`Faults::NONE`]).
    pub fn shared(faults: Faults) -> SharedCallApi {
        Arc::new(Mutex::new(CallApi {
            faults,
            faults_on: faults != Faults::NONE,
            ..CallApi::default()
        }))
    }

    /// How many POSTs were answered 409 (a call sent again after it was stored).
    pub fn duplicates(&self) -> u64 {
        self.stored.values().map(|n| u64::from(*n)).sum()
    }
}

/// The API as its server and the test share it.
pub type SharedCallApi = Arc<Mutex<CallApi>>;

async fn from_pbx(State(api): State<SharedCallApi>, body: String) -> StatusCode {
    let Ok(call) = serde_json::from_str::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let id = call["pbxCallId"].as_str().unwrap_or_default().to_owned();
    let slow = api.lock().unwrap().delay;
    if !slow.is_zero() {
        tokio::time::sleep(slow).await;
    }
    let (fate, late, faults, down) = {
        let mut api = api.lock().unwrap();
        api.posts += 1;
        let (fate, late) = (api.rng.below(10_000), api.rng.below(10_000));
        let faults = if api.faults_on {
            api.faults
        } else {
            Faults::NONE
        };
        (fate, late, faults, api.down)
    };
    if down {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if late < faults.slow {
        tokio::time::sleep(faults.slow_by).await;
    }
    if fate < faults.unavailable {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let mut api = api.lock().unwrap();
    if let Some(n) = api.stored.get_mut(&id) {
        *n += 1;
        return StatusCode::CONFLICT;
    }
    api.stored.insert(id, 0);
    if fate < faults.unavailable + faults.ack_lost {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::CREATED
}

/// Serves `api` on a loopback port of `runtime`, called from outside it (a test's own thread;
/// a multi-thread runtime serves while the test goes on).
///
/// # Panics
/// When no loopback port can be bound.
pub fn serve_call_api(runtime: &tokio::runtime::Runtime, api: &SharedCallApi) -> SocketAddr {
    let app = Router::new()
        .route("/api/calls/from-pbx", post(from_pbx))
        .with_state(Arc::clone(api));
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    runtime.spawn(async move { axum::serve(listener, app).await });
    addr
}
