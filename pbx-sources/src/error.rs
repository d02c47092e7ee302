//! The one error type of pbx-sources.

use std::path::PathBuf;

/// A cause kept as the [`source`](std::error::Error::source) of an [`Error`] when its type is
/// a trait's associated type (a [`pbx_core::CdrSource::Error`], a
/// [`pbx_core::CheckpointStore::Error`], …) or one of several driver errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in an adapter, the delivery engine or the runtime, and where.
///
/// Every adapter, the engine ([`delivery`](crate::delivery)) and the sideloader runtime
/// report through this one type. A variant names what failed (the request, the file, the
/// setting, the checkpoint key) and keeps the underlying error as its
/// [`source`](std::error::Error::source). No variant ever holds a token, client secret or
/// password: bodies quoted in errors are scrubbed and truncated, and connection strings are
/// never repeated.
///
/// Three questions have methods: [`Error::is_transient`] (may trying again later succeed?),
/// [`Error::kind`] (a stable name, the `kind` the bindings give) and
/// [`Error::is_config`] / [`Error::exit_code`] (whose fault: the configuration or the run).
///
/// ```
/// let e = pbx_sources::Error::Status { op: "GET /api/health".into(), status: 503, body: "down".into() };
/// assert_eq!(e.to_string(), "GET /api/health: unexpected HTTP 503: down");
/// assert!(e.is_transient());
/// assert_eq!(e.kind().code(), "status");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- settings -----------------------------------------------------------------------
    /// A setting cannot be used (a base URL that does not parse, zero concurrency, a source
    /// kind this build lacks, …). Fix the configuration; nothing was sent.
    #[error("invalid setting `{setting}` ({value}): {reason}")]
    Config {
        /// The setting, e.g. `base_url`.
        setting: &'static str,
        /// Its value (redacted where it could hold a secret).
        value: String,
        /// Why it is unusable and what is expected.
        reason: String,
    },
    /// A connection string (a database URL) cannot be used. The message names the problem
    /// and never repeats the string, which may hold a password. Fix the setting.
    #[error(
        "invalid setting `{setting}` (not shown: it may hold a password): {reason}{}",
        cause_suffix(source.as_deref())
    )]
    ConnectionString {
        /// The setting (`source.url`, `checkpoint.url`, …).
        setting: &'static str,
        /// What is wrong and what is expected.
        reason: String,
        /// The parser's error, where one says more (it names keys and syntax, not values).
        #[source]
        source: Option<BoxError>,
    },
    /// A setting was refused by pbx-core's checks (a table or column name that is not a plain
    /// SQL identifier, an unknown CDR field, a mapping without `time-start`).
    #[error("invalid setting `{setting}`: {source}")]
    Setting {
        /// The setting (`source.table`, `source.schema`, `checkpoint.table`, …).
        setting: &'static str,
        /// pbx-core's error.
        #[source]
        source: pbx_core::Error,
    },
    /// An adapter was built from a source configuration of another kind.
    #[error("source {kind} is not {expected}")]
    WrongSourceKind {
        /// What the adapter reads (`a directory source`, `an mssql_table source`, …).
        expected: &'static str,
        /// The configured kind.
        kind: String,
    },
    /// The HTTP client could not be set up (TLS roots, crypto provider).
    #[cfg(any(feature = "http", feature = "xapi"))]
    #[error("cannot set up the HTTP client for {service}: {}", describe(source))]
    Client {
        /// `call-logger API` or `3CX XAPI`.
        service: &'static str,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },

    // --- HTTP (call-logger API, XAPI) -----------------------------------------------------
    /// No usable response: connection refused or reset, timeout, TLS failure, truncated body.
    /// Transient: try again later; check the base URL and the network if it persists. The
    /// reason is text on purpose: the HTTP client's error quotes the URL, which is scrubbed.
    #[error("{op}: no response after {attempts} attempt(s): {reason}")]
    Transport {
        /// The request.
        op: String,
        /// How many attempts were made.
        attempts: u32,
        /// What the last attempt ran into (scrubbed).
        reason: String,
    },
    /// The server answered with a status this request does not expect (a 5xx after every
    /// retry, a 404 for a wrong base URL, a 400 for a bad query).
    #[error("{op}: unexpected HTTP {status}: {body}")]
    Status {
        /// The request.
        op: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body (scrubbed).
        body: String,
    },
    /// The server refused the credentials (401/403), after one fresh token where tokens apply.
    /// Not retried: fix the token / client id and secret, or the API client's role.
    #[error("{op}: credentials refused (HTTP {status}); {hint}")]
    Auth {
        /// The request.
        op: String,
        /// 401 or 403.
        status: u16,
        /// What to check.
        hint: &'static str,
    },
    /// The token endpoint did not issue a token.
    #[error("{op}: no access token: {reason}")]
    Token {
        /// The request (`POST /connect/token`).
        op: String,
        /// The HTTP status and OAuth error code, or what was wrong with the answer.
        reason: String,
    },
    /// The response is not the JSON expected (malformed, or a value of the wrong type).
    #[cfg(any(feature = "http", feature = "xapi"))]
    #[error("{op}: malformed response at `{path}`: {source}")]
    Decode {
        /// The request.
        op: String,
        /// Where in the document (`value[3].Agents[0].Number`; `.` for the whole body).
        path: String,
        /// What the parser found.
        #[source]
        source: serde_json::Error,
    },
    /// A field the request needs is absent (or null).
    #[error("{op}: {entity} at `{path}` lacks the required field `{field}`")]
    MissingField {
        /// The request.
        op: String,
        /// The swagger schema of the object (`User`, `Queue`, `Holiday`, …).
        entity: &'static str,
        /// Where the object is: in the response document (`value[2]` of a page, `.` for the
        /// top level), or, for checks made after paging, in the whole collection (`[12]`).
        path: String,
        /// The field's JSON name, verbatim.
        field: String,
    },
    /// Paging through a collection did not end.
    #[error("{op}: paging stopped after {pages} pages: {reason}")]
    Paging {
        /// The request.
        op: String,
        /// Pages read.
        pages: u64,
        /// Why it stopped.
        reason: String,
    },
    /// The data reached pbx-core and was refused there (e.g. an unknown CDR field name in
    /// `CDRSettings.EnabledFields`).
    #[error("{op}: {source}")]
    Core {
        /// The request whose data was refused.
        op: String,
        /// pbx-core's error.
        #[source]
        source: pbx_core::Error,
    },

    // --- files ----------------------------------------------------------------------------
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

    // --- checkpoints ------------------------------------------------------------------------
    /// A source was given a checkpoint that is not one of its positions: saved by another
    /// source kind, or corrupt. Never read as "start from the beginning", which would deliver
    /// every call again.
    #[error(
        "checkpoint {checkpoint:?} is not {expected}: was it saved by another source kind? it is corrupt otherwise; fix or remove it deliberately"
    )]
    BadCheckpoint {
        /// The checkpoint as saved.
        checkpoint: String,
        /// The form this source writes (`a row id (an integer)`, …).
        expected: &'static str,
    },
    /// A checkpoint store holds something no store wrote (a file that is not a checkpoint
    /// file, an empty or unprintable PostgreSQL row, a key this program does not write). It
    /// is never read as "no checkpoint": starting from zero would send every call again.
    /// Every checkpoint store reports it with this variant.
    #[error("checkpoint {} is corrupt ({reason}); fix or remove it deliberately", corrupt_where(store, key.as_deref()))]
    CorruptCheckpoint {
        /// The store: `file PATH` or `table NAME`.
        store: String,
        /// The key, when one entry is corrupt (the whole store otherwise).
        key: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// Another instance moved the checkpoint since this store last read it: saving would move
    /// it backwards (or over another instance's progress), so it was not saved. Reload and
    /// carry on from the stored value (or stop: two instances are running).
    #[error(
        "checkpoint `{key}` was moved by another instance (stored {stored:?}, this instance expected {expected:?}); not saved"
    )]
    CheckpointConflict {
        /// The source name.
        key: String,
        /// What this instance last read or wrote.
        expected: Option<String>,
        /// What the table holds now.
        stored: Option<String>,
    },
    /// The checkpoint lies beyond the socket journal's end: the journal lost data it had
    /// fsynced.
    #[error(
        "checkpoint {checkpoint} is past the end of the CDR journal in {} (offset {end}); the journal was damaged",
        dir.display()
    )]
    CheckpointAhead {
        /// The checkpoint.
        checkpoint: String,
        /// The journal directory.
        dir: PathBuf,
        /// The journal's end offset.
        end: u64,
    },

    // --- databases ----------------------------------------------------------------------
    /// No database session: the server is unreachable, TLS failed, or it refused the login.
    /// Transient unless the credentials are wrong: the next fetch tries again. Check the
    /// host, port, TLS settings, user and password.
    #[error("cannot connect to {service} at {target}: {source}")]
    Connect {
        /// `PostgreSQL` or `SQL Server`.
        service: &'static str,
        /// `host:port[/dbname]` (never the password).
        target: String,
        /// The driver's (or the OS's) error.
        #[source]
        source: BoxError,
    },
    /// A PostgreSQL query failed, or the connection was lost during it (the next fetch
    /// reconnects).
    #[cfg(feature = "postgres")]
    #[error("PostgreSQL {op} failed: {source}")]
    Postgres {
        /// What was being done (`select site table rows`, `save checkpoint`, …).
        op: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The SQL Server query failed or the connection broke during it. The next fetch
    /// reconnects and starts again from the same checkpoint.
    #[cfg(feature = "mssql")]
    #[error("SQL Server at {server}: reading the CDR table failed: {source}")]
    SqlServer {
        /// `host:port`.
        server: String,
        /// The driver's error (the server's message).
        #[source]
        source: tiberius::error::Error,
    },
    /// Connecting to a database and reading one page took longer than the timeout; retried
    /// on the next fetch.
    #[error("{service} at {target}: no complete page within {after:?}")]
    Timeout {
        /// `SQL Server`.
        service: &'static str,
        /// `host:port`.
        target: String,
        /// The limit.
        after: std::time::Duration,
    },
    /// TLS could not be set up for a database connection (no usable certificate roots).
    #[cfg(feature = "postgres")]
    #[error("cannot set up TLS for {service}: {source}")]
    Tls {
        /// `PostgreSQL`.
        service: &'static str,
        /// rustls' error.
        #[source]
        source: rustls::Error,
    },
    /// A table's columns cannot be read as the mapping says (a column type this source
    /// cannot read, an id column that does not hold increasing integers). Map `id` to an
    /// integer key column.
    #[error("{table}: {reason}")]
    Schema {
        /// The table (or `SQL Server source: id column `…``).
        table: String,
        /// What is wrong.
        reason: String,
    },

    // --- the delivery engine ------------------------------------------------------------
    /// The CDR source failed (connection lost, query failed, file unreadable). The service
    /// retries it with backoff; `Engine::drain` gives up after `max_attempts` failures in a
    /// row.
    #[error("the CDR source failed: {source}")]
    Source {
        /// The source's error (an [`Error`] for this crate's sources).
        #[source]
        source: BoxError,
    },
    /// The CDR source failed in a way waiting will not heal: the login was refused, the
    /// database, table or column is missing, a permission is denied, the server's certificate
    /// is not trusted ([`crate::misconfigured`]). `--once` and a backfill stop at once (exit
    /// code 2); the service reports it in `/health` and `/status` and probes slowly. Fix the
    /// setting it names (or the server's set-up).
    #[error("the CDR source is misconfigured: {diagnosis}")]
    SourceMisconfigured {
        /// What is wrong and the setting to fix.
        diagnosis: crate::misconfigured::Misconfigured,
        /// The source's error.
        #[source]
        source: BoxError,
    },
    /// The checkpoint could not be loaded or saved; delivery stops rather than risk a resend
    /// storm or a gap.
    #[error("the checkpoint store cannot {op} `{key}`: {source}")]
    Checkpoint {
        /// `load` or `save`.
        op: &'static str,
        /// The checkpoint key.
        key: String,
        /// The store's error (an [`Error`] for this crate's stores).
        #[source]
        source: BoxError,
    },
    /// A record could not be written to the quarantine; the checkpoint does not move past it.
    #[error("cannot write the quarantine: {source}")]
    Quarantine {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The call API refused our credentials (401/403): fix the token and restart.
    #[error("the call API refused the credentials (HTTP {status}); delivery stopped")]
    AuthFailed {
        /// The HTTP status.
        status: u16,
    },
    /// `Engine::drain` gave up: the call API (or the file sink) failed for every call until
    /// the oldest one had used its `max_attempts`. The checkpoint is at the last acknowledged
    /// call; run again later.
    #[error(
        "the call API is unavailable: the oldest call failed {attempts} times while every other failed too (last: {last}); stopped at the last acknowledged call"
    )]
    Unavailable {
        /// Attempts made for the oldest unacknowledged call.
        attempts: u32,
        /// Its last failure, as the sink described it (a delivery outcome, not an error).
        last: String,
    },

    // --- the call-group monitor loop ------------------------------------------------------
    /// The group directory (XAPI) could not be read; the next check tries again.
    #[error("cannot read the call groups: {source}")]
    GroupDirectory {
        /// The directory's error.
        #[source]
        source: BoxError,
    },
    /// The alert API failed while the monitor took over its active alerts; the next check
    /// tries again.
    #[error("cannot list active alerts: {source}")]
    ActiveAlerts {
        /// The alert sink's error.
        #[source]
        source: BoxError,
    },
    /// The group monitor's state could not be loaded, saved or read back.
    #[error("cannot keep the monitor state: {source}")]
    MonitorState {
        /// The store's (or the JSON parser's) error.
        #[source]
        source: BoxError,
    },

    // --- the sideloader runtime -----------------------------------------------------------
    /// A part of the sideloader's configuration does not build (`source: …`,
    /// `checkpoint: …`, `call API client: …`, `XAPI client: …`, `ha: …`). Nothing was
    /// started.
    #[error("{part}: {source}")]
    Setup {
        /// The part: `source`, `checkpoint`, `call API client`, `XAPI client`, `ha`.
        part: &'static str,
        /// Why it does not build.
        #[source]
        source: Box<Error>,
    },
    /// Something the sideloader needs failed while starting or running (XAPI users or office
    /// hours unreadable, the call file cannot be opened, the quarantine unreadable for a
    /// replay).
    #[error("{step}: {source}")]
    Failed {
        /// What was being done (`cannot read users from XAPI`, `cannot replay PATH`, …).
        step: String,
        /// Why it failed.
        #[source]
        source: BoxError,
    },
    /// A drain or backfill was stopped (a stop request, a signal) before the source was
    /// drained: the calls in flight finished and the checkpoint is at the last acknowledged
    /// call; run again to continue.
    #[error(
        "stopped before the source was drained; checkpoint saved at {}; run again to continue",
        checkpoint.as_deref().unwrap_or("the start")
    )]
    Interrupted {
        /// The checkpoint saved.
        checkpoint: Option<String>,
    },
    /// A bug: the delivery engine panicked while `during` (a drain, the service, a backfill).
    /// The panic was caught and the engine is usable again: what was in flight is sent again
    /// from the saved checkpoint (the API answers 409 for what it has). Please report it.
    #[error("the sideloader panicked during {during} (a bug; please report it): {message}")]
    Panicked {
        /// What was running (`a drain`, `the service`, …).
        during: &'static str,
        /// The panic's message.
        message: String,
    },
    /// In a fleet: this process's lease on the site lapsed or another process claimed it
    /// (a higher epoch), so the site's checkpoint was not saved and the site stops here. The
    /// process that holds the site now resumes from the last checkpoint saved under a valid
    /// lease.
    #[error(
        "the lease on site `{site}` (epoch {epoch}) is no longer held; not saved, the site stops here"
    )]
    LeaseLost {
        /// The site id.
        site: String,
        /// The epoch this process claimed it with.
        epoch: i64,
    },
    /// A drain, a backfill or a start asked of a [`crate::runtime::Service`] that runs, or
    /// while another drain or backfill is in progress; nothing was started.
    #[error(
        "the sideloader is busy (it runs, or a drain or backfill is in progress); stop it first"
    )]
    Busy,
    /// With `ha`: the leadership lock was lost; delivery stopped (another instance may
    /// deliver by now).
    #[error("lost the leadership lock ({}); stopped delivering", lost_why(cause.as_deref()))]
    LostLeadership {
        /// The error that lost it; `None` when the lock's session ended.
        #[source]
        cause: Option<Box<Error>>,
    },
}

