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
//! **Once.** Each line of a file is a record. Two ways to remember what is done:
//! - *by name* (no `processed_dir`): the checkpoint names the files finished
//!   (`v2/<floor>/<below>/<lines>/<current>/<done>…`), at most 256 of them and only files
//!   still in the directory; files sorting before the oldest kept (the floor) count
//!   as done. A file that appears with a name sorting before files already read — a PBX whose
//!   clock stepped back — is read (with a warning), once: by name if it sorts after the floor;
//!   below the floor, because this process had not seen it before. One that appears below
//!   the floor while nothing runs cannot be told from a file already read: a restart warns
//!   (the count of files before the floor grew) and does not read it. The first form of the
//!   checkpoint (`<n>/<name>`, `done/<name>`) is still read;
//! - *moved* (`processed_dir` set): the checkpoint is `<n>/<name>` (the first `n` lines of
//!   `name` handled) or `done/<name>`; once it has moved past a file, the file is moved into
//!   `processed_dir` (a rename; copy and delete across file systems). What is still in the
//!   directory is not done — except that a crash between saving the checkpoint and the move
//!   delivers the files of that batch again, which the call API's idempotency absorbs. Nothing
//!   depends on names or clocks: the mode to choose when the PBX's clock may step back.
//!
//! **Backfill.** [`DirectorySource::with_range`]: files last modified more than
//! [`BACKFILL_MARGIN`] before the range's start are not opened.

use crate::FileError;
use std::collections::{BTreeSet, HashMap};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use pbx_core::cdr::CdrParser;
use pbx_core::config::SourceConfig;
use pbx_core::delivery::TimeRange;
use pbx_core::{CdrSource, Checkpoint, RawRecord, SourceRecord};

use crate::Error;

mod position;

use position::{Position, Progress, parse_v1};

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
    /// By-name mode: what this process remembers between fetches.
    memory: Arc<Mutex<Memory>>,
    /// A backfill's range: files last modified before its start (less [`BACKFILL_MARGIN`])
    /// are not opened; lines whose start is outside it are not handed out.
    range: Option<Arc<(TimeRange, CdrParser)>>,
    /// How many files were opened to be read (see [`DirectorySource::files_read`]).
    opened: Arc<AtomicU64>,
}

/// How long before a backfill's start a file may have been last modified and still be read:
/// a file is written after its call ended, so one older than the range's start holds none of
/// its calls; the margin covers a PBX clock that was off by up to a day.
pub const BACKFILL_MARGIN: Duration = Duration::from_secs(24 * 3600);

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

/// The checkpoint as the mode reads it.
#[derive(Debug)]
enum After {
    /// Moved mode: the first form, `(progress, name)`.
    Moved(Option<(Progress, String)>),
    /// By-name mode: the finished files.
    ByName(Position),
}

