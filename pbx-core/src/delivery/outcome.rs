//! [`Outcome`]: what finally became of one record.

use crate::call::SkipReason;
use crate::traits::DeliveryOutcome;

/// What finally became of one record in a round.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The API stored it.
    Delivered,
    /// The API already had it (409).
    Duplicate,
    /// Not sent, for this reason.
    Skipped(SkipReason),
    /// Kept aside (unreadable, or rejected by the API).
    Quarantined,
    /// Not settled: try again in a later round.
    Retry,
    /// The API refused our credentials: stop delivering.
    AuthFailed,
}

impl Outcome {
    /// Whether the checkpoint may move past this record.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Outcome::Delivered | Outcome::Duplicate | Outcome::Skipped(_) | Outcome::Quarantined
        )
    }
}

/// A delivery answer as an outcome (`Rejected` becomes `Quarantined`: the caller writes the
/// quarantine entry).
impl From<DeliveryOutcome> for Outcome {
    fn from(d: DeliveryOutcome) -> Self {
        match d {
            DeliveryOutcome::Delivered => Outcome::Delivered,
            DeliveryOutcome::Duplicate => Outcome::Duplicate,
            DeliveryOutcome::Rejected { .. } => Outcome::Quarantined,
            DeliveryOutcome::AuthFailed { .. } => Outcome::AuthFailed,
            _ => Outcome::Retry,
        }
    }
}
