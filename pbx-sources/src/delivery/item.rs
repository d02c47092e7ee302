//! What the driver hands the scheduler: each record read, prepared by the pipeline, as an
//! [`Item`] (the call and what its quarantine entry needs); and the scheduler's settings and
//! seed from the engine's options.

use crate::DeliveryError;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use pbx_core::call::CallRequest;
use pbx_core::delivery::{
    Disposition, Incoming, Pipeline, QuarantineEntry, RunMode, SchedulerConfig,
};
use pbx_core::{Checkpoint, SourceRecord};

use super::{EngineOptions, Quarantine, Status};
use crate::Error;

/// What the scheduler carries for a record: the call to send (none for an unusable record)
/// and what its quarantine entry needs.
#[derive(Debug)]
pub(super) struct Item {
    pub(super) call: Option<CallRequest>,
    checkpoint: Checkpoint,
    location: String,
    raw: String,
}

/// The scheduler's settings from the engine's.
pub(super) fn scheduler_config(o: &EngineOptions, mode: RunMode) -> SchedulerConfig {
    SchedulerConfig {
        mode,
        batch_size: o.batch_size.max(1),
        concurrency: o.concurrency.max(1),
        window: o.window,
        poll_interval: o.poll_interval,
        backoff_base: o.backoff_base,
        backoff_cap: o.backoff_cap,
        max_attempts: o.max_attempts.max(1),
        poison_after: o.poison_after,
        retry_base: o.retry_base,
        retry_cap: o.retry_cap,
        max_retry_after: o.max_retry_after,
        save_interval: o.save_interval,
        save_every_calls: o.save_every_calls,
        shutdown_grace: o.shutdown_grace,
    }
}

/// A seed for the retry jitter from the operating system (else the time).
pub(super) fn os_seed() -> u64 {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    StdRng::try_from_rng(&mut rand::rngs::SysRng)
        .unwrap_or_else(|_| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            StdRng::seed_from_u64(nanos as u64)
        })
        .next_u64()
}

/// Prepares a batch read from the source: each record mapped (skips and unknown type words
/// noted for `/status`) and handed to the scheduler as a call, a skip or a bad record.
pub(super) fn prepare(
    pipeline: &Pipeline,
    options: &EngineOptions,
    status: &Mutex<Status>,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    records: &[SourceRecord],
) -> Vec<(Checkpoint, Incoming<Arc<Item>>)> {
    let range = options.range.as_ref();
    records
        .iter()
        .map(|record| {
            let p = pipeline.prepare_within(record, range);
            // A skip is final here: logged (and an unmapped owner counted) now; so are
            // unrecognised type words (each record is fetched once). The clock is read only
            // for those, not for every call.
            if matches!(p.disposition, Disposition::Skip(_)) || !p.unknown_type_words.is_empty() {
                super::skips::note_settled(status, std::iter::once(&p), clock());
            }
            let item = |call| {
                Arc::new(Item {
                    call,
                    checkpoint: p.checkpoint.clone(),
                    location: p.location.to_string(),
                    raw: p.raw.clone(),
                })
            };
            let incoming = match &p.disposition {
                Disposition::Deliver(call) => Incoming::Deliver(item(Some(call.clone()))),
                Disposition::Skip(reason) => Incoming::Skip(reason.clone()),
                Disposition::Quarantine { reason } => Incoming::Bad {
                    item: item(None),
                    reason: reason.clone(),
                },
                // A decision this engine does not know: kept in the quarantine, not lost.
                other => Incoming::Bad {
                    item: item(None),
                    reason: format!("a decision this engine does not know: {other:?}"),
                },
            };
            (p.checkpoint.clone(), incoming)
        })
        .collect()
}

/// Writes a quarantine entry off the runtime's threads (it fsyncs), before the record may
/// settle.
pub(super) async fn put_quarantine(
    quarantine: &Arc<dyn Quarantine>,
    entry: QuarantineEntry,
) -> Result<(), Error> {
    let q = Arc::clone(quarantine);
    tokio::task::spawn_blocking(move || q.put(&entry))
        .await
        .map_err(|e| {
            Error::Delivery(DeliveryError::Quarantine {
                source: std::io::Error::other(e),
            })
        })?
        .map_err(|source| Error::Delivery(DeliveryError::Quarantine { source }))
}

impl Item {
    /// The call's `pbxCallId`, or `-` for an unusable record.
    pub(super) fn id(&self) -> &str {
        self.call.as_ref().map_or("-", |c| c.pbx_call_id.as_str())
    }

    /// The call's start, for the lag metric.
    pub(super) fn start(&self) -> Option<&str> {
        self.call.as_ref().map(|c| c.timestamp.as_str())
    }

    /// Its quarantine entry, for `reason`, written `at`.
    pub(super) fn entry(&self, reason: String, at: DateTime<Utc>) -> QuarantineEntry {
        QuarantineEntry {
            at,
            checkpoint: self.checkpoint.to_string(),
            location: self.location.clone(),
            reason,
            record: self.raw.clone(),
        }
    }

    /// Where it came from.
    pub(super) fn location(&self) -> &str {
        &self.location
    }
}
