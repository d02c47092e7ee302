#!/usr/bin/env bash
# A one-day backfill over the CDR text sources (issue #29 point 3): a `directory` of FILES
# one-call files (default 50 000) and a single `file` of the same calls, spread evenly over a
# year (each directory file last modified when its call ended, as 3CX leaves it), backfilled
# for one day in the middle by `pbx-sideloader backfill` into a JSON-lines sink (no API).
# Prints the closing summary (records read, calls) and the wall time of each.
#
#   benches/backfill-files.sh [FILES]
#   PBX_SIDELOADER=/path/to/pbx-sideloader benches/backfill-files.sh   # another build
#
# Without PBX_SIDELOADER it builds and uses the release binary. Everything lives in a
# temporary directory removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-50000}
bin=${PBX_SIDELOADER:-}
if [ -z "$bin" ]; then
  cargo build --release --locked -p pbx-sideloader --bin pbx-sideloader
  bin=target/release/pbx-sideloader
fi
work=$(mktemp -d /tmp/pbx-backfill-files.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "backfill-files.sh: writing $files calls over 365 days to $work" >&2
python3 - "$work" "$files" <<'PY'
import os, sys, datetime as dt
work, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{work}/cdr")
base = dt.datetime(2025, 11, 1, tzinfo=dt.timezone.utc)
step = dt.timedelta(days=365) / n
fmt = "%Y/%m/%d %H:%M:%S"
with open(f"{work}/cdr.log", "w") as single:
    for i in range(n):
        start = base + step * i
        answered, end = start + dt.timedelta(seconds=9), start + dt.timedelta(seconds=193)
        line = (f"Call {40000 + i},{i:016X}_5204,00:03:04,{start:{fmt}},{answered:{fmt}},"
                f"{end:{fmt}},TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,"
                "Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,\r\n")
        single.write(line)
        path = f"{work}/cdr/cdr-{start:%y%m%d%H%M%S}.{i:06d}.log"
        with open(path, "w") as f:
            f.write(line)
        os.utime(path, (end.timestamp(), end.timestamp()))
PY

run() { # NAME SOURCE-YAML
  local name=$1 source=$2
  rm -f "$work/calls.jsonl" "$work/checkpoint.json" "$work/quarantine.jsonl"
  cat >"$work/$name.yml" <<YAML
pbx: {timezone: UTC}
source: $source
call_api: {base_url: 'file:$work/calls.jsonl'}
extensions: {default_email: 'pbx@example.com'}
checkpoint: {kind: file, path: '$work/checkpoint.json'}
quarantine: {path: '$work/quarantine.jsonl'}
logging: {level: warn}
YAML
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$("$bin" --config "$work/$name.yml" backfill --from 2026-05-01 --to 2026-05-01)
  t1=$(date +%s.%N)
  echo "$out"
  echo "backfill-files.sh: $name ($files calls over a year, one day backfilled): wall $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
}

run directory "{kind: directory, path: '$work/cdr'}"
run file "{kind: file, path: '$work/cdr.log'}"
