//! `Sideloader`: `pbx_sources::runtime::Sideloader` — the runtime `pbx-sideloader` runs — on
//! napi's tokio runtime. Every source kind, both sinks (the call-logger API or JSON lines),
//! both checkpoint stores, the quarantine, XAPI users, the group monitor and HA leadership
//! are wired by the runtime from the configuration; this file only starts, stops and reports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_core::delivery::TimeRange;
use pbx_sources::Error as SideloaderError;
use pbx_sources::runtime::{self, BackfillReport, SideloaderHandle, Summary};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::args::arg;
use crate::config::{Config, load};
use crate::error::{INVALID_ARGUMENT, INVALID_STATE, PbxErrorInfo, SYNC_ERROR, rejection, throw};

type Runtime = runtime::Sideloader;

/// The service while it runs: how to stop it, and the task that gives the sideloader back.
struct Running {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<(Box<Runtime>, std::result::Result<(), SideloaderError>)>,
}

/// Where the sideloader is: idle (here), running, or lent to a `runOnce` in progress.
enum Slot {
    Idle(Box<Runtime>),
    Running(Running),
    Busy,
}

/// Counters and position of a `Sideloader` (the sideloader's `/status`).
#[napi(object)]
pub struct SideloaderStatus {
    /// Whether the service runs (between `start()` and `stop()`).
    pub running: bool,
    /// Records read from the source.
    pub received: i64,
    /// Calls the API stored (or written to the JSON-lines file).
    pub delivered: i64,
    /// Calls the API already had.
    pub duplicates: i64,
    /// Records not sent, by reason (`internal`, `no_owner`, `no_owner_email`, …).
    pub skipped: HashMap<String, i64>,
    /// Records quarantined (unreadable or rejected).
    pub quarantined: i64,
    /// Delivery attempts that must be retried.
    pub retries: i64,
    /// The saved checkpoint (the source's position), or `null` before the first one.
    pub checkpoint: Option<String>,
    /// The last error (a failed delivery or read; the engine retries).
    pub last_error: Option<String>,
    /// Set when delivery stopped for good.
    pub stopped: Option<String>,
    /// With `ha`: whether this instance holds the leadership lock.
    pub leader: Option<bool>,
}

/// What one `runOnce()` drain did: `pbx-sideloader --once`'s summary.
#[napi(object)]
pub struct SideloaderSummary {
    /// Records read from the source by this drain.
    pub received: i64,
    /// Calls the API stored.
    pub delivered: i64,
    /// Calls the API already had.
    pub duplicates: i64,
    /// Records not sent, by reason.
    pub skipped: HashMap<String, i64>,
    /// Records quarantined.
    pub quarantined: i64,
    /// Delivery attempts retried.
    pub retries: i64,
    /// The checkpoint saved at the end.
    pub checkpoint: Option<String>,
    /// Where the calls went: the API's base URL or the JSON-lines file.
    pub sink: String,
    /// The summary line `pbx-sideloader --once` prints (without its `pbx-sideloader: `).
    pub text: String,
}

/// What one `backfill()` did: `pbx-sideloader backfill`'s summary.
#[napi(object)]
pub struct BackfillSummary {
    /// Records read from the source by this backfill.
    pub received: i64,
    /// Calls the API stored.
    pub delivered: i64,
    /// Calls the API already had.
    pub duplicates: i64,
    /// Records not sent, by reason (`outside_range` for those outside the range).
    pub skipped: HashMap<String, i64>,
    /// Records quarantined.
    pub quarantined: i64,
    /// Delivery attempts retried.
    pub retries: i64,
    /// The backfill's own checkpoint (the service's is untouched).
    pub checkpoint: Option<String>,
    /// Where the calls went: the API's base URL or the JSON-lines file.
    pub sink: String,
    /// The line `pbx-sideloader backfill` prints (without its `pbx-sideloader: `).
    pub text: String,
    /// The first instant of the range (RFC 3339, UTC).
    pub from: String,
    /// The first instant after the range (RFC 3339, UTC).
    pub to: String,
    /// Calls the API answered for (`delivered + duplicates`).
    pub calls: i64,
    /// How long it ran, in seconds.
    pub elapsed_secs: f64,
}

