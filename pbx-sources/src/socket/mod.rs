//! 3CX's CDR socket modes as a [`CdrSource`]: *active* (3CX connects to our listener,
//! [`SocketSource::listen`]) and *passive* (we connect to 3CX, [`SocketSource::connect`]).
//!
//! A socket cannot replay, so every received line is first appended to a local journal and
//! fsynced (in small batches: whatever arrived while the previous fsync ran); only then does it
//! count as received. The engine reads the journal, and the checkpoint it saves is a journal
//! position (`journal:<id>:<offset>:<line>`). Segments of the journal that lie wholly before
//! the checkpoint are deleted when the engine fetches past them. A crash or `SIGKILL` between
//! receiving a line and delivering its call loses nothing: after a restart the line is read
//! from the journal again.
//!
//! Each connection is cut into lines by [`pbx_core::framing::LineFramer`] (CRLF or LF, lines
//! split across reads, at most `max_line` bytes). A connection that sends an endless line or
//! binary data, stays idle longer than `idle_timeout` (active mode), or comes from a peer not on
//! the allow-list is closed with a logged reason; the others and the listener go on. A last
//! line without a line end is taken when the peer closes the connection cleanly (builds that
//! send one record per connection).
//!
//! For sub-second delivery, hand [`SocketSource::wake_handle`] to the engine
//! (`Engine::with_trigger`): it is notified after each fsync.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pbx_sources::Error> {
//! use pbx_sources::socket::{ListenOptions, SocketSource};
//! let source = SocketSource::listen(ListenOptions::new("0.0.0.0:5000".parse().unwrap(), "pbx-journal")).await?;
//! println!("listening on {}", source.local_addr().unwrap());
//! # Ok(()) }
//! ```

mod connect;
mod journal;
mod listen;

use crate::{CheckpointError, FileError};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pbx_core::config::SourceConfig;
use pbx_core::{CdrSource, Checkpoint, RawRecord, SourceRecord};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use journal::{Journal, Position};

use crate::Error;

/// Journal settings shared by both modes.
#[derive(Clone, Debug)]
pub struct JournalOptions {
    /// The journal directory (created if missing).
    pub dir: PathBuf,
    /// A segment file is closed and a new one started at this size (default 4 MiB).
    pub segment_bytes: u64,
    /// Lines written per fsync at most (default 4096).
    pub max_batch: usize,
}

impl JournalOptions {
    /// Defaults for a journal in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        JournalOptions {
            dir: dir.into(),
            segment_bytes: 4 * 1024 * 1024,
            max_batch: 4096,
        }
    }
}

/// Active mode: we listen, 3CX connects.
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// `ip:port` to listen on (port 0: any free port, see [`SocketSource::local_addr`]).
    pub listen: SocketAddr,
    /// Peers allowed to connect; empty: any. IPv4-mapped IPv6 peers match their IPv4 address.
    pub allow_peers: Vec<IpAddr>,
    /// The journal.
    pub journal: JournalOptions,
    /// Longest line accepted, line end excluded (default 64 KiB).
    pub max_line: usize,
    /// A connection silent this long is closed (default 10 min; 3CX reconnects when it has
    /// a record).
    pub idle_timeout: Duration,
    /// Connections served at once; more are refused with a log line (default 256).
    pub max_connections: usize,
}

impl ListenOptions {
    /// Defaults for listening on `listen` with a journal in `journal_dir`.
    pub fn new(listen: SocketAddr, journal_dir: impl Into<PathBuf>) -> Self {
        ListenOptions {
            listen,
            allow_peers: Vec::new(),
            journal: JournalOptions::new(journal_dir),
            max_line: pbx_core::cdr::DEFAULT_MAX_LINE_LEN,
            idle_timeout: Duration::from_secs(600),
            max_connections: 256,
        }
    }
}

