#!/usr/bin/env bash
# Many PBXs (issue 27): the two configurations of benches/README.md, release builds —
# SITES sites (default 1 000) in one `pbx-sideloader fleet` process, then over three, each site
# a CDR file that receives a call every 5 s for 60 s, 20 s idle measured before the load.
#
#   scripts/pg.sh benches/fleet.sh [SITES]
set -euo pipefail
cd "$(dirname "$0")/.."
sites=${1:-1000}
: "${PBX_TEST_PG_URL:?run through scripts/pg.sh: scripts/pg.sh benches/fleet.sh}"
cargo build --release --locked -p pbx-sideloader --bin pbx-sideloader -p pbx-benches --bin fleet-bench
for processes in 1 3; do
  echo "fleet.sh: $sites sites over $processes process(es)"
  target/release/fleet-bench --bin target/release/pbx-sideloader --sites "$sites" \
    --processes "$processes" --every 5 --secs 60 --idle-secs 20
done
