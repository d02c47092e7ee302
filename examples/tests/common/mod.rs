//! What the sideloader's process tests share: a PostgreSQL site table, an in-process call API
//! that records every `pbxCallId` it accepted (and can fail at random), and a proxy in front of
//! it that resets connections mid-stream.

#![allow(dead_code)] // each test binary uses its own part

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_pbx-sideloader");

/// The PostgreSQL server's URL (`PBX_TEST_PG_URL`). The tests that need it are
/// `#[ignore = "needs PostgreSQL…"]`; `scripts/test.sh` starts a private server and runs them with
/// `--ignored`. Asked for without the variable, this fails the test with what to do.
pub(crate) fn pg_url() -> String {
    match std::env::var("PBX_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "PBX_TEST_PG_URL is not set: run this test through scripts/pg.sh (a private PostgreSQL) or scripts/test.sh"
        ),
    }
}

/// A fresh scratch directory for one test: `<tmp>/pbx-<test file>-<pid>-<name>`.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pbx-{}-{}-{name}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A TCP port on loopback that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The site-table row ids of every call the API accepted.
pub(crate) fn accepted_ids(api: &SharedApi) -> BTreeSet<u32> {
    api.lock()
        .unwrap()
        .stored
        .keys()
        .map(|id| row_id(id))
        .collect()
}

/// The checkpoint the sideloader stored under `key` in `<schema>.pbx_checkpoint`.
pub(crate) async fn stored_checkpoint(url: &str, schema: &str, key: &str) -> Option<String> {
    pg_connect(url)
        .await
        .query_opt(
            &format!("SELECT checkpoint FROM {schema}.pbx_checkpoint WHERE source = $1"),
            &[&key],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

pub(crate) async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to PBX_TEST_PG_URL");
    tokio::spawn(conn);
    client
}

/// A fresh schema `schema` with a site table `cdr` of `rows` outbound calls (ids 1..=rows,
/// `historyid` = the id, so every call's `pbxCallId` ends in `-<id>`).
pub(crate) async fn site_table(client: &tokio_postgres::Client, schema: &str, rows: u32) {
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             CREATE TABLE {schema}.cdr (
                 id bigserial PRIMARY KEY, history_id text, duration integer,
                 time_start timestamptz, time_answered timestamptz, time_end timestamptz,
                 reason text, from_no text, to_no text, from_dn text, to_dn text,
                 final_number text, final_dn text, from_type text, to_type text, final_type text);
             INSERT INTO {schema}.cdr (history_id, duration, time_start, time_answered, time_end,
                 reason, from_no, to_no, from_dn, to_dn, final_number, final_dn,
                 from_type, to_type, final_type)
             SELECT g::text, 60, t, t + interval '5 s', t + interval '65 s', 'TerminatedBySrc',
                 'Ext.101', '+1907555' || lpad((g % 10000)::text, 4, '0'), '101', '10000',
                 '+1907555' || lpad((g % 10000)::text, 4, '0'), '10000', 'Extension', 'Line', 'Line'
             FROM generate_series(1, {rows}) g,
                 LATERAL (SELECT timestamptz '2026-11-02 18:00:00+00' + g * interval '1 s' AS t) x;"
        ))
        .await
        .expect("create the site table");
}

/// The `source` section for [`site_table`]'s table.
pub(crate) fn site_source(url: &str, schema: &str) -> String {
    format!(
        "source:\n  kind: postgres_table\n  url: '{url}'\n  table: {schema}.cdr\n  columns:\n    \
         id: id\n    historyid: history_id\n    duration: duration\n    time-start: time_start\n    \
         time-answered: time_answered\n    time-end: time_end\n    reason-terminated: reason\n    \
         from-no: from_no\n    to-no: to_no\n    from-dn: from_dn\n    to-dn: to_dn\n    \
         final-number: final_number\n    final-dn: final_dn\n    from-type: from_type\n    \
         to-type: to_type\n    final-type: final_type\n"
    )
}

