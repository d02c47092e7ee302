//! The acknowledgement window and the retry rules of the streaming engine: which checkpoint
//! may be saved while calls complete out of order, when a failing call is a poison call, and
//! when the whole API is down (an outage). Pure: the caller passes `now` in.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::traits::Checkpoint;

/// Records in source order, settled in any order; the checkpoint of the longest settled
/// prefix (the *mark*) is what may be saved.
///
/// Records enter with [`AckWindow::push`] (which numbers them), are settled with
/// [`AckWindow::settle`] in any order, and leave in source order through
/// [`AckWindow::pop_settled`], which moves the mark. The mark never passes a record that is
/// not settled; values settled behind an unsettled record wait in the window
/// ([`AckWindow::settled_behind`]) until it is.
///
/// ```
/// use pbx_core::Checkpoint;
/// use pbx_core::delivery::AckWindow;
/// let mut w = AckWindow::new(None);
/// let a = w.push(Checkpoint::new("1"));
/// let b = w.push(Checkpoint::new("2"));
/// assert!(w.settle(b, "delivered"));       // out of order
/// assert_eq!(w.pop_settled(), None);        // "1" is not settled: nothing moves
/// assert_eq!(w.settled_behind(), 1);
/// assert!(w.settle(a, "duplicate"));
/// assert_eq!(w.pop_settled(), Some((Checkpoint::new("1"), "duplicate")));
/// assert_eq!(w.pop_settled(), Some((Checkpoint::new("2"), "delivered")));
/// assert_eq!(w.mark(), Some(&Checkpoint::new("2")));
/// assert!(w.is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct AckWindow<T> {
    /// The sequence number of `slots[0]`.
    base: u64,
    slots: VecDeque<(Checkpoint, Option<T>)>,
    /// Settled records still in the window.
    settled: usize,
    mark: Option<Checkpoint>,
}

impl<T> Default for AckWindow<T> {
    fn default() -> Self {
        AckWindow::new(None)
    }
}

impl<T> AckWindow<T> {
    /// An empty window whose mark is `start` (the checkpoint loaded from the store).
    pub fn new(start: Option<Checkpoint>) -> Self {
        AckWindow {
            base: 0,
            slots: VecDeque::new(),
            settled: 0,
            mark: start,
        }
    }

    /// Adds the next record in source order, with the checkpoint reached once it is settled;
    /// returns its sequence number (for [`AckWindow::settle`]).
    pub fn push(&mut self, checkpoint: Checkpoint) -> u64 {
        self.slots.push_back((checkpoint, None));
        self.base + self.slots.len() as u64 - 1
    }

    /// Settles record `seq` with `value`. `false` (and nothing changes) when `seq` is not in
    /// the window or was settled already.
    pub fn settle(&mut self, seq: u64, value: T) -> bool {
        let Some(slot) = seq
            .checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.slots.get_mut(i))
        else {
            return false;
        };
        if slot.1.is_some() {
            return false;
        }
        slot.1 = Some(value);
        self.settled += 1;
        true
    }

    /// Whether record `seq` is in the window and settled.
    pub fn is_settled(&self, seq: u64) -> bool {
        seq.checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.slots.get(i))
            .is_some_and(|s| s.1.is_some())
    }

    /// The oldest record if it is settled: removes it, moves the mark to its checkpoint and
    /// returns both. `None` while the oldest record is unsettled (or the window is empty).
    pub fn pop_settled(&mut self) -> Option<(Checkpoint, T)> {
        if self.slots.front().is_none_or(|s| s.1.is_none()) {
            return None;
        }
        let (checkpoint, value) = self.slots.pop_front()?;
        self.base += 1;
        self.settled -= 1;
        self.mark = Some(checkpoint.clone());
        value.map(|v| (checkpoint, v))
    }

    /// The low-water mark: the checkpoint of the last record that left the window (or the
    /// start), before which every record is settled.
    pub fn mark(&self) -> Option<&Checkpoint> {
        self.mark.as_ref()
    }

    /// The sequence number of the oldest record in the window (the next one to leave).
    pub fn head(&self) -> u64 {
        self.base
    }

    /// Records in the window (settled or not).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no record is in the window.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Records in the window that are not settled.
    pub fn unsettled(&self) -> usize {
        self.slots.len() - self.settled
    }

    /// Settled records waiting behind an unsettled one.
    pub fn settled_behind(&self) -> usize {
        self.settled
    }
}

