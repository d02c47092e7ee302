//! Deterministic simulation of the delivery [`Scheduler`]: a simulated clock, source, call
//! API, checkpoint store and quarantine drive it from a seed, with faults drawn per seed —
//! 201, 409, 400/422, 401, 404, 429 with `Retry-After` (small, huge, `99999`, a date in year
//! 9999, garbage), 500/503, timeouts, resets, answers slower than the timeout, poison calls,
//! outages of random length, slow and failing saves, crash-and-restart at any step (only
//! the saved checkpoint, the quarantine and the API's accepted ids survive), stop requests,
//! and (serve mode) a source that grows while it is read, with a wake-up.
//!
//! After every step: the saved checkpoint and the mark never pass a call the API has not
//! accepted (or that is not quarantined/skipped); nothing is quarantined as poison unless
//! another call succeeded after its first failure, nor on a failure of an outage; no panic.
//! At the end of each seed: every call accepted by the API or quarantined (a poison call, a
//! rejected one, an unreadable record), never both unless a crash made the run forget; a
//! drain ends, and new records in serve mode are delivered, within a bound computed from
//! the seed's faults.
//!
//! `cargo test -p pbx-core --test delivery_sim` runs 10 000 seeds (`PBX_SIM_SEEDS=N` for
//! more, a soak: `PBX_SIM_SEEDS=1000000`; `PBX_SIM_FIRST=S` starts elsewhere);
//! `PBX_SIM_SEED=S` replays one seed and prints its trace. A failing seed prints the
//! one-line command that replays it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use pbx_core::Checkpoint;
use pbx_core::DeliveryOutcome as Answer;
use pbx_core::call::SkipReason;
use pbx_core::delivery::{
    Action, FailureKind, Incoming, RunMode, Scheduler, SchedulerConfig, SplitMix64, Stopped,
};

const TIMEOUT_MS: u64 = 2_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Call,
    /// Always answered 500: must end in the quarantine as poison.
    Poison,
    /// Always answered 400 or 422: quarantined as rejected.
    Reject,
    Skip,
    Bad,
}

/// A record: its index in the source is its checkpoint minus one.
#[derive(Clone, Copy, Debug)]
struct Rec {
    id: usize,
    kind: Kind,
}

/// Events of the simulated world, in time order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Answer {
        run: u32,
        seq: u64,
        answer: SimAnswer,
    },
    Fetched {
        run: u32,
        result: Result<Vec<usize>, String>,
    },
    Saved {
        run: u32,
        cp: usize,
        ok: bool,
    },
    Quarantined {
        run: u32,
        seq: u64,
    },
    Append {
        upto: usize,
    },
    Stop {
        run: u32,
    },
    Restart,
}

/// An answer as the driver would hand it to the scheduler (orderable for the heap).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SimAnswer {
    Delivered,
    Duplicate,
    Rejected(u16),
    Auth(u16),
    Failed {
        kind: u8,
        reason: String,
        after: Option<Duration>,
        outage: bool,
    },
}

fn kind_of(k: u8) -> FailureKind {
    match k {
        0 => FailureKind::Http429,
        1 => FailureKind::Http5xx,
        2 => FailureKind::HttpOther,
        3 => FailureKind::Timeout,
        _ => FailureKind::Connection,
    }
}

/// One seed's faults.
#[derive(Debug, Clone)]
struct Faults {
    p_503: u64,
    p_429: u64,
    p_404: u64,
    p_reset: u64,
    p_slow: u64,
    p_crash: u64,
    p_save_fail: u64,
    save_ms: u64,
    outages: Vec<(u64, u64)>,
    auth: Option<(u64, u64)>,
    stop_at: Option<u64>,
}

