//! [`FileError`]: files and sockets: reading, size limits, locks, listening.

use std::path::PathBuf;

/// Files and sockets: reading, size limits, locks, listening. Folded into [`crate::Error`] as
/// `Error::File`; its `kind()`, `is_transient()` and `is_config()` answer for these too.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// A file (a configuration, an extension map) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than its limit; it was not read past the limit.
    #[error("cannot read {}: it is over the limit of {limit} bytes", path.display())]
    FileTooLarge {
        /// The file as given.
        path: PathBuf,
        /// The limit in bytes.
        limit: usize,
    },
    /// Reading, writing, listing or moving a file or directory an adapter owns failed (the CDR
    /// file, the CDR directory, the socket source's journal, the checkpoint file). Check the
    /// path, its permissions and free space.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What the path is: `CDR file`, `CDR directory`, `CDR journal`, `checkpoint file`.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the file (the checkpoint file or the quarantine): two
    /// sideloaders on one file would overwrite each other's checkpoints. Stop the other
    /// process, or give each its own `checkpoint.path` and `quarantine.path`.
    #[error(
        "{what} {} is in use by another process (it holds the lock {}); stop that process or give this one its own file",
        path.display(),
        lock.display()
    )]
    InUse {
        /// `checkpoint file` or `quarantine file`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The lock file beside it.
        lock: PathBuf,
    },
    /// A listening socket cannot be bound (in use, no permission for ports below 1024).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