/// When a call that keeps failing is set aside, and when the API counts as down.
///
/// A call is **poison** once it has failed `max_attempts` times (attempts during an outage
/// not counted), its first failure is at least `poison_after` old, and some other call
/// succeeded after that first failure (so the API works — for other calls). The API is in
/// an **outage** once `outage_calls` different calls failed with no success in between: then
/// the engine backs off as a whole and quarantines nothing.
///
/// ```
/// use std::time::{Duration, Instant};
/// use pbx_core::delivery::{ApiHealth, CallTries, RetryRules, Verdict};
/// let rules = RetryRules { max_attempts: 2, poison_after: Duration::from_secs(10), outage_calls: 3 };
/// let (mut health, mut tries, t0) = (ApiHealth::default(), CallTries::default(), Instant::now());
/// assert_eq!(rules.failed(&mut tries, &mut health, 1, t0, "HTTP 500".into()), Verdict::RetryLater);
/// health.succeeded(); // another call went through
/// let later = t0 + Duration::from_secs(11);
/// assert_eq!(rules.failed(&mut tries, &mut health, 1, later, "HTTP 500".into()), Verdict::Poison);
/// assert_eq!(tries.answers.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryRules {
    /// Failed attempts before a call may be set aside (at least 1).
    pub max_attempts: u32,
    /// The least time between a call's first failure and its quarantine.
    pub poison_after: Duration,
    /// Different calls failing in a row (no success between) that make an outage.
    pub outage_calls: usize,
}

impl Default for RetryRules {
    fn default() -> Self {
        RetryRules {
            max_attempts: 5,
            poison_after: Duration::from_secs(120),
            outage_calls: 4,
        }
    }
}

/// The attempts of one call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallTries {
    /// Attempts made (all of them).
    pub tries: u32,
    /// Failed attempts made while the API was not in an outage (they count toward poison).
    pub counted: u32,
    /// When it first failed.
    pub first_failure: Option<Instant>,
    /// [`ApiHealth::successes`] at its first failure.
    successes_then: u64,
    /// Every failure's reason, in order (for the quarantine entry).
    pub answers: Vec<String>,
}

impl CallTries {
    /// Whether some other call succeeded since this call's first failure (so the API works,
    /// for other calls). `false` before its first failure.
    ///
    /// ```
    /// use std::time::Instant;
    /// use pbx_core::delivery::{ApiHealth, CallTries, RetryRules};
    /// let (mut health, mut tries) = (ApiHealth::default(), CallTries::default());
    /// RetryRules::default().failed(&mut tries, &mut health, 1, Instant::now(), "503".into());
    /// assert!(!tries.others_succeeded(&health));
    /// health.succeeded();
    /// assert!(tries.others_succeeded(&health));
    /// ```
    pub fn others_succeeded(&self, health: &ApiHealth) -> bool {
        self.first_failure.is_some() && health.successes > self.successes_then
    }
}

/// The API's recent record: successes, and the different calls failing since the last one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiHealth {
    successes: u64,
    failing: HashSet<u64>,
    outage: bool,
}

impl ApiHealth {
    /// An answer that shows the API works (stored, duplicate, or rejected): ends an outage.
    /// Returns whether an outage ended.
    pub fn succeeded(&mut self) -> bool {
        self.successes += 1;
        self.failing.clear();
        std::mem::replace(&mut self.outage, false)
    }

    /// Whether the API counts as down.
    pub fn in_outage(&self) -> bool {
        self.outage
    }

    /// Answers that showed the API works, so far.
    pub fn successes(&self) -> u64 {
        self.successes
    }
}

/// What to do with a call after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Try it again later (on its own timer; during an outage, when the API is back).
    RetryLater,
    /// Set it aside: quarantine it with its answers, and let the checkpoint move on.
    Poison,
}

