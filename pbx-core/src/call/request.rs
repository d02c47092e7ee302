//! The call API's request (`PbxCallRequest`): [`CallDirection`], [`CallRequest`], what to do
//! with internal calls, and the result of mapping one record ([`Mapped`]).

use serde::{Deserialize, Serialize};

use super::skip::SkipReason;

/// `callDirection` of the call API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum CallDirection {
    /// `"INBOUND"`.
    Inbound,
    /// `"OUTBOUND"`.
    Outbound,
}

crate::vocab::vocabulary!(
    /// `INBOUND` or `OUTBOUND`, as serialized.
    CallDirection, "call_direction",
    { Self::Inbound => "INBOUND", Self::Outbound => "OUTBOUND" },
    all: [Self::Inbound, Self::Outbound],
    display: code
);

/// The call API's `PbxCallRequest`, exactly as its JSON (camelCase).
///
/// ```
/// use pbx_core::call::{CallDirection, CallRequest};
/// let c = CallRequest {
///     phone_number: "9075551234".into(), call_duration: 300, call_owner_extension: "101".into(),
///     call_owner_email: "john.doe@example.com".into(), call_direction: CallDirection::Inbound,
///     timestamp: "2025-01-21T10:30:00.000-09:00".into(), pbx_call_id: "3cx-test-12345".into(),
/// };
/// assert_eq!(serde_json::to_string(&c)?,
///     r#"{"phoneNumber":"9075551234","callDuration":300,"callOwnerExtension":"101","callOwnerEmail":"john.doe@example.com","callDirection":"INBOUND","timestamp":"2025-01-21T10:30:00.000-09:00","pbxCallId":"3cx-test-12345"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    /// The other party's number.
    pub phone_number: String,
    /// Talk time in whole seconds; 0 when unanswered.
    pub call_duration: u64,
    /// The extension that owns the call.
    pub call_owner_extension: String,
    /// That extension's user email.
    pub call_owner_email: String,
    /// `INBOUND` or `OUTBOUND`.
    pub call_direction: CallDirection,
    /// Call start, RFC 3339 in the PBX's timezone, milliseconds, with offset.
    pub timestamp: String,
    /// The idempotency key: unique and stable per call.
    pub pbx_call_id: String,
}

/// What to do with internal (extension → extension) calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum InternalCalls {
    /// Do not send them (the default); each is skipped with [`SkipReason::Internal`].
    #[default]
    Skip,
    /// Send them as `OUTBOUND` from the calling extension, the called extension as the number
    /// (the API knows no third direction).
    AsOutbound,
}

crate::vocab::vocabulary!(
    /// `skip` or `as_outbound` (the YAML's `direction.internal_calls`). `FromStr` also
    /// accepts `asOutbound`.
    ///
    /// ```
    /// use pbx_core::call::InternalCalls;
    /// assert_eq!(InternalCalls::AsOutbound.code(), "as_outbound");
    /// assert_eq!("asOutbound".parse::<InternalCalls>()?, InternalCalls::AsOutbound);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    InternalCalls, "internal_calls",
    { Self::Skip => "skip", Self::AsOutbound => "as_outbound" },
    all: [Self::Skip, Self::AsOutbound],
    aliases: [("asOutbound", Self::AsOutbound)],
    display: code
);

/// The result of mapping one CDR.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mapped {
    /// A call to deliver.
    Call(CallRequest),
    /// A call not to deliver, and why.
    Skipped(SkipReason),
}

impl Mapped {
    /// The call to deliver, if it is one.
    pub fn call(&self) -> Option<&CallRequest> {
        match self {
            Mapped::Call(c) => Some(c),
            Mapped::Skipped(_) => None,
        }
    }

    /// Why the call is not delivered, if it is skipped.
    ///
    /// ```
    /// use pbx_core::call::{Mapped, SkipReason};
    /// assert_eq!(Mapped::Skipped(SkipReason::NoOwner).skip_reason(), Some(&SkipReason::NoOwner));
    /// ```
    pub fn skip_reason(&self) -> Option<&SkipReason> {
        match self {
            Mapped::Skipped(r) => Some(r),
            Mapped::Call(_) => None,
        }
    }
}
