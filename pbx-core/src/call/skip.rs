//! [`SkipReason`]: why a call was not turned into a call request.

use std::fmt;

/// Why a call was not turned into a call request. Every skip says why.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// An internal call, and internal calls are not sent.
    Internal,
    /// The direction cannot be told from the record.
    UnknownDirection,
    /// No extension owns the call (e.g. a call nobody answered that only reached a queue).
    NoOwner,
    /// The owner's extension has no user email (and no fallback is configured).
    NoOwnerEmail {
        /// The extension.
        extension: String,
    },
    /// A blank line in a CDR stream: no record at all.
    BlankLine,
    /// The call lies outside the time range being backfilled
    /// ([`crate::delivery::TimeRange`]).
    OutsideRange,
    /// A missed inbound call (nobody answered) that no `missed_calls.route` entry takes
    /// ([`crate::missed`]).
    MissedUnrouted {
        /// The DN a route would need: the queue, ring group, IVR or DID the call reached last
        /// (empty when the record names none).
        dn: String,
    },
    /// A missed inbound call routed to a person, outside business hours, and
    /// `missed_calls.outside_hours` is `skip`.
    MissedOutsideHours,
}

crate::vocab::vocabulary!(
    /// The reason's stable code, as the bindings publish it: `INTERNAL`, `UNKNOWN_DIRECTION`,
    /// `NO_OWNER`, `NO_OWNER_EMAIL`, `BLANK_LINE`, `OUTSIDE_RANGE`, `MISSED_UNROUTED`,
    /// `MISSED_OUTSIDE_HOURS` (the upper-case [`SkipReason::kind`]). `Display` is the
    /// explanation. `FromStr` accepts the code or the kind; `NO_OWNER_EMAIL` gives an empty
    /// `extension` and `MISSED_UNROUTED` an empty `dn` (as in [`SkipReason::ALL`]).
    ///
    /// ```
    /// use pbx_core::call::SkipReason;
    /// assert_eq!(SkipReason::OutsideRange.code(), "OUTSIDE_RANGE");
    /// assert_eq!("no_owner".parse::<SkipReason>()?, SkipReason::NoOwner);
    /// # Ok::<(), pbx_core::Error>(())
    /// ```
    SkipReason, "skip_reason",
    {
        Self::Internal => "INTERNAL",
        Self::UnknownDirection => "UNKNOWN_DIRECTION",
        Self::NoOwner => "NO_OWNER",
        Self::NoOwnerEmail { .. } => "NO_OWNER_EMAIL",
        Self::BlankLine => "BLANK_LINE",
        Self::OutsideRange => "OUTSIDE_RANGE",
        Self::MissedUnrouted { .. } => "MISSED_UNROUTED",
        Self::MissedOutsideHours => "MISSED_OUTSIDE_HOURS",
    },
    all: [
        Self::Internal, Self::UnknownDirection, Self::NoOwner,
        Self::NoOwnerEmail { extension: String::new() }, Self::BlankLine, Self::OutsideRange,
        Self::MissedUnrouted { dn: String::new() }, Self::MissedOutsideHours,
    ],
    aliases: [
        ("internal", Self::Internal),
        ("unknown_direction", Self::UnknownDirection),
        ("no_owner", Self::NoOwner),
        ("no_owner_email", Self::NoOwnerEmail { extension: String::new() }),
        ("blank_line", Self::BlankLine),
        ("outside_range", Self::OutsideRange),
        ("missed_unrouted", Self::MissedUnrouted { dn: String::new() }),
        ("missed_outside_hours", Self::MissedOutsideHours),
    ]
);

impl SkipReason {
    /// The extension the reason names ([`SkipReason::NoOwnerEmail`]), else `None`.
    ///
    /// ```
    /// use pbx_core::call::SkipReason;
    /// let r = SkipReason::NoOwnerEmail { extension: "101".into() };
    /// assert_eq!(r.extension(), Some("101"));
    /// assert_eq!(SkipReason::NoOwner.extension(), None);
    /// ```
    pub fn extension(&self) -> Option<&str> {
        match self {
            SkipReason::NoOwnerEmail { extension } => Some(extension),
            _ => None,
        }
    }

    /// A short stable name of the reason (for counters and metrics labels; [`SkipReason::code`]
    /// is the same in upper case).
    ///
    /// ```
    /// assert_eq!(pbx_core::call::SkipReason::NoOwner.kind(), "no_owner");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::Internal => "internal",
            SkipReason::UnknownDirection => "unknown_direction",
            SkipReason::NoOwner => "no_owner",
            SkipReason::NoOwnerEmail { .. } => "no_owner_email",
            SkipReason::BlankLine => "blank_line",
            SkipReason::OutsideRange => "outside_range",
            SkipReason::MissedUnrouted { .. } => "missed_unrouted",
            SkipReason::MissedOutsideHours => "missed_outside_hours",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Internal => f.write_str("internal call (internal calls are not sent)"),
            SkipReason::UnknownDirection => {
                f.write_str("direction unknown: no type field, trunk DN or number pattern decides")
            }
            SkipReason::NoOwner => f.write_str("no extension owns the call"),
            SkipReason::NoOwnerEmail { extension } => {
                write!(
                    f,
                    "extension {extension} has no user email in the extension map"
                )
            }
            SkipReason::BlankLine => f.write_str("blank line"),
            SkipReason::OutsideRange => {
                f.write_str("the call is outside the time range being backfilled")
            }
            SkipReason::MissedUnrouted { dn } if dn.is_empty() => f.write_str(
                "missed call: the record names no queue, ring group, IVR or DID, and \
                 missed_calls.route has no default",
            ),
            SkipReason::MissedUnrouted { dn } => write!(
                f,
                "missed call to {dn}: missed_calls.route has no entry for it (nor a default)"
            ),
            SkipReason::MissedOutsideHours => f.write_str(
                "missed call outside business hours (missed_calls.outside_hours is skip)",
            ),
        }
    }
}
