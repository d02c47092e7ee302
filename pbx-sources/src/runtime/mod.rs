//! The sideloader as a library: a [`Config`] in, a running sideloader out — the same
//! runtime `pbx-sideloader`, the Node and Python bindings and any Rust service embed.
//!
//! [`Sideloader::from_config`] builds what the configuration names: the CDR source (every
//! `source.kind`; `mssql_table` with the `mssql` feature), the sink (`http(s)://` the
//! call-logger API, `file:PATH` JSON lines), the checkpoint store (file or PostgreSQL), the
//! quarantine, the XAPI users refresh, and — when the service runs — the call-group monitor
//! loop and HA leadership. Then:
//!
//! - [`Sideloader::run`] is the service: delivers until `shutdown`, groups monitored, HA
//!   leadership held;
//! - [`Sideloader::once`] drains the source once and returns a [`Summary`];
//! - [`Sideloader::backfill`] delivers the calls of a time range (its own checkpoint);
//! - [`Sideloader::replay`] sends the quarantined records again;
//! - [`Sideloader::status`] and a cloneable [`SideloaderHandle`] (status, triggers) for hosts
//!   and for [`endpoints::router`], the `/health`, `/status`, `/metrics` and `/trigger/*`
//!   routes a host may mount or not.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pbx_sources::Error> {
//! use pbx_core::config::Config;
//! use pbx_sources::runtime::Sideloader;
//! let text = std::fs::read_to_string("sideloader.yml").unwrap();
//! let config = Config::from_yaml(&text, &|name| std::env::var(name).ok()).unwrap();
//! let mut sideloader = Sideloader::from_config(&config).await?;
//! let summary = sideloader.once().await?;
//! println!("{summary}"); // 47 delivered, 0 already delivered, 18 skipped (…), 0 quarantined; …
//! # Ok(()) }
//! ```

mod adapters;
pub mod endpoints;
mod explain;
mod leadership;
mod report;
mod service;
mod service_config;

use crate::DeliveryError;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use pbx_core::ExtensionDirectory;
use pbx_core::config::{CheckpointConfig, Config, SinkConfig};
use pbx_core::delivery::{Pipeline, TimeRange};
use pbx_core::groups::GroupMonitor;
use pbx_core::hours::BusinessHours;
use serde::Serialize;
use tokio::sync::{Notify, watch};

use crate::Error;
use crate::call_logger::{CallLoggerClient, CallLoggerConfig};
use crate::delivery::{Engine, EngineOptions, FileQuarantine, Quarantine, Status};
use crate::file_lock::{FileLock, lock_exclusive};
use crate::group_monitor::{GroupHealth, GroupLoop, Schedule, ScheduleSource};
use crate::postgres::Connection;
use crate::xapi::{XapiClient, XapiConfig, XapiExtensionDirectory, XapiGroupDirectory};
pub use adapters::source_progress;
use adapters::{Sink, Source, Store, build_sink, build_source, build_store};
pub use explain::{CallExplanation, DeliveryPosition, DeliveryState};
use leadership::lead;
pub use pbx_core::explain::CallQuery;
pub use report::{BackfillReport, HoursNow, ReplayReport, Replayed, Summary, progress_message};
pub use service::{BackfillView, Service, StatusView, SummaryView};
pub use service_config::{
    HaConfig, HttpConfig, LogFormat, LoggingConfig, ServiceConfig, load_config, load_config_with,
};

type SideloaderEngine = Engine<Source, Sink, Arc<Store>>;
type SideloaderGroups = GroupLoop<XapiGroupDirectory, CallLoggerClient, Arc<Store>>;

/// A snapshot of a sideloader: what `GET /status` shows.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SideloaderStatus {
    /// The engine's counters, checkpoint, last error, and why it stopped (if it did).
    pub engine: Status,
    /// Since the sideloader was built.
    pub uptime: Duration,
    /// The call-group monitor's health (last check, last success, last failure and why,
    /// failures by reason, open alerts, each group's state), while it runs
    /// (`groups.enabled`).
    pub groups: Option<GroupHealth>,
    /// The business hours in use and whether the office is open now: the configuration's,
    /// or — with `business_hours.from_xapi` — the office hours the group monitor read from
    /// XAPI (`None` until it ran).
    pub business_hours: Option<HoursNow>,
    /// With `ha`: whether this instance holds the leadership lock.
    pub leader: Option<bool>,
}

