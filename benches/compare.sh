#!/usr/bin/env bash
# pbx side by side with what it replaces, in one run on the same inputs (not part of
# scripts/test.sh: it builds release artifacts and takes several minutes).
#
#   benches/compare.sh [N]          N inputs per workload (default 1 000 000)
#   GB=0 benches/compare.sh         without the pbx-convert peak-RSS run on a 1 GB file (GB=1)
#
# Builds, everything under target/compare (apart from the tests' target dirs):
#   - the Rust helpers core-bench and phone-bench (release);
#   - the Python wheel (maturin --release) into the venv target/compare/venv, with
#     phonenumbers 9.0.42;
#   - the Node addon (napi build --release) into target/compare/node-pkg, and
#     libphonenumber-js 1.13.16 into target/compare/js.
# Inputs: the bundled sample replicated to N lines (core-bench lines N) and N phone numbers of
# the realistic mix (phone-bench mix N). Each timing runs in a process of its own under
# /usr/bin/time, which gives its peak RSS; each reports the best of a few runs after a warm-up.
# Needs cargo, python3 (with venv), node >= 20 and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${1:-1000000}
t=$root/target/compare
work=$t/work
mkdir -p "$work"
log=$t/build.log
: >"$log"
step() { printf '%s\n' "$*" >&2; }
quiet() { "$@" >>"$log" 2>&1 || { cat "$log" >&2; echo "compare.sh: failed: $*" >&2; exit 1; }; }

# 1. Release artifacts.
step "building core-bench and phone-bench (release)…"
quiet env CARGO_TARGET_DIR="$t/rust" cargo build --release --locked -p pbx-benches \
  --bin core-bench --bin phone-bench -p pbx-sideloader --bin pbx-convert
bin=$t/rust/release

step "building the Python wheel (maturin, release)…"
venv=$t/venv
if [ ! -x "$venv/bin/python" ]; then
  quiet python3 -m venv "$venv"
fi
quiet "$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.9,<2" "phonenumbers==9.0.42"
rm -rf "$t/wheels"
quiet env CARGO_TARGET_DIR="$t/python" "$venv/bin/maturin" build --release --locked \
  -m pbx-py/Cargo.toml -o "$t/wheels"
quiet "$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$t"/wheels/pbx-*.whl

step "building the Node addon (napi, release)…"
if [ ! -f pbx-node/node_modules/.package-lock.json ] ||
  [ pbx-node/package-lock.json -nt pbx-node/node_modules/.package-lock.json ]; then
  quiet bash -c "cd pbx-node && npm ci --no-audit --no-fund --loglevel=error"
fi
mkdir -p "$t/node-pkg"
quiet bash -c "cd pbx-node && npx napi build --platform --release --target-dir '$t/napi' \
  --output-dir '$t/node-pkg' --dts-header dts-header.d.ts"
cp pbx-node/package.json "$t/node-pkg/"
if [ ! -d "$t/js/node_modules/libphonenumber-js" ]; then
  mkdir -p "$t/js"
  quiet npm install --prefix "$t/js" --no-audit --no-fund --loglevel=error libphonenumber-js@1.13.16
fi

# 2. Inputs.
"$bin/core-bench" lines "$n" >"$work/cdr.txt"
"$bin/phone-bench" mix "$n" >"$work/mix.txt"

# 3. Timings. run NAME CMD…: stdout's `rate=` (or phone-bench's `N numbers/s`) and peak RSS.
declare -A rate rss
run() {
  local name=$1
  shift
  step "timing $name…"
  local out
  out=$(/usr/bin/time -f '%M' -o "$work/rss" "$@")
  rss[$name]=$(($(tail -n1 "$work/rss") / 1024))
  case $out in
    rate=*) rate[$name]=$(sed -E 's/^rate=([0-9]+).*/\1/' <<<"$out") ;;
    *" numbers/s"*) rate[$name]=$(sed -E 's/^([0-9]+) numbers.*/\1/' <<<"$out") ;;
    parse=*) rate[$name]=$(sed -E 's/.* core=([0-9]+).*/\1/' <<<"$out")
      rate[rust-parse]=$(sed -E 's/^parse=([0-9]+).*/\1/' <<<"$out")
      rate[rust-parse-owned]=$(sed -E 's/.* parse_owned=([0-9]+).*/\1/' <<<"$out")
      rate[rust-core-owned]=$(sed -E 's/.* core_owned=([0-9]+).*/\1/' <<<"$out")
      for k in rust-parse rust-parse-owned rust-core-owned; do rss[$k]=${rss[$name]}; done ;;
  esac
}
py=$venv/bin/python
nodejs=(env "NODE_PATH=$t/js/node_modules" "PBX_NODE=$t/node-pkg" node --max-old-space-size=8192 benches/js/bench.js)

