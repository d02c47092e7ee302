//! Where records that cannot be used are kept, with their reason: JSON lines.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use pbx_core::sync::QuarantineEntry;

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
