//! The delivery engine: source → pbx-core → call sink, with checkpoints after acknowledgement.
//!
//! [`Engine::run`] (the service) and [`Engine::drain`] (`--once`, a backfill) deliver as a
//! stream: the source is read ahead (bounded), each record prepared by [`pbx_core::delivery`] as it
//! arrives, up to [`EngineOptions::concurrency`] calls in flight completing in any order, and a
//! call that needs another try waits on its own timer while the others go on. The checkpoint
//! is the mark of a [`pbx_core::delivery::AckWindow`] — the longest settled prefix, never past a
//! call the API has not acknowledged — saved in the background, debounced, and always on the
//! way out. Outages are waited out as a whole and poison calls set aside
//! ([`pbx_core::delivery::RetryRules`]); see [`Engine::run`]. Delivery is at-least-once (a call
//! acknowledged after the last save is sent again after a crash) and storage exactly-once by
//! `pbxCallId` (the API answers 409).
//!
//! **Backfill.** With [`EngineOptions::range`] set, calls outside the [`TimeRange`] are
//! skipped (reason `outside_range`) before they are mapped — whatever the source. A source
//! that can narrow its own query (a database source: `time_start` in the range) should take
//! the same range when it is built, so it reads less; the engine's filter stays, so a source
//! that cannot narrow (the CDR file) is still correct. A backfill should use its own
//! [`EngineOptions::checkpoint_key`] (the sideloader uses `backfill:<from>/<to>`): it resumes
//! where it stopped after a crash, and never moves the live checkpoint.
//!
//! **Extension map refresh.** [`Engine::with_extension_directory`] asks a [`ExtensionDirectory`]
//! (say XAPI `/Users`, which caches for its own refresh interval) before every read (at most once a
//! second) and maps calls with its map merged with the configured one (the configured entries win).
//! When the directory fails, the last map is kept.

mod driver;
use crate::group_monitor as groups;
mod item;
pub(crate) mod panics;
mod quarantine;
mod report;
mod skips;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pbx_core::delivery::{Counters, Pipeline, RunMode, TimeRange};
use pbx_core::extensions::ExtensionMap;
use pbx_core::{CallSink, CdrSource, Checkpoint, CheckpointStore, ExtensionDirectory};
use serde::Serialize;
use tokio::sync::{Notify, watch};

use crate::{BoxError, Error};

pub use groups::{
    CheckFailure, CheckReport, FailureReason, GroupHealth, GroupLoop, HoursSource, STATE_KEY,
    Schedule, ScheduleSource,
};
pub use quarantine::{
    FileQuarantine, MAX_ENTRY_BYTES, MemoryQuarantine, Quarantine, QuarantineContents,
    ReplayReport, UnreadableLine, replay,
};

