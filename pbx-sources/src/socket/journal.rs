//! The local journal of lines received from a CDR socket: append + fsync before a line counts
//! as received; read from a checkpoint; compacted past it.
//!
//! On disk: a directory holding `journal.id` (a random id, so a checkpoint of another journal
//! is recognised) and segment files `seg-<offset>-<line>.log`, named by the journal position
//! (byte offset across all segments, 0-based) and the line number (0-based count of lines
//! before it) at which they start. Each line is stored as received, without its line end, plus
//! `\n` (the framer guarantees lines hold no `\n`). Segments roll at `segment_bytes`; whole
//! segments that end at or before the checkpoint are deleted. A crash mid-append leaves at most
//! a partial last line in the last segment, cut off when the journal is opened again (it was
//! never fsynced, so it never counted as received).

use crate::FileError;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// A position in the journal: after `offset` bytes and `line` lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) offset: u64,
    pub(crate) line: u64,
}

#[derive(Clone, Debug)]
struct Segment {
    start: Position,
    path: PathBuf,
}

#[derive(Debug)]
struct State {
    /// Oldest first; the last one is being written.
    segments: Vec<Segment>,
    /// End of the fsynced data.
    durable: Position,
    /// Set while appends fail (disk full, …); cleared by the next good append.
    error: Option<String>,
}

/// The shared side: readers see only fsynced lines.
#[derive(Debug)]
pub(crate) struct Journal {
    dir: PathBuf,
    id: String,
    state: Mutex<State>,
    /// `journal.lock`, locked exclusively while the journal is open: a second process on the
    /// same directory would interleave writes and compact lines the first has not delivered.
    _lock: File,
}

/// Locks `dir/journal.lock` (creating `dir`) for this process: `None` while another holder —
/// another process, or a source of this one still shutting down — has it.
pub(crate) fn try_lock_dir(dir: &Path) -> std::io::Result<Option<File>> {
    std::fs::create_dir_all(dir)?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("journal.lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The one writer (owned by the journal thread).
pub(crate) struct Writer {
    journal: Arc<Journal>,
    file: File,
    /// End of what is written to `file` and fsynced.
    end: Position,
    segment_start: Position,
    segment_bytes: u64,
    buf: Vec<u8>,
}

fn segment_name(p: Position) -> String {
    format!("seg-{:020}-{:020}.log", p.offset, p.line)
}

fn parse_segment_name(name: &str) -> Option<Position> {
    let rest = name.strip_prefix("seg-")?.strip_suffix(".log")?;
    let (o, l) = rest.split_once('-')?;
    Some(Position {
        offset: o.parse().ok()?,
        line: l.parse().ok()?,
    })
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn new_id() -> String {
    use std::hash::BuildHasher;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let h = std::collections::hash_map::RandomState::new().hash_one((nanos, std::process::id()));
    format!("{h:016x}")
}

fn read_or_create_id(dir: &Path) -> std::io::Result<String> {
    let path = dir.join("journal.id");
    // An id is 16 hex digits: read no more than a few hundred bytes of the file.
    match crate::bounded::read_file_limited(&path, 256) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_owned()),
        Ok(_) => {}
        Err(crate::Error::File(FileError::ReadFile { source, .. }))
            if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(crate::Error::File(FileError::ReadFile { source, .. })) => return Err(source),
        Err(e) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.to_string(),
            ));
        }
    }
    let id = new_id();
    let tmp = dir.join("journal.id.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(id.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    sync_dir(dir)?;
    Ok(id)
}