fn corrupt_where(store: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("`{key}` in {store}"),
        None => store.to_owned(),
    }
}

fn cause_suffix(source: Option<&(dyn std::error::Error + Send + Sync + 'static)>) -> String {
    source.map_or_else(String::new, |e| format!(": {e}"))
}

fn lost_why(cause: Option<&Error>) -> String {
    cause.map_or_else(
        || "the lock's session ended".to_owned(),
        ToString::to_string,
    )
}

impl Error {
    /// Whether trying again later may succeed without anyone changing anything: no response
    /// or a 5xx / 429 / 408 status, a database connection or query that failed (unless
    /// [`crate::misconfigured`] recognises a refused login, a missing table, …), a timeout,
    /// the CDR source or the call API unavailable to the engine, the group directory or the
    /// alert API down. Settings, credentials, checkpoints, the quarantine and the runtime's
    /// outcomes are not. The engine waits out transient failures; the others need a person.
    ///
    /// ```
    /// let e = pbx_sources::Error::Auth { op: "GET /xapi/v1/Users".into(), status: 401, hint: "check the client secret" };
    /// assert!(!e.is_transient());
    /// assert!(pbx_sources::Error::Unavailable { attempts: 5, last: "HTTP 503".into() }.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            // A refused login, a missing table, an untrusted certificate: waiting won't help.
            Error::Connect { .. } => crate::misconfigured::Misconfigured::diagnose(self).is_none(),
            #[cfg(feature = "postgres")]
            Error::Postgres { .. } => crate::misconfigured::Misconfigured::diagnose(self).is_none(),
            #[cfg(feature = "mssql")]
            Error::SqlServer { .. } => {
                crate::misconfigured::Misconfigured::diagnose(self).is_none()
            }
            Error::Transport { .. }
            | Error::Timeout { .. }
            | Error::Source { .. }
            | Error::Unavailable { .. }
            | Error::GroupDirectory { .. }
            | Error::ActiveAlerts { .. } => true,
            Error::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }

    /// Whether a database connection is gone (the next attempt reconnects).
    #[cfg(feature = "postgres")]
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Error::Connect { .. } => true,
            Error::Postgres { source, .. } => {
                source.is_closed()
                    || source.code() == Some(&tokio_postgres::error::SqlState::ADMIN_SHUTDOWN)
            }
            _ => false,
        }
    }

    /// Whether the configuration is at fault (`pbx-sideloader` exits 2, nothing started)
    /// rather than something at run time (exit 1).
    ///
    /// ```
    /// let e = pbx_sources::Error::Config { setting: "groups.enabled", value: "true".into(), reason: "needs the xapi section".into() };
    /// assert!(e.is_config());
    /// assert_eq!(e.exit_code(), 2);
    /// ```
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            Error::Config { .. }
                | Error::ConnectionString { .. }
                | Error::Setting { .. }
                | Error::WrongSourceKind { .. }
                | Error::Setup { .. }
                | Error::SourceMisconfigured { .. }
        )
    }

    /// The process exit code `pbx-sideloader` uses for this error: 2 for a configuration
    /// problem ([`Error::is_config`]), 1 for a failure at run time.
    pub fn exit_code(&self) -> u8 {
        if self.is_config() { 2 } else { 1 }
    }

    /// The kind of error, from pbx-core's vocabulary ([`pbx_core::SideloaderErrorKind`]; its
    /// `code()` is the `snake_case` name the Node and Python bindings give as `kind`). What the sideloader runtime returns is one of `config`, `failed`,
    /// `interrupted`, `lost_leadership`, and for a delivery that stopped `source`,
    /// `checkpoint`, `quarantine`, `auth_failed`, `unavailable` (the call API or the file sink
    /// kept failing). The adapters' own errors have their own names (`transport`, `status`,
    /// `bad_checkpoint`, `corrupt_checkpoint`, …), one per variant; `panicked` is a bug in the engine,
    /// caught ([`Error::Panicked`]).
    ///
    /// ```
    /// use pbx_sources::Error;
    /// let e = Error::Setup {
    ///     part: "source",
    ///     source: Box::new(Error::WrongSourceKind { expected: "a directory source", kind: "File".into() }),
    /// };
    /// assert_eq!(e.kind(), pbx_core::SideloaderErrorKind::Config);
    /// assert_eq!(Error::AuthFailed { status: 401 }.kind().code(), "auth_failed");
    /// ```
    pub fn kind(&self) -> pbx_core::SideloaderErrorKind {
        use pbx_core::SideloaderErrorKind as K;
        match self {
            Error::Config { .. }
            | Error::ConnectionString { .. }
            | Error::Setting { .. }
            | Error::WrongSourceKind { .. }
            | Error::Setup { .. } => K::Config,
            #[cfg(any(feature = "http", feature = "xapi"))]
            Error::Client { .. } => K::Client,
            Error::Transport { .. } => K::Transport,
            Error::Status { .. } => K::Status,
            Error::Auth { .. } => K::Auth,
            Error::Token { .. } => K::Token,
            #[cfg(any(feature = "http", feature = "xapi"))]
            Error::Decode { .. } => K::Decode,
            Error::MissingField { .. } => K::MissingField,
            Error::Paging { .. } => K::Paging,
            Error::Core { .. } => K::Core,
            Error::ReadFile { .. } => K::ReadFile,
            Error::FileTooLarge { .. } => K::FileTooLarge,
            Error::Io { .. } => K::Io,
            Error::InUse { .. } => K::InUse,
            Error::Bind { .. } => K::Bind,
            Error::BadCheckpoint { .. } => K::BadCheckpoint,
            Error::CorruptCheckpoint { .. } => K::CorruptCheckpoint,
            Error::CheckpointConflict { .. } => K::CheckpointConflict,
            Error::CheckpointAhead { .. } => K::CheckpointAhead,
            Error::Connect { .. } => K::Connect,
            #[cfg(feature = "postgres")]
            Error::Postgres { .. } => K::Postgres,
            #[cfg(feature = "mssql")]
            Error::SqlServer { .. } => K::SqlServer,
            Error::Timeout { .. } => K::Timeout,
            #[cfg(feature = "postgres")]
            Error::Tls { .. } => K::Tls,
            Error::Schema { .. } => K::Schema,
            Error::Source { .. } => K::Source,
            Error::SourceMisconfigured { .. } => K::SourceMisconfigured,
            Error::Checkpoint { .. } => K::Checkpoint,
            Error::Quarantine { .. } => K::Quarantine,
            Error::AuthFailed { .. } => K::AuthFailed,
            Error::Unavailable { .. } => K::Unavailable,
            Error::GroupDirectory { .. } => K::GroupDirectory,
            Error::ActiveAlerts { .. } => K::ActiveAlerts,
            Error::MonitorState { .. } => K::MonitorState,
            Error::Failed { .. } => K::Failed,
            Error::Interrupted { .. } => K::Interrupted,
            Error::Panicked { .. } => K::Panicked,
            Error::LostLeadership { .. } => K::LostLeadership,
            Error::LeaseLost { .. } => K::LeaseLost,
            Error::Busy => K::Busy,
        }
    }

    /// The stable code the bindings' errors carry: `PBX_INVALID_ARGUMENT` for a
    /// configuration that cannot be used ([`Error::is_config`]), a pbx-core error's own
    /// category for [`Error::Core`], `PBX_INVALID_STATE` for [`Error::Busy`],
    /// `PBX_SYNC_ERROR` otherwise.
    ///
    /// ```
    /// use pbx_core::ErrorCategory;
    /// assert_eq!(pbx_sources::Error::Busy.category(), ErrorCategory::InvalidState);
    /// assert_eq!(pbx_sources::Error::Busy.category().code(), "PBX_INVALID_STATE");
    /// ```
    pub fn category(&self) -> pbx_core::ErrorCategory {
        use pbx_core::ErrorCategory as C;
        match self {
            Error::Core { source, .. } => source.kind().category(),
            Error::Busy => C::InvalidState,
            e if e.is_config() => C::InvalidArgument,
            _ => C::Sync,
        }
    }

    /// `Error::Checkpoint` for the engine.
    #[cfg(feature = "delivery")]
    pub(crate) fn checkpoint(op: &'static str, key: &str, source: impl Into<BoxError>) -> Self {
        Error::Checkpoint {
            op,
            key: key.to_owned(),
            source: source.into(),
        }
    }
}

