//! Bounded reading: nothing is read whole before its limit is checked. A configuration or
//! extension file is read up to its size limit and no further; a CDR line is kept up to its
//! line limit and the rest of it is skipped without being stored. `/dev/zero`, a FIFO or an
//! endless line on stdin cannot grow memory.

use crate::FileError;
use std::io::{BufRead, Read};
use std::path::Path;

use crate::Error;

/// Reads the UTF-8 text file `path`, failing as soon as it is longer than `limit` bytes (at
/// most `limit + 1` bytes are ever read). A directory, a missing file or non-UTF-8 content is
/// [`FileError::ReadFile`] naming the path; an oversized one [`FileError::FileTooLarge`].
///
/// ```
/// let dir = std::env::temp_dir().join(format!("pbx-bounded-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("small.yml");
/// std::fs::write(&file, "a: 1\n").unwrap();
/// assert_eq!(pbx_sources::bounded::read_file_limited(&file, 1024).unwrap(), "a: 1\n");
/// let err = pbx_sources::bounded::read_file_limited(&file, 3).unwrap_err();
/// assert!(err.to_string().ends_with("small.yml: it is over the limit of 3 bytes"), "{err}");
/// let err = pbx_sources::bounded::read_file_limited(&dir, 1024).unwrap_err();
/// assert!(err.to_string().contains("is a directory"), "{err}");
/// # std::fs::remove_dir_all(dir).unwrap();
/// ```
pub fn read_file_limited(path: &Path, limit: usize) -> Result<String, Error> {
    let fail = |source| {
        Error::File(FileError::ReadFile {
            path: path.to_owned(),
            source,
        })
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(fail(std::io::Error::other("it is a directory, not a file")));
    }
    read_limited(file, limit).map_err(|e| match e {
        Limited::TooLarge => Error::File(FileError::FileTooLarge {
            path: path.to_owned(),
            limit,
        }),
        Limited::Io(e) => fail(e),
    })
}

/// A [`read_file_limited`] failure as an OS error, for a binding that raises one (Python's
/// `OSError(errno, strerror, filename)`): the `errno` and the OS's text without std's
/// ` (os error N)`; `EFBIG` (27) and `it is over the limit of N bytes` for a file over the
/// limit; `EINVAL` (22) and the error's text where the OS gave no errno (a directory, content
/// that is not UTF-8).
///
/// ```
/// let missing = std::path::Path::new("/nonexistent/pbx.yml");
/// let err = pbx_sources::bounded::read_file_limited(missing, 1024).unwrap_err();
/// assert_eq!(pbx_sources::bounded::os_error(&err), (2, "No such file or directory".to_owned()));
/// ```
pub fn os_error(e: &Error) -> (i32, String) {
    const EINVAL: i32 = 22;
    const EFBIG: i32 = 27;
    match e {
        Error::File(FileError::ReadFile { source, .. }) => {
            let (errno, text) = (source.raw_os_error(), source.to_string());
            let suffix = errno
                .map(|n| format!(" (os error {n})"))
                .unwrap_or_default();
            let strerror = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
            (errno.unwrap_or(EINVAL), strerror)
        }
        Error::File(FileError::FileTooLarge { limit, .. }) => {
            (EFBIG, format!("it is over the limit of {limit} bytes"))
        }
        e => (EINVAL, e.to_string()),
    }
}

/// Why [`read_limited`] stopped.
#[derive(Debug)]
enum Limited {
    TooLarge,
    Io(std::io::Error),
}

fn read_limited(reader: impl Read, limit: usize) -> Result<String, Limited> {
    let mut bytes = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(Limited::Io)?;
    if bytes.len() > limit {
        return Err(Limited::TooLarge);
    }
    String::from_utf8(bytes).map_err(|e| {
        Limited::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (byte {} is not valid UTF-8)",
                e.utf8_error().valid_up_to() + 1
            ),
        ))
    })
}

/// Reads one line (through `\n`, or to the end of input) from `reader`: appends at most `keep`
/// of its bytes to `buf`, hands every byte consumed to `seen` (in order), and skips the rest
/// of an overlong line without storing it. Returns the bytes consumed and whether the line
/// ended with `\n`; `(0, false)` at the end of input. The line was cut when the count is larger
/// than what `buf` gained.
///
/// ```
/// use pbx_sources::bounded::read_line_bounded;
/// let mut input = std::io::Cursor::new(b"short\nvery long line\ntail".to_vec());
/// let mut buf = Vec::new();
/// assert_eq!(read_line_bounded(&mut input, &mut buf, 8, |_| {}).unwrap(), (6, true));
/// assert_eq!(buf, b"short\n");
/// buf.clear();
/// assert_eq!(read_line_bounded(&mut input, &mut buf, 8, |_| {}).unwrap(), (15, true));
/// assert_eq!(buf, b"very lon"); // cut: 15 bytes consumed, 8 kept
/// buf.clear();
/// assert_eq!(read_line_bounded(&mut input, &mut buf, 8, |_| {}).unwrap(), (4, false));
/// ```
///
/// # Errors
/// The reader's errors (`Interrupted` is retried).
pub fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    keep: usize,
    mut seen: impl FnMut(&[u8]),
) -> std::io::Result<(usize, bool)> {
    let mut consumed = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((consumed, false));
        }
        let (chunk, ended) = match memchr_newline(available) {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = keep.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        seen(chunk);
        let n = chunk.len();
        reader.consume(n);
        consumed += n;
        if ended {
            return Ok((consumed, true));
        }
    }
}