/// The row id a `pbxCallId` of [`site_table`] came from.
pub(crate) fn row_id(pbx_call_id: &str) -> u32 {
    pbx_call_id
        .rsplit('-')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("unexpected pbxCallId {pbx_call_id}"))
}

/// A deterministic generator (SplitMix64).
pub(crate) struct Rng(pub u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the call API saw.
#[derive(Default)]
pub(crate) struct Api {
    /// Every accepted `pbxCallId` and how many times it was posted after that (answered 409).
    pub(crate) stored: HashMap<String, u32>,
    /// Every POST.
    pub(crate) posts: u64,
    /// Fail at random: 503 before storing (1 %), 500 after storing — the acknowledgement lost
    /// (0.5 %), and 0.05 % answered after 1.5 s (past a 1 s client timeout). The engine
    /// delivers in order, `concurrency` at a time, so every failure holds the batch up for its
    /// retry delay: the rates keep a 20 000-call campaign within a couple of minutes.
    pub(crate) faults: bool,
    /// Answer 503 to everything (the API is down).
    pub(crate) down: bool,
    /// Answer each POST this much later (a slow API, so a drain takes a while).
    pub(crate) delay: Duration,
    pub(crate) rng: Option<Rng>,
}

pub(crate) type SharedApi = Arc<Mutex<Api>>;

async fn from_pbx(State(api): State<SharedApi>, body: String) -> StatusCode {
    let Ok(call) = serde_json::from_str::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let id = call["pbxCallId"].as_str().unwrap_or_default().to_owned();
    let slow = api.lock().unwrap().delay;
    if !slow.is_zero() {
        tokio::time::sleep(slow).await;
    }
    let (fate, delay, down) = {
        let mut api = api.lock().unwrap();
        api.posts += 1;
        let faults = api.faults;
        let rng = api.rng.get_or_insert(Rng(42));
        let (fate, delay) = (rng.below(1000), rng.below(10_000));
        if faults {
            (fate, delay, api.down)
        } else {
            (1000, 10_000, api.down)
        }
    };
    if down {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if delay < 5 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    if fate < 10 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let mut api = api.lock().unwrap();
    if let Some(n) = api.stored.get_mut(&id) {
        *n += 1;
        return StatusCode::CONFLICT;
    }
    api.stored.insert(id, 0);
    if fate < 15 {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::CREATED
}

/// Serves the call API on a loopback port of `runtime`.
pub(crate) fn serve_api(runtime: &tokio::runtime::Runtime, api: &SharedApi) -> SocketAddr {
    let app = Router::new()
        .route("/api/calls/from-pbx", post(from_pbx))
        .with_state(Arc::clone(api));
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A TCP proxy to `backend` that resets one connection in ten (RST, `SO_LINGER` 0) after
/// a random number of request bytes — mid-request or between requests, so some calls are
/// stored and their answer lost.
pub(crate) fn serve_resetting_proxy(
    runtime: &tokio::runtime::Runtime,
    backend: SocketAddr,
) -> SocketAddr {
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let mut rng = Rng(99);
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            let budget = if rng.below(10) == 0 {
                200 + rng.below(40_000) as usize
            } else {
                usize::MAX
            };
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(backend).await else {
                    return;
                };
                // Linger 0 only makes the close a reset; it never blocks the thread (the
                // reason tokio deprecates `set_linger`).
                #[allow(deprecated)]
                let _ = client.set_linger(Some(Duration::ZERO));
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async {
                    let mut buf = vec![0u8; 4096];
                    let mut sent = 0usize;
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        let n = n.min(budget - sent);
                        if sw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                        sent += n;
                        if sent >= budget {
                            // Let the server act on what it got, then reset.
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            return;
                        }
                    }
                };
                let down = async {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                };
                tokio::select! {
                    () = up => {}
                    () = down => {}
                }
                // Dropping the halves closes the client socket with RST (linger 0).
            });
        }
    });
    addr
}