/// The group loop's handles, once it runs.
#[derive(Clone)]
struct Alerts {
    trigger: Arc<Notify>,
    health: Arc<Mutex<GroupHealth>>,
    schedule: Arc<Mutex<Schedule>>,
}

struct Shared {
    /// The status of the engine in use (replaced when a backfill builds its own engine).
    status: Mutex<Arc<Mutex<Status>>>,
    trigger: Arc<Notify>,
    alerts: Mutex<Option<Alerts>>,
    started: Instant,
    /// The configuration's schedule (the group monitor's, once it runs, wins).
    hours: Option<BusinessHours>,
    /// The XAPI client, for `/metrics` (requests by outcome).
    xapi: Option<Arc<XapiClient>>,
    leader: Option<Arc<AtomicBool>>,
    /// Stops a drain or backfill in progress ([`SideloaderHandle::stop`]).
    stop: watch::Sender<bool>,
    /// `http.token`: guards the endpoints' `/trigger/*` and `/explain/*`.
    http_token: Option<pbx_core::config::Secret>,
    /// What `explain` reads: the source, the pipeline, the checkpoint store, the quarantine.
    explainer: Arc<explain::Explainer>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A cloneable handle on a [`Sideloader`]: its status and triggers, usable while
/// [`Sideloader::run`] holds the sideloader (by the HTTP endpoints, say).
#[derive(Clone)]
pub struct SideloaderHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for SideloaderHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SideloaderHandle").finish_non_exhaustive()
    }
}

impl SideloaderHandle {
    /// The status now.
    pub fn status(&self) -> SideloaderStatus {
        let s = &self.shared;
        let engine = lock(&lock(&s.status)).clone();
        let now = Utc::now();
        let alerts = lock(&s.alerts).clone();
        let business_hours = match &alerts {
            Some(a) => Some(HoursNow::of(&lock(&a.schedule), now)),
            None => s.hours.as_ref().map(|h| {
                HoursNow::of(
                    &Schedule {
                        hours: h.clone(),
                        source: ScheduleSource::Config,
                        read_at: None,
                        last_error: None,
                    },
                    now,
                )
            }),
        };
        SideloaderStatus {
            engine,
            uptime: s.started.elapsed(),
            groups: alerts.as_ref().map(|a| lock(&a.health).clone()),
            business_hours,
            leader: s.leader.as_ref().map(|l| l.load(Ordering::Relaxed)),
        }
    }

    /// Explains one call ([`Sideloader::explain`]); usable while the service runs (the
    /// `GET /explain/<id>` endpoint).
    ///
    /// # Errors
    /// As [`Sideloader::explain`].
    pub async fn explain(&self, query: &CallQuery) -> Result<Option<CallExplanation>, Error> {
        self.shared.explainer.explain(query).await
    }

    /// Stops a drain ([`Sideloader::once`]) or backfill in progress: no new call starts, the
    /// calls in flight finish, the checkpoint is saved at the last acknowledged call, and it
    /// returns [`DeliveryError::Interrupted`]. (The service stops on its own `shutdown`.)
    pub fn stop(&self) {
        self.shared.stop.send_replace(true);
    }

    /// A receiver for the next drain: not stopped yet.
    fn stop_receiver(&self) -> watch::Receiver<bool> {
        self.shared.stop.send_replace(false);
        self.shared.stop.subscribe()
    }

    /// Wakes the engine for a round now (`POST /trigger/poll`).
    pub fn trigger_poll(&self) {
        self.shared.trigger.notify_one();
    }

    /// Runs a call-group check now (`POST /trigger/alerts`); `false` when the group monitor
    /// does not run (`groups.enabled` off, or not serving).
    pub fn trigger_alerts(&self) -> bool {
        match lock(&self.shared.alerts).as_ref() {
            Some(a) => {
                a.trigger.notify_one();
                true
            }
            None => false,
        }
    }
}

