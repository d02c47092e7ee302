//! The delivery engine's decisions as a sans-IO state machine: events in (each with `now`),
//! actions out, and the next instant something is due. No I/O, no clock, no runtime: the
//! driver (`pbx_sources::delivery`, or a deterministic simulation) does the reading, sending
//! and saving, and tells the [`Scheduler`] what happened.
//!
//! The scheduler owns the [`AckWindow`] (the checkpoint never passes an unacknowledged call),
//! the queue of calls to send, in-flight accounting, each failing call's retry timer (full
//! jitter from a [`SplitMix64`] seeded by the caller, at least the API's `Retry-After`, cut to
//! [`SchedulerConfig::max_retry_after`]), outage detection and the probe back-off, the
//! poison rule ([`RetryRules`]), debounced checkpoint saves, the drain's give-up rule, stop
//! with a grace period, and the [`Counters`]. Every deadline is computed without overflow.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::call::SkipReason;
use crate::traits::{Checkpoint, DeliveryOutcome, FailureKind};

use super::counters::Counters;
use super::outcome::Outcome;
use super::window::{AckWindow, ApiHealth, CallTries, RetryRules};

/// Whether the scheduler serves for ever or stops once the source is drained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunMode {
    /// The service: after catching up, read again after the poll interval or a wake-up.
    Serve,
    /// `--once`, a backfill: finish once the source has nothing more and every record read
    /// is settled.
    Drain,
}

/// The scheduler's settings (the engine's options, without the I/O ones).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Serve or drain.
    pub mode: RunMode,
    /// Records asked for per read (at least 1).
    pub batch_size: usize,
    /// Calls in flight at once (at least 1).
    pub concurrency: usize,
    /// Records read but not behind the checkpoint, at most (at least twice `batch_size`; only the
    /// unsettled ones count while calls wait for a retry and nothing else can be sent).
    pub window: usize,
    /// Wait before reading again once caught up (serve), unless woken.
    pub poll_interval: Duration,
    /// The first pause of an outage and after a failed read; doubles per failure.
    pub backoff_base: Duration,
    /// The longest pause of an outage or after failed reads.
    pub backoff_cap: Duration,
    /// Failed attempts before a call failing while others succeed is poison; also the
    /// drain's give-up count and the source failures a drain tolerates in a row.
    pub max_attempts: u32,
    /// The least time between a call's first failure and its quarantine as poison.
    pub poison_after: Duration,
    /// The first retry's upper bound; doubles per attempt.
    pub retry_base: Duration,
    /// The longest jittered retry wait.
    pub retry_cap: Duration,
    /// The longest wait a `Retry-After` can impose; a longer one is cut to this.
    pub max_retry_after: Duration,
    /// Save the checkpoint at most this often while it moves.
    pub save_interval: Duration,
    /// … or once this many records settled since the last save.
    pub save_every_calls: usize,
    /// After a stop, how long calls in flight may take.
    pub shutdown_grace: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            mode: RunMode::Serve,
            batch_size: 500,
            concurrency: 4,
            window: 8192,
            poll_interval: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            max_attempts: 5,
            poison_after: Duration::from_secs(120),
            retry_base: Duration::from_millis(250),
            retry_cap: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            save_interval: Duration::from_millis(200),
            save_every_calls: 5000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A small seeded random generator (SplitMix64) for the retry jitter: the same seed gives
/// the same waits, so a simulation replays exactly.
///
/// ```
/// use pbx_core::delivery::SplitMix64;
/// let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!((0.0..=1.0).contains(&a.unit()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1]`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / ((1u64 << 53) - 1) as f64
    }

    /// A uniform number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// What became of a record the driver read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Incoming<T> {
    /// A call to send; `T` is what the driver needs to send it (and to quarantine it).
    Deliver(T),
    /// Nothing to send (final).
    Skip(SkipReason),
    /// An unusable record: quarantine `T` with `reason`, then it is settled.
    Bad {
        /// What the driver needs to write the quarantine entry.
        item: T,
        /// Why.
        reason: String,
    },
}

