//! Many PBXs, several hosts: a fleet of processes, each running one [`Sideloader`] per site it
//! holds a lease on, coordinated by PostgreSQL.
//!
//! A fleet process reads `fleet.yml` ([`FleetConfig`]) and its folder of site files
//! (`sites/<id>.yml`, each in the sideloader's configuration format, `defaults` merged under).
//! Every `lease.renew_secs` it
//!
//! 1. writes its heartbeat (`<prefix>_processes`, live for `lease.duration_secs`);
//! 2. renews its leases (`<prefix>_sites`: same owner, same epoch, not expired) — a lease that
//!    did not renew is lost: that site stops here;
//! 3. computes its fair share, ⌈sites ÷ live processes⌉, releases what it holds above it
//!    (gracefully: the site stops, its checkpoint is saved, then the lease is freed) and
//!    claims free or expired sites up to it with `SELECT … FOR UPDATE SKIP LOCKED` (each claim
//!    raises the site's epoch).
//!
//! A site's checkpoints (the live `cdr`, backfills, the call-group monitor's state) and its
//! quarantine live in the store, keyed by site, so a site that moves resumes where it was.
//! Every checkpoint save carries the lease's epoch and is refused once it is stale
//! ([`Error::LeaseLost`]): a process that was paused or cut off past its lease cannot move a
//! checkpoint the new owner works from; its site stops.
//!
//! The folder is read again every `scan_secs`: a site file added, changed or removed starts,
//! restarts or stops that site only; a file that does not validate is reported with every
//! problem (log, `/status`) and the others run.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pbx_sources::Error> {
//! use pbx_sources::fleet::FleetConfig;
//! use pbx_sources::fleet::Fleet;
//! let text = std::fs::read_to_string("fleet.yml").unwrap();
//! let config = FleetConfig::from_yaml(&text, &|n| std::env::var(n).ok()).unwrap();
//! let fleet = Fleet::new(config, |n| std::env::var(n).ok())?;
//! let (_stop, shutdown) = tokio::sync::watch::channel(false);
//! fleet.run(shutdown).await?;
//! # Ok(()) }
//! ```

mod config;
pub mod endpoints;
pub(crate) mod site_state;
mod store;

use crate::DeliveryError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pbx_core::config::{Config, ConfigIssue};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Error;
use crate::delivery::{FileQuarantine, ReplayReport};
use crate::runtime::{Sideloader, SideloaderHandle};

pub use config::{FleetConfig, LeaseSettings, MAX_SITE_ID_LEN, check_site_id, site_id_of_file};
pub use site_state::{SiteCheckpointStore, SiteQuarantine};
pub use store::{FleetStore, Lease, SiteLease};

/// Where a site stands in this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SiteState {
    /// Its file does not validate (see its problems); not run anywhere by this process.
    Invalid,
    /// Valid, not held here (another process holds it, or it waits for a claim).
    Elsewhere,
    /// Held here, delivering.
    Running,
    /// Held here, stopping (file changed or removed, lease lost or released, shutdown).
    Stopping,
    /// Held here, but its sideloader stopped with an error; started again after a pause.
    Failed,
}

/// One site as this process sees it (`/status`).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SiteView {
    /// The site id (its file name without `.yml`).
    pub site: String,
    /// Its state here.
    pub state: SiteState,
    /// The process holding its lease (from the last read of the store), if any.
    pub owner: Option<String>,
    /// The epoch this process holds it with, when it does.
    pub epoch: Option<i64>,
    /// Seconds from the newest delivered call's start to now, while it runs here.
    pub lag_secs: Option<f64>,
    /// The saved checkpoint, while it runs here.
    pub checkpoint: Option<String>,
    /// Calls delivered (and already delivered) since it started here.
    pub delivered: u64,
    /// Why it last stopped or failed, if it did.
    pub last_error: Option<String>,
    /// Every problem of its file, when it is invalid.
    pub problems: Vec<String>,
}

