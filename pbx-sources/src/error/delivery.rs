//! [`DeliveryError`]: why the delivery engine stopped: the source, the checkpoint store, the
//! quarantine, the call API — or a stop request, or a caught panic.

use super::BoxError;

/// Why the delivery engine stopped: the source, the checkpoint store, the quarantine, the call
/// API — or a stop request, or a caught panic. Folded into [`crate::Error`] as
/// `Error::Delivery`; its `kind()`, `is_transient()` and `is_config()` answer for these too.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The CDR source failed (connection lost, query failed, file unreadable). The service
    /// retries it with backoff; `Engine::drain` gives up after `max_attempts` failures in a
    /// row.
    #[error("the CDR source failed: {source}")]
    Source {
        /// The source's error (an [`Error`](crate::Error) for this crate's sources).
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
        /// The store's error (an [`Error`](crate::Error) for this crate's stores).
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
}
