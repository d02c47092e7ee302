//! What the sideloader's process tests share beyond `pbx-testkit` (the scratch directories,
//! the test PostgreSQL, the fake call API, the resetting proxy): the binary, a PostgreSQL site
//! table of outbound calls, and what the call API and the checkpoint table hold in the end.

#![allow(dead_code, unused_imports)] // each test binary uses its own part

use std::collections::BTreeSet;

pub(crate) use pbx_testkit::call_api::{CallApi, Faults, SharedCallApi, serve_call_api};
pub(crate) use pbx_testkit::{Rng, free_port, pg_connect, pg_url, scratch, serve_resetting_proxy};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_pbx-sideloader");

/// The site-table row ids of every call the API accepted.
pub(crate) fn accepted_ids(api: &SharedCallApi) -> BTreeSet<u32> {
    api.lock()
        .unwrap()
        .stored
        .keys()
        .map(|id| row_id(id))
        .collect()
}

/// The checkpoint the sideloader stored under `key` in `<schema>.pbx_checkpoint`.
pub(crate) async fn stored_checkpoint(url: &str, schema: &str, key: &str) -> Option<String> {
    pg_connect(url)
        .await
        .query_opt(
            &format!("SELECT checkpoint FROM {schema}.pbx_checkpoint WHERE source = $1"),
            &[&key],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// A fresh schema `schema` with a site table `cdr` of `rows` outbound calls (ids 1..=rows,
/// `historyid` = the id, so every call's `pbxCallId` ends in `-<id>`).
pub(crate) async fn site_table(client: &tokio_postgres::Client, schema: &str, rows: u32) {
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             CREATE TABLE {schema}.cdr (
                 id bigserial PRIMARY KEY, history_id text, duration integer,
                 time_start timestamptz, time_answered timestamptz, time_end timestamptz,
                 reason text, from_no text, to_no text, from_dn text, to_dn text,
                 final_number text, final_dn text, from_type text, to_type text, final_type text);
             INSERT INTO {schema}.cdr (history_id, duration, time_start, time_answered, time_end,
                 reason, from_no, to_no, from_dn, to_dn, final_number, final_dn,
                 from_type, to_type, final_type)
             SELECT g::text, 60, t, t + interval '5 s', t + interval '65 s', 'TerminatedBySrc',
                 'Ext.101', '+1907555' || lpad((g % 10000)::text, 4, '0'), '101', '10000',
                 '+1907555' || lpad((g % 10000)::text, 4, '0'), '10000', 'Extension', 'Line', 'Line'
             FROM generate_series(1, {rows}) g,
                 LATERAL (SELECT timestamptz '2026-11-02 18:00:00+00' + g * interval '1 s' AS t) x;"
        ))
        .await
        .expect("create the site table");
}

/// The `source` section for [`site_table`]'s table.
pub(crate) fn site_source(url: &str, schema: &str) -> String {
    format!(
        "source:\n  kind: postgres_table\n  url: '{url}'\n  table: {schema}.cdr\n  columns:\n    \
         id: id\n    historyid: history_id\n    duration: duration\n    time-start: time_start\n    \
         time-answered: time_answered\n    time-end: time_end\n    reason-terminated: reason\n    \
         from-no: from_no\n    to-no: to_no\n    from-dn: from_dn\n    to-dn: to_dn\n    \
         final-number: final_number\n    final-dn: final_dn\n    from-type: from_type\n    \
         to-type: to_type\n    final-type: final_type\n"
    )
}

/// The row id a `pbxCallId` of [`site_table`] came from.
pub(crate) fn row_id(pbx_call_id: &str) -> u32 {
    pbx_call_id
        .rsplit('-')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("unexpected pbxCallId {pbx_call_id}"))
}
