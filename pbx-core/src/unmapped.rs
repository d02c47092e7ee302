//! Extensions that own calls but have no user: counted, so an operator sees them.
//!
//! The adapter records every call skipped because its owner has no email
//! ([`crate::call::SkipReason::NoOwnerEmail`]) with the time it is settled; the tracker
//! counts per extension and says when to warn — the first time an extension is seen, then at
//! most once per interval (an hour by default). It reads no clock: `now` is passed in.
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use pbx_core::unmapped::UnmappedExtensions;
//! let t = Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, 0).unwrap();
//! let mut unmapped = UnmappedExtensions::default();
//! let first = unmapped.record("112", t).expect("warn the first time");
//! assert_eq!((first.extension.as_str(), first.calls), ("112", 1));
//! assert!(unmapped.record("112", t + TimeDelta::minutes(5)).is_none());
//! let again = unmapped.record("112", t + TimeDelta::minutes(61)).expect("an hour later");
//! assert_eq!(again.calls, 3);
//! assert_eq!(unmapped.get("112").map(|e| e.calls), Some(3));
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// How many extensions are tracked one by one; calls of further extensions are only counted
/// in [`UnmappedExtensions::untracked_calls`] (the tracker's memory stays bounded whatever
/// the records say).
pub const MAX_TRACKED: usize = 4096;

/// One unmapped extension: how many calls it owned that were skipped, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnmappedExtension {
    /// Calls skipped because this extension has no user.
    pub calls: u64,
    /// The first such call's settle time.
    pub first_seen: DateTime<Utc>,
    /// The latest.
    pub last_seen: DateTime<Utc>,
    /// When the adapter was last told to warn about it.
    #[serde(skip)]
    last_warned: DateTime<Utc>,
}

/// A warning to log: the extension and how many calls it has had skipped so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmappedWarning {
    /// The extension without a user.
    pub extension: String,
    /// Calls it owned that were skipped so far.
    pub calls: u64,
}

/// Extension → count, first and last seen, with a warning schedule. Serializes as a map of
/// extension to `{calls, firstSeen, lastSeen}` (for `/status`).
///
/// It also carries the missed calls no route takes ([`UnmappedExtensions::missed_unrouted`]):
/// both are what an operator has to map, and the service keeps them side by side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnmappedExtensions {
    tally: Tally,
    missed_unrouted: UnroutedMissedCalls,
}

/// Key → count, first and last seen, with a warning schedule, bounded by [`MAX_TRACKED`]: the
/// counting behind [`UnmappedExtensions`] and [`UnroutedMissedCalls`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tally {
    entries: BTreeMap<String, UnmappedExtension>,
    warn_every: TimeDelta,
    untracked: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally::new(TimeDelta::hours(1))
    }
}

impl Tally {
    pub(crate) fn new(warn_every: TimeDelta) -> Self {
        Tally {
            entries: BTreeMap::new(),
            warn_every,
            untracked: 0,
        }
    }

    pub(crate) fn record(&mut self, key: &str, now: DateTime<Utc>) -> Option<UnmappedWarning> {
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_TRACKED {
            self.untracked = self.untracked.saturating_add(1);
            return None;
        }
        let warn_every = self.warn_every;
        let mut first = false;
        let entry = self.entries.entry(key.to_owned()).or_insert_with(|| {
            first = true;
            UnmappedExtension {
                calls: 0,
                first_seen: now,
                last_seen: now,
                last_warned: now,
            }
        });
        entry.calls = entry.calls.saturating_add(1);
        entry.last_seen = entry.last_seen.max(now);
        let due = first
            || entry
                .last_warned
                .checked_add_signed(warn_every)
                .is_some_and(|t| t <= now);
        if !due {
            return None;
        }
        entry.last_warned = now;
        Some(UnmappedWarning {
            extension: key.to_owned(),
            calls: entry.calls,
        })
    }

