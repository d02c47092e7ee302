//! The delivery engine's I/O: it runs a [`Scheduler`] — reads the source, sends calls, saves
//! checkpoints and writes quarantine entries when the scheduler asks, tells it what happened
//! with the time it happened, and sleeps until its next timeout. Every decision (windows,
//! retries, `Retry-After` caps, outages, poison calls, saves, giving up, stopping) is the
//! scheduler's, so the deterministic simulation (`pbx-core/tests/delivery_sim.rs`) covers
//! the engine that runs.

use crate::DeliveryError;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use pbx_core::delivery::{Action, Pipeline, RunMode, Scheduler, Stopped};
use pbx_core::{CallSink, CdrSource, Checkpoint, CheckpointStore, DeliveryOutcome, SourceRecord};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::item::{Item, os_seed, prepare, put_quarantine, scheduler_config};
use super::report::Report;
use super::{DirectoryRefresh, EngineOptions, Quarantine, Status, refresh_extensions};
use crate::misconfigured::Misconfigured;
use crate::{BoxError, Error};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A read in progress: it holds the source and hands it back with the records.
type Fetch<'a, S> = BoxFuture<'a, (&'a mut S, Result<Vec<SourceRecord>, BoxError>)>;

/// The engine's parts the driver works with.
pub(super) struct Parts<'a, Source, Sink: ?Sized, Store> {
    pub source: &'a mut Source,
    pub sink: Arc<Sink>,
    pub store: &'a Store,
    pub pipeline: &'a mut Pipeline,
    pub quarantine: Arc<dyn Quarantine>,
    pub options: &'a EngineOptions,
    pub checkpoint: &'a mut Option<Checkpoint>,
    pub status: &'a Arc<Mutex<Status>>,
    pub trigger: Arc<Notify>,
    pub directory: &'a mut Option<DirectoryRefresh>,
}

