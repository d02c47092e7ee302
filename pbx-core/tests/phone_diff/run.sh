#!/usr/bin/env bash
# The phone differential test: pbx-core's phone::normalize against Python `phonenumbers`
# (libphonenumber) on ≥ 100 000 generated inputs. Run from anywhere; safe to re-run.
# Installs `phonenumbers` (pinned to the libphonenumber metadata rlibphonenumber carries) into
# its own venv under target/. Exit 1 with the first disagreements printed when any.
set -euo pipefail
cd "$(dirname "$0")/../../.."

PHONENUMBERS_VERSION=9.0.42 # rlibphonenumber 2.2.15 embeds libphonenumber metadata 9.0.42
venv=target/pyenv-phone
work=target/phone-diff
if ! "$venv/bin/python" -c "import phonenumbers, sys; sys.exit(phonenumbers.__version__ != '$PHONENUMBERS_VERSION')" 2>/dev/null; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's python3 keeps venv in a separate package.
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "phonenumbers==$PHONENUMBERS_VERSION"
fi
mkdir -p "$work"
"$venv/bin/python" pbx-core/tests/phone_diff/gen.py "$work/cases.jsonl" "${PHONE_DIFF_SCALE:-1}"
PBX_PHONE_DIFF_IN="$PWD/$work/cases.jsonl" PBX_PHONE_DIFF_OUT="$PWD/$work/ours.jsonl" \
  cargo test --quiet --locked -p pbx-core --test phone_diff -- --ignored >/dev/null
"$venv/bin/python" pbx-core/tests/phone_diff/compare.py "$work/cases.jsonl" "$work/ours.jsonl"
