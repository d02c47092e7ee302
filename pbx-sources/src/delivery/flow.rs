//! The streaming delivery loop behind [`super::Engine::run`] and [`super::Engine::drain`]:
//! bounded read-ahead, up to `concurrency` calls in flight completing out of order, a timer
//! per call that needs another try, an [`AckWindow`] that says how far the checkpoint may
//! move, debounced checkpoint saves, and the outage/poison rules of [`RetryRules`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use pbx_core::call::{CallRequest, SkipReason};
use pbx_core::delivery::{
    AckWindow, ApiHealth, CallTries, Counters, Disposition, Outcome, Pipeline, QuarantineEntry,
    RetryRules, Verdict, exponential,
};
use pbx_core::{CallSink, CdrSource, Checkpoint, CheckpointStore, DeliveryOutcome, SourceRecord};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::{
    DirectoryRefresh, EngineOptions, Quarantine, SourceHealth, Status, refresh_extensions,
};
use crate::misconfigured::Misconfigured;
use crate::{BoxError, Error};

/// How often the service repeats the `error` log of a misconfigured source that stays so.
const MISCONFIGURED_LOG_EVERY: Duration = Duration::from_secs(300);

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A read in progress: it holds the source and hands it back with the records.
type Fetch<'a, S> = BoxFuture<'a, (&'a mut S, Result<Vec<SourceRecord>, BoxError>)>;

/// Whether the loop serves for ever (`run`) or stops once the source is drained (`drain`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Serve,
    Drain,
}

/// What became of a record, kept in the window until the records before it are settled.
enum Settled {
    Delivered { start: String },
    Duplicate { start: String },
    Skipped(SkipReason),
    Quarantined { poison: bool },
}

/// A call not settled yet: queued, in flight, or waiting for its next try.
struct Job {
    call: Arc<CallRequest>,
    checkpoint: Checkpoint,
    location: String,
    raw: String,
    tries: CallTries,
}

impl Job {
    fn entry(&self, reason: String, at: DateTime<Utc>) -> QuarantineEntry {
        QuarantineEntry {
            at,
            checkpoint: self.checkpoint.to_string(),
            location: self.location.clone(),
            reason,
            record: self.raw.clone(),
        }
    }
}

/// The parts of the engine the loop works with.
pub(super) struct Parts<'a, S, K: ?Sized, C> {
    pub source: &'a mut S,
    pub sink: Arc<K>,
    pub store: &'a C,
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

/// The reason group of a failed delivery, for `/metrics` (`pbx_delivery_failures_total`).
pub(super) fn failure_kind(reason: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    if r.starts_with("http 429") {
        "http_429"
    } else if r.starts_with("http 5") {
        "http_5xx"
    } else if r.starts_with("http ") || r.starts_with("unexpected http") {
        "http_other"
    } else if r.contains("timed out") || r.contains("timeout") {
        "timeout"
    } else if r.contains("connection") || r.contains("reset") || r.contains("refused") {
        "connection"
    } else if r.starts_with("cannot write") || r.contains("os error") {
        "io"
    } else {
        "other"
    }
}

fn rng(seed: Option<u64>) -> StdRng {
    match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::try_from_rng(&mut rand::rngs::SysRng).unwrap_or_else(|_| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            StdRng::seed_from_u64(nanos as u64)
        }),
    }
}

/// [`pbx_core::delivery::later`] on tokio's clock: `at + d`, never a panic.
pub(super) fn later(at: Instant, d: Duration) -> Instant {
    Instant::from_std(pbx_core::delivery::later(at.into_std(), d))
}

/// Rate-limits a repeated warning: at most one per `every`, with the number held back.
struct Throttle {
    every: Duration,
    last: Option<Instant>,
    held: u64,
}

impl Throttle {
    /// `Some(held back since the last one)` when a warning may be logged now.
    fn pass(&mut self, now: Instant) -> Option<u64> {
        if self.last.is_some_and(|t| now < later(t, self.every)) {
            self.held += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held))
    }
}

