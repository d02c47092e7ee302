#!/usr/bin/env bash
# Runs every test of the workspace. Safe to re-run; installs what is missing by itself.
# `.ci/run` calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
t0=$(date +%s)

# --- Tools -------------------------------------------------------------------------------
if ! command -v cargo >/dev/null; then
  echo "scripts/test.sh: cargo is not on PATH; install Rust (https://rustup.rs) first" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
# pyo3's build script needs a Python 3 interpreter.
if ! command -v python3 >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3
fi

# --- Checks ------------------------------------------------------------------------------
step "format (cargo fmt --check)"
cargo fmt --all --check

step "lint (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests and doctests (cargo test --workspace), with a private PostgreSQL for pbx-sources' PG tests"
# scripts/pg.sh installs PostgreSQL when missing, runs a throw-away cluster on a free loopback
# port and exports PBX_TEST_PG_URL; the trap stops and removes it however this script ends.
# shellcheck source=scripts/pg.sh
source scripts/pg.sh
trap pbx_pg_stop EXIT
pbx_pg_start
cargo test --workspace --locked
# The tests that need PostgreSQL are `#[ignore = "needs PostgreSQL…"]` (a plain `cargo test`
# lists them as ignored instead of passing them silently); here the server is up, so run them.
cargo test -p pbx-sources --locked --test postgres --test source_errors --test explain_postgres -- --ignored
cargo test -p pbx-sideloader --locked --test postgres --test runtime --test explain_cli -- --ignored
# The fleet (issue #27): the store's leases and fencing, then three `pbx-sideloader fleet`
# processes with a kill, a pause and a graceful stop (~25 s).
cargo test -p pbx-sources --features runtime --locked --test fleet_store -- --ignored
cargo test -p pbx-sideloader --locked --test fleet -- --ignored --nocapture
# PostgreSQL stays up for the bindings' sideloader tests (pbx-py and pbx-node run.sh); it is
# stopped after the node binding's step below.

# --- SQL Server source (feature `mssql`, not in the default set) ------------------------
step "SQL Server source: lint, unit tests, doctests, the TDS double (live only with PBX_TEST_MSSQL_URL)"
cargo clippy -p pbx-sources --features mssql,delivery --all-targets --locked -- -D warnings
cargo test -p pbx-sources --features mssql,delivery --locked --lib mssql::
cargo test -p pbx-sources --features mssql,delivery --locked --test mssql --test mssql_live -- --nocapture
if [ -n "${PBX_TEST_MSSQL_URL:-}" ]; then
  # A real SQL Server is named: run the live test (ignored otherwise).
  cargo test -p pbx-sources --features mssql,delivery --locked --test mssql_live -- --ignored --nocapture
fi
cargo test -p pbx-sources --features mssql --locked --doc mssql
# The sideloader with `source.kind: mssql_table` (examples' feature `mssql`).
cargo clippy -p pbx-sideloader --features mssql --all-targets --locked -- -D warnings
# --- end SQL Server source ---------------------------------------------------------------

# --- phone differential test (pbx-core::phone vs Python phonenumbers) ---------------------
step "phone differential test: pbx-core::phone vs Python phonenumbers (>= 100 000 inputs)"
pbx-core/tests/phone_diff/run.sh
# --- end phone differential test ---------------------------------------------------------

step "benchmarks, once each in quick mode (cargo bench -- --test)"
cargo bench --workspace --locked -- --test

# --- python binding: build, pytest, mypy (pbx-py) -----------------------------------------
step "python binding: fresh venv, pip install ./pbx-py (maturin PEP 517), pytest (with the shared vectors), stubtest, mypy --strict"
pbx-py/tests/run.sh
# --- end python binding ------------------------------------------------------------------

# --- node binding: npm ci/install, napi build, node --test, tsc (pbx-node, examples/node) ---
step "node binding: npm ci (when needed), napi build, node --test (with the shared vectors), npm install ./pbx-node in a scratch project, tsc --noEmit; examples/node services"
pbx-node/__test__/run.sh
# --- end node binding ----------------------------------------------------------------------

# Both packages are built now: target/pyenv has pbx installed, pbx-node/index.js its .node.
step "python/node parity (scripts/parity.py)"
target/pyenv/bin/python scripts/parity.py
pbx_pg_stop
trap - EXIT

step "main job: the sideloader on its embedded default, twice (the second run delivers nothing)"
# out/ holds only this demo's output (calls, checkpoint, quarantine): start it afresh.
rm -rf out
first=$(cargo run --quiet --locked -p pbx-sideloader --bin pbx-sideloader -- --once)
second=$(cargo run --quiet --locked -p pbx-sideloader --bin pbx-sideloader -- --once)
printf '%s\n%s\n' "$first" "$second"
case "$first" in "pbx-sideloader: 0 delivered"*) echo "scripts/test.sh: the first run delivered nothing" >&2; exit 1 ;; esac
case "$second" in "pbx-sideloader: 0 delivered, 0 already delivered, 0 skipped"*) ;; *) echo "scripts/test.sh: the second run was not empty" >&2; exit 1 ;; esac

step "pbx-convert over the bundled sample: one JSON object per input line"
out=$(cargo run --quiet --locked -p pbx-sideloader --bin pbx-convert -- \
  --timezone America/Anchorage --extensions examples/data/extensions.yml examples/data/cdr-sample.log)
want=$(grep -c '' examples/data/cdr-sample.log)
got=$(printf '%s\n' "$out" | grep -c '^{"line":')
calls=$(printf '%s\n' "$out" | grep -c '"call":')
echo "pbx-convert: $got JSON lines for $want input lines ($calls calls)"
if [ "$got" != "$want" ]; then
  echo "scripts/test.sh: expected one JSON object per input line" >&2
  exit 1
fi

# --- packaging: versions, licences, crate contents, docs, feature-alone builds, config reference,
# systemd unit, Python wheel, npm tarball (scripts/packaging.sh; each step also runs alone) ---
step "packaging checks (scripts/packaging.sh)"
scripts/packaging.sh
# --- end packaging ---------------------------------------------------------------------------

step "done in $(( $(date +%s) - t0 )) s"
