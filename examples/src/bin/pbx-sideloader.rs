//! `pbx-sideloader`: reads 3CX CDRs from the configured source and delivers each call to the
//! call-logger API. The runtime is `pbx_sources::runtime::Sideloader` (the one Rust services,
//! Node and Python embed); this is the command line around it: arguments, logging (with the
//! backfill's progress bar), the HTTP endpoints, signals and exit codes. See docs/sideloader.md.
//!
//! SIGINT and SIGTERM are graceful in every mode: no new call starts, calls in flight finish
//! (up to 10 s), and the checkpoint is saved at the last acknowledged call.
//!
//! Exit codes: 0 done; 1 a runtime failure (unreadable source, refused credentials, the call
//! API or file sink unavailable until the oldest call used its `max_attempts` in `--once` or
//! a backfill, or a signal before the source was drained), with a one-line reason; 2 an
//! unusable configuration (every problem printed with its path; nothing started).

use pbx_sources::{DeliveryError, FileError};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pbx_core::config::Config;
use pbx_core::delivery::TimeRange;
use pbx_sources::Error;
use pbx_sources::runtime::{
    CallQuery, LogFormat, ServiceConfig, Sideloader, endpoints, load_config, progress_message,
    source_progress,
};
use tokio::sync::watch;

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
    /// Explain one call: read it from the configured source and print the decision trail
    /// (fields, direction, owner, other party, email, talk time, outcome) and its delivery
    /// state (before/after the checkpoint, quarantined). Sends nothing.
    Explain {
        /// A pbxCallId (`3cx-40001-…`), a 3CX history id or call id; for database sources
        /// also a main_call_history_id, a leg's cdr_id or a site-table row id.
        #[arg(required_unless_present = "line", conflicts_with = "line")]
        id: Option<String>,
        /// For a CDR text source (file, directory, socket): the call on line N.
        #[arg(long)]
        line: Option<u64>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Serve many PBXs: `--config` names a fleet file (fleet.yml: the PostgreSQL store, lease
    /// settings, a folder of site files and their defaults). Runs one sideloader per site this
    /// process holds a lease on, beside other fleet processes on other hosts.
    Fleet {
        #[command(subcommand)]
        action: Option<FleetAction>,
    },
}

#[derive(Subcommand, Debug)]
enum FleetAction {
    /// Send one site's quarantined records again and keep in the store only those that still
    /// fail (safe while the fleet runs).
    Replay {
        /// The site id (its file name in sites_dir without .yml).
        #[arg(long)]
        site: String,
    },
}

/// What to do; a backfill draws a progress bar when `progress`.
enum Mode {
    Once,
    Serve,
    Replay,
    Backfill { range: TimeRange, progress: bool },
    Explain { query: CallQuery, json: bool },
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.command.is_some() && (args.once || args.replay) {
        <Args as clap::CommandFactory>::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--once and --replay cannot be used with a subcommand",
            )
            .exit();
    }
    if let Some(Command::Fleet { action }) = &args.command {
        return fleet::main(args.config.as_deref(), action.as_ref(), args.json_logs).await;
    }
    let text = match &args.config {
        None => EMBEDDED_DEFAULT.to_owned(),
        // Read no further than the limit: `--config /dev/zero` must not grow memory.
        Some(path) => {
            match pbx_sources::bounded::read_file_limited(path, pbx_core::config::MAX_CONFIG_BYTES)
            {
                Ok(t) => t,
                Err(e) => return fail(2, e),
            }
        }
    };
    let (config, service) = match load_config(&text, &|name| std::env::var(name).ok()) {
        Ok(c) => c,
        Err(e) => return fail(2, e),
    };
    init_logging(&service, args.json_logs);
    let mode = match &args.command {
        Some(Command::Fleet { .. }) => unreachable!("handled above"),
        Some(Command::Backfill { from, to }) => match TimeRange::parse(from, to, config.timezone) {
            Ok(range) => Mode::Backfill {
                range,
                progress: !args.json_logs
                    && service.logging.format != LogFormat::Json
                    && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            },
            // In the command line's words: `--from "x" is not a date …`.
            Err(pbx_core::Error::InvalidSetting {
                setting,
                value,
                reason,
            }) => return fail(2, format_args!("backfill: --{setting} {value:?} {reason}")),
            Err(e) => return fail(2, format_args!("backfill: {e}")),
        },
        Some(Command::Explain { id, line, json }) => Mode::Explain {
            query: match CallQuery::from_parts(id.as_deref(), *line) {
                Some(query) => query,
                // clap requires one of them.
                None => return fail(2, "explain: give an ID or --line N"),
            },
            json: *json,
        },
        None if args.replay => Mode::Replay,
        None if args.once => Mode::Once,
        None => Mode::Serve,
    };
    match run(&config, mode).await {
        Ok(code) => code,
        Err(Error::Delivery(DeliveryError::Interrupted { checkpoint })) => fail(
            1,
            format_args!(
                "stopped by a signal before the source was drained; checkpoint saved at {}; run again to continue",
                checkpoint.as_deref().unwrap_or("the start")
            ),
        ),
        // Escaped as the text log is: an error can quote an API's answer.
        Err(e) => fail(e.exit_code(), escape_controls(&e.to_string())),
    }
}

