//! Where records that cannot be used are kept, with their reason: JSON lines.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use pbx_core::delivery::QuarantineEntry;

use crate::bounded::{CappedLine, read_line_capped};

/// Keeps quarantined records.
pub trait Quarantine: Send + Sync {
    /// Stores one entry durably before returning.
    ///
    /// # Errors
    /// The I/O error; the engine then does not move its checkpoint past the record.
    fn put(&self, entry: &QuarantineEntry) -> std::io::Result<()>;
}

/// The longest quarantine line read back: an entry holds one record (a CDR line is at most
/// 64 KiB) and its reason (an API answer is cut at 1 MiB). A longer line means the file is
/// not a quarantine: [`FileQuarantine::read`] stops there instead of reading on.
pub const MAX_ENTRY_BYTES: usize = 4 * 1024 * 1024;

/// A JSON-lines file, appended to and synced per entry.
///
/// A torn last line — an append cut short by `SIGKILL`, a power loss or a full disk — is cut
/// off before the next append (and logged), so the next entry never starts on it: its record
/// was not yet quarantined (the engine's checkpoint had not moved past it), so it is read and
/// quarantined again. An append that fails part-way is cut back at once.
#[derive(Debug)]
pub struct FileQuarantine {
    path: PathBuf,
    /// Serialises appends and replays; `true` once the file's tail was checked.
    lock: Mutex<bool>,
    /// The exclusive lock, once taken ([`FileQuarantine::locked`]).
    held: Option<crate::file_lock::FileLock>,
}

/// A line of the quarantine file that is not an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnreadableLine {
    /// Its line number (from 1).
    pub line: u64,
    /// Why it is not an entry.
    pub reason: String,
    /// The line as it is in the file (without its line end).
    pub text: Vec<u8>,
}

/// What [`FileQuarantine::read`] found.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct QuarantineContents {
    /// The entries, in file order.
    pub entries: Vec<QuarantineEntry>,
    /// The lines that are not entries (a torn or hand-edited line).
    pub unreadable: Vec<UnreadableLine>,
}

impl FileQuarantine {
    /// A quarantine file at `path` (created on first use).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileQuarantine {
            path: path.into(),
            lock: Mutex::new(false),
            held: None,
        }
    }

    /// Takes an exclusive lock on the quarantine (on `<path>.lock`, see
    /// [`crate::file_lock`]) for as long as it lives: a second process appending to or
    /// replaying the same file is refused.
    ///
    /// # Errors
    /// [`FileError::InUse`](crate::FileError::InUse) when another process holds it;
    /// [`FileError::Io`](crate::FileError::Io) when the lock file cannot be created.
    pub fn locked(mut self) -> Result<Self, crate::Error> {
        if self.held.is_none() {
            self.held = Some(crate::file_lock::lock_exclusive(
                &self.path,
                "quarantine file",
            )?);
        }
        Ok(self)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every entry back (for `replay`), failing on the first line that is not one.
    ///
    /// # Errors
    /// I/O errors, or a line that is not an entry (named by its number).
    pub fn read_all(&self) -> std::io::Result<Vec<QuarantineEntry>> {
        let contents = self.read()?;
        match contents.unreadable.first() {
            None => Ok(contents.entries),
            Some(u) => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} line {}: {}", self.path.display(), u.line, u.reason),
            )),
        }
    }

    /// Reads the file line by line (never more than [`MAX_ENTRY_BYTES`] of a line): the
    /// entries, and the lines that are not entries with their line numbers. A missing file
    /// holds nothing.
    ///
    /// # Errors
    /// I/O errors; a path that is not a regular file (`/dev/zero`, a directory); a line over
    /// [`MAX_ENTRY_BYTES`] (then the file is not a quarantine).
    pub fn read(&self) -> std::io::Result<QuarantineContents> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(QuarantineContents::default());
            }
            Err(e) => return Err(e),
        };
        if !file.metadata()?.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a regular file, so not a quarantine",
                    self.path.display()
                ),
            ));
        }
        let mut reader = std::io::BufReader::new(file);
        let mut contents = QuarantineContents::default();
        let mut buf = Vec::new();
        for line in 1u64.. {
            buf.clear();
            match read_line_capped(&mut reader, &mut buf, MAX_ENTRY_BYTES)? {
                CappedLine::End => break,
                CappedLine::TooLong => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "{} line {line} is over the limit of {MAX_ENTRY_BYTES} bytes: not a quarantine file",
                            self.path.display()
                        ),
                    ));
                }
                CappedLine::Complete | CappedLine::Unterminated => {}
            }
            let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice(text) {
                Ok(entry) => contents.entries.push(entry),
                Err(e) => contents.unreadable.push(UnreadableLine {
                    line,
                    reason: e.to_string(),
                    text: text.to_vec(),
                }),
            }
        }
        Ok(contents)
    }
}