pub(super) async fn stream<S, K, C>(
    parts: Parts<'_, S, K, C>,
    mode: Mode,
    mut stop: watch::Receiver<bool>,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    progress: &mut (dyn FnMut(&Status) + Send),
) -> Result<(), Error>
where
    S: CdrSource,
    K: CallSink + ?Sized + 'static,
    C: CheckpointStore,
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
    let with_status = |f: &mut dyn FnMut(&mut Status)| {
        f(&mut status.lock().unwrap_or_else(PoisonError::into_inner));
    };
    let concurrency = options.concurrency.max(1);
    let batch = options.batch_size.max(1);
    let window_cap = options.window.max(batch);
    let rules = RetryRules {
        max_attempts: options.max_attempts.max(1),
        poison_after: options.poison_after,
        outage_calls: concurrency.clamp(3, 8),
    };
    let key = options.checkpoint_key.as_str();
    let mut rng = rng(options.seed);

    let mut window: AckWindow<Settled> = AckWindow::new(checkpoint.clone());
    let mut jobs: HashMap<u64, Job> = HashMap::new();
    let mut queue: VecDeque<u64> = VecDeque::new();
    let mut waiting: BTreeSet<(Instant, u64)> = BTreeSet::new();
    let mut due_of: HashMap<u64, Instant> = HashMap::new();
    let mut in_flight: FuturesUnordered<BoxFuture<'static, (u64, DeliveryOutcome)>> =
        FuturesUnordered::new();
    let mut health = ApiHealth::default();

    // The read cursor: the checkpoint of the last record read (ahead of the mark).
    let mut cursor = checkpoint.clone();
    let mut source_slot: Option<&mut S> = Some(source);
    let mut fetching: Option<Fetch<'_, S>> = None;
    let mut source_done = false;
    let mut next_fetch = Instant::now();
    // A wake-up that came while a fetch was in flight: that fetch may have read before the
    // new records were there, so the source is read again at once instead of after
    // `poll_interval`.
    let mut woken_during_fetch = false;
    let mut source_failures: u32 = 0;
    // The configuration problem last logged, and when (logged again at most every
    // `MISCONFIGURED_LOG_EVERY`, or when it changes).
    let mut misconfigured_said: Option<(Misconfigured, Instant)> = None;
    let mut last_refresh: Option<Instant> = None;

    let mut saving: Option<BoxFuture<'_, (Checkpoint, Result<(), BoxError>)>> = None;
    let mut saved = checkpoint.clone();
    let mut last_save = Instant::now();
    let mut unsaved: usize = 0;

    let mut stopping: Option<Instant> = None;
    let mut auth: Option<u16> = None;
    let mut outage_probe: Option<Instant> = None;
    let mut outage_level: u32 = 0;
    let mut probe: Option<u64> = None;
    let mut last_probe: Option<u64> = None;
    let mut failed_probes: u32 = 0;
    let mut last_progress = Instant::now();
    let mut warn_throttle = Throttle {
        every: Duration::from_secs(5),
        last: None,
        held: 0,
    };
    let mut gave_up: Option<Error> = None;
    // A dropped sender never stops the loop (nor wakes it again).
    let mut stop_open = true;
    if *stop.borrow() {
        stopping = Some(later(Instant::now(), options.shutdown_grace));
    }
    let mut pending_counts = Counters::default();
    let mut newest: Option<String> = None;

    loop {
        let now = Instant::now();

        // 1. Records settled in source order leave the window; the mark moves.
        let mut moved = 0usize;
        while let Some((_, settled)) = window.pop_settled() {
            moved += 1;
            pending_counts.received += 1;
            match settled {
                Settled::Delivered { start } => {
                    pending_counts.count(&Outcome::Delivered);
                    newest = Some(start);
                }
                Settled::Duplicate { start } => {
                    pending_counts.count(&Outcome::Duplicate);
                    newest = Some(start);
                }
                Settled::Skipped(reason) => pending_counts.count(&Outcome::Skipped(reason)),
                Settled::Quarantined { poison } => {
                    pending_counts.count(&Outcome::Quarantined);
                    pending_counts.poisoned += u64::from(poison);
                }
            }
        }
        if moved > 0 {
            unsaved += moved;
            let counts = std::mem::take(&mut pending_counts);
            let newest = newest.take();
            with_status(&mut |s| {
                let c = &mut s.counters;
                c.received += counts.received;
                c.delivered += counts.delivered;
                c.duplicates += counts.duplicates;
                c.quarantined += counts.quarantined;
                c.poisoned += counts.poisoned;
                for (k, v) in &counts.skipped {
                    *c.skipped.entry(k.clone()).or_default() += v;
                }
                if newest.is_some() {
                    c.newest_call_start.clone_from(&newest);
                }
            });
            if now >= later(last_progress, Duration::from_millis(100)) {
                last_progress = now;
                let snapshot = status
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                progress(&snapshot);
            }
        }

        // 2. Save the mark when it moved: debounced, one save at a time.
        let mark = window.mark().cloned();
        let dirty = mark.is_some() && mark != saved;
        if dirty
            && saving.is_none()
            && (now >= later(last_save, options.save_interval)
                || unsaved >= options.save_every_calls.max(1))
            && let Some(cp) = mark.clone()
        {
            last_save = now;
            unsaved = 0;
            saving = Some(Box::pin(async move {
                let r = store.save(key, &cp).await.map_err(BoxError::from);
                (cp, r)
            }));
        }

        // 3. The end of the loop.
        let finished = match mode {
            Mode::Drain => source_done && window.is_empty() && fetching.is_none(),
            Mode::Serve => false,
        };
        let give_up = gave_up.is_some() && in_flight.is_empty();
        let deadline_passed = stopping.is_some_and(|d| now >= d);
        if finished
            || give_up
            || (auth.is_some() && in_flight.is_empty())
            || (stopping.is_some() && (in_flight.is_empty() || deadline_passed))
        {
            if deadline_passed && !in_flight.is_empty() {
                tracing::warn!(
                    in_flight = in_flight.len(),
                    "shutdown deadline passed with calls in flight; saving the acknowledged prefix (those calls are sent again next time)"
                );
            }
            drop(in_flight);
            // Wait for a save in progress, then save the final mark.
            if let Some(f) = saving.take() {
                let (cp, r) = f.await;
                r.map_err(|e| Error::checkpoint("save", key, e))?;
                saved = Some(cp);
            }
            let mark = window.mark().cloned();
            if let Some(cp) = mark.filter(|m| Some(m) != saved.as_ref()) {
                store
                    .save(key, &cp)
                    .await
                    .map_err(|e| Error::checkpoint("save", key, e))?;
                saved = Some(cp);
            }
            checkpoint.clone_from(&saved);
            let cp = saved.as_ref().map(ToString::to_string);
            with_status(&mut |s| s.checkpoint.clone_from(&cp));
            let snapshot = status
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            progress(&snapshot);
            if let Some(status) = auth {
                return Err(Error::AuthFailed { status });
            }
            if let Some(e) = gave_up {
                return Err(e);
            }
            return Ok(());
        }

        // 4. Start calls: due retries first (the oldest records), then new ones — or, during
        //    an outage, one probe at a time when its timer is up.
        if stopping.is_none() && auth.is_none() && gave_up.is_none() {
            if health.in_outage() {
                if probe.is_none() && in_flight.is_empty() && outage_probe.is_none_or(|t| now >= t)
                {
                    // Retries other than the last probe and new calls take turns, so a poison
                    // call at the head cannot stand for the whole API (found by the scheduler
                    // simulation: the outage never ended); else the last probe again.
                    let retry = waiting
                        .iter()
                        .find(|(_, seq)| Some(*seq) != last_probe)
                        .map(|&(_, seq)| seq);
                    let new_turn = last_probe.is_some_and(|l| due_of.contains_key(&l));
                    let pick = if new_turn && !queue.is_empty() {
                        queue.pop_front()
                    } else {
                        retry
                            .or_else(|| queue.pop_front())
                            .or_else(|| last_probe.filter(|l| due_of.contains_key(l)))
                    };
                    if let Some(seq) = pick {
                        if let Some(due) = due_of.remove(&seq) {
                            waiting.remove(&(due, seq));
                        }
                        probe = Some(seq);
                        last_probe = Some(seq);
                        if let Some(job) = jobs.get(&seq) {
                            in_flight.push(send(&sink, seq, &job.call));
                        }
                    }
                }
            } else {
                while in_flight.len() < concurrency {
                    let seq = match waiting.iter().next() {
                        Some(&(due, seq)) if due <= now => {
                            waiting.remove(&(due, seq));
                            due_of.remove(&seq);
                            seq
                        }
                        _ => match queue.pop_front() {
                            Some(seq) => seq,
                            None => break,
                        },
                    };
                    if let Some(job) = jobs.get(&seq) {
                        in_flight.push(send(&sink, seq, &job.call));
                    }
                }
            }
        }

        // 5. Read ahead: another batch while the prepared queue is short and the window has
        //    room (so memory stays bounded whatever the backlog).
        if fetching.is_none()
            && !source_done
            && stopping.is_none()
            && auth.is_none()
            && gave_up.is_none()
            && queue.len() <= batch
            && window.len() + batch <= window_cap
            && now >= next_fetch
            && let Some(src) = source_slot.take()
        {
            if directory.is_some()
                && last_refresh.is_none_or(|t| now >= later(t, Duration::from_secs(1)))
            {
                last_refresh = Some(now);
                refresh_extensions(directory, pipeline).await;
            }
            let after = cursor.clone();
            woken_during_fetch = false;
            fetching = Some(Box::pin(async move {
                let r = src.fetch(after.as_ref(), batch).await;
                (src, r.map_err(BoxError::from))
            }));
        }

        // 6. Wait for the next thing to happen.
        // Only timers that can start something: a retry due while every slot is taken, or
        // a probe due while one is in flight, would wake the loop at once, again and again
        // (a spin until an answer comes; found by the scheduler simulation).
        let mut wake: Option<Instant> = if health.in_outage() {
            outage_probe.filter(|_| in_flight.is_empty())
        } else if in_flight.len() < concurrency {
            waiting.iter().next().map(|(t, _)| *t)
        } else {
            None
        };
        let mut earliest = |t: Instant| wake = Some(wake.map_or(t, |w| w.min(t)));
        if let Some(d) = stopping {
            earliest(d);
        }
        if fetching.is_none() && !source_done && next_fetch > now {
            earliest(next_fetch);
        }
        if mark_dirty(&window, &saved) && saving.is_none() {
            earliest(later(last_save, options.save_interval));
        }
        let sleep = async {
            match wake {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some((seq, outcome)) = in_flight.next(), if !in_flight.is_empty() => {
                let was_probe = probe == Some(seq);
                if was_probe {
                    probe = None;
                }
                let at = Instant::now();
                match outcome {
                    DeliveryOutcome::Delivered | DeliveryOutcome::Duplicate => {
                        if health.succeeded() {
                            tracing::info!("the call API answers again; delivery resumes");
                            outage_level = 0;
                            outage_probe = None;
                            failed_probes = 0;
                        }
                        if waiting.is_empty() {
                            with_status(&mut |s| s.last_error = None);
                        }
                        if let Some(job) = jobs.remove(&seq) {
                            let start = job.call.timestamp.clone();
                            let settled = if outcome == DeliveryOutcome::Delivered {
                                Settled::Delivered { start }
                            } else {
                                Settled::Duplicate { start }
                            };
                            window.settle(seq, settled);
                        }
                    }
                    DeliveryOutcome::Rejected { status: code, body } => {
                        // An answer about this payload: the API works.
                        if health.succeeded() {
                            tracing::info!("the call API answers again; delivery resumes");
                            outage_level = 0;
                            outage_probe = None;
                            failed_probes = 0;
                        }
                        if let Some(job) = jobs.remove(&seq) {
                            let reason = format!("the call API rejected it (HTTP {code}): {body}");
                            put_quarantine(&quarantine, job.entry(reason, clock())).await?;
                            window.settle(seq, Settled::Quarantined { poison: false });
                        }
                    }
                    DeliveryOutcome::AuthFailed { status: code } => {
                        if auth.is_none() {
                            tracing::error!(
                                status = code,
                                "the call API refused the credentials; no further call is sent"
                            );
                        }
                        auth.get_or_insert(code);
                        let message = Error::AuthFailed { status: code }.to_string();
                        with_status(&mut |s| {
                            s.counters.auth_failures += 1;
                            s.last_error = Some(message.clone());
                            s.stopped = Some(message.clone());
                        });
                    }
                    other => {
                        let (reason, after) = match other {
                            DeliveryOutcome::Retry { reason, after } => (reason, after),
                            other => (format!("{other:?}"), None),
                        };
                        // The API's `Retry-After` is honoured up to the configured cap.
                        let after = after.map(|a| a.min(options.max_retry_after));
                        let kind = failure_kind(&reason);
                        with_status(&mut |s| {
                            s.counters.retries += 1;
                            *s.counters.failures.entry(kind.to_owned()).or_default() += 1;
                            s.last_error = Some(reason.clone());
                        });
                        if let Some(job) = jobs.get_mut(&seq) {
                        let was_outage = health.in_outage();
                        let verdict = rules.failed(
                            &mut job.tries,
                            &mut health,
                            seq,
                            at.into_std(),
                            reason.clone(),
                        );
                        if let Some(held) = warn_throttle.pass(at) {
                            tracing::warn!(
                                pbx_call_id = %job.call.pbx_call_id,
                                attempt = job.tries.tries,
                                reason = %reason,
                                kind,
                                similar_held_back = held,
                                "delivery failed; will try again"
                            );
                        }
                        match verdict {
                            Verdict::Poison => {
                                let job = jobs.remove(&seq).expect("present above");
                                tracing::warn!(
                                    pbx_call_id = %job.call.pbx_call_id,
                                    attempts = job.tries.tries,
                                    location = %job.location,
                                    "poison call: it keeps failing while others are delivered; quarantined"
                                );
                                let reason = format!(
                                    "poison call: failed {} times while others were delivered; answers: {}",
                                    job.tries.tries,
                                    job.tries.answers.join(" | ")
                                );
                                put_quarantine(&quarantine, job.entry(reason, clock())).await?;
                                window.settle(seq, Settled::Quarantined { poison: true });
                            }
                            _ => {
                                let n = job.tries.tries.saturating_sub(1);
                                let ceiling = exponential(options.retry_base, options.retry_cap, n);
                                let mut delay = ceiling.mul_f64(rng.random_range(0.0..=1.0));
                                if let Some(a) = after {
                                    delay = delay.max(a);
                                }
                                let due = later(at, delay);
                                waiting.insert((due, seq));
                                due_of.insert(seq, due);
                                if health.in_outage() {
                                    if !was_outage {
                                        tracing::warn!(
                                            reason = %reason,
                                            "the call API looks down (every recent call failed); backing off, nothing is quarantined meanwhile"
                                        );
                                        outage_level = 0;
                                    } else if in_flight.is_empty() {
                                        outage_level = outage_level.saturating_add(1);
                                    }
                                    let wait = exponential(options.backoff_base, options.backoff_cap, outage_level)
                                        .mul_f64(rng.random_range(0.5..=1.0))
                                        .max(after.unwrap_or_default());
                                    outage_probe = Some(later(at, wait));
                                    if was_probe {
                                        failed_probes = failed_probes.saturating_add(1);
                                    }
                                }
                                // `--once`: give up once the oldest call used its attempts
                                // (each `Retry-After` counts) while nothing else got through:
                                // during an outage, or when no other call succeeded since its
                                // first failure, none is in flight and none is left to try
                                // (a lone failing call).
                                // Probes take turns between calls, so during an outage it
                                // is also `max_attempts` failed probes in a row.
                                if mode == Mode::Drain
                                    && health.in_outage()
                                    && failed_probes >= rules.max_attempts
                                {
                                    gave_up = Some(Error::Unavailable {
                                        attempts: failed_probes,
                                        last: reason.clone(),
                                    });
                                }
                                if mode == Mode::Drain
                                    && let Some(head) = jobs.get(&window.head())
                                    && head.tries.tries >= rules.max_attempts
                                    && (health.in_outage()
                                        || (!head.tries.others_succeeded(&health)
                                            && in_flight.is_empty()
                                            && queue.is_empty()
                                            && source_done))
                                {
                                    gave_up = Some(Error::Unavailable {
                                        attempts: head.tries.tries,
                                        last: head.tries.answers.last().cloned().unwrap_or_default(),
                                    });
                                }
                            }
                        }
                        }
                    }
                }
            }
            (src, result) = maybe(&mut fetching) => {
                fetching = None;
                source_slot = Some(src);
                let at = Instant::now();
                match result {
                    Ok(records) => {
                        source_failures = 0;
                        if misconfigured_said.take().is_some() {
                            tracing::info!("the CDR source is readable again");
                            with_status(&mut |s| {
                                s.source = SourceHealth::Ok;
                                s.last_error = None;
                            });
                        }
                        let got = records.len();
                        let range = options.range.as_ref();
                        for record in &records {
                            let p = pipeline.prepare_within(record, range);
                            // A skip is final here: logged (and an unmapped owner counted) now;
                            // so are unrecognised type words (each record is fetched once). The
                            // clock is read only for those, not for every call.
                            if matches!(p.disposition, Disposition::Skip(_))
                                || !p.unknown_type_words.is_empty()
                            {
                                super::skips::note_settled(status, std::iter::once(&p), clock());
                            }
                            let seq = window.push(p.checkpoint.clone());
                            cursor = Some(p.checkpoint.clone());
                            match p.disposition {
                                Disposition::Deliver(call) => {
                                    jobs.insert(seq, Job {
                                        call: Arc::new(call),
                                        checkpoint: p.checkpoint,
                                        location: p.location.to_string(),
                                        raw: p.raw,
                                        tries: CallTries::default(),
                                    });
                                    queue.push_back(seq);
                                }
                                Disposition::Skip(reason) => {
                                    window.settle(seq, Settled::Skipped(reason));
                                }
                                Disposition::Quarantine { reason } => {
                                    let entry = QuarantineEntry {
                                        at: clock(),
                                        checkpoint: p.checkpoint.to_string(),
                                        location: p.location.to_string(),
                                        reason,
                                        record: p.raw,
                                    };
                                    put_quarantine(&quarantine, entry).await?;
                                    window.settle(seq, Settled::Quarantined { poison: false });
                                }
                                // A decision this engine does not know: never settled.
                                _ => {}
                            }
                        }
                        if got < batch {
                            // Caught up with the source.
                            match mode {
                                Mode::Drain => source_done = true,
                                Mode::Serve if woken_during_fetch => next_fetch = at,
                                Mode::Serve => next_fetch = later(at, options.poll_interval),
                            }
                        } else {
                            next_fetch = at;
                        }
                    }
                    Err(e) => {
                        source_failures = source_failures.saturating_add(1);
                        if let Some(diagnosis) = Misconfigured::diagnose(&*e as &(dyn std::error::Error + 'static)) {
                            // Waiting will not heal it: `--once` stops now; the service says so
                            // (once, then every few minutes) and probes slowly.
                            if mode == Mode::Drain {
                                gave_up = Some(Error::SourceMisconfigured { diagnosis, source: e });
                                continue;
                            }
                            let again = misconfigured_said.as_ref().is_none_or(|(said, when)| {
                                *said != diagnosis || at.saturating_duration_since(*when) >= MISCONFIGURED_LOG_EVERY
                            });
                            if again {
                                tracing::error!(setting = diagnosis.setting(), problem = %diagnosis.problem(), "the CDR source is misconfigured: {diagnosis}; probing every {:?} until it is fixed", options.backoff_cap);
                                misconfigured_said = Some((diagnosis.clone(), at));
                            }
                            with_status(&mut |s| {
                                s.last_error = Some(format!("the CDR source is misconfigured: {diagnosis}"));
                                s.source = SourceHealth::misconfigured(&diagnosis);
                            });
                            // Read again slowly, so a fix on the server (a grant, a created table) is
                            // picked up without a restart.
                            next_fetch = later(at, options.backoff_cap);
                            continue;
                        }
                        tracing::warn!(error = %e, failures = source_failures, "CDR source failed; retrying");
                        with_status(&mut |s| s.last_error = Some(format!("the CDR source failed: {e}")));
                        if mode == Mode::Drain && source_failures >= rules.max_attempts {
                            gave_up = Some(Error::Source { source: e });
                        }
                        next_fetch = later(at, exponential(options.backoff_base, options.backoff_cap, source_failures - 1));
                    }
                }
            }
            (cp, result) = maybe(&mut saving) => {
                saving = None;
                result.map_err(|e| Error::checkpoint("save", key, e))?;
                let text = cp.to_string();
                checkpoint.replace(cp.clone());
                saved = Some(cp);
                with_status(&mut |s| s.checkpoint = Some(text.clone()));
            }
            () = trigger.notified(), if mode == Mode::Serve => {
                next_fetch = Instant::now();
                woken_during_fetch |= fetching.is_some();
            }
            changed = stop.changed(), if stopping.is_none() && stop_open => {
                stop_open = changed.is_ok();
                if stop_open && *stop.borrow() {
                    stopping = Some(later(Instant::now(), options.shutdown_grace));
                    // Calls not sent yet stay unsettled: the mark does not pass them.
                    queue.clear();
                    fetching = None;
                }
            }
            () = sleep => {}
        }
    }
}

fn mark_dirty(window: &AckWindow<Settled>, saved: &Option<Checkpoint>) -> bool {
    window.mark().is_some() && window.mark() != saved.as_ref()
}

fn send<K: CallSink + ?Sized + 'static>(
    sink: &Arc<K>,
    seq: u64,
    call: &Arc<CallRequest>,
) -> BoxFuture<'static, (u64, DeliveryOutcome)> {
    let sink = Arc::clone(sink);
    let call = Arc::clone(call);
    Box::pin(async move { (seq, sink.deliver(&call).await) })
}