/// Engine settings.
///
/// Delivery is a stream (see [`Engine::run`]): up to `concurrency` calls in flight, answers
/// in any order, each failed call tried again on its own timer (full jitter between zero and
/// `min(retry_cap, retry_base × 2ⁿ)`, at least the API's `Retry-After`), the checkpoint
/// saved at most every `save_interval` (or every `save_every_calls` records) and on the way
/// out.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// The checkpoint store's key for this source.
    pub checkpoint_key: String,
    /// Records fetched per read (default 500). Reading ahead stops at about twice this many
    /// prepared calls not sent yet.
    pub batch_size: usize,
    /// Calls in flight at once (default 4).
    pub concurrency: usize,
    /// Wait before reading again when the source had nothing more (default 30 s); a trigger
    /// ends it early.
    pub poll_interval: Duration,
    /// First wait after a failed source read, and the first pause of an outage (default 1 s);
    /// doubles per failure.
    pub backoff_base: Duration,
    /// Longest wait after failed reads, and longest pause between outage probes (default 60 s).
    pub backoff_cap: Duration,
    /// Only calls in this range are delivered; the others are skipped with reason
    /// `outside_range` (a backfill; default none: every call).
    pub range: Option<TimeRange>,
    /// Failed attempts before a call failing while others succeed is quarantined as poison
    /// (`call_api.max_attempts`, default 5). Also how often [`Engine::drain`] tries the oldest
    /// call during an outage before it gives up.
    pub max_attempts: u32,
    /// The least time between a call's first failure and its quarantine as poison
    /// (`call_api.poison_after_secs`, default 120 s).
    pub poison_after: Duration,
    /// The first retry's upper bound for one call (default 250 ms); doubles per attempt.
    pub retry_base: Duration,
    /// The longest wait before a call's next try (default 30 s), unless `Retry-After` says more.
    pub retry_cap: Duration,
    /// The longest wait a `Retry-After` from the API can impose (`call_api.max_retry_after_secs`,
    /// default 300 s): a longer one (`99999`, a date in year 9999) is cut to this.
    pub max_retry_after: Duration,
    /// Records read but not yet behind the checkpoint, at most (default 8 192): bounds memory
    /// while an old call waits for its next try.
    pub window: usize,
    /// Save the checkpoint at most this often while it moves (default 200 ms).
    pub save_interval: Duration,
    /// … or after this many records settled (default 5 000).
    pub save_every_calls: usize,
    /// On shutdown, how long calls in flight may take before the acknowledged prefix is saved
    /// without them (default 10 s).
    pub shutdown_grace: Duration,
    /// Seed for the retry jitter (`None`: from the OS).
    pub seed: Option<u64>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            checkpoint_key: "cdr".into(),
            batch_size: 500,
            concurrency: 4,
            poll_interval: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            range: None,
            max_attempts: 5,
            poison_after: Duration::from_secs(120),
            retry_base: Duration::from_millis(250),
            retry_cap: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            window: 8192,
            save_interval: Duration::from_millis(200),
            save_every_calls: 5000,
            shutdown_grace: Duration::from_secs(10),
            seed: None,
        }
    }
}

impl EngineOptions {
    /// The delivery settings of the configuration's `call_api` section (concurrency,
    /// `max_attempts`, `poison_after_secs`) and its batch size and poll interval, with the
    /// checkpoint key `key`.
    ///
    /// ```
    /// let config = pbx_core::config::Config::from_yaml(
    ///     "source: {kind: file, path: cdr.log}\ncall_api: {base_url: 'http://localhost:9', concurrency: 16, poison_after_secs: 30}\n",
    ///     &|_: &str| None,
    /// )?;
    /// let o = pbx_sources::delivery::EngineOptions::from_config(&config, "cdr");
    /// assert_eq!((o.concurrency, o.poison_after.as_secs()), (16, 30));
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    pub fn from_config(config: &pbx_core::config::Config, key: impl Into<String>) -> Self {
        EngineOptions {
            checkpoint_key: key.into(),
            batch_size: config.batch_size,
            concurrency: config.call_api.concurrency,
            poll_interval: config.poll_interval,
            max_attempts: config.call_api.max_attempts,
            poison_after: config.call_api.poison_after,
            max_retry_after: config.call_api.max_retry_after,
            ..EngineOptions::default()
        }
    }
}

/// What the engine reports for `/status` and metrics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    /// The counters.
    pub counters: Counters,
    /// The saved checkpoint.
    pub checkpoint: Option<String>,
    /// The last failure (a call's, the source's), until a delivery succeeds.
    pub last_error: Option<String>,
    /// Set when delivery stopped for good (credentials refused).
    pub stopped: Option<String>,
    /// Extensions owning skipped calls without a user: count, first and last seen.
    pub unmapped: pbx_core::unmapped::UnmappedExtensions,
    /// Records whose type fields hold words 3CX does not write (treated as absent), per word.
    pub unknown_types: pbx_core::unknown_types::UnknownTypeWords,
    /// Whether the source can be read, or is misconfigured (`/health`, `/status`).
    pub source: SourceHealth,
}

