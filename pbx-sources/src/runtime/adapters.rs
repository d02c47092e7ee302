//! The configured adapters of a sideloader: one enum per role (source, sink, checkpoint store)
//! each built from its section of [`Config`](pbx_core::config::Config).

use std::time::Duration;

use async_trait::async_trait;
use pbx_core::call::CallRequest;
use pbx_core::cdr::CdrParser;
use pbx_core::config::{CallApiConfig, CheckpointConfig, SinkConfig, SourceConfig};
use pbx_core::delivery::TimeRange;
use pbx_core::{CallSink, CdrSource, Checkpoint, CheckpointStore, DeliveryOutcome, SourceRecord};

use crate::Error;
use crate::call_logger::{CallLoggerClient, CallLoggerConfig, RetryPolicy};
use crate::cdr_text::CdrTextSource;
use crate::file_checkpoint::FileCheckpointStore;
use crate::file_sink::JsonLinesSink;
use crate::postgres::{CallLogSource, CdrOutputSource, PgCheckpointStore, SiteTableSource};

/// The configured sink: the API, or a JSON-lines file (`call_api.base_url: file:PATH`).
pub(crate) enum Sink {
    File(JsonLinesSink),
    Http(Box<CallLoggerClient>),
}

#[async_trait]
impl CallSink for Sink {
    async fn deliver(&self, call: &CallRequest) -> DeliveryOutcome {
        match self {
            Sink::File(s) => s.deliver(call).await,
            Sink::Http(s) => s.deliver(call).await,
        }
    }
}

/// Builds the sink `config.sink()` names: the JSON-lines file, or the call-logger client
/// with one attempt per request (the engine schedules each call's next try on its own timer,
/// so a failing call never holds a delivery slot while it waits).
pub(crate) fn build_sink(config: &CallApiConfig) -> Result<Sink, Error> {
    match config.sink() {
        // Runtime state, not configuration: a failure (exit 1, systemd restarts), never 2.
        SinkConfig::File { path } => Ok(Sink::File(JsonLinesSink::open(path).map_err(|e| {
            Error::Failed {
                step: format!("cannot open the call file {path}"),
                source: e.into(),
            }
        })?)),
        _ => {
            let mut http = CallLoggerConfig::from(config);
            http.retry = RetryPolicy::none();
            let client = CallLoggerClient::new(http).map_err(|e| Error::Setup {
                part: "call API client",
                source: Box::new(e),
            })?;
            Ok(Sink::Http(Box::new(client)))
        }
    }
}

/// The configured CDR source.
pub(crate) enum Source {
    /// The CDR text outputs: active or passive socket, single file, one file per call.
    Text(Box<CdrTextSource>),
    CdrOutput(Box<CdrOutputSource>),
    CallLog(Box<CallLogSource>),
    SiteTable(Box<SiteTableSource>),
    #[cfg(feature = "mssql")]
    Mssql(Box<crate::mssql::MssqlSource>),
}

impl Source {
    /// The same source narrowed to a backfill's `range` (see [`build_source`]): a source
    /// built before the backfill was asked for (`Sideloader::from_config`) reads only the
    /// range too.
    pub(crate) fn with_range(self, range: TimeRange, parser: &CdrParser) -> Source {
        match self {
            Source::Text(s) => Source::Text(Box::new(s.with_range(Some(range), parser))),
            Source::CdrOutput(s) => Source::CdrOutput(Box::new(s.with_range(Some(range)))),
            Source::CallLog(s) => Source::CallLog(Box::new(s.with_range(Some(range)))),
            Source::SiteTable(s) => Source::SiteTable(Box::new(s.with_range(Some(range)))),
            #[cfg(feature = "mssql")]
            Source::Mssql(s) => Source::Mssql(Box::new(s.with_range(Some(range)))),
        }
    }
}

#[async_trait]
impl CdrSource for Source {
    type Error = Error;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Error> {
        match self {
            Source::Text(s) => s.fetch(after, limit).await,
            Source::CdrOutput(s) => s.fetch(after, limit).await,
            Source::CallLog(s) => s.fetch(after, limit).await,
            Source::SiteTable(s) => s.fetch(after, limit).await,
            #[cfg(feature = "mssql")]
            Source::Mssql(s) => s.fetch(after, limit).await,
        }
    }
}

/// How long a `postgres_cl` call must have ended before it is read (the configuration has no
/// setting for it: 3CX writes a `cl_calls` row once the call is over, its segments within
/// moments).
const CALL_LOG_SETTLE: Duration = Duration::from_secs(60);

