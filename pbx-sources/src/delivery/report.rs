//! What the running engine tells people: the shared [`Status`] (`/status`, `/metrics`, the
//! bindings' progress callback) and the logs. The scheduler decides; this only reports its
//! counters and the events the driver saw, live during a run.

use crate::DeliveryError;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pbx_core::delivery::{Counters, RunMode, Scheduler};
use pbx_core::{Checkpoint, DeliveryOutcome};
use tokio::time::Instant;

use super::item::Item;
use super::{SourceHealth, Status};
use crate::BoxError;
use crate::misconfigured::Misconfigured;

/// How often the service repeats the `error` log of a misconfigured source that stays so.
const MISCONFIGURED_LOG_EVERY: Duration = Duration::from_secs(300);
/// The least time between two progress callbacks during a run.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// The least time between two "delivery failed" warnings (the others are counted).
const WARN_EVERY: Duration = Duration::from_secs(5);

/// The engine's reporter for one run.
pub(super) struct Report<'a> {
    status: &'a Arc<Mutex<Status>>,
    /// The counters before this run (a status outlives runs: `run_once` again adds to it).
    base: Counters,
    /// What was published last: the scheduler's counters and last error.
    counted: Counters,
    error: Option<String>,
    newest: Option<String>,
    last_progress: Option<Instant>,
    last_warn: Option<Instant>,
    warns_held: u64,
    misconfigured_said: Option<(Misconfigured, Instant)>,
    probe_every: Duration,
}

impl<'a> Report<'a> {
    pub(super) fn new(status: &'a Arc<Mutex<Status>>, probe_every: Duration) -> Self {
        let base = lock(status).counters.clone();
        Report {
            status,
            base,
            counted: Counters::default(),
            error: None,
            newest: None,
            last_progress: None,
            last_warn: None,
            warns_held: 0,
            misconfigured_said: None,
            probe_every,
        }
    }

    fn with(&self, f: impl FnOnce(&mut Status)) {
        f(&mut lock(self.status));
    }

    /// Publishes the scheduler's counters and last error when they changed, and calls
    /// `progress` (at most every 100 ms) when records settled.
    pub(super) fn publish(
        &mut self,
        sched: &Scheduler<Arc<Item>>,
        progress: &mut (dyn FnMut(&Status) + Send),
    ) {
        let counters = sched.counters();
        let error = sched.last_error();
        let moved = counters.received != self.counted.received;
        if counters == &self.counted && error == self.error.as_deref() {
            return;
        }
        let total = plus(&self.base, counters, self.newest.as_ref());
        let error_changed = error != self.error.as_deref();
        self.counted = counters.clone();
        if error_changed {
            self.error = error.map(str::to_owned);
        }
        let snapshot = {
            let mut s = lock(self.status);
            s.counters = total;
            if error_changed {
                s.last_error.clone_from(&self.error);
            }
            let due = self
                .last_progress
                .is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
            (moved && due).then(|| s.clone())
        };
        if let Some(snapshot) = snapshot {
            self.last_progress = Some(Instant::now());
            progress(&snapshot);
        }
    }

    /// An answer came for `item` (before the scheduler hears it).
    pub(super) fn answer(&mut self, item: &Item, outcome: &DeliveryOutcome) {
        match outcome {
            DeliveryOutcome::Delivered | DeliveryOutcome::Duplicate => {
                if let Some(start) = item.start()
                    && self.newest.as_deref().is_none_or(|n| n < start)
                {
                    self.newest = Some(start.to_owned());
                }
            }
            DeliveryOutcome::AuthFailed { status } => {
                let message = crate::Error::Delivery(DeliveryError::AuthFailed { status: *status })
                    .to_string();
                let first = lock(self.status).stopped.is_none();
                if first {
                    tracing::error!(
                        status,
                        "the call API refused the credentials; no further call is sent"
                    );
                }
                self.with(|s| s.stopped = Some(message));
            }
            _ => {}
        }
    }

