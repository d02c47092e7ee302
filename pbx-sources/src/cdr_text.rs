//! Any of 3CX's four CDR text outputs behind one type, built from the configuration: the
//! active or passive socket ([`SocketSource`]), the single file ([`FileSource`]) or the
//! one-file-per-call directory ([`DirectorySource`]).
//!
//! ```no_run
//! # async fn demo(config: pbx_core::config::Config) -> Result<(), pbx_sources::Error> {
//! use pbx_sources::cdr_text::CdrTextSource;
//! let source = CdrTextSource::from_config(&config.source).await?;
//! // Wake the engine as soon as a record arrives (files: checked every 200 ms).
//! let wake = source.wake_handle(std::time::Duration::from_millis(200));
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pbx_core::cdr::CdrParser;
use pbx_core::config::SourceConfig;
use pbx_core::delivery::TimeRange;
use pbx_core::{CdrSource, Checkpoint, SourceRecord};
use tokio::sync::Notify;

use crate::Error;
use crate::file::FileSource;
use crate::folder::DirectorySource;
use crate::socket::SocketSource;

/// One of the CDR text sources.
#[derive(Debug)]
#[non_exhaustive]
pub enum CdrTextSource {
    /// Active or passive socket, journaled.
    Socket(SocketSource),
    /// A single file followed like `tail -F`.
    File(FileSource),
    /// One file per call.
    Directory(DirectorySource),
}

impl CdrTextSource {
    /// The source `config` describes (starting the socket listener or connector).
    ///
    /// # Errors
    /// [`Error::WrongSourceKind`] for database sources; the socket's start-up errors.
    pub async fn from_config(config: &SourceConfig) -> Result<Self, Error> {
        Ok(match config {
            SourceConfig::SocketListen { .. } | SourceConfig::SocketConnect { .. } => {
                CdrTextSource::Socket(SocketSource::from_config(config).await?)
            }
            SourceConfig::File { path } => CdrTextSource::File(FileSource::new(path)),
            SourceConfig::Directory { .. } => {
                CdrTextSource::Directory(DirectorySource::from_config(config)?)
            }
            other => {
                return Err(Error::WrongSourceKind {
                    expected: "a CDR socket, file or directory source",
                    kind: other.kind().code().to_owned(),
                });
            }
        })
    }

    /// For a backfill over `range`: the file and directory sources skip what cannot hold its
    /// calls without parsing it (see [`FileSource::with_range`] and
    /// [`DirectorySource::with_range`]); the socket sources read everything (the engine skips
    /// the calls outside the range).
    #[must_use]
    pub fn with_range(self, range: Option<TimeRange>, parser: &CdrParser) -> Self {
        match self {
            CdrTextSource::File(f) => CdrTextSource::File(f.with_range(range, parser)),
            CdrTextSource::Directory(d) => CdrTextSource::Directory(d.with_range(range, parser)),
            other => other,
        }
    }

    /// A handle notified when new records may be there, for `Engine::with_trigger`: the
    /// socket's journal wakes it after each fsync; files and directories are polled every
    /// `file_poll`. Call from within a tokio runtime.
    pub fn wake_handle(&self, file_poll: Duration) -> Arc<Notify> {
        match self {
            CdrTextSource::Socket(s) => s.wake_handle(),
            CdrTextSource::File(f) => f.watch(file_poll),
            CdrTextSource::Directory(d) => d.watch(file_poll),
        }
    }
}

#[async_trait]
impl CdrSource for CdrTextSource {
    type Error = Error;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        Ok(match self {
            CdrTextSource::Socket(s) => s.fetch(after, limit).await?,
            CdrTextSource::File(f) => f.fetch(after, limit).await?,
            CdrTextSource::Directory(d) => d.fetch(after, limit).await?,
        })
    }
}