#[cfg(any(feature = "http", feature = "xapi"))]
/// A transport failure in words: the error and its causes, without the URL's query.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_body() || e.is_decode() {
        "response body cut short".to_owned()
    } else {
        "request failed".to_owned()
    };
    use std::error::Error as _;
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn runtime_outcomes_keep_their_kinds_and_exit_codes() {
        let setup = Error::Setup {
            part: "checkpoint",
            source: Box::new(Error::Config {
                setting: "checkpoint.kind",
                value: "s3".into(),
                reason: "not available in this build".into(),
            }),
        };
        assert_eq!(
            setup.to_string(),
            "checkpoint: invalid setting `checkpoint.kind` (s3): not available in this build"
        );
        let failed = Error::Failed {
            step: "cannot read users from XAPI".into(),
            source: Box::new(Error::AuthFailed { status: 401 }),
        };
        let cases = [
            (setup, "config", 2),
            (failed, "failed", 1),
            (Error::Interrupted { checkpoint: None }, "interrupted", 1),
            (Error::LostLeadership { cause: None }, "lost_leadership", 1),
            (
                Error::LeaseLost {
                    site: "berlin".into(),
                    epoch: 3,
                },
                "lease_lost",
                1,
            ),
            (
                Error::Source {
                    source: "down".into(),
                },
                "source",
                1,
            ),
            (Error::checkpoint_for_test(), "checkpoint", 1),
            (
                Error::Quarantine {
                    source: std::io::Error::other("disk full"),
                },
                "quarantine",
                1,
            ),
            (Error::AuthFailed { status: 403 }, "auth_failed", 1),
            (
                Error::Unavailable {
                    attempts: 3,
                    last: "HTTP 503".into(),
                },
                "unavailable",
                1,
            ),
        ];
        for (e, kind, code) in cases {
            assert_eq!(e.kind().code(), kind, "{e}");
            assert_eq!(e.exit_code(), code, "{e}");
        }
    }

    #[test]
    fn the_engine_waits_out_only_what_may_pass() {
        let transient = [
            Error::Source {
                source: "connection reset".into(),
            },
            Error::Unavailable {
                attempts: 5,
                last: "HTTP 503".into(),
            },
            Error::Transport {
                op: "POST /api/calls".into(),
                attempts: 1,
                reason: "timed out".into(),
            },
            Error::Connect {
                service: "PostgreSQL",
                target: "db:5432/pbx".into(),
                source: "refused".into(),
            },
        ];
        for e in &transient {
            assert!(e.is_transient(), "{e}");
        }
        let for_a_person = [
            Error::checkpoint_for_test(),
            Error::Quarantine {
                source: std::io::Error::other("disk full"),
            },
            Error::AuthFailed { status: 401 },
            Error::BadCheckpoint {
                checkpoint: "x".into(),
                expected: "a row id (an integer)",
            },
            Error::Interrupted { checkpoint: None },
        ];
        for e in &for_a_person {
            assert!(!e.is_transient(), "{e}");
        }
    }

    #[test]
    fn causes_are_sources_not_text() {
        use std::error::Error as _;
        let e = Error::Setup {
            part: "source",
            source: Box::new(Error::Io {
                what: "CDR journal",
                path: "/var/lib/pbx/journal".into(),
                source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
            }),
        };
        let inner = e.source().expect("the part's error");
        let io = inner.source().expect("the I/O error");
        assert!(io.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(
            e.to_string(),
            "source: CDR journal /var/lib/pbx/journal: denied"
        );
    }

    #[test]
    fn one_corrupt_checkpoint_message_for_every_store() {
        let file = Error::CorruptCheckpoint {
            store: "file /x/checkpoint.json".into(),
            key: None,
            reason: "it holds no checkpoint".into(),
        };
        assert_eq!(
            file.to_string(),
            "checkpoint file /x/checkpoint.json is corrupt (it holds no checkpoint); fix or remove it deliberately"
        );
        let row = Error::CorruptCheckpoint {
            store: "table \"pbx_checkpoint\"".into(),
            key: Some("cdr".into()),
            reason: "empty".into(),
        };
        assert_eq!(
            row.to_string(),
            "checkpoint `cdr` in table \"pbx_checkpoint\" is corrupt (empty); fix or remove it deliberately"
        );
        assert!(!row.is_transient());
        assert_eq!(row.kind().code(), "corrupt_checkpoint");
    }

    impl Error {
        fn checkpoint_for_test() -> Self {
            Error::Checkpoint {
                op: "save",
                key: "cdr".into(),
                source: "read-only".into(),
            }
        }
    }
}
