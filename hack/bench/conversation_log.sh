#!/usr/bin/env bash
# va-conversation-log's append throughput against its own PostgreSQL (hack/local/stores.sh in a
# temporary directory on free ports), next to a baseline measured in the same run on the same
# database: pgbench running the same single-row INSERT ... ON CONFLICT DO NOTHING RETURNING
# with the same number of clients (one transaction, hence one commit, per row). The service is
# driven by wrk over HTTP; every request is a new (conversation_id, sequence), so each is a row.
# For each client count in CLIENTS (default "32 128"): ROUNDS rounds (default 3) of DURATION
# seconds (default 10), alternating service and pgbench; medians, and the service's throughput
# as a fraction of pgbench's. One JSON line on stdout (about 2.5 minutes with the defaults).
#   hack/bench/conversation_log.sh BUILD_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

build_dir="${1:-}"
[ -n "$build_dir" ] || die "usage: $0 BUILD_DIR"
case "$build_dir" in /*) ;; *) build_dir="$PWD/$build_dir" ;; esac
bin="$build_dir/workloads/conversation_log/va-conversation-log"
[ -x "$bin" ] || die "$bin does not exist; build va-conversation-log first"
command -v wrk >/dev/null || die "wrk is missing (make deps installs it)"
command -v pgbench >/dev/null || die "pgbench is missing (postgresql-contrib / postgresql-client)"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-32 128}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
state=$(mktemp -d /tmp/va-bench-conversation-log.XXXXXX)
[ "$(id -u)" -eq 0 ] && chmod 755 "$state"  # the postgres user writes its cluster under it
export VA_STORES_DIR="$state/stores" VA_REDIS_PORT VA_POSTGRES_PORT
VA_REDIS_PORT=$(free_port)
VA_POSTGRES_PORT=$(free_port)
port=$(free_port)
cleanup() {
  [ -n "${service_pid:-}" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  bash "$VA_ROOT/hack/local/stores.sh" stop >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

bash "$VA_ROOT/hack/local/stores.sh" start >&2
dsn=$(cat "$VA_STORES_DIR/postgres-dsn")

POSTGRES_DSN_FILE="$VA_STORES_DIR/postgres-dsn" VA_LISTEN_ADDR=127.0.0.1 VA_PORT=$port \
  VA_HTTP_WORKERS=256 VA_HTTP_QUEUE_CAPACITY=256 VA_LOG_LEVEL=warn \
  LOG_RETENTION=0 "$bin" >"$state/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
  kill -0 "$service_pid" 2>/dev/null || { cat "$state/service.log" >&2; die "the service exited"; }
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || die "the service is not ready"

# Each wrk thread numbers its requests; (conversation, sequence) is new for every request.
cat >"$state/append.lua" <<'LUA'
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
request = function()
  n = n + 1
  local conversation = "bench-" .. os.getenv("BENCH_ROUND") .. "-" .. tid .. "-" .. (n % 64)
  local body = '{"conversation_id":"' .. conversation .. '","sequence":' .. n ..
    ',"message_id":"m-' .. n .. '","user":"u-1","text":"hello","reply":"hi there",' ..
    '"intent":"greet"}'
  return wrk.format("POST", "/v1/entries", {["Content-Type"] = "application/json"}, body)
end
LUA
cat >"$state/insert.sql" <<'SQL'
\set seq random(1, 9000000000000000000)
INSERT INTO conversation_log (conversation_id, sequence, message_id, user_id, user_text, reply, intent) VALUES ('pgbench-' || :round || '-' || :client_id, :seq, 'm-' || :seq, 'u-1', 'hello', 'hi there', 'greet') ON CONFLICT (conversation_id, sequence) DO NOTHING RETURNING id;
SQL

# One wrk run: "requests_per_second p50_ms p99_ms non_2xx".
measure_service() {
  local out
  out=$(BENCH_ROUND="$1-$RANDOM" wrk -t2 -c"$2" -d"${DURATION}s" --latency \
    -s "$state/append.lua" "http://127.0.0.1:$port")
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), out, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
print(rps, ms("50%"), ms("99%"), int(bad.group(1)) if bad else 0)
PY
}

# One pgbench run: "transactions_per_second mean_latency_ms failed".
measure_pgbench() {
  local out
  out=$(pgbench -n -c "$2" -j 2 -T "$DURATION" -D round="$1$RANDOM" -f "$state/insert.sql" \
    "$dsn" 2>&1)
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
lat = re.search(r"latency average = ([\d.]+) ms", out)
failed = re.search(r"number of failed transactions: (\d+)", out)
print(tps, float(lat.group(1)) if lat else 0, int(failed.group(1)) if failed else 0)
PY
}

results="$state/results"
: >"$results"
for clients in $CLIENTS; do
  for round in $(seq "$ROUNDS"); do
    log "round $round/$ROUNDS, $clients clients: service"
    echo "service $clients $(measure_service "$clients$round" "$clients")" >>"$results"
    log "round $round/$ROUNDS, $clients clients: pgbench"
    echo "pgbench $clients $(measure_pgbench "$clients$round" "$clients")" >>"$results"
  done
done
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
rows=$(psql "$dsn" -qtAX -c "SELECT count(*) FROM conversation_log WHERE conversation_id LIKE 'bench-%'")

python3 - "$results" "$ROUNDS" "$DURATION" "$CLIENTS" "$metrics" "$rows" <<'PY'
import json, re, statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
metrics = sys.argv[5]
def metric(name):
    m = re.search(r"^%s(?:\{\})?\s+(\S+)$" % re.escape(name), metrics, re.M)
    return float(m.group(1)) if m else 0.0
out = {"benchmark": "conversation_log_append", "rounds": int(sys.argv[2]),
       "seconds_per_round": int(sys.argv[3])}
failed = 0
for c in sys.argv[4].split():
    service = [r for r in rows if r[0] == "service" and r[1] == c]
    pgbench = [r for r in rows if r[0] == "pgbench" and r[1] == c]
    out[f"service_c{c}"] = {
        "appends_per_second_median": round(statistics.median(float(r[2]) for r in service), 1),
        "p50_ms_median": round(statistics.median(float(r[3]) for r in service), 3),
        "p99_ms_median": round(statistics.median(float(r[4]) for r in service), 3),
        "non_2xx": sum(int(r[5]) for r in service),
    }
    out[f"pgbench_single_row_insert_c{c}"] = {
        "inserts_per_second_median": round(statistics.median(float(r[2]) for r in pgbench), 1),
        "latency_ms_median": round(statistics.median(float(r[3]) for r in pgbench), 3),
        "failed": sum(int(r[4]) for r in pgbench),
    }
    out[f"service_vs_pgbench_throughput_c{c}"] = round(
        out[f"service_c{c}"]["appends_per_second_median"] /
        out[f"pgbench_single_row_insert_c{c}"]["inserts_per_second_median"], 4)
    failed += out[f"service_c{c}"]["non_2xx"] + out[f"pgbench_single_row_insert_c{c}"]["failed"]
out["service_rows_written"] = int(sys.argv[6])
out["service_mean_batch_size"] = round(metric("va_conversation_log_batch_size_sum") /
                                       max(metric("va_conversation_log_batch_size_count"), 1), 1)
print(json.dumps(out))
sys.exit(1 if failed else 0)
PY
