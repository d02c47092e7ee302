//! A CDR file as a source: 3CX's single-file output (`cdr.log`), read from a byte offset.
//!
//! The checkpoint is `inode:offset:line` — after the last complete line handed out. A line
//! still being written (no line end yet) is left for the next fetch. When the file is
//! replaced (another inode) or truncated (shorter than the offset), reading starts again at
//! its beginning. Following a rotated file's tail (`tail -F`) is the socket/file issue's work.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;

use async_trait::async_trait;
use pbx_core::{CdrSource, Checkpoint, RawRecord, SourceRecord};

/// Why the file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileSourceError {
    /// Reading failed.
    #[error("CDR file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The saved checkpoint is not one of this source's.
    #[error("checkpoint {0:?} is not a file position (inode:offset:line)")]
    BadCheckpoint(String),
}

/// Reads CDR lines from one file.
#[derive(Clone, Debug)]
pub struct FileSource {
    path: PathBuf,
}

impl FileSource {
    /// A source reading `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource { path: path.into() }
    }
}

fn inode(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::ino(meta)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

fn read_from(
    path: &PathBuf,
    after: Option<(u64, u64, u64)>,
    limit: usize,
) -> Result<Vec<SourceRecord>, FileSourceError> {
    let io = |source| FileSourceError::Io {
        path: path.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let ino = inode(&meta);
    let (mut offset, mut line) = match after {
        Some((i, off, n)) if i == ino && off <= meta.len() => (off, n),
        _ => (0, 0),
    };
    let mut reader = BufReader::new(file);
    reader.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while out.len() < limit {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break; // end of file, or a line still being written
        }
        offset += n as u64;
        line += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out.push(SourceRecord {
            checkpoint: Checkpoint::new(format!("{ino}:{offset}:{line}")),
            record: Ok(RawRecord::Line {
                number: line,
                text: std::mem::take(&mut buf),
            }),
        });
    }
    Ok(out)
}

#[async_trait]
impl CdrSource for FileSource {
    type Error = FileSourceError;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, FileSourceError> {
        let position = match after {
            None => None,
            Some(cp) => {
                let parts: Vec<u64> = cp
                    .as_str()
                    .split(':')
                    .filter_map(|p| p.parse().ok())
                    .collect();
                match parts[..] {
                    [i, off, n] => Some((i, off, n)),
                    _ => return Err(FileSourceError::BadCheckpoint(cp.to_string())),
                }
            }
        };
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || read_from(&path, position, limit))
            .await
            .unwrap_or_else(|e| {
                Err(FileSourceError::Io {
                    path: self.path.clone(),
                    source: std::io::Error::other(e),
                })
            })
    }
}
