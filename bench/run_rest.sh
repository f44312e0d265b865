#!/usr/bin/env bash
# REST benchmark of the demo server on PostgreSQL: fresh database `llana_bench` (127.0.0.1:5432, user
# postgres), migrate, llana_demo, then for each server (daphne, uvicorn) start it on a free port with
# SKIP_AUTH=true and DEBUG off, run bench/rest_load.py (list, get, create, update), stop it.
#
#   bash bench/run_rest.sh                    # daphne and uvicorn, 30 s per operation
#   DURATION=10 SERVERS=daphne bash bench/run_rest.sh
#   SOAK_MINUTES=10 SERVERS= bash bench/run_rest.sh         # only a soak of the list workload (daphne)
#   DURATION=10 OPS=list SERVERS=uvicorn bash bench/run_rest.sh
#
# uvicorn runs with the production flags of project/asgi.py (uvloop, httptools).
# Environment: DURATION (s, default 30), CONCURRENCY (16), SERVERS ("daphne uvicorn"; empty: none), OPS (operations,
# default "list,get,create,update"), SOAK_MINUTES (0 = no soak), SOAK_SERVER (daphne), BENCH_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/llana_bench). Server logs: $TMPDIR/llana-bench/*.log
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
DURATION="${DURATION:-30}"
CONCURRENCY="${CONCURRENCY:-16}"
SERVERS="${SERVERS-daphne uvicorn}"
SOAK_MINUTES="${SOAK_MINUTES:-0}"
OPS="${OPS:-list,get,create,update}"
export DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/llana_bench}"
export SKIP_AUTH=true
export SKIP_AUTH_ACKNOWLEDGED=true  # SKIP_AUTH with DEBUG off: meant here (llana.E201)
export DJANGO_DEBUG=false
export DJANGO_SECRET_KEY="bench-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export LLANA_LOG_LEVEL=WARNING
unset REDIS_URL REDIS_HOST
LOG_DIR="${TMPDIR:-/tmp}/llana-bench"
mkdir -p "$LOG_DIR"

echo "=== database: fresh ${DATABASE_URL##*/}"
$PY - <<'EOF'
import os
import dj_database_url
import psycopg
cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
with psycopg.connect(host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"], password=cfg["PASSWORD"] or None,
                     dbname="postgres", autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
EOF
$PY manage.py migrate --noinput -v0
$PY manage.py llana_demo

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$SERVER_PID" 2>/dev/null || true  # a server stuck in shutdown
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT

start_server() {  # name port
  case "$1" in
    daphne) .venv/bin/daphne -b 127.0.0.1 -p "$2" project.asgi:application >"$LOG_DIR/$1.log" 2>&1 & ;;
    uvicorn) .venv/bin/uvicorn project.asgi:application --host 127.0.0.1 --port "$2" --no-access-log \
               --loop uvloop --http httptools --ws websockets-sansio --ws-per-message-deflate false --lifespan off \
               --log-level warning >"$LOG_DIR/$1.log" 2>&1 & ;;
    *) echo "unknown server $1" >&2; exit 2 ;;
  esac
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -fs -o /dev/null "http://127.0.0.1:$2/tables"; then return 0; fi
    sleep 0.2
  done
  echo "$1 did not answer on port $2; see $LOG_DIR/$1.log" >&2
  exit 1
}

for server in $SERVERS; do
  port=$(free_port)
  echo "=== $server on 127.0.0.1:$port"
  start_server "$server" "$port"
  $PY bench/rest_load.py --url "http://127.0.0.1:$port" --duration "$DURATION" --concurrency "$CONCURRENCY" \
    --ops "$OPS" --server-pid "$SERVER_PID" || true
  stop_server
done

if [ "$SOAK_MINUTES" != "0" ]; then
  server="${SOAK_SERVER:-daphne}"
  port=$(free_port)
  echo "=== soak: $server on 127.0.0.1:$port, $SOAK_MINUTES min"
  start_server "$server" "$port"
  echo "server RSS before: $(ps -o rss= -p "$SERVER_PID") KiB"
  $PY bench/rest_load.py --url "http://127.0.0.1:$port" --soak "$SOAK_MINUTES" --concurrency "$CONCURRENCY" \
    --server-pid "$SERVER_PID" || true
  echo "server RSS after: $(ps -o rss= -p "$SERVER_PID") KiB"
  stop_server
fi
