//! `pbx-sideloader`: reads 3CX CDRs from the configured source and delivers each call to the
//! call-logger API — checkpoint after acknowledgement, bad records quarantined.
//!
//! Without `--config` it runs the embedded default: the bundled sample CDR file as the
//! source, `out/calls.jsonl` as the sink and `out/checkpoint.json` as the checkpoint, so a
//! second run delivers nothing new.
//!
//! `--once` runs until the source is drained and prints a summary; otherwise it runs as a
//! service with `GET /health`, `GET /status`, `GET /metrics`, `POST /trigger/poll` and
//! `POST /trigger/alerts` on the configured address, monitors call groups when
//! `groups.enabled`, and stops gracefully (checkpoint saved) on SIGINT/SIGTERM.
//!
//! `--replay` sends the quarantined CDR lines again after their cause was fixed (say, a
//! missing extension added) and keeps only those that still fail.
//!
//! `backfill --from DATE --to DATE` delivers the calls that started in that range (dates in
//! `pbx.timezone`, both days included; or RFC 3339 instants, `--to` excluded) with a progress
//! bar on a terminal and a closing summary. It keeps its own checkpoint
//! (`backfill:<from>/<to>`), so an interrupted backfill resumes and the live checkpoint never
//! moves. The file source is read whole and filtered by the engine; a database source can
//! narrow its query to the range ([`build_source`] hands it over).
//!
//! SIGINT and SIGTERM are graceful in every mode: no new call starts, calls in flight finish
//! (up to 10 s), and the checkpoint is saved at the last acknowledged call.
//!
//! Exit codes: 0 done; 1 a runtime failure (unreadable source, refused credentials, the call
//! API or file sink unavailable until the oldest call used its `max_attempts` in `--once` or
//! a backfill, or a signal before the source was drained), with a one-line reason; 2 an
//! unusable configuration (every problem printed with its path; nothing started).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::Utc;
use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use clap::Parser;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use pbx_core::call::CallRequest;
use pbx_core::config::{CheckpointConfig, Config, HaConfig, HoursConfig, LogFormat, SourceConfig};
use pbx_core::groups::GroupMonitor;
use pbx_core::hours::BusinessHours;
use pbx_core::sync::{Pipeline, TimeRange};
use pbx_core::{
    CallSink, CdrSource, Checkpoint, CheckpointStore, DeliveryOutcome, ExtensionDirectory,
    SourceRecord,
};
use pbx_sources::checkpoint::{CheckpointError, FileCheckpointStore};
use pbx_sources::http::{CallLoggerClient, CallLoggerConfig, RetryPolicy};
use pbx_sources::jsonl::JsonLinesSink;
use pbx_sources::postgres::{
    CallLogSource, CdrOutputSource, Connection, PgCheckpointStore, PgError, SiteTableSource,
    try_acquire_leadership,
};
use pbx_sources::sync::{
    CheckReport, Engine, EngineOptions, FileQuarantine, GroupLoop, Status, replay,
};
use pbx_sources::text::{CdrTextSource, CdrTextSourceError};
use pbx_sources::xapi::{XapiClient, XapiConfig, XapiExtensionDirectory, XapiGroupDirectory};
use tokio::sync::{Notify, watch};

const EMBEDDED_DEFAULT: &str = include_str!("../../config/embedded-default.yml");

/// Deliver 3CX call records to the call-logger API.
#[derive(Parser, Debug)]
#[command(name = "pbx-sideloader", version)]
struct Args {
    /// The YAML configuration (see examples/config/sideloader.yml). Without it, the embedded
    /// default runs on the bundled sample.
    #[arg(long, global = true)]
    config: Option<PathBuf>,

    /// Run until the source is drained, print a summary and exit.
    #[arg(long)]
    once: bool,

    /// Send the quarantined CDR lines again (after fixing their cause) and keep in the
    /// quarantine only those that still fail. Run it while the service is stopped.
    #[arg(long, conflicts_with = "once")]
    replay: bool,

    /// Log as JSON lines instead of text (overrides `logging.format`; hides the progress bar).
    #[arg(long, global = true)]
    json_logs: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Deliver the calls that started in a time range, with a progress bar and a summary,
    /// then exit. Keeps its own checkpoint: run it again to resume after an interruption.
    Backfill {
        /// First day (YYYY-MM-DD, in pbx.timezone) or instant (RFC 3339) of the range.
        #[arg(long)]
        from: String,
        /// Last day, included (YYYY-MM-DD), or the instant the range ends before (RFC 3339).
        #[arg(long)]
        to: String,
    },
}

