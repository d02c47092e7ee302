//! The traits adapters implement. pbx-core defines them and never calls I/O itself.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::call::CallRequest;
use crate::cdr::{CallLegs, Cdr};
use crate::error::Error;
use crate::extensions::ExtensionMap;
use crate::groups::{Alert, AlertId, AlertRequest, CallGroup, ResolveOutcome};

/// An opaque position in a source (a line offset, a keyset, a last id), saved after delivery.
/// Each source writes and reads its own format.
///
/// ```
/// let cp = pbx_core::Checkpoint::new("42");
/// assert_eq!(cp.as_str(), "42");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checkpoint(String);

impl Checkpoint {
    /// A checkpoint from its text.
    pub fn new(s: impl Into<String>) -> Self {
        Checkpoint(s.into())
    }

    /// Its text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A record as a source delivers it, before pbx-core turns it into a [`Cdr`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RawRecord {
    /// A CDR text line (socket, file), with its 1-based line number.
    Line {
        /// Line number in its stream.
        number: u64,
        /// The raw bytes (any encoding).
        text: Vec<u8>,
    },
    /// The legs of one call from the `cdroutput` table.
    Legs(CallLegs),
    /// A record already in CDR form, with no position of its own.
    Cdr(Box<Cdr>),
    /// A row of a site's own CDR table, mapped column by column
    /// ([`crate::cdr::SiteTable::row`]), with its id.
    Row {
        /// The row id.
        id: i64,
        /// The row as a CDR.
        cdr: Box<Cdr>,
    },
}

/// One record from a source and the checkpoint that is reached once it is handled.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceRecord {
    /// Save this once the record's outcome is final.
    pub checkpoint: Checkpoint,
    /// The record, or why this one row could not be read (the rest go on).
    pub record: Result<RawRecord, Error>,
}

/// Where CDRs come from: a PBX database, a CDR socket or file, a site table.
#[async_trait]
pub trait CdrSource: Send {
    /// The adapter's error (connection lost, query failed, …).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Up to `limit` records after `after` (`None`: from the start), in order. An empty list
    /// means nothing new yet. Records that are not complete yet are not returned.
    async fn fetch(
        &mut self,
        after: Option<&Checkpoint>,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, Self::Error>;
}

/// Why a delivery attempt failed, for `/metrics` (`pbx_delivery_failures_total{reason}`) —
/// decided by the sink where the failure happened, never read back from a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FailureKind {
    /// HTTP 429.
    Http429,
    /// HTTP 5xx.
    Http5xx,
    /// Another unexpected HTTP status (404, a redirect).
    HttpOther,
    /// No answer within the timeout.
    Timeout,
    /// Refused, reset or broken connection.
    Connection,
    /// A local write failed (a file sink).
    Io,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// The metric label: `http_429`, `http_5xx`, `http_other`, `timeout`, `connection`,
    /// `io`, `other`.
    ///
    /// ```
    /// assert_eq!(pbx_core::FailureKind::Http5xx.as_str(), "http_5xx");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Http429 => "http_429",
            FailureKind::Http5xx => "http_5xx",
            FailureKind::HttpOther => "http_other",
            FailureKind::Timeout => "timeout",
            FailureKind::Connection => "connection",
            FailureKind::Io => "io",
            FailureKind::Other => "other",
        }
    }
}

/// What became of one call sent to the call API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// Stored (200/201).
    Delivered,
    /// Already stored earlier (409): counts as delivered.
    Duplicate,
    /// Refused (a 4xx other than 401/403/404/408/409/429, e.g. 400/422): never retried;
    /// quarantine it.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The backend's message.
        body: String,
    },
    /// Bad or missing credentials (401/403): stop delivering and report.
    AuthFailed {
        /// HTTP status.
        status: u16,
    },
    /// A transient failure (5xx, 429, timeout, connection error): try again later.
    Retry {
        /// What kind of failure (decided where it happened, for `/metrics`).
        kind: FailureKind,
        /// What happened.
        reason: String,
        /// How long the backend asked us to wait (`Retry-After`), if it said.
        after: Option<Duration>,
    },
}

