#!/usr/bin/env bash
# The one command that tests tickflow on a fresh machine (README "Run the tests").
#
# Sets up what the integration tests need, then runs every test of the workspace:
#   - PostgreSQL on 127.0.0.1:5432: started when installed but stopped, installed when absent;
#   - the database the tests use (schemas inside it are per test);
#   - tansu, the Kafka-protocol broker the tests start on free ports, with its memory and its
#     SQLite storage (the broker-restart test needs a log that survives a restart): built once
#     with cargo into a cache, unless $TANSU names one.
# Environment: TICKFLOW_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/tickflow_test),
# TANSU (path of a tansu binary), TICKFLOW_CACHE (default ~/.cache/tickflow).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${TICKFLOW_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/tickflow_test}
export TICKFLOW_TEST_POSTGRES=$PG_URL
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

TANSU_VERSION=0.6.0
TANSU_FEATURES=dynostore,libsql
CACHE=${TICKFLOW_CACHE:-$HOME/.cache/tickflow}

ensure_tansu() {
  if [ -n "${TANSU:-}" ] && [ -x "$TANSU" ]; then return; fi
  local root=$CACHE/tansu-$TANSU_VERSION-${TANSU_FEATURES//,/-}
  if [ ! -x "$root/bin/tansu" ]; then
    say "building tansu $TANSU_VERSION ($TANSU_FEATURES) into $root (fifteen to twenty minutes, once)"
    cargo install tansu --version "$TANSU_VERSION" --locked --features "$TANSU_FEATURES" --root "$root" >&2
  fi
  TANSU=$root/bin/tansu; export TANSU
}

ensure_postgres
ensure_database
ensure_tansu
say "postgres: $TICKFLOW_TEST_POSTGRES; tansu: $TANSU"
cargo test --workspace --profile test-release "$@"