/// The configured sink: the API, or a JSON-lines file (`call_api.base_url: file:PATH`).
enum Sink {
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

/// The configured CDR source.
enum Source {
    /// The CDR text outputs: active or passive socket, single file, one file per call.
    Text(Box<CdrTextSource>),
    CdrOutput(Box<CdrOutputSource>),
    CallLog(Box<CallLogSource>),
    SiteTable(Box<SiteTableSource>),
    #[cfg(feature = "mssql")]
    Mssql(Box<pbx_sources::mssql::MssqlSource>),
}

/// Why the configured source failed.
#[derive(Debug, thiserror::Error)]
enum SourceError {
    #[error(transparent)]
    Text(#[from] CdrTextSourceError),
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[cfg(feature = "mssql")]
    #[error(transparent)]
    Mssql(#[from] pbx_sources::mssql::MssqlError),
}

#[async_trait]
impl CdrSource for Source {
    type Error = SourceError;

    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, SourceError> {
        match self {
            Source::Text(s) => Ok(s.fetch(after, limit).await?),
            Source::CdrOutput(s) => Ok(s.fetch(after, limit).await?),
            Source::CallLog(s) => Ok(s.fetch(after, limit).await?),
            Source::SiteTable(s) => Ok(s.fetch(after, limit).await?),
            #[cfg(feature = "mssql")]
            Source::Mssql(s) => Ok(s.fetch(after, limit).await?),
        }
    }
}

/// How long a `postgres_cl` call must have ended before it is read (the configuration has no
/// setting for it: 3CX writes a `cl_calls` row once the call is over, its segments within
/// moments).
const CALL_LOG_SETTLE: Duration = Duration::from_secs(60);

/// Builds the source `config` names (a socket source starts listening or connecting here).
/// `range` is the backfill's time range, for a source that can narrow its query to it; none
/// of this build's sources does yet (the database sources page by id or keyset from the
/// backfill's own checkpoint), so the engine's filter skips the calls outside the range
/// (`outside_range`). A kind this build cannot read is an error (exit 2).
async fn build_source(config: &SourceConfig, range: Option<&TimeRange>) -> Result<Source, String> {
    let _ = range; // no source of this build narrows its reads yet: the engine filters
    let pg = |e: PgError| format!("source: {e}");
    match config {
        SourceConfig::File { .. }
        | SourceConfig::Directory { .. }
        | SourceConfig::SocketListen { .. }
        | SourceConfig::SocketConnect { .. } => CdrTextSource::from_config(config)
            .await
            .map(|s| Source::Text(Box::new(s)))
            .map_err(|e| format!("source: {e}")),
        SourceConfig::PostgresCdrOutput { url, settle } => Ok(Source::CdrOutput(Box::new(
            CdrOutputSource::new(url.expose(), *settle).map_err(pg)?,
        ))),
        SourceConfig::PostgresCallLog { url } => Ok(Source::CallLog(Box::new(
            CallLogSource::new(url.expose(), CALL_LOG_SETTLE).map_err(pg)?,
        ))),
        SourceConfig::PostgresTable { url, table } => Ok(Source::SiteTable(Box::new(
            SiteTableSource::new(url.expose(), table).map_err(pg)?,
        ))),
        #[cfg(feature = "mssql")]
        SourceConfig::MssqlTable { .. } => Ok(Source::Mssql(Box::new(
            pbx_sources::mssql::MssqlSource::from_config(config)
                .map_err(|e| format!("source: {e}"))?,
        ))),
        #[cfg(not(feature = "mssql"))]
        SourceConfig::MssqlTable { .. } => Err(
            "source kind mssql_table needs a build with the `mssql` feature \
             (cargo build --release -p pbx-examples --features mssql); see the README"
                .into(),
        ),
        other => {
            let kind = format!("{other:?}");
            let kind = kind.split([' ', '{']).next().unwrap_or_default().to_owned();
            Err(format!(
                "source kind {kind} is not available in this build yet; see the README"
            ))
        }
    }
}

/// The configured checkpoint store.
enum Store {
    File(FileCheckpointStore),
    Postgres(Box<PgCheckpointStore>),
}

/// Why the checkpoint store failed.
#[derive(Debug, thiserror::Error)]
enum StoreError {
    #[error(transparent)]
    File(#[from] CheckpointError),
    #[error(transparent)]
    Postgres(#[from] PgError),
}

#[async_trait]
impl CheckpointStore for Store {
    type Error = StoreError;

    async fn load(&self, key: &str) -> Result<Option<Checkpoint>, StoreError> {
        match self {
            Store::File(s) => Ok(s.load(key).await?),
            Store::Postgres(s) => Ok(s.load(key).await?),
        }
    }

    async fn save(&self, key: &str, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        match self {
            Store::File(s) => Ok(s.save(key, checkpoint).await?),
            Store::Postgres(s) => Ok(s.save(key, checkpoint).await?),
        }
    }
}

/// Builds the checkpoint store `config` names.
fn build_store(config: &CheckpointConfig) -> Result<Store, String> {
    match config {
        // A file holding any other key is corrupt, not "no checkpoint yet".
        CheckpointConfig::File { path } => Ok(Store::File(
            FileCheckpointStore::new(path).expecting_keys(|key| {
                key == "cdr" || key == pbx_sources::sync::STATE_KEY || key.starts_with("backfill:")
            }),
        )),
        CheckpointConfig::Postgres { url, table } => PgCheckpointStore::new(url.expose(), table)
            .map(|s| Store::Postgres(Box::new(s)))
            .map_err(|e| format!("checkpoint: {e}")),
        _ => Err("this checkpoint store is not available in this build".into()),
    }
}

/// How far through the source a checkpoint is, out of how much, for the backfill's progress
/// bar (bytes of the CDR file). `None` when the source cannot tell.
fn source_progress(config: &SourceConfig, checkpoint: Option<&str>) -> Option<(u64, u64)> {
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

fn main() -> ExitCode {
    let args = Args::parse();
    if args.command.is_some() && (args.once || args.replay) {
        <Args as clap::CommandFactory>::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--once and --replay cannot be used with backfill",
            )
            .exit();
    }
    let text = match &args.config {
        None => EMBEDDED_DEFAULT.to_owned(),
        // Read no further than the limit: `--config /dev/zero` must not grow memory.
        Some(path) => {
            match pbx_sources::bounded::read_file_limited(path, pbx_core::config::MAX_CONFIG_BYTES)
            {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("pbx-sideloader: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let config = match Config::from_yaml(&text, &|name| std::env::var(name).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pbx-sideloader: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config, args.json_logs);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pbx-sideloader: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let mode = if let Some(Command::Backfill { from, to }) = &args.command {
        match backfill_range(from, to, config.timezone) {
            Ok(range) => Mode::Backfill {
                range,
                progress: !args.json_logs
                    && config.log_format != LogFormat::Json
                    && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            },
            Err(e) => return refuse(format!("backfill: {e}")),
        }
    } else if args.replay {
        Mode::Replay
    } else if args.once {
        Mode::Once
    } else {
        Mode::Serve
    };
    runtime.block_on(run(config, mode))
}

/// `--from` and `--to` as a time range: days in `tz` (both included) or RFC 3339 instants.
fn backfill_range(from: &str, to: &str, tz: Tz) -> Result<TimeRange, String> {
    enum Bound {
        Day(NaiveDate),
        At(DateTime<Utc>),
    }
    let parse = |flag: &str, s: &str| {
        if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
            return Ok(Bound::Day(d));
        }
        DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Bound::At(t.with_timezone(&Utc)))
            .map_err(|_| {
                format!(
                    "{flag} {s:?} is not a date (YYYY-MM-DD) or an instant (RFC 3339, e.g. 2026-11-02T08:00:00-09:00)"
                )
            })
    };
    let day = |d: NaiveDate| {
        TimeRange::from_dates(d, d, tz).ok_or_else(|| format!("{d} is not a day in {tz}"))
    };
    let start = match parse("--from", from)? {
        Bound::Day(d) => day(d)?.from(),
        Bound::At(t) => t,
    };
    let end = match parse("--to", to)? {
        Bound::Day(d) => day(d)?.to(),
        Bound::At(t) => t,
    };
    TimeRange::new(start, end).ok_or_else(|| {
        format!(
            "--to {to} ({}) is not after --from {from} ({})",
            end.to_rfc3339(),
            start.to_rfc3339()
        )
    })
}

fn init_logging(config: &Config, json: bool) {
    let level = config.log_level.parse().unwrap_or(tracing::Level::INFO);
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(|| LogWriter);
    if json || config.log_format == LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The backfill's progress bar while it is drawn: log lines are written above it.
static PROGRESS: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// stderr for the log, keeping a drawn progress bar intact.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = PROGRESS.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn build_pipeline(config: &Config) -> Pipeline {
    Pipeline {
        parser: config.cdr_parser(),
        mapper: config.call_mapper(),
    }
}

/// A one-line error for things that cannot start.
fn refuse(message: String) -> ExitCode {
    eprintln!("pbx-sideloader: {message}");
    ExitCode::from(2)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Once,
    Serve,
    Replay,
    /// Deliver the calls in `range`, drawing a progress bar when `progress`.
    Backfill {
        range: TimeRange,
        progress: bool,
    },
}

async fn run(config: Config, mode: Mode) -> ExitCode {
    let range = match mode {
        Mode::Backfill { range, .. } => Some(range),
        _ => None,
    };
    let source = match build_source(&config.source, range.as_ref()).await {
        Ok(s) => s,
        Err(e) => return refuse(e),
    };
    let sink = match config.call_api.base_url.strip_prefix("file:") {
        Some(path) => match JsonLinesSink::open(path) {
            Ok(s) => Sink::File(s),
            // Runtime state, not configuration: exit 1 (systemd restarts), never 2.
            Err(e) => {
                eprintln!("pbx-sideloader: cannot open the call file {path}: {e}");
                return ExitCode::from(1);
            }
        },
        None => {
            let mut http = CallLoggerConfig::from(&config.call_api);
            // One attempt per request: the engine schedules each call's next try on its own
            // timer, so a failing call never holds a delivery slot while it waits.
            http.retry = RetryPolicy::none();
            match CallLoggerClient::new(http) {
                Ok(c) => Sink::Http(Box::new(c)),
                Err(e) => return refuse(format!("call API client: {e}")),
            }
        }
    };
    let store = match build_store(&config.checkpoint) {
        Ok(s) => Arc::new(s),
        Err(e) => return refuse(e),
    };
    let xapi = match &config.xapi {
        None => None,
        Some(x) => match XapiClient::new(XapiConfig::from(x)) {
            Ok(c) => Some(Arc::new(c)),
            Err(e) => return refuse(format!("XAPI client: {e}")),
        },
    };
    let mut pipeline = build_pipeline(&config);
    let mut directory = None;
    if config.extensions_from_xapi
        && let (Some(client), Some(x)) = (&xapi, &config.xapi)
    {
        // Users from 3CX, with the config's own map winning for the extensions it lists;
        // read now (a failure stops the start), then again every `xapi.refresh_secs`.
        let d = Arc::new(XapiExtensionDirectory::new(Arc::clone(client), x.refresh));
        match d.extensions().await {
            Ok(from_pbx) => pipeline.mapper.extensions = from_pbx.merged_with(&config.extensions),
            Err(e) => {
                eprintln!("pbx-sideloader: cannot read users from XAPI: {e}");
                return ExitCode::from(1);
            }
        }
        directory = Some(d);
    }
    let options = EngineOptions {
        range,
        ..EngineOptions::from_config(
            &config,
            // A backfill keeps its own checkpoint: it resumes after an interruption and never
            // moves the live one.
            match &range {
                Some(r) => format!("backfill:{}/{}", r.from().to_rfc3339(), r.to().to_rfc3339()),
                None => "cdr".into(),
            },
        )
    };
    let quarantine = Arc::new(FileQuarantine::new(&config.quarantine_path));
    if mode == Mode::Replay {
        return match replay(&quarantine, &pipeline, &sink, Utc::now()).await {
            Ok(r) => {
                println!(
                    "pbx-sideloader: replayed {} quarantined records: {} delivered, {} already delivered, {} skipped, {} kept ({} not replayable); quarantine {}",
                    r.entries,
                    r.delivered,
                    r.duplicates,
                    r.skipped,
                    r.kept,
                    r.not_replayable,
                    config.quarantine_path
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!(
                    "pbx-sideloader: cannot replay {}: {e}",
                    config.quarantine_path
                );
                ExitCode::from(1)
            }
        };
    }
    let groups = if config.groups.enabled && mode == Mode::Serve {
        match group_loop(&config, xapi.clone(), Arc::clone(&store)).await {
            Ok(l) => l,
            Err(code) => return code,
        }
    } else {
        None
    };
    // A service wakes as soon as a CDR text source has something (the socket's journal after
    // each fsync; files and directories checked every 200 ms) instead of every poll interval.
    let wake = match (&source, mode) {
        (Source::Text(text), Mode::Serve) => Some(text.wake_handle(Duration::from_millis(200))),
        _ => None,
    };
    let mut engine = Engine::new(source, Arc::new(sink), store, pipeline, quarantine, options);
    if let Some(wake) = wake {
        engine = engine.with_trigger(wake);
    }
    if let Some(d) = directory {
        engine = engine.with_extension_directory(d, config.extensions.clone());
    }
    match mode {
        Mode::Once => match drain(&mut engine, |_| {}).await {
            Ok(()) => {
                print_summary(&engine, &config);
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Mode::Backfill { range, progress } => backfill(&mut engine, &config, range, progress).await,
        _ => serve(engine, groups, &config).await,
    }
}

type SideloaderEngine = Engine<Source, Sink, Arc<Store>>;
type SideloaderGroups = GroupLoop<XapiGroupDirectory, CallLoggerClient, Arc<Store>>;

/// The call-group monitor, when `groups.enabled`: groups from XAPI, alerts to the call API,
/// its state beside the checkpoint.
async fn group_loop(
    config: &Config,
    xapi: Option<Arc<XapiClient>>,
    store: Arc<Store>,
) -> Result<Option<SideloaderGroups>, ExitCode> {
    let Some(client) = xapi else {
        return Err(refuse("groups.enabled needs the xapi section".into()));
    };
    if config.call_api.base_url.starts_with("file:") {
        tracing::warn!(
            "call-group alerts need the call API; call_api.base_url is a file, so groups are not monitored"
        );
        return Ok(None);
    }
    let hours = match &config.business_hours {
        Some(HoursConfig::Schedule(h)) => (**h).clone(),
        _ => match client.business_hours().await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("pbx-sideloader: cannot read office hours from XAPI: {e}");
                return Err(ExitCode::from(1));
            }
        },
    };
    let alerts = CallLoggerClient::new(CallLoggerConfig::from(&config.call_api))
        .map_err(|e| refuse(format!("call API client: {e}")))?;
    let mut monitor = GroupMonitor::new(hours);
    monitor.config = config.groups.monitor.clone();
    monitor.group_hours = config.groups.hours.clone();
    Ok(Some(GroupLoop::new(
        XapiGroupDirectory::new(client),
        alerts,
        store,
        monitor,
    )))
}

/// Delivers until the source is drained ([`Engine::drain`]); `progress` is told as the
/// checkpoint moves. SIGINT and SIGTERM stop it gracefully (calls in flight finish, the
/// acknowledged prefix is saved).
async fn drain(
    engine: &mut SideloaderEngine,
    progress: impl FnMut(&Status) + Send,
) -> Result<(), ExitCode> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let signalled = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&signalled);
    let signals = tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: finishing the calls in flight");
        flag.store(true, Ordering::SeqCst);
        let _ = stop_tx.send(true);
    });
    let result = engine.drain(stop_rx, Utc::now, progress).await;
    signals.abort();
    match result {
        Ok(()) if signalled.load(Ordering::SeqCst) => {
            let checkpoint = status_of(engine).checkpoint;
            eprintln!(
                "pbx-sideloader: stopped by a signal before the source was drained; checkpoint saved at {}; run again to continue",
                checkpoint.as_deref().unwrap_or("the start")
            );
            Err(ExitCode::from(1))
        }
        Ok(()) => Ok(()),
        Err(e) => {
            eprintln!("pbx-sideloader: {e}");
            Err(ExitCode::from(1))
        }
    }
}

/// `N delivered, N already delivered, N skipped (reason N, …), N quarantined`.
fn counts(s: &Status) -> String {
    let c = &s.counters;
    let skipped: u64 = c.skipped.values().sum();
    let reasons: Vec<String> = c.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!(
        "{} delivered, {} already delivered, {} skipped ({}), {} quarantined",
        c.delivered,
        c.duplicates,
        skipped,
        if reasons.is_empty() {
            "none".to_owned()
        } else {
            reasons.join(", ")
        },
        c.quarantined,
    )
}

fn status_of(engine: &SideloaderEngine) -> Status {
    let status = engine.status();
    status.lock().map(|s| s.clone()).unwrap_or_default()
}

fn print_summary(engine: &SideloaderEngine, config: &Config) {
    let s = status_of(engine);
    println!(
        "pbx-sideloader: {}; checkpoint {}; calls in {}",
        counts(&s),
        s.checkpoint.as_deref().unwrap_or("none"),
        config
            .call_api
            .base_url
            .strip_prefix("file:")
            .unwrap_or(&config.call_api.base_url),
    );
}

/// The backfill: drain the source within `range` with a progress bar (on a terminal), then
/// a summary with the elapsed time and the rate.
async fn backfill(
    engine: &mut SideloaderEngine,
    config: &Config,
    range: TimeRange,
    progress: bool,
) -> ExitCode {
    let started = Instant::now();
    tracing::info!(
        from = %range.from().to_rfc3339(),
        to = %range.to().to_rfc3339(),
        "backfill started"
    );
    let bar = if progress {
        match source_progress(&config.source, None) {
            Some((_, total)) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        }
    } else {
        ProgressBar::hidden()
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    if progress && let Ok(mut shown) = PROGRESS.lock() {
        *shown = Some(bar.clone());
    }
    let tick = |s: &Status| {
        if let Some((done, _)) = source_progress(&config.source, s.checkpoint.as_deref()) {
            bar.set_position(done);
        }
        let c = &s.counters;
        bar.set_message(format!(
            "{} records: {} delivered, {} duplicate, {} skipped, {} quarantined",
            c.received,
            c.delivered,
            c.duplicates,
            c.skipped.values().sum::<u64>(),
            c.quarantined
        ));
    };
    let result = drain(engine, tick).await;
    if let Ok(mut shown) = PROGRESS.lock() {
        *shown = None;
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let s = status_of(engine);
    let calls = s.counters.delivered + s.counters.duplicates;
    println!(
        "pbx-sideloader: backfill {} to {}: {}; {} records, {} calls in {:.1} s ({:.0} calls/s){}",
        range.from().to_rfc3339(),
        range.to().to_rfc3339(),
        counts(&s),
        s.counters.received,
        calls,
        elapsed,
        calls as f64 / elapsed.max(1e-3),
        if result.is_err() {
            "; unfinished: run the same backfill again to resume"
        } else {
            ""
        }
    );
    result.err().unwrap_or(ExitCode::SUCCESS)
}

#[derive(Clone)]
struct AppState {
    status: Arc<Mutex<Status>>,
    trigger: Arc<Notify>,
    alerts_trigger: Option<Arc<Notify>>,
    alerts_report: Option<Arc<Mutex<Option<CheckReport>>>>,
    started: Instant,
    hours: Option<BusinessHours>,
    /// With `ha`: whether this instance holds the leadership lock.
    leader: Option<Arc<AtomicBool>>,
}

async fn serve(
    mut engine: SideloaderEngine,
    groups: Option<SideloaderGroups>,
    config: &Config,
) -> ExitCode {
    let hours = match &config.business_hours {
        Some(HoursConfig::Schedule(h)) => Some((**h).clone()),
        _ => None,
    };
    let leader = Arc::new(AtomicBool::new(false));
    let ha = match (&config.ha, &config.checkpoint) {
        (Some(ha), CheckpointConfig::Postgres { url, .. }) => match Connection::new(url.expose()) {
            Ok(conn) => Some((ha.clone(), conn)),
            Err(e) => return refuse(format!("ha: {e}")),
        },
        _ => None,
    };
    let state = AppState {
        status: engine.status(),
        trigger: engine.trigger(),
        alerts_trigger: groups.as_ref().map(GroupLoop::trigger),
        alerts_report: groups.as_ref().map(GroupLoop::last_report),
        started: Instant::now(),
        hours,
        leader: config.ha.as_ref().map(|_| Arc::clone(&leader)),
    };
    let app = Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        // `/trigger/*` needs `http.token` when one is set.
        .merge(pbx_sources::http_server::require_bearer_token(
            Router::new()
                .route("/trigger/poll", post(trigger))
                .route("/trigger/alerts", post(trigger_alerts)),
            config.http_token.clone(),
        ))
        .with_state(state);
    let listener = match tokio::net::TcpListener::bind(config.http_listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "pbx-sideloader: cannot listen on {}: {e}",
                config.http_listen
            );
            return ExitCode::from(1);
        }
    };
    tracing::info!(listen = %config.http_listen, "serving /health, /status, /metrics, /trigger/poll");
    let (stop_tx, stop_rx) = watch::channel(false);
    let groups_task = groups.map(|mut g| {
        let rx = stop_tx.subscribe();
        let interval = config.groups.interval;
        tokio::spawn(async move { g.run(interval, rx, Utc::now).await })
    });
    let lead_flag = Arc::clone(&leader);
    let mut engine_task = tokio::spawn(async move {
        match ha {
            None => engine
                .run(stop_rx, Utc::now)
                .await
                .map_err(|e| e.to_string()),
            Some((ha, conn)) => lead(engine, &ha, conn, stop_rx, &lead_flag).await,
        }
    });
    let mut server_stop = stop_tx.subscribe();
    // Bounded: header/idle timeouts, a connection cap, size limits; on stop, idle and
    // half-sent connections close at once and requests in progress get 5 s.
    pbx_sources::http_server::warn_if_exposed(config.http_listen, config.http_token.is_some());
    let server = tokio::spawn(pbx_sources::http_server::serve_bounded(
        listener,
        app,
        pbx_sources::http_server::ServerOptions::default(),
        async move {
            let _ = server_stop.changed().await;
        },
    ));
    let code = tokio::select! {
        () = shutdown_signal() => {
            tracing::info!("stopping: finishing the calls in flight");
            ExitCode::SUCCESS
        }
        result = &mut engine_task => {
            match result {
                Ok(Err(e)) => tracing::error!(error = %e, "delivery stopped"),
                Ok(Ok(())) => {}
                Err(e) => tracing::error!(error = %e, "engine task failed"),
            }
            let _ = stop_tx.send(true);
            let _ = server.await;
            return ExitCode::from(1);
        }
    };
    let _ = stop_tx.send(true);
    // The engine gives calls in flight `shutdown_grace` (10 s), then saves the acknowledged
    // prefix and returns; this outer limit only guards against a store that hangs.
    if tokio::time::timeout(Duration::from_secs(20), &mut engine_task)
        .await
        .is_err()
    {
        tracing::warn!(
            "delivery did not stop within 20 s (the checkpoint store does not answer); unsaved calls will be sent again"
        );
    }
    let _ = server.await;
    if let Some(task) = groups_task {
        let _ = task.await;
    }
    code
}

/// With `ha`: stands by until this instance holds the PostgreSQL advisory lock
/// `ha.lock_key` (tried every `ha.poll_secs`), then runs the engine while it does — the
/// engine reads the checkpoint only then, so it resumes where the last leader stopped.
/// Losing the lock or its connection stops delivery and fails (exit 1): another instance may
/// be delivering by then, and a restart (systemd `Restart=`) comes back as a standby.
async fn lead(
    mut engine: SideloaderEngine,
    ha: &HaConfig,
    mut conn: Connection,
    mut stop: watch::Receiver<bool>,
    leader: &AtomicBool,
) -> Result<(), String> {
    tracing::info!(
        lock_key = ha.lock_key,
        target = conn.target(),
        "standby: waiting for the leadership lock"
    );
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let held = match conn.client().await {
            Ok(client) => try_acquire_leadership(client, ha.lock_key).await,
            Err(e) => Err(e),
        };
        match held {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot try the leadership lock; trying again");
                conn.reset_if_lost(&e);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(ha.poll) => {}
            _ = stop.changed() => {}
        }
    }
    let session = conn.generation();
    leader.store(true, Ordering::Relaxed);
    tracing::info!(lock_key = ha.lock_key, "leader: delivering");
    let (lead_tx, lead_rx) = watch::channel(false);
    let mut run = std::pin::pin!(engine.run(lead_rx, Utc::now));
    loop {
        tokio::select! {
            result = &mut run => return result.map_err(|e| e.to_string()),
            _ = stop.changed() => {
                let _ = lead_tx.send(true);
                return run.await.map_err(|e| e.to_string());
            }
            () = tokio::time::sleep(ha.poll) => {
                // The lock lives as long as its session: a new connection is a new session,
                // which another instance may have beaten to the lock.
                let held = match conn.client().await {
                    Ok(client) => try_acquire_leadership(client, ha.lock_key).await,
                    Err(e) => Err(e),
                };
                let lost = match held {
                    Ok(true) if conn.generation() == session => None,
                    Ok(_) => Some("the lock's session ended".to_owned()),
                    Err(e) => Some(e.to_string()),
                };
                if let Some(why) = lost {
                    leader.store(false, Ordering::Relaxed);
                    let _ = lead_tx.send(true);
                    let _ = run.await;
                    return Err(format!("lost the leadership lock ({why}); stopped delivering"));
                }
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn status(State(state): State<AppState>) -> impl IntoResponse {
    let s = state.status.lock().map(|s| s.clone()).unwrap_or_default();
    let now = Utc::now();
    let hours = state.hours.as_ref().map(|h| {
        serde_json::json!({
            "open": h.is_open(now),
            "next_change": h.next_change(now).map(|(t, opens)| serde_json::json!({"at": t.to_rfc3339(), "opens": opens})),
        })
    });
    axum::Json(serde_json::json!({
        "checkpoint": s.checkpoint,
        "counters": s.counters,
        "last_error": s.last_error,
        "stopped": s.stopped,
        "unmapped_extensions": s.unmapped,
        "uptime_secs": state.started.elapsed().as_secs(),
        "groups": state.alerts_report.as_ref().map(|r| r.lock().map(|r| r.clone()).unwrap_or_default()),
        "business_hours": hours,
        "ha": state.leader.as_ref().map(|l| serde_json::json!({"leader": l.load(Ordering::Relaxed)})),
    }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let s = state.status.lock().map(|s| s.clone()).unwrap_or_default();
    let c = &s.counters;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    };
    counter(
        "pbx_records_received_total",
        "Records read from the source and settled.",
        c.received,
    );
    counter(
        "pbx_calls_delivered_total",
        "Calls the API stored.",
        c.delivered,
    );
    counter(
        "pbx_calls_duplicate_total",
        "Calls the API already had.",
        c.duplicates,
    );
    counter(
        "pbx_records_quarantined_total",
        "Records quarantined.",
        c.quarantined,
    );
    counter(
        "pbx_delivery_retries_total",
        "Deliveries to be retried.",
        c.retries,
    );
    counter(
        "pbx_auth_failures_total",
        "Credential refusals by the API.",
        c.auth_failures,
    );
    counter(
        "pbx_calls_poisoned_total",
        "Calls quarantined as poison (failing while others were delivered).",
        c.poisoned,
    );
    let _ = writeln!(
        out,
        "# HELP pbx_delivery_failures_total Failed delivery attempts, by reason.\n# TYPE pbx_delivery_failures_total counter"
    );
    for (reason, n) in &c.failures {
        let _ = writeln!(
            out,
            "pbx_delivery_failures_total{{reason=\"{reason}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP pbx_records_skipped_total Records not sent, by reason.\n# TYPE pbx_records_skipped_total counter"
    );
    for (reason, n) in &c.skipped {
        let _ = writeln!(out, "pbx_records_skipped_total{{reason=\"{reason}\"}} {n}");
    }
    s.unmapped.write_metrics(&mut out);
    let _ = writeln!(
        out,
        "# HELP pbx_up 1 while delivering, 0 once stopped.\n# TYPE pbx_up gauge\npbx_up {}",
        u8::from(s.stopped.is_none())
    );
    ([("content-type", "text/plain; version=0.0.4")], out)
}

async fn trigger(State(state): State<AppState>) -> impl IntoResponse {
    state.trigger.notify_one();
    (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({"triggered": "poll"})),
    )
}

async fn trigger_alerts(State(state): State<AppState>) -> impl IntoResponse {
    match &state.alerts_trigger {
        Some(t) => {
            t.notify_one();
            (
                StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({"triggered": "alerts"})),
            )
        }
        None => (
            StatusCode::CONFLICT,
            axum::Json(
                serde_json::json!({"error": "call-group monitoring is not enabled (groups.enabled)"}),
            ),
        ),
    }
}