/// The source's health as the service reports it: `{"state": "ok"}`, or
/// `{"state": "misconfigured", "problem": "login", "setting": "source.url", "message": "…"}`
/// while the last read failed in a way waiting will not heal
/// ([`crate::misconfigured::Misconfigured`]). Transient failures (a connection refused, a
/// timeout) leave it `ok`; they show in `last_error`.
///
/// ```
/// use pbx_sources::delivery::SourceHealth;
/// assert_eq!(serde_json::to_value(SourceHealth::Ok).unwrap(), serde_json::json!({"state": "ok"}));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SourceHealth {
    /// The last read succeeded, or failed in a way that may heal.
    #[default]
    Ok,
    /// The last read failed in a way that needs a person.
    Misconfigured {
        /// [`crate::misconfigured::Problem::as_str`]: `login`, `database`, `table`, …
        problem: &'static str,
        /// The setting to fix first.
        setting: &'static str,
        /// The whole message, with what the server said.
        message: String,
    },
}

impl SourceHealth {
    fn misconfigured(diagnosis: &crate::misconfigured::Misconfigured) -> Self {
        SourceHealth::Misconfigured {
            problem: diagnosis.problem().as_str(),
            setting: diagnosis.setting(),
            message: diagnosis.to_string(),
        }
    }

    /// Whether the source is misconfigured (the service is not ready).
    pub fn is_misconfigured(&self) -> bool {
        matches!(self, SourceHealth::Misconfigured { .. })
    }
}

/// The engine. Generic over pbx-core's traits; the clock is passed in (`now`).
pub struct Engine<Source, Sink, Store> {
    source: Source,
    sink: Arc<Sink>,
    store: Store,
    pipeline: Pipeline,
    quarantine: Arc<dyn Quarantine>,
    options: EngineOptions,
    checkpoint: Option<Checkpoint>,
    loaded: bool,
    status: Arc<Mutex<Status>>,
    trigger: Arc<Notify>,
    directory: Option<DirectoryRefresh>,
}