struct Sim {
    seed: u64,
    rng: SplitMix64,
    trace: bool,
    cfg: SchedulerConfig,
    faults: Faults,
    recs: Vec<Rec>,
    visible: usize,
    // The world that survives a crash.
    accepted: HashMap<usize, u32>,
    store: Option<usize>,
    quarantine: Vec<(usize, bool)>,
    // The run.
    run: u32,
    sched: Option<Scheduler<usize>>,
    now_ms: u64,
    t0: Instant,
    events: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    order: u64,
    steps: u64,
    crashes: u32,
    // Per run: the step of each call's first failure, of the last success, and whether the
    // last failure of a call came from an outage.
    first_failure: HashMap<usize, u64>,
    last_success: Option<(u64, usize)>,
    last_fail_outage: HashMap<usize, bool>,
    /// Per run: each call's failures that did not come from an outage.
    clean_failures: HashMap<usize, u32>,
    finished_ok: bool,
    retry_after_kinds: Vec<&'static str>,
    /// The last drain gave up on poison calls only (nothing after them to tell).
    poison_left: bool,
    /// The record each send of this run was for.
    sent: HashMap<u64, usize>,
}

impl Sim {
    fn new(seed: u64, trace: bool) -> Sim {
        let mut rng = SplitMix64::new(seed ^ 0x005E_ED0F_D311_7E27);
        let mut r = |n: u64| rng.below(n);
        let serve = r(10) < 3;
        let n = 3 + r(30) as usize;
        let batch = 1 + r(8) as usize;
        let cfg = SchedulerConfig {
            mode: if serve {
                RunMode::Serve
            } else {
                RunMode::Drain
            },
            batch_size: batch,
            concurrency: 1 + r(6) as usize,
            // Larger than the failing calls it may hold: a window full of calls failing for
            // themselves reads nothing more, and nothing tells them from an outage.
            window: 2 * batch + 4 + r(3 * batch as u64 + 10) as usize,
            // Serve seeds must rely on wake-ups, never on the poll interval.
            poll_interval: Duration::from_secs(if serve { 10 * 86_400 } else { 5 }),
            backoff_base: Duration::from_millis(50 + r(1000)),
            backoff_cap: Duration::from_secs(1 + r(60)),
            max_attempts: 1 + r(5) as u32,
            poison_after: Duration::from_secs(r(20)),
            retry_base: Duration::from_millis(10 + r(500)),
            retry_cap: Duration::from_secs(1 + r(30)),
            max_retry_after: Duration::from_secs(1 + r(120)),
            save_interval: Duration::from_millis(r(500)),
            save_every_calls: 1 + r(20) as usize,
            shutdown_grace: Duration::from_millis(r(5000)),
        };
        let mut recs = Vec::with_capacity(n);
        // At most two poison calls: three failing in a row with nothing between look like
        // an outage to anyone (the scheduler then waits, as it must for an outage).
        let mut poison = 0;
        for id in 0..n {
            let kind = match r(100) {
                0..=4 if id + 3 < n && poison < 2 => {
                    poison += 1;
                    Kind::Poison
                }
                5..=8 => Kind::Reject,
                9..=18 => Kind::Skip,
                19..=22 => Kind::Bad,
                _ => Kind::Call,
            };
            recs.push(Rec { id, kind });
        }
        let flaky = r(3) > 0;
        let pct = |r: &mut dyn FnMut(u64) -> u64, max: u64| if flaky { r(max) } else { 0 };
        let mut outages = Vec::new();
        for _ in 0..r(3) {
            let start = r(60_000);
            outages.push((start, start + 1_000 + r(120_000)));
        }
        let auth = (r(20) == 0).then(|| {
            let s = r(30_000);
            (s, s + r(60_000))
        });
        let faults = Faults {
            p_503: pct(&mut r, 12),
            p_429: pct(&mut r, 8),
            p_404: pct(&mut r, 3),
            p_reset: pct(&mut r, 5),
            p_slow: pct(&mut r, 4),
            p_crash: if r(4) == 0 { 1 + r(8) } else { 0 },
            p_save_fail: if r(6) == 0 { 1 + r(10) } else { 0 },
            save_ms: r(800),
            outages,
            auth,
            stop_at: (r(6) == 0).then(|| r(20_000)),
        };
        let visible = if serve { (n / 3).max(1) } else { n };
        let mut sim = Sim {
            seed,
            rng,
            trace,
            cfg,
            faults,
            recs,
            visible,
            accepted: HashMap::new(),
            store: None,
            quarantine: Vec::new(),
            run: 0,
            sched: None,
            now_ms: 0,
            t0: Instant::now(),
            events: BinaryHeap::new(),
            order: 0,
            steps: 0,
            crashes: 0,
            first_failure: HashMap::new(),
            last_success: None,
            last_fail_outage: HashMap::new(),
            clean_failures: HashMap::new(),
            finished_ok: false,
            retry_after_kinds: Vec::new(),
            sent: HashMap::new(),
            poison_left: false,
        };
        if serve {
            // The source grows twice more, each time with a wake-up (sometimes while a read
            // is in progress: reads take time).
            let a = sim.rng.below(20_000);
            let b = a + sim.rng.below(20_000);
            sim.at(
                a,
                Ev::Append {
                    upto: (2 * n / 3).max(sim.visible),
                },
            );
            sim.at(b, Ev::Append { upto: n });
        }
        sim
    }

