//! # pbx-sources
//!
//! The I/O side of pbx: adapters that implement [`pbx_core`]'s traits
//! ([`pbx_core::CdrSource`], [`pbx_core::CallSink`], [`pbx_core::AlertSink`],
//! [`pbx_core::GroupDirectory`], [`pbx_core::ExtensionDirectory`],
//! [`pbx_core::CheckpointStore`]) and the sync engine that drives them.
//!
//! This release holds no adapter yet; they land one per feature (PostgreSQL, SQL Server,
//! socket/file, call-logger API, XAPI). Until then, `pbx_core::memory` has in-memory
//! implementations of every trait.
//!
//! ```
//! use pbx_sources::core::memory::MemoryCheckpointStore;
//! let _store = MemoryCheckpointStore::new();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// The core crate, re-exported so users of the adapters need one dependency.
pub use pbx_core as core;
