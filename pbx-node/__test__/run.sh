#!/usr/bin/env bash
# The Node binding's tests (scripts/test.sh runs this; safe to re-run):
#   npm ci where node_modules is missing or older than package-lock.json,
#   napi build (generates index.js, index.d.ts and the .node file; none is committed),
#   node --test pbx-node/__test__ (the shared test vectors tests/vectors/core.json, the shared
#   sample data, and line by line against pbx-convert's output),
#   `npm install ./pbx-node` into a scratch project (target/node-scratch) and `require` /
#   `import` from there, tsc --noEmit on the TypeScript example of the generated types,
#   then examples/node: tsc build of the services and node --test against an in-process
#   call-logger API.
# PBX_NODE_RELEASE=1 builds the native module in release mode (default: debug, which reuses
# what `cargo test --workspace` already compiled).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "pbx-node/__test__/run.sh: node and npm (Node >= 20) are needed for the Node binding" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "pbx-node/__test__/run.sh: Node >= 20 is needed (found $(node --version))" >&2
  exit 1
fi

# npm ci only when node_modules is missing or stale (npm writes node_modules/.package-lock.json).
npm_ci() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] \
    || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

npm_ci pbx-node
(cd pbx-node && npx napi build --platform ${PBX_NODE_RELEASE:+--release})

convert_out=$(mktemp)
trap 'rm -f "$convert_out"' EXIT
cargo run --quiet --locked -p pbx-sideloader --bin pbx-convert -- \
  --timezone America/Anchorage --extensions examples/data/extensions.yml \
  examples/data/cdr-sample.log >"$convert_out"

# The sideloader tests compare with the binary's output (a bad configuration's problems).
cargo build --quiet --locked -p pbx-sideloader --bin pbx-sideloader
sideloader_bin=$PWD/target/debug/pbx-sideloader
# sideloader_pg.test.mjs needs PBX_TEST_PG_URL (scripts/test.sh keeps its PostgreSQL up for it).
(cd pbx-node && PBX_CONVERT_OUTPUT="$convert_out" PBX_SIDELOADER_BIN="$sideloader_bin" \
  node --test --test-reporter=spec __test__/)

# The package as a user installs it: `npm install ./pbx-node` into a scratch project (a copy,
# --install-links, so only the files package.json lists are there), then `require` and
# `import` from that project.
root=$PWD
scratch=$root/target/node-scratch
rm -rf "$scratch" && mkdir -p "$scratch"
printf '{ "name": "pbx-node-scratch", "version": "0.0.0", "private": true }\n' >"$scratch/package.json"
(cd "$scratch" && npm install --no-audit --no-fund --loglevel=error --install-links "$root/pbx-node" >/dev/null)
cp pbx-node/__test__/installed.test.mjs "$scratch/"
(cd "$scratch" && node --test --test-reporter=spec installed.test.mjs)
(cd pbx-node && npx tsc -p __test__/tsconfig.json)
echo "tsc --noEmit: the TypeScript example of index.d.ts compiles"

npm_ci examples/node
(cd examples/node && rm -rf dist && npx tsc -p . && node --test --test-reporter=spec test/)