/// The fleet as this process sees it (`GET /status`).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct FleetStatus {
    /// This process's name in the store.
    pub owner: String,
    /// Processes with a live heartbeat (last read).
    pub live_processes: i64,
    /// Sites known to the store.
    pub sites_known: i64,
    /// ⌈sites ÷ live processes⌉.
    pub fair_share: usize,
    /// Sites held here.
    pub held_here: usize,
    /// Whether the last round trip to the store succeeded.
    pub store_ok: bool,
    /// The last store error, if the last round failed.
    pub store_error: Option<String>,
    /// Every site: those with a file here, and those the store knows.
    pub sites: Vec<SiteView>,
}

/// A running (or stopping) site's sideloader.
struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), Error>>,
    handle: Arc<Mutex<Option<SideloaderHandle>>>,
    /// What to do once it stopped.
    then: Option<After>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// Free the lease (fair share shrank, file invalid, shutdown).
    Release,
    /// Start again under the same lease (file changed).
    Restart,
    /// Free the lease and forget the site (file removed).
    Remove,
    /// The lease is gone already.
    Drop,
}

struct Site {
    /// The file's text, to tell a change.
    text: Option<String>,
    config: Result<Config, Vec<String>>,
    lease: Option<Lease>,
    running: Option<Running>,
    last_error: Option<String>,
    /// After a failure: not started again before this.
    retry_at: Option<Instant>,
    failures: u32,
    /// The file is gone: stop, release, forget.
    removed: bool,
    /// Earlier incarnations whose lease was lost, finishing their calls in flight (fenced:
    /// their saves are refused). The site may be claimed and started again meanwhile.
    draining: Vec<JoinHandle<Result<(), Error>>>,
}

#[derive(Default)]
struct View {
    live: i64,
    known: i64,
    share: usize,
    store_ok: bool,
    store_error: Option<String>,
    /// When the store last answered.
    store_seen: Option<Instant>,
    leases: Vec<SiteLease>,
    sites: Vec<SiteView>,
    handles: BTreeMap<String, SideloaderHandle>,
}

struct Shared {
    owner: String,
    lease: Duration,
    view: Mutex<View>,
    http_token: Option<pbx_core::config::Secret>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A cloneable handle on a running [`Fleet`]: its status, for the endpoints.
#[derive(Clone)]
pub struct FleetHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FleetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetHandle")
            .field("owner", &self.shared.owner)
            .finish_non_exhaustive()
    }
}

impl FleetHandle {
    /// The fleet now, as of the last round.
    pub fn status(&self) -> FleetStatus {
        let v = lock(&self.shared.view);
        FleetStatus {
            owner: self.shared.owner.clone(),
            live_processes: v.live,
            sites_known: v.known,
            fair_share: v.share,
            held_here: v.sites.iter().filter(|s| s.epoch.is_some()).count(),
            store_ok: v.store_ok,
            store_error: v.store_error.clone(),
            sites: v.sites.clone(),
        }
    }

    /// The sideloader of site `id`, while it runs here.
    pub fn site(&self, id: &str) -> Option<SideloaderHandle> {
        lock(&self.shared.view).handles.get(id).cloned()
    }

    /// Whether this process holds its store connection: the store answered within the lease
    /// duration (`/health`).
    pub fn healthy(&self) -> bool {
        let v = lock(&self.shared.view);
        v.store_ok
            && v.store_seen
                .is_some_and(|t| t.elapsed() < self.shared.lease)
    }
}

/// A `${VAR}` lookup for site files.
type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The fleet process: see the [module](self) documentation.
pub struct Fleet {
    config: FleetConfig,
    store: FleetStore,
    env: Env,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("owner", &self.shared.owner)
            .finish_non_exhaustive()
    }
}

/// `<hostname>-<pid>`: a process's default name in the store.
fn default_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!("{host}-{}", std::process::id())
}

