//! One process per file: an exclusive lock on a file this program owns (the checkpoint file,
//! the quarantine), held as long as the returned handle lives.
//!
//! The lock is taken on a lock file beside the file (`checkpoint.json.lock`), not on the file
//! itself: the checkpoint file and the quarantine are replaced by renaming a new file over
//! them, which would leave a lock on the old file behind. The lock is the operating system's
//! (`flock` on Unix, `LockFileEx` on Windows, through [`std::fs::File::try_lock`]): it goes
//! away with the process, even after `SIGKILL`, so a stale lock file never blocks a restart.
//! The lock file itself is left in place (removing it would let a third process lock a new
//! one while the second still holds the old).

use crate::FileError;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::Error;

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct FileLock {
    /// The open lock file (the lock lives as long as it is open).
    _file: File,
    /// Where it is.
    path: PathBuf,
}

impl FileLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file for `path`: `path` with `.lock` appended to its name.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock on `path` (`what`: `checkpoint file`, `quarantine file`) without
/// waiting: creates the lock file (and its folder) when needed.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("pbx-lock-doc-{}", std::process::id()));
/// let file = dir.join("checkpoint.json");
/// let held = pbx_sources::file_lock::lock_exclusive(&file, "checkpoint file").unwrap();
/// let err = pbx_sources::file_lock::lock_exclusive(&file, "checkpoint file").unwrap_err();
/// assert_eq!(err.kind().code(), "in_use");
/// assert!(err.to_string().contains("is in use by another process"), "{err}");
/// drop(held);
/// pbx_sources::file_lock::lock_exclusive(&file, "checkpoint file").unwrap();
/// # std::fs::remove_dir_all(dir).unwrap();
/// ```
///
/// # Errors
/// [`FileError::InUse`] when another process (or another handle in this one) holds it;
/// [`FileError::Io`] when the lock file cannot be created or locked.
pub fn lock_exclusive(path: &Path, what: &'static str) -> Result<FileLock, Error> {
    let lock = lock_path(path);
    let io = |source| {
        Error::File(FileError::Io {
            what,
            path: lock.clone(),
            source,
        })
    };
    if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(FileLock {
            _file: file,
            path: lock,
        }),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::File(FileError::InUse {
            what,
            path: path.to_owned(),
            lock,
        })),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}