/// The sideloader: see the [module](self) documentation.
pub struct Sideloader {
    config: Config,
    /// Its service settings (`http`, `logging`, `ha`, `quarantine`).
    service: ServiceConfig,
    /// The source, until an engine takes it.
    source: Option<Source>,
    /// The live engine (checkpoint key `cdr`), built by the first `once` or `run`.
    engine: Option<SideloaderEngine>,
    sink: Arc<Sink>,
    store: Arc<Store>,
    xapi: Option<Arc<XapiClient>>,
    directory: Option<Arc<XapiExtensionDirectory>>,
    pipeline: Pipeline,
    quarantine: Arc<FileQuarantine>,
    /// A fleet site's quarantine (in the fleet store), used instead of the file.
    fleet_quarantine: Option<Arc<dyn Quarantine>>,
    handle: SideloaderHandle,
    /// The task that passes the source's wake-ups to the engine's trigger, while serving.
    forwarder: Option<tokio::task::AbortHandle>,
}

impl Drop for Sideloader {
    fn drop(&mut self) {
        // The task holds the source's wake handle: ended, the file watcher forgets the path.
        if let Some(f) = self.forwarder.take() {
            f.abort();
        }
    }
}

impl fmt::Debug for Sideloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sideloader")
            .field("sink", &self.sink_name())
            .finish_non_exhaustive()
    }
}

impl Sideloader {
    /// Builds the sideloader `config` describes. A socket source starts listening (or
    /// connecting) here; with `extensions_from_xapi`, the users are read from XAPI now.
    ///
    /// # Errors
    /// [`Error::Setup`] (or [`Error::Config`]) when a part does not build (source, sink,
    /// checkpoint store, XAPI client); [`Error::Failed`] when XAPI's users cannot be read or
    /// the call file cannot be opened.
    pub async fn from_config(config: &Config) -> Result<Sideloader, Error> {
        let source = build_source(&config.source, None).await?;
        Self::with_source(config, source, None).await
    }

    /// A fleet site's sideloader: `config` without its `checkpoint` and `quarantine`
    /// sections — the site's checkpoints and quarantine live in the fleet store, the
    /// checkpoints fenced by the site's lease.
    pub(crate) async fn for_fleet_site(
        config: &Config,
        store: crate::fleet::site_state::SiteCheckpointStore,
        quarantine: crate::fleet::site_state::SiteQuarantine,
    ) -> Result<Sideloader, Error> {
        let source = build_source(&config.source, None).await?;
        Self::with_source(
            config,
            source,
            Some((Store::Fleet(Box::new(store)), Arc::new(quarantine))),
        )
        .await
    }

    async fn with_source(
        config: &Config,
        source: Source,
        fleet: Option<(Store, Arc<dyn Quarantine>)>,
    ) -> Result<Sideloader, Error> {
        let refuse = |part: &'static str| {
            move |e: Error| Error::Setup {
                part,
                source: Box::new(e),
            }
        };
        let service = ServiceConfig::from_config(config).map_err(|source| Error::Setup {
            part: "service",
            source: Box::new(Error::Core {
                op: "the http, logging, ha and quarantine sections".into(),
                source,
            }),
        })?;
        if fleet.is_none() {
            distinct_files(config, &service)?;
        }
        let sink = build_sink(&config.call_api)?;
        let (store, state) = match fleet {
            Some((store, quarantine)) => (Arc::new(store), Some(quarantine)),
            None => (Arc::new(build_store(&config.checkpoint)?), None),
        };
        let quarantine = Arc::new(FileQuarantine::new(&service.quarantine_path));
        let xapi = match &config.xapi {
            None => None,
            Some(x) => Some(Arc::new(
                XapiClient::new(XapiConfig::from(x)).map_err(refuse("XAPI client"))?,
            )),
        };
        let mut pipeline = Pipeline {
            parser: config.cdr_parser(),
            mapper: config.call_mapper(),
        };
        let mut directory = None;
        if config.extensions_from_xapi
            && let (Some(client), Some(x)) = (&xapi, &config.xapi)
        {
            // Users from 3CX, with the config's own map winning for the extensions it lists;
            // read now (a failure stops the start), then again every `xapi.refresh_secs`.
            let d = Arc::new(XapiExtensionDirectory::new(Arc::clone(client), x.refresh));
            let from_pbx = d.extensions().await.map_err(|e| Error::Failed {
                step: "cannot read users from XAPI".into(),
                source: e.into(),
            })?;
            pipeline
                .mapper
                .set_extensions(from_pbx.merged_with(&config.extensions));
            directory = Some(d);
        }
        if pipeline.mapper.missed_calls().needs_hours()
            && matches!(
                config.business_hours,
                Some(pbx_core::config::HoursConfig::FromXapi)
            )
            && let Some(client) = &xapi
        {
            // Missed calls are routed in business hours only: 3CX's office hours, read once
            // at start (a restart reads them again).
            let office = client.business_hours().await.map_err(|e| Error::Failed {
                step: "cannot read office hours from XAPI (missed_calls routes in business hours)"
                    .into(),
                source: e.into(),
            })?;
            pipeline.mapper.missed_calls_mut().hours = Some(office);
        }
        let hours = config.business_hours_schedule().cloned();
        let handle = SideloaderHandle {
            shared: Arc::new(Shared {
                status: Mutex::new(Arc::default()),
                trigger: Arc::new(Notify::new()),
                alerts: Mutex::new(None),
                started: Instant::now(),
                hours,
                xapi: xapi.clone(),
                leader: service
                    .ha
                    .as_ref()
                    .map(|_| Arc::new(AtomicBool::new(false))),
                stop: watch::Sender::new(false),
                http_token: service.http.token.clone(),
                explainer: Arc::new(explain::Explainer {
                    source: config.source.clone(),
                    pipeline: pipeline.clone(),
                    store: Arc::clone(&store),
                    quarantine: Arc::clone(&quarantine),
                }),
            }),
        };
        Ok(Sideloader {
            config: config.clone(),
            service,
            source: Some(source),
            engine: None,
            sink: Arc::new(sink),
            store,
            xapi,
            directory,
            pipeline,
            quarantine,
            fleet_quarantine: state,
            handle,
            forwarder: None,
        })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Its service settings (`http`, `logging`, `ha`, `quarantine`), read from
    /// [`Sideloader::config`].
    pub fn service_config(&self) -> &ServiceConfig {
        &self.service
    }