    /// A failed attempt of `item` (after the scheduler heard it): a warning, at most one per
    /// five seconds with the number held back.
    pub(super) fn failed(&mut self, item: &Item, attempt: u32, outcome: &DeliveryOutcome) {
        let DeliveryOutcome::Retry { kind, reason, .. } = outcome else {
            return;
        };
        let now = Instant::now();
        if self.last_warn.is_some_and(|t| now < t + WARN_EVERY) {
            self.warns_held += 1;
            return;
        }
        self.last_warn = Some(now);
        tracing::warn!(
            pbx_call_id = %item.id(),
            attempt,
            reason = %reason,
            kind = kind.as_str(),
            similar_held_back = std::mem::take(&mut self.warns_held),
            "delivery failed; will try again"
        );
    }

    /// The outage state after an answer.
    pub(super) fn outage_changed(&self, was: bool, sched: &Scheduler<Arc<Item>>) {
        match (was, sched.in_outage()) {
            (false, true) => tracing::warn!(
                reason = sched.last_error().unwrap_or_default(),
                "the call API looks down (every recent call failed); backing off, nothing is quarantined meanwhile"
            ),
            (true, false) => tracing::info!("the call API answers again; delivery resumes"),
            _ => {}
        }
    }

    /// A call set aside as poison.
    pub(super) fn poison(&self, item: &Item, reason: &str) {
        tracing::warn!(
            pbx_call_id = %item.id(),
            location = %item.location(),
            reason,
            "poison call: it keeps failing while others are delivered; quarantined"
        );
    }

    /// A read succeeded.
    pub(super) fn source_ok(&mut self) {
        if self.misconfigured_said.take().is_some() {
            tracing::info!("the CDR source is readable again");
            self.with(|s| s.source = SourceHealth::Ok);
        }
    }

    /// A read failed in a way that may heal.
    pub(super) fn source_failed(&self, e: &BoxError) {
        tracing::warn!(error = %e, "CDR source failed; retrying");
    }

    /// A read failed in a way waiting will not heal: said once, again every few minutes or
    /// when it changes; `/health` is not ready meanwhile.
    pub(super) fn misconfigured(&mut self, diagnosis: &Misconfigured, mode: RunMode) {
        self.with(|s| s.source = SourceHealth::misconfigured(diagnosis));
        if mode == RunMode::Drain {
            return; // the run ends with this error
        }
        let now = Instant::now();
        let again = self.misconfigured_said.as_ref().is_none_or(|(said, when)| {
            said != diagnosis || now.saturating_duration_since(*when) >= MISCONFIGURED_LOG_EVERY
        });
        if again {
            tracing::error!(
                setting = diagnosis.setting(),
                problem = %diagnosis.problem(),
                "the CDR source is misconfigured: {diagnosis}; probing every {:?} until it is fixed",
                self.probe_every
            );
            self.misconfigured_said = Some((diagnosis.clone(), now));
        }
    }

    /// A checkpoint was saved.
    pub(super) fn saved(&self, cp: &Checkpoint) {
        let text = cp.to_string();
        self.with(|s| s.checkpoint = Some(text));
    }

    /// The run is over: the last counters, the checkpoint, one last progress call.
    pub(super) fn finished(
        &mut self,
        sched: &Scheduler<Arc<Item>>,
        checkpoint: Option<&Checkpoint>,
        progress: &mut (dyn FnMut(&Status) + Send),
    ) {
        self.publish(sched, &mut |_| {});
        let cp = checkpoint.map(ToString::to_string);
        let snapshot = {
            let mut s = lock(self.status);
            s.checkpoint = cp;
            s.clone()
        };
        progress(&snapshot);
    }
}

fn lock(status: &Mutex<Status>) -> std::sync::MutexGuard<'_, Status> {
    status.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `base` plus a run's counters; the newest call start is the run's, else the base's.
fn plus(base: &Counters, run: &Counters, newest: Option<&String>) -> Counters {
    let mut c = base.clone();
    c.received += run.received;
    c.delivered += run.delivered;
    c.duplicates += run.duplicates;
    c.quarantined += run.quarantined;
    c.retries += run.retries;
    c.auth_failures += run.auth_failures;
    c.poisoned += run.poisoned;
    for (k, v) in &run.skipped {
        *c.skipped.entry(k.clone()).or_default() += v;
    }
    for (k, v) in &run.failures {
        *c.failures.entry(k.clone()).or_default() += v;
    }
    if let Some(n) = newest {
        c.newest_call_start = Some(n.clone());
    }
    c
}
