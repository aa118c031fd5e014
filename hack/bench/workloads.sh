#!/usr/bin/env bash
# The VA's message pipeline under load: wrk drives input-processor on loopback (API key auth,
# prefrontal-cortex, language-center's built-in NLU, output-manager; each request a message of
# one of 1,000 conversations, texts that need no outside API) at 16 and 64 connections, next to
# a baseline measured in the same run: a trivial cpp-httplib echo server (va-bench-echo).
# ROUNDS rounds (default 3) of DURATION seconds (default 10) per case, alternating baseline and
# pipeline; the medians are reported, with the pipeline's throughput as a fraction of the
# baseline's. One JSON line on stdout.
#   hack/bench/workloads.sh BUILD_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

build_dir="${1:-}"
[ -n "$build_dir" ] || die "usage: $0 BUILD_DIR"
case "$build_dir" in /*) ;; *) build_dir="$PWD/$build_dir" ;; esac
command -v wrk >/dev/null || die "wrk is missing (make deps installs it)"
echo_bin="$build_dir/tests/bench/va-bench-echo"
[ -x "$echo_bin" ] || die "$echo_bin does not exist; build first (make bench)"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}

state=$(mktemp -d /tmp/va-bench-workloads.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export BIN_DIR="$build_dir" VA_LOCAL_DIR="$state/local" VA_LOCAL_PORT=$((20000 + RANDOM % 20000))
export RATE_LIMIT_RPS=0 VA_HTTP_WORKERS=${VA_HTTP_WORKERS:-80} VA_HTTP_QUEUE_CAPACITY=256
cleanup() {
  bash "$VA_ROOT/hack/local/run.sh" stop >/dev/null 2>&1 || true
  [ -n "${echo_pid:-}" ] && kill "$echo_pid" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

"$echo_bin" "$echo_port" &
echo_pid=$!
bash "$VA_ROOT/hack/local/run.sh" start >&2
key=$(cat "$VA_LOCAL_DIR/api-key")
until curl -fsS -o /dev/null "http://127.0.0.1:$echo_port/readyz"; do sleep 0.1; done

cat >"$state/pipeline.lua" <<LUA
local texts = {"hello", "what can you do", "remember that my locker code is 4512",
               "what's my locker code", "thanks, bye", "how do i cook rice"}
local n = 0
local id = 0
setup = function(thread) id = id + 1; thread:set("id", id) end
request = function()
  n = n + 1
  local body = '{"text":"' .. texts[(n % #texts) + 1] .. '","user":"u' .. (n % 100) .. '"}'
  return wrk.format("POST", "/v1/conversations/bench-" .. id .. "-" .. (n % 500) .. "/messages",
    {["Authorization"] = "Bearer $key", ["Content-Type"] = "application/json"}, body)
end
response = function(status)
  if status ~= 200 then errors = (errors or 0) + 1 end
end
LUA
cat >"$state/echo.lua" <<'LUA'
request = function()
  return wrk.format("POST", "/echo", {["Content-Type"] = "application/json"}, '{"text":"hello"}')
end
LUA

# Sanity: the pipeline answers a message before it is measured.
curl -fsS -H "Authorization: Bearer $key" -d '{"text":"hello"}' \
  "http://127.0.0.1:$VA_LOCAL_PORT/v1/conversations/bench-check/messages" >/dev/null ||
  die "the pipeline does not answer"

# One wrk run: prints "requests_per_second p50_ms p99_ms non_2xx".
measure() {
  local url=$1 script=$2 connections=$3 out
  out=$(wrk -t2 -c"$connections" -d"${DURATION}s" --latency -s "$script" "$url")
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), out, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errs = re.search(r"Socket errors:.*", out)
print(rps, ms("50%"), ms("99%"), int(bad.group(1)) if bad else 0, 1 if errs else 0)
PY
}

results="$state/results"
: >"$results"
for connections in 16 64; do
  for round in $(seq "$ROUNDS"); do
    log "round $round/$ROUNDS, $connections connections: baseline"
    echo "baseline $connections $(measure "http://127.0.0.1:$echo_port/echo" "$state/echo.lua" "$connections")" >>"$results"
    log "round $round/$ROUNDS, $connections connections: pipeline"
    echo "pipeline $connections $(measure "http://127.0.0.1:$VA_LOCAL_PORT" "$state/pipeline.lua" "$connections")" >>"$results"
  done
done

python3 - "$results" "$ROUNDS" "$DURATION" <<'PY'
import json, statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
out = {"benchmark": "workload_pipeline", "rounds": int(sys.argv[2]), "seconds_per_round": int(sys.argv[3])}
failed = 0
for c in ("16", "64"):
    for kind in ("baseline", "pipeline"):
        r = [row for row in rows if row[0] == kind and row[1] == c]
        out[f"{kind}_c{c}"] = {
            "requests_per_second_median": round(statistics.median(float(x[2]) for x in r), 1),
            "p50_ms_median": round(statistics.median(float(x[3]) for x in r), 3),
            "p99_ms_median": round(statistics.median(float(x[4]) for x in r), 3),
            "non_2xx": sum(int(x[5]) for x in r),
        }
        failed += sum(int(x[5]) for x in r)
    out[f"pipeline_vs_baseline_throughput_c{c}"] = round(
        out[f"pipeline_c{c}"]["requests_per_second_median"] /
        out[f"baseline_c{c}"]["requests_per_second_median"], 4)
print(json.dumps(out))
sys.exit(1 if failed else 0)
PY
