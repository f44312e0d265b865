#!/usr/bin/env bash
# The realtime table-feed benchmark (bench/realtime_feed.py) in every configuration of docs/benchmarks.md,
# on a fresh PostgreSQL database each time. One JSON result file per run in $OUT (default /tmp/llana-feed-bench).
#
#   bash bench/run_realtime_feed.sh
#   CLIENTS=200 WRITES=50 bash bench/run_realtime_feed.sh          # quicker
#
# Environment: CLIENTS (1000), WRITES (200), BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/llana_bench_feed),
# BENCH_REDIS_URL (redis://127.0.0.1:6379/0), OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DB="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/llana_bench_feed}"
REDIS="${BENCH_REDIS_URL:-redis://127.0.0.1:6379/0}"
OUT="${OUT:-${TMPDIR:-/tmp}/llana-feed-bench}"
COMMON=(--clients "${CLIENTS:-1000}" --writes "${WRITES:-200}" --database-url "$DB")
mkdir -p "$OUT"

run() {
  local name=$1; shift
  echo "=== $name: $PY bench/realtime_feed.py ${COMMON[*]} $*"
  $PY bench/realtime_feed.py "${COMMON[@]}" "$@" > "$OUT/$name.json" 2> "$OUT/$name.err" || { tail -5 "$OUT/$name.err"; return 0; }
  grep -E '^(connected|\{)' "$OUT/$name.err" || true
}

run daphne-memory-psio   --client python-socketio
run daphne-memory-raw    --client raw
run daphne-redis-raw     --client raw --redis "$REDIS"
run daphne2-redis-raw    --client raw --redis "$REDIS" --servers 2
run uvicorn-memory-raw   --client raw --server uvicorn
run daphne-memory-1client --client raw --clients 1 --writes 50   # baseline: DB queries with one socket