/// Why a run ended early.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stopped {
    /// The API refused the credentials.
    AuthFailed {
        /// HTTP status.
        status: u16,
    },
    /// Drain: the oldest call used its attempts while nothing else got through.
    Unavailable {
        /// Its attempts.
        attempts: u32,
        /// Its last failure.
        last: String,
    },
    /// Drain: the source failed `max_attempts` times in a row.
    Source {
        /// The last error.
        last: String,
    },
    /// A checkpoint save failed (the run stops; the last saved checkpoint stands).
    Save {
        /// The error.
        error: String,
    },
}

/// How a run ended: the checkpoint saved last and why it stopped early, if it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The checkpoint saved last (or loaded at the start).
    pub checkpoint: Option<Checkpoint>,
    /// Set when the run ended on an error.
    pub stopped: Option<Stopped>,
    /// A stop request ended it (before the source was drained, in a drain).
    pub interrupted: bool,
}

/// What the driver should do next.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action<T> {
    /// Read up to `limit` records after `after`; answer with [`Scheduler::records`] or
    /// [`Scheduler::source_failed`].
    Fetch {
        /// The read cursor.
        after: Option<Checkpoint>,
        /// At most this many.
        limit: usize,
    },
    /// Send this call; answer with [`Scheduler::answered`] (`seq`).
    Send {
        /// The record's number.
        seq: u64,
        /// The call.
        item: T,
    },
    /// Save this checkpoint; answer with [`Scheduler::saved`] or [`Scheduler::save_failed`].
    Save(Checkpoint),
    /// Write a quarantine entry; answer with [`Scheduler::quarantined`] (`seq`).
    Quarantine {
        /// The record's number.
        seq: u64,
        /// The record.
        item: T,
        /// Why.
        reason: String,
        /// Set aside as a poison call (it failed while others were delivered).
        poison: bool,
    },
    /// The run is over; nothing more will be asked.
    Finished(Summary),
}

/// How a record was settled (it leaves the window in source order).
#[derive(Clone, Debug)]
enum Settled {
    Delivered,
    Duplicate,
    Skipped(SkipReason),
    Quarantined,
}

#[derive(Debug)]
struct Job<T> {
    item: T,
    tries: CallTries,
    /// Failures followed by another call's success before its next failure (the API worked
    /// between them; an outage the scheduler could not see yet never adds to this).
    corroborated: u32,
    /// [`ApiHealth::successes`] at its last send, and at its last failure.
    successes_at_send: u64,
    successes_at_failure: Option<u64>,
}

impl<T> Job<T> {
    fn new(item: T) -> Self {
        Job {
            item,
            tries: CallTries::default(),
            corroborated: 0,
            successes_at_send: 0,
            successes_at_failure: None,
        }
    }
}

/// `at + d`, never overflowing: a wait the clock cannot hold ends a year from `at`.
///
/// ```
/// use std::time::{Duration, Instant};
/// let now = Instant::now();
/// assert!(pbx_core::delivery::later(now, Duration::MAX) > now);
/// ```
pub fn later(at: Instant, d: Duration) -> Instant {
    const YEAR: Duration = Duration::from_secs(365 * 86_400);
    at.checked_add(d)
        .or_else(|| at.checked_add(YEAR))
        .unwrap_or(at)
}

/// `min(cap, base × 2ⁿ)`, never overflowing: the back-off of the `n`-th failure in a row.
///
/// ```
/// use std::time::Duration;
/// use pbx_core::delivery::exponential;
/// let (base, cap) = (Duration::from_millis(250), Duration::from_secs(60));
/// assert_eq!(exponential(base, cap, 3), Duration::from_secs(2));
/// assert_eq!(exponential(base, cap, 40), cap);
/// ```
pub fn exponential(base: Duration, cap: Duration, n: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(n.min(31))).min(cap)
}