    fn at(&mut self, at_ms: u64, ev: Ev) {
        self.order += 1;
        self.events.push(Reverse((at_ms, self.order, ev)));
    }

    fn now(&self) -> Instant {
        self.t0 + Duration::from_millis(self.now_ms)
    }

    fn log(&self, what: impl FnOnce() -> String) {
        if self.trace {
            eprintln!("[{:>9} ms] {}", self.now_ms, what());
        }
    }

    fn in_outage(&self, t: u64) -> bool {
        self.faults
            .outages
            .iter()
            .any(|&(a, b)| (a..b).contains(&t))
    }

    /// The sum of every wait a seed's faults may impose: a drain must end, and new records
    /// in serve mode must be delivered, within it.
    fn bound_ms(&self) -> u64 {
        let c = &self.cfg;
        let calls = self.recs.len() as u64;
        let per_try = TIMEOUT_MS
            + c.retry_cap.as_millis() as u64
            + c.max_retry_after.as_millis() as u64
            + c.backoff_cap.as_millis() as u64
            + self.faults.save_ms
            + c.save_interval.as_millis() as u64;
        let outage: u64 = self.faults.outages.iter().map(|(a, b)| b - a).sum();
        let auth = self.faults.auth.map_or(0, |(a, b)| b - a);
        let runs = u64::from(self.crashes) + 4;
        outage
            + auth
            + 60_000
            + runs * (c.shutdown_grace.as_millis() as u64 + 1_000)
            + calls * (u64::from(c.max_attempts) + 2) * per_try
            + c.poison_after.as_millis() as u64 * calls
    }

    fn start_run(&mut self) {
        self.run += 1;
        self.first_failure.clear();
        self.last_success = None;
        self.last_fail_outage.clear();
        self.clean_failures.clear();
        self.sent.clear();
        let start = self.store.map(|i| Checkpoint::new(i.to_string()));
        let seed = self.seed.wrapping_mul(31).wrapping_add(u64::from(self.run));
        self.log(|| format!("run {} starts at checkpoint {:?}", self.run, self.store));
        self.sched = Some(Scheduler::new(self.cfg.clone(), start, seed, self.now()));
        if let Some(t) = self.faults.stop_at.take() {
            let run = self.run;
            self.at(self.now_ms + t, Ev::Stop { run });
        }
    }

    fn fail(&self, what: String) -> ! {
        panic!("{what}");
    }

