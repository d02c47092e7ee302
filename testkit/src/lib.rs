//! # pbx-testkit
//!
//! What the tests of pbx's crates share, written once (dev-only, never published):
//!
//! | item | what |
//! |---|---|
//! | [`scratch`] | a fresh scratch directory per test |
//! | [`pg_url`], [`pg_connect`] | the test PostgreSQL (`PBX_TEST_PG_URL`, started by `scripts/pg.sh`) |
//! | [`http`] | a recording in-process HTTP/1.1 server whose handler closure answers, delays or cuts each request |
//! | [`call_api`] | the fake call-logger API (`POST /api/calls/from-pbx`): stores each `pbxCallId` once, answers repeats 409, fails at random when asked |
//! | [`serve_resetting_proxy`] | a TCP proxy that resets connections mid-request |
//! | [`Rng`], [`free_port`] | a seeded generator (SplitMix64); a free loopback port |
//!
//! It depends on no pbx crate, so every crate's tests can use it without a second copy of
//! `pbx-core` in their build; what needs pbx's types (a `CallRequest` builder, log capture)
//! stays in that crate's `tests/common`.
//!
//! ```
//! let dir = pbx_testkit::scratch("doc");
//! assert!(dir.is_dir());
//! assert_eq!(pbx_testkit::Rng(7).below(10), pbx_testkit::Rng(7).below(10));
//! ```

pub mod call_api;
pub mod http;
mod port;
mod postgres;
mod proxy;
mod rng;
mod scratch;

pub use port::free_port;
pub use postgres::{pg_connect, pg_url};
pub use proxy::serve_resetting_proxy;
pub use rng::Rng;
pub use scratch::scratch;