/// Asks the extension directory (if any) and updates the mapper when its map changed.
async fn refresh_extensions(directory: &mut Option<DirectoryRefresh>, pipeline: &mut Pipeline) {
    let Some(d) = directory else {
        return;
    };
    match d.directory.read().await {
        Ok(map) => {
            if d.last.as_ref() != Some(&map) {
                tracing::info!(
                    users = map.len(),
                    "extension map updated from the directory"
                );
                pipeline
                    .mapper
                    .set_extensions(map.clone().merged_with(&d.overrides));
                d.last = Some(map);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the extension directory; keeping the map in use");
        }
    }
}

/// An extension directory asked before each read, and the configured map that wins over it.
struct DirectoryRefresh {
    directory: Box<dyn Directory>,
    overrides: ExtensionMap,
    /// The map last read, to tell when it changed.
    last: Option<ExtensionMap>,
}

/// [`ExtensionDirectory`] without its error type, so the engine can hold any.
#[async_trait::async_trait]
trait Directory: Send + Sync {
    async fn read(&self) -> Result<ExtensionMap, BoxError>;
}

#[async_trait::async_trait]
impl<D: ExtensionDirectory> Directory for D {
    async fn read(&self) -> Result<ExtensionMap, BoxError> {
        self.extensions().await.map_err(BoxError::from)
    }
}

impl<Source, Sink, Store> Engine<Source, Sink, Store>
where
    Source: CdrSource,
    Sink: CallSink + 'static,
    Store: CheckpointStore,
{
    /// An engine over a source, a sink and a checkpoint store.
    pub fn new(
        source: Source,
        sink: Arc<Sink>,
        store: Store,
        pipeline: Pipeline,
        quarantine: Arc<dyn Quarantine>,
        options: EngineOptions,
    ) -> Self {
        Engine {
            source,
            sink,
            store,
            pipeline,
            quarantine,
            options,
            checkpoint: None,
            loaded: false,
            status: Arc::default(),
            trigger: Arc::new(Notify::new()),
            directory: None,
        }
    }

    /// Maps calls with the users of `directory`, asked before reads (at most once a second), merged
    /// with `overrides` (the configured map: its entries and its fallback win). The directory
    /// decides how often it really reads (XAPI's caches for `xapi.refresh_secs`); when it fails,
    /// the map in use is kept and a warning logged.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pbx_core::extensions::{ExtensionMap, User};
    /// use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore, MemorySource, StaticExtensionDirectory};
    /// use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine};
    /// let from_pbx: ExtensionMap = [User::new("120", "new@example.com")].into_iter().collect();
    /// let engine = Engine::new(MemorySource::new(vec![]), Arc::new(MemoryCallSink::new()),
    ///     MemoryCheckpointStore::new(), Default::default(), Arc::new(MemoryQuarantine::default()),
    ///     EngineOptions::default())
    ///     .with_extension_directory(StaticExtensionDirectory::new(from_pbx), ExtensionMap::default());
    /// ```
    pub fn with_extension_directory<D: ExtensionDirectory + 'static>(
        mut self,
        directory: D,
        overrides: ExtensionMap,
    ) -> Self {
        self.directory = Some(DirectoryRefresh {
            directory: Box::new(directory),
            overrides,
            last: None,
        });
        self
    }

    /// A handle on the status, shared with an HTTP status endpoint.
    pub fn status(&self) -> Arc<Mutex<Status>> {
        Arc::clone(&self.status)
    }

    /// Uses `trigger` as the engine's wake-up handle: a source that knows when it has new
    /// records (a CDR socket's journal, a watched file) notifies it, and the engine runs a
    /// read right away instead of waiting for `poll_interval`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore, MemorySource};
    /// use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine};
    ///
    /// // In a service: `socket_source.wake_handle()` or `file_source.watch(…)`.
    /// let wake = Arc::new(tokio::sync::Notify::new());
    /// let engine = Engine::new(
    ///     MemorySource::new(Vec::new()),
    ///     Arc::new(MemoryCallSink::new()),
    ///     MemoryCheckpointStore::new(),
    ///     Default::default(),
    ///     Arc::new(MemoryQuarantine::default()),
    ///     EngineOptions::default(),
    /// )
    /// .with_trigger(Arc::clone(&wake));
    /// assert!(Arc::ptr_eq(&engine.trigger(), &wake));
    /// ```
    #[must_use]
    pub fn with_trigger(mut self, trigger: Arc<Notify>) -> Self {
        self.trigger = trigger;
        self
    }

    /// A handle that wakes the engine to read now (`POST /trigger/poll`).
    pub fn trigger(&self) -> Arc<Notify> {
        Arc::clone(&self.trigger)
    }

    fn with_status<T>(&self, f: impl FnOnce(&mut Status) -> T) -> T {
        f(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Loads the checkpoint once.
    async fn load(&mut self) -> Result<(), Error> {
        if !self.loaded {
            self.checkpoint = self
                .store
                .load(&self.options.checkpoint_key)
                .await
                .map_err(|e| Error::checkpoint("load", &self.options.checkpoint_key, e))?;
            self.loaded = true;
            let cp = self.checkpoint.as_ref().map(ToString::to_string);
            self.with_status(|s| s.checkpoint = cp);
        }
        Ok(())
    }

    async fn stream(
        &mut self,
        mode: RunMode,
        stop: watch::Receiver<bool>,
        clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
        progress: &mut (dyn FnMut(&Status) + Send),
    ) -> Result<(), Error> {
        self.load().await?;
        let parts = driver::Parts {
            source: &mut self.source,
            sink: Arc::clone(&self.sink),
            store: &self.store,
            pipeline: &mut self.pipeline,
            quarantine: Arc::clone(&self.quarantine),
            options: &self.options,
            checkpoint: &mut self.checkpoint,
            status: &self.status,
            trigger: Arc::clone(&self.trigger),
            directory: &mut self.directory,
        };
        let during = match mode {
            RunMode::Drain => "a drain",
            _ => "the service",
        };
        panics::caught(during, driver::run(parts, mode, stop, clock, progress)).await
    }

    /// Delivers for ever, until `shutdown` turns true — the service.
    ///
    /// The source is read ahead (bounded by [`EngineOptions::window`]) and each record
    /// prepared as it arrives; up to [`EngineOptions::concurrency`] calls are in flight and
    /// complete in any order; a call that needs another try waits on its own timer (full
    /// jitter, `Retry-After` honoured) while the others go on. The checkpoint is the mark of
    /// an [`pbx_core::delivery::AckWindow`] — never past an unacknowledged call — saved at most
    /// every [`EngineOptions::save_interval`]. Once the source has nothing more, it is read
    /// again after [`EngineOptions::poll_interval`] or when the trigger fires.
    ///
    /// **Outage vs poison.** When different calls keep failing with no success between (the
    /// API down, DNS gone, a file sink that cannot be written), the engine pauses as a whole
    /// and sends one probe at a time with growing pauses ([`EngineOptions::backoff_base`] to
    /// [`EngineOptions::backoff_cap`]); nothing is quarantined meanwhile and delivery resumes
    /// at the first answer. A call that keeps failing while others are delivered is a poison
    /// call: after [`EngineOptions::max_attempts`] failures over at least
    /// [`EngineOptions::poison_after`] it is quarantined with every answer it got
    /// (`pbx_records_quarantined_total`, `poisoned` in the counters, a `warn` log with its
    /// `pbxCallId`) and the checkpoint moves on. A rejection (400/422) is quarantined at once.
    /// A 401/403 stops delivery at once: only calls already in flight are sent.
    ///
    /// On shutdown no new call starts; calls in flight get [`EngineOptions::shutdown_grace`],
    /// then the acknowledged prefix is saved and `run` returns.
    ///
    /// # Errors
    /// [`DeliveryError::AuthFailed`](crate::DeliveryError::AuthFailed), checkpoint and quarantine
    /// failures (see [`Error::is_transient`]); source failures and unavailable APIs are waited out.
    pub async fn run(
        &mut self,
        shutdown: watch::Receiver<bool>,
        clock: impl Fn() -> DateTime<Utc> + Send + Sync,
    ) -> Result<(), Error> {
        let result = self
            .stream(RunMode::Serve, shutdown, &clock, &mut |_| {})
            .await;
        if let Err(e) = &result {
            let message = e.to_string();
            self.with_status(|s| s.stopped = Some(message));
        }
        result
    }

    /// Delivers until the source is drained (`--once`, a backfill), with the same window,
    /// retries and outage/poison rules as [`Engine::run`]; `progress` is called with the
    /// status as the checkpoint moves (at most every 100 ms) and once at the end.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore, MemorySource};
    /// use pbx_sources::delivery::{Engine, EngineOptions, MemoryQuarantine};
    /// let mut engine = Engine::new(MemorySource::new(vec![]), Arc::new(MemoryCallSink::new()),
    ///     MemoryCheckpointStore::new(), Default::default(), Arc::new(MemoryQuarantine::default()),
    ///     EngineOptions::default());
    /// let (_stop, rx) = tokio::sync::watch::channel(false);
    /// engine.drain(rx, chrono::Utc::now, |s| eprintln!("{} received", s.counters.received)).await?;
    /// # Ok::<(), pbx_sources::Error>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    /// As [`Engine::run`], and [`DeliveryError::Unavailable`](crate::DeliveryError::Unavailable)
    /// when every call failed until the oldest one used its [`EngineOptions::max_attempts`] (the
    /// checkpoint is saved at the last acknowledged call first),
    /// [`DeliveryError::Source`](crate::DeliveryError::Source) after `max_attempts` source failures
    /// in a row. When `stop` turns true it stops like `run` and returns `Ok`.
    pub async fn drain(
        &mut self,
        stop: watch::Receiver<bool>,
        clock: impl Fn() -> DateTime<Utc> + Send + Sync,
        mut progress: impl FnMut(&Status) + Send,
    ) -> Result<(), Error> {
        self.stream(RunMode::Drain, stop, &clock, &mut progress)
            .await
    }
}