    pub(crate) fn get(&self, key: &str) -> Option<&UnmappedExtension> {
        self.entries.get(key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &UnmappedExtension)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn untracked_calls(&self) -> u64 {
        self.untracked
    }

    /// Appends the Prometheus counter `name`, one sample per key (label `label`).
    pub(crate) fn write_metrics(&self, out: &mut String, name: &str, help: &str, label: &str) {
        use std::fmt::Write;
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (key, e) in &self.entries {
            let value = label_value(key);
            let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {}", e.calls);
        }
    }
}

impl Serialize for Tally {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl UnmappedExtensions {
    /// A tracker that asks to warn about an extension at most once per `warn_every`.
    pub fn new(warn_every: TimeDelta) -> Self {
        UnmappedExtensions {
            tally: Tally::new(warn_every),
            missed_unrouted: UnroutedMissedCalls::default(),
        }
    }

    /// Records one skipped call owned by `extension` at `now`. Returns a warning the first
    /// time the extension is seen and whenever the last warning about it is at least the
    /// interval old; `None` otherwise.
    pub fn record(&mut self, extension: &str, now: DateTime<Utc>) -> Option<UnmappedWarning> {
        self.tally.record(extension, now)
    }

    /// What is known about one extension.
    pub fn get(&self, extension: &str) -> Option<&UnmappedExtension> {
        self.tally.get(extension)
    }

    /// Every tracked extension, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &UnmappedExtension)> {
        self.tally.iter()
    }

    /// How many extensions are tracked.
    pub fn len(&self) -> usize {
        self.tally.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.tally.len() == 0
    }

    /// Skipped calls of extensions beyond [`MAX_TRACKED`].
    pub fn untracked_calls(&self) -> u64 {
        self.tally.untracked_calls()
    }

    /// Missed calls skipped `missed_unrouted`, per DN (see the `missed` module).
    ///
    /// ```
    /// use chrono::Utc;
    /// let mut u = pbx_core::unmapped::UnmappedExtensions::default();
    /// u.missed_unrouted_mut().record("800", Utc::now());
    /// assert_eq!(u.missed_unrouted().get("800").map(|e| e.calls), Some(1));
    /// assert!(u.is_empty(), "an unrouted DN is no unmapped extension");
    /// ```
    pub fn missed_unrouted(&self) -> &UnroutedMissedCalls {
        &self.missed_unrouted
    }

    /// The same, to record a skipped missed call.
    pub fn missed_unrouted_mut(&mut self) -> &mut UnroutedMissedCalls {
        &mut self.missed_unrouted
    }
}

impl UnmappedExtensions {
    /// Appends the Prometheus counter `pbx_unmapped_extension_calls_total`, one sample per
    /// extension (label `extension`), in the text exposition format.
    ///
    /// ```
    /// use chrono::Utc;
    /// let mut u = pbx_core::unmapped::UnmappedExtensions::default();
    /// u.record("112", Utc::now());
    /// let mut out = String::new();
    /// u.write_metrics(&mut out);
    /// assert!(out.contains("pbx_unmapped_extension_calls_total{extension=\"112\"} 1\n"));
    /// ```
    pub fn write_metrics(&self, out: &mut String) {
        self.tally.write_metrics(
            out,
            "pbx_unmapped_extension_calls_total",
            "Calls skipped because their owner extension has no user, by extension.",
            "extension",
        );
    }
}

/// `value` escaped for a Prometheus label value (`\\`, `\"`, `\n`), as the text exposition
/// format asks.
pub(crate) fn label_value(value: &str) -> String {
    let mut label = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => label.push_str("\\\\"),
            '"' => label.push_str("\\\""),
            '\n' => label.push_str("\\n"),
            c => label.push(c),
        }
    }
    label
}

impl Serialize for UnmappedExtensions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.tally.serialize(s)
    }
}

