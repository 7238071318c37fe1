#!/usr/bin/env bash
# Test-only system services: Debian's chromium (browser test) and a local
# PostgreSQL server (database reliability tests). Installs them when running as
# root with apt-get available; otherwise the tests that need them skip.
# Exports STARCNET_TEST_POSTGRES_URL when a server is up.
set -uo pipefail
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    echo "[setup] apt-get install ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/tmp/starcnet-apt.log 2>&1 \
      || echo "[setup] apt-get failed (see /tmp/starcnet-apt.log); dependent tests will skip"
  fi
fi
if [ -z "${STARCNET_TEST_POSTGRES_URL:-}" ] && [ "$(id -u)" = 0 ] && command -v pg_lsclusters >/dev/null 2>&1; then
  cluster="$(pg_lsclusters --no-header 2>/dev/null | head -1)"
  if [ -z "$cluster" ]; then
    ver="$(ls /usr/lib/postgresql | sort -n | tail -1)"
    pg_createcluster "$ver" main >/dev/null 2>&1 || true
    cluster="$(pg_lsclusters --no-header 2>/dev/null | head -1)"
  fi
  if [ -n "$cluster" ]; then
    # Sourced by run_tests.sh: never touch its positional arguments (pytest's).
    read -r pg_version pg_name port _ <<<"$cluster"
    pg_ctlcluster "$pg_version" "$pg_name" start >/dev/null 2>&1 || true
    if su postgres -c "psql -p $port -tAc 'select 1'" >/dev/null 2>&1; then
      su postgres -c "psql -p $port -q -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='starcnet') THEN CREATE ROLE starcnet LOGIN PASSWORD 'starcnet' CREATEDB; END IF; END \\\$\\\$;\"" >/dev/null 2>&1
      export STARCNET_TEST_POSTGRES_URL="postgresql+psycopg://starcnet:starcnet@127.0.0.1:$port/postgres"
      echo "[setup] PostgreSQL test server on port $port"
    fi
  fi
fi