/// The delivery engine's decisions (see the module docs).
///
/// ```
/// use std::time::{Duration, Instant};
/// use pbx_core::Checkpoint;
/// use pbx_core::DeliveryOutcome;
/// use pbx_core::delivery::{Action, Incoming, RunMode, Scheduler, SchedulerConfig};
/// let t0 = Instant::now();
/// let cfg = SchedulerConfig { mode: RunMode::Drain, ..SchedulerConfig::default() };
/// let mut s: Scheduler<&str> = Scheduler::new(cfg, None, 7, t0);
/// assert!(matches!(s.poll_action(t0), Some(Action::Fetch { after: None, .. })));
/// s.records(vec![(Checkpoint::new("1"), Incoming::Deliver("call 1"))], t0);
/// let Some(Action::Send { seq, item: "call 1" }) = s.poll_action(t0) else { panic!() };
/// s.answered(seq, DeliveryOutcome::Delivered, t0);
/// assert_eq!(s.poll_action(t0), Some(Action::Save(Checkpoint::new("1"))));
/// s.saved(Checkpoint::new("1"), t0);
/// let Some(Action::Finished(summary)) = s.poll_action(t0) else { panic!() };
/// assert_eq!(summary.checkpoint, Some(Checkpoint::new("1")));
/// assert_eq!(s.counters().delivered, 1);
/// ```
#[derive(Debug)]
pub struct Scheduler<T> {
    cfg: SchedulerConfig,
    rules: RetryRules,
    outage_calls: usize,
    rng: SplitMix64,
    window: AckWindow<Settled>,
    jobs: HashMap<u64, Job<T>>,
    queue: VecDeque<u64>,
    waiting: BTreeSet<(Instant, u64)>,
    due_of: HashMap<u64, Instant>,
    in_flight: usize,
    sent: BTreeSet<u64>,
    health: ApiHealth,
    cursor: Option<Checkpoint>,
    fetching: bool,
    source_done: bool,
    next_fetch: Instant,
    woken_during_fetch: bool,
    source_failures: u32,
    saving: Option<Checkpoint>,
    saved: Option<Checkpoint>,
    last_save: Instant,
    unsaved: usize,
    to_quarantine: VecDeque<(u64, String, bool)>,
    /// Quarantine entries being written: whether each is a poison call.
    quarantining: HashMap<u64, bool>,
    stopping: Option<Instant>,
    interrupted: bool,
    auth: Option<u16>,
    outage_probe: Option<Instant>,
    outage_level: u32,
    probe: Option<u64>,
    last_probe: Option<u64>,
    failed_probes: u32,
    stopped: Option<Stopped>,
    finished: bool,
    counters: Counters,
    last_error: Option<String>,
}

impl<T: Clone> Scheduler<T> {
    /// A scheduler starting at `start` (the checkpoint loaded from the store), with the
    /// retry jitter seeded by `seed`, at `now`.
    pub fn new(cfg: SchedulerConfig, start: Option<Checkpoint>, seed: u64, now: Instant) -> Self {
        let concurrency = cfg.concurrency.max(1);
        let rules = RetryRules {
            max_attempts: cfg.max_attempts.max(1),
            poison_after: cfg.poison_after,
            outage_calls: concurrency.clamp(3, 8),
        };
        Scheduler {
            outage_calls: rules.outage_calls,
            rules,
            rng: SplitMix64::new(seed),
            window: AckWindow::new(start.clone()),
            jobs: HashMap::new(),
            queue: VecDeque::new(),
            waiting: BTreeSet::new(),
            due_of: HashMap::new(),
            in_flight: 0,
            sent: BTreeSet::new(),
            health: ApiHealth::default(),
            cursor: start.clone(),
            fetching: false,
            source_done: false,
            next_fetch: now,
            woken_during_fetch: false,
            source_failures: 0,
            saving: None,
            saved: start,
            last_save: now,
            unsaved: 0,
            to_quarantine: VecDeque::new(),
            quarantining: HashMap::new(),
            stopping: None,
            interrupted: false,
            auth: None,
            outage_probe: None,
            outage_level: 0,
            probe: None,
            last_probe: None,
            failed_probes: 0,
            stopped: None,
            finished: false,
            counters: Counters::default(),
            last_error: None,
            cfg,
        }
    }

