//! `pbx.Sideloader` over `pbx_sources::runtime::Sideloader` — the runtime `pbx-sideloader`
//! runs — on a tokio runtime of its own. The GIL is released while it works.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use pbx_core::delivery::{Counters, TimeRange};
use pbx_sources::Error as SideloaderError;
use pbx_sources::runtime::{CallQuery, Sideloader, SideloaderHandle, Summary};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::PyConfig;
use crate::error::{ConfigError, PbxError};

/// The service while it runs: how to stop it, and the task that gives the sideloader back.
struct Running {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<(Box<Sideloader>, Result<(), SideloaderError>)>,
}

enum Slot {
    Idle(Box<Sideloader>),
    Running(Running),
    Busy,
}

/// The error a Python caller sees: `ConfigError` (kind `config`) for a part of the
/// configuration that cannot be built, `PbxError` otherwise, `kind` saying why.
fn to_py(py: Python<'_>, e: &SideloaderError) -> PyErr {
    let (err, kind, code) = if e.is_config() {
        (
            ConfigError::new_err(e.to_string()),
            "config",
            "PBX_INVALID_ARGUMENT",
        )
    } else {
        (PbxError::new_err(e.to_string()), e.kind(), "PBX_SYNC_ERROR")
    };
    let obj = err.value(py);
    let set = obj
        .setattr("kind", kind)
        .and_then(|()| obj.setattr("code", code))
        .and_then(|()| {
            if err.is_instance_of::<ConfigError>(py) {
                obj.setattr("issues", Vec::<Py<PyAny>>::new())
            } else {
                Ok(())
            }
        });
    match set {
        Ok(()) => err,
        Err(e) => e,
    }
}

fn busy() -> PyErr {
    Python::attach(|py| {
        let err = PbxError::new_err(
            "the sideloader is running (or a run_once is in progress); stop() it first",
        );
        let _ = err.value(py).setattr("kind", "busy");
        let _ = err.value(py).setattr("code", "PBX_INVALID_STATE");
        err
    })
}

/// A dict of the counters `run_once()` and `status()` both report (`received` … `retries`).
fn counters_dict<'py>(py: Python<'py>, c: &Counters) -> PyResult<Bound<'py, PyDict>> {
    let skipped = PyDict::new(py);
    for (k, v) in &c.skipped {
        skipped.set_item(k, v)?;
    }
    let d = PyDict::new(py);
    d.set_item("received", c.received)?;
    d.set_item("delivered", c.delivered)?;
    d.set_item("duplicates", c.duplicates)?;
    d.set_item("skipped", skipped)?;
    d.set_item("quarantined", c.quarantined)?;
    d.set_item("retries", c.retries)?;
    Ok(d)
}

/// The sideloader `pbx-sideloader` runs, for Python ops scripts and services: any source
/// kind, the call-logger API or a JSON-lines file, file or PostgreSQL checkpoints, the
/// quarantine; as a service (`start()`) also the call-group monitor and HA leadership.
/// Checkpoints only past acknowledged calls. The GIL is released while it works.
///
/// ```python
/// s = pbx.Sideloader("sideloader.yml")   # or a pbx.Config
/// print(s.run_once()["text"])            # one drain; raises if calls are left behind
/// s.start(); ...; s.stop()               # the service on a background thread
/// ```
#[pyclass(name = "Sideloader", module = "pbx", frozen)]
pub(crate) struct PySideloader {
    runtime: tokio::runtime::Runtime,
    slot: Mutex<Slot>,
    handle: SideloaderHandle,
}

