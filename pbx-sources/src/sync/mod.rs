//! The sync engine: source → pbx-core → call sink, with checkpoints after acknowledgement.
//!
//! A short driver loop around [`pbx_core::sync`]: fetch a batch after the saved checkpoint,
//! let the core decide each record, deliver the calls with bounded concurrency (in source
//! order), quarantine what cannot be used, and save the checkpoint of the leading run of
//! settled records — never past a call the API has not acknowledged. Calls after an
//! unsettled one are fetched again next round; those already answered for good are not sent
//! again while the engine runs, and after a restart the API's 409 makes a re-send harmless
//! (at-least-once delivery, exactly-once storage by `pbxCallId`).
//!
//! **Backfill.** With [`EngineOptions::range`] set, calls outside the [`TimeRange`] are
//! skipped (reason `outside_range`) before they are mapped — whatever the source. A source
//! that can narrow its own query (a database source: `time_start` in the range) should take
//! the same range when it is built, so it reads less; the engine's filter stays, so a source
//! that cannot narrow (the CDR file) is still correct. A backfill should use its own
//! [`EngineOptions::checkpoint_key`] (the sideloader uses `backfill:<from>/<to>`): it resumes
//! where it stopped after a crash, and never moves the live checkpoint.
//!
//! **Extension map refresh.** [`Engine::with_extension_directory`] asks a
//! [`ExtensionDirectory`] (say XAPI `/Users`, which caches for its own refresh interval)
//! before every round and maps calls with its map merged with the configured one (the
//! configured entries win). When the directory fails, the last map is kept.

mod groups;
mod quarantine;
mod skips;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream;
use pbx_core::call::CallRequest;
use pbx_core::extensions::ExtensionMap;
use pbx_core::sync::{
    Counters, Disposition, Outcome, Pipeline, QuarantineEntry, TimeRange, final_prefix,
};
use pbx_core::{
    CallSink, CdrSource, Checkpoint, CheckpointStore, DeliveryOutcome, ExtensionDirectory,
};
use serde::Serialize;
use tokio::sync::{Notify, watch};

pub use groups::{CheckReport, GroupLoop, MonitorError, STATE_KEY};
pub use quarantine::{FileQuarantine, MemoryQuarantine, Quarantine, ReplayReport, replay};

/// Why the engine stopped or a round failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The source failed (connection lost, query failed); the round is retried later.
    #[error("the CDR source failed: {0}")]
    Source(String),
    /// The checkpoint could not be loaded or saved; delivery stops rather than risk a resend
    /// storm or a gap.
    #[error("the checkpoint store failed: {0}")]
    Checkpoint(String),
    /// A record could not be written to the quarantine; the checkpoint does not move past it.
    #[error("cannot write the quarantine: {0}")]
    Quarantine(#[from] std::io::Error),
    /// The call API refused our credentials (401/403): fix the token and restart.
    #[error("the call API refused the credentials (HTTP {status}); delivery stopped")]
    AuthFailed {
        /// The HTTP status.
        status: u16,
    },
}

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// The checkpoint store's key for this source.
    pub checkpoint_key: String,
    /// Records fetched per round (default 500).
    pub batch_size: usize,
    /// Calls in flight at once (default 4).
    pub concurrency: usize,
    /// Wait between rounds when the source had nothing more (default 30 s).
    pub poll_interval: Duration,
    /// First wait after a failed round (default 1 s); doubles per failure.
    pub backoff_base: Duration,
    /// Longest wait after failed rounds (default 60 s).
    pub backoff_cap: Duration,
    /// Only calls in this range are delivered; the others are skipped with reason
    /// `outside_range` (a backfill; default none: every call).
    pub range: Option<TimeRange>,
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
    /// The last error, if the last round failed.
    pub last_error: Option<String>,
    /// Set when delivery stopped for good (credentials refused).
    pub stopped: Option<String>,
    /// Extensions owning skipped calls without a user: count, first and last seen.
    pub unmapped: pbx_core::unmapped::UnmappedExtensions,
}

