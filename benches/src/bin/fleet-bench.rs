//! `fleet-bench`: N sites served by P `pbx-sideloader fleet` processes on one PostgreSQL
//! (issue #27's benchmark). Each site tails a CDR file that receives a call every `--every`
//! seconds (spread evenly); an in-process call API stamps each call's acknowledgement. Prints
//! resident memory per process and per site, CPU while idle and under load, and the lag from
//! the line's append to the API's acknowledgement (p50, p99, max).
//!
//! ```text
//! fleet-bench --bin target/release/pbx-sideloader --pg postgres://postgres@127.0.0.1:55432/postgres \
//!     --sites 1000 --processes 1 --every 5 --secs 60 --idle-secs 20
//! ```
//!
//! Run through `scripts/pg.sh` (it sets `PBX_TEST_PG_URL`, the default of `--pg`);
//! `benches/fleet.sh` runs the two configurations of `benches/README.md`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

const LINE: &str = "00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,";

#[derive(Default)]
struct Acks {
    /// pbxCallId → when it was appended.
    sent: HashMap<String, Instant>,
    /// Lags of acknowledged calls (first acknowledgement only).
    lags: Vec<Duration>,
}

type Shared = Arc<Mutex<Acks>>;

struct Args {
    bin: PathBuf,
    pg: String,
    sites: usize,
    processes: usize,
    every: f64,
    secs: f64,
    idle_secs: f64,
}

fn args() -> Args {
    let mut a = Args {
        bin: PathBuf::from("target/release/pbx-sideloader"),
        pg: std::env::var("PBX_TEST_PG_URL").unwrap_or_default(),
        sites: 1000,
        processes: 1,
        every: 5.0,
        secs: 60.0,
        idle_secs: 20.0,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--bin" => a.bin = v.into(),
            "--pg" => a.pg = v,
            "--sites" => a.sites = v.parse().expect("--sites N"),
            "--processes" => a.processes = v.parse().expect("--processes N"),
            "--every" => a.every = v.parse().expect("--every SECS"),
            "--secs" => a.secs = v.parse().expect("--secs SECS"),
            "--idle-secs" => a.idle_secs = v.parse().expect("--idle-secs SECS"),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.pg.is_empty(), "--pg URL (or PBX_TEST_PG_URL)");
    a
}

fn call_id(site: usize, n: u64) -> (String, String) {
    let h = (site as u64 + 1) * 1_000_000 + n;
    let c = format!("{site:08X}_{n}");
    (format!("Call {h},{c},{LINE}\r\n"), format!("3cx-{h}-{c}"))
}

