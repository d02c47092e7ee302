//! A call request written as JSON straight from what the mapping borrowed (the hot path of
//! `map_json`), and `pbxCallId`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;

use super::request::CallDirection;
use super::skip::SkipReason;
use crate::cdr::{CallRecord, PartyNumberRef};

/// The call's idempotency key: `{prefix}-{historyid}-{callid}` (either id alone when the other
/// is absent). `None` when the record has neither.
///
/// ```
/// let mut cdr = pbx_core::cdr::Cdr::default();
/// assert_eq!(pbx_core::call::pbx_call_id(&cdr, "3cx"), None);
/// cdr.history_id = Some("23194".into());
/// cdr.call_id = Some("00000172FF13E364_4449".into());
/// assert_eq!(pbx_core::call::pbx_call_id(&cdr, "3cx").as_deref(), Some("3cx-23194-00000172FF13E364_4449"));
/// ```
pub fn pbx_call_id<R: CallRecord + ?Sized>(cdr: &R, prefix: &str) -> Option<String> {
    CallId::of(cdr, prefix).map(|id| id.to_string())
}

/// `{prefix}-{historyid}-{callid}` without building it (written by `Display`).
#[derive(Clone, Copy)]
pub(super) struct CallId<'a> {
    prefix: &'a str,
    parts: [Option<&'a str>; 2],
}

impl<'a> CallId<'a> {
    pub(super) fn of<R: CallRecord + ?Sized>(cdr: &'a R, prefix: &'a str) -> Option<CallId<'a>> {
        let parts = match (cdr.history_id(), cdr.call_id()) {
            (Some(h), Some(c)) => [Some(h), Some(c)],
            (Some(id), None) | (None, Some(id)) => [Some(id), None],
            (None, None) => return None,
        };
        Some(CallId { prefix, parts })
    }
}

impl fmt::Display for CallId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix)?;
        for p in self.parts.into_iter().flatten() {
            f.write_str("-")?;
            f.write_str(p)?;
        }
        Ok(())
    }
}

impl Serialize for CallId<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Appends `s` as a JSON string, exactly as `serde_json` writes it: as it is between quotes
/// when nothing in it needs escaping (the usual case, checked first), else by `serde_json`.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Appends the JSON of a [`CallRequest`] with these values, byte for byte what `serde_json`
/// writes for it (same keys, same order; `pbx-core/tests/zero_copy.rs` compares them).
pub(super) fn write_call_json(
    out: &mut Vec<u8>,
    parts: &CallParts<'_>,
    phone_number: &str,
    timestamp: &str,
) {
    out.extend_from_slice(b"{\"phoneNumber\":");
    write_json_str(out, phone_number);
    out.extend_from_slice(b",\"callDuration\":");
    // serde_json writes integers with `itoa`; a `Vec` never fails.
    let _ = serde_json::to_writer(&mut *out, &parts.talk_seconds);
    out.extend_from_slice(b",\"callOwnerExtension\":");
    write_json_str(out, parts.owner);
    out.extend_from_slice(b",\"callOwnerEmail\":");
    write_json_str(out, parts.email);
    out.extend_from_slice(match parts.direction {
        CallDirection::Inbound => b",\"callDirection\":\"INBOUND\",\"timestamp\":",
        CallDirection::Outbound => b",\"callDirection\":\"OUTBOUND\",\"timestamp\":",
    });
    write_json_str(out, timestamp);
    out.extend_from_slice(b",\"pbxCallId\":");
    let id = parts.call_id;
    let clean = |s: &str| s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if clean(id.prefix) && id.parts.iter().flatten().all(|p| clean(p)) {
        out.push(b'"');
        out.extend_from_slice(id.prefix.as_bytes());
        for p in id.parts.iter().flatten() {
            out.push(b'-');
            out.extend_from_slice(p.as_bytes());
        }
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, &id);
    }
    out.push(b'}');
}

/// What the mapping decided for a call to deliver, borrowed from the record, the
/// classification and the extension map.
pub(super) struct CallParts<'a> {
    pub(super) start: DateTime<Utc>,
    pub(super) call_id: CallId<'a>,
    pub(super) direction: CallDirection,
    pub(super) owner: &'a str,
    pub(super) email: &'a str,
    pub(super) counterpart: Option<PartyNumberRef<'a>>,
    pub(super) talk_seconds: u64,
}

/// What [`CallMapper::map_json`](super::CallMapper::map_json) did with a record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MappedJson {
    /// The call request's JSON was appended to the buffer.
    Call,
    /// A call not to deliver, and why (nothing was written).
    Skipped(SkipReason),
}
