#!/usr/bin/env bash
# The Python binding's checks, with the package installed the way a user installs it: a fresh
# venv, then `pip install ./pbx-py` (a build from source through maturin's PEP 517 backend),
# then pytest, mypy.stubtest (pbx.pyi against the installed module) and mypy --strict on the
# tests and examples/python. When a CPython 3.9 is found (the oldest the abi3 wheel supports),
# the same wheel (`pip wheel ./pbx-py`) is installed and tested there too. Called by
# scripts/test.sh; safe to re-run.
#
# Run time stays bounded: the venv is new every run, but pip's cache holds the tools, and the
# extension's cargo build lives in target/python (CARGO_TARGET_DIR, passed through pip to
# maturin; a directory of its own because maturin sets PYO3_BUILD_EXTENSION_MODULE, which
# pyo3's build script watches, so sharing target/debug with `cargo test` would rebuild pyo3 on
# every alternation). The build uses the dev profile (MATURIN_PEP517_ARGS; a user's
# `pip install ./pbx-py` builds in release): the tests check behaviour, not speed.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=$PWD/target/python
venv=$PWD/target/pyenv
venv39=$PWD/target/py39
mkdir -p "$build"
log=$build/last.log
quiet_pip() { "$1/bin/pip" install -q --disable-pip-version-check "${@:2}"; }
export CARGO_TARGET_DIR=$build MATURIN_PEP517_ARGS="--locked --profile dev"

# 1. A fresh venv; the package from source, as in the README; the test tools.
rm -rf "$venv"
python3 -m venv "$venv"
t0=$(date +%s)
if ! "$venv/bin/pip" install --disable-pip-version-check ./pbx-py >"$log" 2>&1; then
  cat "$log" >&2
  echo "pbx-py/tests/run.sh: pip install ./pbx-py failed" >&2
  exit 1
fi
echo "pip install ./pbx-py: $(grep -o 'Successfully installed.*' "$log") in $(($(date +%s) - t0)) s"
quiet_pip "$venv" "pytest>=8" "mypy>=1.10"

py39=""
for candidate in python3.9 "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.9*/bin/python3.9; do
  if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 9)' 2>/dev/null; then
    py39=$candidate
    break
  fi
done
if [ -n "$py39" ]; then
  rm -rf "$venv39" "$build/wheels"
  "$py39" -m venv "$venv39"
  quiet_pip "$venv39" "pytest>=8"
  # The abi3 wheel the same source gives (no new compilation: the cargo build above is reused).
  "$venv/bin/pip" wheel -q --disable-pip-version-check --no-deps ./pbx-py -w "$build/wheels" >>"$log" 2>&1
  quiet_pip "$venv39" "$build"/wheels/pbx-*.whl
fi
export VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH MYPY_CACHE_DIR=$build/mypy-cache

# 2. pbx-convert, for the parity test, and pbx-sideloader, to compare configuration errors
# (the main job of scripts/test.sh builds both anyway).
(unset CARGO_TARGET_DIR && cargo build --quiet --locked -p pbx-sideloader --bin pbx-convert --bin pbx-sideloader)
export PBX_CONVERT=$PWD/target/debug/pbx-convert PBX_SIDELOADER=$PWD/target/debug/pbx-sideloader
# test_sideloader.py's PostgreSQL scenario needs PBX_TEST_PG_URL (scripts/test.sh keeps its
# PostgreSQL up for it).

# 3. Tests (run from the repository, importing the installed package), stubs against the
# installed module, type check of the tests and the example.
python -c 'import pbx, sys; assert "site-packages" in pbx.__file__, pbx.__file__'
python -m pytest -q -p no:cacheprovider pbx-py/tests
if [ -n "$py39" ]; then
  echo "the same wheel on $("$venv39/bin/python" -V):"
  "$venv39/bin/python" -m pytest -q -p no:cacheprovider pbx-py/tests
else
  echo "no CPython 3.9 found: the package is tested on $(python -V) only"
fi
python -m mypy.stubtest pbx --allowlist pbx-py/stubtest-allowlist.txt
# mypy 2 checks against Python 3.10 at the oldest.
python -m mypy --strict --python-version 3.10 pbx-py/tests examples/python