/// Writes a quarantine entry off the runtime's threads (it fsyncs), before the record may
/// settle.
async fn put_quarantine(
    quarantine: &Arc<dyn Quarantine>,
    entry: QuarantineEntry,
) -> Result<(), Error> {
    let q = Arc::clone(quarantine);
    tokio::task::spawn_blocking(move || q.put(&entry))
        .await
        .map_err(|e| Error::Quarantine {
            source: std::io::Error::other(e),
        })?
        .map_err(|source| Error::Quarantine { source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_grouped_by_reason() {
        for (reason, kind) in [
            ("HTTP 503: down (after 1 attempt(s))", "http_5xx"),
            ("HTTP 429: slow down", "http_429"),
            (
                "unexpected HTTP 404 (check base_url): no such path",
                "http_other",
            ),
            ("timed out", "timeout"),
            (
                "connection failed: Connection refused (os error 111)",
                "connection",
            ),
            ("request failed: connection reset by peer", "connection"),
            (
                "cannot write out/calls.jsonl: Read-only file system (os error 30)",
                "io",
            ),
            ("sink state poisoned", "other"),
        ] {
            assert_eq!(failure_kind(reason), kind, "{reason}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let (base, cap) = (Duration::from_millis(250), Duration::from_secs(30));
        assert_eq!(exponential(base, cap, 0), base);
        assert_eq!(exponential(base, cap, 3), Duration::from_secs(2));
        assert_eq!(exponential(base, cap, 40), cap);
    }
}
