//! 3CX's one-file-per-call CDR output as a source: a directory of files such as
//! `cdr-240617055949.288831.log`, each processed once.
//!
//! **When a file is complete.** A file is taken when it ends with a line end and has not been
//! modified for `settle` (default 300 ms), or, whatever its last byte, has not been modified
//! for `stale` (default 30 s: a writer that leaves out the final line end, or died). A
//! modification time ahead of the clock (more than 2 s: clock skew, a clock stepped back, a
//! `touch -d 2099-01-01`) says nothing about when the file was written: it is logged as a
//! warning, and the file is complete when it ends with a line end, or when its size has not
//! changed for `stale` as this process measures it — so such a file never holds the files
//! after it for long. Hidden files (`.name`) and sub-directories are ignored. Files are
//! streamed, never read whole: a line over the CDR parser's limit is an error for that line.
//!
//! **Order.** Files are taken in name order — 3CX names them by time, so name order is the
//! order calls ended — and never past a file that is not complete yet, so a later file cannot
//! overtake one still being written.
//!
//! **Once.** Each line of a file is a record; its checkpoint is `<n>/<name>` (the first `n`
//! lines of `name` handled) or `done/<name>` for the file's last line. Two ways to remember
//! what is done:
//! - *by name* (no `processed_dir`): files whose name sorts at or before the checkpoint's are
//!   done. A file that appears later with a name sorting before it is not read — 3CX does not
//!   do that, but do not copy old files in by hand;
//! - *moved* (`processed_dir` set): once the checkpoint has moved past a file, it is moved
//!   into `processed_dir` (a rename; copy and delete across file systems). What is still in
//!   the directory is not done — except that a crash between saving the checkpoint and the
//!   move delivers the files of that batch again, which the call API's idempotency absorbs.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use pbx_core::config::SourceConfig;
use pbx_core::{CdrSource, Checkpoint, RawRecord, SourceRecord};

use crate::Error;

/// Reads one-file-per-call CDR output; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct DirectorySource {
    dir: PathBuf,
    processed_dir: Option<PathBuf>,
    /// Quiet time after the last modification before a file ending in a line end is taken.
    pub settle: Duration,
    /// Quiet time after which a file is taken whatever its last byte.
    pub stale: Duration,
    /// Files handed out and not yet moved (moved mode).
    handed_out: Arc<Mutex<BTreeSet<String>>>,
    /// Files whose modification time is ahead of the clock: their size and since when (by
    /// this process's monotonic clock) it has not changed.
    ahead: Arc<Mutex<HashMap<String, (u64, Instant)>>>,
}

/// How far ahead of the clock a file's modification time may be before it counts as "in the
/// future" (file systems and network shares round or lag their times by a second or two).
const FUTURE_TOLERANCE: Duration = Duration::from_secs(2);