/// Passive mode: we connect to 3CX and read.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// `host:port` of the PBX's CDR port (resolved at each attempt).
    pub connect: String,
    /// The journal.
    pub journal: JournalOptions,
    /// Longest line accepted (default 64 KiB).
    pub max_line: usize,
    /// Give up a connection attempt after this long (default 10 s).
    pub connect_timeout: Duration,
    /// Close and reconnect after this long without data (default: never; TCP keep-alive
    /// still detects a vanished peer).
    pub idle_timeout: Option<Duration>,
    /// First wait before reconnecting (default 500 ms); doubles per failed attempt.
    pub backoff_base: Duration,
    /// Longest wait before reconnecting (default 30 s).
    pub backoff_cap: Duration,
}

impl ConnectOptions {
    /// Defaults for connecting to `connect` with a journal in `journal_dir`.
    pub fn new(connect: impl Into<String>, journal_dir: impl Into<PathBuf>) -> Self {
        ConnectOptions {
            connect: connect.into(),
            journal: JournalOptions::new(journal_dir),
            max_line: pbx_core::cdr::DEFAULT_MAX_LINE_LEN,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: None,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
        }
    }
}

/// Counters of the socket side (for `/status`).
#[derive(Debug, Default)]
pub struct SocketStats {
    /// Connections accepted (active) or established (passive).
    pub connections: std::sync::atomic::AtomicU64,
    /// Connections refused (allow-list, too many) or dropped for bad data or idleness.
    pub dropped: std::sync::atomic::AtomicU64,
    /// Lines made durable in the journal.
    pub lines: std::sync::atomic::AtomicU64,
}

