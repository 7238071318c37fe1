#!/usr/bin/env bash
# Start StarcNet Studio: migrate the database, build the demo on first run,
# start the job worker and the Streamlit server.
# Usage: ./run_app.sh [--port N] [--address HOST]
# Listens on localhost only unless --address says otherwise (0.0.0.0: every
# interface); on a lab server, put it behind a reverse proxy with TLS (README).
# Honours DATABASE_URL (default: SQLite in $STARCNET_DATA_DIR, default ./data).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port=8501
address=127.0.0.1
usage="usage: $0 [--port N] [--address HOST]"
while [ $# -gt 0 ]; do
  case "$1" in
    --port|--address)
      [ $# -ge 2 ] || { echo "$1 needs a value ($usage)" >&2; exit 2; }
      if [ "$1" = --port ]; then port="$2"; else address="$2"; fi
      shift 2 ;;
    --port=*) port="${1#--port=}"; shift ;;
    --address=*) address="${1#--address=}"; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "unknown option $1 ($usage)" >&2; exit 2 ;;
  esac
done
case "$port" in
  ''|*[!0-9]*) echo "--port $port: not a port number ($usage)" >&2; exit 2 ;;
esac
cd "$root"
source "$root/scripts/setup_venv.sh"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export STARCNET_DATA_DIR="${STARCNET_DATA_DIR:-$root/data}"
mkdir -p "$STARCNET_DATA_DIR"

python -m webapp init-db
# First run only: simulated galaxy + lite model + scores, with progress lines.
python -m webapp bootstrap-demo --if-missing

# One worker; more (`python -m webapp worker`, on this or other machines against the
# same DATABASE_URL) score in parallel: see docs/DATABASE.md, "Several workers".
# The log is appended, not overwritten: a worker's failure stays readable after the next start.
echo "[app] worker started $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$STARCNET_DATA_DIR/worker.log"
python -m webapp worker >>"$STARCNET_DATA_DIR/worker.log" 2>&1 &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT INT TERM
echo "[app] worker running (pid $worker, log $STARCNET_DATA_DIR/worker.log)"
echo "[app] StarcNet Studio at http://$address:$port"
python -m streamlit run "$root/webapp/app.py" \
  --server.address "$address" --server.port "$port" --server.headless true --browser.gatherUsageStats false \
  --server.fileWatcherType none --server.maxUploadSize 1000