    /// The counters so far (settled records, failures, retries).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The last failure seen (cleared by a success once no call waits for a retry).
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The checkpoint saved last (or loaded at the start).
    pub fn saved_checkpoint(&self) -> Option<&Checkpoint> {
        self.saved.as_ref()
    }

    /// The mark: the longest settled prefix (what the next save writes).
    pub fn mark(&self) -> Option<&Checkpoint> {
        self.window.mark()
    }

    /// Whether the API counts as down (every recent call failed).
    pub fn in_outage(&self) -> bool {
        self.health.in_outage()
    }

    /// Calls sent and not answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The attempts made so far for the record `seq` (0 once it is settled, or unknown).
    pub fn attempts(&self, seq: u64) -> u32 {
        self.jobs.get(&seq).map_or(0, |j| j.tries.tries)
    }

    /// Whether the run is over ([`Action::Finished`] was handed out).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The answer to [`Action::Fetch`]: the records read, in source order. Fewer than the
    /// limit means the source is caught up.
    pub fn records(&mut self, batch: Vec<(Checkpoint, Incoming<T>)>, now: Instant) {
        self.fetching = false;
        if self.finished {
            return;
        }
        self.source_failures = 0;
        let got = batch.len();
        for (checkpoint, incoming) in batch {
            let seq = self.window.push(checkpoint.clone());
            self.cursor = Some(checkpoint);
            match incoming {
                Incoming::Deliver(item) => {
                    self.jobs.insert(seq, Job::new(item));
                    if self.stopping.is_none() {
                        self.queue.push_back(seq);
                    }
                }
                Incoming::Skip(reason) => {
                    self.window.settle(seq, Settled::Skipped(reason));
                }
                Incoming::Bad { item, reason } => {
                    self.jobs.insert(seq, Job::new(item));
                    self.to_quarantine.push_back((seq, reason, false));
                }
            }
        }
        if got < self.cfg.batch_size.max(1) {
            match self.cfg.mode {
                RunMode::Drain => self.source_done = true,
                RunMode::Serve if self.woken_during_fetch => self.next_fetch = now,
                RunMode::Serve => self.next_fetch = later(now, self.cfg.poll_interval),
            }
        } else {
            self.next_fetch = now;
        }
        self.woken_during_fetch = false;
    }

    /// The answer to [`Action::Fetch`] when the read failed: read again after a back-off; a
    /// drain gives up after `max_attempts` failures in a row.
    pub fn source_failed(&mut self, error: String, now: Instant) {
        self.fetching = false;
        self.woken_during_fetch = false;
        self.source_failures = self.source_failures.saturating_add(1);
        if self.cfg.mode == RunMode::Drain && self.source_failures >= self.rules.max_attempts {
            self.stopped.get_or_insert(Stopped::Source {
                last: error.clone(),
            });
        }
        self.last_error = Some(format!("the CDR source failed: {error}"));
        self.next_fetch = later(
            now,
            exponential(
                self.cfg.backoff_base,
                self.cfg.backoff_cap,
                self.source_failures - 1,
            ),
        );
    }

    /// The answer to [`Action::Fetch`] when the read failed in a way waiting will not heal (a
    /// refused login, a missing table): a drain stops at once ([`Stopped::Source`]); the
    /// service reads again after `backoff_cap`, so a fix on the server is picked up.
    pub fn source_misconfigured(&mut self, error: String, now: Instant) {
        self.fetching = false;
        self.woken_during_fetch = false;
        if self.cfg.mode == RunMode::Drain {
            self.stopped.get_or_insert(Stopped::Source {
                last: error.clone(),
            });
        }
        self.last_error = Some(format!("the CDR source is misconfigured: {error}"));
        self.next_fetch = later(now, self.cfg.backoff_cap);
    }