/// utime + stime of `pid`, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields after the name: state is [0]; utime is field 14 overall → [11], stime [12].
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn spawn(bin: &Path, config: &Path, log: &Path) -> Child {
    Command::new(bin)
        .args(["fleet", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn main() {
    let a = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let acks: Shared = Arc::default();
    let app = Router::new()
        .route(
            "/api/calls/from-pbx",
            post(|State(acks): State<Shared>, body: String| async move {
                let id = serde_json_id(&body);
                let mut a = acks.lock().unwrap();
                match a.sent.remove(&id) {
                    Some(at) => {
                        a.lags.push(at.elapsed());
                        StatusCode::CREATED
                    }
                    None => StatusCode::CONFLICT,
                }
            }),
        )
        .with_state(Arc::clone(&acks));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let api = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });

    let dir = std::env::temp_dir().join(format!("pbx-fleet-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sites")).unwrap();
    let mut files = Vec::with_capacity(a.sites);
    for s in 0..a.sites {
        let log = dir.join(format!("cdr-{s:05}.log"));
        std::fs::write(&log, "").unwrap();
        std::fs::write(
            dir.join("sites").join(format!("s{s:05}.yml")),
            format!("source: {{kind: file, path: '{}'}}\n", log.display()),
        )
        .unwrap();
        files.push(log);
    }
    let prefix = format!("fleet_bench_{}", std::process::id());
    let mut children = Vec::new();
    for p in 0..a.processes {
        let config = dir.join(format!("fleet-{p}.yml"));
        std::fs::write(
            &config,
            format!(
                "store: {{url: '{}', prefix: {prefix}}}\nname: bench-{p}\nhttp: {{listen: '127.0.0.1:0'}}\n\
                 lease: {{duration_secs: 30, renew_secs: 10}}\nsites_dir: '{}'\nlogging: {{level: warn}}\n\
                 defaults:\n  pbx: {{timezone: America/Anchorage}}\n  call_api: {{base_url: 'http://{api}', concurrency: 2}}\n  \
                 extensions: {{default_email: 'pbx@example.com'}}\n  polling: {{interval_secs: 1}}\n",
                a.pg,
                dir.join("sites").display()
            ),
        )
        .unwrap();
        children.push(spawn(&a.bin, &config, &dir.join(format!("fleet-{p}.log"))));
    }
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let started = Instant::now();
    // Held when every site's first call is acknowledged: one call each, then wait.
    let mut n = vec![0u64; a.sites];
    let send = |site: usize, n: &mut Vec<u64>| {
        n[site] += 1;
        let (line, id) = call_id(site, n[site]);
        acks.lock().unwrap().sent.insert(id, Instant::now());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&files[site])
            .unwrap();
        f.write_all(line.as_bytes()).unwrap();
    };
    for s in 0..a.sites {
        send(s, &mut n);
    }
    while !acks.lock().unwrap().sent.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "sites not all running after 600 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let warm = started.elapsed();
    acks.lock().unwrap().lags.clear();
    std::thread::sleep(Duration::from_secs(3));

    // Idle: no calls.
    let t0: Vec<u64> = pids.iter().map(|&p| cpu_ticks(p)).collect();
    std::thread::sleep(Duration::from_secs_f64(a.idle_secs));
    let idle_cpu: Vec<f64> = pids
        .iter()
        .zip(&t0)
        .map(|(&p, &t)| (cpu_ticks(p) - t) as f64 / 100.0 / a.idle_secs * 100.0)
        .collect();
    let rss_idle: Vec<u64> = pids.iter().map(|&p| rss_kib(p)).collect();

    // Load: a call per site every `every` seconds, spread evenly.
    let t1: Vec<u64> = pids.iter().map(|&p| cpu_ticks(p)).collect();
    let gap = Duration::from_secs_f64(a.every / a.sites as f64);
    let load_start = Instant::now();
    let mut next = load_start;
    let mut site = 0;
    let mut sent = 0u64;
    while load_start.elapsed().as_secs_f64() < a.secs {
        send(site, &mut n);
        sent += 1;
        site = (site + 1) % a.sites;
        next += gap;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let load_secs = load_start.elapsed().as_secs_f64();
    let load_cpu: Vec<f64> = pids
        .iter()
        .zip(&t1)
        .map(|(&p, &t)| (cpu_ticks(p) - t) as f64 / 100.0 / load_secs * 100.0)
        .collect();
    let drain = Instant::now();
    while !acks.lock().unwrap().sent.is_empty() && drain.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let rss_load: Vec<u64> = pids.iter().map(|&p| rss_kib(p)).collect();
    let (mut lags, missing) = {
        let a = acks.lock().unwrap();
        (a.lags.clone(), a.sent.len())
    };
    lags.sort();
    for c in &children {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
    }
    for mut c in children {
        let _ = c.wait();
    }
    let total_rss: u64 = rss_load.iter().sum();
    println!(
        "fleet-bench: {} sites, {} process(es), a call per site every {} s for {:.0} s ({sent} calls, {} acknowledged, {missing} not acknowledged within 120 s)",
        a.sites,
        a.processes,
        a.every,
        load_secs,
        lags.len()
    );
    println!("  all sites delivering after {warm:.1?}");
    println!(
        "  lag append → ack: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        pct(&lags, 0.50),
        pct(&lags, 0.99),
        lags.last().copied().unwrap_or_default()
    );
    println!(
        "  RSS idle {:?} KiB, under load {:?} KiB; {:.0} KiB per site",
        rss_idle,
        rss_load,
        total_rss as f64 / a.sites as f64
    );
    println!(
        "  CPU idle {:?} % of a core, under load {:?} % of a core",
        idle_cpu
            .iter()
            .map(|c| (c * 10.0).round() / 10.0)
            .collect::<Vec<_>>(),
        load_cpu
            .iter()
            .map(|c| (c * 10.0).round() / 10.0)
            .collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `pbxCallId` of a call request body, without a JSON dependency: the text between
/// `"pbxCallId":"` and the next quote.
fn serde_json_id(body: &str) -> String {
    body.split_once("\"pbxCallId\":\"")
        .and_then(|(_, r)| r.split_once('"'))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_default()
}
