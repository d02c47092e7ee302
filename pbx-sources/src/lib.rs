//! # pbx-sources
//!
//! The I/O side of pbx: adapters that implement [`pbx_core`]'s traits
//! ([`pbx_core::CdrSource`], [`pbx_core::CallSink`], [`pbx_core::AlertSink`],
//! [`pbx_core::GroupDirectory`], [`pbx_core::ExtensionDirectory`],
//! [`pbx_core::CheckpointStore`]) and the delivery engine that drives them.
//!
//! Adapters land one per cargo feature:
//!
//! | feature | module | what |
//! |---|---|---|
//! | `http` (default) | [`call_logger`] | the call-logger API client: [`pbx_core::CallSink`], [`pbx_core::AlertSink`], health |
//! | `xapi` (default) | [`xapi`] | the 3CX XAPI client: token, `/Users`, `/RingGroups`, `/Queues`, `/OfficeHours`, `/CDRSettings` |
//! | `file` (default) | [`file`](mod@file), [`folder`], [`file_sink`], [`file_checkpoint`] | the CDR file source (`tail -F`), the one-file-per-call directory source, a JSON-lines call sink, a file checkpoint store |
//! | `socket` (default) | [`socket`] | the 3CX CDR socket source, active (we listen) and passive (we connect), journaled |
//! | `postgres` (default) | [`postgres`] | 3CX `cdroutput` and `cl_*` sources, a site-table source, a checkpoint store, a leadership lock |
//! | `postgres` or `mssql` | [`sql`] | [`sql::SqlName`]: table and column names checked as plain identifiers, quoted for PostgreSQL or SQL Server |
//! | `file` + `socket` | [`cdr_text`] | all four CDR text modes behind one type, from a `SourceConfig` |
//! | `delivery` (default) | [`delivery`], [`group_monitor`] | the delivery engine and the quarantine; the call-group monitor loop |
//! | `http-server` | [`http_server`] | a bounded HTTP/1 server for a service port (timeouts, connection cap, size limits, fast shutdown, bearer-token guard) |
//! | `runtime` | `fleet` | many PBXs over several hosts: `Fleet` runs one sideloader per site it holds a lease on, coordinated by PostgreSQL (`SKIP LOCKED` claims, epoch-fenced checkpoints) |
//! | `runtime` | `runtime` | the sideloader as a library: `Sideloader::from_config`, `once`, `run`, `backfill`, `replay`, status, and its HTTP endpoints (axum) |
//! | `mssql` | `mssql` | a site's own CDR table on SQL Server (tiberius, rustls): [`pbx_core::CdrSource`] |
//!
//! Secrets (bearer tokens, client secrets) are held in [`Secret`], which never prints itself
//! (response bodies quoted in errors are scrubbed of them too);
//! every adapter, the delivery engine and the runtime report failures through one [`Error`]
//! (the underlying error kept as its `source()`), with [`Error::is_transient`],
//! [`Error::kind`] and [`Error::is_config`] for what to do about it.
//!
//! The core crate comes along as [`core`]: one dependency gives both.
//!
//! ```
//! use pbx_sources::core::Checkpoint;
//! assert_eq!(Checkpoint::new("42").as_str(), "42");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(any(feature = "file", feature = "delivery"))]
mod append;
pub mod bounded;
#[cfg(feature = "http")]
pub mod call_logger;
#[cfg(all(feature = "file", feature = "socket"))]
pub mod cdr_text;
#[cfg(any(feature = "http", feature = "xapi"))]
mod client;
#[cfg(feature = "delivery")]
pub mod delivery;
mod error;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "file")]
pub mod file_checkpoint;
pub mod file_lock;
#[cfg(feature = "file")]
pub mod file_sink;
#[cfg(feature = "runtime")]
pub mod fleet;
#[cfg(feature = "file")]
pub mod folder;
#[cfg(feature = "delivery")]
pub mod group_monitor;
#[cfg(feature = "http-server")]
pub mod http_server;
pub mod misconfigured;
#[cfg(feature = "mssql")]
pub mod mssql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "runtime")]
pub mod runtime;
#[cfg(feature = "socket")]
pub mod socket;
#[cfg(any(feature = "postgres", feature = "mssql"))]
pub mod sql;
#[cfg(feature = "file")]
/// Watching files for change: one polling thread per period for the whole process.
mod watch;
#[cfg(feature = "xapi")]
pub mod xapi;

/// The core crate, re-exported so users of the adapters need one dependency.
pub use pbx_core as core;

// The public interface is:
pub use error::{
    BoxError, CheckpointError, DatabaseError, DeliveryError, Error, FileError, HttpError,
    MonitorError,
};
/// The workspace's secret type (`pbx_core::config::Secret`): tokens and client secrets.
pub use pbx_core::config::Secret;