    /// What the API does with one request of record `id`, sent now.
    fn api(&mut self, id: usize) -> (u64, SimAnswer) {
        let t = self.now_ms;
        let f = self.faults.clone();
        let latency = 1 + self.rng.below(40);
        if self.in_outage(t) {
            let reason = "connection refused".to_owned();
            return (
                1,
                SimAnswer::Failed {
                    kind: 4,
                    reason,
                    after: None,
                    outage: true,
                },
            );
        }
        if let Some((a, b)) = f.auth
            && (a..b).contains(&t)
        {
            return (latency, SimAnswer::Auth(401));
        }
        let kind = self.recs[id].kind;
        if kind == Kind::Poison {
            return (latency, failed(1, "HTTP 500: boom".into(), None));
        }
        if kind == Kind::Reject {
            let status = if id.is_multiple_of(2) { 400 } else { 422 };
            return (latency, SimAnswer::Rejected(status));
        }
        let roll = self.rng.below(100);
        let mut edge = f.p_503;
        if roll < edge {
            return (latency, failed(1, "HTTP 503: busy".into(), None));
        }
        edge += f.p_429;
        if roll < edge {
            let (label, after) = match self.rng.below(5) {
                0 => ("small", Some(Duration::from_millis(self.rng.below(5_000)))),
                1 => ("u64::MAX seconds", Some(Duration::from_secs(u64::MAX))),
                2 => ("99999", Some(Duration::from_secs(99_999))),
                // A date in year 9999, as the driver computes it: that date minus now.
                3 => (
                    "year 9999",
                    Some(Duration::from_secs(253_402_300_799 - 1_796_601_600)),
                ),
                _ => ("garbage", None),
            };
            if !self.retry_after_kinds.contains(&label) {
                self.retry_after_kinds.push(label);
            }
            return (
                latency,
                failed(0, format!("HTTP 429 (Retry-After: {label})"), after),
            );
        }
        edge += f.p_404;
        if roll < edge {
            return (latency, failed(2, "unexpected HTTP 404".into(), None));
        }
        edge += f.p_reset;
        if roll < edge {
            // Reset right after the request was read: the API may have stored it.
            if self.rng.below(2) == 0 {
                self.accept(id);
            }
            return (latency, failed(4, "connection reset".into(), None));
        }
        edge += f.p_slow;
        if roll < edge {
            // Slower than the timeout: the API stores it, the client gives up.
            self.accept(id);
            return (TIMEOUT_MS, failed(3, "timed out".into(), None));
        }
        if self.accept(id) {
            (latency, SimAnswer::Delivered)
        } else {
            (latency, SimAnswer::Duplicate)
        }
    }

    /// Stores `id`; `false` when it was stored already (409).
    fn accept(&mut self, id: usize) -> bool {
        let n = self.accepted.entry(id).or_default();
        *n += 1;
        *n == 1
    }

    fn settled_in_world(&self, i: usize) -> bool {
        let rec = self.recs[i];
        match rec.kind {
            Kind::Skip => true,
            _ => {
                self.accepted.contains_key(&rec.id)
                    || self.quarantine.iter().any(|(q, _)| *q == rec.id)
            }
        }
    }

    fn check_invariants(&self) {
        let sched = self.sched.as_ref();
        let mark = sched
            .and_then(|s| s.mark())
            .map(|c| c.as_str().parse::<usize>().unwrap());
        for (what, upto) in [("saved checkpoint", self.store), ("mark", mark)] {
            if let Some(k) = upto
                && let Some(i) = (0..k).find(|&i| !self.settled_in_world(i))
            {
                self.fail(format!(
                        "the {what} ({k}) passed record {} ({:?}), which the API has not accepted and the quarantine does not hold",
                        i + 1,
                        self.recs[i].kind
                    ));
            }
        }
    }

