#!/usr/bin/env bash
# pbx-convert gives byte-identical output before and after a change (not part of
# scripts/test.sh: it needs a binary built from the old commit).
#
#   benches/same-output.sh OLD_PBX_CONVERT NEW_PBX_CONVERT [EXTRA_FILE…]
#
# Runs both binaries over the bundled samples (cdr-sample.log with --template 27,
# cdr-v16-20field.log with --template 20) and any extra 27-field files, each with four option
# sets, and compares stdout and exit codes with cmp. Prints one line per run and exits 1 on any
# difference. An old binary: `git worktree add /tmp/old <commit> && (cd /tmp/old && cargo build
# -p pbx-sideloader --bin pbx-convert)`.
set -uo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2
shift 2
d=examples/data
inputs=("$d/cdr-sample.log|27" "$d/cdr-v16-20field.log|20")
for f in "$@"; do inputs+=("$f|27"); done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
for input in "${inputs[@]}"; do
  f=${input%|*} tpl=${input#*|}
  for opts in "" \
    "--timezone America/Anchorage --extensions $d/extensions.yml" \
    "--timezone America/Anchorage --extensions $d/extensions.yml --include-internal --trunk-dns 10000 --service-dns 800,801" \
    "--timezone Europe/Stockholm --default-region SE --extensions $d/extensions.yml --service-dns 611"; do
    # shellcheck disable=SC2086 # the option sets are word lists
    "$old" --template "$tpl" $opts "$f" >"$tmp/old"
    ra=$?
    # shellcheck disable=SC2086
    "$new" --template "$tpl" $opts "$f" >"$tmp/new"
    rb=$?
    n=$((n + 1))
    if cmp -s "$tmp/old" "$tmp/new" && [ "$ra" = "$rb" ]; then
      echo "same: $f [$opts] ($(wc -l <"$tmp/new") lines, $(grep -c '"call"' "$tmp/new") calls)"
    else
      fail=$((fail + 1))
      echo "DIFFERENT: $f [$opts]"
    fi
  done
done
echo "$n runs, $fail different"
[ "$fail" = 0 ]
