//! A fleet of three `pbx-sideloader fleet` processes on a real PostgreSQL: 50 sites (CDR files
//! and PostgreSQL site tables, mixed), calls arriving all along; one process SIGKILLed
//! mid-delivery, one SIGSTOPped past its lease then continued (it must not save a stale
//! checkpoint), one stopped gracefully; a site file added and one removed while running.
//!
//! Pass: every call accepted exactly once by the API stand-in (409 answers allowed); every
//! site owned by one live process within lease expiry plus one renewal period (+ 2.5 s for a
//! round on a loaded host) of its owner's death or pause, and held by p2/p3 within the test's
//! limits after each step; no site lost. The fail-over times are printed (`--nocapture`).
//!
//! `scripts/test.sh` runs it with a private PostgreSQL (`scripts/pg.sh`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    BIN, CallApi, SharedCallApi, free_port, pg_connect, pg_url, scratch, serve_call_api,
    site_source,
};

const SAMPLE: &str = include_str!("../data/cdr-sample.log");
const SITES: usize = 50;
/// Calls each site has at the start.
const INITIAL: u64 = 30;
const LEASE: Duration = Duration::from_secs(3);
const RENEW: Duration = Duration::from_secs(1);
/// How late past lease expiry plus one renewal a take-over may be on this (shared, loaded)
/// machine: a round's queries and a site's start.
const SLACK: Duration = Duration::from_millis(2500);
/// The site whose file is removed while running, and the one added.
const REMOVED: usize = 48;
const ADDED: usize = 50;

fn is_file_site(site: usize) -> bool {
    site.is_multiple_of(2)
}

fn site_id(site: usize) -> String {
    format!("site-{site:02}")
}

fn history_id(site: usize, n: u64) -> u64 {
    (site as u64 + 1) * 1_000_000 + n
}

/// A CDR line of an inbound call (the sample's first line) with its own ids.
fn cdr_line(site: usize, n: u64) -> String {
    let line = SAMPLE.lines().next().unwrap();
    let (_, rest) = line.split_once(',').unwrap();
    let (_, rest) = rest.split_once(',').unwrap();
    format!("Call {},{:08X}_{n},{rest}\r\n", history_id(site, n), site)
}

/// The `pbxCallId` the sideloader gives call `n` of `site`.
fn call_id(site: usize, n: u64) -> String {
    if is_file_site(site) {
        format!("3cx-{}-{:08X}_{n}", history_id(site, n), site)
    } else {
        format!("3cx-{}", history_id(site, n))
    }
}

struct World {
    url: String,
    schema: String,
    dir: PathBuf,
    /// Calls written per site so far.
    written: Mutex<BTreeMap<usize, u64>>,
}

impl World {
    fn log_path(&self, site: usize) -> PathBuf {
        self.dir.join(format!("cdr-{site:02}.log"))
    }

    /// Writes site `site`'s file (and creates its source).
    async fn add_site(&self, client: &tokio_postgres::Client, site: usize, calls: u64) {
        let sites_dir = self.dir.join("sites");
        let source = if is_file_site(site) {
            let text: String = (1..=calls).map(|n| cdr_line(site, n)).collect();
            std::fs::write(self.log_path(site), text).unwrap();
            format!(
                "source: {{kind: file, path: '{}'}}\n",
                self.log_path(site).display()
            )
        } else {
            let schema = format!("{}_s{site}", self.schema);
            client
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
                     CREATE TABLE {schema}.cdr (
                         id bigserial PRIMARY KEY, history_id text, duration integer,
                         time_start timestamptz, time_answered timestamptz, time_end timestamptz,
                         reason text, from_no text, to_no text, from_dn text, to_dn text,
                         final_number text, final_dn text, from_type text, to_type text, final_type text);"
                ))
                .await
                .unwrap();
            for n in 1..=calls {
                insert_row(client, &schema, site, n).await;
            }
            site_source(&self.url, &schema)
        };
        std::fs::write(sites_dir.join(format!("{}.yml", site_id(site))), source).unwrap();
        self.written.lock().unwrap().insert(site, calls);
    }

    /// One more call at `site`.
    async fn feed(&self, client: &tokio_postgres::Client, site: usize) {
        let n = {
            let mut w = self.written.lock().unwrap();
            let n = w.get(&site).copied().unwrap_or(0) + 1;
            w.insert(site, n);
            n
        };
        if is_file_site(site) {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(self.log_path(site))
                .unwrap();
            f.write_all(cdr_line(site, n).as_bytes()).unwrap();
        } else {
            insert_row(client, &format!("{}_s{site}", self.schema), site, n).await;
        }
    }

    fn expected(&self) -> BTreeSet<String> {
        self.written
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(&site, &n)| (1..=n).map(move |i| call_id(site, i)))
            .collect()
    }
}