impl Journal {
    /// Opens (or creates) the journal in `dir`, holding `lock` (from [`try_lock_dir`]) while
    /// it is open: cuts a torn last line, and returns the shared journal and its writer.
    pub(crate) fn open(
        dir: &Path,
        segment_bytes: u64,
        lock: File,
    ) -> std::io::Result<(Arc<Journal>, Writer)> {
        std::fs::create_dir_all(dir)?;
        let id = read_or_create_id(dir)?;
        let mut segments: Vec<Segment> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name();
                parse_segment_name(name.to_str()?).map(|start| Segment {
                    start,
                    path: e.path(),
                })
            })
            .collect();
        segments.sort_by_key(|s| s.start.offset);
        if segments.is_empty() {
            let start = Position::default();
            File::create(dir.join(segment_name(start)))?.sync_all()?;
            sync_dir(dir)?;
            segments.push(Segment {
                start,
                path: dir.join(segment_name(start)),
            });
        }
        let last = segments.last().cloned().unwrap_or_else(|| unreachable!());
        // Count the last segment's lines; cut a partial last line.
        // Streamed in blocks: the segment is never held in memory whole.
        let mut file = OpenOptions::new().read(true).write(true).open(&last.path)?;
        let (mut len, mut complete, mut lines) = (0u64, 0u64, 0u64);
        let mut block = vec![0u8; 64 * 1024];
        loop {
            let n = match file.read(&mut block) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let chunk = &block[..n];
            lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
                complete = len + i as u64 + 1;
            }
            len += n as u64;
        }
        if complete < len {
            tracing::warn!(
                segment = %last.path.display(),
                bytes = len - complete,
                "journal: cutting a partial last line left by a crash (it was never acknowledged)"
            );
            file.set_len(complete)?;
            file.sync_all()?;
        }
        let end = Position {
            offset: last.start.offset + complete,
            line: last.start.line + lines,
        };
        file.seek(SeekFrom::Start(complete))?;
        let journal = Arc::new(Journal {
            dir: dir.to_owned(),
            id,
            state: Mutex::new(State {
                segments,
                durable: end,
                error: None,
            }),
            _lock: lock,
        });
        let writer = Writer {
            journal: Arc::clone(&journal),
            file,
            end,
            segment_start: last.start,
            segment_bytes: segment_bytes.max(1),
            buf: Vec::new(),
        };
        Ok((journal, writer))
    }

    /// The journal's id (part of its checkpoints).
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The end of the fsynced lines.
    pub(crate) fn durable(&self) -> Position {
        self.state().durable
    }

    /// The last append failure, while appends fail.
    pub(crate) fn error(&self) -> Option<String> {
        self.state().error.clone()
    }

    /// Deletes the segments that end at or before `at` (never the one being written).
    pub(crate) fn compact(&self, at: Position) -> std::io::Result<usize> {
        let doomed: Vec<Segment> = {
            let mut st = self.state();
            let keep_from = st
                .segments
                .windows(2)
                .take_while(|w| w[1].start.offset <= at.offset)
                .count();
            st.segments.drain(..keep_from).collect()
        };
        for s in &doomed {
            match std::fs::remove_file(&s.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if !doomed.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(doomed.len())
    }

    /// Up to `limit` lines after `after` (`None`: from the oldest segment kept), each with the
    /// position after it; only fsynced lines.
    pub(crate) fn read(
        &self,
        after: Option<Position>,
        limit: usize,
    ) -> std::io::Result<Vec<(Position, Vec<u8>)>> {
        let (segments, durable) = {
            let st = self.state();
            (st.segments.clone(), st.durable)
        };
        let first = segments.first().map(|s| s.start).unwrap_or_default();
        let mut pos = match after {
            Some(p) if p.offset >= first.offset => p,
            Some(p) => {
                tracing::warn!(
                    checkpoint = p.offset,
                    oldest = first.offset,
                    "journal: the checkpoint is older than the oldest segment kept; reading from the oldest"
                );
                first
            }
            None => first,
        };
        let mut out = Vec::new();
        while out.len() < limit && pos.offset < durable.offset {
            // The segment holding `pos`.
            let Some(i) = segments.iter().rposition(|s| s.start.offset <= pos.offset) else {
                break;
            };
            let seg = &segments[i];
            let seg_end = segments
                .get(i + 1)
                .map_or(durable.offset, |n| n.start.offset.min(durable.offset));
            if pos.offset >= seg_end {
                break;
            }
            let mut file = File::open(&seg.path)?;
            file.seek(SeekFrom::Start(pos.offset - seg.start.offset))?;
            let mut reader = BufReader::new(file.take(seg_end - pos.offset));
            let mut line = Vec::new();
            while out.len() < limit {
                line.clear();
                let n = reader.read_until(b'\n', &mut line)?;
                if n == 0 {
                    break;
                }
                if line.last() != Some(&b'\n') {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "journal segment {} ends without a line end before the durable end",
                            seg.path.display()
                        ),
                    ));
                }
                pos.offset += n as u64;
                pos.line += 1;
                line.pop();
                out.push((pos, std::mem::take(&mut line)));
            }
            if let Some(next) = segments.get(i + 1)
                && pos.offset >= next.start.offset
            {
                pos = next.start;
            }
        }
        Ok(out)
    }
}