/// Reads a checkpoint of either form for moved mode: the file being read, or the last one
/// finished (a by-name checkpoint, from before `processed_dir` was set).
fn parse_moved(cp: &Checkpoint) -> Result<Option<(Progress, String)>, Error> {
    if !cp.as_str().starts_with("v2/") {
        return parse_v1(cp).map(Some);
    }
    let p = Position::parse(cp)?;
    Ok(match (p.current, p.done.last(), p.floor) {
        (Some((n, name)), _, _) => Some((Progress::Lines(n), name)),
        (None, Some(last), _) => Some((Progress::Done, last.clone())),
        (None, None, Some(floor)) => Some((Progress::Lines(0), floor)),
        (None, None, None) => None,
    })
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
            memory: Arc::default(),
            range: None,
            opened: Arc::default(),
        }
    }

    /// Reads only what may hold calls of a backfill's `range`: files last modified before
    /// its start, less [`BACKFILL_MARGIN`], are not opened (a file is written after its call
    /// ended), and in the files read a line whose `time-start` (read by `parser` without
    /// parsing the rest, [`TimeRange::rules_out_line`]) is outside the range is not handed
    /// out. The engine still skips any other call outside the range.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// let day = pbx_core::delivery::TimeRange::new(
    ///     Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
    ///     Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap(),
    /// ).unwrap();
    /// let source = pbx_sources::folder::DirectorySource::new("/var/lib/3cx/cdr", None)
    ///     .with_range(Some(day), &pbx_core::cdr::CdrParser::default());
    /// assert_eq!(source.files_read(), 0);
    /// ```
    #[must_use]
    pub fn with_range(mut self, range: Option<TimeRange>, parser: &CdrParser) -> Self {
        self.range = range.map(|r| Arc::new((r, parser.clone())));
        self
    }

    /// How many files this source (and its clones) opened to read lines from, for tests and
    /// measurements.
    pub fn files_read(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
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

    /// Polls the directory every `every` and notifies the returned handle when files appear or go,
    /// and once more `settle` later (when they may have become complete): give it to the engine
    /// (`Engine::with_trigger`). The engine's `poll_interval` remains the fallback for files
    /// written slower than that. Needs no runtime (see [`crate::file::FileSource::watch`]).
    pub fn watch(&self, every: Duration) -> Arc<tokio::sync::Notify> {
        crate::watch::watch_metadata(self.dir.clone(), every, self.settle + every)
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
        after: After,
        limit: usize,
        now: SystemTime,
    ) -> Result<Vec<SourceRecord>, Error> {
        let mut handed_out = lock(&self.handed_out);
        if let (Some(processed), After::Moved(Some((progress, name)))) =
            (&self.processed_dir, &after)
        {
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
        let names = self.list()?;
        let mut out = Vec::new();
        match after {
            After::Moved(after) => {
                for (name, meta) in &names {
                    let resume = match &after {
                        Some((Progress::Lines(n), at)) if at == name => *n,
                        Some((Progress::Done, at)) if at == name => continue,
                        _ => 0,
                    };
                    if out.len() >= limit {
                        break;
                    }
                    let before = out.len();
                    let read =
                        self.read_file(name, meta, resume, limit, now, &mut out, |line| {
                            Checkpoint::new(match line {
                                Some(n) => format!("{n}/{name}"),
                                None => format!("done/{name}"),
                            })
                        })?;
                    if out.len() > before {
                        handed_out.insert(name.clone());
                    }
                    if matches!(read, Reading::Part | Reading::Incomplete) {
                        break;
                    }
                }
            }
            After::ByName(position) => self.scan_by_name(position, &names, limit, now, &mut out)?,
        }
        Ok(out)
    }

    /// The directory's files, sorted by name: regular, not hidden, UTF-8 names; in a backfill,
    /// not those last modified before its start (less a margin).
    fn list(&self) -> Result<Vec<(String, std::fs::Metadata)>, Error> {
        // Written after its call ended, so after it started: a file last modified before the
        // range's start (less the margin, for a clock that was off) holds no call of it.
        let before = self
            .range
            .as_ref()
            .and_then(|r| SystemTime::from(r.0.from()).checked_sub(BACKFILL_MARGIN));
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
            if !meta.is_file() {
                continue;
            }
            if let Some(before) = before
                && meta.modified().is_ok_and(|m| m < before)
            {
                continue;
            }
            names.push((name, meta));
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(names)
    }

    /// By-name mode: every file present and not finished, in name order (see [`position`]).
    fn scan_by_name(
        &self,
        mut position: Position,
        names: &[(String, std::fs::Metadata)],
        limit: usize,
        now: SystemTime,
        out: &mut Vec<SourceRecord>,
    ) -> Result<(), Error> {
        let present: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        let mut memory = lock(&self.memory);
        // A restart: more files before the floor than when the checkpoint was saved.
        if let (None, Some(below)) = (&memory.seen, position.below) {
            let now_below = position.count_below(&present);
            if now_below > below {
                tracing::warn!(
                    dir = %self.dir.display(),
                    floor = position.floor.as_deref().unwrap_or_default(),
                    files = now_below - below,
                    "CDR files appeared while pbx was not running with names sorting before the last files it finished (was the PBX's clock stepped back?); they cannot be told from files already read and are NOT read: move them to new names sorting last, or set source.processed_dir"
                );
            }
        }
        position.prune(&present);
        // A file sorting before the floor that this process had not seen: it appeared after
        // the floor passed its name, so it is new.
        memory
            .rescued
            .retain(|n| present.binary_search(&n.as_str()).is_ok());
        if let Some(seen) = &memory.seen {
            let new: Vec<String> = present
                .iter()
                .filter(|n| position.below_floor(n) && !seen.contains(**n))
                .map(|n| (*n).to_owned())
                .collect();
            memory.rescued.extend(new);
        }
        let rescued = memory.rescued.clone();
        memory.seen = Some(present.iter().map(|n| (*n).to_owned()).collect());
        let open: Vec<usize> = (0..names.len())
            .filter(|&i| {
                let n = present[i];
                !position.is_done(n) || (rescued.contains(n) && !position.done.contains(n))
            })
            .collect();
        for (k, &i) in open.iter().enumerate() {
            if out.len() >= limit {
                break;
            }
            let (name, meta) = &names[i];
            if position.finished_after(name) && memory.warned.insert(name.clone()) {
                tracing::warn!(
                    dir = %self.dir.display(),
                    file = name.as_str(),
                    "a new CDR file sorts before files already read (was the PBX's clock stepped back?); it is read now"
                );
            }
            let next_open = open.get(k + 1).map(|&j| present[j]);
            if memory.quiet.contains(name) {
                position.finish(name, next_open, &present);
                continue;
            }
            let resume = position.lines_of(name);
            let before = out.len();
            let read = self.read_file(name, meta, resume, limit, now, out, |line| match line {
                Some(n) => {
                    position.current = Some((n, name.clone()));
                    position.encode()
                }
                None => {
                    position.finish(name, next_open, &present);
                    position.encode()
                }
            })?;
            match read {
                // Read to its end, or nothing in it: finished (even when it gave no record,
                // so that it never holds the floor).
                Reading::Whole | Reading::Empty if !position.done.contains(name) => {
                    if out.len() == before && resume == 0 {
                        memory.quiet.insert(name.clone());
                    }
                    position.finish(name, next_open, &present);
                }
                Reading::Part | Reading::Incomplete => break,
                _ => {}
            }
        }
        memory
            .warned
            .retain(|n| present.binary_search(&n.as_str()).is_ok());
        memory
            .quiet
            .retain(|n| present.binary_search(&n.as_str()).is_ok());
        Ok(())
    }

    /// Hands out the lines of `name` after the first `resume` into `out` (at most `limit`
    /// records in all), each with the checkpoint `checkpoint(Some(line))`, or
    /// `checkpoint(None)` for the file's last line. Whether the file was read to its end.
    #[allow(clippy::too_many_arguments)]
    fn read_file(
        &self,
        name: &str,
        meta: &std::fs::Metadata,
        resume: u64,
        limit: usize,
        now: SystemTime,
        out: &mut Vec<SourceRecord>,
        mut checkpoint: impl FnMut(Option<u64>) -> Checkpoint,
    ) -> Result<Reading, Error> {
        let path = self.dir.join(name);
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            // Moved away or deleted meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Reading::Gone),
            Err(e) => return Err(io(&path)(e)),
        };
        let meta = file.metadata().unwrap_or_else(|_| meta.clone());
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
                    return Ok(Reading::Empty); // an empty file nobody writes to: nothing in it
                }
                (ends_with_newline && age >= self.settle) || (age >= self.stale && len > 0)
            }
            // The clock is behind the file's time (skew, a clock stepped back): its time
            // says nothing about when it was written. It is complete when it ends with a
            // line end, or when its size has not changed for `stale` (measured here).
            Some(by) => {
                let quiet = self.unchanged_for(name, len, by);
                if len == 0 && quiet >= self.stale {
                    return Ok(Reading::Empty);
                }
                ends_with_newline || (quiet >= self.stale && len > 0)
            }
        };
        if !complete {
            return Ok(Reading::Incomplete); // still being written: nothing after it either
        }
        self.opened.fetch_add(1, Ordering::Relaxed);
        file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        let mut reader = BufReader::new(file);
        let mut buf = Vec::new();
        let mut number = 0u64;
        // Each line is handed out once the next one is seen, so the file's last line is
        // known (its checkpoint says the file is done) without reading the file whole.
        let mut pending: Option<(u64, Result<RawRecord, pbx_core::Error>)> = None;
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
            if !cut
                && self
                    .range
                    .as_ref()
                    .is_some_and(|r| r.0.rules_out_line(&r.1, text))
            {
                continue; // a backfill's line outside its range: not parsed
            }
            if let Some((n, record)) = pending.take() {
                out.push(SourceRecord {
                    checkpoint: checkpoint(Some(n)),
                    record,
                });
                if out.len() >= limit {
                    return Ok(Reading::Part);
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
                checkpoint: checkpoint(None),
                record,
            });
        }
        lock(&self.ahead).remove(name);
        Ok(Reading::Whole)
    }
}

