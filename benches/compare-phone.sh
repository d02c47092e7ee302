#!/usr/bin/env bash
# Phone-number normalization, pbx (Rust, one thread, batch path) vs Python `phonenumbers` and
# `libphonenumber-js` on the same inputs, printed side by side with ratios. Not part of
# scripts/test.sh (it takes a few minutes). Installs the two libraries under target/.
# Usage: benches/compare-phone.sh [N]   (default 1 000 000 inputs per workload)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
work=target/phone-compare
venv=target/pyenv-phone
mkdir -p "$work"

if ! "$venv/bin/python" -c "import phonenumbers" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "phonenumbers==9.0.42"
fi
if [ ! -d "$work/node/node_modules/libphonenumber-js" ]; then
  mkdir -p "$work/node"
  (cd "$work/node" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund libphonenumber-js@1.13.16)
fi

cargo build --quiet --release --locked -p pbx-benches --bin phone-bench
bin=target/release/phone-bench
"$bin" mix "$n" > "$work/mix.txt"
"$bin" nanp "$n" > "$work/nanp.txt"

cat > "$work/py_bench.py" <<'PY'
import sys, time
import phonenumbers
from phonenumbers import PhoneNumberFormat
raws = open(sys.argv[1], encoding="utf-8").read().splitlines()
def run():
    out = []
    for s in raws:
        try:
            n = phonenumbers.parse(s, "US")
            out.append(phonenumbers.format_number(n, PhoneNumberFormat.E164)
                       if phonenumbers.is_possible_number(n) else None)
        except phonenumbers.NumberParseException:
            out.append(None)
    return out
times = []
for _ in range(2):
    t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
print(f"{len(raws) / min(times):.0f} numbers/s")
PY

cat > "$work/node/js_bench.js" <<'JS'
const fs = require('fs');
const { parsePhoneNumber } = require('libphonenumber-js');
const raws = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.length);
function run() {
  const out = [];
  for (const s of raws) {
    try {
      const n = parsePhoneNumber(s, 'US');
      out.push(n.isPossible() ? n.format('E.164') : null);
    } catch (e) {
      out.push(null);
    }
  }
  return out;
}
let best = Infinity;
for (let i = 0; i < 3; i++) {
  const t = process.hrtime.bigint(); run();
  best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
}
console.log(`${(raws.length / best).toFixed(0)} numbers/s`);
JS

rate() { sed -E 's/^([0-9]+) numbers.*/\1/'; }
printf '%-22s %14s %14s %14s %10s %10s\n' workload pbx python node pbx/python pbx/node
for w in nanp mix; do
  ours=$("$bin" time "$work/$w.txt" | rate)
  py=$("$venv/bin/python" "$work/py_bench.py" "$work/$w.txt" | rate)
  js=$(node "$work/node/js_bench.js" "$PWD/$work/$w.txt" | rate)
  printf '%-22s %14s %14s %14s %9.0fx %9.0fx\n' "$w" "$ours" "$py" "$js" \
    "$(echo "$ours / $py" | bc -l)" "$(echo "$ours / $js" | bc -l)"
done
echo "cold start: $("$bin" cold)"