/// The result of one round.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Records fetched.
    pub fetched: usize,
    /// Records settled (the checkpoint moved past them).
    pub settled: usize,
    /// Some record must be retried; wait this long at least (the API's `Retry-After`).
    pub retry: Option<Duration>,
    /// The checkpoint after the round.
    pub checkpoint: Option<Checkpoint>,
}

/// The engine. Generic over pbx-core's traits; the clock is passed in (`now`).
pub struct Engine<S, K, C> {
    source: S,
    sink: Arc<K>,
    store: C,
    pipeline: Pipeline,
    quarantine: Arc<dyn Quarantine>,
    options: EngineOptions,
    checkpoint: Option<Checkpoint>,
    loaded: bool,
    status: Arc<Mutex<Status>>,
    trigger: Arc<Notify>,
    answered: std::collections::HashMap<String, DeliveryOutcome>,
    directory: Option<DirectoryRefresh>,
}

/// An extension directory asked before each round, and the configured map that wins over it.
struct DirectoryRefresh {
    directory: Box<dyn Directory>,
    overrides: ExtensionMap,
    /// The map last read, to tell when it changed.
    last: Option<ExtensionMap>,
}

/// [`ExtensionDirectory`] without its error type, so the engine can hold any.
#[async_trait::async_trait]
trait Directory: Send + Sync {
    async fn read(&self) -> Result<ExtensionMap, String>;
}

#[async_trait::async_trait]
impl<D: ExtensionDirectory> Directory for D {
    async fn read(&self) -> Result<ExtensionMap, String> {
        self.extensions().await.map_err(|e| e.to_string())
    }
}

