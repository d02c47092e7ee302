#!/usr/bin/env bash
# Packaging checks: what users install must work from what the repository ships.
# scripts/test.sh runs all of them after the tests (it reuses their builds); run one or a few
# by name: scripts/packaging.sh versions licenses crates docs features config-docs systemd dockerfile wheel npm
#
#   versions     one version in Cargo.toml, pbx-py (from Cargo), pbx-node/package.json, CHANGELOG.md
#   licenses     every dependency's licence fits ours (MIT OR Apache-2.0), offline (scripts/check_deps.py)
#   crates       `cargo package --list` of pbx-core and pbx-sources holds only sources, README, licences
#   docs         `cargo doc --no-deps --workspace` with RUSTDOCFLAGS="-D warnings"
#   features     pbx-sources builds (cargo check) with --no-default-features, and with each feature alone
#   config-docs  docs/configuration.md's reference lists exactly the keys of the config structs
#   systemd      `systemd-analyze verify` of deploy/pbx-sideloader.service
#   dockerfile   deploy/Dockerfile keeps its conventions (it is not built: no container engine here)
#   wheel        `maturin build --release` → abi3 wheel, installed from the file into a fresh venv
#   npm          `npm pack` in pbx-node → tarball, installed into a scratch project, require + import
#
# Everything it writes lives under the git-ignored target/packaging/. Safe to re-run; the wheel
# and the native Node module are rebuilt only when their inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$PWD/target/packaging
mkdir -p "$work"
step() { printf '\n== packaging: %s\n' "$*"; }
fail() {
  echo "scripts/packaging.sh: $*" >&2
  exit 1
}

versions() {
  step "one version everywhere (scripts/check_versions.py)"
  python3 scripts/check_versions.py
}

licenses() {
  step "dependency licences and rust-version (cargo metadata + scripts/check_deps.py)"
  python3 scripts/check_deps.py
}

# Files a published crate may contain: its sources, the README, the licences, and what cargo
# itself adds. Anything else (test data, fixtures, build output) fails the step.
crates() {
  step "crate contents (cargo package --list)"
  local crate list bad
  for crate in pbx-core pbx-sources; do
    list=$(cargo package --no-verify --allow-dirty --locked -p "$crate" --list 2>"$work/package.err") ||
      { cat "$work/package.err" >&2; fail "cargo package --list failed for $crate"; }
    bad=$(printf '%s\n' "$list" | grep -Ev '^(src/.+\.(rs|sql|md)|README\.md|LICENSE-(MIT|APACHE)|Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|\.cargo_vcs_info\.json)$' || true)
    if [ -n "$bad" ]; then
      printf '%s\n' "$bad" >&2
      fail "$crate would publish the files above; adjust include in $crate/Cargo.toml"
    fi
    for need in README.md LICENSE-MIT LICENSE-APACHE src/lib.rs; do
      printf '%s\n' "$list" | grep -qx "$need" || fail "$crate's package lacks $need"
    done
    # Large files are data, not code (the biggest source file is far below this).
    (cd "$crate" && printf '%s\n' "$list" | grep '^src/' | while read -r f; do
      [ "$(wc -c <"$f")" -le 262144 ] || fail "$crate/$f is over 256 KiB: data does not belong in the crate"
    done)
    echo "$crate: $(printf '%s\n' "$list" | grep -c '') files, only sources, README and licences"
  done
}

docs() {
  step "API docs (RUSTDOCFLAGS='-D warnings' cargo doc --no-deps --workspace)"
  RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked --quiet
  echo "cargo doc: no warnings"
}