impl Fleet {
    /// A fleet process for `config`; `env` looks up `${VAR}` in site files. Nothing is sent
    /// to the store yet.
    ///
    /// # Errors
    /// [`Error::ConnectionString`] or [`Error::Config`] for an unusable `store` section.
    pub fn new(
        config: FleetConfig,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Self, Error> {
        let store = FleetStore::new(config.store_url.expose(), &config.store_prefix)?;
        let owner = config.name.clone().unwrap_or_else(default_owner);
        Ok(Fleet {
            shared: Arc::new(Shared {
                owner,
                lease: config.lease.duration,
                view: Mutex::new(View::default()),
                http_token: config.http.token.clone(),
            }),
            config,
            store,
            env: Arc::new(env),
        })
    }

    /// A handle on its status (for the endpoints), usable while [`Fleet::run`] runs.
    pub fn handle(&self) -> FleetHandle {
        FleetHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The store it coordinates through.
    pub fn store(&self) -> &FleetStore {
        &self.store
    }

    /// Its name in the store.
    pub fn owner(&self) -> &str {
        &self.shared.owner
    }

    /// Runs until `shutdown` turns true: claims, renews and releases leases, runs one
    /// sideloader per site held, follows the site folder. On shutdown every site stops
    /// gracefully (calls in flight finish, checkpoints saved), then the leases are released
    /// and the heartbeat removed, so the others take the sites over at once.
    ///
    /// The leases are kept on a thread of their own (with a connection of its own): sites
    /// starting or delivering on the runtime's workers never delay a renewal past its lease.
    /// The sites run on the runtime `run` is called on (it must be multi-threaded).
    ///
    /// # Errors
    /// [`Error::Failed`] when the lease thread cannot start. Store failures are retried every
    /// round (and reported in the status); sites whose lease cannot be renewed stop once it
    /// would have expired.
    pub async fn run(&self, shutdown: watch::Receiver<bool>) -> Result<(), Error> {
        let coordinator = Coordinator {
            store: FleetStore::new(self.config.store_url.expose(), &self.config.store_prefix)?,
            site_store: self.store.clone(),
            config: self.config.clone(),
            env: Arc::clone(&self.env),
            shared: Arc::clone(&self.shared),
            sites: tokio::runtime::Handle::current(),
        };
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let failed = |e: std::io::Error| Error::Failed {
            step: "start the fleet's lease thread".into(),
            source: Box::new(e),
        };
        std::thread::Builder::new()
            .name("pbx-fleet-leases".into())
            .spawn(move || {
                let result = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(coordinator.run(shutdown)),
                    Err(e) => Err(failed(e)),
                };
                let _ = done_tx.send(result);
            })
            .map_err(failed)?;
        done_rx.await.unwrap_or(Ok(()))
    }

    /// Sends site `site`'s quarantined records again through its configuration (read from its
    /// file, `defaults` merged under) and keeps in the store only those that still fail. Safe
    /// while the fleet runs: entries quarantined meanwhile are not touched.
    ///
    /// # Errors
    /// [`Error::Config`] for a site without a valid file; the store's errors.
    pub async fn replay(&self, site: &str) -> Result<ReplayReport, Error> {
        let file = [".yml", ".yaml"]
            .iter()
            .map(|ext| Path::new(&self.config.sites_dir).join(format!("{site}{ext}")))
            .find(|p| p.exists())
            .ok_or_else(|| Error::Config {
                setting: "--site",
                value: site.to_owned(),
                reason: format!("has no site file in {}", self.config.sites_dir),
            })?;
        let text = crate::bounded::read_file_limited(&file, pbx_core::config::MAX_CONFIG_BYTES)?;
        let config = self
            .config
            .site(site, &text, &|n| (self.env)(n))
            .map_err(|source| Error::Core {
                op: format!("read site {site}"),
                source,
            })?;
        let entries = self.store.quarantined(site).await?;
        // The replay never saves a checkpoint: a lease no one holds (epoch -1) keeps it so.
        let sideloader = Sideloader::for_fleet_site(
            &config,
            SiteCheckpointStore::new(
                self.store.clone(),
                self.shared.owner.clone(),
                Lease {
                    site: site.to_owned(),
                    epoch: -1,
                },
            ),
            SiteQuarantine::new(self.store.clone(), site),
        )
        .await?;
        let scratch = std::env::temp_dir().join(format!(
            "pbx-fleet-replay-{}-{site}.jsonl",
            std::process::id()
        ));
        let io = |step: &str| {
            let step = step.to_owned();
            move |e: std::io::Error| Error::Failed {
                step: format!("{step} (replay of site {site})"),
                source: Box::new(e),
            }
        };
        {
            let mut text = String::new();
            for (_, e) in &entries {
                text.push_str(
                    &serde_json::to_string(e)
                        .map_err(|e| io("encode an entry")(std::io::Error::other(e)))?,
                );
                text.push('\n');
            }
            std::fs::write(&scratch, text).map_err(io("write a scratch file"))?;
        }
        let quarantine = FileQuarantine::new(&scratch);
        let report = sideloader.replay_file(&quarantine).await;
        let kept = quarantine.read_all();
        let _ = std::fs::remove_file(&scratch);
        let report = report.map_err(io("replay"))?;
        let kept = kept.map_err(io("read the scratch file back"))?;
        for entry in &kept {
            self.store.quarantine(site, entry).await?;
        }
        let ids: Vec<i64> = entries.iter().map(|(id, _)| *id).collect();
        self.store.unquarantine(site, &ids).await?;
        Ok(report)
    }
}

/// The lease loop, on its own thread and runtime ([`Fleet::run`]).
struct Coordinator {
    /// The leases' store (a connection of its own).
    store: FleetStore,
    /// The sites' store: their checkpoints and quarantine.
    site_store: FleetStore,
    config: FleetConfig,
    env: Env,
    shared: Arc<Shared>,
    /// Where the sites run.
    sites: tokio::runtime::Handle,
}

impl Coordinator {
    /// Runs until `shutdown` turns true: claims, renews and releases leases, runs one
    /// sideloader per site held, follows the site folder. On shutdown every site stops
    /// gracefully (calls in flight finish, checkpoints saved), then the leases are released
    /// and the heartbeat removed, so the others take the sites over at once.
    ///
    /// # Errors
    /// None so far at run time: store failures are retried every round (and reported in the
    /// status); sites whose lease cannot be renewed stop once it would have expired.
    async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), Error> {
        let mut sites: BTreeMap<String, Site> = BTreeMap::new();
        let mut last_scan: Option<Instant> = None;
        let mut rounds: u64 = 0;
        // Until when the leases are surely ours: the last successful renewal plus the lease.
        let mut held_until = Instant::now();
        tracing::info!(owner = %self.shared.owner, sites_dir = %self.config.sites_dir, "fleet process started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            if last_scan.is_none_or(|t| t.elapsed() >= self.config.scan) {
                self.scan(&mut sites);
                last_scan = Some(Instant::now());
            }
            let round = Instant::now();
            // The first round only announces this process: the others count it before it
            // claims, so processes starting together share the sites from the start.
            let result = self
                .round(&mut sites, &mut held_until, round, rounds > 0)
                .await;
            rounds += u64::from(result.is_ok());
            {
                let mut v = lock(&self.shared.view);
                match &result {
                    Ok(()) => {
                        v.store_ok = true;
                        v.store_error = None;
                        v.store_seen = Some(Instant::now());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "fleet store round failed; trying again");
                        v.store_ok = false;
                        v.store_error = Some(e.to_string());
                    }
                }
            }
            if result.is_err() && Instant::now() >= held_until {
                // The leases cannot be proven: stop every site (their saves fail anyway).
                for site in sites.values_mut() {
                    if site.lease.is_some() {
                        stop(site, After::Drop);
                    }
                }
            }
            self.publish(&sites);
            tokio::select! {
                () = tokio::time::sleep(tick(&self.config)) => {}
                _ = shutdown.changed() => {}
            }
        }
        self.shutdown(&mut sites).await;
        Ok(())
    }

    /// Reads the site folder: adds, changes, removes sites.
    fn scan(&self, sites: &mut BTreeMap<String, Site>) {
        let dir = Path::new(&self.config.sites_dir);
        let mut seen = BTreeSet::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot read the site folder; keeping the sites as they are");
                return;
            }
        };
        let mut files: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = site_id_of_file(&name)?.to_owned();
                Some((id, e.path()))
            })
            .collect();
        files.sort();
        for (id, path) in files {
            if !seen.insert(id.clone()) {
                tracing::warn!(site = %id, file = %path.display(), "two files name this site (.yml and .yaml); the first is used");
                continue;
            }
            let text = crate::bounded::read_file_limited(&path, pbx_core::config::MAX_CONFIG_BYTES)
                .map_err(|e| e.to_string());
            let text_key = text.as_ref().ok().cloned();
            let site = sites.entry(id.clone()).or_insert_with(|| Site {
                text: None,
                config: Err(Vec::new()),
                lease: None,
                running: None,
                last_error: None,
                retry_at: None,
                failures: 0,
                removed: false,
                draining: Vec::new(),
            });
            site.removed = false;
            if site.text.is_some() && site.text == text_key {
                continue;
            }
            let fresh = site.text.is_none();
            site.text = text_key;
            site.config =
                match text {
                    Err(e) => Err(vec![e]),
                    Ok(t) => self.config.site(&id, &t, &|n| (self.env)(n)).map_err(|e| {
                        match e.issues() {
                            issues if issues.is_empty() => vec![e.to_string()],
                            issues => issues.iter().map(ConfigIssue::to_string).collect(),
                        }
                    }),
                };
            site.failures = 0;
            site.retry_at = None;
            match &site.config {
                Ok(_) => {
                    site.last_error = None;
                    tracing::info!(site = %id, "{}", if fresh { "site file added" } else { "site file changed" });
                    if site.running.is_some() {
                        stop(site, After::Restart);
                    }
                }
                Err(problems) => {
                    tracing::error!(site = %id, problems = %problems.join("; "), "site file is invalid; the site does not run");
                    site.last_error = Some(format!("invalid site file: {}", problems.join("; ")));
                    if site.running.is_some() {
                        stop(site, After::Release);
                    }
                }
            }
        }
        for (id, site) in sites.iter_mut() {
            if !seen.contains(id) && !site.removed {
                tracing::info!(site = %id, "site file removed; stopping the site");
                site.removed = true;
                if site.running.is_some() {
                    stop(site, After::Remove);
                }
            }
        }
    }

    /// One round with the store.
    async fn round(
        &self,
        sites: &mut BTreeMap<String, Site>,
        held_until: &mut Instant,
        started: Instant,
        claim: bool,
    ) -> Result<(), Error> {
        let owner = self.shared.owner.as_str();
        let lease = self.config.lease.duration;
        self.reap(sites).await;
        self.store
            .heartbeat(owner, lease, &self.config.http.listen.to_string())
            .await?;
        // Renew.
        let held: Vec<Lease> = sites.values().filter_map(|s| s.lease.clone()).collect();
        let renewed: BTreeSet<Lease> = self
            .store
            .renew(owner, &held, lease)
            .await?
            .into_iter()
            .collect();
        *held_until = started + lease;
        for (id, site) in sites.iter_mut() {
            if let Some(l) = &site.lease
                && !renewed.contains(l)
            {
                tracing::warn!(site = %id, epoch = l.epoch, "lease lost (expired or taken over); stopping the site here");
                site.last_error = Some(format!("lease lost (epoch {})", l.epoch));
                site.lease = None;
                if site.running.is_some() {
                    stop(site, After::Drop);
                }
            }
        }
        // Removed sites not running any more: forget them.
        let gone: Vec<String> = sites
            .iter()
            .filter(|(_, s)| s.removed && s.running.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            if let Some(site) = sites.remove(&id) {
                if let Some(l) = &site.lease {
                    self.store.release(owner, l).await?;
                }
                self.store.remove_site(owner, &id).await?;
            }
        }
        let valid: Vec<String> = sites
            .iter()
            .filter(|(_, s)| s.config.is_ok() && !s.removed)
            .map(|(id, _)| id.clone())
            .collect();
        self.store.add_sites(&valid).await?;
        let (live, known) = self.store.census().await?;
        let share = usize::try_from(known)
            .unwrap_or(0)
            .div_ceil(usize::try_from(live.max(1)).unwrap_or(1));
        // A held site whose file turned invalid and that does not run: give it back.
        for (id, site) in sites.iter_mut() {
            if site.config.is_err()
                && site.running.is_none()
                && let Some(l) = site.lease.take()
            {
                tracing::info!(site = %id, "site file invalid; releasing the site");
                self.store.release(owner, &l).await?;
            }
        }
        // Held and not on its way out (a site stopping to be released counts as gone already,
        // so the surplus is not handed over twice).
        let holding = sites
            .values()
            .filter(|s| {
                s.lease.is_some()
                    && s.running.as_ref().is_none_or(|r| {
                        !matches!(r.then, Some(After::Release | After::Remove | After::Drop))
                    })
            })
            .count();
        if holding > share {
            // Give the surplus back, gracefully (the last claimed first).
            let mut mine: Vec<(&String, &mut Site)> = sites
                .iter_mut()
                .filter(|(_, s)| {
                    s.lease.is_some() && s.running.as_ref().is_none_or(|r| r.then.is_none())
                })
                .collect();
            mine.sort_by_key(|(_, s)| std::cmp::Reverse(s.lease.as_ref().map(|l| l.epoch)));
            for (id, site) in mine.into_iter().take(holding - share) {
                tracing::info!(site = %id, share, "above the fair share; handing the site over");
                if site.running.is_some() {
                    stop(site, After::Release);
                } else if let Some(l) = site.lease.take() {
                    self.store.release(owner, &l).await?;
                }
            }
        } else if claim && holding < share {
            let candidates: Vec<String> = sites
                .iter()
                .filter(|(_, s)| {
                    s.config.is_ok() && !s.removed && s.lease.is_none() && s.running.is_none()
                })
                .map(|(id, _)| id.clone())
                .collect();
            let won = self
                .store
                .claim(owner, &candidates, share - holding, lease)
                .await?;
            for l in won {
                if let Some(site) = sites.get_mut(&l.site) {
                    tracing::info!(site = %l.site, epoch = l.epoch, "claimed the site");
                    site.lease = Some(l);
                    site.failures = 0;
                    site.retry_at = None;
                }
            }
        }
        // Start what is held and not running.
        for (id, site) in sites.iter_mut() {
            if site.lease.is_some()
                && site.running.is_none()
                && site.retry_at.is_none_or(|t| Instant::now() >= t)
                && let Ok(config) = &site.config
            {
                site.running =
                    Some(self.start(id, config.clone(), site.lease.clone().expect("held")));
            }
        }
        let leases = self.store.sites().await?;
        let mut v = lock(&self.shared.view);
        v.live = live;
        v.known = known;
        v.share = share;
        v.leases = leases;
        Ok(())
    }

    /// Handles the sites whose sideloader stopped.
    async fn reap(&self, sites: &mut BTreeMap<String, Site>) {
        let owner = self.shared.owner.as_str();
        for (id, site) in sites.iter_mut() {
            site.draining.retain(|t| !t.is_finished());
            let Some(running) = site.running.take_if(|r| r.task.is_finished()) else {
                continue;
            };
            let result = match running.task.await {
                Ok(r) => r,
                Err(e) => Err(Error::Delivery(DeliveryError::Panicked {
                    during: "a fleet site",
                    message: e.to_string(),
                })),
            };
            let lease_lost = matches!(&result, Err(e) if is_lease_lost(e));
            match (&result, running.then) {
                (_, Some(After::Restart)) if !lease_lost => {}
                (Ok(()), None) => {}
                (Ok(()), Some(_)) => {}
                (Err(e), _) => {
                    tracing::warn!(site = %id, error = %e, "the site's delivery stopped");
                    site.last_error = Some(e.to_string());
                }
            }
            if lease_lost {
                site.lease = None;
            }
            match running.then {
                Some(After::Release | After::Remove) => {
                    if let Some(l) = site.lease.take()
                        && let Err(e) = self.store.release(owner, &l).await
                    {
                        tracing::warn!(site = %id, error = %e, "cannot release the lease; it expires on its own");
                    }
                }
                Some(After::Drop) => site.lease = None,
                Some(After::Restart) => {}
                None => {
                    if result.is_err() && !lease_lost {
                        site.failures += 1;
                        // 2 s, 4 s, … up to a minute between starts of a failing site.
                        let pause = Duration::from_secs(1)
                            .saturating_mul(1 << site.failures.min(6))
                            .min(Duration::from_secs(60));
                        tracing::warn!(site = %id, failures = site.failures, pause_secs = pause.as_secs(), "the site starts again after a pause");
                        site.retry_at = Some(Instant::now() + pause);
                    }
                }
            }
        }
    }

    fn start(&self, id: &str, config: Config, lease: Lease) -> Running {
        let (stop_tx, stop_rx) = watch::channel(false);
        let handle: Arc<Mutex<Option<SideloaderHandle>>> = Arc::default();
        let slot = Arc::clone(&handle);
        let store =
            SiteCheckpointStore::new(self.site_store.clone(), self.shared.owner.clone(), lease);
        let quarantine = SiteQuarantine::new(self.site_store.clone(), id);
        let site = id.to_owned();
        let task = self.sites.spawn(async move {
            let mut sideloader = Sideloader::for_fleet_site(&config, store, quarantine).await?;
            *lock(&slot) = Some(sideloader.handle());
            tracing::info!(site = %site, "site delivering");
            sideloader.run(stop_rx).await
        });
        Running {
            stop: stop_tx,
            task,
            handle,
            then: None,
        }
    }

    /// Publishes the status view.
    fn publish(&self, sites: &BTreeMap<String, Site>) {
        let mut v = lock(&self.shared.view);
        let owners: BTreeMap<String, (Option<String>, i64)> = v
            .leases
            .iter()
            .map(|l| {
                let live = l.expires_in_secs.is_some_and(|s| s > 0.0);
                (l.site.clone(), (l.owner.clone().filter(|_| live), l.epoch))
            })
            .collect();
        let mut handles = BTreeMap::new();
        let mut views = Vec::new();
        let now = chrono::Utc::now();
        for (id, site) in sites {
            let handle = site.running.as_ref().and_then(|r| lock(&r.handle).clone());
            let status = handle.as_ref().map(SideloaderHandle::status);
            let state = match (&site.config, &site.running, &site.lease) {
                (Err(_), None, _) => SiteState::Invalid,
                (_, Some(r), _) if r.then.is_some() => SiteState::Stopping,
                (_, Some(_), _) => SiteState::Running,
                (_, None, Some(_)) if site.retry_at.is_some() => SiteState::Failed,
                (_, None, _) => SiteState::Elsewhere,
            };
            let engine = status.as_ref().map(|s| &s.engine);
            views.push(SiteView {
                site: id.clone(),
                state,
                owner: owners.get(id).and_then(|(o, _)| o.clone()),
                epoch: site.lease.as_ref().map(|l| l.epoch),
                lag_secs: engine
                    .and_then(|e| e.counters.newest_call_start.as_deref())
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| {
                        (now - t.with_timezone(&chrono::Utc)).num_milliseconds() as f64 / 1000.0
                    }),
                checkpoint: engine.and_then(|e| e.checkpoint.clone()),
                delivered: engine.map_or(0, |e| e.counters.delivered + e.counters.duplicates),
                last_error: engine
                    .and_then(|e| e.last_error.clone().or_else(|| e.stopped.clone()))
                    .or_else(|| site.last_error.clone()),
                problems: site.config.as_ref().err().cloned().unwrap_or_default(),
            });
            if let Some(h) = handle {
                handles.insert(id.clone(), h);
            }
        }
        // Sites the store knows and this process has no file for.
        for (id, (owner, _)) in &owners {
            if !sites.contains_key(id) {
                views.push(SiteView {
                    site: id.clone(),
                    state: SiteState::Elsewhere,
                    owner: owner.clone(),
                    epoch: None,
                    lag_secs: None,
                    checkpoint: None,
                    delivered: 0,
                    last_error: None,
                    problems: Vec::new(),
                });
            }
        }
        views.sort_by(|a, b| a.site.cmp(&b.site));
        v.sites = views;
        v.handles = handles;
    }

    /// Stops every site, releases the leases, removes the heartbeat. The leases of the sites
    /// still finishing their calls are renewed meanwhile, so their last saves are valid; a
    /// site that takes longer than 20 s is left to its lease's expiry.
    async fn shutdown(&self, sites: &mut BTreeMap<String, Site>) {
        tracing::info!("fleet stopping: finishing every site's calls in flight");
        let owner = self.shared.owner.as_str();
        // Leave first: the others count one process less at once, so each site released
        // below is claimed at their next round instead of after the slowest site stopped.
        if let Err(e) = self.store.leave(owner).await {
            tracing::warn!(error = %e, "cannot remove the heartbeat; it expires on its own");
        }
        for site in sites.values_mut() {
            if site.running.is_some() {
                stop(site, After::Release);
            }
        }
        let lease = self.config.lease.duration;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.reap(sites).await;
            let stopping: Vec<Lease> = sites
                .values()
                .filter(|s| s.running.is_some())
                .filter_map(|s| s.lease.clone())
                .collect();
            if sites
                .values()
                .all(|s| s.running.is_none() && s.draining.is_empty())
            {
                break;
            }
            if Instant::now() >= deadline {
                for (id, site) in sites.iter_mut() {
                    for t in site.draining.drain(..) {
                        t.abort();
                    }
                    if let Some(r) = site.running.take() {
                        tracing::warn!(site = %id, "the site did not stop within 20 s; its lease expires on its own");
                        r.task.abort();
                        site.lease = None;
                    }
                }
                break;
            }
            if let Err(e) = self.store.renew(owner, &stopping, lease).await {
                tracing::warn!(error = %e, "cannot renew the leases of the sites stopping");
            }
            tokio::time::sleep(Duration::from_millis(100).min(self.config.lease.renew)).await;
        }
        for (id, site) in sites.iter_mut() {
            if let Some(l) = site.lease.take()
                && let Err(e) = self.store.release(owner, &l).await
            {
                tracing::warn!(site = %id, error = %e, "cannot release the lease; it expires on its own");
            }
        }
        self.publish(sites);
        tracing::info!("fleet stopped; leases released");
    }
}

