#!/usr/bin/env bash
# The whole VA as containers (hack/local/containers.sh, which `make demo` uses too): Redis and
# PostgreSQL from their images, then the eight components, each read-only, non-root (65532),
# without capabilities and without new privileges, on a Docker network of their own, finding
# each other by name as the operator's Services let them. Secrets (the API keys, the stores'
# passwords and URLs, the webhook key) are mounted files. Each component's port is published on
# 127.0.0.1 only, for the probes this test reads.
# The components load the assistant definition of examples/concierge-secrets.yaml.
#   1. every image: user, entrypoint, OCI labels, no shell (PostgreSQL's has dash: initdb needs it);
#   2. the stores start (PostgreSQL initialises its volume) and every component answers
#      /healthz and /readyz (readiness includes its store) and serves /metrics;
#   3. a multi-turn conversation through input-processor: a slot asked for, short-term-mem
#      restarted, the slot filled (the context was in Redis); a fact remembered in one
#      conversation and recalled in another (long-term-mem in PostgreSQL); every turn in
#      conversation-log;
#   4. each container stops on its stop signal within the grace period, exit code 0, after
#      logging that it drained (the components) or shut down (the stores).
#   tests/images/conversation_images_test.sh REGISTRY VERSION
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
registry=${1:?usage: $0 REGISTRY VERSION}
version=${2:?usage: $0 REGISTRY VERSION}
root=$(cd "$here/../.." && pwd)
secrets=$(mktemp -d)
export VA_CONTAINERS_PREFIX="va-whole-$$" VA_CONTAINERS_DIR="$secrets/state" REGISTRY="$registry" VERSION="$version"
unset VA_CONTAINERS_PORT
# The assistant of examples/concierge-secrets.yaml's ConfigMap, as `make demo` mounts it.
export ASSISTANT_FILE="$secrets/assistant.yaml"
python3 -c 'import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ConfigMap"]
open(sys.argv[2], "w").write(docs[0]["data"]["assistant.yaml"])' \
  "$root/examples/concierge-secrets.yaml" "$ASSISTANT_FILE"
containers="$root/hack/local/containers.sh"
stores=(redis postgres)
components=(conversation-log short-term-mem long-term-mem language-center action-executor
  output-manager prefrontal-cortex input-processor)
all=("${stores[@]}" "${components[@]}")
name() { echo "$VA_CONTAINERS_PREFIX-$1"; }
cleanup() {
  bash "$containers" stop >/dev/null 2>&1 || true
  rm -rf "$secrets"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for c in "${all[@]}"; do
    echo "--- $c" >&2
    docker logs "$(name "$c")" 2>&1 | tail -8 >&2 || true
  done
  exit 1
}
step() { echo "== $*"; }
source "$here/image_lib.sh"

step "1. the images"
for c in "${all[@]}"; do
  echo " $registry/$c:$version"
  case "$c" in
    redis) check_image "$registry/$c:$version" redis /usr/local/bin/redis-server ;;
    postgres) check_image "$registry/$c:$version" postgres /usr/local/bin/postgres-entrypoint with-shell ;;
    *) check_image "$registry/$c:$version" "$c" "/usr/local/bin/va-$c" ;;
  esac
done

step "2. the stores and the components on network $VA_CONTAINERS_PREFIX (hack/local/containers.sh)"
start_ms=$(($(date +%s%N) / 1000000))
bash "$containers" start >/dev/null || fail "hack/local/containers.sh start failed"
echo "   the whole VA ready $(($(date +%s%N) / 1000000 - start_ms)) ms after its first docker run" \
  "($(docker logs "$(name postgres)" 2>&1 | grep -c 'postgres-entrypoint: initialised') initdb)"
port_of() { docker port "$(name "$1")" 8080/tcp | head -1 | sed 's/.*://'; }
for c in "${components[@]}"; do
  port=$(port_of "$c")
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || fail "$c: /readyz not 200"
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" || fail "$c: /healthz not 200"
  metrics=$(curl -fsS "http://127.0.0.1:$port/metrics") || fail "$c: /metrics not 200"
  grep -q '^http_requests_total{' <<<"$metrics" || fail "$c: /metrics has no http_requests_total"
  echo "   $c on 127.0.0.1:$port: /healthz, /readyz, /metrics"
