//! Site-table throughput: N rows (default 1 000 000) from a local PostgreSQL through
//! [`SiteTableSource`] and pbx-core's pipeline into call requests; prints rows/s and the
//! process's peak RSS.
//!
//! ```text
//! scripts/pg.sh cargo bench -p pbx-sources --bench pg_site            # 1 000 000 rows
//! PBX_BENCH_ROWS=200000 scripts/pg.sh cargo bench -p pbx-sources --bench pg_site
//! ```
//!
//! Measured 2026-11-25 (2 shared cores, load average 8–14 from other builds, PostgreSQL 15 on
//! the same machine): 1 000 000 rows → 1 000 000 call requests in 3.2–3.6 s, **277 000 –
//! 309 000 rows/s**, 1.8 s of this process's CPU, **peak RSS 12.8 MiB** (batch 5 000, one
//! runtime thread; two threads: 242 000 – 258 000 rows/s, 27 MiB).
//!
//! The table (`pbx_bench.call_log`) is loaded once per row count with `generate_series` and
//! kept between runs on the same cluster. Without `PBX_TEST_PG_URL` it says so and exits
//! successfully; `cargo bench -- --test` (quick mode, as `scripts/test.sh` runs it) reads
//! 2 000 rows. Not a criterion bench: one pass over a million rows is the measurement.

use std::time::{Duration, Instant};

use pbx_core::call::CallMapper;
use pbx_core::config::TableMapping;
use pbx_core::delivery::{Disposition, Pipeline};
use pbx_core::extensions::User;
use pbx_core::{CdrSource, Checkpoint};
use pbx_sources::postgres::SiteTableSource;
use tokio_postgres::NoTls;

const BATCH: usize = 5_000;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// This process's CPU time (user + system), from /proc/self/stat (clock ticks of 10 ms).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

async fn load(url: &str, rows: i64) {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to PBX_TEST_PG_URL");
    tokio::spawn(conn);
    let have: Option<i64> = client
        .query_opt("SELECT count(*) FROM pbx_bench.call_log", &[])
        .await
        .ok()
        .flatten()
        .map(|r| r.get(0));
    if have == Some(rows) {
        return;
    }
    eprintln!("pg_site: loading {rows} rows into pbx_bench.call_log …");
    let t = Instant::now();
    client
        .batch_execute(
            "DROP SCHEMA IF EXISTS pbx_bench CASCADE; CREATE SCHEMA pbx_bench; \
             CREATE TABLE pbx_bench.call_log ( \
               id bigint PRIMARY KEY, history_id text, call_id text, talk_seconds integer, \
               started_at timestamptz, answered_at timestamptz, ended_at timestamptz, \
               reason text, from_no text, to_no text, from_dn text, to_dn text, \
               final_number text, final_dn text, from_type text, to_type text, final_type text, \
               from_name text)",
        )
        .await
        .expect("create the bench table");
    // Two thirds inbound (a caller from outside to extension 100–199), one third outbound.
    client
        .execute(
            "INSERT INTO pbx_bench.call_log SELECT i, (1000000 + i)::text, \
               lpad(to_hex(i), 16, '0') || '_' || (i % 10000)::text, \
               CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 600)::int END, \
               t, CASE WHEN i % 5 = 0 THEN NULL ELSE t + interval '4 s' END, t + interval '5 min', \
               'TerminatedBySrc', \
               CASE WHEN i % 3 = 0 THEN 'Ext.' || (100 + i % 100) ELSE '+1907' || lpad((i % 10000000)::text, 7, '0') END, \
               CASE WHEN i % 3 = 0 THEN '+1907' || lpad((i % 10000000)::text, 7, '0') ELSE 'Ext.' || (100 + i % 100) END, \
               CASE WHEN i % 3 = 0 THEN (100 + i % 100)::text ELSE '10000' END, \
               CASE WHEN i % 3 = 0 THEN '10000' ELSE (100 + i % 100)::text END, \
               CASE WHEN i % 3 = 0 THEN '+1907' || lpad((i % 10000000)::text, 7, '0') ELSE 'Ext.' || (100 + i % 100) END, \
               CASE WHEN i % 3 = 0 THEN '10000' ELSE (100 + i % 100)::text END, \
               CASE WHEN i % 3 = 0 THEN 'Extension' ELSE 'Line' END, \
               CASE WHEN i % 3 = 0 THEN 'Line' ELSE 'Extension' END, \
               CASE WHEN i % 3 = 0 THEN 'Line' ELSE 'Extension' END, \
               'Caller ' || i \
             FROM generate_series(1::bigint, $1::bigint) AS i, \
                  LATERAL (SELECT timestamptz '2026-01-01 00:00:00+00' + i * interval '7 s' AS t) AS ts",
            &[&rows],
        )
        .await
        .expect("load the bench rows");
    client
        .batch_execute("VACUUM ANALYZE pbx_bench.call_log")
        .await
        .expect("vacuum");
    eprintln!("pg_site: loaded in {:.1} s", t.elapsed().as_secs_f64());
}

