#!/usr/bin/env bash
# The Python binding's checks: build the `pbx` abi3 wheel (maturin) and install it into a
# private venv, then pytest, mypy.stubtest (pbx.pyi against the built module) and
# mypy --strict on the tests and examples/python. When a CPython 3.9 is found (the oldest the
# wheel supports), the same wheel is tested there too. Called by scripts/test.sh; safe to
# re-run, and quick when nothing changed.
#
# Everything lives under the git-ignored target/: venvs in target/pyenv and target/py39, the
# extension's cargo build in target/python (a directory of its own: maturin sets
# PYO3_BUILD_EXTENSION_MODULE, which pyo3's build script watches, so sharing target/debug with
# `cargo test` would rebuild pyo3 and everything above it on every alternation).
set -euo pipefail
cd "$(dirname "$0")/../.."

build=$PWD/target/python
venv=$PWD/target/pyenv
venv39=$PWD/target/py39
tools="maturin>=1.9,<2 pytest>=8 mypy>=1.10"
mkdir -p "$build"
log=$build/last.log
quiet_pip() { "$1/bin/pip" install -q --disable-pip-version-check "${@:2}"; }

# 1. The venvs and their tools, installed once (again only when the list changes).
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.tools" 2>/dev/null)" != "$tools" ]; then
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the list is split on purpose
  quiet_pip "$venv" $tools
  echo "$tools" >"$venv/.tools"
fi
py39=""
for candidate in python3.9 "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.9*/bin/python3.9; do
  if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 9)' 2>/dev/null; then
    py39=$candidate
    break
  fi
done
if [ -n "$py39" ] && [ ! -x "$venv39/bin/pytest" ]; then
  "$py39" -m venv "$venv39"
  quiet_pip "$venv39" "pytest>=8"
fi
export VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH MYPY_CACHE_DIR=$build/mypy-cache

# 2. Build the wheel and install it, unless no input changed since the last successful build.
stamp=$build/.built
inputs=(pbx-py/src pbx-py/Cargo.toml pbx-py/pyproject.toml pbx-py/pbx.pyi pbx-py/README.md
  pbx-core/src pbx-core/Cargo.toml Cargo.toml Cargo.lock)
if [ ! -f "$stamp" ] || [ -n "$(find "${inputs[@]}" -newer "$stamp" -print -quit)" ] ||
  ! python -c "import pbx" 2>/dev/null || { [ -n "$py39" ] && ! "$venv39/bin/python" -c "import pbx" 2>/dev/null; }; then
  touch "$stamp.new"
  t0=$(date +%s)
  rm -rf "$build/wheels"
  if ! CARGO_TARGET_DIR=$build maturin build --locked -q -m pbx-py/Cargo.toml -o "$build/wheels" >"$log" 2>&1; then
    cat "$log" >&2
    echo "pbx-py/tests/run.sh: maturin build failed" >&2
    exit 1
  fi
  for v in "$venv" ${py39:+"$venv39"}; do
    quiet_pip "$v" --force-reinstall --no-deps "$build"/wheels/pbx-*.whl
  done
  mv "$stamp.new" "$stamp"
  echo "built and installed $(basename "$build"/wheels/pbx-*.whl) in $(($(date +%s) - t0)) s"
else
  echo "pbx is up to date (no change under pbx-py/ or pbx-core/)"
fi

# 3. pbx-convert, for the parity test (the main job of scripts/test.sh builds it anyway).
cargo build --quiet --locked -p pbx-examples --bin pbx-convert
export PBX_CONVERT=$PWD/target/debug/pbx-convert

# 4. Tests, stubs against the module, type check of the tests and the example.
python -m pytest -q -p no:cacheprovider pbx-py/tests
if [ -n "$py39" ]; then
  echo "the same wheel on $("$venv39/bin/python" -V):"
  "$venv39/bin/python" -m pytest -q -p no:cacheprovider pbx-py/tests
else
  echo "no CPython 3.9 found: the wheel is tested on $(python -V) only"
fi
python -m mypy.stubtest pbx --allowlist pbx-py/stubtest-allowlist.txt
# mypy 2 checks against Python 3.10 at the oldest.
python -m mypy --strict --python-version 3.10 pbx-py/tests examples/python
