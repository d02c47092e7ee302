//! A CDR file as a source: 3CX's single-file output (`cdr.log`), followed like `tail -F`.
//!
//! The checkpoint is `inode:offset:line:fingerprint` — after the last complete line handed
//! out; the fingerprint is a hash of the (up to) 64 bytes before the offset. A line still being
//! written (no line end yet) is left for the next fetch. Older three-part checkpoints
//! (`inode:offset:line`) are accepted.
//!
//! - **Rotation** (the file renamed, a new one created at the path): the old file's tail is
//!   finished before the new file is read from its start. The old file is found through the
//!   handle this source keeps open (so even a rotated-and-deleted file is finished), or after
//!   a restart by its inode among the files next to the path (`cdr.log.1`, …). A last line of
//!   the old file without a line end is taken as a line once the new file exists. If the old
//!   file is gone for good, a warning is logged and the new file is read from its start.
//! - **Truncation** (same inode, shorter than the offset, or the bytes before the offset no
//!   longer match the fingerprint — truncated and written past the old offset again) is read
//!   from its start.
//!
//! [`FileSource::watch`] polls the file's metadata and wakes the engine when it changes.

use crate::{CheckpointError, FileError};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use pbx_core::cdr::CdrParser;
use pbx_core::delivery::TimeRange;
use pbx_core::{CdrSource, Checkpoint, RawRecord, SourceRecord};

use crate::Error;

/// Reads CDR lines from one file, following rotation and truncation.
#[derive(Clone, Debug)]
pub struct FileSource {
    path: PathBuf,
    /// Open handles by inode: the file at the path and a rotated one not yet finished.
    held: Arc<Mutex<Vec<(u64, File)>>>,
    /// A backfill's range, and the parser that reads a line's start time cheaply.
    range: Option<Arc<(TimeRange, CdrParser)>>,
}

impl FileSource {
    /// A source reading `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource {
            path: path.into(),
            held: Arc::default(),
            range: None,
        }
    }

    /// In a backfill over `range`: a line whose `time-start` (read by `parser` without
    /// parsing the rest, [`TimeRange::rules_out_line`]) is outside the range is not handed
    /// out — the engine would skip it as `outside_range` after parsing it. A line whose start
    /// cannot be read that way is handed out as before. The checkpoint still moves past the
    /// lines skipped (the next line handed out carries it).
    ///
    /// ```
    /// let day = pbx_core::delivery::TimeRange::parse("2026-11-02", "2026-11-02", chrono_tz::UTC).unwrap();
    /// let source = pbx_sources::file::FileSource::new("/var/lib/3cx/cdr.log")
    ///     .with_range(Some(day), &pbx_core::cdr::CdrParser::default());
    /// # let _ = source;
    /// ```
    #[must_use]
    pub fn with_range(mut self, range: Option<TimeRange>, parser: &CdrParser) -> Self {
        self.range = range.map(|r| Arc::new((r, parser.clone())));
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Polls the file's metadata (inode, size, modification time) every `every` and notifies
    /// the returned handle when it changed: give it to the engine (`Engine::with_trigger`) for
    /// sub-second delivery. One thread polls every path watched with the same period; the
    /// path is forgotten once every clone of the handle is dropped. Needs no runtime.
    pub fn watch(&self, every: Duration) -> Arc<tokio::sync::Notify> {
        crate::watch::watch_metadata(self.path.clone(), every, Duration::ZERO)
    }
}

/// FNV-1a, 64 bit: a stable hash for the fingerprint.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

const WINDOW: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Position {
    ino: u64,
    offset: u64,
    line: u64,
    fingerprint: Option<u64>,
}

