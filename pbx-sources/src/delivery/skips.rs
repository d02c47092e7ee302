//! Skipped calls made visible: every settled skip logged at `debug` (pbxCallId, location,
//! reason), and calls whose owner extension has no user counted per extension
//! ([`pbx_core::unmapped::UnmappedExtensions`] in [`super::Status::unmapped`]), with a `warn`
//! the first time an extension is seen and at most hourly after.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use pbx_core::call::SkipReason;
use pbx_core::delivery::{Disposition, Prepared};

use super::Status;

/// Records the settled records' skips (call once per settled record).
pub(super) fn note_settled<'a>(
    status: &Mutex<Status>,
    settled: impl IntoIterator<Item = &'a Prepared>,
    now: DateTime<Utc>,
) {
    for p in settled {
        let Disposition::Skip(reason) = &p.disposition else {
            continue;
        };
        tracing::debug!(
            pbx_call_id = p.skipped_call_id.as_deref().unwrap_or("-"),
            location = %p.location,
            reason = reason.kind(),
            detail = %reason,
            "call not logged"
        );
        if let SkipReason::NoOwnerEmail { extension } = reason {
            let warning = status
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .unmapped
                .record(extension, now);
            if let Some(w) = warning {
                tracing::warn!(
                    extension = %w.extension,
                    skipped_calls = w.calls,
                    "extension {} owns calls but has no user email: {} call(s) skipped so far; \
                     add it to the extension map (or set extensions.default_email)",
                    w.extension,
                    w.calls
                );
            }
        }
    }
}