run rust-core "$bin/core-bench" time "$work/cdr.txt"
run rust-phone "$bin/phone-bench" time "$work/mix.txt"
run py-phonenumbers "$py" benches/py/bench.py phone-phonenumbers "$work/mix.txt"
run py-pbx "$py" benches/py/bench.py phone-pbx "$work/mix.txt"
run py-pbx-detailed "$py" benches/py/bench.py phone-pbx-detailed "$work/mix.txt"
run py-cdr-plain "$py" benches/py/bench.py cdr-py "$work/cdr.txt"
run py-cdr "$py" benches/py/bench.py cdr-pbx "$work/cdr.txt"
run py-cdr-batch "$py" benches/py/bench.py cdr-pbx-batch "$work/cdr.txt"
run py-cdr-json "$py" benches/py/bench.py cdr-pbx-json "$work/cdr.txt"
run js-libphonenumber "${nodejs[@]}" phone-libphonenumber "$work/mix.txt"
run js-pbx "${nodejs[@]}" phone-pbx "$work/mix.txt"
run js-pbx-detailed "${nodejs[@]}" phone-pbx-detailed "$work/mix.txt"
run js-cdr "${nodejs[@]}" cdr-js "$work/cdr.txt"
run js-cdr-pbx "${nodejs[@]}" cdr-pbx "$work/cdr.txt"
run js-cdr-json "${nodejs[@]}" cdr-pbx-json "$work/cdr.txt"

# pbx-convert streaming a 1 GB CDR file (the sample replicated), output to /dev/null: peak RSS.
convert_rss=""
if [ "${GB:-1}" != 0 ]; then
  step "pbx-convert over a 1 GB file…"
  big=$work/cdr-1g.txt
  [ -f "$big" ] || "$bin/core-bench" lines 3900000 >"$big"
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$bin/pbx-convert" --timezone America/Anchorage \
    --extensions examples/data/extensions.yml "$big" >/dev/null
  convert_rss="$(($(tail -n1 "$work/rss") / 1024)) MB peak RSS over $(($(stat -c %s "$big") / 1000000)) MB in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
fi

# 4. The table.
fmt() { awk -v r="$1" 'BEGIN { if (r >= 1e6) printf "%.2f M/s", r / 1e6; else printf "%.0f k/s", r / 1e3 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; }
row() { # label ours theirs|- target
  local label=$1 ours=$2 theirs=$3 target=$4
  if [ "$theirs" = - ]; then
    printf '| %s | %s (%s MB) | – | – | %s |\n' "$label" "$(fmt "${rate[$ours]}")" "${rss[$ours]}" "$target"
  else
    printf '| %s | %s (%s MB) | %s (%s MB) | %s | %s |\n' "$label" "$(fmt "${rate[$ours]}")" \
      "${rss[$ours]}" "$(fmt "${rate[$theirs]}")" "${rss[$theirs]}" \
      "$(ratio "${rate[$ours]}" "${rate[$theirs]}")" "$target"
  fi
}
echo
echo "$n inputs per workload, one thread each; $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| workload | pbx (peak RSS) | baseline (peak RSS) | ratio | target |"
echo "|---|---:|---:|---:|---|"
row "CDR parse only, Rust zero-copy (\`parse_ref\`)" rust-parse - "≥ 5 M lines/s"
row "CDR parse only, Rust owned (\`parse_line\` → \`Cdr\`)" rust-parse-owned - "–"
row "core path (parse+classify+normalize+map+serialize), Rust zero-copy vs old-sideloader JS" rust-core js-cdr "≥ 2.5 M lines/s, ≥ 8×"
row "core path, Rust owned (\`Cdr\` → \`CallRequest\`, not serialized) vs old-sideloader JS" rust-core-owned js-cdr "–"
row "normalize, Rust \`normalize_batch\` vs Python \`phonenumbers\`" rust-phone py-phonenumbers "–"
row "normalize, Rust \`normalize_batch\` vs \`libphonenumber-js\`" rust-phone js-libphonenumber "–"
row "normalize, Python \`pbx.normalize_numbers\` (bulk: \`str \| None\`) vs \`phonenumbers\`" py-pbx py-phonenumbers "≥ 20×"
row "normalize, Python \`normalize_numbers(detailed=True)\` vs \`phonenumbers\`" py-pbx-detailed py-phonenumbers "–"
row "normalize, Node \`normalizeNumbers\` (bulk: \`string \| null\`) vs \`libphonenumber-js\`" js-pbx js-libphonenumber "≥ 15×"
row "normalize, Node \`normalizeNumbersDetailed\` vs \`libphonenumber-js\`" js-pbx-detailed js-libphonenumber "–"
row "CDR lines → calls, Node \`mapLinesJson\` + \`JSON.parse\` vs old-sideloader JS" js-cdr-json js-cdr "≥ 5×"
row "CDR lines → calls, Node \`CallMapper.mapLines\` (objects) vs old-sideloader JS" js-cdr-pbx js-cdr "–"
row "CDR lines → calls, Python \`map_lines_json\` + \`json.loads\` vs plain Python" py-cdr-json py-cdr-plain "≥ 5×"
row "CDR lines → calls, Python \`map_lines\` (objects) vs plain Python" py-cdr-batch py-cdr-plain "–"
row "CDR lines → calls, Python \`parse_lines\` + \`to_call_request\` vs plain Python" py-cdr py-cdr-plain "–"
if [ -n "$convert_rss" ]; then
  echo
  echo "pbx-convert on a 1 GB CDR file (target: peak RSS < 32 MB): $convert_rss"
fi