fn mapping() -> TableMapping {
    TableMapping {
        name: "pbx_bench.call_log".into(),
        columns: [
            ("id", "id"),
            ("historyid", "history_id"),
            ("callid", "call_id"),
            ("duration", "talk_seconds"),
            ("time-start", "started_at"),
            ("time-answered", "answered_at"),
            ("time-end", "ended_at"),
            ("reason-terminated", "reason"),
            ("from-no", "from_no"),
            ("to-no", "to_no"),
            ("from-dn", "from_dn"),
            ("to-dn", "to_dn"),
            ("final-number", "final_number"),
            ("final-dn", "final_dn"),
            ("from-type", "from_type"),
            ("to-type", "to_type"),
            ("final-type", "final_type"),
            ("from-dispname", "from_name"),
        ]
        .into_iter()
        .map(|(f, c)| (f.to_owned(), c.to_owned()))
        .collect(),
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let Some(url) = std::env::var("PBX_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("pg_site: skipped: PBX_TEST_PG_URL not set (run it through scripts/pg.sh)");
        return;
    };
    let rows: i64 = if quick {
        2_000
    } else {
        std::env::var("PBX_BENCH_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000)
    };
    // One thread by default (measured faster here than two workers: the server is the other
    // busy process); PBX_BENCH_THREADS=2 for a multi-threaded runtime.
    let threads: usize = std::env::var("PBX_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    }
    .enable_all()
    .build()
    .expect("a tokio runtime");
    runtime.block_on(async {
        load(&url, rows).await;
        let pipeline = Pipeline {
            mapper: CallMapper::default().with_extensions((100..200)
                    .map(|e| User::new(e.to_string(), format!("u{e}@example.com")))
                    .collect()),
            ..Pipeline::default()
        };
        let rss_before = peak_rss_kib();
        let mut source = SiteTableSource::new(&url, &mapping()).expect("the bench mapping");
        let (mut read, mut calls, mut other) = (0u64, 0u64, 0u64);
        let mut fetching = Duration::ZERO;
        let mut after: Option<Checkpoint> = None;
        let cpu0 = cpu_seconds();
        let t = Instant::now();
        loop {
            let f = Instant::now();
            let batch = source.fetch(after.as_ref(), BATCH).await.expect("fetch");
            fetching += f.elapsed();
            let Some(last) = batch.last() else { break };
            after = Some(last.checkpoint.clone());
            for record in &batch {
                read += 1;
                match pipeline.prepare(record).disposition {
                    Disposition::Deliver(call) => {
                        calls += 1;
                        std::hint::black_box(call);
                    }
                    _ => other += 1,
                }
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
        assert_eq!(read, rows as u64, "every row read once");
        println!(
            "pg_site: {read} rows → {calls} call requests ({other} skipped/quarantined) in {secs:.2} s: \
             {:.0} rows/s (fetching {:.2} s, mapping {:.2} s); this process used {} s of CPU ({} rows per CPU-second); \
             batch {BATCH}; {threads} runtime thread(s); peak RSS {} MiB (before reading {} MiB)",
            read as f64 / secs,
            fetching.as_secs_f64(),
            secs - fetching.as_secs_f64(),
            cpu.map_or("?".into(), |c| format!("{c:.2}")),
            cpu.map_or("?".into(), |c| format!("{:.0}", read as f64 / c)),
            peak_rss_kib().map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
            rss_before.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
        );
    });
}