/// Builds the source `config` names (a socket source starts listening or connecting here).
/// `range` is the backfill's time range, with the parser of the CDR text lines: the
/// PostgreSQL and SQL Server sources narrow their queries to it (`with_range`), the file and
/// directory sources skip what cannot hold its calls without parsing it; the socket sources
/// read everything. The engine's filter still skips the calls outside the range
/// (`outside_range`), as it does for every source.
/// A kind this build cannot read is a configuration error.
pub(crate) async fn build_source(
    config: &SourceConfig,
    range: Option<(&TimeRange, &CdrParser)>,
) -> Result<Source, Error> {
    let (range, parser) = match range {
        Some((r, p)) => (Some(r), Some(p)),
        None => (None, None),
    };
    let setup = |e: Error| Error::Setup {
        part: "source",
        source: Box::new(e),
    };
    match config {
        SourceConfig::File { .. }
        | SourceConfig::Directory { .. }
        | SourceConfig::SocketListen { .. }
        | SourceConfig::SocketConnect { .. } => CdrTextSource::from_config(config)
            .await
            .map(|s| match parser {
                Some(parser) => s.with_range(range.copied(), parser),
                None => s,
            })
            .map(|s| Source::Text(Box::new(s)))
            .map_err(setup),
        SourceConfig::PostgresCdrOutput { url, settle } => Ok(Source::CdrOutput(Box::new(
            CdrOutputSource::new(url.expose(), *settle)
                .map_err(setup)?
                .with_range(range.copied()),
        ))),
        SourceConfig::PostgresCallLog { url } => Ok(Source::CallLog(Box::new(
            CallLogSource::new(url.expose(), CALL_LOG_SETTLE)
                .map_err(setup)?
                .with_range(range.copied()),
        ))),
        SourceConfig::PostgresTable { url, table } => Ok(Source::SiteTable(Box::new(
            SiteTableSource::new(url.expose(), table)
                .map_err(setup)?
                .with_range(range.copied()),
        ))),
        #[cfg(feature = "mssql")]
        SourceConfig::MssqlTable { .. } => Ok(Source::Mssql(Box::new(
            crate::mssql::MssqlSource::from_config(config)
                .map_err(setup)?
                .with_range(range.copied()),
        ))),
        #[cfg(not(feature = "mssql"))]
        SourceConfig::MssqlTable { .. } => Err(Error::Config {
            setting: "source.kind",
            value: "mssql_table".into(),
            reason: "needs a build with the `mssql` feature \
                     (cargo build --release -p pbx-sideloader --features mssql); see docs/sql-server.md"
                .into(),
        }),
        other => Err(Error::Config {
            setting: "source.kind",
            value: other.kind().code().into(),
            reason: "is not available in this build yet; see docs/running-against-3cx.md".into(),
        }),
    }
}

/// The configured checkpoint store.
pub(crate) enum Store {
    File(FileCheckpointStore),
    Postgres(Box<PgCheckpointStore>),
    /// A fleet site's checkpoints, fenced by its lease.
    Fleet(Box<crate::fleet::site_state::SiteCheckpointStore>),
}

#[async_trait]
impl CheckpointStore for Store {
    type Error = Error;

    async fn load(&self, key: &str) -> Result<Option<Checkpoint>, Error> {
        match self {
            Store::File(s) => s.load(key).await,
            Store::Postgres(s) => s.load(key).await,
            Store::Fleet(s) => s.load(key).await,
        }
    }

    async fn save(&self, key: &str, checkpoint: &Checkpoint) -> Result<(), Error> {
        match self {
            Store::File(s) => s.save(key, checkpoint).await,
            Store::Postgres(s) => s.save(key, checkpoint).await,
            Store::Fleet(s) => s.save(key, checkpoint).await,
        }
    }
}

/// Builds the checkpoint store `config` names.
pub(crate) fn build_store(config: &CheckpointConfig) -> Result<Store, Error> {
    match config {
        // A file holding any other key is corrupt, not "no checkpoint yet".
        CheckpointConfig::File { path } => Ok(Store::File(
            FileCheckpointStore::new(path).expecting_keys(|key| {
                key == "cdr"
                    || key == crate::group_monitor::STATE_KEY
                    || key.starts_with("backfill:")
            }),
        )),
        CheckpointConfig::Postgres { url, table } => PgCheckpointStore::new(url.expose(), table)
            .map(|s| Store::Postgres(Box::new(s)))
            .map_err(|e| Error::Setup {
                part: "checkpoint",
                source: Box::new(e),
            }),
        other => Err(Error::Config {
            setting: "checkpoint.kind",
            value: format!("{other:?}")
                .split([' ', '{'])
                .next()
                .unwrap_or_default()
                .to_owned(),
            reason: "is not available in this build".into(),
        }),
    }
}

/// How far through the source a checkpoint is, out of how much (bytes of the CDR file), for a
/// backfill's progress bar. `None` when the source cannot tell.
///
/// ```
/// use pbx_core::config::SourceConfig;
/// let source = SourceConfig::File { path: "no/such/file.log".into() };
/// assert_eq!(pbx_sources::runtime::source_progress(&source, None), None);
/// ```
pub fn source_progress(config: &SourceConfig, checkpoint: Option<&str>) -> Option<(u64, u64)> {
    match config {
        SourceConfig::File { path } => {
            let total = std::fs::metadata(path).ok()?.len();
            // The file source's checkpoint is `inode:offset:line`.
            let done = checkpoint
                .and_then(|c| c.split(':').nth(1))
                .and_then(|o| o.parse().ok())
                .unwrap_or(0);
            Some((done.min(total), total))
        }
        _ => None,
    }
}
