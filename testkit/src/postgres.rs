//! The test PostgreSQL: its URL and a connection.

/// What to do when `PBX_TEST_PG_URL` is missing.
const NEEDS_PG: &str = "PBX_TEST_PG_URL is not set: run this test through scripts/pg.sh (a private PostgreSQL) or scripts/test.sh";

/// The test server's URL (`PBX_TEST_PG_URL`). The tests that need it are
/// `#[ignore = "needs PostgreSQL…"]`; `scripts/test.sh` starts a private server
/// (`scripts/pg.sh`) and runs them with `--ignored`. Asked for without the variable, this fails
/// the test saying what to do — never a silent pass.
///
/// # Panics
/// When `PBX_TEST_PG_URL` is unset or empty.
pub fn pg_url() -> String {
    match std::env::var("PBX_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("{NEEDS_PG}"),
    }
}

/// A plain-text connection to `url`, its connection task spawned on the current runtime.
///
/// # Panics
/// When the server cannot be reached.
pub async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to PBX_TEST_PG_URL: {e}"));
    tokio::spawn(conn);
    client
}