    /// The source has new records (a trigger, a watched file): read now, also when a read is
    /// in progress (it may have missed them).
    pub fn woken(&mut self, now: Instant) {
        self.next_fetch = now;
        if self.fetching {
            self.woken_during_fetch = true;
        }
    }

    /// Stop: no new call starts; calls in flight get the grace period; then the mark is
    /// saved and the run finishes.
    pub fn stop(&mut self, now: Instant) {
        if self.stopping.is_none() {
            self.stopping = Some(later(now, self.cfg.shutdown_grace));
            self.interrupted = true;
            // Calls not sent yet stay unsettled: the mark does not pass them.
            self.queue.clear();
            self.waiting.clear();
            self.due_of.clear();
        }
    }

    /// The answer to [`Action::Save`].
    pub fn saved(&mut self, checkpoint: Checkpoint, _now: Instant) {
        if self.saving.as_ref() == Some(&checkpoint) {
            self.saving = None;
        }
        self.saved = Some(checkpoint);
    }

    /// A save failed: the run stops (the checkpoint saved before stands).
    pub fn save_failed(&mut self, error: String, _now: Instant) {
        self.saving = None;
        self.stopped.get_or_insert(Stopped::Save { error });
    }

    /// The answer to [`Action::Quarantine`]: the entry is written, the record settled.
    pub fn quarantined(&mut self, seq: u64, _now: Instant) {
        if let Some(poison) = self.quarantining.remove(&seq)
            && self.jobs.remove(&seq).is_some()
        {
            self.counters.quarantined += 1;
            self.counters.poisoned += u64::from(poison);
            self.window.settle(seq, Settled::Quarantined);
        }
    }

    fn api_works(&mut self) {
        if self.health.succeeded() {
            self.outage_level = 0;
            self.outage_probe = None;
            self.failed_probes = 0;
        }
    }

