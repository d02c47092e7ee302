//! The sideloader process on a real PostgreSQL site table (`source.kind: postgres_table`,
//! `checkpoint.kind: postgres`): a drain, a second run that delivers nothing, a backfill of a
//! time range, and a fault campaign — 20 000 calls to a call API that fails at random and
//! resets connections, the process SIGKILLed a dozen times, the API down for a while — after
//! which every call was accepted exactly once and the checkpoint is the last id.
//!
//! `scripts/pg.sh` (and `scripts/test.sh`) start a private cluster and set `PBX_TEST_PG_URL`;
//! without it these tests print "skipped" — and fail under `CI=true`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    BIN, CallApi, Faults, Rng, SharedCallApi, accepted_ids, free_port, pg_connect, pg_url, scratch,
    serve_call_api, serve_resetting_proxy, site_source, site_table, stored_checkpoint,
};

fn write_config(dir: &Path, url: &str, schema: &str, base_url: &str, extra: &str) -> String {
    let path = dir.join("config.yml");
    std::fs::write(
        &path,
        format!(
            "pbx: {{timezone: America/Anchorage}}\n{}\
             call_api: {{base_url: '{base_url}', timeout_secs: 1, concurrency: 16, max_attempts: 8}}\n\
             extensions: {{default_email: 'pbx@example.com'}}\n\
             polling: {{interval_secs: 1, batch_size: 2000}}\n\
             checkpoint: {{kind: postgres, url: '{url}', table: {schema}.pbx_checkpoint}}\n\
             quarantine: {{path: '{}/quarantine.jsonl'}}\n\
             http: {{listen: '127.0.0.1:0'}}\n\
             logging: {{level: error}}\n{extra}",
            site_source(url, schema),
            dir.display()
        ),
    )
    .unwrap();
    path.display().to_string()
}