/// Awaits the future in `slot`, or never when there is none.
async fn maybe<F: Future + Unpin>(slot: &mut Option<F>) -> F::Output {
    match slot {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// A call's answer, with what the reports need.
type Answered = (u64, Arc<Item>, DeliveryOutcome);

fn std_now() -> std::time::Instant {
    Instant::now().into_std()
}

/// Runs the scheduler to its end: the service (`Serve`) or `--once`/a backfill (`Drain`).
pub(super) async fn run<Source, Sink, Store>(
    parts: Parts<'_, Source, Sink, Store>,
    mode: RunMode,
    mut stop: watch::Receiver<bool>,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    progress: &mut (dyn FnMut(&Status) + Send),
) -> Result<(), Error>
where
    Source: CdrSource,
    Sink: CallSink + ?Sized + 'static,
    Store: CheckpointStore,
{
    let Parts {
        source,
        sink,
        store,
        pipeline,
        quarantine,
        options,
        checkpoint,
        status,
        trigger,
        directory,
    } = parts;
    let key = options.checkpoint_key.as_str();
    let seed = options.seed.unwrap_or_else(os_seed);
    let config = scheduler_config(options, mode);
    let mut sched: Scheduler<Arc<Item>> =
        Scheduler::new(config, checkpoint.clone(), seed, std_now());
    let mut report = Report::new(status, options.backoff_cap);
    let mut sending = FuturesUnordered::<BoxFuture<'static, Answered>>::new();
    let mut source_slot = Some(source);
    let mut fetching: Option<Fetch<'_, Source>> = None;
    let mut saving: Option<BoxFuture<'_, (Checkpoint, Result<(), BoxError>)>> = None;
    let mut last_refresh: Option<Instant> = None;
    // The typed causes of a stop (the scheduler keeps only their text).
    let (mut source_error, mut save_error): (Option<Error>, Option<Error>) = (None, None);
    let mut stop_open = true;
    if *stop.borrow() {
        sched.stop(std_now());
    }
    loop {
        let now = Instant::now();
        while let Some(action) = sched.poll_action(now.into_std()) {
            match action {
                Action::Fetch { after, limit } => {
                    let Some(src) = source_slot.take() else {
                        break; // a read dropped by a stop; nothing is read any more
                    };
                    if directory.is_some()
                        && last_refresh.is_none_or(|t| now >= t + Duration::from_secs(1))
                    {
                        last_refresh = Some(now);
                        refresh_extensions(directory, pipeline).await;
                    }
                    fetching = Some(Box::pin(async move {
                        let r = src.fetch(after.as_ref(), limit).await;
                        (src, r.map_err(BoxError::from))
                    }));
                }
                Action::Send { seq, item } => {
                    let sink = Arc::clone(&sink);
                    sending.push(Box::pin(async move {
                        let outcome = match &item.call {
                            Some(call) => sink.deliver(call).await,
                            // Never asked (only calls are sent): kept in the quarantine.
                            None => DeliveryOutcome::Rejected {
                                status: 0,
                                body: "no call to send".into(),
                            },
                        };
                        (seq, item, outcome)
                    }));
                }
                Action::Save(cp) => {
                    saving = Some(Box::pin(async move {
                        let r = store.save(key, &cp).await.map_err(BoxError::from);
                        (cp, r)
                    }));
                }
                Action::Quarantine {
                    seq,
                    item,
                    reason,
                    poison,
                } => {
                    if poison {
                        report.poison(&item, &reason);
                    }
                    put_quarantine(&quarantine, item.entry(reason, clock())).await?;
                    sched.quarantined(seq, Instant::now().into_std());
                }
                Action::Finished(summary) => {
                    if !sending.is_empty() {
                        tracing::warn!(
                            in_flight = sending.len(),
                            "shutdown deadline passed with calls in flight; saving the acknowledged prefix (those calls are sent again next time)"
                        );
                    }
                    checkpoint.clone_from(&summary.checkpoint);
                    report.finished(&sched, summary.checkpoint.as_ref(), progress);
                    return match summary.stopped {
                        None => Ok(()),
                        Some(Stopped::AuthFailed { status }) => {
                            Err(Error::Delivery(DeliveryError::AuthFailed { status }))
                        }
                        Some(Stopped::Unavailable { attempts, last }) => {
                            Err(Error::Delivery(DeliveryError::Unavailable {
                                attempts,
                                last,
                            }))
                        }
                        Some(Stopped::Source { last }) => Err(source_error.unwrap_or_else(|| {
                            Error::Delivery(DeliveryError::Source {
                                source: last.into(),
                            })
                        })),
                        Some(Stopped::Save { error }) => {
                            Err(save_error.unwrap_or_else(|| Error::checkpoint("save", key, error)))
                        }
                        Some(other) => Err(Error::Delivery(DeliveryError::Source {
                            source: format!("{other:?}").into(),
                        })),
                    };
                }
                _ => {}
            }
        }
        report.publish(&sched, progress);
        let wake = sched.poll_timeout().map(Instant::from_std);
        let sleep = async {
            match wake {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some((seq, item, outcome)) = sending.next(), if !sending.is_empty() => {
                report.answer(&item, &outcome);
                let was_outage = sched.in_outage();
                let failed = matches!(outcome, DeliveryOutcome::Retry { .. }).then(|| outcome.clone());
                sched.answered(seq, outcome, std_now());
                if let Some(failed) = failed {
                    report.failed(&item, sched.attempts(seq), &failed);
                }
                report.outage_changed(was_outage, &sched);
            }
            (src, result) = maybe(&mut fetching) => {
                fetching = None;
                source_slot = Some(src);
                let at = std_now();
                match result {
                    Ok(records) => {
                        report.source_ok();
                        let batch = prepare(pipeline, options, status, clock, &records);
                        sched.records(batch, at);
                    }
                    Err(e) => {
                        let text = e.to_string();
                        match Misconfigured::diagnose(&*e as &(dyn std::error::Error + 'static)) {
                            Some(diagnosis) => {
                                report.misconfigured(&diagnosis, mode);
                                sched.source_misconfigured(diagnosis.to_string(), at);
                                source_error = Some(Error::Delivery(DeliveryError::SourceMisconfigured { diagnosis, source: e }));
                            }
                            None => {
                                sched.source_failed(text, at);
                                report.source_failed(&e);
                                source_error = Some(Error::Delivery(DeliveryError::Source { source: e }));
                            }
                        }
                    }
                }
            }
            (cp, result) = maybe(&mut saving) => {
                saving = None;
                match result {
                    Ok(()) => {
                        report.saved(&cp);
                        checkpoint.replace(cp.clone());
                        sched.saved(cp, std_now());
                    }
                    Err(e) => {
                        sched.save_failed(e.to_string(), std_now());
                        save_error.get_or_insert(Error::checkpoint("save", key, e));
                    }
                }
            }
            () = trigger.notified(), if mode == RunMode::Serve => sched.woken(std_now()),
            changed = stop.changed(), if stop_open => {
                stop_open = changed.is_ok();
                if stop_open && *stop.borrow() {
                    sched.stop(std_now());
                    fetching = None;
                }
            }
            () = sleep => {}
        }
    }
}