    /// Where calls go: the API's base URL, or the JSON-lines file's path.
    pub fn sink_name(&self) -> &str {
        self.config.call_api.sink().name()
    }

    /// Takes the exclusive locks on the checkpoint file (with `checkpoint.kind: file`) and the
    /// quarantine for the time of a run ([`crate::file_lock`]): a second process — or a second
    /// `Sideloader` in this one — working on the same files meanwhile is refused with
    /// [`FileError::InUse`](crate::FileError::InUse) instead of overwriting this one's checkpoints.
    /// An idle sideloader holds no lock.
    fn hold_files(&self) -> Result<Vec<FileLock>, Error> {
        if self.fleet_quarantine.is_some() {
            // A fleet site keeps no state in files: its lease guards it.
            return Ok(Vec::new());
        }
        // Not beside a device or a FIFO (`/dev/zero`): no lock file in `/dev`; reading
        // such a path is refused anyway.
        let lockable = |path: &Path| std::fs::metadata(path).map_or(true, |m| m.is_file());
        let mut files: Vec<(&Path, &'static str)> = Vec::new();
        if let CheckpointConfig::File { path } = &self.config.checkpoint {
            files.push((Path::new(path), "checkpoint file"));
        }
        files.push((Path::new(&self.service.quarantine_path), "quarantine file"));
        files
            .into_iter()
            .filter(|(path, _)| lockable(path))
            .map(|(path, what)| lock_exclusive(path, what))
            .collect()
    }

    /// A cloneable handle: status and triggers while [`run`](Self::run) holds `self`.
    pub fn handle(&self) -> SideloaderHandle {
        self.handle.clone()
    }

    /// The status now (the same as `self.handle().status()`).
    pub fn status(&self) -> SideloaderStatus {
        self.handle.status()
    }

    /// For a progress bar: how far the source has been read, out of how much (bytes of a
    /// CDR file), at `checkpoint`; `None` when the source cannot tell.
    pub fn source_progress(&self, checkpoint: Option<&str>) -> Option<(u64, u64)> {
        source_progress(&self.config.source, checkpoint)
    }

    fn options(&self, range: Option<TimeRange>) -> EngineOptions {
        // A backfill keeps its own checkpoint: it resumes after an interruption and never
        // moves the live one.
        let key = match &range {
            Some(r) => format!("backfill:{}/{}", r.from().to_rfc3339(), r.to().to_rfc3339()),
            None => "cdr".into(),
        };
        EngineOptions {
            range,
            ..EngineOptions::from_config(&self.config, key)
        }
    }

    fn engine(&self, source: Source, range: Option<TimeRange>) -> SideloaderEngine {
        self.engine_with(source, self.options(range))
    }

    fn engine_with(&self, source: Source, options: EngineOptions) -> SideloaderEngine {
        let mut engine = Engine::new(
            source,
            Arc::clone(&self.sink),
            Arc::clone(&self.store),
            self.pipeline.clone(),
            match &self.fleet_quarantine {
                Some(q) => Arc::clone(q),
                None => Arc::clone(&self.quarantine) as _,
            },
            options,
        )
        .with_trigger(Arc::clone(&self.handle.shared.trigger));
        if let Some(d) = &self.directory {
            engine = engine.with_extension_directory(Arc::clone(d), self.config.extensions.clone());
        }
        *lock(&self.handle.shared.status) = engine.status();
        engine
    }

    /// The live engine, built on first use. `wake`: a CDR text source wakes the engine as
    /// soon as it has something (the socket's journal after each fsync; files and
    /// directories checked every [`WATCH_EVERY`]) — for the service, not for a drain. A
    /// watched CDR file is then read on its watcher's word, and on the poll interval only as
    /// a safety net ([`SAFETY_POLL`] at least): an append always changes its length, a
    /// rotation its inode. A directory keeps its poll interval: a file that grows inside it
    /// does not change the directory's own metadata.
    async fn live(&mut self, wake: bool) -> Result<&mut SideloaderEngine, Error> {
        if self.engine.is_none() {
            let source = match self.source.take() {
                Some(s) => s,
                None => build_source(&self.config.source, None).await?,
            };
            let mut options = self.options(None);
            if wake && let Source::Text(text) = &source {
                self.forwarder = Some(forward(
                    text.wake_handle(WATCH_EVERY),
                    Arc::clone(&self.handle.shared.trigger),
                ));
                if matches!(**text, crate::cdr_text::CdrTextSource::File(_)) {
                    options.poll_interval = options.poll_interval.max(SAFETY_POLL);
                }
            }
            let engine = self.engine_with(source, options);
            self.engine = Some(engine);
        }
        let engine = self.engine.as_mut().expect("built above");
        *lock(&self.handle.shared.status) = engine.status();
        Ok(engine)
    }

    /// Explains one call (`pbx-sideloader explain ID`): reads the call `query` names from the
    /// configured source (a lookup in checkpoint order: a scan of a file or directory, the
    /// database source's queries), explains it with the same pipeline the delivery runs
    /// ([`pbx_core::explain`]) and adds the delivery state known locally: before or after
    /// the stored checkpoint, in the quarantine with its reason. `Ok(None)` when the source
    /// has no such call. Read-only: nothing is sent, no checkpoint moves.
    ///
    /// ```no_run
    /// # async fn demo(s: &pbx_sources::runtime::Sideloader) -> Result<(), pbx_sources::Error> {
    /// use pbx_sources::runtime::CallQuery;
    /// if let Some(e) = s.explain(&CallQuery::parse("3cx-40001-000001A19D361A38_5204")).await? {
    ///     println!("{e}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for `CallQuery::Line` on a database source; the source's, the
    /// checkpoint store's errors; [`Error::Failed`] when the quarantine cannot be read.
    pub async fn explain(&self, query: &CallQuery) -> Result<Option<CallExplanation>, Error> {
        self.handle.explain(query).await
    }

    /// Reads the source until it is drained, once (`pbx-sideloader --once`), with the
    /// engine's drain ([`Engine::drain`]): calls in flight complete in any order, each retried
    /// on its own timer, poison calls quarantined, an outage waited out until the oldest call
    /// has used `call_api.max_attempts` tries.
    ///
    /// # Errors
    /// the engine's errors ([`DeliveryError::Unavailable`], [`DeliveryError::Checkpoint`], …) when
    /// delivery stopped — the call API or file sink stayed unavailable (`kind() == "unavailable"`;
    /// calls are left for the next run), credentials refused, checkpoint store or quarantine failed
    /// — [`FileError::InUse`](crate::FileError::InUse) when another process works on the same
    /// checkpoint file or quarantine, and [`DeliveryError::Interrupted`] after
    /// [`SideloaderHandle::stop`]: never a summary with calls left behind.
    pub async fn once(&mut self) -> Result<Summary, Error> {
        let _held = self.hold_files()?;
        let stop = self.handle.stop_receiver();
        let engine = self.live(false).await?;
        let before = status_of(engine).counters;
        drain(engine, stop, |_| {}).await?;
        let after = status_of(engine);
        Ok(Summary {
            counters: after.counters.since(&before),
            checkpoint: after.checkpoint,
            sink: self.sink_name().to_owned(),
        })
    }

    /// Delivers the calls that started in `range`, with its own checkpoint
    /// (`backfill:<from>/<to>`: an interrupted backfill resumes, the live checkpoint never
    /// moves). `progress` is told the engine's status as the checkpoint moves.
    /// [`SideloaderHandle::stop`] ends it early (the report's `error` is then
    /// [`DeliveryError::Interrupted`]).
    ///
    /// The report is returned in every case; its `error` says why it stopped early.
    pub async fn backfill(
        &mut self,
        range: TimeRange,
        mut progress: impl FnMut(&Status) + Send,
    ) -> BackfillReport {
        let started = Instant::now();
        tracing::info!(
            from = %range.from().to_rfc3339(),
            to = %range.to().to_rfc3339(),
            "backfill started"
        );
        // The files stay locked until the report is made (`held` lives to the end).
        let (_held, source) = match self.hold_files() {
            Err(e) => (None, Err(e)),
            Ok(held) => (Some(held), {
                let parser = self.config.cdr_parser();
                match self.source.take() {
                    Some(s) => Ok(s.with_range(range, &parser)),
                    None => build_source(&self.config.source, Some((&range, &parser))).await,
                }
            }),
        };
        let (summary, error) = match source {
            Err(e) => (Summary::default(), Some(e)),
            Ok(source) => {
                let stop = self.handle.stop_receiver();
                let mut engine = self.engine(source, Some(range));
                let result = drain(&mut engine, stop, |s| progress(s)).await;
                let s = status_of(&engine);
                (
                    Summary {
                        counters: s.counters,
                        checkpoint: s.checkpoint,
                        sink: self.sink_name().to_owned(),
                    },
                    result.err(),
                )
            }
        };
        BackfillReport {
            range,
            summary,
            elapsed: started.elapsed(),
            error,
        }
    }

    /// Sends the quarantined CDR lines again (after their cause was fixed) and keeps in the
    /// quarantine only those that still fail. Run it while the service is stopped.
    ///
    /// # Errors
    /// [`Error::Failed`] when the quarantine cannot be read or rewritten.
    pub async fn replay(&self) -> Result<Replayed, Error> {
        let _held = self.hold_files()?;
        crate::delivery::replay(&self.quarantine, &self.pipeline, &*self.sink, Utc::now())
            .await
            .map(|report| Replayed {
                report,
                quarantine: self.service.quarantine_path.clone(),
            })
            .map_err(|e| Error::Failed {
                step: format!("cannot replay {}", self.service.quarantine_path),
                source: e.into(),
            })
    }

    /// Sends the quarantined entries in the file `quarantine` again through this
    /// sideloader's pipeline and sink, rewriting the file with those that still fail (a fleet
    /// site's replay: its entries are copied from the store to a scratch file and back).
    pub(crate) async fn replay_file(
        &self,
        quarantine: &FileQuarantine,
    ) -> std::io::Result<ReplayReport> {
        crate::delivery::replay(quarantine, &self.pipeline, &*self.sink, Utc::now()).await
    }

    /// The service: rounds until `shutdown` turns true (woken early by the source, the
    /// poll trigger and `shutdown`), the call-group monitor beside it when
    /// `groups.enabled`, and with `ha` only while this instance holds the leadership lock.
    /// A round in progress finishes (its checkpoint saved) before it returns `Ok`.
    ///
    /// # Errors
    /// A configuration error ([`Error::is_config`]: groups without `xapi`, an unusable `ha`
    /// connection), [`Error::Failed`] (office hours unreadable), and why delivery stopped:
    /// the engine's errors ([`DeliveryError::AuthFailed`], [`DeliveryError::Checkpoint`], …) or
    /// [`Error::LostLeadership`].
    pub async fn run(&mut self, shutdown: watch::Receiver<bool>) -> Result<(), Error> {
        let _held = self.hold_files()?;
        let ha = match (&self.service.ha, &self.config.checkpoint) {
            (Some(ha), CheckpointConfig::Postgres { url, .. }) => Some((
                ha.clone(),
                Connection::new(url.expose()).map_err(|e| Error::Setup {
                    part: "ha",
                    source: Box::new(e),
                })?,
            )),
            _ => None,
        };
        let groups = if self.config.groups.enabled {
            self.group_loop().await?
        } else {
            None
        };
        let groups_task = groups.map(|mut g| {
            *lock(&self.handle.shared.alerts) = Some(Alerts {
                trigger: g.trigger(),
                health: g.health(),
                schedule: g.schedule(),
            });
            let rx = shutdown.clone();
            let interval = self.config.groups.interval;
            tokio::spawn(async move { g.run(interval, rx, Utc::now).await })
        });
        let leader = self.handle.shared.leader.clone();
        let engine = self.live(true).await?;
        let result = match (ha, leader) {
            (Some((ha, conn)), Some(flag)) => lead(engine, &ha, conn, shutdown, &flag).await,
            _ => engine.run(shutdown, Utc::now).await,
        };
        if let Some(task) = groups_task {
            if result.is_err() {
                task.abort();
            }
            let _ = task.await;
            *lock(&self.handle.shared.alerts) = None;
        }
        result
    }

    /// The call-group monitor, when `groups.enabled`: groups from XAPI, alerts to the call
    /// API, its state beside the checkpoint.
    async fn group_loop(&self) -> Result<Option<SideloaderGroups>, Error> {
        let config = &self.config;
        let Some(client) = self.xapi.clone() else {
            return Err(Error::Config {
                setting: "groups.enabled",
                value: "true".into(),
                reason: "needs the xapi section".into(),
            });
        };
        if let SinkConfig::File { .. } = config.call_api.sink() {
            tracing::warn!(
                "call-group alerts need the call API; call_api.base_url is a file, so groups are not monitored"
            );
            return Ok(None);
        }
        // From XAPI: read now (a failure stops the start), then again every
        // `xapi.refresh_secs` by the loop (a failed read keeps the hours in use).
        let (hours, from_xapi) = match config.business_hours_schedule() {
            Some(h) => (h.clone(), false),
            None => (
                client.business_hours().await.map_err(|e| Error::Failed {
                    step: "cannot read office hours from XAPI".into(),
                    source: e.into(),
                })?,
                true,
            ),
        };
        let alerts =
            CallLoggerClient::new(CallLoggerConfig::from(&config.call_api)).map_err(|e| {
                Error::Setup {
                    part: "call API client",
                    source: Box::new(e),
                }
            })?;
        let monitor =
            GroupMonitor::from_config(config, Some(hours)).map_err(|source| Error::Setting {
                setting: "groups",
                source,
            })?;
        let mut group_loop = GroupLoop::new(
            XapiGroupDirectory::new(Arc::clone(&client)),
            alerts,
            Arc::clone(&self.store),
            monitor,
        );
        if from_xapi {
            let every = config
                .xapi
                .as_ref()
                .map_or(Duration::from_secs(300), |x| x.refresh);
            group_loop = group_loop.with_hours_source(client, every, Some(Utc::now()));
        }
        Ok(Some(group_loop))
    }
}

/// Refuses a configuration whose call file (`call_api.base_url: file:…`), checkpoint file
/// (`checkpoint.path`) and quarantine (`quarantine.path`) are not three different files:
/// each would overwrite or misread the others (the sink would take the checkpoint for a
/// call file, a replay would rewrite the call file).
fn distinct_files(config: &Config, service: &ServiceConfig) -> Result<(), Error> {
    let mut files: Vec<(&'static str, &str)> = Vec::new();
    if let SinkConfig::File { path } = config.call_api.sink() {
        files.push(("call_api.base_url", path));
    }
    if let CheckpointConfig::File { path } = &config.checkpoint {
        files.push(("checkpoint.path", path));
    }
    files.push(("quarantine.path", &service.quarantine_path));
    for (i, (setting, path)) in files.iter().enumerate() {
        for (other, other_path) in &files[..i] {
            if same_file(Path::new(path), Path::new(other_path)) {
                return Err(Error::Config {
                    setting,
                    value: (*path).to_owned(),
                    reason: format!(
                        "is the same file as `{other}` ({other_path}); the call file, the checkpoint file and the quarantine must be three different files"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Whether `a` and `b` name one file: the same device and inode when both exist, else the
/// same absolute path once their folders' symbolic links are resolved.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        use std::os::unix::fs::MetadataExt;
        return ma.dev() == mb.dev() && ma.ino() == mb.ino();
    }
    fn resolved(p: &Path) -> Option<std::path::PathBuf> {
        let p = std::path::absolute(p).ok()?;
        let parent = p.parent()?;
        let parent = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_owned());
        Some(parent.join(p.file_name()?))
    }
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// Forwards each wake-up of a source to the engine's trigger (the engine's trigger stays the
/// one the handle and the endpoints hold).
/// How often a served CDR file or directory is checked for change.
const WATCH_EVERY: Duration = Duration::from_millis(200);

/// The longest a watched CDR file goes unread while serving, whatever its watcher says.
const SAFETY_POLL: Duration = Duration::from_secs(30);

fn forward(from: Arc<Notify>, to: Arc<Notify>) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        loop {
            from.notified().await;
            to.notify_one();
        }
    })
    .abort_handle()
}

fn status_of(engine: &SideloaderEngine) -> Status {
    lock(&engine.status()).clone()
}

/// Delivers until the source is drained ([`Engine::drain`]: the one drain loop the engine
/// has), telling `progress` as the checkpoint moves; a stop on `stop` is
/// [`DeliveryError::Interrupted`] once the calls in flight finished and the acknowledged
/// prefix is saved.
async fn drain(
    engine: &mut SideloaderEngine,
    stop: watch::Receiver<bool>,
    progress: impl FnMut(&Status) + Send,
) -> Result<(), Error> {
    let stopped = stop.clone();
    engine.drain(stop, Utc::now, progress).await?;
    if *stopped.borrow() {
        return Err(Error::Delivery(DeliveryError::Interrupted {
            checkpoint: status_of(engine).checkpoint,
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits up to 5 s for the watcher to list `n` paths of the service's period.
    async fn watched_becomes(n: usize) {
        for _ in 0..500 {
            if crate::watch::watched(WATCH_EVERY) == Some(n) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the watcher lists {:?} paths, not {n}",
            crate::watch::watched(WATCH_EVERY)
        );
    }

    #[tokio::test]
    async fn a_served_file_is_read_on_change_and_forgotten_when_its_sideloader_is_dropped() {
        let dir = pbx_testkit::scratch("served-file");
        let (cdr, calls) = (dir.join("cdr.log"), dir.join("calls.jsonl"));
        std::fs::write(&cdr, "").unwrap();
        // An hour between polls: only the watcher can make the appended call go out soon.
        let yaml = format!(
            "pbx: {{timezone: America/Anchorage}}\n\
             source: {{kind: file, path: '{cdr}'}}\n\
             call_api: {{base_url: 'file:{calls}'}}\n\
             polling: {{interval_secs: 3600}}\n\
             extensions: {{default_email: 'pbx@example.com'}}\n\
             checkpoint: {{kind: file, path: '{dir}/checkpoint.json'}}\n\
             quarantine: {{path: '{dir}/quarantine.jsonl'}}\n",
            cdr = cdr.display(),
            calls = calls.display(),
            dir = dir.display()
        );
        let config = Config::from_yaml(&yaml, &|_| None).unwrap();
        let mut sideloader = Sideloader::from_config(&config).await.unwrap();
        let (stop, shutdown) = watch::channel(false);
        let served = tokio::spawn(async move {
            let result = sideloader.run(shutdown).await;
            (sideloader, result)
        });
        watched_becomes(1).await;
        let sample = include_str!("../../../examples/data/cdr-sample.log");
        let first = sample.split_inclusive('\n').next().unwrap();
        std::fs::write(&cdr, first).unwrap();
        let mut delivered = false;
        for _ in 0..500 {
            if std::fs::read_to_string(&calls).is_ok_and(|c| c.lines().count() == 1) {
                delivered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            delivered,
            "the appended call is delivered without waiting for the poll"
        );
        stop.send(true).unwrap();
        let (sideloader, result) = served.await.unwrap();
        result.unwrap();
        watched_becomes(1).await;
        drop(sideloader);
        watched_becomes(0).await;
        std::fs::remove_dir_all(dir).unwrap();
    }
}