fn backfill_summary(r: &BackfillReport) -> BackfillSummary {
    let s = summary(&r.summary);
    BackfillSummary {
        received: s.received,
        delivered: s.delivered,
        duplicates: s.duplicates,
        skipped: s.skipped,
        quarantined: s.quarantined,
        retries: s.retries,
        checkpoint: s.checkpoint,
        sink: s.sink,
        text: r.to_string(),
        from: r.range.from().to_rfc3339(),
        to: r.range.to().to_rfc3339(),
        calls: count(r.calls()),
        elapsed_secs: r.elapsed.as_secs_f64(),
    }
}

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn skipped(map: &std::collections::BTreeMap<String, u64>) -> HashMap<String, i64> {
    map.iter().map(|(k, v)| (k.clone(), count(*v))).collect()
}

fn snapshot(handle: &SideloaderHandle, running: bool) -> SideloaderStatus {
    let s = handle.status();
    let c = &s.engine.counters;
    SideloaderStatus {
        running,
        received: count(c.received),
        delivered: count(c.delivered),
        duplicates: count(c.duplicates),
        skipped: skipped(&c.skipped),
        quarantined: count(c.quarantined),
        retries: count(c.retries),
        checkpoint: s.engine.checkpoint,
        last_error: s.engine.last_error,
        stopped: s.engine.stopped,
        leader: s.leader,
    }
}

fn summary(s: &Summary) -> SideloaderSummary {
    let c = &s.counters;
    SideloaderSummary {
        received: count(c.received),
        delivered: count(c.delivered),
        duplicates: count(c.duplicates),
        skipped: skipped(&c.skipped),
        quarantined: count(c.quarantined),
        retries: count(c.retries),
        checkpoint: s.checkpoint.clone(),
        sink: s.sink.clone(),
        text: s.to_string(),
    }
}

/// The runtime's error as a JS error: `PBX_INVALID_ARGUMENT` (kind `config`) for a
/// configuration that cannot be used, `PBX_SYNC_ERROR` otherwise, with `kind` saying why.
fn sideloader_error(e: &SideloaderError) -> PbxErrorInfo {
    let code = if e.is_config() {
        INVALID_ARGUMENT
    } else {
        SYNC_ERROR
    };
    let kind = e.kind();
    PbxErrorInfo::binding(code, kind, e.to_string())
}

fn busy() -> PbxErrorInfo {
    PbxErrorInfo::binding(
        INVALID_STATE,
        "busy",
        "the sideloader is running (or a runOnce is in progress); stop() it first",
    )
}

/// The sideloader `pbx-sideloader` runs, as a Node object: any source kind (PostgreSQL, SQL
/// Server with an `mssql` build, the CDR socket, files), the call-logger API or a JSON-lines
/// file, file or PostgreSQL checkpoints, the quarantine; as a service also the call-group
/// monitor and HA leadership. Checkpoints only past acknowledged calls.
///
/// ```js
/// const s = new Sideloader('sideloader.yml')   // or a Config from loadConfig(…)
/// const summary = await s.runOnce()             // one drain; rejects if calls are left behind
/// console.log(summary.text)
/// s.start(); …; await s.stop()                  // the service; stop() saves the checkpoint
/// ```
#[napi]
pub struct Sideloader {
    slot: Arc<Mutex<Slot>>,
    handle: SideloaderHandle,
}

impl Sideloader {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The idle runtime, lent out (the slot is `Busy` until it is put back); `None` while it
    /// runs or is lent to a `runOnce` / `backfill` in progress.
    fn take_idle(&self) -> Option<Box<Runtime>> {
        let mut slot = self.lock();
        match std::mem::replace(&mut *slot, Slot::Busy) {
            Slot::Idle(s) => Some(s),
            other => {
                *slot = other;
                None
            }
        }
    }
}

