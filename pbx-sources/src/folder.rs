//! 3CX's one-file-per-call CDR output as a source: a directory of files such as
//! `cdr-240617055949.288831.log`, each processed once.
//!
//! **When a file is complete.** A file is taken when it ends with a line end and has not been
//! modified for `settle` (default 300 ms), or, whatever its last byte, has not been modified
//! for `stale` (default 30 s: a writer that leaves out the final line end, or died). A
//! modification time ahead of the clock counts as just written. Hidden files (`.name`) and
//! sub-directories are ignored.
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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

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
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or(Duration::ZERO);
            let path = self.dir.join(&name);
            let data = match std::fs::read(&path) {
                Ok(d) => d,
                // Moved away or deleted meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&path)(e)),
            };
            let complete = (data.last() == Some(&b'\n') && age >= self.settle)
                || (age >= self.stale && !data.is_empty());
            if !complete {
                if data.is_empty() && age >= self.stale {
                    continue; // an empty file nobody writes to: nothing in it
                }
                break; // still being written: nothing after it either
            }
            // A byte-order mark starting the file is not part of its first record.
            let lines: Vec<(u64, &[u8])> = pbx_core::framing::strip_bom(&data)
                .split(|&b| b == b'\n')
                .enumerate()
                .map(|(i, l)| (i as u64 + 1, l.strip_suffix(b"\r").unwrap_or(l)))
                .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
                .collect();
            let last = lines.last().map_or(0, |(n, _)| *n);
            for (n, text) in lines {
                if n <= resume {
                    continue;
                }
                if out.len() >= limit {
                    break;
                }
                let checkpoint = if n == last {
                    format!("done/{name}")
                } else {
                    format!("{n}/{name}")
                };
                out.push(SourceRecord {
                    checkpoint: Checkpoint::new(checkpoint),
                    record: Ok(RawRecord::Line {
                        number: n,
                        text: text.to_vec(),
                    }),
                });
                if self.processed_dir.is_some() {
                    handed_out.insert(name.clone());
                }
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