    fn drive(&mut self) {
        loop {
            let now = self.now();
            let Some(sched) = self.sched.as_mut() else {
                return;
            };
            let Some(action) = sched.poll_action(now) else {
                return;
            };
            self.steps += 1;
            let run = self.run;
            match action {
                Action::Fetch { after, limit } => {
                    let from = after.map_or(0, |c| c.as_str().parse::<usize>().unwrap());
                    // The read sees the source as it is now; it takes time.
                    let upto = self.visible.min(from + limit);
                    let took = self.rng.below(300);
                    let result = if self.rng.below(50) == 0 {
                        Err("the source failed".into())
                    } else {
                        Ok((from..upto).collect())
                    };
                    self.log(|| format!("fetch after {from}: {result:?}"));
                    self.at(self.now_ms + took, Ev::Fetched { run, result });
                }
                Action::Send { seq, item } => {
                    self.sent.insert(seq, item);
                    let (after, answer) = self.api(item);
                    self.log(|| {
                        format!(
                            "send #{seq} (record {}) -> {answer:?} in {after} ms",
                            item + 1
                        )
                    });
                    self.at(self.now_ms + after, Ev::Answer { run, seq, answer });
                }
                Action::Save(cp) => {
                    let cp: usize = cp.as_str().parse().unwrap();
                    let ok = self.rng.below(100) >= self.faults.p_save_fail;
                    let took = self.rng.below(self.faults.save_ms + 1);
                    self.at(self.now_ms + took, Ev::Saved { run, cp, ok });
                }
                Action::Quarantine {
                    seq,
                    item,
                    reason,
                    poison,
                } => {
                    self.log(|| {
                        format!("quarantine record {} (poison {poison}): {reason}", item + 1)
                    });
                    if poison {
                        let first = self.first_failure.get(&item).copied();
                        let ok = matches!((first, self.last_success), (Some(f), Some((s, other))) if s > f && other != item);
                        if !ok {
                            self.fail(format!("record {} quarantined as poison although no other call succeeded after its first failure", item + 1));
                        }
                        if self.clean_failures.get(&item).copied().unwrap_or(0) == 0 {
                            self.fail(format!(
                                "record {} quarantined as poison although every failure it got came from an outage",
                                item + 1
                            ));
                        }
                    }
                    self.quarantine.push((item, poison));
                    let took = self.rng.below(20);
                    self.at(self.now_ms + took, Ev::Quarantined { run, seq });
                }
                Action::Finished(summary) => {
                    self.log(|| format!("run {run} finished: {summary:?}"));
                    self.sched = None;
                    let only_poison_left = (0..self.recs.len())
                        .all(|i| self.settled_in_world(i) || self.recs[i].kind == Kind::Poison);
                    let again = match (&summary.stopped, summary.interrupted) {
                        (None, false) => {
                            self.finished_ok = true;
                            None
                        }
                        // A poison call that no other call succeeded after (it is the last
                        // call) is never set aside: the drain gives up on it, every time.
                        (Some(Stopped::Unavailable { .. }), _) if only_poison_left => {
                            self.finished_ok = true;
                            self.poison_left = true;
                            None
                        }
                        (Some(Stopped::AuthFailed { .. }), _) => {
                            // The operator fixes the token after the refusals end.
                            let end = self.faults.auth.map_or(0, |(_, b)| b);
                            self.faults.auth = None;
                            Some(end.max(self.now_ms) + 1_000)
                        }
                        _ => Some(self.now_ms + 1_000),
                    };
                    if let Some(t) = again {
                        self.at(t, Ev::Restart);
                    }
                    return;
                }
                _ => {}
            }
            self.check_invariants();
        }
    }

