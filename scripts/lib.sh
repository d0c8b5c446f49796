#!/usr/bin/env bash
# Set-up shared by scripts/test.sh and scripts/demo.sh: a running PostgreSQL and a database.
# Source it with PG_URL set to the database wanted (postgres://user@host:port/db).

say() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

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
  if ! psql "${PG_URL%/*}/postgres" -Atqc "SELECT 1 FROM pg_database WHERE datname = '${PG_URL##*/}'" | grep -q 1; then
    say "creating database ${PG_URL##*/}"
    psql "${PG_URL%/*}/postgres" -qc "CREATE DATABASE \"${PG_URL##*/}\""
  fi
}