fn run_once(config: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["--config", config])
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
#[ignore = "needs PostgreSQL: PBX_TEST_PG_URL (scripts/test.sh runs it; scripts/pg.sh starts a private server)"]
fn a_site_table_is_delivered_once_and_a_second_run_delivers_nothing() {
    let url = pg_url();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let schema = format!("wire_once_{}", std::process::id());
    let rows = 2_345;
    runtime.block_on(async { site_table(&pg_connect(&url).await, &schema, rows).await });
    let api: SharedCallApi = Arc::new(Mutex::new(CallApi::default()));
    let addr = serve_call_api(&runtime, &api);
    let dir = scratch("pg-once");
    let config = write_config(&dir, &url, &schema, &format!("http://{addr}"), "");

    let (ok, first) = run_once(&config, &["--once"]);
    assert!(ok, "{first}");
    assert!(
        first.starts_with(&format!(
            "pbx-sideloader: {rows} delivered, 0 already delivered"
        )),
        "{first}"
    );
    assert_eq!(accepted_ids(&api), (1..=rows).collect());
    let posts = api.lock().unwrap().posts;
    assert_eq!(posts, u64::from(rows), "a call was posted twice");
    let checkpoint = runtime.block_on(stored_checkpoint(&url, &schema, "cdr"));
    assert_eq!(checkpoint.as_deref(), Some(rows.to_string().as_str()));

    let (ok, second) = run_once(&config, &["--once"]);
    assert!(ok, "{second}");
    assert!(
        second.starts_with("pbx-sideloader: 0 delivered, 0 already delivered, 0 skipped"),
        "{second}"
    );
    assert_eq!(api.lock().unwrap().posts, posts, "the second run posted");

    // A backfill of ten minutes (calls start one a second from 18:00:01 UTC) to a fresh API:
    // exactly the calls that started in it, under its own checkpoint; the live one stays.
    let fresh: SharedCallApi = Arc::new(Mutex::new(CallApi::default()));
    let fresh_addr = serve_call_api(&runtime, &fresh);
    let config = write_config(&dir, &url, &schema, &format!("http://{fresh_addr}"), "");
    let (ok, out) = run_once(
        &config,
        &[
            "backfill",
            "--from",
            "2026-11-02T18:00:00Z",
            "--to",
            "2026-11-02T18:10:00Z",
        ],
    );
    assert!(ok, "{out}");
    assert_eq!(accepted_ids(&fresh), (1..600).collect());
    let live = runtime.block_on(stored_checkpoint(&url, &schema, "cdr"));
    assert_eq!(live.as_deref(), Some(rows.to_string().as_str()));

    runtime.block_on(async {
        let client = pg_connect(&url).await;
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs PostgreSQL: PBX_TEST_PG_URL (scripts/test.sh runs it; scripts/pg.sh starts a private server)"]
fn fault_campaign_every_call_exactly_once_through_failures_resets_kills_and_an_outage() {
    let url = pg_url();
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let schema = format!("wire_fault_{}", std::process::id());
    let rows = 20_000;
    runtime.block_on(async { site_table(&pg_connect(&url).await, &schema, rows).await });
    let api: SharedCallApi = CallApi::shared(Faults::RARE);
    let backend = serve_call_api(&runtime, &api);
    let proxy = serve_resetting_proxy(&runtime, backend);
    let dir = scratch("pg-fault");
    let config = write_config(&dir, &url, &schema, &format!("http://{proxy}"), "");
    let serve = || {
        Command::new(BIN)
            .args(["--config", &config])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };

    // A dozen service runs SIGKILLed at random moments.
    let mut rng = Rng(7);
    let mut kills = 0;
    for _ in 0..12 {
        let mut child = serve();
        std::thread::sleep(Duration::from_millis(300 + rng.below(1200)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    let before_outage = accepted_ids(&api).len();
    // The API down for three seconds while a service runs, then back.
    let mut child = serve();
    api.lock().unwrap().down = true;
    std::thread::sleep(Duration::from_secs(3));
    api.lock().unwrap().down = false;
    std::thread::sleep(Duration::from_secs(2));
    child.kill().unwrap();
    child.wait().unwrap();
    kills += 1;
    // Then runs to the end.
    let mut finished = false;
    for _ in 0..20 {
        if run_once(&config, &["--once"]).0 {
            finished = true;
            break;
        }
    }
    assert!(finished, "the sideloader never drained the table");

    let accepted = accepted_ids(&api);
    let guard = api.lock().unwrap();
    // Each pbxCallId is a key of `stored`: a repeat was answered 409, never accepted again.
    assert_eq!(guard.stored.len(), rows as usize);
    let missing: Vec<_> = (1..=rows)
        .filter(|id| !accepted.contains(id))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "missing calls: {missing:?}");
    let checkpoint = runtime.block_on(stored_checkpoint(&url, &schema, "cdr"));
    assert_eq!(checkpoint.as_deref(), Some(rows.to_string().as_str()));
    eprintln!(
        "fault campaign (PostgreSQL): {} calls accepted once each from {} POSTs ({} answered 409); \
         {kills} SIGKILLs ({before_outage} accepted before the outage); {:.1} s",
        guard.stored.len(),
        guard.posts,
        guard.stored.values().map(|n| u64::from(*n)).sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    drop(guard);
    runtime.block_on(async {
        let client = pg_connect(&url).await;
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `GET /status` of a sideloader whose `http.listen` is `addr`.
fn leader_of(addr: &str) -> Option<bool> {
    http_get(addr, "/status")?.1["ha"]["leader"].as_bool()
}

#[test]
#[ignore = "needs PostgreSQL: PBX_TEST_PG_URL (scripts/test.sh runs it; scripts/pg.sh starts a private server)"]
fn ha_the_standby_takes_over_when_the_leader_dies_without_loss_or_double_acceptance() {
    let url = pg_url();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let schema = format!("wire_ha_{}", std::process::id());
    let rows = 3_000;
    runtime.block_on(async { site_table(&pg_connect(&url).await, &schema, rows).await });
    // A slow API (4 calls in flight, 10 ms each): the drain takes several seconds.
    let api: SharedCallApi = Arc::new(Mutex::new(CallApi {
        delay: Duration::from_millis(10),
        ..CallApi::default()
    }));
    let addr = serve_call_api(&runtime, &api);
    let lock_key = i64::from(std::process::id()) + 0x5000_0000;
    let start = |name: &str| {
        let dir = scratch(&format!("pg-ha-{name}"));
        let listen = format!("127.0.0.1:{}", free_port());
        let config = write_config(
            &dir,
            &url,
            &schema,
            &format!("http://{addr}"),
            &format!("ha: {{enabled: true, lock_key: {lock_key}, poll_secs: 1}}\n"),
        );
        let text = std::fs::read_to_string(&config)
            .unwrap()
            .replace("concurrency: 16", "concurrency: 4")
            .replace("batch_size: 2000", "batch_size: 100")
            .replace("listen: '127.0.0.1:0'", &format!("listen: '{listen}'"));
        std::fs::write(&config, text).unwrap();
        let child = Command::new(BIN)
            .args(["--config", &config])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        (child, listen, dir)
    };
    let accepted = || api.lock().unwrap().stored.len();

    let (mut first, first_addr, first_dir) = start("a");
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted() == 0 {
        assert!(
            Instant::now() < deadline,
            "the first instance never delivered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(leader_of(&first_addr), Some(true));
    let (mut second, second_addr, second_dir) = start("b");
    // The second one stands by while the first delivers.
    let deadline = Instant::now() + Duration::from_secs(30);
    while leader_of(&second_addr).is_none() {
        assert!(
            Instant::now() < deadline,
            "the second instance never served /status"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(leader_of(&second_addr), Some(false));
    assert!(
        accepted() < rows as usize,
        "the drain ended before the kill: slow the API down"
    );

    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let at_kill = accepted();
    let killed = Instant::now();
    while accepted() == at_kill {
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "the standby did not take over within 15 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let takeover = killed.elapsed();
    assert_eq!(leader_of(&second_addr), Some(true));
    let deadline = Instant::now() + Duration::from_secs(60);
    while accepted() < rows as usize {
        assert!(
            Instant::now() < deadline,
            "the standby did not finish the drain"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let a last round save its checkpoint.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let cp = runtime.block_on(stored_checkpoint(&url, &schema, "cdr"));
        if cp.as_deref() == Some(rows.to_string().as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "checkpoint {cp:?}, not {rows}");
        std::thread::sleep(Duration::from_millis(100));
    }
    second.kill().unwrap();
    second.wait().unwrap();

    assert_eq!(accepted_ids(&api), (1..=rows).collect());
    let guard = api.lock().unwrap();
    let repeats: u64 = guard.stored.values().map(|n| u64::from(*n)).sum();
    // Only the first one's unsaved batch is sent again (answered 409), never accepted twice.
    assert!(
        repeats <= 100,
        "{repeats} calls sent twice: both instances delivered"
    );
    eprintln!(
        "ha: {} calls accepted once each; standby took over {:.1} s after the SIGKILL; {repeats} sent again (409)",
        guard.stored.len(),
        takeover.as_secs_f64()
    );
    drop(guard);
    runtime.block_on(async {
        let client = pg_connect(&url).await;
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    });
    for dir in [first_dir, second_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn http_get(addr: &str, path: &str) -> Option<(u16, serde_json::Value)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, serde_json::from_str(body).ok()?))
}

#[test]
#[ignore = "needs PostgreSQL: PBX_TEST_PG_URL (scripts/test.sh runs it; scripts/pg.sh starts a private server)"]
fn a_missing_table_is_exit_2_at_once_and_the_service_is_not_ready_until_it_exists() {
    let url = pg_url();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let schema = format!("wire_missing_{}", std::process::id());
    let admin = runtime.block_on(pg_connect(&url));
    runtime.block_on(async {
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
            ))
            .await
            .unwrap();
    });
    let api: SharedCallApi = Arc::new(Mutex::new(CallApi::default()));
    let addr = serve_call_api(&runtime, &api);
    let dir = scratch("pg-missing");
    let port = free_port();
    let config = write_config(&dir, &url, &schema, &format!("http://{addr}"), "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "http: {listen: '127.0.0.1:0'}",
        &format!("http: {{listen: '127.0.0.1:{port}'}}"),
    );
    std::fs::write(&config, text).unwrap();

    // `--once`: one line naming the setting, exit code 2, in well under the retry time.
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["--config", &config, "--once"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stderr.contains("`source.table`") && stderr.contains("does not exist"),
        "{stderr}"
    );

    // The service: /health 503 with the reason, then ready once the table exists.
    let mut service = Command::new(BIN)
        .args(["--config", &config])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Some((503, body)) = http_get(&http, "/health") {
            break body;
        }
        assert!(Instant::now() < deadline, "never reported not ready");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(health["status"], "not_ready");
    assert_eq!(health["source"]["state"], "misconfigured");
    assert_eq!(health["source"]["setting"], "source.table");
    let (_, status) = http_get(&http, "/status").unwrap();
    assert_eq!(status["source"]["problem"], "table");

    // Made beside it and moved in: `site_table` recreates its schema, which holds the
    // checkpoint table the service made.
    runtime.block_on(async {
        site_table(&admin, &format!("{schema}_src"), 3).await;
        admin
            .batch_execute(&format!("ALTER TABLE {schema}_src.cdr SET SCHEMA {schema}"))
            .await
            .unwrap();
    });
    // The service probes every `backoff_cap` (60 s by default): poll once now.
    let poll = loop {
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(&http) {
            let _ = write!(
                s,
                "POST /trigger/poll HTTP/1.1\r\nHost: {http}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let mut a = String::new();
            let _ = s.read_to_string(&mut a);
            break a;
        }
    };
    assert!(poll.starts_with("HTTP/1.1 2"), "{poll}");
    while accepted_ids(&api).len() < 3 {
        assert!(Instant::now() < deadline, "the new table was never read");
        std::thread::sleep(Duration::from_millis(100));
    }
    loop {
        match http_get(&http, "/health") {
            Some((200, h)) => {
                assert_eq!(h["status"], "ok");
                break;
            }
            other => assert!(Instant::now() < deadline, "still not ready: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = service.kill();
    let _ = service.wait();
}