    fn handle(&mut self, ev: Ev) {
        let now = self.now();
        let live = |run: u32, sim: &Sim| run == sim.run && sim.sched.is_some();
        match ev {
            Ev::Restart if self.sched.is_none() => self.start_run(),
            Ev::Append { upto } => {
                self.visible = self.visible.max(upto);
                self.log(|| format!("the source grows to {upto}; wake-up"));
                if let Some(s) = self.sched.as_mut() {
                    s.woken(now);
                }
            }
            Ev::Stop { run } if live(run, self) => {
                self.log(|| "stop requested".into());
                self.sched.as_mut().unwrap().stop(now);
            }
            Ev::Fetched { run, result } if live(run, self) => {
                let s = self.sched.as_mut().unwrap();
                match result {
                    Ok(ids) => {
                        let batch = ids
                            .into_iter()
                            .map(|i| {
                                let cp = Checkpoint::new((i + 1).to_string());
                                let inc = match self.recs[i].kind {
                                    Kind::Skip => Incoming::Skip(SkipReason::Internal),
                                    Kind::Bad => Incoming::Bad {
                                        item: i,
                                        reason: format!("line {}: bad", i + 1),
                                    },
                                    _ => Incoming::Deliver(i),
                                };
                                (cp, inc)
                            })
                            .collect();
                        s.records(batch, now);
                    }
                    Err(e) => s.source_failed(e, now),
                }
            }
            Ev::Saved { run, cp, ok } if live(run, self) => {
                if ok {
                    self.store = Some(self.store.map_or(cp, |s| s.max(cp)));
                    if self.store != Some(cp) {
                        self.fail(format!("a save moved the checkpoint backwards to {cp}"));
                    }
                    self.sched
                        .as_mut()
                        .unwrap()
                        .saved(Checkpoint::new(cp.to_string()), now);
                } else {
                    self.sched
                        .as_mut()
                        .unwrap()
                        .save_failed("disk full".into(), now);
                }
            }
            Ev::Quarantined { run, seq } if live(run, self) => {
                self.sched.as_mut().unwrap().quarantined(seq, now);
            }
            Ev::Answer { run, seq, answer } if live(run, self) => {
                let outage = matches!(answer, SimAnswer::Failed { outage: true, .. });
                let answer = match answer {
                    SimAnswer::Delivered => Answer::Delivered,
                    SimAnswer::Duplicate => Answer::Duplicate,
                    SimAnswer::Rejected(status) => Answer::Rejected {
                        status,
                        body: "invalid".into(),
                    },
                    SimAnswer::Auth(status) => Answer::AuthFailed { status },
                    SimAnswer::Failed {
                        kind,
                        reason,
                        after,
                        ..
                    } => Answer::Retry {
                        kind: kind_of(kind),
                        reason,
                        after,
                    },
                };
                let id = self.record_of(seq);
                match &answer {
                    Answer::Retry { .. } => {
                        self.first_failure.entry(id).or_insert(self.steps);
                        self.last_fail_outage.insert(id, outage);
                        if !outage {
                            *self.clean_failures.entry(id).or_default() += 1;
                        }
                    }
                    Answer::Delivered | Answer::Duplicate | Answer::Rejected { .. } => {
                        self.last_success = Some((self.steps, id));
                    }
                    _ => {}
                }
                self.steps += 1;
                self.sched.as_mut().unwrap().answered(seq, answer, now);
            }
            _ => {} // an event of a run that crashed or ended
        }
    }

    /// The record behind sequence number `seq` of this run.
    fn record_of(&self, seq: u64) -> usize {
        self.sent[&seq]
    }

