//! The crate's error: [`Error`], the runtime's own failures (settings, set-up, a step that
//! failed, leadership and leases, busy) beside one error per component, each with typed causes
//! and folded in by `#[from]` — [`HttpError`] (the call-logger and XAPI clients), [`FileError`]
//! (files, sockets, locks), [`CheckpointError`] (checkpoint stores), [`DatabaseError`]
//! (PostgreSQL, SQL Server), [`DeliveryError`] (why the engine stopped) and [`MonitorError`]
//! (the call-group monitor). [`Error::kind`] names every one from pbx-core's vocabulary.

mod checkpoint;
mod database;
mod delivery;
mod file;
mod http;
mod monitor;

pub use checkpoint::CheckpointError;
pub use database::DatabaseError;
pub use delivery::DeliveryError;
pub use file::FileError;
pub use http::HttpError;
pub use monitor::MonitorError;

/// A cause kept as the [`source`](std::error::Error::source) of an [`Error`] when its type is
/// a trait's associated type (a [`pbx_core::CdrSource::Error`], a
/// [`pbx_core::CheckpointStore::Error`], …) or one of several driver errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in an adapter, the delivery engine or the runtime, and where.
///
/// Every adapter, the engine ([`delivery`](crate::delivery)) and the sideloader runtime
/// report through this type, a component through its own error folded in
/// ([`Error::Http`], [`Error::File`], …). A variant names what failed (the request, the file, the
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
/// let e = pbx_sources::Error::Http(pbx_sources::HttpError::Status { op: "GET /api/health".into(), status: 503, body: "down".into() });
/// assert_eq!(e.to_string(), "GET /api/health: unexpected HTTP 503: down");
/// assert!(e.is_transient());
/// assert_eq!(e.kind().code(), "status");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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
    /// The HTTP adapters (the call-logger API client, the XAPI client): a request without an
    /// answer, an answer it cannot use.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// Files and sockets: reading, size limits, locks, listening.
    #[error(transparent)]
    File(#[from] FileError),
    /// Checkpoint stores: a checkpoint of the wrong shape, unreadable, moved by another writer, or
    /// ahead of its source.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The database adapters (PostgreSQL, SQL Server): connecting, queries, timeouts, TLS, the
    /// schema.
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// Why the delivery engine stopped: the source, the checkpoint store, the quarantine, the call
    /// API — or a stop request, or a caught panic.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// The call-group monitor loop: the group directory, the open alerts, its saved state.
    #[error(transparent)]
    Monitor(#[from] MonitorError),
}

pub(crate) fn corrupt_where(store: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("`{key}` in {store}"),
        None => store.to_owned(),
    }
}

