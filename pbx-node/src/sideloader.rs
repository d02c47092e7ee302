//! `Sideloader`: pbx-sources' sync engine (`pbx_sources::sync::Engine`) on napi's tokio
//! runtime, wired as the embedded default of `pbx-sideloader` is: the `file` CDR source, the
//! JSON-lines call sink (`call_api.base_url: file:PATH`) and the file checkpoint store, with
//! the file quarantine. The engine does the work; this file only starts, stops and reports it.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::config::{CheckpointConfig, SourceConfig};
use pbx_core::sync::Pipeline;
use pbx_sources::checkpoint::FileCheckpointStore;
use pbx_sources::file::FileSource;
use pbx_sources::jsonl::JsonLinesSink;
use pbx_sources::sync::{Engine, EngineOptions, FileQuarantine, Status, SyncError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::error::{
    INVALID_ARGUMENT, INVALID_STATE, IO_ERROR, PbxErrorInfo, SYNC_ERROR, rejection, throw,
};

type FileEngine = Engine<FileSource, JsonLinesSink, Arc<FileCheckpointStore>>;

/// The engine's loop while it runs: how to stop it, and the task that gives the engine back.
struct Running {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<(FileEngine, std::result::Result<(), SyncError>)>,
}

/// Where the engine is: idle (here), running, or lent to a `runOnce` in progress.
enum Slot {
    Idle(Box<FileEngine>),
    Running(Running),
    Busy,
}

/// Counters and position of a `Sideloader` (the sideloader's `/status`).
#[napi(object)]
pub struct SideloaderStatus {
    /// Whether the engine loop runs (between `start()` and `stop()`).
    pub running: bool,
    /// Records read from the source.
    pub received: i64,
    /// Calls written to the sink.
    pub delivered: i64,
    /// Calls the sink already had.
    pub duplicates: i64,
    /// Records not sent, by reason (`internal`, `no_owner`, `no_owner_email`, …).
    pub skipped: std::collections::HashMap<String, i64>,
    /// Records quarantined (unreadable or rejected).
    pub quarantined: i64,
    /// Delivery attempts that must be retried.
    pub retries: i64,
    /// The saved checkpoint (the source's position), or `null` before the first one.
    pub checkpoint: Option<String>,
    /// The last error, if the last round failed (the engine retries).
    pub last_error: Option<String>,
    /// Set when delivery stopped for good.
    pub stopped: Option<String>,
}

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn snapshot(status: &Mutex<Status>, running: bool) -> SideloaderStatus {
    let s = status
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let c = &s.counters;
    SideloaderStatus {
        running,
        received: count(c.received),
        delivered: count(c.delivered),
        duplicates: count(c.duplicates),
        skipped: c
            .skipped
            .iter()
            .map(|(k, v)| (k.clone(), count(*v)))
            .collect(),
        quarantined: count(c.quarantined),
        retries: count(c.retries),
        checkpoint: s.checkpoint,
        last_error: s.last_error,
        stopped: s.stopped,
    }
}

fn sync_error(e: &SyncError) -> PbxErrorInfo {
    let kind = match e {
        SyncError::Source { .. } => "source",
        SyncError::Checkpoint { .. } => "checkpoint",
        SyncError::Unavailable { .. } => "unavailable",
        SyncError::Quarantine(_) => "quarantine",
        SyncError::AuthFailed { .. } => "auth_failed",
        _ => "other",
    };
    PbxErrorInfo::binding(SYNC_ERROR, kind, e.to_string())
}

fn busy() -> PbxErrorInfo {
    PbxErrorInfo::binding(
        INVALID_STATE,
        "busy",
        "the sideloader is running (or a runOnce is in progress); stop() it first",
    )
}

/// The sync engine as a Node object: reads the configured CDR file, maps every record through
/// pbx-core, writes the call requests as JSON lines, and saves the checkpoint only past settled
/// records; unusable records go to the quarantine file. The same engine and semantics as
/// `pbx-sideloader` on `examples/config/embedded-default.yml`.
///
/// ```js
/// const s = new Sideloader(loadConfig('examples/config/embedded-default.yml'))
/// await s.runOnce()            // drain the file once, or: s.start() … await s.stop()
/// console.log(s.status().delivered)
/// ```
#[napi]
pub struct Sideloader {
    slot: Arc<Mutex<Slot>>,
    status: Arc<Mutex<Status>>,
}

impl Sideloader {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[napi]
impl Sideloader {
    /// A sideloader for a loaded configuration. This binding wires `source.kind: file`,
    /// `call_api.base_url: file:PATH` (JSON lines) and `checkpoint.kind: file`; anything else
    /// throws `PBX_INVALID_ARGUMENT` naming the setting. A sink file that cannot be opened
    /// throws `PBX_IO_ERROR`.
    #[napi(constructor)]
    pub fn new(env: Env, config: &Config) -> Result<Self> {
        let c = &config.inner;
        let unsupported = |setting: &str, message: &str| {
            let mut info = PbxErrorInfo::binding(INVALID_ARGUMENT, "unsupported", message);
            info.setting = Some(setting.to_owned());
            throw(&env, info)
        };
        let source = match &c.source {
            SourceConfig::File { path } => FileSource::new(path),
            _ => {
                return Err(unsupported(
                    "source.kind",
                    "the Node Sideloader reads a CDR file (source.kind: file) in this version; other sources run in pbx-sideloader",
                ));
            }
        };
        let Some(path) = c.call_api.base_url.strip_prefix("file:") else {
            return Err(unsupported(
                "call_api.base_url",
                "the Node Sideloader writes JSON lines (call_api.base_url: file:PATH) in this version; the HTTP API runs in pbx-sideloader",
            ));
        };
        let sink = JsonLinesSink::open(path).map_err(|e| {
            let mut info =
                PbxErrorInfo::binding(IO_ERROR, "io", format!("cannot open {path}: {e}"));
            info.value = Some(path.to_owned());
            throw(&env, info)
        })?;
        let store = match &c.checkpoint {
            CheckpointConfig::File { path } => Arc::new(FileCheckpointStore::new(path)),
            _ => {
                return Err(unsupported(
                    "checkpoint.kind",
                    "the Node Sideloader keeps its checkpoint in a file (checkpoint.kind: file) in this version",
                ));
            }
        };
        let pipeline = Pipeline {
            parser: c.cdr_parser(),
            mapper: c.call_mapper(),
        };
        let options = EngineOptions {
            checkpoint_key: "cdr".into(),
            batch_size: c.batch_size,
            concurrency: c.call_api.concurrency,
            poll_interval: c.poll_interval,
            ..EngineOptions::default()
        };
        let quarantine = Arc::new(FileQuarantine::new(&c.quarantine_path));
        let engine = Engine::new(source, Arc::new(sink), store, pipeline, quarantine, options);
        Ok(Sideloader {
            status: engine.status(),
            slot: Arc::new(Mutex::new(Slot::Idle(Box::new(engine)))),
        })
    }

    /// Starts the engine loop on the tokio runtime: rounds at once while there is more to
    /// read, then every `polling.interval_secs`, with backoff after failures. Throws
    /// `PBX_INVALID_STATE` when it already runs (or a `runOnce` is in progress).
    #[napi]
    pub fn start(&self, env: Env) -> Result<()> {
        let mut slot = self.lock();
        let Slot::Idle(_) = &*slot else {
            return Err(throw(&env, busy()));
        };
        let Slot::Idle(mut engine) = std::mem::replace(&mut *slot, Slot::Busy) else {
            unreachable!("checked above")
        };
        let (shutdown, rx) = watch::channel(false);
        let task = napi::bindgen_prelude::within_runtime_if_available(|| {
            tokio::spawn(async move {
                let result = engine.run(rx, Utc::now).await;
                (*engine, result)
            })
        });
        *slot = Slot::Running(Running { shutdown, task });
        Ok(())
    }

    /// Stops the loop: a round in progress finishes and saves its checkpoint first. Resolves
    /// with the status; rejects with `PBX_SYNC_ERROR` when the engine had stopped on an error
    /// (the checkpoint store or the quarantine failed). Resolves at once when not running.
    #[napi(ts_return_type = "Promise<SideloaderStatus>")]
    pub fn stop<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, SideloaderStatus>> {
        let running = {
            let mut slot = self.lock();
            match std::mem::replace(&mut *slot, Slot::Busy) {
                Slot::Running(r) => Some(r),
                other => {
                    *slot = other;
                    None
                }
            }
        };
        let slot = Arc::clone(&self.slot);
        let status = Arc::clone(&self.status);
        env.spawn_future_with_callback(
            async move {
                let Some(Running { shutdown, task }) = running else {
                    return Ok(Ok(()));
                };
                let _ = shutdown.send(true);
                let (engine, result) = task.await.map_err(|e| {
                    napi::Error::from_reason(format!("the engine task failed: {e}"))
                })?;
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Slot::Idle(Box::new(engine));
                Ok(result.map_err(|e| sync_error(&e)))
            },
            move |env, result| match result {
                Ok(()) => Ok(snapshot(&status, false)),
                Err(info) => Err(rejection(env, &info)),
            },
        )
    }

    /// Reads the source until it is drained, once (`pbx-sideloader --once`), and resolves with
    /// the status. Rejects with `PBX_SYNC_ERROR` when a round fails (nothing past the last
    /// settled record is checkpointed), `PBX_INVALID_STATE` while `start()`ed.
    #[napi(ts_return_type = "Promise<SideloaderStatus>")]
    pub fn run_once<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, SideloaderStatus>> {
        let engine = {
            let mut slot = self.lock();
            match std::mem::replace(&mut *slot, Slot::Busy) {
                Slot::Idle(engine) => Some(engine),
                other => {
                    *slot = other;
                    None
                }
            }
        };
        let slot = Arc::clone(&self.slot);
        let status = Arc::clone(&self.status);
        env.spawn_future_with_callback(
            async move {
                let Some(mut engine) = engine else {
                    return Ok(Err(busy()));
                };
                // The engine's one drain loop: gives up (rejects) when the sink keeps failing.
                let (_stop, rx) = watch::channel(false);
                let result = engine
                    .drain(rx, Utc::now, |_| {})
                    .await
                    .map_err(|e| sync_error(&e));
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Slot::Idle(engine);
                Ok::<_, napi::Error>(result)
            },
            move |env, result| match result {
                Ok(()) => Ok(snapshot(&status, false)),
                Err(info) => Err(rejection(env, &info)),
            },
        )
    }

    /// The counters, the checkpoint and the last error, now.
    #[napi]
    pub fn status(&self) -> SideloaderStatus {
        let running = matches!(&*self.lock(), Slot::Running(r) if !r.task.is_finished());
        snapshot(&self.status, running)
    }
}