/// The longest line kept in memory: the CDR parser's limit (plus a line end). A longer line
/// is read past (never held whole) and handed out as [`pbx_core::Error::LineTooLong`].
const MAX_LINE: usize = pbx_core::cdr::DEFAULT_MAX_LINE_LEN;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The last byte of a non-empty file.
fn last_byte(file: &mut std::fs::File) -> std::io::Result<u8> {
    let mut b = [0u8];
    file.seek(SeekFrom::End(-1))?;
    file.read_exact(&mut b)?;
    Ok(b[0])
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Progress {
    Lines(u64),
    Done,
}

fn parse_checkpoint(cp: &Checkpoint) -> Result<(Progress, String), Error> {
    let bad = || Error::BadCheckpoint {
        checkpoint: cp.to_string(),
        expected: "a CDR directory position (<n>/<name> or done/<name>)",
    };
    let (p, name) = cp.as_str().split_once('/').ok_or_else(bad)?;
    if name.is_empty() {
        return Err(bad());
    }
    let p = match p {
        "done" => Progress::Done,
        n => Progress::Lines(n.parse().map_err(|_| bad())?),
    };
    Ok((p, name.to_owned()))
}

impl DirectorySource {
    /// A source over `dir`; with `processed_dir`, done files are moved there.
    pub fn new(dir: impl Into<PathBuf>, processed_dir: Option<PathBuf>) -> Self {
        DirectorySource {
            dir: dir.into(),
            processed_dir,
            settle: Duration::from_millis(300),
            stale: Duration::from_secs(30),
            handed_out: Arc::default(),
            ahead: Arc::default(),
        }
    }

    /// The source a [`SourceConfig::Directory`] describes.
    ///
    /// # Errors
    /// [`Error::WrongSourceKind`] for another source kind.
    pub fn from_config(config: &SourceConfig) -> Result<Self, Error> {
        match config {
            SourceConfig::Directory {
                path,
                processed_dir,
            } => Ok(DirectorySource::new(
                path,
                processed_dir.as_ref().map(PathBuf::from),
            )),
            other => Err(Error::WrongSourceKind {
                expected: "a directory source",
                kind: other.kind().code().to_owned(),
            }),
        }
    }

    /// Polls the directory every `every` and notifies the returned handle when files appear
    /// or go, and once more `settle` later (when they may have become complete): give it to
    /// the engine (`Engine::with_trigger`). The engine's `poll_interval` remains the fallback
    /// for files written slower than that. Call from within a tokio runtime.
    pub fn watch(&self, every: Duration) -> Arc<tokio::sync::Notify> {
        crate::file::watch_metadata(self.dir.clone(), every, self.settle + every)
    }

    /// For a file whose time is `by` ahead of the clock: warns the first time it is seen, and
    /// returns how long its size has stayed `len` (by this process's monotonic clock).
    fn unchanged_for(&self, name: &str, len: u64, by: Duration) -> Duration {
        let mut ahead = lock(&self.ahead);
        match ahead.get_mut(name) {
            Some((seen, since)) if *seen == len => since.elapsed(),
            Some(entry) => {
                *entry = (len, Instant::now());
                Duration::ZERO
            }
            None => {
                tracing::warn!(
                    dir = %self.dir.display(),
                    file = name,
                    ahead_secs = by.as_secs(),
                    "a CDR file's modification time is in the future (is the clock right?); it is read once it ends with a line end, or after its size has not changed for the stale time"
                );
                ahead.insert(name.to_owned(), (len, Instant::now()));
                Duration::ZERO
            }
        }
    }

    fn scan(
        &self,
        after: Option<(Progress, String)>,
        limit: usize,
        now: SystemTime,
    ) -> Result<Vec<SourceRecord>, Error> {
        let mut handed_out = self
            .handed_out
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let (Some(processed), Some((progress, name))) = (&self.processed_dir, &after) {
            let mut done: Vec<String> = handed_out
                .iter()
                .filter(|n| *n < name || (*n == name && *progress == Progress::Done))
                .cloned()
                .collect();
            if *progress == Progress::Done && !done.contains(name) {
                done.push(name.clone());
            }
            if !done.is_empty() {
                std::fs::create_dir_all(processed).map_err(io(processed))?;
            }
            for n in done {
                move_file(&self.dir.join(&n), &processed.join(&n))?;
                handed_out.remove(&n);
            }
        }
        let mut names: Vec<(String, std::fs::Metadata)> = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let entry = entry.map_err(io(&self.dir))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                tracing::warn!(file = ?entry.file_name(), "CDR directory: skipping a file whose name is not UTF-8");
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_file() {
                names.push((name, meta));
            }
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        for (name, meta) in names {
            let resume = match &after {
                Some((Progress::Lines(n), at)) if *at == name => *n,
                Some((Progress::Done, at)) if *at == name => continue,
                Some((_, at)) if self.processed_dir.is_none() && name < *at => continue,
                _ => 0,
            };
            if out.len() >= limit {
                break;
            }
            let before = out.len();
            let path = self.dir.join(&name);
            let mut file = match std::fs::File::open(&path) {
                Ok(f) => f,
                // Moved away or deleted meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&path)(e)),
            };
            let meta = file.metadata().unwrap_or(meta);
            let len = meta.len();
            let ends_with_newline = len > 0 && last_byte(&mut file).map_err(io(&path))? == b'\n';
            let ahead = meta
                .modified()
                .ok()
                .and_then(|m| m.duration_since(now).ok())
                .filter(|by| *by > FUTURE_TOLERANCE);
            let complete = match ahead {
                None => {
                    let age = meta
                        .modified()
                        .ok()
                        .and_then(|m| now.duration_since(m).ok())
                        .unwrap_or(Duration::ZERO);
                    if len == 0 && age >= self.stale {
                        continue; // an empty file nobody writes to: nothing in it
                    }
                    (ends_with_newline && age >= self.settle) || (age >= self.stale && len > 0)
                }
                // The clock is behind the file's time (skew, a clock stepped back): its time
                // says nothing about when it was written. It is complete when it ends with a
                // line end, or when its size has not changed for `stale` (measured here).
                Some(by) => {
                    let quiet = self.unchanged_for(&name, len, by);
                    if len == 0 && quiet >= self.stale {
                        continue;
                    }
                    ends_with_newline || (quiet >= self.stale && len > 0)
                }
            };
            if !complete {
                break; // still being written: nothing after it either
            }
            file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            let mut reader = BufReader::new(file);
            let mut buf = Vec::new();
            let mut number = 0u64;
            // Each line is handed out once the next one is seen, so the file's last line is
            // known (its checkpoint is `done/<name>`) without reading the file whole.
            let mut pending: Option<(u64, Result<RawRecord, pbx_core::Error>)> = None;
            let mut full = false;
            loop {
                buf.clear();
                let (consumed, _) =
                    crate::bounded::read_line_bounded(&mut reader, &mut buf, MAX_LINE + 2, |_| {})
                        .map_err(io(&path))?;
                if consumed == 0 {
                    break;
                }
                number += 1;
                let cut = consumed > buf.len();
                let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                // A byte-order mark starting the file is not part of its first record.
                let text = if number == 1 {
                    pbx_core::framing::strip_bom(text)
                } else {
                    text
                };
                if !cut && text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if number <= resume {
                    continue;
                }
                if let Some((n, record)) = pending.take() {
                    out.push(SourceRecord {
                        checkpoint: Checkpoint::new(format!("{n}/{name}")),
                        record,
                    });
                    if out.len() >= limit {
                        full = true;
                        break;
                    }
                }
                let record = if cut {
                    Err(pbx_core::Error::LineTooLong {
                        at: pbx_core::Location::Line(number),
                        len: consumed,
                        max: MAX_LINE,
                    })
                } else {
                    Ok(RawRecord::Line {
                        number,
                        text: text.to_vec(),
                    })
                };
                pending = Some((number, record));
            }
            if let Some((_, record)) = pending.take() {
                out.push(SourceRecord {
                    checkpoint: Checkpoint::new(format!("done/{name}")),
                    record,
                });
            }
            if out.len() > before && self.processed_dir.is_some() {
                handed_out.insert(name.clone());
            }
            lock(&self.ahead).remove(&name);
            if full {
                break;
            }
        }
        Ok(out)
    }
}

/// An I/O failure on `path` in the CDR directory, for `map_err`.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io {
        what: "CDR directory",
        path,
        source,
    }
}

fn move_file(from: &Path, to: &Path) -> Result<(), Error> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()), // moved already
        Err(_) => {
            // Another file system: copy, make it durable, then delete the original.
            std::fs::copy(from, to).map_err(io(to))?;
            std::fs::File::open(to)
                .and_then(|f| f.sync_all())
                .map_err(io(to))?;
            std::fs::remove_file(from).map_err(io(from))
        }
    }
}

#[async_trait]
impl CdrSource for DirectorySource {
    type Error = Error;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let after = after.map(parse_checkpoint).transpose()?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.scan(after, limit, SystemTime::now()))
            .await
            .unwrap_or_else(|e| {
                Err(Error::Io {
                    what: "CDR directory",
                    path: self.dir.clone(),
                    source: std::io::Error::other(e),
                })
            })
    }
}