pub(crate) fn cause_suffix(
    source: Option<&(dyn std::error::Error + Send + Sync + 'static)>,
) -> String {
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
    /// let e = pbx_sources::Error::Http(pbx_sources::HttpError::Auth { op: "GET /xapi/v1/Users".into(), status: 401, hint: "check the client secret" });
    /// assert!(!e.is_transient());
    /// assert!(pbx_sources::Error::Delivery(pbx_sources::DeliveryError::Unavailable { attempts: 5, last: "HTTP 503".into() }).is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            // A refused login, a missing table, an untrusted certificate: waiting won't help.
            Error::Database(DatabaseError::Connect { .. }) => {
                crate::misconfigured::Misconfigured::diagnose(self).is_none()
            }
            #[cfg(feature = "postgres")]
            Error::Database(DatabaseError::Postgres { .. }) => {
                crate::misconfigured::Misconfigured::diagnose(self).is_none()
            }
            #[cfg(feature = "mssql")]
            Error::Database(DatabaseError::SqlServer { .. }) => {
                crate::misconfigured::Misconfigured::diagnose(self).is_none()
            }
            Error::Http(HttpError::Transport { .. })
            | Error::Database(DatabaseError::Timeout { .. })
            | Error::Delivery(DeliveryError::Source { .. })
            | Error::Delivery(DeliveryError::Unavailable { .. })
            | Error::Monitor(MonitorError::GroupDirectory { .. })
            | Error::Monitor(MonitorError::ActiveAlerts { .. }) => true,
            Error::Http(HttpError::Status { status, .. }) => {
                *status >= 500 || *status == 429 || *status == 408
            }
            _ => false,
        }
    }

    /// Whether a database connection is gone (the next attempt reconnects).
    #[cfg(feature = "postgres")]
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Error::Database(DatabaseError::Connect { .. }) => true,
            Error::Database(DatabaseError::Postgres { source, .. }) => {
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
                | Error::Delivery(DeliveryError::SourceMisconfigured { .. })
        )
    }

    /// The process exit code `pbx-sideloader` uses for this error: 2 for a configuration
    /// problem ([`Error::is_config`]), 1 for a failure at run time.
    pub fn exit_code(&self) -> u8 {
        if self.is_config() { 2 } else { 1 }
    }

    /// The kind of error, from pbx-core's vocabulary ([`pbx_core::SideloaderErrorKind`]; its
    /// `code()` is the `snake_case` name the Node and Python bindings give as `kind`). What the
    /// sideloader runtime returns is one of `config`, `failed`, `interrupted`, `lost_leadership`,
    /// and for a delivery that stopped `source`, `checkpoint`, `quarantine`, `auth_failed`,
    /// `unavailable` (the call API or the file sink kept failing). The adapters' own errors have
    /// their own names (`transport`, `status`, `bad_checkpoint`, `corrupt_checkpoint`, …), one per
    /// variant; `panicked` is a bug in the engine, caught ([`DeliveryError::Panicked`]).
    ///
    /// ```
    /// use pbx_sources::Error;
    /// let e = Error::Setup {
    ///     part: "source",
    ///     source: Box::new(Error::WrongSourceKind { expected: "a directory source", kind: "File".into() }),
    /// };
    /// assert_eq!(e.kind(), pbx_core::SideloaderErrorKind::Config);
    /// assert_eq!(Error::Delivery(pbx_sources::DeliveryError::AuthFailed { status: 401 }).kind().code(), "auth_failed");
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
            Error::Http(HttpError::Client { .. }) => K::Client,
            Error::Http(HttpError::Transport { .. }) => K::Transport,
            Error::Http(HttpError::Status { .. }) => K::Status,
            Error::Http(HttpError::Auth { .. }) => K::Auth,
            Error::Http(HttpError::Token { .. }) => K::Token,
            #[cfg(any(feature = "http", feature = "xapi"))]
            Error::Http(HttpError::Decode { .. }) => K::Decode,
            Error::Http(HttpError::MissingField { .. }) => K::MissingField,
            Error::Http(HttpError::Paging { .. }) => K::Paging,
            Error::Core { .. } => K::Core,
            Error::File(FileError::ReadFile { .. }) => K::ReadFile,
            Error::File(FileError::FileTooLarge { .. }) => K::FileTooLarge,
            Error::File(FileError::Io { .. }) => K::Io,
            Error::File(FileError::InUse { .. }) => K::InUse,
            Error::File(FileError::Bind { .. }) => K::Bind,
            Error::Checkpoint(CheckpointError::BadCheckpoint { .. }) => K::BadCheckpoint,
            Error::Checkpoint(CheckpointError::CorruptCheckpoint { .. }) => K::CorruptCheckpoint,
            Error::Checkpoint(CheckpointError::CheckpointConflict { .. }) => K::CheckpointConflict,
            Error::Checkpoint(CheckpointError::CheckpointAhead { .. }) => K::CheckpointAhead,
            Error::Database(DatabaseError::Connect { .. }) => K::Connect,
            #[cfg(feature = "postgres")]
            Error::Database(DatabaseError::Postgres { .. }) => K::Postgres,
            #[cfg(feature = "mssql")]
            Error::Database(DatabaseError::SqlServer { .. }) => K::SqlServer,
            Error::Database(DatabaseError::Timeout { .. }) => K::Timeout,
            #[cfg(feature = "postgres")]
            Error::Database(DatabaseError::Tls { .. }) => K::Tls,
            Error::Database(DatabaseError::Schema { .. }) => K::Schema,
            Error::Delivery(DeliveryError::Source { .. }) => K::Source,
            Error::Delivery(DeliveryError::SourceMisconfigured { .. }) => K::SourceMisconfigured,
            Error::Delivery(DeliveryError::Checkpoint { .. }) => K::Checkpoint,
            Error::Delivery(DeliveryError::Quarantine { .. }) => K::Quarantine,
            Error::Delivery(DeliveryError::AuthFailed { .. }) => K::AuthFailed,
            Error::Delivery(DeliveryError::Unavailable { .. }) => K::Unavailable,
            Error::Monitor(MonitorError::GroupDirectory { .. }) => K::GroupDirectory,
            Error::Monitor(MonitorError::ActiveAlerts { .. }) => K::ActiveAlerts,
            Error::Monitor(MonitorError::MonitorState { .. }) => K::MonitorState,
            Error::Failed { .. } => K::Failed,
            Error::Delivery(DeliveryError::Interrupted { .. }) => K::Interrupted,
            Error::Delivery(DeliveryError::Panicked { .. }) => K::Panicked,
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

    /// The error as data, as the bindings hand it out: a pbx-core error's own
    /// [`pbx_core::ErrorInfo`]; otherwise [`Error::category`]'s code, [`Error::kind`]'s code
    /// and the message.
    ///
    /// ```
    /// let info = pbx_sources::Error::Busy.info();
    /// assert_eq!((info.code.as_str(), info.kind.as_str()), ("PBX_INVALID_STATE", "busy"));
    /// assert_eq!(info.message, pbx_sources::Error::Busy.to_string());
    /// ```
    pub fn info(&self) -> pbx_core::ErrorInfo {
        match self {
            Error::Core { source, .. } => pbx_core::ErrorInfo::from(source),
            e => pbx_core::ErrorInfo::binding(e.category().code(), e.kind().code(), e.to_string()),
        }
    }

    /// `pbx_sources::DeliveryError::Checkpoint` for the engine.
    #[cfg(feature = "delivery")]
    pub(crate) fn checkpoint(op: &'static str, key: &str, source: impl Into<BoxError>) -> Self {
        Error::Delivery(DeliveryError::Checkpoint {
            op,
            key: key.to_owned(),
            source: source.into(),
        })
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
    use super::{CheckpointError, DatabaseError, DeliveryError, Error, FileError, HttpError};

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
            source: Box::new(Error::Delivery(DeliveryError::AuthFailed { status: 401 })),
        };
        let cases = [
            (setup, "config", 2),
            (failed, "failed", 1),
            (
                Error::Delivery(DeliveryError::Interrupted { checkpoint: None }),
                "interrupted",
                1,
            ),
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
                Error::Delivery(DeliveryError::Source {
                    source: "down".into(),
                }),
                "source",
                1,
            ),
            (Error::checkpoint_for_test(), "checkpoint", 1),
            (
                Error::Delivery(DeliveryError::Quarantine {
                    source: std::io::Error::other("disk full"),
                }),
                "quarantine",
                1,
            ),
            (
                Error::Delivery(DeliveryError::AuthFailed { status: 403 }),
                "auth_failed",
                1,
            ),
            (
                Error::Delivery(DeliveryError::Unavailable {
                    attempts: 3,
                    last: "HTTP 503".into(),
                }),
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
            Error::Delivery(DeliveryError::Source {
                source: "connection reset".into(),
            }),
            Error::Delivery(DeliveryError::Unavailable {
                attempts: 5,
                last: "HTTP 503".into(),
            }),
            Error::Http(HttpError::Transport {
                op: "POST /api/calls".into(),
                attempts: 1,
                reason: "timed out".into(),
            }),
            Error::Database(DatabaseError::Connect {
                service: "PostgreSQL",
                target: "db:5432/pbx".into(),
                source: "refused".into(),
            }),
        ];
        for e in &transient {
            assert!(e.is_transient(), "{e}");
        }
        let for_a_person = [
            Error::checkpoint_for_test(),
            Error::Delivery(DeliveryError::Quarantine {
                source: std::io::Error::other("disk full"),
            }),
            Error::Delivery(DeliveryError::AuthFailed { status: 401 }),
            Error::Checkpoint(CheckpointError::BadCheckpoint {
                checkpoint: "x".into(),
                expected: "a row id (an integer)",
            }),
            Error::Delivery(DeliveryError::Interrupted { checkpoint: None }),
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
            source: Box::new(Error::File(FileError::Io {
                what: "CDR journal",
                path: "/var/lib/pbx/journal".into(),
                source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
            })),
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
        let file = Error::Checkpoint(CheckpointError::CorruptCheckpoint {
            store: "file /x/checkpoint.json".into(),
            key: None,
            reason: "it holds no checkpoint".into(),
        });
        assert_eq!(
            file.to_string(),
            "checkpoint file /x/checkpoint.json is corrupt (it holds no checkpoint); fix or remove it deliberately"
        );
        let row = Error::Checkpoint(CheckpointError::CorruptCheckpoint {
            store: "table \"pbx_checkpoint\"".into(),
            key: Some("cdr".into()),
            reason: "empty".into(),
        });
        assert_eq!(
            row.to_string(),
            "checkpoint `cdr` in table \"pbx_checkpoint\" is corrupt (empty); fix or remove it deliberately"
        );
        assert!(!row.is_transient());
        assert_eq!(row.kind().code(), "corrupt_checkpoint");
    }

    impl Error {
        fn checkpoint_for_test() -> Self {
            Error::Delivery(DeliveryError::Checkpoint {
                op: "save",
                key: "cdr".into(),
                source: "read-only".into(),
            })
        }
    }
}