impl Writer {
    /// Appends lines and fsyncs them; then they are durable and readers see them.
    ///
    /// # Errors
    /// A write or fsync failure: nothing of the batch is visible, the file is cut back to the
    /// last durable end, and the caller may try again.
    pub(crate) fn append(&mut self, lines: &[Vec<u8>]) -> std::io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        for l in lines {
            self.buf.extend_from_slice(l);
            self.buf.push(b'\n');
        }
        let result = self
            .file
            .write_all(&self.buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = result {
            self.journal.state().error = Some(format!(
                "cannot append to the journal in {}: {e}",
                self.journal.dir.display()
            ));
            let keep = self.end.offset - self.segment_start.offset;
            let _ = self.file.set_len(keep);
            let _ = self.file.seek(SeekFrom::Start(keep));
            return Err(e);
        }
        self.end.offset += self.buf.len() as u64;
        self.end.line += lines.len() as u64;
        let mut new_segment = None;
        if self.end.offset - self.segment_start.offset >= self.segment_bytes {
            let path = self.journal.dir.join(segment_name(self.end));
            // A failure here is not a failure of the append: keep writing the old segment.
            match File::create(&path)
                .and_then(|f| f.sync_all().map(|()| f))
                .and_then(|f| sync_dir(&self.journal.dir).map(|()| f))
            {
                Ok(f) => {
                    self.file = f;
                    self.segment_start = self.end;
                    new_segment = Some(Segment {
                        start: self.end,
                        path,
                    });
                }
                Err(e) => tracing::warn!(error = %e, "journal: cannot start a new segment"),
            }
        }
        let mut st = self.journal.state();
        st.durable = self.end;
        st.error = None;
        if let Some(s) = new_segment {
            st.segments.push(s);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use pbx_testkit::scratch;

    #[test]
    fn a_journal_directory_is_open_once_at_a_time() {
        let dir = scratch("lock");
        let lock = try_lock_dir(&dir).unwrap().unwrap();
        let (j, w) = Journal::open(&dir, 1024, lock).unwrap();
        assert!(try_lock_dir(&dir).unwrap().is_none(), "taken while open");
        drop((j, w));
        assert!(
            try_lock_dir(&dir).unwrap().is_some(),
            "free again once closed"
        );
    }

    #[test]
    fn appends_read_roll_compact_and_reopen() {
        let dir = scratch("roll");
        let (j, mut w) = Journal::open(&dir, 10, try_lock_dir(&dir).unwrap().unwrap()).unwrap();
        w.append(&[b"aaaa".to_vec(), b"bbbb".to_vec()]).unwrap();
        w.append(&[b"cc".to_vec()]).unwrap();
        let all = j.read(None, 10).unwrap();
        let texts: Vec<&[u8]> = all.iter().map(|(_, t)| t.as_slice()).collect();
        assert_eq!(texts, [&b"aaaa"[..], b"bbbb", b"cc"]);
        assert_eq!(
            all[2].0,
            Position {
                offset: 13,
                line: 3
            }
        );
        let rest = j.read(Some(all[0].0), 10).unwrap();
        assert_eq!(rest.len(), 2);
        // Two segments now ([0,10) and [10,13)); compacting past line 2 drops the first.
        assert_eq!(j.compact(all[1].0).unwrap(), 1);
        assert_eq!(j.read(Some(all[1].0), 10).unwrap()[0].1, b"cc");
        drop(w);
        // A torn append: cut on reopen.
        let last = j.state().segments.last().unwrap().path.clone();
        let id = j.id().to_owned();
        drop(j); // the journal is locked while open
        OpenOptions::new()
            .append(true)
            .open(&last)
            .unwrap()
            .write_all(b"torn")
            .unwrap();
        let (j2, mut w2) = Journal::open(&dir, 10, try_lock_dir(&dir).unwrap().unwrap()).unwrap();
        assert_eq!(j2.id(), id);
        assert_eq!(
            j2.durable(),
            Position {
                offset: 13,
                line: 3
            }
        );
        w2.append(&[b"dd".to_vec()]).unwrap();
        let after = j2.read(Some(all[2].0), 10).unwrap();
        assert_eq!(
            after,
            vec![(
                Position {
                    offset: 16,
                    line: 4
                },
                b"dd".to_vec()
            )]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
