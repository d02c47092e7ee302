//! `Sideloader`: `pbx_sources::runtime::Service` — the lifecycle and views `pbx-sideloader`
//! and the Python binding share — on napi's tokio runtime. Every source kind, both sinks,
//! both checkpoint stores, the quarantine, XAPI users, the group monitor and HA leadership
//! are wired by the runtime from the configuration; this file only converts.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pbx_sources::Error as SideloaderError;
use pbx_sources::runtime::{self, Service};
use serde_json::Value;

use crate::args::arg;
use crate::call::explanation_value;
use crate::config::{Config, load};
use crate::error::{invalid_argument, rejection, throw};

/// A runtime view as a JS object: its fields in camelCase (`last_error` → `lastError`); the
/// keys of the maps inside (`skipped`, `failures`) as they are.
fn view<T: serde::Serialize>(v: &T) -> Result<Value> {
    let value = serde_json::to_value(v).map_err(|e| Error::from_reason(e.to_string()))?;
    Ok(crate::camel_keys(value))
}

/// A promise of `work`'s result shown by `show`, or rejected with its error (`Error::info`: a
/// pbx-core error as the rest of the package throws it, else the runtime's code and kind).
fn promise<'env, T: Send + 'static, V: ToNapiValue + 'static>(
    env: &'env Env,
    work: impl std::future::Future<Output = std::result::Result<T, SideloaderError>> + Send + 'static,
    show: impl FnOnce(T) -> Result<V> + 'static,
) -> Result<PromiseRaw<'env, V>> {
    env.spawn_future_with_callback(
        async move { Ok(work.await.map_err(|e| e.info())) },
        move |env, result| match result {
            Ok(v) => show(v),
            Err(info) => Err(rejection(env, &info)),
        },
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
    service: Service,
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
        let service = napi::bindgen_prelude::block_on(Service::from_config(config))
            .map_err(|e| throw(&env, e.info()))?;
        Ok(Sideloader { service })
    }

    /// Starts the service on the tokio runtime: delivers as a stream while there is more to read,
    /// then polls every `polling.interval_secs` (sooner when a CDR socket or file has news), each
    /// failed call retried on its own timer and outages waited out; the group monitor and HA
    /// leadership when configured. Throws `PBX_INVALID_STATE` when it already runs (or a `runOnce`
    /// is in progress).
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
        napi::bindgen_prelude::within_runtime_if_available(|| {
            self.service.start(move || drop(keep_alive))
        })
        .map_err(|e| throw(&env, e.info()))
    }

    /// Stops the service: no new call starts, the calls in flight finish (10 s at most) and
    /// the checkpoint is saved at the last acknowledged call.
    /// Resolves with the status; rejects with `PBX_SYNC_ERROR` when delivery had stopped on
    /// an error (credentials refused, the checkpoint store failed, leadership lost). Resolves
    /// at once when not running.
    #[napi(ts_return_type = "Promise<SideloaderStatus>")]
    pub fn stop<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Value>> {
        promise(env, self.service.stop(), |v| view(&v))
    }

    /// Reads the source until it is drained, once (`pbx-sideloader --once`), and resolves
    /// with the summary of this drain. Rejects — never resolves with calls left behind —
    /// with `PBX_SYNC_ERROR`: kind `auth_failed` (credentials refused), `unavailable` (the
    /// call API kept failing), `checkpoint`, `quarantine`; `PBX_INVALID_STATE` while started.
    #[napi(ts_return_type = "Promise<SideloaderSummary>")]
    pub fn run_once<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Value>> {
        promise(env, self.service.once(), |v| view(&v))
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
    ) -> Result<PromiseRaw<'env, Value>> {
        let from: String = arg(env, "Sideloader.backfill", "from", from)?;
        let to: String = arg(env, "Sideloader.backfill", "to", to)?;
        promise(env, self.service.backfill(&from, &to), |v| view(&v))
    }

    /// The counters, the checkpoint, the last error and (with `ha`) the leadership, now.
    #[napi(ts_return_type = "SideloaderStatus")]
    pub fn status(&self) -> Result<Value> {
        view(&self.service.status())
    }

    /// Explains one call (`pbx-sideloader explain ID`): reads it from the configured source
    /// by `id` (a `pbxCallId`, a 3CX history id or call id; for database sources also a
    /// `main_call_history_id`, a leg's `cdr_id` or a row id) or, for a CDR text source, by
    /// `line`, and resolves with its `CallExplanation` (`CallMapper.explain`'s, with
    /// `delivery`); `null` when the source has no such call. Works while the service runs.
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
        let query = runtime::CallQuery::from_parts(id.as_deref(), line.map(u64::from))
            .ok_or_else(|| invalid_argument(env, "Sideloader.explain: give an id or a line"))?;
        promise(env, self.service.explain(query), |found| {
            let explained =
                found.map(|e| explanation_value(serde_json::to_value(&e), e.to_string()));
            explained.transpose()
        })
    }

    /// Wakes the service to read the source now (`POST /trigger/poll`).
    #[napi]
    pub fn trigger(&self) {
        self.service.trigger();
    }
}