impl DeliveryOutcome {
    /// Whether the call needs no further attempt (delivered, duplicate or rejected), so the
    /// checkpoint may move past it.
    ///
    /// ```
    /// use pbx_core::DeliveryOutcome;
    /// assert!(DeliveryOutcome::Duplicate.is_final());
    /// assert!(!DeliveryOutcome::retry(pbx_core::FailureKind::Http5xx, "HTTP 503").is_final());
    /// ```
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            DeliveryOutcome::Delivered
                | DeliveryOutcome::Duplicate
                | DeliveryOutcome::Rejected { .. }
        )
    }

    /// A transient failure of `kind` without a `Retry-After`: [`DeliveryOutcome::Retry`].
    ///
    /// ```
    /// use pbx_core::{DeliveryOutcome, FailureKind};
    /// let d = DeliveryOutcome::retry(FailureKind::Timeout, "timed out");
    /// assert!(matches!(d, DeliveryOutcome::Retry { kind: FailureKind::Timeout, after: None, .. }));
    /// ```
    pub fn retry(kind: FailureKind, reason: impl Into<String>) -> Self {
        DeliveryOutcome::Retry {
            kind,
            reason: reason.into(),
            after: None,
        }
    }
}

/// Where call requests go: the call-logger API.
#[async_trait]
pub trait CallSink: Send + Sync {
    /// Delivers one call. Never fails: every failure is an outcome.
    async fn deliver(&self, call: &CallRequest) -> DeliveryOutcome;
}

/// Where call-group alerts go.
#[async_trait]
pub trait AlertSink: Send + Sync {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Opens an alert; when one is already active for the group, returns that one.
    async fn open(&self, alert: &AlertRequest) -> Result<Alert, Self::Error>;
    /// The active alerts.
    async fn active(&self) -> Result<Vec<Alert>, Self::Error>;
    /// Resolves an alert: [`ResolveOutcome::NotFound`] when the backend does not know it
    /// (purged, or never its id), so the caller forgets it instead of trying again.
    async fn resolve(&self, id: &AlertId) -> Result<ResolveOutcome, Self::Error>;
}

/// Where call groups and their members' availability come from (3CX XAPI).
#[async_trait]
pub trait GroupDirectory: Send + Sync {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A snapshot of every monitored group.
    async fn groups(&self) -> Result<Vec<CallGroup>, Self::Error>;
}

/// Where the extension → user map comes from (config, or XAPI `/Users`).
#[async_trait]
pub trait ExtensionDirectory: Send + Sync {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A snapshot of the map.
    async fn extensions(&self) -> Result<ExtensionMap, Self::Error>;
}

/// Where checkpoints are kept between runs.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The saved checkpoint of `key` (one per source), if any.
    async fn load(&self, key: &str) -> Result<Option<Checkpoint>, Self::Error>;
    /// Saves it durably before returning.
    async fn save(&self, key: &str, checkpoint: &Checkpoint) -> Result<(), Self::Error>;
}

// Shared handles: an `Arc` of an adapter is that adapter (the engine and a status endpoint
// can hold the same store or sink).

#[async_trait]
impl<T: CallSink + ?Sized> CallSink for std::sync::Arc<T> {
    async fn deliver(&self, call: &CallRequest) -> DeliveryOutcome {
        (**self).deliver(call).await
    }
}

#[async_trait]
impl<T: AlertSink + ?Sized> AlertSink for std::sync::Arc<T> {
    type Error = T::Error;

    async fn open(&self, alert: &AlertRequest) -> Result<Alert, Self::Error> {
        (**self).open(alert).await
    }
    async fn active(&self) -> Result<Vec<Alert>, Self::Error> {
        (**self).active().await
    }
    async fn resolve(&self, id: &AlertId) -> Result<ResolveOutcome, Self::Error> {
        (**self).resolve(id).await
    }
}

#[async_trait]
impl<T: GroupDirectory + ?Sized> GroupDirectory for std::sync::Arc<T> {
    type Error = T::Error;

    async fn groups(&self) -> Result<Vec<CallGroup>, Self::Error> {
        (**self).groups().await
    }
}

#[async_trait]
impl<T: ExtensionDirectory + ?Sized> ExtensionDirectory for std::sync::Arc<T> {
    type Error = T::Error;

    async fn extensions(&self) -> Result<ExtensionMap, Self::Error> {
        (**self).extensions().await
    }
}

#[async_trait]
impl<T: CheckpointStore + ?Sized> CheckpointStore for std::sync::Arc<T> {
    type Error = T::Error;

    async fn load(&self, key: &str) -> Result<Option<Checkpoint>, Self::Error> {
        (**self).load(key).await
    }
    async fn save(&self, key: &str, checkpoint: &Checkpoint) -> Result<(), Self::Error> {
        (**self).save(key, checkpoint).await
    }
}