fn parse_checkpoint(cp: &Checkpoint) -> Result<Position, Error> {
    let bad = || {
        Error::Checkpoint(CheckpointError::BadCheckpoint {
            checkpoint: cp.to_string(),
            expected: "a file position (inode:offset:line[:fingerprint])",
        })
    };
    let parts: Vec<&str> = cp.as_str().split(':').collect();
    let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
    match parts[..] {
        [i, o, l] => Ok(Position {
            ino: num(i)?,
            offset: num(o)?,
            line: num(l)?,
            fingerprint: None,
        }),
        [i, o, l, f] => Ok(Position {
            ino: num(i)?,
            offset: num(o)?,
            line: num(l)?,
            fingerprint: Some(u64::from_str_radix(f, 16).map_err(|_| bad())?),
        }),
        _ => Err(bad()),
    }
}

/// The up to 64 bytes before `offset`.
fn window_before(file: &mut File, offset: u64) -> std::io::Result<Vec<u8>> {
    let start = offset.saturating_sub(WINDOW as u64);
    file.seek(SeekFrom::Start(start))?;
    let mut w = Vec::with_capacity(WINDOW);
    file.take(offset - start).read_to_end(&mut w)?;
    Ok(w)
}

/// Whether `file` still holds what the checkpoint saw before its offset.
fn still_matches(file: &mut File, cp: &Position) -> std::io::Result<bool> {
    if file.metadata()?.len() < cp.offset {
        return Ok(false);
    }
    match cp.fingerprint {
        None => Ok(true),
        Some(f) => Ok(fnv1a(&window_before(file, cp.offset)?) == f),
    }
}

/// Complete lines of `file` from `start` (offset, line number), up to `limit`. With
/// `take_partial`, a last line without a line end is taken too (the file was rotated away).
fn read_lines(
    file: &mut File,
    ino: u64,
    start: (u64, u64),
    limit: usize,
    take_partial: bool,
    range: Option<&(TimeRange, CdrParser)>,
) -> std::io::Result<Vec<SourceRecord>> {
    let (mut offset, mut line) = start;
    let mut window = window_before(file, offset)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::new(&mut *file);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while out.len() < limit {
        buf.clear();
        let (n, ended) = read_line_bounded(&mut reader, &mut buf, MAX_LINE + 2, &mut window)?;
        if n == 0 || (!ended && !take_partial) {
            break; // end of file, or a line still being written
        }
        let (line_start, cut) = (offset, n > buf.len());
        offset += n as u64;
        line += 1;
        if line_start == 0 && buf.starts_with(pbx_core::framing::UTF8_BOM) {
            // A byte-order mark starting the file is not part of its first record.
            buf.drain(..pbx_core::framing::UTF8_BOM.len());
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if !cut && range.is_some_and(|(r, p)| r.rules_out_line(p, &buf)) {
            continue; // a backfill's line outside its range: not parsed
        }
        let record = if cut {
            // Only the first bytes were kept (room for the parser's limit and a line end).
            Err(pbx_core::Error::LineTooLong {
                at: pbx_core::Location::Line(line),
                len: n,
                max: MAX_LINE,
            })
        } else {
            Ok(RawRecord::Line {
                number: line,
                text: std::mem::take(&mut buf),
            })
        };
        out.push(SourceRecord {
            checkpoint: Checkpoint::new(format!("{ino}:{offset}:{line}:{:016x}", fnv1a(&window))),
            record,
        });
    }
    Ok(out)
}

/// The longest line kept in memory: the CDR parser's limit (plus a line end). A longer line is
/// consumed (its bytes still count for the offset and the fingerprint) but not kept.
const MAX_LINE: usize = pbx_core::cdr::DEFAULT_MAX_LINE_LEN;

/// Reads one line with [`crate::bounded::read_line_bounded`] (at most `keep` bytes kept),
/// every byte consumed also going to the fingerprint `window` (kept at its last [`WINDOW`]
/// bytes). Returns the bytes consumed and whether the line ended with `\n`.
fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    keep: usize,
    window: &mut Vec<u8>,
) -> std::io::Result<(usize, bool)> {
    crate::bounded::read_line_bounded(reader, buf, keep, |chunk| {
        window.extend_from_slice(&chunk[chunk.len().saturating_sub(WINDOW)..]);
        if window.len() > WINDOW {
            window.drain(..window.len() - WINDOW);
        }
    })
}