/// Missed calls skipped `missed_unrouted`, counted per DN (the queue, ring group, IVR or DID a
/// route would need; empty when the record named none), with a warning schedule: the first
/// time a DN is seen, then at most once per interval (an hour by default). Bounded like
/// [`UnmappedExtensions`]. Serializes as a map of DN to
/// `{calls, firstSeen, lastSeen}` (for `/status`).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use pbx_core::unmapped::UnroutedMissedCalls; // also pbx_core::missed::UnroutedMissedCalls
/// let t = Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, 0).unwrap();
/// let mut unrouted = UnroutedMissedCalls::default();
/// assert!(unrouted.record("800", t).is_some(), "warn the first time");
/// assert!(unrouted.record("800", t).is_none());
/// assert_eq!(unrouted.get("800").map(|e| e.calls), Some(2));
/// let mut out = String::new();
/// unrouted.write_metrics(&mut out);
/// assert!(out.contains("pbx_missed_unrouted_calls_total{dn=\"800\"} 2\n"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UnroutedMissedCalls {
    tally: Tally,
}

impl UnroutedMissedCalls {
    /// Records one missed call skipped for want of a route for `dn` at `now`; a warning the
    /// first time the DN is seen and whenever the last one is an interval old.
    pub fn record(&mut self, dn: &str, now: DateTime<Utc>) -> Option<UnmappedWarning> {
        self.tally.record(dn, now)
    }

    /// What is known about one DN.
    pub fn get(&self, dn: &str) -> Option<&UnmappedExtension> {
        self.tally.get(dn)
    }

    /// Every tracked DN, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &UnmappedExtension)> {
        self.tally.iter()
    }

    /// How many DNs are tracked.
    pub fn len(&self) -> usize {
        self.tally.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.tally.len() == 0
    }

    /// Appends the Prometheus counter `pbx_missed_unrouted_calls_total`, one sample per DN
    /// (label `dn`), in the text exposition format.
    pub fn write_metrics(&self, out: &mut String) {
        self.tally.write_metrics(
            out,
            "pbx_missed_unrouted_calls_total",
            "Missed inbound calls skipped because no missed_calls.route entry takes them, by DN.",
            "dn",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 18, 0, 0).unwrap() + TimeDelta::minutes(min)
    }

    #[test]
    fn warns_first_then_at_most_hourly_per_extension() {
        let mut u = UnmappedExtensions::default();
        assert!(u.record("112", t(0)).is_some());
        assert!(
            u.record("113", t(1)).is_some(),
            "each extension has its own schedule"
        );
        for m in 1..60 {
            assert!(u.record("112", t(m)).is_none(), "minute {m}");
        }
        let w = u.record("112", t(60)).unwrap();
        assert_eq!(w.calls, 61);
        assert!(u.record("112", t(119)).is_none());
        assert!(u.record("112", t(120)).is_some());
        let e = u.get("112").unwrap();
        assert_eq!((e.first_seen, e.last_seen), (t(0), t(120)));
        assert_eq!(u.len(), 2);
    }

    #[test]
    fn an_older_time_never_moves_last_seen_back() {
        let mut u = UnmappedExtensions::default();
        u.record("112", t(10));
        u.record("112", t(5));
        assert_eq!(u.get("112").unwrap().last_seen, t(10));
    }

    #[test]
    fn memory_is_bounded() {
        let mut u = UnmappedExtensions::default();
        for i in 0..MAX_TRACKED + 10 {
            u.record(&i.to_string(), t(0));
        }
        assert_eq!(u.len(), MAX_TRACKED);
        assert_eq!(u.untracked_calls(), 10);
        // A tracked extension is still counted.
        u.record("0", t(1));
        assert_eq!(u.get("0").unwrap().calls, 2);
    }

    #[test]
    fn serializes_as_a_map_for_status() {
        let mut u = UnmappedExtensions::default();
        u.record("112", t(0));
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"112":{"calls":1,"firstSeen":"2026-11-02T18:00:00Z","lastSeen":"2026-11-02T18:00:00Z"}}"#
        );
    }
}