    /// The answer to [`Action::Send`] `seq`. A `Retry-After` (`after`) is cut to
    /// [`SchedulerConfig::max_retry_after`] and counts as an attempt.
    pub fn answered(&mut self, seq: u64, answer: DeliveryOutcome, now: Instant) {
        if !self.sent.remove(&seq) {
            return; // not in flight (answered already, or from before a restart)
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        let was_probe = self.probe == Some(seq);
        if was_probe {
            self.probe = None;
        }
        match answer {
            DeliveryOutcome::Delivered | DeliveryOutcome::Duplicate => {
                self.api_works();
                if self.waiting.is_empty() {
                    self.last_error = None;
                }
                if self.jobs.remove(&seq).is_some() {
                    // Counted as the API acknowledges it, not once the mark passes it: a
                    // call waiting at the head does not hide the calls delivered behind it.
                    let settled = if answer == DeliveryOutcome::Delivered {
                        self.counters.delivered += 1;
                        Settled::Delivered
                    } else {
                        self.counters.duplicates += 1;
                        Settled::Duplicate
                    };
                    self.window.settle(seq, settled);
                }
            }
            DeliveryOutcome::Rejected { status, body } => {
                self.api_works();
                self.to_quarantine.push_back((
                    seq,
                    format!("the call API rejected it (HTTP {status}): {body}"),
                    false,
                ));
            }
            DeliveryOutcome::AuthFailed { status } => {
                self.auth.get_or_insert(status);
                self.counters.auth_failures += 1;
                self.last_error = Some(format!(
                    "the call API refused the credentials (HTTP {status}); delivery stopped"
                ));
                // Nothing more is sent; calls in flight finish.
                self.queue.clear();
            }
            DeliveryOutcome::Retry {
                kind,
                reason,
                after,
            } => self.failed(seq, kind, reason, after, was_probe, now),
        }
    }

    fn failed(
        &mut self,
        seq: u64,
        kind: FailureKind,
        reason: String,
        retry_after: Option<Duration>,
        was_probe: bool,
        now: Instant,
    ) {
        self.counters.retries += 1;
        *self
            .counters
            .failures
            .entry(kind.as_str().to_owned())
            .or_default() += 1;
        self.last_error = Some(reason.clone());
        // The API's wait is honoured up to the cap; it counts as an attempt like any failure.
        let after = retry_after.map(|a| a.min(self.cfg.max_retry_after));
        let waiting_calls = self.jobs.len();
        let Some(job) = self.jobs.get_mut(&seq) else {
            return;
        };
        let was_outage = self.health.in_outage();
        // A failure is about this call (not an outage too young to be seen) when another
        // call succeeded while it was in flight or since its previous failure.
        let successes = self.health.successes();
        if successes > job.successes_at_send
            || job.successes_at_failure.is_some_and(|f| successes > f)
        {
            job.corroborated += 1;
        }
        job.successes_at_failure = Some(successes);
        // The rules record the attempt, count it (not during a known outage) and detect
        // outages. Poison: `max_attempts` counted failures over at least `poison_after`,
        // other calls succeeded since its first failure, and at least one failure was
        // corroborated — so a healthy call failing only in an outage is never set aside.
        // An outage is `outage_calls` different calls failing with no success between — or
        // every call there is (at least three), when fewer are waiting.
        let mut rules = self.rules.clone();
        rules.outage_calls = self.outage_calls.min(waiting_calls.max(3));
        rules.failed(&mut job.tries, &mut self.health, seq, now, reason);
        let old_enough = job
            .tries
            .first_failure
            .is_some_and(|t| now.saturating_duration_since(t) >= self.rules.poison_after);
        let others = job.tries.others_succeeded(&self.health);
        let poison = !self.health.in_outage()
            && job.tries.counted >= self.rules.max_attempts
            && old_enough
            && others
            && job.corroborated >= 1;
        if poison {
            let reason = format!(
                "poison call: failed {} times while others were delivered; answers: {}",
                job.tries.tries,
                job.tries.answers.join(" | ")
            );
            self.to_quarantine.push_back((seq, reason, true));
            return;
        }
        let n = job.tries.tries.saturating_sub(1);
        let ceiling = exponential(self.cfg.retry_base, self.cfg.retry_cap, n);
        let delay = ceiling
            .mul_f64(self.rng.unit())
            .max(after.unwrap_or_default());
        if self.stopping.is_none() && self.auth.is_none() {
            let due = later(now, delay);
            self.waiting.insert((due, seq));
            self.due_of.insert(seq, due);
        }
        if self.health.in_outage() {
            if !was_outage {
                self.outage_level = 0;
            } else if self.in_flight == 0 {
                self.outage_level = self.outage_level.saturating_add(1);
            }
            let wait = exponential(
                self.cfg.backoff_base,
                self.cfg.backoff_cap,
                self.outage_level,
            )
            .mul_f64(0.5 + self.rng.unit() / 2.0)
            .max(after.unwrap_or_default());
            self.outage_probe = Some(later(now, wait));
            if was_probe {
                self.failed_probes = self.failed_probes.saturating_add(1);
            }
        }
        // Probes take turns between calls: during an outage a drain also gives up after
        // `max_attempts` failed probes in a row.
        if self.cfg.mode == RunMode::Drain
            && self.health.in_outage()
            && self.failed_probes >= self.rules.max_attempts
        {
            let last = self
                .jobs
                .get(&seq)
                .and_then(|j| j.tries.answers.last().cloned())
                .unwrap_or_default();
            self.stopped.get_or_insert(Stopped::Unavailable {
                attempts: self.failed_probes,
                last,
            });
        }
        // A drain gives up once the oldest call used its attempts while nothing else got
        // through: during an outage, or when it fails alone (no success since its first
        // failure, nothing else in flight and no call left to try).
        if self.cfg.mode == RunMode::Drain
            && let Some(head) = self.jobs.get(&self.window.head())
            && head.tries.tries >= self.rules.max_attempts
            && (self.health.in_outage()
                || (!head.tries.others_succeeded(&self.health)
                    && self.in_flight == 0
                    && self.queue.is_empty()
                    && self.source_done))
        {
            self.stopped.get_or_insert(Stopped::Unavailable {
                attempts: head.tries.tries,
                last: head.tries.answers.last().cloned().unwrap_or_default(),
            });
        }
    }

    /// The next instant something is due (a retry, a probe, a read, a save, the stop
    /// deadline), or `None` when only an event can move things on. Only instants at which
    /// [`Scheduler::poll_action`] will have something to do: a retry that is due while every
    /// slot is taken does not count (the driver would spin).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        let mut wake: Option<Instant> = None;
        let mut earliest = |t: Instant| wake = Some(wake.map_or(t, |w| w.min(t)));
        if self.may_send() {
            if self.health.in_outage() {
                if self.probe.is_none()
                    && self.in_flight == 0
                    && let Some(t) = self.outage_probe
                {
                    earliest(t);
                }
            } else if self.in_flight < self.cfg.concurrency.max(1)
                && let Some(&(t, _)) = self.waiting.iter().next()
            {
                earliest(t);
            }
        }
        if let Some(d) = self.stopping
            && self.in_flight > 0
        {
            earliest(d);
        }
        if self.may_fetch() {
            earliest(self.next_fetch);
        }
        // Ending (a stop, an error) saves at once or waits for an answer: no timer then.
        if self.dirty() && self.saving.is_none() && self.may_send() {
            earliest(later(self.last_save, self.cfg.save_interval));
        }
        wake
    }

