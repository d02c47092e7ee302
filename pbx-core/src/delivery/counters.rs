//! [`Counters`]: what delivery counted, for status and metrics.

use std::collections::BTreeMap;

use serde::Serialize;

use super::outcome::Outcome;

/// Counters for status and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Records read from the source.
    pub received: u64,
    /// Calls the API stored.
    pub delivered: u64,
    /// Calls the API already had.
    pub duplicates: u64,
    /// Records not sent, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Records quarantined (unreadable or rejected).
    pub quarantined: u64,
    /// Delivery attempts that must be retried.
    pub retries: u64,
    /// Credential refusals.
    pub auth_failures: u64,
    /// Calls set aside as poison (failing while others succeeded, for `max_attempts` tries
    /// over at least `poison_after_secs`); also counted in `quarantined`.
    pub poisoned: u64,
    /// Failed delivery attempts by reason (`http_5xx`, `http_429`, `http_other`, `timeout`,
    /// `connection`, `io`, `other`).
    pub failures: BTreeMap<String, u64>,
    /// Start time of the newest call delivered, for lag.
    pub newest_call_start: Option<String>,
}

impl Counters {
    /// What was counted since `before` (an earlier snapshot of the same counters), counter by
    /// counter; the newest call start is this one's.
    ///
    /// ```
    /// use pbx_core::delivery::{Counters, Outcome};
    /// let mut c = Counters::default();
    /// c.count(&Outcome::Delivered);
    /// let before = c.clone();
    /// c.count(&Outcome::Delivered);
    /// c.count(&Outcome::Duplicate);
    /// let d = c.since(&before);
    /// assert_eq!((d.delivered, d.duplicates), (1, 1));
    /// ```
    pub fn since(&self, before: &Counters) -> Counters {
        let by_key = |after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>| {
            after
                .iter()
                .filter_map(|(k, v)| {
                    let d = v.saturating_sub(before.get(k).copied().unwrap_or(0));
                    (d > 0).then(|| (k.clone(), d))
                })
                .collect::<BTreeMap<_, _>>()
        };
        Counters {
            received: self.received.saturating_sub(before.received),
            delivered: self.delivered.saturating_sub(before.delivered),
            duplicates: self.duplicates.saturating_sub(before.duplicates),
            skipped: by_key(&self.skipped, &before.skipped),
            quarantined: self.quarantined.saturating_sub(before.quarantined),
            retries: self.retries.saturating_sub(before.retries),
            auth_failures: self.auth_failures.saturating_sub(before.auth_failures),
            poisoned: self.poisoned.saturating_sub(before.poisoned),
            failures: by_key(&self.failures, &before.failures),
            newest_call_start: self.newest_call_start.clone(),
        }
    }

    /// Counts one outcome.
    ///
    /// ```
    /// use pbx_core::delivery::{Counters, Outcome};
    /// use pbx_core::call::SkipReason;
    /// let mut c = Counters::default();
    /// c.count(&Outcome::Skipped(SkipReason::Internal));
    /// c.count(&Outcome::Delivered);
    /// assert_eq!(c.skipped["internal"], 1);
    /// assert_eq!(c.delivered, 1);
    /// ```
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Delivered => self.delivered += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Skipped(reason) => {
                *self.skipped.entry(reason.kind().to_owned()).or_default() += 1
            }
            Outcome::Quarantined => self.quarantined += 1,
            Outcome::Retry => self.retries += 1,
            Outcome::AuthFailed => self.auth_failures += 1,
        }
    }
}
