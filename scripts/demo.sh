#!/usr/bin/env bash
# The one command that shows tickflow working on a fresh machine (README "Run the demo"):
# makes sure PostgreSQL runs and a `tickflow_demo` database exists, builds tickflow, and runs
# `tickflow demo` (embedded broker + simulator + pipeline). Extra arguments go to `demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${TICKFLOW_POSTGRES:-postgres://postgres@127.0.0.1:5432/tickflow_demo}
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
ensure_postgres
ensure_database
cargo build --release --bin tickflow
exec target/release/tickflow demo --postgres "$PG_URL" --count 0 "$@"
