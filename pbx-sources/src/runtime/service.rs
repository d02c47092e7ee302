//! [`Service`]: a [`Sideloader`] that several threads share — the lifecycle (idle, running,
//! lent to a drain) and its one rule, a drain or a start only when idle — with the views the
//! bindings show ([`StatusView`], [`SummaryView`], [`BackfillView`]). The Python and Node
//! bindings hold one and convert: neither keeps a lifecycle of its own.

use crate::DeliveryError;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use pbx_core::config::Config;
use pbx_core::delivery::{Counters, TimeRange};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{BackfillReport, CallExplanation, CallQuery, Sideloader, SideloaderHandle, Summary};
use crate::Error;

/// The service while it runs: how to stop it, and the task that gives the sideloader back.
struct Running {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<(Box<Sideloader>, Result<(), Error>)>,
}

/// Where the sideloader is: idle (here), running, or lent to a drain or backfill.
enum Slot {
    Idle(Box<Sideloader>),
    Running(Running),
    Busy,
}

type Shared = Arc<Mutex<Slot>>;

fn lock(slot: &Mutex<Slot>) -> std::sync::MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A [`Sideloader`] shared between threads: [`Service::start`] and [`Service::stop`] the
/// service, one drain ([`Service::once`]) or backfill at a time while it does not run
/// ([`Error::Busy`] otherwise), the status, `explain` and the poll trigger at any time. The
/// futures it returns own what they need (`'static`), so a host can run them on any tokio
/// runtime: its own (`block_on`) or one it shares.
///
/// ```no_run
/// # async fn demo(config: pbx_core::config::Config) -> Result<(), pbx_sources::Error> {
/// use pbx_sources::runtime::Service;
/// let service = Service::from_config(&config).await?;
/// let summary = service.once().await?;          // one drain
/// println!("{}", summary.text);
/// service.start(|| {})?;                          // the service, on this runtime
/// assert!(service.status().running);
/// let status = service.stop().await?;            // the checkpoint saved
/// println!("{} delivered", status.counters.delivered);
/// # Ok(()) }
/// ```
pub struct Service {
    slot: Shared,
    handle: SideloaderHandle,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("running", &self.running())
            .finish_non_exhaustive()
    }
}

/// The counters, the checkpoint, the last error and (with `ha`) the leadership, now: what
/// the bindings' `status()` returns.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct StatusView {
    /// Whether the service runs (between `start` and `stop`, until it stops on an error).
    pub running: bool,
    /// What delivery counted since the sideloader was built.
    #[serde(flatten)]
    pub counters: Counters,
    /// The saved checkpoint (the source's position), `None` before the first one.
    pub checkpoint: Option<String>,
    /// The last error (a failed delivery or read; the engine retries).
    pub last_error: Option<String>,
    /// Set when delivery stopped for good.
    pub stopped: Option<String>,
    /// With `ha`: whether this instance holds the leadership lock.
    pub leader: Option<bool>,
}

/// What one drain did: `pbx-sideloader --once`'s summary, with its line as `text`.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SummaryView {
    /// What this drain counted.
    #[serde(flatten)]
    pub counters: Counters,
    /// The checkpoint saved at the end.
    pub checkpoint: Option<String>,
    /// Where the calls went: the API's base URL or the JSON-lines file.
    pub sink: String,
    /// The line `pbx-sideloader` prints (without its `pbx-sideloader: `).
    pub text: String,
}

impl From<&Summary> for SummaryView {
    fn from(s: &Summary) -> Self {
        SummaryView {
            counters: s.counters.clone(),
            checkpoint: s.checkpoint.clone(),
            sink: s.sink.clone(),
            text: s.to_string(),
        }
    }
}

/// What one backfill did: `pbx-sideloader backfill`'s summary.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct BackfillView {
    /// The counters, the backfill's own checkpoint, the sink, and
    /// `pbx-sideloader backfill`'s line as `text`.
    #[serde(flatten)]
    pub summary: SummaryView,
    /// The first instant of the range (RFC 3339, UTC).
    pub from: String,
    /// The first instant after the range (RFC 3339, UTC).
    pub to: String,
    /// Calls the API answered for (`delivered + duplicates`).
    pub calls: u64,
    /// How long it ran, in seconds.
    pub elapsed_secs: f64,
}

impl From<&BackfillReport> for BackfillView {
    fn from(r: &BackfillReport) -> Self {
        BackfillView {
            summary: SummaryView {
                text: r.to_string(),
                ..SummaryView::from(&r.summary)
            },
            from: r.range.from().to_rfc3339(),
            to: r.range.to().to_rfc3339(),
            calls: r.calls(),
            elapsed_secs: r.elapsed.as_secs_f64(),
        }
    }
}

/// The idle sideloader, the slot left `Busy` until it is put back; `None` (the slot as it
/// was) while the service runs or the sideloader is lent out.
fn take_idle(slot: &mut Slot) -> Option<Box<Sideloader>> {
    match std::mem::replace(slot, Slot::Busy) {
        Slot::Idle(s) => Some(s),
        other => {
            *slot = other;
            None
        }
    }
}

/// Lends the idle sideloader to `work` and puts it back when `work` is done.
fn lend<T, F>(
    slot: &Shared,
    work: impl FnOnce(Box<Sideloader>) -> F + Send + 'static,
) -> impl Future<Output = Result<T, Error>> + Send + 'static
where
    F: Future<Output = (Box<Sideloader>, Result<T, Error>)> + Send,
    T: Send + 'static,
{
    let taken = take_idle(&mut lock(slot));
    let slot = Arc::clone(slot);
    async move {
        let sideloader = taken.ok_or(Error::Busy)?;
        let (sideloader, result) = work(sideloader).await;
        *lock(&slot) = Slot::Idle(sideloader);
        result
    }
}

