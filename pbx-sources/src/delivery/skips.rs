//! Skipped calls made visible: every settled skip logged at `debug` (pbxCallId, location,
//! reason), and calls whose owner extension has no user counted per extension
//! ([`pbx_core::unmapped::UnmappedExtensions`] in [`super::Status::unmapped`]), with a `warn`
//! the first time an extension is seen and at most hourly after; missed calls no
//! `missed_calls.route` takes counted per DN the same way
//! ([`pbx_core::unmapped::UnmappedExtensions::missed_unrouted`]). Records whose type fields
//! hold words 3CX does not write are counted per word
//! ([`pbx_core::unknown_types::UnknownTypeWords`] in [`super::Status::unknown_types`]), with
//! one `warn` naming the words the first time each is seen.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use pbx_core::call::SkipReason;
use pbx_core::delivery::{Disposition, Prepared};

use super::Status;

/// Records the settled records' skips and unrecognised type words (call once per settled
/// record; a record without either may be left out).
pub(super) fn note_settled<'a>(
    status: &Mutex<Status>,
    settled: impl IntoIterator<Item = &'a Prepared>,
    now: DateTime<Utc>,
) {
    for p in settled {
        if !p.unknown_type_words.is_empty() {
            note_unknown_type_words(status, p);
        }
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
        if let SkipReason::MissedUnrouted { dn } = reason {
            note_unrouted(status, dn, now);
        }
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

/// Counts one missed call no route takes, per DN (`""` when the record named none); warns the
/// first time a DN is seen and at most hourly after.
fn note_unrouted(status: &Mutex<Status>, dn: &str, now: DateTime<Utc>) {
    let warning = status
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .unmapped
        .missed_unrouted_mut()
        .record(dn, now);
    if let Some(w) = warning {
        let fix = if w.extension.is_empty() {
            "missed_calls.route.default".to_owned()
        } else {
            format!(
                "missed_calls.route.\"{}\" (or missed_calls.route.default)",
                w.extension
            )
        };
        tracing::warn!(
            dn = %w.extension,
            skipped_calls = w.calls,
            "missed calls to {} reach no one: {} call(s) skipped so far; add {fix}: the \
             extension of the person who calls back",
            if w.extension.is_empty() { "no named DN" } else { w.extension.as_str() },
            w.calls
        );
    }
}

/// Counts one record's unrecognised type words; warns once, naming the words seen for the
/// first time.
fn note_unknown_type_words(status: &Mutex<Status>, p: &Prepared) {
    let new = status
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .unknown_types
        .record(p.unknown_type_words.iter().map(String::as_str));
    if !new.is_empty() {
        let words = new.join(", ");
        tracing::warn!(
            words = %words,
            location = %p.location,
            "type fields (from-type, to-type, final-type) hold words 3CX does not write: {words}; \
             they are treated as absent, so configured trunk DNs and number patterns decide \
             direction and owner (counted in /status unknown_type_words and /metrics \
             pbx_unknown_type_words_total)"
        );
    }
}