impl RetryRules {
    /// Records a failed attempt of call `seq` at `now` with `reason` and decides. Also
    /// updates `health`: the call joins the failing calls, which may start an outage (see
    /// [`ApiHealth::in_outage`]).
    pub fn failed(
        &self,
        tries: &mut CallTries,
        health: &mut ApiHealth,
        seq: u64,
        now: Instant,
        reason: String,
    ) -> Verdict {
        tries.tries += 1;
        tries.answers.push(reason);
        if tries.first_failure.is_none() {
            tries.first_failure = Some(now);
            tries.successes_then = health.successes;
        }
        health.failing.insert(seq);
        if health.failing.len() >= self.outage_calls.max(1) {
            health.outage = true;
        }
        if health.outage {
            return Verdict::RetryLater;
        }
        tries.counted += 1;
        let old_enough = tries
            .first_failure
            .is_some_and(|t| now.saturating_duration_since(t) >= self.poison_after);
        let others_succeeded = health.successes > tries.successes_then;
        if tries.counted >= self.max_attempts.max(1) && old_enough && others_succeeded {
            Verdict::Poison
        } else {
            Verdict::RetryLater
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// For any order of settling, the mark never passes an unsettled record, and it
        /// reaches the last record once all are settled.
        #[test]
        fn mark_never_passes_an_unsettled_record(
            n in 1usize..60,
            order in proptest::collection::vec(any::<proptest::sample::Index>(), 0..120),
        ) {
            let mut w = AckWindow::new(Some(Checkpoint::new("start")));
            let seqs: Vec<u64> = (0..n).map(|i| w.push(Checkpoint::new(i.to_string()))).collect();
            let mut settled = vec![false; n];
            let mut popped = 0usize;
            // Settle in the generated order, then whatever is left in reverse.
            let picks = order.iter().map(|ix| ix.index(n)).chain((0..n).rev());
            for i in picks {
                let fresh = !settled[i];
                prop_assert_eq!(w.settle(seqs[i], i), fresh);
                settled[i] = true;
                while let Some((cp, v)) = w.pop_settled() {
                    prop_assert_eq!(cp.as_str(), popped.to_string());
                    prop_assert_eq!(v, popped);
                    popped += 1;
                }
                // Every record before the mark is settled; the one after it is not.
                prop_assert!(settled[..popped].iter().all(|s| *s));
                prop_assert!(popped == n || !settled[popped]);
                let expected = if popped == 0 { "start".to_owned() } else { (popped - 1).to_string() };
                prop_assert_eq!(w.mark().map(Checkpoint::as_str), Some(expected.as_str()));
                prop_assert_eq!(w.unsettled(), settled.iter().filter(|s| !**s).count());
            }
            prop_assert_eq!(popped, n);
            prop_assert!(w.is_empty());
            let last = (n - 1).to_string();
            prop_assert_eq!(w.mark().map(Checkpoint::as_str), Some(last.as_str()));
        }

        /// Whatever the failures, nothing is poisoned while every call fails (no success
        /// after its first failure), however long and however often it is tried.
        #[test]
        fn nothing_is_poisoned_without_a_success(
            failures in proptest::collection::vec((0u64..5, 0u64..10_000), 1..200),
        ) {
            let rules = RetryRules { max_attempts: 2, poison_after: Duration::from_secs(1), outage_calls: 3 };
            let mut health = ApiHealth::default();
            let mut tries: Vec<CallTries> = vec![CallTries::default(); 5];
            let t0 = Instant::now();
            for (seq, ms) in failures {
                let v = rules.failed(&mut tries[seq as usize], &mut health, seq,
                    t0 + Duration::from_millis(ms), "down".into());
                prop_assert_eq!(v, Verdict::RetryLater);
            }
        }
    }

    #[test]
    fn settling_outside_the_window_is_refused() {
        let mut w: AckWindow<()> = AckWindow::new(None);
        assert!(!w.settle(0, ()));
        let a = w.push(Checkpoint::new("a"));
        assert!(w.settle(a, ()));
        assert!(!w.settle(a, ()), "twice");
        assert!(w.pop_settled().is_some());
        assert!(!w.settle(a, ()), "already left");
        assert!(!w.settle(a + 5, ()), "not yet pushed");
        assert_eq!(w.head(), 1);
    }

    #[test]
    fn many_failing_calls_make_an_outage_and_a_success_ends_it() {
        let rules = RetryRules {
            max_attempts: 1,
            poison_after: Duration::ZERO,
            outage_calls: 3,
        };
        let mut health = ApiHealth::default();
        health.succeeded();
        let t = Instant::now();
        let mut tries = vec![CallTries::default(); 3];
        for (seq, tr) in tries.iter_mut().enumerate() {
            // Before the outage, a failure after a success may poison at once (limits 1/0).
            let v = rules.failed(tr, &mut health, seq as u64, t, "503".into());
            if seq < 2 {
                assert_eq!(v, Verdict::RetryLater, "no success since its first failure");
            }
        }
        assert!(health.in_outage());
        assert_eq!(tries[2].counted, 0, "failures in an outage are not counted");
        assert!(health.succeeded());
        assert!(!health.in_outage());
        // Back to normal: call 0 fails again while others succeeded since its first failure.
        assert_eq!(
            rules.failed(&mut tries[0], &mut health, 0, t, "500".into()),
            Verdict::Poison
        );
    }
}