    fn may_send(&self) -> bool {
        self.stopping.is_none() && self.auth.is_none() && self.stopped.is_none()
    }

    /// Whether a read may start (its time aside). The window bounds memory; while calls
    /// wait for a retry and nothing is in flight or queued, only the unsettled records count — other calls succeeding after a failing
    /// one is what tells a poison call from an outage, so they must be read.
    fn may_fetch(&self) -> bool {
        let batch = self.cfg.batch_size.max(1);
        let idle = self.in_flight == 0 && self.queue.is_empty();
        let cap = self.cfg.window.max(2 * batch);
        // Idle behind a waiting call, records already settled behind it do not count.
        let held = if idle {
            self.window.unsettled()
        } else {
            self.window.len()
        };
        !self.fetching
            && !self.source_done
            && self.may_send()
            && self.queue.len() <= batch
            && held + batch <= cap
    }

    fn dirty(&self) -> bool {
        self.window.mark().is_some() && self.window.mark() != self.saved.as_ref()
    }

    fn ending(&self, now: Instant) -> bool {
        let drained = self.cfg.mode == RunMode::Drain
            && self.source_done
            && !self.fetching
            && self.window.is_empty();
        let deadline = self.stopping.is_some_and(|d| now >= d);
        let quiet = self.in_flight == 0;
        drained
            || (self.stopped.is_some() && quiet)
            || (self.auth.is_some() && quiet)
            || (self.stopping.is_some() && (quiet || deadline))
    }