impl<S, K, C> Engine<S, K, C>
where
    S: CdrSource,
    K: CallSink + 'static,
    C: CheckpointStore,
{
    /// An engine over a source, a sink and a checkpoint store.
    pub fn new(
        source: S,
        sink: Arc<K>,
        store: C,
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
            answered: std::collections::HashMap::new(),
            directory: None,
        }
    }

    /// Maps calls with the users of `directory`, asked before every round, merged with
    /// `overrides` (the configured map: its entries and its fallback win). The directory
    /// decides how often it really reads (XAPI's caches for `xapi.refresh_secs`); when it
    /// fails, the map in use is kept and a warning logged.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pbx_core::extensions::{ExtensionMap, User};
    /// use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore, MemorySource, StaticExtensionDirectory};
    /// use pbx_sources::sync::{Engine, EngineOptions, MemoryQuarantine};
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

    /// Asks the extension directory (if any) and updates the mapper when its map changed.
    async fn refresh_extensions(&mut self) {
        let Some(d) = &mut self.directory else {
            return;
        };
        match d.directory.read().await {
            Ok(map) => {
                if d.last.as_ref() != Some(&map) {
                    tracing::info!(
                        users = map.len(),
                        "extension map updated from the directory"
                    );
                    self.pipeline.mapper.extensions = map.clone().merged_with(&d.overrides);
                    d.last = Some(map);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the extension directory; keeping the map in use");
            }
        }
    }

    /// A handle on the status, shared with an HTTP status endpoint.
    pub fn status(&self) -> Arc<Mutex<Status>> {
        Arc::clone(&self.status)
    }

    /// Uses `trigger` as the engine's wake-up handle: a source that knows when it has new
    /// records (a CDR socket's journal, a watched file) notifies it, and the engine runs a
    /// round right away instead of waiting for `poll_interval`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pbx_core::memory::{MemoryCallSink, MemoryCheckpointStore, MemorySource};
    /// use pbx_sources::sync::{Engine, EngineOptions, MemoryQuarantine};
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

    /// A handle that wakes the engine for a round now (`POST /trigger/poll`).
    pub fn trigger(&self) -> Arc<Notify> {
        Arc::clone(&self.trigger)
    }

    fn with_status<T>(&self, f: impl FnOnce(&mut Status) -> T) -> T {
        f(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// One round: fetch, decide, deliver, quarantine, save the checkpoint.
    ///
    /// # Errors
    /// [`SyncError`]; the checkpoint never moves past an unsettled record.
    pub async fn round(&mut self, now: DateTime<Utc>) -> Result<Round, SyncError> {
        if !self.loaded {
            self.checkpoint = self
                .store
                .load(&self.options.checkpoint_key)
                .await
                .map_err(|e| SyncError::Checkpoint(e.to_string()))?;
            self.loaded = true;
        }
        self.refresh_extensions().await;
        let records = self
            .source
            .fetch(self.checkpoint.as_ref(), self.options.batch_size)
            .await
            .map_err(|e| SyncError::Source(e.to_string()))?;
        let range = self.options.range.as_ref();
        let prepared: Vec<_> = records
            .iter()
            .map(|r| self.pipeline.prepare_within(r, range))
            .collect();

        // Deliver the calls in source order, `concurrency` at a time — except those answered
        // for good in an earlier round behind a call that was not (kept in `answered`).
        let sink = Arc::clone(&self.sink);
        let mut answered = std::mem::take(&mut self.answered);
        let work: Vec<Result<DeliveryOutcome, CallRequest>> = prepared
            .iter()
            .filter_map(|p| match &p.disposition {
                Disposition::Deliver(call) => Some(
                    answered
                        .remove(&call.pbx_call_id)
                        .ok_or_else(|| call.clone()),
                ),
                _ => None,
            })
            .collect();
        let mut answers = stream::iter(work)
            .map(|known| {
                let sink = Arc::clone(&sink);
                async move {
                    match known {
                        Ok(answer) => answer,
                        Err(call) => sink.deliver(&call).await,
                    }
                }
            })
            .buffered(self.options.concurrency.max(1))
            .collect::<Vec<DeliveryOutcome>>()
            .await
            .into_iter();

        let mut outcomes = Vec::with_capacity(prepared.len());
        // Why each quarantined record is quarantined.
        let mut reasons: Vec<Option<String>> = Vec::with_capacity(prepared.len());
        let mut retry_after: Option<Duration> = None;
        let mut auth_status: Option<u16> = None;
        for p in &prepared {
            let (outcome, reason) = match &p.disposition {
                Disposition::Skip(reason) => (Outcome::Skipped(reason.clone()), None),
                Disposition::Quarantine { reason } => (Outcome::Quarantined, Some(reason.clone())),
                Disposition::Deliver(_) => {
                    let answer = answers.next().unwrap_or(DeliveryOutcome::Retry {
                        reason: "no answer".into(),
                        after: None,
                    });
                    let reason = match &answer {
                        DeliveryOutcome::Rejected { status, body } => {
                            Some(format!("the call API rejected it (HTTP {status}): {body}"))
                        }
                        DeliveryOutcome::Retry { after, .. } => {
                            let wait = after.unwrap_or_default();
                            retry_after = Some(retry_after.map_or(wait, |w| w.max(wait)));
                            None
                        }
                        DeliveryOutcome::AuthFailed { status } => {
                            auth_status.get_or_insert(*status);
                            None
                        }
                        _ => None,
                    };
                    (Outcome::from(answer), reason)
                }
                // A decision this engine does not know: never settle it.
                _ => (Outcome::Retry, None),
            };
            outcomes.push((p.checkpoint.clone(), outcome));
            reasons.push(reason);
        }

        // Settle the leading run of final outcomes: quarantine, count, save.
        let settled = outcomes.iter().take_while(|(_, o)| o.is_final()).count();
        // Remember the final answers behind the first unsettled record: they are not sent
        // again next round (after a restart they are, and the API answers 409).
        self.answered = prepared
            .iter()
            .zip(&outcomes)
            .skip(settled)
            .filter(|(_, (_, o))| o.is_final())
            .filter_map(|(p, (_, o))| match (&p.disposition, o) {
                (Disposition::Deliver(call), Outcome::Delivered) => {
                    Some((call.pbx_call_id.clone(), DeliveryOutcome::Delivered))
                }
                (Disposition::Deliver(call), Outcome::Duplicate) => {
                    Some((call.pbx_call_id.clone(), DeliveryOutcome::Duplicate))
                }
                _ => None,
            })
            .collect();
        for (i, p) in prepared.iter().enumerate().take(settled) {
            if matches!(outcomes[i].1, Outcome::Quarantined) {
                self.quarantine.put(&QuarantineEntry {
                    at: now,
                    checkpoint: p.checkpoint.to_string(),
                    location: p.location.to_string(),
                    reason: reasons[i].clone().unwrap_or_default(),
                    record: p.raw.clone(),
                })?;
            }
        }
        skips::note_settled(&self.status, prepared.iter().take(settled), now);
        self.with_status(|s| {
            s.counters.received += settled as u64;
            for (i, (_, o)) in outcomes.iter().enumerate() {
                if i < settled || matches!(o, Outcome::Retry | Outcome::AuthFailed) {
                    s.counters.count(o);
                }
                if i < settled
                    && matches!(o, Outcome::Delivered | Outcome::Duplicate)
                    && let Disposition::Deliver(call) = &prepared[i].disposition
                {
                    s.counters.newest_call_start = Some(call.timestamp.clone());
                }
            }
        });
        if let Some(cp) = final_prefix(&outcomes) {
            self.store
                .save(&self.options.checkpoint_key, &cp)
                .await
                .map_err(|e| SyncError::Checkpoint(e.to_string()))?;
            self.checkpoint = Some(cp);
        }
        let checkpoint = self.checkpoint.clone();
        self.with_status(|s| {
            s.checkpoint = checkpoint.as_ref().map(ToString::to_string);
            s.last_error = None;
        });
        if let Some(status) = auth_status {
            return Err(SyncError::AuthFailed { status });
        }
        let retry = outcomes
            .iter()
            .any(|(_, o)| matches!(o, Outcome::Retry))
            .then(|| retry_after.unwrap_or_default());
        Ok(Round {
            fetched: prepared.len(),
            settled,
            retry,
            checkpoint,
        })
    }

    /// Runs rounds until `shutdown` turns true: immediately again while a full batch was
    /// settled, after `poll_interval` when the source is drained, with exponential backoff
    /// after failures. Waits end early on shutdown or a trigger; a round in progress is
    /// finished (its checkpoint saved) before returning.
    ///
    /// # Errors
    /// [`SyncError::AuthFailed`] (delivery cannot go on), and checkpoint or quarantine
    /// failures; source failures are retried.
    pub async fn run(
        &mut self,
        mut shutdown: watch::Receiver<bool>,
        clock: impl Fn() -> DateTime<Utc>,
    ) -> Result<(), SyncError> {
        let mut failures: u32 = 0;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let wait = match self.round(clock()).await {
                Ok(r) if r.retry.is_some() => {
                    failures = failures.saturating_add(1);
                    self.backoff(failures).max(r.retry.unwrap_or_default())
                }
                Ok(r) => {
                    failures = 0;
                    if r.fetched >= self.options.batch_size && r.settled == r.fetched {
                        continue;
                    }
                    self.options.poll_interval
                }
                Err(SyncError::Source(e)) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, "CDR source failed; retrying");
                    self.with_status(|s| s.last_error = Some(e));
                    self.backoff(failures)
                }
                Err(e) => {
                    self.with_status(|s| s.stopped = Some(e.to_string()));
                    return Err(e);
                }
            };
            let trigger = Arc::clone(&self.trigger);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = trigger.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        self.options
            .backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.options.backoff_cap)
    }
}
