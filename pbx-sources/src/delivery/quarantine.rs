//! Where records that cannot be used are kept, with their reason: JSON lines.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use pbx_core::delivery::QuarantineEntry;

/// Keeps quarantined records.
pub trait Quarantine: Send + Sync {
    /// Stores one entry durably before returning.
    ///
    /// # Errors
    /// The I/O error; the engine then does not move its checkpoint past the record.
    fn put(&self, entry: &QuarantineEntry) -> std::io::Result<()>;
}

/// A JSON-lines file, appended to and synced per entry.
#[derive(Debug)]
pub struct FileQuarantine {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileQuarantine {
    /// A quarantine file at `path` (created on first use).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileQuarantine {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// Reads every entry back (for `replay`).
    ///
    /// # Errors
    /// I/O errors, or a line that is not an entry (named by its number).
    pub fn read_all(&self) -> std::io::Result<Vec<QuarantineEntry>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} line {}: {e}", self.path.display(), i + 1),
                    )
                })
            })
            .collect()
    }
}

impl Quarantine for FileQuarantine {
    fn put(&self, entry: &QuarantineEntry) -> std::io::Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(&line)?;
        f.sync_data()
    }
}

/// A quarantine in memory (tests, examples).
#[derive(Debug, Default)]
pub struct MemoryQuarantine {
    entries: Mutex<Vec<QuarantineEntry>>,
}

impl MemoryQuarantine {
    /// The entries so far.
    pub fn entries(&self) -> Vec<QuarantineEntry> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Quarantine for MemoryQuarantine {
    fn put(&self, entry: &QuarantineEntry) -> std::io::Result<()> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry.clone());
        Ok(())
    }
}

/// What [`replay`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplayReport {
    /// Entries read.
    pub entries: usize,
    /// Calls the API stored now.
    pub delivered: usize,
    /// Calls the API already had.
    pub duplicates: usize,
    /// Records that are now skipped with a reason (e.g. internal calls).
    pub skipped: usize,
    /// Entries kept: still unusable, rejected again, or the API not reachable.
    pub kept: usize,
    /// Entries that hold no CDR line (database rows): kept; re-read them from their source.
    pub not_replayable: usize,
}

/// Sends quarantined CDR lines through `pipeline` and `sink` again — after the cause was
/// fixed (an extension added to the map, a template corrected, the API's validation relaxed)
/// — and rewrites the quarantine file with the entries that still fail (atomically: temp file,
/// fsync, rename). Run it while the sideloader is stopped: entries it appends meanwhile would
/// be lost by the rewrite.
///
/// # Errors
/// Reading or rewriting the quarantine file.
pub async fn replay<K: pbx_core::CallSink + ?Sized>(
    quarantine: &FileQuarantine,
    pipeline: &pbx_core::delivery::Pipeline,
    sink: &K,
    now: chrono::DateTime<chrono::Utc>,
) -> std::io::Result<ReplayReport> {
    use pbx_core::delivery::Disposition;
    use pbx_core::{Checkpoint, DeliveryOutcome, RawRecord, SourceRecord};

    let entries = quarantine.read_all()?;
    let mut report = ReplayReport {
        entries: entries.len(),
        ..ReplayReport::default()
    };
    let mut kept = Vec::new();
    for mut entry in entries {
        let Some(number) = entry
            .location
            .strip_prefix("line ")
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|_| !entry.record.is_empty())
        else {
            report.not_replayable += 1;
            kept.push(entry);
            continue;
        };
        let record = SourceRecord {
            checkpoint: Checkpoint::new(entry.checkpoint.clone()),
            record: Ok(RawRecord::Line {
                number,
                text: entry.record.clone().into_bytes(),
            }),
        };
        let prepared = pipeline.prepare(&record);
        let still = match prepared.disposition {
            Disposition::Deliver(call) => match sink.deliver(&call).await {
                DeliveryOutcome::Delivered => {
                    report.delivered += 1;
                    None
                }
                DeliveryOutcome::Duplicate => {
                    report.duplicates += 1;
                    None
                }
                DeliveryOutcome::Rejected { status, body } => {
                    Some(format!("the call API rejected it (HTTP {status}): {body}"))
                }
                other => Some(format!("not delivered on replay: {other:?}")),
            },
            Disposition::Skip(_) => {
                report.skipped += 1;
                None
            }
            Disposition::Quarantine { reason } => Some(reason),
            _ => Some("an unknown decision".into()),
        };
        if let Some(reason) = still {
            entry.reason = reason;
            entry.at = now;
            report.kept += 1;
            kept.push(entry);
        }
    }
    let _guard = quarantine
        .lock
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let tmp = quarantine.path.with_extension("replay-tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        for e in &kept {
            let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
            line.push(b'\n');
            f.write_all(&line)?;
        }
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &quarantine.path)?;
    Ok(report)
}