    /// What to do now, or `None` until an event arrives or [`Scheduler::poll_timeout`]
    /// passes. Call it until it returns `None` after every event.
    pub fn poll_action(&mut self, now: Instant) -> Option<Action<T>> {
        if self.finished {
            return None;
        }
        // Records settled in source order leave the window; the mark moves.
        while let Some((_, settled)) = self.window.pop_settled() {
            self.unsaved += 1;
            self.counters.received += 1;
            // Delivered, duplicate and quarantined records were counted as they happened.
            if let Settled::Skipped(reason) = settled {
                self.counters.count(&Outcome::Skipped(reason));
            }
        }
        // Quarantine entries are written before their records settle.
        if let Some((seq, reason, poison)) = self.to_quarantine.pop_front()
            && let Some(job) = self.jobs.get(&seq)
        {
            self.quarantining.insert(seq, poison);
            return Some(Action::Quarantine {
                seq,
                item: job.item.clone(),
                reason,
                poison,
            });
        }
        if self.ending(now) {
            if self.saving.is_some() || !self.quarantining.is_empty() {
                return None;
            }
            if self.dirty() && !matches!(self.stopped, Some(Stopped::Save { .. })) {
                let mark = self.window.mark().cloned()?;
                self.saving = Some(mark.clone());
                self.last_save = now;
                self.unsaved = 0;
                return Some(Action::Save(mark));
            }
            self.finished = true;
            let stopped = self
                .stopped
                .clone()
                .or_else(|| self.auth.map(|status| Stopped::AuthFailed { status }));
            let drained =
                self.cfg.mode == RunMode::Drain && self.source_done && self.window.is_empty();
            return Some(Action::Finished(Summary {
                checkpoint: self.saved.clone(),
                stopped,
                interrupted: self.interrupted && !drained,
            }));
        }
        if let Some(send) = self.next_send(now) {
            return Some(send);
        }
        if self.may_fetch() && now >= self.next_fetch {
            self.fetching = true;
            self.woken_during_fetch = false;
            return Some(Action::Fetch {
                after: self.cursor.clone(),
                limit: self.cfg.batch_size.max(1),
            });
        }
        if self.dirty()
            && self.saving.is_none()
            && (now >= later(self.last_save, self.cfg.save_interval)
                || self.unsaved >= self.cfg.save_every_calls.max(1))
        {
            let mark = self.window.mark().cloned()?;
            self.saving = Some(mark.clone());
            self.last_save = now;
            self.unsaved = 0;
            return Some(Action::Save(mark));
        }
        None
    }

    fn start(&mut self, seq: u64) -> Option<Action<T>> {
        if let Some(due) = self.due_of.remove(&seq) {
            self.waiting.remove(&(due, seq));
        }
        let successes = self.health.successes();
        let job = self.jobs.get_mut(&seq)?;
        job.successes_at_send = successes;
        self.in_flight += 1;
        self.sent.insert(seq);
        Some(Action::Send {
            seq,
            item: job.item.clone(),
        })
    }

    fn next_send(&mut self, now: Instant) -> Option<Action<T>> {
        if !self.may_send() {
            return None;
        }
        if self.health.in_outage() {
            // One probe at a time, when its timer is up: the earliest retry other than the
            // last probe (a poison call at the head must not stand for the whole API) or a
            // new call, else the last probe again.
            if self.probe.is_some()
                || self.in_flight > 0
                || self.outage_probe.is_some_and(|t| now < t)
            {
                return None;
            }
            // Retries and new calls take turns, so calls that fail for themselves (poison)
            // cannot keep the API looking down.
            let last = self.last_probe;
            let retry = self
                .waiting
                .iter()
                .find(|(_, seq)| Some(*seq) != last)
                .map(|&(_, seq)| seq);
            let new_turn = last.is_some_and(|l| self.due_of.contains_key(&l));
            let pick = if new_turn && !self.queue.is_empty() {
                self.queue.pop_front()
            } else {
                retry
                    .or_else(|| self.queue.pop_front())
                    .or_else(|| last.filter(|l| self.due_of.contains_key(l)))
            }?;
            self.probe = Some(pick);
            self.last_probe = Some(pick);
            return self.start(pick);
        }
        while self.in_flight < self.cfg.concurrency.max(1) {
            let seq = match self.waiting.iter().next() {
                Some(&(due, seq)) if due <= now => seq,
                _ => self.queue.pop_front()?,
            };
            if let Some(action) = self.start(seq) {
                return Some(action);
            }
        }
        None
    }
}
