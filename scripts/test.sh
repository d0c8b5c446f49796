#!/usr/bin/env bash
# The one command that tests tickflow on a fresh machine (README "Run the tests").
#
# Sets up what the integration tests need, then runs every test of the workspace:
#   - PostgreSQL on 127.0.0.1:5432: started when installed but stopped, installed when absent;
#   - the database the tests use (schemas inside it are per test);
#   - tansu, the Kafka-protocol broker the tests start on free ports: built once with cargo
#     (about eleven minutes) into a cache when it is not already on PATH.
# Environment: TICKFLOW_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/tickflow_test),
# TANSU (path of a tansu binary), TICKFLOW_CACHE (default ~/.cache/tickflow).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test.sh: %s\n' "$*" >&2; }

TANSU_VERSION=0.6.0
CACHE=${TICKFLOW_CACHE:-$HOME/.cache/tickflow}
export TICKFLOW_TEST_POSTGRES=${TICKFLOW_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/tickflow_test}
PG_ADMIN=${TICKFLOW_TEST_POSTGRES%/*}/postgres
DB=${TICKFLOW_TEST_POSTGRES##*/}

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "PostgreSQL is not installed: installing it from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    local v; v=$(ls /etc/postgresql | sort -n | tail -n 1)
    # Trust local TCP connections for the tests, as the project's machines do.
    sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/' "/etc/postgresql/$v/main/pg_hba.conf"
  fi
  local v; v=$(ls /etc/postgresql | sort -n | tail -n 1)
  say "starting PostgreSQL $v"
  pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return
    sleep 0.5
  done
  say "PostgreSQL did not come up on 127.0.0.1:5432"; exit 1
}

ensure_database() {
  if ! psql "$PG_ADMIN" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    say "creating database $DB"
    psql "$PG_ADMIN" -qc "CREATE DATABASE \"$DB\""
  fi
}

ensure_tansu() {
  if [ -n "${TANSU:-}" ] && [ -x "$TANSU" ]; then return; fi
  if command -v tansu >/dev/null 2>&1 && tansu --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
    TANSU=$(command -v tansu); export TANSU; return
  fi
  if [ ! -x "$CACHE/tansu/bin/tansu" ]; then
    say "building tansu $TANSU_VERSION into $CACHE/tansu (about eleven minutes, once)"
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore --root "$CACHE/tansu" >&2
  fi
  TANSU=$CACHE/tansu/bin/tansu; export TANSU
}

ensure_postgres
ensure_database
ensure_tansu
say "postgres: $TICKFLOW_TEST_POSTGRES; tansu: $TANSU"
cargo test --workspace --release "$@"