impl Service {
    /// Builds the sideloader `config` describes ([`Sideloader::from_config`]).
    ///
    /// # Errors
    /// [`Sideloader::from_config`]'s.
    pub async fn from_config(config: &Config) -> Result<Self, Error> {
        let sideloader = Sideloader::from_config(config).await?;
        Ok(Service {
            handle: sideloader.handle(),
            slot: Arc::new(Mutex::new(Slot::Idle(Box::new(sideloader)))),
        })
    }

    /// Starts the service on the current tokio runtime ([`Sideloader::run`]); `on_end` runs
    /// when it ends (stopped, or stopped on an error).
    ///
    /// # Errors
    /// [`Error::Busy`] when it runs or a drain is in progress.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(&self, on_end: impl FnOnce() + Send + 'static) -> Result<(), Error> {
        let mut slot = lock(&self.slot);
        let Some(mut sideloader) = take_idle(&mut slot) else {
            return Err(Error::Busy);
        };
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            let result = sideloader.run(rx).await;
            on_end();
            (sideloader, result)
        });
        *slot = Slot::Running(Running { shutdown, task });
        Ok(())
    }

    /// Stops the service — no new call starts, the calls in flight finish and the checkpoint
    /// is saved at the last acknowledged call — and returns the status; at once when it does
    /// not run.
    ///
    /// # Errors
    /// The error delivery had stopped on (credentials refused, the checkpoint store failed,
    /// leadership lost); [`DeliveryError::Panicked`] when its task panicked.
    pub fn stop(&self) -> impl Future<Output = Result<StatusView, Error>> + Send + 'static {
        let running = {
            let mut slot = lock(&self.slot);
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
        async move {
            if let Some(Running { shutdown, task }) = running {
                let _ = shutdown.send(true);
                let (sideloader, result) = task.await.map_err(|e| {
                    Error::Delivery(DeliveryError::Panicked {
                        during: "the service",
                        message: e.to_string(),
                    })
                })?;
                *lock(&slot) = Slot::Idle(sideloader);
                result?;
            }
            Ok(status_view(&handle, false))
        }
    }

    /// Reads the source until it is drained, once ([`Sideloader::once`]).
    ///
    /// # Errors
    /// [`Error::Busy`] while the service runs or another drain is in progress;
    /// [`Sideloader::once`]'s.
    pub fn once(&self) -> impl Future<Output = Result<SummaryView, Error>> + Send + 'static {
        lend(&self.slot, |mut s| async move {
            let result = s.once().await.map(|summary| SummaryView::from(&summary));
            (s, result)
        })
    }

    /// Delivers the calls that started between `from` and `to` ([`Sideloader::backfill`]),
    /// each a day (`YYYY-MM-DD` in `pbx.timezone`, both days included) or an RFC 3339
    /// instant (`to` excluded).
    ///
    /// # Errors
    /// [`Error::Core`] (op `backfill`) holding the `InvalidSetting` error of a bound that
    /// does not parse or an empty range; [`Error::Busy`]; the error the backfill stopped on
    /// (run it again to resume).
    pub fn backfill(
        &self,
        from: &str,
        to: &str,
    ) -> impl Future<Output = Result<BackfillView, Error>> + Send + 'static {
        let (from, to) = (from.to_owned(), to.to_owned());
        lend(&self.slot, move |mut s| async move {
            let range = match TimeRange::parse(&from, &to, s.config().timezone) {
                Ok(range) => range,
                Err(source) => {
                    let op = "backfill".to_owned();
                    return (s, Err(Error::Core { op, source }));
                }
            };
            let mut report = s.backfill(range, |_| {}).await;
            let result = match report.error.take() {
                Some(e) => Err(e),
                None => Ok(BackfillView::from(&report)),
            };
            (s, result)
        })
    }

    /// Whether the service runs now.
    pub fn running(&self) -> bool {
        matches!(&*lock(&self.slot), Slot::Running(r) if !r.task.is_finished())
    }

    /// The status now.
    pub fn status(&self) -> StatusView {
        status_view(&self.handle, self.running())
    }

    /// Explains one call ([`SideloaderHandle::explain`]); works while the service runs.
    ///
    /// # Errors
    /// [`SideloaderHandle::explain`]'s.
    pub fn explain(
        &self,
        query: CallQuery,
    ) -> impl Future<Output = Result<Option<CallExplanation>, Error>> + Send + 'static {
        let handle = self.handle.clone();
        async move { handle.explain(&query).await }
    }

    /// Wakes the service to read the source now (`POST /trigger/poll`).
    pub fn trigger(&self) {
        self.handle.trigger_poll();
    }

    /// Stops a drain or backfill in progress ([`SideloaderHandle::stop`]): it ends with
    /// [`DeliveryError::Interrupted`] once the calls in flight finished and the checkpoint is
    /// saved.
    pub fn interrupt(&self) {
        self.handle.stop();
    }
}

fn status_view(handle: &SideloaderHandle, running: bool) -> StatusView {
    let s = handle.status();
    StatusView {
        running,
        counters: s.engine.counters,
        checkpoint: s.engine.checkpoint,
        last_error: s.engine.last_error,
        stopped: s.engine.stopped,
        leader: s.leader,
    }
}
