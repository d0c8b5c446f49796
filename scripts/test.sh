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

PG_URL=${TICKFLOW_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/tickflow_test}
export TICKFLOW_TEST_POSTGRES=$PG_URL
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

TANSU_VERSION=0.6.0
CACHE=${TICKFLOW_CACHE:-$HOME/.cache/tickflow}

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