#[napi]
impl Sideloader {
    /// A sideloader for a loaded `Config`, or for the path of a YAML configuration (read as
    /// `loadConfig(path)` reads it: `PBX_IO_ERROR`, `PBX_CONFIG_ERROR` with every problem in
    /// `issues`). Builds the source (a socket source starts listening here), the sink and
    /// the checkpoint store, and reads XAPI users with `extensions_from_xapi` (this blocks
    /// for that read). A part that cannot be built throws `PBX_INVALID_ARGUMENT` (kind
    /// `config`) with `pbx-sideloader`'s message; unreadable XAPI users `PBX_SYNC_ERROR`.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "Config | string")] config: Unknown<'_>,
    ) -> Result<Self> {
        let config: Either<ClassInstance<Config>, String> =
            arg(&env, "new Sideloader", "config", config)?;
        let loaded;
        let config = match &config {
            Either::A(c) => &c.inner,
            Either::B(path) => {
                loaded = load(&env, path, None)?;
                &loaded.inner
            }
        };
        let built = napi::bindgen_prelude::block_on(Runtime::from_config(config))
            .map_err(|e| throw(&env, sideloader_error(&e)))?;
        Ok(Sideloader {
            handle: built.handle(),
            slot: Arc::new(Mutex::new(Slot::Idle(Box::new(built)))),
        })
    }

    /// Starts the service on the tokio runtime: delivers as a stream while there is more to
    /// read, then polls every `polling.interval_secs` (sooner when a CDR socket or file has
    /// news), each failed call retried on its own timer and outages waited out; the group monitor and HA leadership when configured. Throws
    /// `PBX_INVALID_STATE` when it already runs (or a `runOnce` is in progress).
    ///
    /// Like a listening `net.Server`, a started `Sideloader` keeps the process alive and is
    /// kept from garbage collection until `stop()` (or until delivery stops on an error): a
    /// script that only calls `new Sideloader(path).start()` runs the service.
    #[napi]
    pub fn start(&self, env: Env, this: This<'_>) -> Result<()> {
        // A referenced threadsafe function keeps Node's event loop alive; made from
        // `this.status` bound to `this`, it also holds this object. It is released when the
        // service's task ends.
        let status: Function<'_, (), Unknown<'static>> =
            this.object.get_named_property("status")?;
        let keep_alive = status
            .bind(this.object)?
            .build_threadsafe_function::<()>()
            .build()?;
        let Some(mut sideloader) = self.take_idle() else {
            return Err(throw(&env, busy()));
        };
        let (shutdown, rx) = watch::channel(false);
        let task = napi::bindgen_prelude::within_runtime_if_available(|| {
            tokio::spawn(async move {
                let result = sideloader.run(rx).await;
                drop(keep_alive);
                (sideloader, result)
            })
        });
        *self.lock() = Slot::Running(Running { shutdown, task });
        Ok(())
    }

    /// Stops the service: no new call starts, the calls in flight finish (10 s at most) and
    /// the checkpoint is saved at the last acknowledged call.
    /// Resolves with the status; rejects with `PBX_SYNC_ERROR` when delivery had stopped on
    /// an error (credentials refused, the checkpoint store failed, leadership lost). Resolves
    /// at once when not running.
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
        let handle = self.handle.clone();
        env.spawn_future_with_callback(
            async move {
                let Some(Running { shutdown, task }) = running else {
                    return Ok(Ok(()));
                };
                let _ = shutdown.send(true);
                let (sideloader, result) = task.await.map_err(|e| {
                    napi::Error::from_reason(format!("the sideloader task failed: {e}"))
                })?;
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Slot::Idle(sideloader);
                Ok(result.map_err(|e| sideloader_error(&e)))
            },
            move |env, result| match result {
                Ok(()) => Ok(snapshot(&handle, false)),
                Err(info) => Err(rejection(env, &info)),
            },
        )
    }

    /// Reads the source until it is drained, once (`pbx-sideloader --once`), and resolves
    /// with the summary of this drain. Rejects — never resolves with calls left behind —
    /// with `PBX_SYNC_ERROR`: kind `auth_failed` (credentials refused), `unavailable` (the
    /// call API kept failing), `checkpoint`, `quarantine`; `PBX_INVALID_STATE` while started.
    #[napi(ts_return_type = "Promise<SideloaderSummary>")]
    pub fn run_once<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, SideloaderSummary>> {
        let sideloader = self.take_idle();
        let slot = Arc::clone(&self.slot);
        env.spawn_future_with_callback(
            async move {
                let Some(mut sideloader) = sideloader else {
                    return Ok(Err(busy()));
                };
                let result = sideloader.once().await;
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Slot::Idle(sideloader);
                Ok::<_, napi::Error>(result.map_err(|e| sideloader_error(&e)))
            },
            move |env, result| match result {
                Ok(s) => Ok(summary(&s)),
                Err(info) => Err(rejection(env, &info)),
            },
        )
    }

    /// Delivers the calls that started between `from` and `to` (`pbx-sideloader backfill`):
    /// each bound a day (`YYYY-MM-DD` in `pbx.timezone`, both days included) or an RFC 3339
    /// instant (`to` excluded). A database source reads only that range. The backfill keeps
    /// its own checkpoint (the service's is untouched), so the same backfill run again
    /// resumes where it stopped and delivers each call once. Resolves with the summary;
    /// rejects with `PBX_INVALID_ARGUMENT` (kind `invalid_setting`, `setting` `from` or `to`)
    /// for a bound that does not parse or an empty range, with `PBX_SYNC_ERROR` (kinds as
    /// `runOnce`'s) when it stopped before its end (run it again to resume),
    /// `PBX_INVALID_STATE` while started.
    #[napi(
        ts_args_type = "from: string, to: string",
        ts_return_type = "Promise<BackfillSummary>"
    )]
    pub fn backfill<'env>(
        &self,
        env: &'env Env,
        from: Unknown<'_>,
        to: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, BackfillSummary>> {
        let from: String = arg(env, "Sideloader.backfill", "from", from)?;
        let to: String = arg(env, "Sideloader.backfill", "to", to)?;
        let sideloader = self.take_idle();
        let slot = Arc::clone(&self.slot);
        env.spawn_future_with_callback(
            async move {
                let Some(mut sideloader) = sideloader else {
                    return Ok(Err(busy()));
                };
                let result = match TimeRange::parse(&from, &to, sideloader.config().timezone) {
                    Err(e) => Err(PbxErrorInfo::from(&e)),
                    Ok(range) => {
                        let report = sideloader.backfill(range, |_| {}).await;
                        match &report.error {
                            Some(e) => Err(sideloader_error(e)),
                            None => Ok(backfill_summary(&report)),
                        }
                    }
                };
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Slot::Idle(sideloader);
                Ok::<_, napi::Error>(result)
            },
            move |env, result| match result {
                Ok(s) => Ok(s),
                Err(info) => Err(rejection(env, &info)),
            },
        )
    }

    /// The counters, the checkpoint, the last error and (with `ha`) the leadership, now.
    #[napi]
    pub fn status(&self) -> SideloaderStatus {
        let running = matches!(&*self.lock(), Slot::Running(r) if !r.task.is_finished());
        snapshot(&self.handle, running)
    }

    /// Explains one call (`pbx-sideloader explain ID`): reads it from the configured source
    /// by `id` (a `pbxCallId`, a 3CX history id or call id; for database sources also a
    /// `main_call_history_id`, a leg's `cdr_id` or a row id) or, for a CDR text source, by
    /// `line`, and resolves with the decision trail as `CallMapper.explain` gives it, with
    /// `delivery` (the stored `checkpoint`, `position` `before_checkpoint` /
    /// `after_checkpoint` / `no_checkpoint`, `quarantined` with its reason, `summary`) and
    /// `text`; `null` when the source has no such call. Works while the service runs.
    /// Rejects with `PBX_INVALID_ARGUMENT` (kind `config`) for `line` on a database source,
    /// `PBX_SYNC_ERROR` when the source cannot be read.
    #[napi(
        ts_args_type = "id?: string | null, line?: number | null",
        ts_return_type = "Promise<CallExplanation | null>"
    )]
    pub fn explain<'env>(
        &self,
        env: &'env Env,
        id: Option<Unknown<'_>>,
        line: Option<Unknown<'_>>,
    ) -> Result<PromiseRaw<'env, Option<serde_json::Value>>> {
        let f = "Sideloader.explain";
        let id: Option<String> = crate::args::opt_arg(env, f, "id", id)?;
        let line: Option<u32> = crate::args::opt_arg(env, f, "line", line)?;
        let query = match (id, line) {
            (_, Some(n)) => runtime::CallQuery::Line(u64::from(n)),
            (Some(id), None) => runtime::CallQuery::parse(&id),
            (None, None) => {
                return Err(crate::error::invalid_argument(
                    env,
                    "Sideloader.explain: give an id or a line",
                ));
            }
        };
        let handle = self.handle.clone();
        env.spawn_future_with_callback(
            async move {
                Ok::<_, napi::Error>(
                    handle
                        .explain(&query)
                        .await
                        .map_err(|e| sideloader_error(&e)),
                )
            },
            move |env, result| match result {
                Ok(Some(e)) => {
                    crate::call::explanation_value(serde_json::to_value(&e), e.to_string())
                        .map(Some)
                }
                Ok(None) => Ok(None),
                Err(info) => Err(rejection(env, &info)),
            },
        )
    }

    /// Wakes the service to read the source now (`POST /trigger/poll`).
    #[napi]
    pub fn trigger(&self) {
        self.handle.trigger_poll();
    }
}
