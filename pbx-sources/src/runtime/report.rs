//! What a sideloader reports: a drain's [`Summary`], a backfill's [`BackfillReport`], a
//! replay's [`Replayed`], the progress line, and the business hours now ([`HoursNow`]).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pbx_core::delivery::{Counters, TimeRange};
use serde::Serialize;

use crate::Error;
use crate::delivery::Status;
use crate::group_monitor::{Schedule, ScheduleSource};

/// What one drain ([`Sideloader::once`](super::Sideloader::once)) did.
///
/// Its `Display` is the line `pbx-sideloader --once` prints after `pbx-sideloader: `:
/// `47 delivered, 0 already delivered, 18 skipped (internal 9, …), 0 quarantined; checkpoint
/// …; calls in out/calls.jsonl`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// The counters of this drain (not of earlier drains of the same sideloader).
    pub counters: Counters,
    /// The checkpoint saved at the end, if any.
    pub checkpoint: Option<String>,
    /// Where the calls went: the API's base URL or the JSON-lines file's path.
    pub sink: String,
}

impl Summary {
    /// `N delivered, N already delivered, N skipped (reason N, …), N quarantined`.
    pub fn counts(&self) -> String {
        counts(&self.counters)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; checkpoint {}; calls in {}",
            self.counts(),
            self.checkpoint.as_deref().unwrap_or("none"),
            self.sink
        )
    }
}

fn counts(c: &Counters) -> String {
    let skipped: u64 = c.skipped.values().sum();
    let reasons: Vec<String> = c.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!(
        "{} delivered, {} already delivered, {} skipped ({}), {} quarantined",
        c.delivered,
        c.duplicates,
        skipped,
        if reasons.is_empty() {
            "none".to_owned()
        } else {
            reasons.join(", ")
        },
        c.quarantined,
    )
}

/// What a backfill did; `Display` is `pbx-sideloader backfill`'s closing line (after
/// `pbx-sideloader: `).
#[derive(Debug)]
#[non_exhaustive]
pub struct BackfillReport {
    /// The range delivered.
    pub range: TimeRange,
    /// The counters and the backfill's own checkpoint.
    pub summary: Summary,
    /// How long it ran.
    pub elapsed: Duration,
    /// Why it stopped before the end, if it did: run the same backfill again to resume.
    pub error: Option<Error>,
}

impl BackfillReport {
    /// Calls the API answered for (delivered + already delivered).
    pub fn calls(&self) -> u64 {
        self.summary.counters.delivered + self.summary.counters.duplicates
    }
}

impl fmt::Display for BackfillReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elapsed = self.elapsed.as_secs_f64();
        let calls = self.calls();
        write!(
            f,
            "backfill {} to {}: {}; {} records, {} calls in {:.1} s ({:.0} calls/s){}",
            self.range.from().to_rfc3339(),
            self.range.to().to_rfc3339(),
            self.summary.counts(),
            self.summary.counters.received,
            calls,
            elapsed,
            calls as f64 / elapsed.max(1e-3),
            if self.error.is_some() {
                "; unfinished: run the same backfill again to resume"
            } else {
                ""
            }
        )
    }
}

/// What a replay of the quarantine did (re-exported from the engine).
pub use crate::delivery::ReplayReport;

/// What [`Sideloader::replay`](super::Sideloader::replay) did; `Display` is
/// `pbx-sideloader --replay`'s line (after `pbx-sideloader: `).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Replayed {
    /// The counts.
    pub report: ReplayReport,
    /// The quarantine file.
    pub quarantine: String,
}

impl fmt::Display for Replayed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.report;
        write!(
            f,
            "replayed {} quarantined records: {} delivered, {} already delivered, {} skipped, {} kept ({} not replayable); quarantine {}",
            r.entries,
            r.delivered,
            r.duplicates,
            r.skipped,
            r.kept,
            r.not_replayable,
            self.quarantine
        )?;
        if r.unreadable > 0 {
            let lines: Vec<String> = r.unreadable_lines.iter().map(u64::to_string).collect();
            write!(
                f,
                "; {} unreadable line(s) skipped and kept as they are (line {})",
                r.unreadable,
                lines.join(", ")
            )?;
        }
        Ok(())
    }
}

/// A one-line progress message for a running drain or backfill:
/// `N records: N delivered, N duplicate, N skipped, N quarantined`.
pub fn progress_message(status: &Status) -> String {
    let c = &status.counters;
    format!(
        "{} records: {} delivered, {} duplicate, {} skipped, {} quarantined",
        c.received,
        c.delivered,
        c.duplicates,
        c.skipped.values().sum::<u64>(),
        c.quarantined
    )
}

/// The business hours now, for `/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HoursNow {
    /// Whether the office is open.
    pub open: bool,
    /// The next change, and whether it opens.
    pub next_change: Option<(DateTime<Utc>, bool)>,
    /// Where the schedule in use comes from: the configuration, or XAPI office hours and
    /// holidays (read again every `xapi.refresh_secs` by the group monitor).
    pub source: ScheduleSource,
    /// The schedule's timezone (IANA name).
    pub timezone: String,
    /// When it was last read from XAPI (`None` for the configuration's).
    pub read_at: Option<DateTime<Utc>>,
    /// Why the last read from XAPI failed, while the earlier schedule stays in use.
    pub last_error: Option<String>,
}

impl HoursNow {
    pub(super) fn of(schedule: &Schedule, now: DateTime<Utc>) -> Self {
        HoursNow {
            open: schedule.hours.is_open(now),
            next_change: schedule.hours.next_change(now),
            source: schedule.source,
            timezone: schedule.hours.timezone().name().to_owned(),
            read_at: schedule.read_at,
            last_error: schedule.last_error.clone(),
        }
    }
}
