//! `pbx_core::direction`: the direction policy (`classify` is the mapping's, in `call`).

use napi_derive::napi;
use pbx_core::direction as core;

/// A range of numbers, both ends included.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct NumberRange {
    /// The first number.
    pub from: i64,
    /// The last number.
    pub to: i64,
}

/// What the site's numbering looks like (used only when a record's type fields do not decide).
/// Every field is optional; a missing one keeps pbx-core's default.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct DirectionPolicy {
    /// Digit counts a bare number may have to be an extension (default 2 to 5).
    pub extension_digits: Option<NumberRange>,
    /// When set, a bare number is an extension only inside one of these ranges.
    pub extension_ranges: Option<Vec<NumberRange>>,
    /// DNs of trunks / lines.
    pub trunk_dns: Option<Vec<String>>,
    /// DNs of queues, ring groups, IVRs, voicemail: never a call's owner.
    pub service_dns: Option<Vec<String>>,
    /// The fewest digits an external number has (default 7).
    pub min_external_digits: Option<u32>,
}

impl DirectionPolicy {
    /// The core policy: pbx-core's defaults with the given fields replaced.
    pub(crate) fn to_core(&self) -> core::DirectionPolicy {
        let range = |r: &NumberRange| {
            let end = |n: i64| u64::try_from(n).unwrap_or(0);
            (end(r.from), end(r.to))
        };
        let parts = core::PolicyParts {
            extension_digits: self.extension_digits.as_ref().map(range),
            extension_ranges: (self.extension_ranges.as_ref())
                .map(|v| v.iter().map(range).collect()),
            trunk_dns: self.trunk_dns.clone(),
            service_dns: self.service_dns.clone(),
            min_external_digits: self.min_external_digits.map(u64::from),
        };
        parts.to_policy()
    }

    /// Every field of a core policy.
    pub(crate) fn from_core(p: &core::DirectionPolicy) -> Self {
        let parts = core::PolicyParts::from(p);
        let end = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let range = |(a, b): (u64, u64)| NumberRange {
            from: end(a),
            to: end(b),
        };
        DirectionPolicy {
            extension_digits: parts.extension_digits.map(range),
            extension_ranges: parts
                .extension_ranges
                .map(|v| v.into_iter().map(range).collect()),
            trunk_dns: parts.trunk_dns,
            service_dns: parts.service_dns,
            min_external_digits: (parts.min_external_digits)
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        }
    }
}

crate::args::object_args! {
    DirectionPolicy: "a direction policy object";
}
