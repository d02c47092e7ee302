//! PostgreSQL adapters (`tokio-postgres`): CDR sources for 3CX's own database and for a site's
//! CDR table, a checkpoint store, and a leadership lock.
//!
//! | type | reads | checkpoint |
//! |---|---|---|
//! | [`CdrOutputSource`] | 3CX v20 U6+ `cdroutput` legs, one call per `main_call_history_id`, emitted once complete and settled | keyset `(cdr_ended_at, main_call_history_id)` of the call's last leg |
//! | [`CallLogSource`] | 3CX v16 – v20 U5 `cl_calls` + `cl_segments` → `cl_participants` → `cl_party_info` | keyset `(end_time, id)` of `cl_calls` |
//! | [`SiteTableSource`] | a site's own table, mapped column by column ([`pbx_core::cdr::SiteTable`]) | the last row id |
//! | [`PgCheckpointStore`] | — | one row per source name, compare-and-set |
//!
//! Every query is keyset-paged (never `OFFSET`), takes values only as parameters, and rows
//! are converted as they stream in. A row that cannot be read becomes a per-row error with its
//! id (the engine quarantines it); only a failed query or a lost connection fails a fetch, and
//! the next fetch reconnects.
//!
//! **TLS**: the URL's `sslmode` decides: `disable` connects in plain text; `prefer` (the
//! default) and `require` use TLS by rustls, with the server certificate verified against the
//! platform's roots (unlike libpq's `require`, an unverifiable certificate is refused — use
//! `sslmode=disable` on a trusted local link to a server without a trusted certificate).
//!
//! The URL is a libpq-style URL or key/value string (`postgres://user:pass@host:5432/db`,
//! `host=/run/postgresql user=phonesystem dbname=database_single`); it is never printed with
//! its password.

mod call_log;
mod cdroutput;
mod checkpoint;
mod connection;
mod leader;
mod site;

pub use call_log::CallLogSource;
pub use cdroutput::CdrOutputSource;
pub use checkpoint::{DEFAULT_CHECKPOINT_TABLE, PgCheckpointStore};
pub use connection::Connection;
pub use leader::{release_leadership, try_acquire_leadership};
pub use site::SiteTableSource;