/// How far [`DirectorySource::read_file`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    /// To its end (or it had nothing left after the checkpoint).
    Whole,
    /// Up to the batch's limit.
    Part,
    /// Not at all: still being written.
    Incomplete,
    /// Not at all: empty, and nobody wrote to it for `stale`.
    Empty,
    /// Not at all: moved away or deleted meanwhile.
    Gone,
}

/// What a by-name source remembers between fetches (it is not part of the checkpoint).
#[derive(Debug, Default)]
struct Memory {
    /// The files listed by the last scan (`None` before the first).
    seen: Option<std::collections::HashSet<String>>,
    /// Files that appeared sorting before the floor while this process watched.
    rescued: BTreeSet<String>,
    /// Files warned about as sorting before files already read.
    warned: BTreeSet<String>,
    /// Files read to their end that gave no record (blank, or every line outside a
    /// backfill's range): not opened again.
    quiet: BTreeSet<String>,
}

/// An I/O failure on `path` in the CDR directory, for `map_err`.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| {
        Error::File(FileError::Io {
            what: "CDR directory",
            path,
            source,
        })
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
        let after = match (&self.processed_dir, after) {
            (Some(_), after) => After::Moved(after.map(parse_moved).transpose()?.flatten()),
            (None, Some(cp)) => After::ByName(Position::parse(cp)?),
            (None, None) => After::ByName(Position::default()),
        };
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.scan(after, limit, SystemTime::now()))
            .await
            .unwrap_or_else(|e| {
                Err(Error::File(FileError::Io {
                    what: "CDR directory",
                    path: self.dir.clone(),
                    source: std::io::Error::other(e),
                }))
            })
    }
}