async fn insert_row(client: &tokio_postgres::Client, schema: &str, site: usize, n: u64) {
    let hid = history_id(site, n).to_string();
    let secs = n as f64;
    client
        .execute(
            &format!(
                "INSERT INTO {schema}.cdr (history_id, duration, time_start, time_answered, time_end,
                     reason, from_no, to_no, from_dn, to_dn, final_number, final_dn,
                     from_type, to_type, final_type)
                 SELECT $1, 60, t, t + interval '5 s', t + interval '65 s', 'TerminatedBySrc',
                     'Ext.101', '+19075551234', '101', '10000', '+19075551234', '10000',
                     'Extension', 'Line', 'Line'
                 FROM (SELECT timestamptz '2026-11-02 18:00:00+00' + $2 * interval '1 s' AS t) x"
            ),
            &[&hid, &secs],
        )
        .await
        .unwrap();
}

struct Process {
    name: &'static str,
    child: Child,
    log: PathBuf,
    /// Its service port.
    port: u16,
}

fn spawn(dir: &Path, name: &'static str, url: &str, prefix: &str) -> Process {
    let config = dir.join(format!("fleet-{name}.yml"));
    let port = free_port();
    std::fs::write(
        &config,
        format!(
            "store: {{url: '{url}', prefix: {prefix}}}\n\
             name: {name}\n\
             http: {{listen: '127.0.0.1:{port}'}}\n\
             lease: {{duration_secs: {}, renew_secs: {}}}\n\
             scan_secs: 1\n\
             sites_dir: '{}'\n\
             logging: {{level: info}}\n\
             defaults:\n  \
               pbx: {{timezone: America/Anchorage}}\n  \
               call_api: {{base_url: '{}', timeout_secs: 10, concurrency: 2, max_attempts: 50}}\n  \
               extensions: {{default_email: 'pbx@example.com'}}\n  \
               polling: {{interval_secs: 1, batch_size: 50}}\n",
            LEASE.as_secs(),
            RENEW.as_secs(),
            dir.join("sites").display(),
            std::fs::read_to_string(dir.join("api")).unwrap(),
        ),
    )
    .unwrap();
    let log = dir.join(format!("{name}.log"));
    let child = Command::new(BIN)
        .args(["fleet", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Process {
        name,
        child,
        log,
        port,
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A failed test leaves no process behind (a stopped one is continued to die).
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = Command::new("kill")
                .args(["-CONT", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

fn signal(p: &Process, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &p.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {}", p.name);
}

/// `site → (owner, epoch, seconds to expiry)` from the store.
async fn leases(
    client: &tokio_postgres::Client,
    prefix: &str,
) -> BTreeMap<String, (Option<String>, i64, Option<f64>)> {
    client
        .query(
            &format!(
                "SELECT site, owner, epoch, extract(epoch FROM expires_at - now())::float8 FROM {prefix}_sites"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect()
}

/// Watches ownership every 100 ms: how long each site went without an owner holding an
/// unexpired lease (released, or its owner's lease expired), at most.
struct Watch {
    /// Since when each site has no live owner.
    orphan_since: Mutex<BTreeMap<String, Instant>>,
    /// The longest orphan time seen per site.
    worst: Mutex<BTreeMap<String, Duration>>,
    /// Sites expected to exist.
    sites: Mutex<BTreeSet<String>>,
    stop: AtomicBool,
}

impl Watch {
    fn observe(&self, leases: &BTreeMap<String, (Option<String>, i64, Option<f64>)>) {
        let sites = self.sites.lock().unwrap().clone();
        let now = Instant::now();
        let mut orphan = self.orphan_since.lock().unwrap();
        let mut worst = self.worst.lock().unwrap();
        for site in &sites {
            // Held: an owner with an unexpired lease. A dead owner's lease runs out on its
            // own (the store's clock); from then on — or from a release — the site must find
            // a live owner within one renewal period.
            let owned = leases
                .get(site)
                .is_some_and(|(owner, _, exp)| owner.is_some() && exp.is_some_and(|e| e > 0.0));

            if owned {
                if let Some(since) = orphan.remove(site) {
                    let w = worst.entry(site.clone()).or_default();
                    *w = (*w).max(now - since);
                }
            } else {
                orphan.entry(site.clone()).or_insert(now);
            }
        }
    }

    fn longest(&self) -> Duration {
        let now = Instant::now();
        let open = self
            .orphan_since
            .lock()
            .unwrap()
            .values()
            .map(|s| now - *s)
            .max()
            .unwrap_or_default();
        self.worst
            .lock()
            .unwrap()
            .values()
            .copied()
            .max()
            .unwrap_or_default()
            .max(open)
    }
}

/// Waits until every site in `sites` is held by one of `owners` with a live lease; returns
/// how long it took.
async fn until_held(
    client: &tokio_postgres::Client,
    prefix: &str,
    sites: &BTreeSet<String>,
    owners: &[&str],
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let l = leases(client, prefix).await;
        let held = sites.iter().all(|s| {
            l.get(s).is_some_and(|(o, _, e)| {
                o.as_deref().is_some_and(|o| owners.contains(&o)) && e.is_some_and(|e| e > 0.0)
            })
        });
        if held {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "sites not held by {owners:?} after {limit:?}: {:?}",
            sites
                .iter()
                .filter_map(|s| l.get(s).map(|v| (s, v)))
                .filter(
                    |(_, (o, _, e))| !(o.as_deref().is_some_and(|o| owners.contains(&o))
                        && e.is_some_and(|e| e > 0.0))
                )
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn owned_by(
    leases: &BTreeMap<String, (Option<String>, i64, Option<f64>)>,
    name: &str,
) -> BTreeSet<String> {
    leases
        .iter()
        .filter(|(_, (o, _, _))| o.as_deref() == Some(name))
        .map(|(s, _)| s.clone())
        .collect()
}

#[test]
#[ignore = "needs PostgreSQL (scripts/pg.sh)"]
fn a_fleet_of_three_processes_survives_a_kill_a_pause_and_a_stop_with_every_call_once() {
    let url = pg_url();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let api: SharedCallApi = Arc::new(Mutex::new(CallApi {
        // A slow API: with a call per site every 500 ms answered after 100 ms, a process's
        // 17 sites have about 3 calls in flight at any moment — a kill is mid-delivery.
        delay: Duration::from_millis(100),
        ..CallApi::default()
    }));
    let addr = serve_call_api(&runtime, &api);
    let dir = scratch("fleet");
    std::fs::create_dir_all(dir.join("sites")).unwrap();
    std::fs::write(dir.join("api"), format!("http://{addr}")).unwrap();
    let pid = std::process::id();
    let prefix = format!("fleet_t{pid}");
    let world = Arc::new(World {
        url: url.clone(),
        schema: format!("fleet_src_{pid}"),
        dir: dir.clone(),
        written: Mutex::new(BTreeMap::new()),
    });
    let started = Instant::now();
    let client = runtime.block_on(async {
        let client = pg_connect(&url).await;
        // The store's tables ahead of the processes, with an audit of every checkpoint write
        // (which epoch wrote it, when), to prove no stale save after a take-over.
        client
            .batch_execute(&pbx_sources::fleet::FleetStore::schema_sql(&prefix))
            .await
            .unwrap();
        client
            .batch_execute(&format!(
                "CREATE TABLE {prefix}_audit (site text, key text, epoch bigint, at timestamptz);
                 CREATE FUNCTION {prefix}_audit() RETURNS trigger AS $$
                 BEGIN INSERT INTO {prefix}_audit VALUES (NEW.site, NEW.key, NEW.epoch, clock_timestamp()); RETURN NEW; END
                 $$ LANGUAGE plpgsql;
                 CREATE TRIGGER {prefix}_audit AFTER INSERT OR UPDATE ON {prefix}_checkpoints
                 FOR EACH ROW EXECUTE FUNCTION {prefix}_audit();"
            ))
            .await
            .unwrap();
        for site in 0..SITES {
            world.add_site(&client, site, INITIAL).await;
        }
        client
    });
    let all_sites: BTreeSet<String> = (0..SITES).map(site_id).collect();
    let mut p1 = spawn(&dir, "p1", &url, &prefix);
    let mut p2 = spawn(&dir, "p2", &url, &prefix);
    let mut p3 = spawn(&dir, "p3", &url, &prefix);
    let logs = [p1.log.clone(), p2.log.clone(), p3.log.clone()];
    let dump = move || {
        for l in &logs {
            let text = std::fs::read_to_string(l).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            eprintln!("--- {} (last lines)", l.display());
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    };
    let guard = DumpOnPanic(Some(Box::new(dump)));

    let watch = Arc::new(Watch {
        orphan_since: Mutex::new(BTreeMap::new()),
        worst: Mutex::new(BTreeMap::new()),
        sites: Mutex::new(BTreeSet::new()),
        stop: AtomicBool::new(false),
    });
    // The feeder: one call per site (not the one to be removed) every 500 ms for 20 s.
    let feeder = {
        let world = Arc::clone(&world);
        let url = url.clone();
        runtime.spawn(async move {
            let client = pg_connect(&url).await;
            let end = Instant::now() + Duration::from_secs(20);
            while Instant::now() < end {
                for site in 0..SITES {
                    if site != REMOVED {
                        world.feed(&client, site).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let watcher = {
        let watch = Arc::clone(&watch);
        let url = url.clone();
        let prefix = prefix.clone();
        runtime.spawn(async move {
            let client = pg_connect(&url).await;
            while !watch.stop.load(Ordering::Relaxed) {
                let l = leases(&client, &prefix).await;
                watch.observe(&l);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    runtime.block_on(async {
        // 1. Every site held, each process at most its fair share ⌈50 / 3⌉ = 17.
        let t = until_held(&client, &prefix, &all_sites, &["p1", "p2", "p3"], Duration::from_secs(30)).await;
        eprintln!("fleet: 50 sites held by three processes {t:?} after start");
        let fair = Instant::now();
        loop {
            let l = leases(&client, &prefix).await;
            let counts: Vec<usize> = ["p1", "p2", "p3"].iter().map(|p| owned_by(&l, p).len()).collect();
            if counts.iter().all(|&n| n <= 17) && counts.iter().sum::<usize>() == SITES {
                eprintln!("fleet: fair shares {counts:?} after {:?}", fair.elapsed());
                break;
            }
            assert!(fair.elapsed() < Duration::from_secs(30), "no fair share after 30 s: {counts:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        *watch.sites.lock().unwrap() = all_sites.clone();

        // 2. SIGKILL p1 mid-delivery: its sites move to p2 and p3.
        let l = leases(&client, &prefix).await;
        let of_p1 = owned_by(&l, "p1");
        signal(&p1, "KILL");
        let _ = p1.child.wait();
        let t = until_held(&client, &prefix, &of_p1, &["p2", "p3"], Duration::from_secs(20)).await;
        eprintln!("fleet: fail-over after SIGKILL: {} sites of p1 held by p2/p3 after {t:?} (lease {LEASE:?}, renew {RENEW:?})", of_p1.len());

        // 3. SIGSTOP p2 past its lease: p3 takes its sites; then SIGCONT: no stale save.
        let l = leases(&client, &prefix).await;
        let of_p2 = owned_by(&l, "p2");
        signal(&p2, "STOP");
        let t = until_held(&client, &prefix, &of_p2, &["p3"], Duration::from_secs(20)).await;
        eprintln!("fleet: fail-over after SIGSTOP: {} sites of p2 held by p3 after {t:?}", of_p2.len());
        let after_takeover = leases(&client, &prefix).await;
        let takeover_at: f64 = client
            .query_one("SELECT extract(epoch FROM clock_timestamp())::float8", &[])
            .await
            .unwrap()
            .get(0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        signal(&p2, "CONT");
        // p2 rejoins: the share drops to 25 and p3 hands sites back.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let stale = client
            .query(
                &format!("SELECT site, key, epoch, at FROM {prefix}_audit WHERE extract(epoch FROM at)::float8 > $1"),
                &[&takeover_at],
            )
            .await
            .unwrap();
        for row in &stale {
            let site: String = row.get(0);
            let epoch: i64 = row.get(2);
            if let Some((_, new_epoch, _)) = after_takeover.get(&site)
                && of_p2.contains(&site)
            {
                assert!(
                    epoch >= *new_epoch,
                    "site {site}: a checkpoint was saved with epoch {epoch} after p3 took it over at epoch {new_epoch}"
                );
            }
        }

        // 4. A site file added, one changed, one removed, while running.
        world.add_site(&client, ADDED, INITIAL).await;
        let changed = dir.join("sites").join(format!("{}.yml", site_id(1)));
        let text = std::fs::read_to_string(&changed).unwrap();
        std::fs::write(&changed, format!("{text}polling: {{interval_secs: 2}}\n")).unwrap();
        let removed = site_id(REMOVED);
        std::fs::remove_file(dir.join("sites").join(format!("{removed}.yml"))).unwrap();
        watch.sites.lock().unwrap().remove(&removed);
        watch.sites.lock().unwrap().insert(site_id(ADDED));
        // The watcher counts the added site from when a process could have seen it.
        let added: BTreeSet<String> = [site_id(ADDED)].into();
        let t = until_held(&client, &prefix, &added, &["p2", "p3"], Duration::from_secs(20)).await;
        eprintln!("fleet: an added site file is held after {t:?}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let l = leases(&client, &prefix).await;
            if !l.contains_key(&removed) {
                break;
            }
            assert!(Instant::now() < deadline, "the removed site is still in the store: {:?}", l.get(&removed));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // 5. Stop p3 gracefully: it releases its leases and p2 takes them at its next round.
        let l = leases(&client, &prefix).await;
        let of_p3 = owned_by(&l, "p3");
        let stopping = Instant::now();
        signal(&p3, "TERM");
        let t = until_held(&client, &prefix, &of_p3, &["p2"], Duration::from_secs(30)).await;
        eprintln!("fleet: hand-over after a graceful stop: {} sites of p3 held by p2 after {t:?}", of_p3.len());
        let status = p3.child.wait().unwrap();
        assert!(status.success(), "p3 exited with {status}");
        eprintln!("fleet: p3 stopped {:?} after SIGTERM", stopping.elapsed());
    });

    // The changed site restarted where it runs (and kept delivering: checked below).
    let restarted = [&p1.log, &p2.log, &p3.log].iter().any(|l| {
        std::fs::read_to_string(l)
            .unwrap_or_default()
            .lines()
            .any(|line| line.contains("site file changed") && line.contains("site=site-01"))
    });
    assert!(restarted, "no process noticed the change of site-01's file");

    // 6. Everything delivered exactly once.
    runtime.block_on(async { feeder.await.unwrap() });
    let expected = world.expected();
    // Generous: on an overloaded host an API answer can time out, and the engine then waits
    // out what looks like an outage with probes up to a minute apart.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stored: BTreeSet<String> = api.lock().unwrap().stored.keys().cloned().collect();
        if stored == expected {
            break;
        }
        if Instant::now() > deadline {
            // What the surviving process says about its sites.
            let status = runtime.block_on(async {
                match reqwest::get(format!("http://127.0.0.1:{}/status", p2.port)).await {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(e) => e.to_string(),
                }
            });
            eprintln!("p2 /status: {status}");
            let missing: Vec<_> = expected.difference(&stored).take(10).collect();
            let extra: Vec<_> = stored.difference(&expected).take(10).collect();
            panic!(
                "{} of {} calls accepted; missing e.g. {missing:?}; unexpected e.g. {extra:?}",
                stored.len(),
                expected.len()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    watch.stop.store(true, Ordering::Relaxed);
    runtime.block_on(async { watcher.await.unwrap() });
    let posts = api.lock().unwrap().posts;
    let duplicates: u32 = api.lock().unwrap().stored.values().sum();
    eprintln!(
        "fleet: {} calls accepted exactly once ({posts} posts, {duplicates} answered 409) in {:?}",
        expected.len(),
        started.elapsed()
    );
    let longest = watch.longest();
    let worst = watch
        .worst
        .lock()
        .unwrap()
        .iter()
        .max_by_key(|(_, d)| **d)
        .map(|(s, d)| format!("{s} ({d:?})"));
    eprintln!(
        "fleet: the longest a site went without an unexpired lease (after its owner's lease ran out or it was released): {longest:?}, {worst:?}"
    );
    assert!(
        longest <= RENEW + SLACK,
        "a site went {longest:?} without an owner after its lease expired or was released (limit: one renewal {RENEW:?} + {SLACK:?} for a round on a loaded host)"
    );
    // 7. One view: p2 holds every site; an invalid site file is reported with every problem
    // while the others run.
    std::fs::write(
        dir.join("sites").join("broken.yml"),
        "source: {kind: nope}\npolling: {interval_secs: -1}\n",
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    runtime.block_on(async {
        let base = format!("http://127.0.0.1:{}", p2.port);
        let health = reqwest::get(format!("{base}/health")).await.unwrap();
        assert_eq!(health.status(), 200);
        let status: serde_json::Value = reqwest::get(format!("{base}/status"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["owner"], "p2", "{status}");
        assert_eq!(status["held_here"], 50, "{status}");
        let sites = status["sites"].as_array().unwrap();
        let broken = sites
            .iter()
            .find(|s| s["site"] == "broken")
            .expect("broken listed");
        assert_eq!(broken["state"], "invalid");
        let problems = broken["problems"].as_array().unwrap();
        assert!(problems.len() >= 2, "{broken}");
        assert!(
            problems
                .iter()
                .any(|p| p.as_str().unwrap().starts_with("source.kind")),
            "{broken}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.as_str().unwrap().starts_with("polling.interval_secs")),
            "{broken}"
        );
        let running = sites.iter().filter(|s| s["state"] == "running").count();
        assert_eq!(running, 50, "{status}");
        let one: serde_json::Value = reqwest::get(format!("{base}/status/sites/site-01"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(one["owner"], "p2", "{one}");
        assert!(one["sideloader"]["counters"].is_object(), "{one}");
        let missing = reqwest::get(format!("{base}/status/sites/nowhere"))
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        let metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("pbx_fleet_sites_held 50"), "{metrics}");
        assert!(metrics.contains("pbx_fleet_sites_invalid 1"), "{metrics}");
        assert!(
            metrics.contains("pbx_calls_delivered_total{site=\"site-01\"}"),
            "{metrics}"
        );
        assert_eq!(
            metrics.matches("# TYPE pbx_calls_delivered_total").count(),
            1
        );
    });
    signal(&p2, "TERM");
    assert!(p2.child.wait().unwrap().success());
    let _ = p3.child.wait();
    runtime.block_on(async {
        let l = leases(&client, &prefix).await;
        assert!(l.values().all(|(o, _, _)| o.is_none()), "leases left after every process stopped: {l:?}");
        let mut drop = format!(
            "DROP TABLE {prefix}_audit, {prefix}_sites, {prefix}_processes, {prefix}_checkpoints, {prefix}_quarantine; DROP FUNCTION {prefix}_audit();"
        );
        for site in (0..=ADDED).filter(|s| !is_file_site(*s)) {
            drop.push_str(&format!("DROP SCHEMA IF EXISTS {}_s{site} CASCADE;", world.schema));
        }
        client.batch_execute(&drop).await.unwrap();
    });
    drop(guard.disarm());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Prints the processes' logs when the test fails.
struct DumpOnPanic(Option<Box<dyn Fn()>>);

impl DumpOnPanic {
    fn disarm(mut self) -> Self {
        self.0 = None;
        self
    }
}

impl Drop for DumpOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(f) = &self.0
        {
            f();
        }
    }
}