impl PySideloader {
    fn take_idle(&self) -> PyResult<Box<Sideloader>> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        match std::mem::replace(&mut *slot, Slot::Busy) {
            Slot::Idle(s) => Ok(s),
            other => {
                *slot = other;
                Err(busy())
            }
        }
    }

    fn put(&self, s: Slot) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = s;
    }

    /// Runs `work` (a drain or a backfill) to its end with the GIL released, checking for
    /// signals every 50 ms as Python does between bytecodes: on Ctrl-C (a signal handler
    /// raising, `KeyboardInterrupt` by default) the run is stopped as `pbx-sideloader` stops
    /// on SIGINT — no new call starts, the calls in flight finish, the checkpoint is saved
    /// — and then the handler's exception is returned instead of the run's result.
    fn interruptible<T: Send>(
        &self,
        py: Python<'_>,
        work: impl std::future::Future<Output = T> + Send,
    ) -> Result<T, PyErr> {
        let handle = &self.handle;
        let mut interrupted: Option<PyErr> = None;
        let out = py.detach(|| {
            self.runtime.block_on(async {
                let mut work = std::pin::pin!(work);
                let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        out = &mut work => return out,
                        _ = tick.tick(), if interrupted.is_none() => {
                            if let Err(e) = Python::attach(|py| py.check_signals()) {
                                handle.stop();
                                interrupted = Some(e);
                            }
                        }
                    }
                }
            })
        });
        match interrupted {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

#[pymethods]
impl PySideloader {
    /// A sideloader for a `Config` or the path of a YAML configuration (read as
    /// `Config.load(path)`: `OSError`, `ConfigError` with every problem in `issues`). Builds
    /// the source (a socket source starts listening here), the sink and the checkpoint
    /// store, and reads XAPI users with `extensions_from_xapi`. A part that cannot be built
    /// raises `ConfigError` (kind `config`) with `pbx-sideloader`'s message.
    #[new]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let config = match config.cast::<PyConfig>() {
            Ok(c) => c.get().inner.clone(),
            Err(_) => {
                let path: PathBuf = crate::arg::config(config)?;
                PyConfig::load(py, path, None)?.inner
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pbx-sideloader")
            .enable_all()
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the runtime: {e}")))?;
        let built = py
            .detach(|| runtime.block_on(Sideloader::from_config(&config)))
            .map_err(|e| to_py(py, &e))?;
        Ok(PySideloader {
            runtime,
            handle: built.handle(),
            slot: Mutex::new(Slot::Idle(Box::new(built))),
        })
    }

    /// Reads the source until it is drained, once (`pbx-sideloader --once`), and returns the
    /// summary of this drain. Raises `PbxError` — never returns with calls left behind —
    /// with `kind` `auth_failed` (credentials refused), `unavailable` (the call API kept
    /// failing), `checkpoint` or `quarantine`; kind `busy` while started. Ctrl-C stops the
    /// drain as `pbx-sideloader` stops on SIGINT (the calls in flight finish, the checkpoint
    /// is saved at the last acknowledged call) and raises `KeyboardInterrupt`.
    fn run_once<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut sideloader = self.take_idle()?;
        let result = self.interruptible(py, sideloader.once());
        self.put(Slot::Idle(sideloader));
        let s: Summary = result?.map_err(|e| to_py(py, &e))?;
        let d = counters_dict(py, &s.counters)?;
        d.set_item("checkpoint", s.checkpoint.as_deref())?;
        d.set_item("sink", &s.sink)?;
        d.set_item("text", s.to_string())?;
        Ok(d)
    }

    /// Delivers the calls that started between `from_` and `to` (`pbx-sideloader backfill`):
    /// each bound a day (`YYYY-MM-DD` in `pbx.timezone`, both days included) or an RFC 3339
    /// instant (`to` excluded). A database source reads only that range. The backfill keeps
    /// its own checkpoint (the service's is untouched), so the same backfill run again
    /// resumes where it stopped and delivers each call once. Returns the summary
    /// (`run_once()`'s keys, `text` being `pbx-sideloader backfill`'s line, plus `from`/`to`
    /// as RFC 3339 instants, `calls` and `elapsed_secs`). Raises `ConfigError` (kind
    /// `invalid_setting`, the issue at `from` or `to`) for a bound that does not parse or an
    /// empty range; `PbxError` when the backfill stopped before its end (kinds as
    /// `run_once()`'s): run it again to resume. Ctrl-C stops it as it stops `run_once()`
    /// and raises `KeyboardInterrupt`; the same backfill run again resumes.
    fn backfill<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = crate::arg::from_)] from_: String,
        #[pyo3(from_py_with = crate::arg::to)] to: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut sideloader = self.take_idle()?;
        let range = match TimeRange::parse(&from_, &to, sideloader.config().timezone) {
            Ok(r) => r,
            Err(e) => {
                self.put(Slot::Idle(sideloader));
                return Err(crate::error::to_py(py, e));
            }
        };
        let report = self.interruptible(py, sideloader.backfill(range, |_| {}));
        self.put(Slot::Idle(sideloader));
        let report = report?;
        if let Some(e) = &report.error {
            return Err(to_py(py, e));
        }
        let d = counters_dict(py, &report.summary.counters)?;
        d.set_item("checkpoint", report.summary.checkpoint.as_deref())?;
        d.set_item("sink", &report.summary.sink)?;
        d.set_item("text", report.to_string())?;
        d.set_item("from", report.range.from().to_rfc3339())?;
        d.set_item("to", report.range.to().to_rfc3339())?;
        d.set_item("calls", report.calls())?;
        d.set_item("elapsed_secs", report.elapsed.as_secs_f64())?;
        Ok(d)
    }

    /// Starts the service on a background thread: delivers as a stream while there is more
    /// to read, then polls every `polling.interval_secs`, each failed call retried on its own
    /// timer and outages waited out; the group
    /// monitor and HA leadership when configured. Raises `PbxError` (kind `busy`) when it
    /// already runs.
    fn start(&self) -> PyResult<()> {
        let mut sideloader = self.take_idle()?;
        let (shutdown, rx) = watch::channel(false);
        let task = self.runtime.spawn(async move {
            let result = sideloader.run(rx).await;
            (sideloader, result)
        });
        self.put(Slot::Running(Running { shutdown, task }));
        Ok(())
    }

    /// Stops the service: no new call starts, the calls in flight finish (10 s at most) and
    /// the checkpoint is saved at the last acknowledged call.
    /// Returns the status; raises `PbxError` when delivery had stopped on an error
    /// (credentials refused, the checkpoint store failed). Returns at once when not running.
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let running = {
            let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
            match std::mem::replace(&mut *slot, Slot::Busy) {
                Slot::Running(r) => Some(r),
                other => {
                    *slot = other;
                    None
                }
            }
        };
        if let Some(Running { shutdown, task }) = running {
            let _ = shutdown.send(true);
            let joined = py.detach(|| self.runtime.block_on(task));
            let (sideloader, result) = joined
                .map_err(|e| PyRuntimeError::new_err(format!("the sideloader task failed: {e}")))?;
            self.put(Slot::Idle(sideloader));
            result.map_err(|e| to_py(py, &e))?;
        }
        self.status(py)
    }

    /// The counters, the checkpoint, the last error and (with `ha`) the leadership, now.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let running = matches!(
            &*self.slot.lock().unwrap_or_else(PoisonError::into_inner),
            Slot::Running(r) if !r.task.is_finished()
        );
        let s = self.handle.status();
        let d = counters_dict(py, &s.engine.counters)?;
        d.set_item("running", running)?;
        d.set_item("checkpoint", s.engine.checkpoint.as_deref())?;
        d.set_item("last_error", s.engine.last_error.as_deref())?;
        d.set_item("stopped", s.engine.stopped.as_deref())?;
        d.set_item("leader", s.leader)?;
        Ok(d)
    }

    /// Explains one call (`pbx-sideloader explain ID`): reads it from the configured source
    /// by `id` (a `pbxCallId`, a 3CX history id or call id; for database sources also a
    /// `main_call_history_id`, a leg's `cdr_id` or a row id) or, for a CDR text source, by
    /// `line`, and returns the decision trail as `CallMapper.explain` does, with `delivery`
    /// (the stored `checkpoint`, `position` `before_checkpoint` / `after_checkpoint` /
    /// `no_checkpoint`, `quarantined` with its reason, `summary`) and `text`; `None` when the
    /// source has no such call. Works while the service runs. Raises `ConfigError` for
    /// `line` on a database source, `PbxError` when the source cannot be read.
    #[pyo3(signature = (id = None, line = None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        id: Option<String>,
        line: Option<u64>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let query = match (id, line) {
            (_, Some(n)) => CallQuery::Line(n),
            (Some(id), None) => CallQuery::parse(&id),
            (None, None) => {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "explain: give an id or line=N",
                ));
            }
        };
        let handle = self.handle.clone();
        let found = py.detach(|| self.runtime.block_on(handle.explain(&query)));
        match found {
            Ok(Some(e)) => {
                let text = e.to_string();
                crate::call::explanation_dict(py, &e, text).map(Some)
            }
            Ok(None) => Ok(None),
            Err(e) => Err(to_py(py, &e)),
        }
    }

    /// Wakes the service to read the source now (`POST /trigger/poll`).
    fn trigger(&self) {
        self.handle.trigger_poll();
    }
}