/// How [`read_line_capped`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CappedLine {
    /// A whole line, through its `\n` (kept in the buffer).
    Complete,
    /// The last bytes of the input, without a line end (kept in the buffer).
    Unterminated,
    /// The line is longer than the cap: reading stopped there, the rest of the line was not
    /// read (the buffer holds its first `cap` bytes).
    TooLong,
    /// Nothing left to read.
    End,
}

/// Reads one line (through `\n`) into `buf`, but never more than `cap` bytes of it: a longer
/// line stops the read at the cap ([`CappedLine::TooLong`]) instead of being consumed, so an
/// endless line (`/dev/zero`, `/dev/full`) costs `cap` bytes and no more time. For files
/// whose every line is ours (the call file, the quarantine): a line over the cap means the
/// file is not what it should be.
///
/// ```
/// use pbx_sources::bounded::{CappedLine, read_line_capped};
/// let mut input = std::io::Cursor::new(b"ok\nlonger line\ntail".to_vec());
/// let mut buf = Vec::new();
/// assert_eq!(read_line_capped(&mut input, &mut buf, 8).unwrap(), CappedLine::Complete);
/// assert_eq!(buf, b"ok\n");
/// buf.clear();
/// assert_eq!(read_line_capped(&mut input, &mut buf, 8).unwrap(), CappedLine::TooLong);
/// assert_eq!(buf, b"longer l");
/// ```
///
/// # Errors
/// The reader's errors (`Interrupted` is retried).
pub fn read_line_capped(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<CappedLine> {
    let start = buf.len();
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if buf.len() == start {
                CappedLine::End
            } else {
                CappedLine::Unterminated
            });
        }
        let room = cap.saturating_sub(buf.len() - start);
        let (chunk, ended) = match memchr_newline(available) {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            reader.consume(room);
            return Ok(CappedLine::TooLong);
        }
        buf.extend_from_slice(chunk);
        let n = chunk.len();
        reader.consume(n);
        if ended {
            return Ok(CappedLine::Complete);
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An endless reader of one byte value (like `/dev/zero`), counting what was read.
    struct Endless {
        byte: u8,
        read: u64,
    }

    impl Read for Endless {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            out.fill(self.byte);
            self.read += out.len() as u64;
            Ok(out.len())
        }
    }

    #[test]
    fn an_endless_input_is_read_only_to_the_limit() {
        let mut zero = Endless { byte: 0, read: 0 };
        assert!(matches!(
            read_limited(&mut zero, 1024 * 1024),
            Err(Limited::TooLarge)
        ));
        assert!(
            zero.read <= 1024 * 1024 + 64 * 1024,
            "read {} bytes",
            zero.read
        );
    }

    #[test]
    fn an_endless_line_keeps_only_keep_bytes() {
        // 64 MiB of one line without a newline, then a short line: memory stays at `keep`.
        let endless = Endless {
            byte: b'x',
            read: 0,
        };
        let mut reader =
            std::io::BufReader::new(endless.take(64 * 1024 * 1024).chain(&b"\nnext\n"[..]));
        let mut buf = Vec::with_capacity(16);
        let mut seen = 0usize;
        let (n, ended) =
            read_line_bounded(&mut reader, &mut buf, 100, |c| seen += c.len()).unwrap();
        assert_eq!((n, ended), (64 * 1024 * 1024 + 1, true));
        assert_eq!(seen, n);
        assert_eq!(buf.len(), 100);
        assert!(buf.capacity() < 4096, "capacity {}", buf.capacity());
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut reader, &mut buf, 100, |_| {}).unwrap(),
            (5, true)
        );
        assert_eq!(buf, b"next\n");
    }

    #[test]
    fn a_capped_line_stops_an_endless_input_at_the_cap() {
        let mut zero = std::io::BufReader::new(Endless { byte: 0, read: 0 });
        let mut buf = Vec::new();
        assert_eq!(
            read_line_capped(&mut zero, &mut buf, 1 << 20).unwrap(),
            CappedLine::TooLong
        );
        assert_eq!(buf.len(), 1 << 20);
        assert!(zero.get_ref().read <= (1 << 20) + 64 * 1024);
        let mut input = std::io::Cursor::new(b"a\nb".to_vec());
        buf.clear();
        assert_eq!(
            read_line_capped(&mut input, &mut buf, 4).unwrap(),
            CappedLine::Complete
        );
        buf.clear();
        assert_eq!(
            read_line_capped(&mut input, &mut buf, 4).unwrap(),
            CappedLine::Unterminated
        );
        assert_eq!(buf, b"b");
        buf.clear();
        assert_eq!(
            read_line_capped(&mut input, &mut buf, 4).unwrap(),
            CappedLine::End
        );
    }
}
