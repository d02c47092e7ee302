//! `pbx.Sideloader` over `pbx_sources::runtime::Service` — the lifecycle and views
//! `pbx-sideloader` and the Node binding share — on a tokio runtime of its own. The GIL is
//! released while it works.

use std::path::PathBuf;

use pbx_sources::Error as SideloaderError;
use pbx_sources::runtime::{CallQuery, Service};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::config::PyConfig;
use crate::convert::to_py_json;

/// The error a Python caller sees: a pbx-core error as the rest of the package raises it;
/// otherwise its category's class (`ConfigError` for a part of the configuration that cannot
/// be built, else `PbxError`) with the runtime's `kind` and `code`.
fn to_py(py: Python<'_>, e: SideloaderError) -> PyErr {
    match e {
        SideloaderError::Core { source, .. } => crate::error::to_py(py, source),
        e => crate::error::raise(py, e.category(), e.kind().code(), e.to_string(), None),
    }
}

/// The sideloader `pbx-sideloader` runs (`pbx.pyi` documents its methods).
#[pyclass(name = "Sideloader", module = "pbx", frozen)]
pub(crate) struct PySideloader {
    runtime: tokio::runtime::Runtime,
    service: Service,
}

impl PySideloader {
    /// Runs `work` (a drain or a backfill) to its end with the GIL released, checking for
    /// signals every 50 ms as Python does between bytecodes: on Ctrl-C (a signal handler
    /// raising, `KeyboardInterrupt` by default) the run is stopped as `pbx-sideloader` stops
    /// on SIGINT — no new call starts, the calls in flight finish, the checkpoint is saved
    /// — and then the handler's exception is raised instead of the run's result; a view is
    /// returned as the dict `json.loads` gives for it.
    fn interruptible<'py, T: serde::Serialize + Send>(
        &self,
        py: Python<'py>,
        work: impl std::future::Future<Output = Result<T, SideloaderError>> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
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
                                self.service.interrupt();
                                interrupted = Some(e);
                            }
                        }
                    }
                }
            })
        });
        match interrupted {
            Some(e) => Err(e),
            None => to_py_json(py, &out.map_err(|e| to_py(py, e))?),
        }
    }
}

#[pymethods]
impl PySideloader {
    /// A sideloader for a `Config` or the path of a YAML configuration.
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
        let service = py
            .detach(|| runtime.block_on(Service::from_config(&config)))
            .map_err(|e| to_py(py, e))?;
        Ok(PySideloader { runtime, service })
    }

    /// Drains the source once (`pbx-sideloader --once`).
    fn run_once<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.interruptible(py, self.service.once())
    }

    /// Delivers the calls that started between `from_` and `to` (`pbx-sideloader backfill`).
    fn backfill<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = crate::arg::from_)] from_: String,
        #[pyo3(from_py_with = crate::arg::to)] to: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.interruptible(py, self.service.backfill(&from_, &to))
    }

    /// Runs the service on a background thread until `stop()`.
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        let _entered = self.runtime.enter();
        self.service.start(|| {}).map_err(|e| to_py(py, e))
    }

    /// Stops the service and returns its status.
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stopped = py.detach(|| self.runtime.block_on(self.service.stop()));
        to_py_json(py, &stopped.map_err(|e| to_py(py, e))?)
    }

    /// The counters, the checkpoint, the last error and (with `ha`) the leadership, now.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_json(py, &self.service.status())
    }

    /// Explains one call read from the configured source (`pbx-sideloader explain`).
    #[pyo3(signature = (id = None, line = None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        id: Option<String>,
        line: Option<u64>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let query = CallQuery::from_parts(id.as_deref(), line).ok_or_else(|| {
            pyo3::exceptions::PyTypeError::new_err("explain: give an id or line=N")
        })?;
        let found = py.detach(|| self.runtime.block_on(self.service.explain(query)));
        match found.map_err(|e| to_py(py, e))? {
            Some(e) => crate::call::explanation_dict(py, &e, e.to_string()).map(Some),
            None => Ok(None),
        }
    }

    /// Wakes the service to read the source now (`POST /trigger/poll`).
    fn trigger(&self) {
        self.service.trigger();
    }
}
