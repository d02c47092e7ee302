#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for the PostgreSQL tests and benchmarks.
#
#   scripts/pg.sh CMD [ARGS...]   start a cluster, run CMD with PBX_TEST_PG_URL set, stop it
#   source scripts/pg.sh          define pbx_pg_start / pbx_pg_stop (scripts/test.sh does this)
#
# Idempotent and self-contained: installs PostgreSQL with apt when no server binaries are found,
# runs initdb in a fresh temporary directory (as the `postgres` user when run as root), listens
# on 127.0.0.1 only, on the first free port from 55432 (PBX_PG_PORT to start elsewhere), and
# removes everything when stopped. fsync is off: the data is disposable.

pbx_pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1) || true
  if [ -z "$bin" ] && command -v pg_ctl >/dev/null; then
    bin=$(dirname "$(command -v pg_ctl)")
  fi
  if [ -z "$bin" ]; then
    echo "scripts/pg.sh: installing PostgreSQL (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  printf '%s' "$bin"
}

# Runs a server binary as the cluster's owner.
pbx_pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pbx_pg_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Starts the cluster and exports PBX_TEST_PG_URL. Safe to call twice (the second call does
# nothing while the first cluster runs).
pbx_pg_start() {
  if [ -n "${PBX_PG_DIR:-}" ] && [ -d "$PBX_PG_DIR/data" ]; then
    return 0
  fi
  PBX_PG_BIN=$(pbx_pg_bin)
  PBX_PG_DIR=$(mktemp -d /tmp/pbxpg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    chown postgres:postgres "$PBX_PG_DIR"
  fi
  chmod 700 "$PBX_PG_DIR"
  pbx_pg_as_owner "$PBX_PG_BIN/initdb" -D "$PBX_PG_DIR/data" -A trust -U postgres --no-sync -E UTF8 >/dev/null
  # One role must give a password (the tests of a refused login); every other role is trusted.
  { echo "host all pbx_pw_login 127.0.0.1/32 scram-sha-256"; cat "$PBX_PG_DIR/data/pg_hba.conf"; } >"$PBX_PG_DIR/hba"
  pbx_pg_as_owner cp "$PBX_PG_DIR/hba" "$PBX_PG_DIR/data/pg_hba.conf"
  local port=${PBX_PG_PORT:-55432} tries=0
  while :; do
    while ! pbx_pg_port_free "$port"; do port=$((port + 1)); done
    if pbx_pg_as_owner "$PBX_PG_BIN/pg_ctl" -D "$PBX_PG_DIR/data" -l "$PBX_PG_DIR/log" -w -t 30 \
      -o "-p $port -k $PBX_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
      start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 5 ]; then
      echo "scripts/pg.sh: PostgreSQL did not start; log:" >&2
      cat "$PBX_PG_DIR/log" >&2
      return 1
    fi
    port=$((port + 1)) # another cluster took the port in between: try the next one
  done
  export PBX_PG_DIR PBX_PG_BIN
  export PBX_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "scripts/pg.sh: PostgreSQL $("$PBX_PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (PBX_TEST_PG_URL=$PBX_TEST_PG_URL)" >&2
}

pbx_pg_stop() {
  if [ -n "${PBX_PG_DIR:-}" ] && [ -d "$PBX_PG_DIR" ]; then
    pbx_pg_as_owner "$PBX_PG_BIN/pg_ctl" -D "$PBX_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PBX_PG_DIR"
  fi
  unset PBX_PG_DIR PBX_TEST_PG_URL
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ "$#" -eq 0 ]; then
    echo "usage: scripts/pg.sh CMD [ARGS...]  (or: source scripts/pg.sh; pbx_pg_start)" >&2
    exit 2
  fi
  trap pbx_pg_stop EXIT
  pbx_pg_start
  "$@"
fi