    fn run_to_end(&mut self) {
        self.start_run();
        let end_ms = self.bound_ms();
        let serve = self.cfg.mode == RunMode::Serve;
        let mut last_append = 0;
        loop {
            self.drive();
            self.check_invariants();
            if self.finished_ok || (serve && self.sched.is_none() && self.events.is_empty()) {
                break;
            }
            if self.sched.is_some()
                && self.faults.p_crash > 0
                && self.crashes < 4
                && self.rng.below(1000) < self.faults.p_crash
            {
                self.crashes += 1;
                self.log(|| "CRASH".into());
                self.sched = None;
                self.at(self.now_ms + 500, Ev::Restart);
            }
            // The next event, or the scheduler's timer, whichever is first.
            let timer = self.sched.as_ref().and_then(|s| s.poll_timeout()).map(|t| {
                // Rounded up: the scheduler's instants are finer than the sim's milliseconds.
                let ms = t
                    .saturating_duration_since(self.t0)
                    .as_nanos()
                    .div_ceil(1_000_000);
                u64::try_from(ms).unwrap_or(u64::MAX).max(self.now_ms)
            });
            let next_ev = self.events.peek().map(|Reverse((t, _, _))| *t);
            let next = match (timer, next_ev) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(u64::MAX),
            };
            if serve {
                last_append = last_append.max(self.pending_append_time());
                if self.all_delivered_or_poison() && self.pending_append_time() == 0 {
                    break;
                }
            }
            if next == u64::MAX || next > end_ms {
                let what = if serve {
                    "records appended (with a wake-up) were not delivered"
                } else {
                    "the drain did not end"
                };
                self.fail(format!(
                    "{what} within the bound of {} s computed from the seed's faults (next thing due at {} s; Retry-After kinds seen: {:?})",
                    end_ms / 1000,
                    if next == u64::MAX { u64::MAX } else { next / 1000 },
                    self.retry_after_kinds
                ));
            }
            if next <= self.now_ms && next_ev != Some(next) {
                self.log(|| format!("{:#?}", self.sched));
                self.fail(format!(
                    "busy loop: poll_timeout() is due ({} ms) but poll_action() has nothing to do",
                    next
                ));
            }
            if self.steps > 1_000_000 {
                self.fail("no end after a million steps".into());
            }
            self.now_ms = next;
            if next_ev == Some(next) {
                let Reverse((_, _, ev)) = self.events.pop().unwrap();
                self.handle(ev);
            }
        }
        let _ = last_append;
        self.final_checks();
    }

    fn pending_append_time(&self) -> u64 {
        self.events
            .iter()
            .filter_map(|Reverse((t, _, e))| matches!(e, Ev::Append { .. }).then_some(*t))
            .max()
            .unwrap_or(0)
    }

    fn all_delivered_or_poison(&self) -> bool {
        self.recs.iter().all(|r| match r.kind {
            Kind::Skip => true,
            Kind::Poison => true,
            _ => self.settled_in_world(r.id),
        }) && self.visible == self.recs.len()
    }

    fn final_checks(&self) {
        for r in &self.recs {
            let accepted = self.accepted.contains_key(&r.id);
            let quarantined = self.quarantine.iter().any(|(q, _)| *q == r.id);
            let ok = match r.kind {
                Kind::Skip => !accepted && !quarantined,
                Kind::Bad | Kind::Reject => !accepted && quarantined,
                Kind::Poison => {
                    !accepted
                        && (quarantined || self.cfg.mode == RunMode::Serve || self.poison_left)
                }
                Kind::Call => accepted || quarantined,
            };
            if !ok {
                self.fail(format!(
                    "record {} ({:?}) ended accepted={accepted} quarantined={quarantined}",
                    r.id + 1,
                    r.kind
                ));
            }
        }
    }
}

fn failed(kind: u8, reason: String, after: Option<Duration>) -> SimAnswer {
    SimAnswer::Failed {
        kind,
        reason,
        after,
        outage: false,
    }
}

fn run_seed(seed: u64, trace: bool) -> Result<(), String> {
    let outcome = std::panic::catch_unwind(|| {
        let mut sim = Sim::new(seed, trace);
        sim.run_to_end();
    });
    outcome.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

#[test]
fn the_scheduler_survives_every_seed() {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(seed) = env("PBX_SIM_SEED") {
        if let Err(e) = run_seed(seed, true) {
            panic!("seed {seed}: {e}");
        }
        return;
    }
    let seeds = env("PBX_SIM_SEEDS").unwrap_or(10_000);
    let first = env("PBX_SIM_FIRST").unwrap_or(0);
    // Quiet: the panics of failing seeds are reported below, once each.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let mut failures = Vec::new();
    for seed in first..first + seeds {
        if let Err(e) = run_seed(seed, false) {
            failures.push((seed, e));
            if failures.len() >= 5 {
                break;
            }
        }
    }
    std::panic::set_hook(hook);
    eprintln!("{seeds} seeds in {:.1} s", started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        let lines: Vec<String> = failures
            .iter()
            .map(|(seed, e)| {
                format!("seed {seed}: {e}\n  replay: PBX_SIM_SEED={seed} cargo test -p pbx-core --test delivery_sim -- --nocapture")
            })
            .collect();
        panic!("{} failing seed(s):\n{}", failures.len(), lines.join("\n"));
    }
}
