#!/usr/bin/env bash
# short-term-mem over HTTP against its own Redis, next to Redis itself measured in the same run:
# a Redis of its own (hack/local/stores.sh start-redis, free port, state in /tmp), the service
# (va-short-term-mem), then ROUNDS rounds (default 3) of
#   redis-benchmark -t get,set -n 100000 -q --csv   (50 clients: Redis's own rps and p50)
#   context reads   GET .../context                  (THREADS connections, DURATION seconds)
#   context updates POST .../turns + PUT .../context (a turn: begin, append, commit)
# by tests/bench/va-bench-short-term-mem. Prints one JSON line on stdout with the medians and
# the ratios to Redis's GET and SET. About a minute.
#   hack/bench/short_term_mem.sh BUILD_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

build_dir="${1:-}"
[ -n "$build_dir" ] || die "usage: $0 BUILD_DIR"
case "$build_dir" in /*) ;; *) build_dir="$PWD/$build_dir" ;; esac
service_bin="$build_dir/workloads/short_term_mem/va-short-term-mem"
driver_bin="$build_dir/tests/bench/va-bench-short-term-mem"
for bin in "$service_bin" "$driver_bin"; do
  [ -x "$bin" ] || die "$bin does not exist; build first (make bench)"
done
command -v redis-benchmark >/dev/null || die "redis-benchmark is missing (make deps)"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
THREADS=${THREADS:-16}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
state=$(mktemp -d /tmp/va-bench-stm.XXXXXX)
export VA_STORES_DIR="$state/stores" VA_REDIS_PORT
VA_REDIS_PORT=$(free_port)
port=$(free_port)
cleanup() {
  if [ -n "${service_pid:-}" ]; then
    kill "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
  fi
  bash "$VA_ROOT/hack/local/stores.sh" stop-redis >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

bash "$VA_ROOT/hack/local/stores.sh" start-redis
printf 'redis://127.0.0.1:%s/0\n' "$VA_REDIS_PORT" >"$state/redis-url"
REDIS_URL_FILE="$state/redis-url" VA_LISTEN_ADDR=127.0.0.1 VA_PORT=$port VA_LOG_LEVEL=warn \
  VA_HTTP_WORKERS=$((THREADS * 2)) VA_HTTP_QUEUE_CAPACITY=256 "$service_bin" \
  >"$state/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" ||
  die "va-short-term-mem did not become ready (log: $(tail -5 "$state/service.log"))"

results="$state/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
  log "round $round/$ROUNDS: redis-benchmark"
  redis-benchmark -h 127.0.0.1 -p "$VA_REDIS_PORT" -t get,set -n 100000 -q --csv |
    python3 -c '
import csv, sys
for row in csv.DictReader(sys.stdin):
    print("redis_" + row["test"].lower(), row["rps"], row["p50_latency_ms"], row["p99_latency_ms"], 0)
' >>"$results"
  log "round $round/$ROUNDS: context reads"
  echo "read $("$driver_bin" "http://127.0.0.1:$port" read "$THREADS" "$DURATION" 1000)" >>"$results"
  log "round $round/$ROUNDS: context updates"
  echo "update $("$driver_bin" "http://127.0.0.1:$port" update "$THREADS" "$DURATION" 1000)" \
    >>"$results"
done

python3 - "$results" "$ROUNDS" "$DURATION" "$THREADS" <<'PY'
import json, statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
out = {"benchmark": "short_term_mem", "rounds": int(sys.argv[2]),
       "seconds_per_round": int(sys.argv[3]), "connections": int(sys.argv[4]),
       "redis_benchmark_clients": 50}
errors = 0
for kind in ("read", "update", "redis_get", "redis_set"):
    r = [row for row in rows if row[0] == kind]
    out[kind] = {
        "ops_per_second_median": round(statistics.median(float(x[1]) for x in r), 1),
        "p50_ms_median": round(statistics.median(float(x[2]) for x in r), 3),
        "p99_ms_median": round(statistics.median(float(x[3]) for x in r), 3),
        "errors": sum(int(x[4]) for x in r),
    }
    errors += out[kind]["errors"]
for kind, base in (("read", "redis_get"), ("update", "redis_set")):
    out[f"{kind}_vs_{base}_throughput"] = round(
        out[kind]["ops_per_second_median"] / out[base]["ops_per_second_median"], 4)
    out[f"{kind}_vs_{base}_p50"] = round(
        out[kind]["p50_ms_median"] / max(out[base]["p50_ms_median"], 0.001), 2)
print(json.dumps(out))
sys.exit(1 if errors else 0)
PY
