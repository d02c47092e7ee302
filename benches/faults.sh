#!/usr/bin/env bash
# Delivery under faults (issue 26): ROWS calls (default 20 000) in a PostgreSQL site table,
# delivered by the sideloader's release build (`backfill`: call_api.concurrency 16,
# timeout_secs 2, batch_size 500) to benches/src/bin/faulty-call-api.rs, once against a clean
# API and once against the same API with 8 % 503, 3 % connection resets and 2 % answers after
# 3 s (past the timeout); the time until the API has stored every call, and the ratio.
#
#   scripts/pg.sh benches/faults.sh [ROWS]
#
# PBX_FAULTS_LATENCY_MS (default 2) is the API's answer time; set FAULT_503/FAULT_RESET/
# FAULT_SLOW to try another mix. Goal (issue 26): the faulty rate >= 50 % of the clean rate.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-20000}
: "${PBX_TEST_PG_URL:?run through scripts/pg.sh: scripts/pg.sh benches/faults.sh}"
psql="${PBX_PG_BIN:-/usr/bin}/psql"

cargo build --release --locked -p pbx-sideloader --bin pbx-sideloader -p pbx-benches --bin faulty-call-api
work=$(mktemp -d /tmp/pbx-faults.XXXXXX)
api_pid=
cleanup() {
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null || true
  "$psql" -q "$PBX_TEST_PG_URL" -c 'DROP SCHEMA IF EXISTS pbx_faults CASCADE' >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$psql" -q -v ON_ERROR_STOP=1 "$PBX_TEST_PG_URL" <<SQL
DROP SCHEMA IF EXISTS pbx_faults CASCADE;
CREATE SCHEMA pbx_faults;
CREATE TABLE pbx_faults.cdr (
    id bigserial PRIMARY KEY, history_id text, duration integer,
    time_start timestamptz, time_answered timestamptz, time_end timestamptz,
    reason text, from_no text, to_no text, from_dn text, to_dn text,
    final_number text, final_dn text, from_type text, to_type text, final_type text);
INSERT INTO pbx_faults.cdr (history_id, duration, time_start, time_answered, time_end,
    reason, from_no, to_no, from_dn, to_dn, final_number, final_dn, from_type, to_type, final_type)
SELECT g::text, 60, t, t + interval '5 s', t + interval '65 s', 'TerminatedBySrc',
    'Ext.' || (100 + g % 50), '+1907555' || lpad((g % 10000)::text, 4, '0'), (100 + g % 50)::text,
    '10000', '+1907555' || lpad((g % 10000)::text, 4, '0'), '10000', 'Extension', 'Line', 'Line'
FROM generate_series(1, $rows) g,
    LATERAL (SELECT timestamptz '2026-10-01 00:00:00+00' + g * interval '1 s' AS t) x;
ANALYZE pbx_faults.cdr;
SQL

run() { # NAME FAULT_503 FAULT_RESET FAULT_SLOW
  local name=$1
  FAULT_503=$2 FAULT_RESET=$3 FAULT_SLOW=$4 LATENCY_MS="${PBX_FAULTS_LATENCY_MS:-2}" \
    target/release/faulty-call-api >"$work/api-$name.out" &
  api_pid=$!
  for _ in $(seq 50); do grep -q listening "$work/api-$name.out" 2>/dev/null && break; sleep 0.1; done
  local api
  api=$(awk '/listening on/ {print $3}' "$work/api-$name.out")
  "$psql" -q "$PBX_TEST_PG_URL" -c 'DROP TABLE IF EXISTS pbx_faults.pbx_checkpoint' >/dev/null
  cat >"$work/$name.yml" <<YAML
pbx: {timezone: UTC}
source:
  kind: postgres_table
  url: '$PBX_TEST_PG_URL'
  table: pbx_faults.cdr
  columns: {id: id, historyid: history_id, duration: duration, time-start: time_start,
    time-answered: time_answered, time-end: time_end, reason-terminated: reason, from-no: from_no,
    to-no: to_no, from-dn: from_dn, to-dn: to_dn, final-number: final_number, final-dn: final_dn,
    from-type: from_type, to-type: to_type, final-type: final_type}
call_api: {base_url: 'http://$api', concurrency: 16, timeout_secs: 2}
extensions: {default_email: 'pbx@example.com'}
polling: {batch_size: 500}
checkpoint: {kind: postgres, url: '$PBX_TEST_PG_URL', table: pbx_faults.pbx_checkpoint}
quarantine: {path: '$work/quarantine-$name.jsonl'}
logging: {level: error}
YAML
  local start end stored
  start=$(date +%s.%N)
  target/release/pbx-sideloader --config "$work/$name.yml" \
    backfill --from 2026-09-30 --to 2027-12-31 | tee "$work/$name.out"
  end=$(date +%s.%N)
  stored=$(curl -s "http://$api/count")
  kill "$api_pid"; wait "$api_pid" 2>/dev/null || true; api_pid=
  secs=$(echo "$end - $start" | bc)
  echo "faults.sh: $name: $stored of $rows calls stored in $secs s" | tee -a "$work/summary"
  echo "$secs" >"$work/$name.secs"
}

run clean 0 0 0
run faulty "${FAULT_503:-8}" "${FAULT_RESET:-3}" "${FAULT_SLOW:-2}"
clean=$(cat "$work/clean.secs"); faulty=$(cat "$work/faulty.secs")
echo "faults.sh: faulty/clean time $(echo "scale=2; $faulty / $clean" | bc) (faulty rate $(echo "scale=0; 100 * $clean / $faulty" | bc) % of clean)"