/// The lease loop's period: the renewal period, or the scan period when shorter.
fn tick(config: &FleetConfig) -> Duration {
    config.lease.renew.min(config.scan)
}

/// Signals a site's sideloader to stop; `then` says what follows once it stopped.
fn stop(site: &mut Site, then: After) {
    if then == After::Drop {
        // The lease is gone: the old incarnation drains on its own (fenced), and the site
        // can be claimed and started again at once.
        site.lease = None;
        if let Some(r) = site.running.take() {
            let _ = r.stop.send(true);
            site.draining.push(r.task);
        }
        return;
    }
    if let Some(r) = &mut site.running {
        // A stronger follow-up wins (remove > release > drop > restart).
        let rank = |a: Option<After>| match a {
            None => 0,
            Some(After::Restart) => 1,
            Some(After::Drop) => 2,
            Some(After::Release) => 3,
            Some(After::Remove) => 4,
        };
        if rank(Some(then)) > rank(r.then) {
            r.then = Some(then);
        }
        let _ = r.stop.send(true);
    }
}

/// Whether `e` is (or wraps) a refused save under a stale lease.
fn is_lease_lost(e: &Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if matches!(err.downcast_ref::<Error>(), Some(Error::LeaseLost { .. })) {
            return true;
        }
        cur = err.source();
    }
    false
}