done
# The key goes to curl in a file, not in its arguments, where `ps` would show it.
(umask 077 && printf 'Authorization: Bearer %s\n' "$(cat "$VA_CONTAINERS_DIR/api-key")" >"$secrets/auth-header")

step "3. a conversation through input-processor"
api="http://127.0.0.1:$(port_of input-processor)"
say() {  # conversation text -> the reply's text
  curl -sS -X POST "$api/v1/conversations/$1/messages" -H "@$secrets/auth-header" \
    -H 'Content-Type: application/json' -d "{\"text\": \"$2\", \"user\": \"alice\"}" |
    python3 -c 'import json, sys
r = json.load(sys.stdin)
if "reply" not in r: sys.exit("no reply: " + json.dumps(r))
print(r["reply"]["text"])'
}
expect() {  # conversation text expected-substring
  local reply
  reply=$(say "$1" "$2") || fail "\"$2\": $reply"
  [[ "$reply" == *"$3"* ]] || fail "\"$2\" got \"$reply\", want \"$3\""
  echo "   [$1] you> $2"
  echo "   [$1] assistant> $reply"
}
expect c-1 "book a table for 2" "For which day?"
# The context lives in Redis: a restarted short-term-mem carries on where it was.
docker restart --time 30 "$(name short-term-mem)" >/dev/null
stm_port=$(port_of short-term-mem)
stm_ready=
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$stm_port/readyz" 2>/dev/null; then stm_ready=1; break; fi
  sleep 0.1
done
[ -n "$stm_ready" ] || fail "short-term-mem not ready within 30 s of its restart"
echo "   (short-term-mem restarted)"
expect c-1 "tomorrow" "At what time?"
expect c-3 "remember that my locker code is 4512" "remember"
expect c-2 "what's my locker code" "4512"
log_port=$(port_of conversation-log)
entries=$(curl -fsS "http://127.0.0.1:$log_port/v1/conversations/c-1/entries") ||
  fail "conversation-log: GET entries failed"
python3 -c 'import json, sys
r = json.loads(sys.argv[1])
seq = [e["sequence"] for e in r["entries"]]
assert seq == [1, 2], seq
assert r["entries"][0]["text"] == "book a table for 2", r["entries"][0]
print("   conversation-log has c-1'"'"'s 2 turns in order: " + ", ".join(e["text"] for e in r["entries"]))' \
  "$entries" || fail "conversation-log entries of c-1: $entries"
ltm_port=$(port_of long-term-mem)
facts=$(curl -fsS "http://127.0.0.1:$ltm_port/v1/users/alice/facts") || fail "long-term-mem: GET facts failed"
grep -q 4512 <<<"$facts" || fail "long-term-mem has no locker code for alice: $facts"
echo "   long-term-mem (PostgreSQL) holds alice's locker code"

step "4. stop signals (docker stop --time 30), the front first"
for ((i = ${#all[@]} - 1; i >= 0; i--)); do
  c=${all[$i]}
  case "$c" in
    redis) stop_container "$(name "$c")" "Redis is now ready to exit" ;;
    postgres) stop_container "$(name "$c")" "database system is shut down" ;;
    *) stop_container "$(name "$c")" '"msg":"drained; stopped"' ;;
  esac
  echo "   ^ $c"
done
secret_values=$(cat "$VA_CONTAINERS_DIR/redis-password" "$VA_CONTAINERS_DIR/postgres-password" "$VA_CONTAINERS_DIR/api-key")
grep -qF "$secret_values" <<<"$(for c in "${all[@]}"; do docker logs "$(name "$c")" 2>&1; done)" &&
  fail "a container logged a secret"
echo "   no container logged a secret"
echo "whole VA images test: 1 passed, 0 failed"