/// A one-line error on stderr, and the exit code.
fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("pbx-sideloader: {message}");
    ExitCode::from(code)
}

async fn run(config: &Config, mode: Mode) -> Result<ExitCode, Error> {
    let mut sideloader = Sideloader::from_config(config).await?;
    if let Mode::Explain { query, json } = &mode {
        return Ok(match sideloader.explain(query).await? {
            Some(e) if *json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&e).map_err(|e| Error::Failed {
                        step: "cannot write the explanation".into(),
                        source: e.into(),
                    })?
                );
                ExitCode::SUCCESS
            }
            Some(e) => {
                println!("{e}");
                ExitCode::SUCCESS
            }
            None => fail(1, format_args!("no call with {query} in the source")),
        });
    }
    if !matches!(mode, Mode::Serve) {
        // A drain or backfill stops gracefully on SIGINT/SIGTERM too.
        let handle = sideloader.handle();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("stopping: finishing the calls in flight");
            handle.stop();
        });
    }
    match mode {
        Mode::Once => {
            let summary = sideloader.once().await?;
            println!("pbx-sideloader: {summary}");
        }
        Mode::Replay => {
            println!("pbx-sideloader: {}", sideloader.replay().await?);
        }
        Mode::Backfill { range, progress } => {
            let bar = progress_bar(&sideloader, progress);
            let report = sideloader
                .backfill(range, |s| {
                    if let Some((done, _)) =
                        source_progress(&config.source, s.checkpoint.as_deref())
                    {
                        bar.set_position(done);
                    }
                    bar.set_message(progress_message(s));
                })
                .await;
            *PROGRESS.lock().unwrap_or_else(|e| e.into_inner()) = None;
            bar.finish_and_clear();
            match &report.error {
                Some(Error::Delivery(DeliveryError::Interrupted { .. })) => {
                    eprintln!("pbx-sideloader: stopped by a signal before the range was delivered");
                }
                Some(e) => eprintln!("pbx-sideloader: {e}"),
                None => {}
            }
            println!("pbx-sideloader: {report}");
            return Ok(report
                .error
                .map_or(ExitCode::SUCCESS, |e| ExitCode::from(e.exit_code())));
        }
        Mode::Serve => return serve(sideloader).await,
        Mode::Explain { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The backfill's progress bar (drawn when `shown`), log lines written above it.
fn progress_bar(sideloader: &Sideloader, shown: bool) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    let (bar, template) = match sideloader.source_progress(None) {
        Some((_, total)) => (
            ProgressBar::new(total),
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} [{elapsed_precise}] {msg}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    *PROGRESS.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
    bar
}

/// The service: the endpoints on `http.listen`, the sideloader until SIGINT/SIGTERM (calls in
/// flight get 10 s, then the acknowledged prefix is saved).
async fn serve(mut sideloader: Sideloader) -> Result<ExitCode, Error> {
    let http = sideloader.service_config().http.clone();
    let listener = tokio::net::TcpListener::bind(http.listen)
        .await
        .map_err(|source| {
            Error::File(FileError::Bind {
                addr: http.listen,
                source,
            })
        })?;
    tracing::info!(listen = %http.listen, "serving /health, /status, /metrics, /trigger/poll");
    pbx_sources::http_server::warn_if_exposed(http.listen, http.token.is_some());
    let (stop_tx, stop_rx) = watch::channel(false);
    let server = tokio::spawn(serve_endpoints(
        listener,
        endpoints::router(sideloader.handle()),
        stop_tx.subscribe(),
    ));
    let mut run = std::pin::pin!(sideloader.run(stop_rx));
    let code = tokio::select! {
        () = shutdown_signal() => {
            tracing::info!("stopping: finishing the calls in flight");
            let _ = stop_tx.send(true);
            // The engine gives calls in flight `shutdown_grace` (10 s), then saves the
            // acknowledged prefix and returns; this outer limit only guards against a
            // checkpoint store that hangs.
            if tokio::time::timeout(Duration::from_secs(20), &mut run).await.is_err() {
                tracing::warn!("delivery did not stop within 20 s (the checkpoint store does not answer); unsaved calls will be sent again");
            }
            ExitCode::SUCCESS
        }
        result = &mut run => {
            let _ = stop_tx.send(true);
            let _ = server.await;
            return match result {
                Err(e) if e.is_config() || matches!(e, Error::Failed { .. }) => Err(e),
                Err(e) => {
                    tracing::error!(error = %e, "delivery stopped");
                    Ok(ExitCode::from(1))
                }
                Ok(()) => Ok(ExitCode::from(1)),
            };
        }
    };
    let _ = server.await;
    Ok(code)
}

/// Serves the endpoints until `stop` turns true, bounded: header/idle timeouts, a connection
/// cap, size limits; on stop, idle and half-sent connections close at once and requests in
/// progress get 5 s.
async fn serve_endpoints(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) {
    pbx_sources::http_server::serve_bounded(
        listener,
        app,
        pbx_sources::http_server::ServerOptions::default(),
        async move {
            let _ = stop.changed().await;
        },
    )
    .await;
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

fn init_logging(service: &ServiceConfig, json: bool) {
    init_logging_with(
        &service.logging.level,
        json || service.logging.format == LogFormat::Json,
    );
}

fn init_logging_with(level: &str, json: bool) {
    let level = level.parse().unwrap_or(tracing::Level::INFO);
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(|| LogWriter);
    if json {
        builder.json().init();
    } else {
        builder.fmt_fields(escaped_fields()).init();
    }
}

/// The text log's field formatter: every value (the message too) with its control characters
/// escaped (`\n`, `\r`, `\t`, `\u{1b}`, …), so a value from outside — an API's error body,
/// a CDR line, a file name — cannot start a fake log line, move the cursor or recolour the
/// terminal. JSON logs escape them already.
fn escaped_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let raw = format!("{value:?}");
        let text = escape_controls(&raw);
        match field.name() {
            "message" => write!(w, "{text}"),
            name => write!(w, "{}={text}", name.trim_start_matches("r#")),
        }
    })
    .delimited(" ")
}

