#!/usr/bin/env bash
# Backfill throughput (#8 item 7): ROWS site-table rows (default 1 000 000) from PostgreSQL
# into a fast local call API (benches/src/bin/fast-call-api.rs: 201 at once), with the
# sideloader's release build — calls/s and peak RSS (/usr/bin/time -v) — then the same data
# through a sequential one-request-at-a-time sender (call_api.concurrency: 1, as the old
# sideloader posted), for the ratio.
#
#   scripts/pg.sh benches/backfill.sh [ROWS]
#
# scripts/pg.sh starts a private PostgreSQL and sets PBX_TEST_PG_URL; the table lives in a
# schema `pbx_bench` that is dropped at the end. Goal (issue #8): >= 20 000 calls/s, RSS < 64 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
: "${PBX_TEST_PG_URL:?run through scripts/pg.sh: scripts/pg.sh benches/backfill.sh}"
psql="${PBX_PG_BIN:-/usr/bin}/psql"
if [ ! -x /usr/bin/time ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
fi

cargo build --release --locked -p pbx-sideloader --bin pbx-sideloader -p pbx-benches --bin fast-call-api
work=$(mktemp -d /tmp/pbx-backfill.XXXXXX)
api_pid=
cleanup() {
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null || true
  "$psql" -q "$PBX_TEST_PG_URL" -c 'DROP SCHEMA IF EXISTS pbx_bench CASCADE' >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "backfill.sh: filling pbx_bench.cdr with $rows rows" >&2
"$psql" -q -v ON_ERROR_STOP=1 "$PBX_TEST_PG_URL" <<SQL
DROP SCHEMA IF EXISTS pbx_bench CASCADE;
CREATE SCHEMA pbx_bench;
CREATE TABLE pbx_bench.cdr (
    id bigserial PRIMARY KEY, history_id text, duration integer,
    time_start timestamptz, time_answered timestamptz, time_end timestamptz,
    reason text, from_no text, to_no text, from_dn text, to_dn text,
    final_number text, final_dn text, from_type text, to_type text, final_type text);
INSERT INTO pbx_bench.cdr (history_id, duration, time_start, time_answered, time_end,
    reason, from_no, to_no, from_dn, to_dn, final_number, final_dn, from_type, to_type, final_type)
SELECT g::text, 60, t, t + interval '5 s', t + interval '65 s', 'TerminatedBySrc',
    'Ext.' || (100 + g % 50), '+1907555' || lpad((g % 10000)::text, 4, '0'), (100 + g % 50)::text,
    '10000', '+1907555' || lpad((g % 10000)::text, 4, '0'), '10000', 'Extension', 'Line', 'Line'
FROM generate_series(1, $rows) g,
    LATERAL (SELECT timestamptz '2026-10-01 00:00:00+00' + g * interval '1 s' AS t) x;
ANALYZE pbx_bench.cdr;
SQL

target/release/fast-call-api >"$work/api.out" &
api_pid=$!
for _ in $(seq 50); do grep -q listening "$work/api.out" 2>/dev/null && break; sleep 0.1; done
api=$(awk '/listening on/ {print $3}' "$work/api.out")

run() { # NAME CONCURRENCY BATCH
  local name=$1 concurrency=$2 batch=$3
  "$psql" -q "$PBX_TEST_PG_URL" -c 'DROP TABLE IF EXISTS pbx_bench.pbx_checkpoint' >/dev/null
  cat >"$work/$name.yml" <<YAML
pbx: {timezone: UTC}
source:
  kind: postgres_table
  url: '$PBX_TEST_PG_URL'
  table: pbx_bench.cdr
  columns: {id: id, historyid: history_id, duration: duration, time-start: time_start,
    time-answered: time_answered, time-end: time_end, reason-terminated: reason, from-no: from_no,
    to-no: to_no, from-dn: from_dn, to-dn: to_dn, final-number: final_number, final-dn: final_dn,
    from-type: from_type, to-type: to_type, final-type: final_type}
call_api: {base_url: 'http://$api', concurrency: $concurrency}
extensions: {default_email: 'pbx@example.com'}
polling: {batch_size: $batch}
checkpoint: {kind: postgres, url: '$PBX_TEST_PG_URL', table: pbx_bench.pbx_checkpoint}
quarantine: {path: '$work/quarantine.jsonl'}
logging: {level: warn}
YAML
  /usr/bin/time -v -o "$work/$name.time" target/release/pbx-sideloader --config "$work/$name.yml" \
    backfill --from 2026-09-30 --to 2027-12-31 | tee "$work/$name.out"
  local rss secs
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$name.time")
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/$name.time")
  echo "backfill.sh: $name (concurrency $concurrency, batch $batch): wall $secs, peak RSS $((rss / 1024)) MB ($rss kB)"
}

# Issue 17's goal: >= 50 000 calls/s with at most 16 calls in flight (PBX_BENCH_CONCURRENCY).
run concurrent "${PBX_BENCH_CONCURRENCY:-16}" 5000
if [ "${PBX_BENCH_SEQUENTIAL:-1}" = 1 ]; then
  run sequential 1 500
fi
echo "backfill.sh: the API counted $(curl -s "http://$api/count" 2>/dev/null || echo '?') POSTs in all"