/// A regular file next to `path` with inode `ino` (a rotated `cdr.log.1`, …).
fn find_rotated(path: &Path, ino: u64) -> Option<File> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|e| {
            e.metadata()
                .is_ok_and(|m| m.is_file() && crate::watch::inode(&m) == ino)
        })
        .and_then(|e| File::open(e.path()).ok())
}

fn follow(
    path: &Path,
    held: &Mutex<Vec<(u64, File)>>,
    after: Option<Position>,
    limit: usize,
    range: Option<&(TimeRange, CdrParser)>,
) -> Result<Vec<SourceRecord>, Error> {
    let io = |source| {
        Error::File(FileError::Io {
            what: "CDR file",
            path: path.to_owned(),
            source,
        })
    };
    let mut held = held.lock().unwrap_or_else(PoisonError::into_inner);
    let current = match File::open(path) {
        Ok(f) => {
            let ino = crate::watch::inode(&f.metadata().map_err(io)?);
            Some((ino, f))
        }
        // Between a rename and the new file's creation: finish the old one meanwhile.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && after.is_some() => None,
        Err(e) => return Err(io(e)),
    };
    let current_ino = current.as_ref().map(|(i, _)| *i);
    let mut start = (0, 0);
    if let Some(cp) = after {
        if Some(cp.ino) == current_ino {
            let (_, f) = current.as_ref().unwrap_or_else(|| unreachable!());
            let mut f = f.try_clone().map_err(io)?;
            if still_matches(&mut f, &cp).map_err(io)? {
                start = (cp.offset, cp.line);
            } else {
                tracing::warn!(path = %path.display(), offset = cp.offset, "CDR file truncated; reading it from its start");
            }
        } else {
            // Rotated: finish the old file first.
            let old = match held.iter().position(|(i, _)| *i == cp.ino) {
                Some(i) => Some(held[i].1.try_clone().map_err(io)?),
                None => find_rotated(path, cp.ino),
            };
            let old = match old {
                Some(mut f) => {
                    let ok = still_matches(&mut f, &cp).map_err(io)?;
                    Some((f, ok))
                }
                None => None,
            };
            match old {
                Some((mut f, true)) => {
                    let records = read_lines(
                        &mut f,
                        cp.ino,
                        (cp.offset, cp.line),
                        limit,
                        current_ino.is_some(),
                        range,
                    )
                    .map_err(io)?;
                    if !records.is_empty() || current.is_none() {
                        if !held.iter().any(|(i, _)| *i == cp.ino) {
                            held.push((cp.ino, f));
                        }
                        return Ok(records);
                    }
                }
                Some((_, false)) => {
                    tracing::warn!(path = %path.display(), inode = cp.ino, "the rotated CDR file was truncated; its unread tail is lost")
                }
                None => {
                    tracing::warn!(path = %path.display(), inode = cp.ino, offset = cp.offset, "the rotated CDR file is gone; lines after the checkpoint in it are lost")
                }
            }
        }
    }
    let Some((ino, mut file)) = current else {
        return Ok(Vec::new());
    };
    let records = read_lines(&mut file, ino, start, limit, false, range).map_err(io)?;
    held.clear();
    held.push((ino, file));
    Ok(records)
}

#[async_trait]
impl CdrSource for FileSource {
    type Error = Error;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let position = after.map(parse_checkpoint).transpose()?;
        let (path, held, range) = (
            self.path.clone(),
            Arc::clone(&self.held),
            self.range.clone(),
        );
        tokio::task::spawn_blocking(move || follow(&path, &held, position, limit, range.as_deref()))
            .await
            .unwrap_or_else(|e| {
                Err(Error::File(FileError::Io {
                    what: "CDR file",
                    path: self.path.clone(),
                    source: std::io::Error::other(e),
                }))
            })
    }
}