/// A CDR socket source (either mode) reading from its journal. Dropping it stops the
/// listener or connector; lines already received are written to the journal first.
pub struct SocketSource {
    journal: Arc<Journal>,
    wake: Arc<Notify>,
    stats: Arc<SocketStats>,
    local_addr: Option<SocketAddr>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for SocketSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketSource")
            .field("journal", &self.journal.dir())
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Drop for SocketSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Lines of one read, sent to the journal thread.
type Batch = Vec<Vec<u8>>;

/// Starts the journal writer thread; the returned sender feeds it. The thread ends when every
/// sender is gone, after writing what it was sent.
///
/// The journal directory is locked while the journal is open: a second source on it (in
/// another process, or a source of this process that has not finished shutting down within
/// a few seconds) is refused, since two writers would interleave lines and one would compact
/// what the other has not delivered.
async fn start_journal(
    options: &JournalOptions,
    wake: Arc<Notify>,
    stats: Arc<SocketStats>,
) -> Result<(Arc<Journal>, mpsc::Sender<Batch>), Error> {
    let failed = |source| {
        Error::File(FileError::Io {
            what: "CDR journal",
            path: options.dir.clone(),
            source,
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let lock = loop {
        match journal::try_lock_dir(&options.dir).map_err(failed)? {
            Some(lock) => break lock,
            None if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            None => {
                return Err(failed(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    "the journal is locked: another source (another process?) is using it; \
                     give each source its own journal directory",
                )));
            }
        }
    };
    let (journal, mut writer) =
        Journal::open(&options.dir, options.segment_bytes, lock).map_err(failed)?;
    let (tx, mut rx) = mpsc::channel::<Batch>(1024);
    let max_batch = options.max_batch.max(1);
    let spawned = std::thread::Builder::new()
        .name("pbx-cdr-journal".into())
        .spawn(move || {
            let mut lines: Vec<Vec<u8>> = Vec::new();
            while let Some(first) = rx.blocking_recv() {
                lines.extend(first);
                while lines.len() < max_batch {
                    match rx.try_recv() {
                        Ok(more) => lines.extend(more),
                        Err(_) => break,
                    }
                }
                let mut wait = Duration::from_millis(100);
                while let Err(e) = writer.append(&lines) {
                    tracing::error!(error = %e, "cannot append received CDR lines to the journal; retrying (the lines are held)");
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                stats
                    .lines
                    .fetch_add(lines.len() as u64, std::sync::atomic::Ordering::Relaxed);
                lines.clear();
                wake.notify_one();
            }
        });
    spawned.map_err(|source| {
        Error::File(FileError::Io {
            what: "CDR journal",
            path: options.dir.clone(),
            source,
        })
    })?;
    Ok((journal, tx))
}

impl SocketSource {
    /// Active mode: binds `options.listen` and serves 3CX's connections in the background
    /// (call from within a tokio runtime).
    ///
    /// # Errors
    /// [`FileError::Bind`], [`FileError::Io`].
    pub async fn listen(options: ListenOptions) -> Result<Self, Error> {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| {
                Error::File(FileError::Bind {
                    addr: options.listen,
                    source,
                })
            })?;
        let local_addr = listener.local_addr().ok();
        let wake = Arc::new(Notify::new());
        let stats = Arc::new(SocketStats::default());
        let (journal, tx) =
            start_journal(&options.journal, Arc::clone(&wake), Arc::clone(&stats)).await?;
        let task = tokio::spawn(listen::serve(listener, options, tx, Arc::clone(&stats)));
        Ok(SocketSource {
            journal,
            wake,
            stats,
            local_addr,
            task,
        })
    }

    /// Passive mode: connects to `options.connect` in the background and reconnects with
    /// backoff whenever the connection fails or drops (call from within a tokio runtime).
    /// The PBX being unreachable is not an error here; it is logged and retried.
    ///
    /// # Errors
    /// [`FileError::Io`].
    pub async fn connect(options: ConnectOptions) -> Result<Self, Error> {
        let wake = Arc::new(Notify::new());
        let stats = Arc::new(SocketStats::default());
        let (journal, tx) =
            start_journal(&options.journal, Arc::clone(&wake), Arc::clone(&stats)).await?;
        let task = tokio::spawn(connect::run(options, tx, Arc::clone(&stats)));
        Ok(SocketSource {
            journal,
            wake,
            stats,
            local_addr: None,
            task,
        })
    }

    /// The source a [`SourceConfig::SocketListen`] or [`SourceConfig::SocketConnect`]
    /// describes, with default timeouts and limits.
    ///
    /// # Errors
    /// [`Error::WrongSourceKind`] for another source kind, [`Error::Config`] for an unusable
    /// address; else as [`SocketSource::listen`] / [`SocketSource::connect`].
    pub async fn from_config(config: &SourceConfig) -> Result<Self, Error> {
        match config {
            SourceConfig::SocketListen {
                listen,
                allow_peers,
                journal,
            } => {
                let addr = listen.parse().map_err(|_| Error::Config {
                    setting: "source.listen",
                    value: listen.clone(),
                    reason: "is not an address like 0.0.0.0:5000".into(),
                })?;
                let mut options = ListenOptions::new(addr, journal);
                options.allow_peers.clone_from(allow_peers);
                SocketSource::listen(options).await
            }
            SourceConfig::SocketConnect { connect, journal } => {
                SocketSource::connect(ConnectOptions::new(connect, journal)).await
            }
            other => Err(Error::WrongSourceKind {
                expected: "a socket source (socket_listen or socket_connect)",
                kind: other.kind().code().into(),
            }),
        }
    }

    /// The address the listener is bound to (active mode).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Notified after each batch of lines is made durable: give it to the engine
    /// (`Engine::with_trigger`) so a call is delivered as soon as its line arrives.
    pub fn wake_handle(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Connection and line counters.
    pub fn stats(&self) -> Arc<SocketStats> {
        Arc::clone(&self.stats)
    }

    /// The journal directory.
    pub fn journal_dir(&self) -> &Path {
        self.journal.dir()
    }

    fn parse_checkpoint(&self, cp: &Checkpoint) -> Result<Option<Position>, Error> {
        let bad = || {
            Error::Checkpoint(CheckpointError::BadCheckpoint {
                checkpoint: cp.to_string(),
                expected: "a CDR journal position (journal:<id>:<offset>:<line>)",
            })
        };
        let mut parts = cp.as_str().split(':');
        let (Some("journal"), Some(id), Some(offset), Some(line), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let offset: u64 = offset.parse().map_err(|_| bad())?;
        let line: u64 = line.parse().map_err(|_| bad())?;
        if id != self.journal.id() {
            tracing::warn!(
                checkpoint = %cp,
                journal = self.journal.id(),
                "the checkpoint belongs to another CDR journal (the journal directory was replaced); reading this journal from its start"
            );
            return Ok(None);
        }
        Ok(Some(Position { offset, line }))
    }
}

#[async_trait]
impl CdrSource for SocketSource {
    type Error = Error;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        let position = match after {
            Some(cp) => self.parse_checkpoint(cp)?,
            None => None,
        };
        let journal = Arc::clone(&self.journal);
        let io = |source| {
            Error::File(FileError::Io {
                what: "CDR journal",
                path: journal.dir().to_owned(),
                source,
            })
        };
        if let Some(p) = position {
            let end = journal.durable();
            if p.offset > end.offset {
                return Err(Error::Checkpoint(CheckpointError::CheckpointAhead {
                    checkpoint: after.map(ToString::to_string).unwrap_or_default(),
                    dir: journal.dir().to_owned(),
                    end: end.offset,
                }));
            }
        }
        let reader = Arc::clone(&journal);
        let read = tokio::task::spawn_blocking(move || {
            if let Some(p) = position {
                reader.compact(p)?;
            }
            reader.read(position, limit)
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
        .map_err(io)?;
        if read.is_empty()
            && let Some(e) = journal.error()
        {
            return Err(io(std::io::Error::other(e)));
        }
        let id = journal.id();
        Ok(read
            .into_iter()
            .map(|(p, text)| SourceRecord {
                checkpoint: Checkpoint::new(format!("journal:{id}:{}:{}", p.offset, p.line)),
                record: Ok(RawRecord::Line {
                    number: p.line,
                    text,
                }),
            })
            .collect())
    }
}

/// Reads one connection into the journal until it ends, fails, idles out or sends bad data.
/// Returns why it ended (for the log) and whether that was the peer's fault.
async fn pump<R: tokio::io::AsyncRead + Unpin>(
    mut stream: R,
    max_line: usize,
    idle: Option<Duration>,
    tx: &mpsc::Sender<Batch>,
) -> (String, bool) {
    use tokio::io::AsyncReadExt;
    let mut framer = pbx_core::framing::LineFramer::new(max_line);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let read = match idle {
            Some(t) => match tokio::time::timeout(t, stream.read(&mut buf)).await {
                Ok(r) => r,
                Err(_) => return (format!("idle for {t:?}"), true),
            },
            None => stream.read(&mut buf).await,
        };
        let mut lines = Vec::new();
        let outcome = match read {
            Ok(0) => match framer.finish(|l| lines.push(l.to_vec())) {
                Ok(()) => Some(("closed by the peer".to_owned(), false)),
                Err(e) => Some((e.to_string(), true)),
            },
            Ok(n) => match framer.push(&buf[..n], |l| lines.push(l.to_vec())) {
                Ok(()) => None,
                Err(e) => Some((e.to_string(), true)),
            },
            Err(e) => {
                let partial = framer.buffered();
                Some((
                    if partial > 0 {
                        format!("read failed: {e} (an unfinished line of {partial} bytes dropped)")
                    } else {
                        format!("read failed: {e}")
                    },
                    false,
                ))
            }
        };
        if !lines.is_empty() && tx.send(lines).await.is_err() {
            return ("the source is shutting down".into(), false);
        }
        if let Some(o) = outcome {
            return o;
        }
    }
}

/// TCP keep-alive, so a peer that vanished without a FIN is noticed.
fn keepalive(stream: &tokio::net::TcpStream) {
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(10));
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_keepalive(&ka) {
        tracing::debug!(error = %e, "cannot set TCP keep-alive");
    }
}