/// Cuts a torn last line (no line end) off `path`, if there is one; logs what it cut.
fn repair_tail(path: &Path) -> std::io::Result<()> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() == 0 {
        return Ok(());
    }
    let len = meta.len();
    // Back from the end, a block at a time, to the last line end.
    let mut end = len;
    let mut keep = 0;
    let mut block = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..n])?;
        if let Some(i) = block[..n].iter().rposition(|&b| b == b'\n') {
            keep = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if keep < len {
        file.set_len(keep)?;
        file.sync_all()?;
        tracing::warn!(
            path = %path.display(),
            bytes = len - keep,
            "cut a partly written last entry from the quarantine (the process stopped mid-write); its record will be quarantined again"
        );
    }
    Ok(())
}

impl Quarantine for FileQuarantine {
    fn put(&self, entry: &QuarantineEntry) -> std::io::Result<()> {
        let mut checked = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if !*checked {
            repair_tail(&self.path)?;
            *checked = true;
        }
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        crate::append::append_line(&self.path, &line)
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
    /// Lines of the file that are not entries (torn or edited by hand): skipped, kept in the
    /// file as they are, and logged with their line numbers.
    pub unreadable: usize,
    /// The line numbers of those lines.
    pub unreadable_lines: Vec<u64>,
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

    let QuarantineContents {
        entries,
        unreadable,
    } = quarantine.read()?;
    for u in &unreadable {
        tracing::warn!(
            path = %quarantine.path.display(),
            line = u.line,
            reason = %u.reason,
            "a quarantine line is not an entry: skipped, and kept in the file as it is"
        );
    }
    let mut report = ReplayReport {
        entries: entries.len(),
        unreadable: unreadable.len(),
        unreadable_lines: unreadable.iter().map(|u| u.line).collect(),
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
        for u in &unreadable {
            f.write_all(&u.text)?;
            f.write_all(b"\n")?;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32) -> QuarantineEntry {
        QuarantineEntry {
            at: chrono::DateTime::UNIX_EPOCH,
            checkpoint: format!("cp-{n}"),
            location: format!("line {n}"),
            reason: "a test".into(),
            record: format!("Call {n},broken"),
        }
    }

    use pbx_testkit::scratch;

    /// An append cut short (SIGKILL, `ulimit -f`) leaves a torn line: the next entry must not
    /// be glued to it.
    #[test]
    fn a_torn_last_entry_is_cut_before_the_next_append() {
        let dir = scratch("torn");
        let path = dir.join("quarantine.jsonl");
        let q = FileQuarantine::new(&path);
        q.put(&entry(1)).unwrap();
        q.put(&entry(2)).unwrap();
        let whole = std::fs::read(&path).unwrap();
        let third = serde_json::to_vec(&entry(3)).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(&third[..third.len() / 2]);
        std::fs::write(&path, &torn).unwrap();
        // A new process appends the next entry.
        let q = FileQuarantine::new(&path);
        q.put(&entry(4)).unwrap();
        let entries = q.read_all().unwrap();
        let ids: Vec<&str> = entries.iter().map(|e| e.checkpoint.as_str()).collect();
        assert_eq!(ids, ["cp-1", "cp-2", "cp-4"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unreadable_line_is_reported_by_number_and_the_others_are_read() {
        let dir = scratch("unreadable");
        let path = dir.join("quarantine.jsonl");
        let mut text = Vec::new();
        for n in 1..=2 {
            text.extend(serde_json::to_vec(&entry(n)).unwrap());
            text.push(b'\n');
        }
        text.extend_from_slice(b"{\"at\":\"2026-01-01T00:0{\"at\":\"glued\"}\n");
        text.extend(serde_json::to_vec(&entry(4)).unwrap());
        text.push(b'\n');
        std::fs::write(&path, &text).unwrap();
        let read = FileQuarantine::new(&path).read().unwrap();
        assert_eq!(read.entries.len(), 3);
        assert_eq!(read.unreadable.len(), 1);
        assert_eq!(read.unreadable[0].line, 3);
        let err = FileQuarantine::new(&path).read_all().unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn dev_zero_is_not_read_as_a_quarantine() {
        let err = FileQuarantine::new("/dev/zero").read().unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn an_endless_line_stops_the_read_at_its_limit() {
        let dir = scratch("endless");
        let path = dir.join("quarantine.jsonl");
        std::fs::write(&path, vec![b'x'; MAX_ENTRY_BYTES + 10]).unwrap();
        let err = FileQuarantine::new(&path).read().unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_second_lock_on_one_quarantine_is_refused() {
        let dir = scratch("lock");
        let path = dir.join("quarantine.jsonl");
        let first = FileQuarantine::new(&path).locked().unwrap();
        let err = FileQuarantine::new(&path).locked().unwrap_err();
        assert_eq!(err.kind().code(), "in_use");
        drop(first);
        FileQuarantine::new(&path).locked().unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
