//! # pbx-core
//!
//! Pure logic for turning 3CX call records into call-log entries: no sockets, files, clocks
//! or async runtime. Adapters (in `pbx-sources`) fetch records and deliver calls through the
//! traits defined here; this crate decides.
//!
//! The flow of one call:
//! [`cdr`] parses a line (or assembles database legs) → [`direction`] classifies it and finds
//! the owner and the other party → [`call`] maps it to the API's `PbxCallRequest` (owner email
//! from [`extensions`]), or skips it with a reason.
//!
//! ```
//! use pbx_core::call::{CallMapper, Mapped};
//! use pbx_core::cdr::{CdrParser, FieldTemplate};
//! use pbx_core::extensions::User;
//!
//! let parser = CdrParser::new(FieldTemplate::v16_20());
//! let cdr = parser.parse_line(1, "Call 23194,00000172FF13E364_4449,00:03:43,2020/06/29 07:56:32,\
//!     2020/06/29 07:56:33,2020/06/29 08:00:16,TerminatedBySrc,0466452265,Ext.611,10000,611,611,\
//!     ReplacedDst,Ext.194,194,,,,,Chain: 0466452265;Ext.611;Ext.194;")?;
//! let mapper = CallMapper::default()
//!     .with_extensions([User::new("194", "eva@example.com")].into_iter().collect());
//! let Mapped::Call(call) = mapper.map(&cdr)? else { panic!("skipped") };
//! assert_eq!(call.call_owner_email, "eva@example.com");
//! assert_eq!(call.call_duration, 223);
//! # Ok::<(), pbx_core::Error>(())
//! ```
//!
//! ## Cargo features
//!
//! | feature | what |
//! |---|---|
//! | `testing` (off) | `memory`: in-memory implementations of the adapter traits — test doubles for tests, examples and benchmarks (`pbx-core = { version = "…", features = ["testing"] }` under `[dev-dependencies]`) |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod call;
pub mod cdr;
pub mod cdr_json;
pub mod config;
pub mod config_views;
pub mod delivery;
pub mod direction;
mod error;
pub mod explain;
pub mod extensions;
pub mod framing;
pub mod groups;
pub mod hours;
#[cfg(feature = "testing")]
pub mod memory;
pub mod missed;
pub mod phone;
mod traits;
pub mod unknown_types;
pub mod unmapped;
pub mod views;
pub mod vocab;
pub mod vocabularies;
pub mod zone;

// The README's Rust example (and any other `rust` block in it) runs as a doctest of this crate,
// and so does every `rust` block of the pages under docs/ (`tests/house.rs` fails when a page
// is missing here).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
mod docs_doctests {
    #[doc = include_str!("../../docs/backfill.md")]
    struct Backfill;
    #[doc = include_str!("../../docs/bad-input.md")]
    struct BadInput;
    #[doc = include_str!("../../docs/cdr-text-sources.md")]
    struct CdrTextSources;
    #[doc = include_str!("../../docs/configuration.md")]
    struct Configuration;
    #[doc = include_str!("../../docs/delivery.md")]
    struct Delivery;
    #[doc = include_str!("../../docs/directory-source.md")]
    struct DirectorySource;
    #[doc = include_str!("../../docs/embedding.md")]
    struct Embedding;
    #[doc = include_str!("../../docs/mapping.md")]
    struct Mapping;
    #[doc = include_str!("../../docs/explain.md")]
    struct Explain;
    #[doc = include_str!("../../docs/many-pbxs.md")]
    struct ManyPbxs;
    #[doc = include_str!("../../docs/migrating-from-node.md")]
    struct MigratingFromNode;
    #[doc = include_str!("../../docs/missed-calls.md")]
    struct MissedCalls;
    #[doc = include_str!("../../docs/packaging.md")]
    struct Packaging;
    #[doc = include_str!("../../docs/postgresql.md")]
    struct Postgresql;
    #[doc = include_str!("../../docs/running-against-3cx.md")]
    struct RunningAgainst3cx;
    #[doc = include_str!("../../docs/sideloader.md")]
    struct Sideloader;
    #[doc = include_str!("../../docs/sql-server.md")]
    struct SqlServer;
}

// The public interface is:
pub use error::{Error, ErrorCategory, ErrorInfo, ErrorKind, Location, SideloaderErrorKind};
pub use traits::{
    AlertSink, CallSink, CdrSource, Checkpoint, CheckpointStore, DeliveryOutcome,
    ExtensionDirectory, FailureKind, GroupDirectory, RawRecord, SourceRecord,
};
pub use vocab::Vocabulary;