# Each feature of pbx-sources alone, read from cargo metadata so new ones are covered.
features() {
  step "pbx-sources: --no-default-features, then each feature alone (cargo check)"
  local list feature
  list=$(cargo metadata --format-version 1 --no-deps --locked | python3 -c '
import json, sys
pkg = next(p for p in json.load(sys.stdin)["packages"] if p["name"] == "pbx-sources")
print(" ".join(sorted(f for f in pkg["features"] if f != "default" and not f.startswith("_"))))')
  [ -n "$list" ] || fail "no features found for pbx-sources"
  echo "features: $list"
  # A warning (say, an import only another feature uses) fails the step too.
  check_alone() {
    local out
    out=$(cargo check --locked -p pbx-sources --no-default-features "$@" 2>&1) ||
      { printf '%s\n' "$out" >&2; fail "pbx-sources does not build with --no-default-features $*"; }
    if printf '%s\n' "$out" | grep -q '^warning'; then
      printf '%s\n' "$out" >&2
      fail "pbx-sources warns with --no-default-features $*"
    fi
    echo "  --no-default-features $*: ok"
  }
  check_alone
  for feature in $list; do
    check_alone --features "$feature"
  done
}

config_docs() {
  step "docs/configuration.md reference against pbx-core/src/config/raw.rs and the service sections"
  python3 scripts/check_config_reference.py
}

# systemd-analyze verify wants the unit's ExecStart binary and EnvironmentFile to exist and the
# system's own units (sysinit.target, …) to be loadable. A scratch root holds exactly that: the
# real pbx-sideloader binary where the unit expects it, an empty environment file and the
# distribution's units. verify exits 0 on some problems it only prints, so any output fails too.
systemd() {
  step "systemd unit (systemd-analyze verify deploy/pbx-sideloader.service)"
  if ! command -v systemd-analyze >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
  fi
  cargo build --quiet --locked -p pbx-sideloader --bin pbx-sideloader
  local bin=$PWD/target/debug/pbx-sideloader root=$work/systemd-root unit out units
  # The flags the unit passes must be flags the program knows.
  for flag in --config --json-logs; do
    grep -q -- "^ExecStart=.* $flag" deploy/pbx-sideloader.service || continue
    "$bin" --help | grep -q -- "$flag" || fail "the unit passes $flag, which pbx-sideloader does not know"
  done
  units=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /usr/lib/systemd/system)
  [ -d "$units" ] || units=/lib/systemd/system
  rm -rf "$root"
  mkdir -p "$root/usr/local/bin" "$root/etc/pbx" "$root/etc/systemd/system" "$root/usr/lib/systemd"
  cp -a "$units" "$root/usr/lib/systemd/system"
  ln "$bin" "$root/usr/local/bin/pbx-sideloader" 2>/dev/null || cp "$bin" "$root/usr/local/bin/"
  : >"$root/etc/pbx/sideloader.env"
  unit=$root/etc/systemd/system/pbx-sideloader.service
  cp deploy/pbx-sideloader.service "$unit"
  out=$(systemd-analyze verify --man=no --root="$root" "$unit" 2>&1) || {
    printf '%s\n' "$out" >&2
    fail "systemd-analyze verify failed"
  }
  if [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    fail "systemd-analyze verify reported problems"
  fi
  for key in Restart=on-failure ProtectSystem=strict StateDirectory= EnvironmentFile=; do
    grep -q "^$key" deploy/pbx-sideloader.service || fail "deploy/pbx-sideloader.service lacks $key"
  done
  echo "systemd-analyze verify: clean ($(systemd-analyze --version | head -1))"
}

# No container engine runs here, so the Dockerfile is not built (see the README). What can be
# checked without one: the conventions it must keep, and that the flags it passes exist.
dockerfile() {
  step "deploy/Dockerfile conventions (not built: no container engine in CI)"
  local f=deploy/Dockerfile bin=$PWD/target/debug/pbx-sideloader
  grep -Eq '^FROM .+ AS build$' "$f" || fail "$f: no build stage (multi-stage)"
  [ "$(grep -c '^FROM ' "$f")" -ge 2 ] || fail "$f: not multi-stage"
  grep -Eq '^USER [a-z]' "$f" && ! grep -Eq '^USER (root|0)\b' "$f" || fail "$f: must run as a non-root USER"
  grep -q '^VOLUME .*"/etc/pbx"' "$f" && grep -q '^VOLUME .*"/var/lib/pbx"' "$f" || fail "$f: config and state volumes"
  grep -q '^HEALTHCHECK .*' "$f" && grep -q '/health' "$f" || fail "$f: HEALTHCHECK on /health"
  grep -q -- '--bin pbx-sideloader' "$f" || fail "$f: does not build pbx-sideloader"
  cargo build --quiet --locked -p pbx-sideloader --bin pbx-sideloader
  for flag in $(grep '^CMD' "$f" | grep -o -- '--[a-z-]*'); do
    "$bin" --help | grep -q -- "$flag" || fail "$f passes $flag, which pbx-sideloader does not know"
  done
  [ -f .dockerignore ] && grep -q '^target/' .dockerignore || fail ".dockerignore must keep target/ out of the build context"
  echo "$f: multi-stage, non-root, volumes, HEALTHCHECK on /health, known flags"
}

# The wheel: maturin build --release (the issue asks for the release wheel users would get).
# It builds into target/python, beside pbx-py/tests/run.sh's dev-profile build, so pyo3 is
# configured the same way and neither invalidates the other. Rebuilt only when an input changed.
wheel() {
  step "Python wheel (maturin build --release; fresh venv installs the wheel file; smoke test)"
  local tools=$work/py-tools venv=$work/wheel-venv build=$PWD/target/python out=$work/wheels
  local stamp=$out/.built whl version
  if [ ! -x "$tools/bin/maturin" ]; then
    python3 -m venv "$tools"
    "$tools/bin/pip" install -q --disable-pip-version-check "maturin>=1.9,<2"
  fi
  local inputs=(pbx-py/src pbx-py/Cargo.toml pbx-py/pyproject.toml pbx-py/pbx.pyi pbx-py/README.md
    pbx-core/src pbx-core/Cargo.toml Cargo.toml Cargo.lock)
  if [ ! -f "$stamp" ] || [ -n "$(find "${inputs[@]}" -newer "$stamp" -print -quit)" ]; then
    rm -rf "$out"
    mkdir -p "$out"
    touch "$out/.new"
    local t0
    t0=$(date +%s)
    CARGO_TARGET_DIR=$build "$tools/bin/maturin" build --release --locked -q \
      -m pbx-py/Cargo.toml -o "$out" >"$work/maturin.log" 2>&1 ||
      { cat "$work/maturin.log" >&2; fail "maturin build --release failed"; }
    mv "$out/.new" "$stamp"
    echo "maturin build --release: $(($(date +%s) - t0)) s"
  fi
  whl=$(ls "$out"/*.whl)
  [ "$(printf '%s\n' "$whl" | grep -c '')" = 1 ] || fail "expected one wheel in $out"
  version=$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="pbx-py"))')
  case "$(basename "$whl")" in
    pbx-"$version"-cp39-abi3-*.whl) ;;
    *) fail "$(basename "$whl") is not a pbx $version abi3 (cp39) wheel" ;;
  esac
  # The metadata users see on PyPI.
  python3 - "$whl" "$version" <<'PY'
import sys, zipfile
whl, version = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    names = z.namelist()
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = z.read(meta).decode()
    for need in (f"Version: {version}", "Requires-Python: >=3.9", "License-Expression: MIT OR Apache-2.0",
                 "Classifier: Programming Language :: Python :: 3", "Classifier: Topic :: Communications :: Telephony"):
        if need not in text:
            sys.exit(f"wheel METADATA lacks {need!r}")
    for need in ("pbx/py.typed", "pbx/__init__.pyi", f"pbx-{version}.dist-info/licenses/LICENSE-MIT",
                 f"pbx-{version}.dist-info/licenses/LICENSE-APACHE"):
        if need not in names:
            sys.exit(f"wheel lacks {need}")
    bad = [n for n in names if n.endswith((".rs", ".log", ".jsonl")) or "/tests/" in n]
    if bad:
        sys.exit(f"wheel contains files that do not belong: {bad}")
print(f"wheel metadata: version {version}, Requires-Python >=3.9, MIT OR Apache-2.0, {len(names)} files")
PY
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-index "$whl"
  # Run from an empty directory, so only the installed wheel can be imported.
  mkdir -p "$work/empty"
  (cd "$work/empty" && "$venv/bin/python" - "$version" <<'PY'
import sys
import pbx
assert pbx.__version__ == sys.argv[1], (pbx.__version__, sys.argv[1])
assert "site-packages" in pbx.__file__, pbx.__file__
# The first line of examples/data/cdr-sample.log (its expectation: INBOUND, owner 101, 184 s).
line = ("Call 40001,000001A19D361A38_5204,00:03:04,2026/11/02 17:02:11,2026/11/02 17:02:20,"
        "2026/11/02 17:05:24,TerminatedBySrc,9075551234,Ext.101,10000,101,101,,Ext.101,101,,,,,"
        "Chain: 9075551234;Ext.101;,Line,Extension,Extension,9075551234,Anna Berg,Anna Berg,,")
mapping = pbx.MappingConfig(timezone="America/Anchorage", extensions={"101": "anna.berg@example.com"})
[(n, call)] = pbx.map_lines(pbx.CdrParser("27"), [line], mapping)
assert call["phoneNumber"] == "+19075551234" and call["callDirection"] == "INBOUND", call
assert call["callOwnerEmail"] == "anna.berg@example.com" and call["callDuration"] == 184, call
print(f"installed wheel: pbx {pbx.__version__} from {pbx.__file__}; one CDR line → {call['callDirection']} {call['phoneNumber']}")
PY
  )
  # The README's Python example, as written, against the installed wheel.
  python3 scripts/readme_example.py example.py >"$work/empty/example.py"
  local said
  said=$(cd "$work/empty" && "$venv/bin/python" example.py)
  printf 'README example.py: %s\n' "$said"
  case "$said" in *"INBOUND +19075551234 anna.berg@example.com"*) ;; *) fail "README example.py printed something else" ;; esac
}

# The npm tarball. It packs the native module napi built for this platform; that build is
# pbx-node/__test__/run.sh's (debug profile, already done by scripts/test.sh) or, when missing,
# made here the same way. `npm run build` in pbx-node makes the release module for publishing.
npm_pack() {
  step "Node package (npm pack; a scratch project installs the tarball, require()s and import()s it)"
  command -v npm >/dev/null || fail "npm (Node >= 20) is needed"
  local scratch=$work/npm-scratch tarball name version platform root=$PWD said
  if [ ! -f pbx-node/node_modules/.package-lock.json ] ||
    [ pbx-node/package-lock.json -nt pbx-node/node_modules/.package-lock.json ]; then
    (cd pbx-node && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if ! ls pbx-node/*.node >/dev/null 2>&1 || [ ! -f pbx-node/index.js ] || [ ! -f pbx-node/index.d.ts ] ||
    [ -n "$(find pbx-node/src pbx-core/src -newer pbx-node/index.js -print -quit)" ]; then
    (cd pbx-node && npx napi build --platform)
  fi
  # npm pack skips symbolic links, so pbx-node holds copies of the licences: keep them equal.
  for f in LICENSE-MIT LICENSE-APACHE; do
    cmp -s "$f" "pbx-node/$f" || fail "pbx-node/$f differs from $f (cp $f pbx-node/)"
  done
  name=$(node -p 'require("./pbx-node/package.json").name')
  version=$(node -p 'require("./pbx-node/package.json").version')
  rm -rf "$work/npm" "$scratch"
  mkdir -p "$work/npm" "$scratch"
  tarball=$(cd pbx-node && npm pack --silent --pack-destination "$work/npm")
  tarball=$work/npm/$tarball
  [ -f "$tarball" ] || fail "npm pack wrote no tarball"
  # The native module for this platform is inside; sources and tests are not.
  platform=$(node -p 'process.platform + "-" + process.arch')
  local files
  files=$(tar -tzf "$tarball" | sed 's#^package/##' | sort)
  for need in package.json index.js index.mjs index.d.ts README.md LICENSE-MIT LICENSE-APACHE; do
    printf '%s\n' "$files" | grep -qx "$need" || fail "the tarball lacks $need"
  done
  printf '%s\n' "$files" | grep -q "^pbx\.$platform.*\.node$" || fail "the tarball has no native module for $platform"
  if printf '%s\n' "$files" | grep -Eq '^(src/|__test__/|target/|Cargo\.toml|build\.rs|node_modules/)'; then
    printf '%s\n' "$files" >&2
    fail "the tarball contains sources, tests or build files"
  fi
  echo "$(basename "$tarball"): $(printf '%s\n' "$files" | tr '\n' ' ')($(du -h "$tarball" | cut -f1))"

  # A project of a user's: install the tarball (no registry, no build), then use it both ways.
  (
    cd "$scratch"
    printf '{ "name": "pbx-scratch", "version": "1.0.0", "private": true }\n' >package.json
    npm install --no-audit --no-fund --offline --loglevel=error "$tarball"
    [ ! -d "node_modules/$name/src" ] || fail "the installed package has sources"
    # Nothing runs or compiles at install time.
    node -e "const s = require('./node_modules/$name/package.json').scripts || {};
      for (const k of ['preinstall', 'install', 'postinstall']) if (s[k]) { console.error(k + ': ' + s[k]); process.exit(1) }" ||
      fail "the package runs a script at install time"
    cat >use.cjs <<EOF
const pbx = require('$name')
const assert = require('node:assert')
assert.strictEqual(pbx.version(), '$version')
assert.strictEqual(pbx.normalizeNumber('(907) 555-1234').value, '+19075551234')
assert.ok(require.resolve('$name').includes('node_modules'))
console.log('require("$name"): version ' + pbx.version())
EOF
    cat >use.mjs <<EOF
import assert from 'node:assert'
import { version, CdrParser } from '$name'
import pbx from '$name'
assert.strictEqual(version(), '$version')
assert.strictEqual(pbx.version, version)
assert.deepStrictEqual(new CdrParser('27').fields.length, 27)
console.log('import from "$name": version ' + version())
EOF
    cat >use.mts <<EOF
import { normalizeNumber, CdrParser } from '$name'
const parser: CdrParser = new CdrParser('27')
const n: string = String(normalizeNumber('(907) 555-1234').value)
console.log(parser.fields.length, n)
EOF
    # The declarations use Node's Buffer: a user's project has @types/node (pbx-node's own here).
    cat >use.cts <<EOF
import pbx = require('$name')
const n: number = new pbx.CdrParser('20').fields.length
console.log(n)
EOF
    cat >tsconfig.json <<EOF
{ "compilerOptions": { "module": "node16", "moduleResolution": "node16", "strict": true,
  "noEmit": true, "skipLibCheck": false, "typeRoots": ["$root/pbx-node/node_modules/@types"],
  "types": ["node"] }, "files": ["use.mts", "use.cts"] }
EOF
    node use.cjs
    node use.mjs
    # The README's Node examples, as written, against the installed package.
    python3 "$root/scripts/readme_example.py" example.cjs >example.cjs
    python3 "$root/scripts/readme_example.py" example.mjs >example.mjs
    said=$(node example.cjs)
    printf 'README example.cjs: %s\n' "$said"
    case "$said" in *"INBOUND +19075551234 anna.berg@example.com"*) ;; *) fail "README example.cjs printed something else" ;; esac
    said=$(node example.mjs)
    printf 'README example.mjs: %s\n' "$said"
    [ "$said" = "27 +19075551234" ] || fail "README example.mjs printed something else"
    "$root/pbx-node/node_modules/.bin/tsc" -p .
    echo "tsc: the installed package's types resolve through exports (node16)"
  )
}

all=(versions licenses crates docs features config-docs systemd dockerfile wheel npm)
for s in "${@:-${all[@]}}"; do
  case "$s" in
    versions | licenses | crates | docs | features | systemd | dockerfile | wheel) "$s" ;;
    config-docs) config_docs ;;
    npm) npm_pack ;;
    *) fail "unknown step $s (one of: ${all[*]})" ;;
  esac
done