/// `text` with control characters (C0, DEL, C1) and the Unicode line and bidirectional
/// override characters written as escapes.
fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let special = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(special) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if special(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
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

/// `pbx-sideloader fleet`: many PBXs, one process among several, coordinated by PostgreSQL.
mod fleet {
    use std::path::Path;
    use std::process::ExitCode;
    use std::time::Duration;

    use pbx_sources::fleet::FleetConfig;
    use pbx_sources::fleet::{Fleet, endpoints};
    use pbx_sources::runtime::LogFormat;
    use tokio::sync::watch;

    use super::{
        FleetAction, escape_controls, fail, init_logging_with, serve_endpoints, shutdown_signal,
    };

    pub(super) async fn main(
        config: Option<&Path>,
        action: Option<&FleetAction>,
        json_logs: bool,
    ) -> ExitCode {
        let Some(path) = config else {
            return fail(2, "fleet: --config names the fleet file (fleet.yml)");
        };
        let text =
            match pbx_sources::bounded::read_file_limited(path, pbx_core::config::MAX_CONFIG_BYTES)
            {
                Ok(t) => t,
                Err(e) => return fail(2, e),
            };
        let config = match FleetConfig::from_yaml(&text, &|name| std::env::var(name).ok()) {
            Ok(c) => c,
            Err(e) => return fail(2, e),
        };
        init_logging_with(
            &config.logging.level,
            json_logs || config.logging.format == LogFormat::Json,
        );
        let fleet = match Fleet::new(config.clone(), |name| std::env::var(name).ok()) {
            Ok(f) => f,
            Err(e) => return fail(e.exit_code(), e),
        };
        match action {
            Some(FleetAction::Replay { site }) => match fleet.replay(site).await {
                Ok(r) => {
                    println!(
                        "pbx-sideloader: site {site}: replayed {} quarantined records: {} delivered, {} already delivered, {} skipped, {} kept ({} not replayable)",
                        r.entries, r.delivered, r.duplicates, r.skipped, r.kept, r.not_replayable
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e.exit_code(), escape_controls(&e.to_string())),
            },
            None => serve(fleet, &config).await,
        }
    }

    async fn serve(fleet: Fleet, config: &FleetConfig) -> ExitCode {
        let listener = match tokio::net::TcpListener::bind(config.http.listen).await {
            Ok(l) => l,
            Err(e) => {
                return fail(
                    1,
                    format_args!("cannot listen on {}: {e}", config.http.listen),
                );
            }
        };
        tracing::info!(listen = %listener.local_addr().map_or(config.http.listen, |a| a), owner = fleet.owner(), "fleet: serving /health, /status, /status/sites/<id>, /metrics");
        pbx_sources::http_server::warn_if_exposed(config.http.listen, config.http.token.is_some());
        let (stop_tx, stop_rx) = watch::channel(false);
        let server = tokio::spawn(serve_endpoints(
            listener,
            endpoints::router(fleet.handle()),
            stop_tx.subscribe(),
        ));
        let mut run = std::pin::pin!(fleet.run(stop_rx));
        let code = tokio::select! {
            () = shutdown_signal() => {
                tracing::info!("stopping: finishing every site's calls in flight, then releasing the leases");
                let _ = stop_tx.send(true);
                if tokio::time::timeout(Duration::from_secs(40), &mut run).await.is_err() {
                    tracing::warn!("the fleet did not stop within 40 s; its leases expire on their own");
                }
                ExitCode::SUCCESS
            }
            result = &mut run => {
                if let Err(e) = result {
                    tracing::error!(error = %e, "the fleet stopped");
                }
                ExitCode::from(1)
            }
        };
        let _ = stop_tx.send(true);
        let _ = server.await;
        code
    }
}
