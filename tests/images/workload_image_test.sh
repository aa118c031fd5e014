#!/usr/bin/env bash
# A workload's container image, run for real: tests/images/workload_image_test.sh COMPONENT IMAGE
#   1. the image: user 65532:65532, entrypoint /usr/local/bin/va-COMPONENT, OCI labels (title,
#      version = the project's, revision), no shell;
#   2. a bad setting (VA_PORT=http) stops it at start-up with exit code 78 and a JSON log line
#      that names the variable;
#   3. a container with --read-only, --user 65532:65532, --cap-drop ALL and no-new-privileges,
#      its port published on 127.0.0.1 only: /healthz and /readyz answer 200, /metrics has the
#      request metrics, and the component's own smoke request gets a real answer;
#   4. `docker stop --time 30` (SIGTERM): exit code 0, promptly, after the drain log line.
# The components that keep data (short-term-mem, long-term-mem, conversation-log) get steps 1
# and 2 here, and a missing store secret must stop them with exit code 78 naming it; their
# steps 3 and 4 run in conversation_images_test.sh, against the Redis and PostgreSQL images.
# Needs docker and the image (make images).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
component=${1:?usage: $0 COMPONENT IMAGE}
image=${2:?usage: $0 COMPONENT IMAGE}
version=$(sed -n 's/^project(va_operator VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
name="va-$component-image-test-$$"
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  docker logs "$name" 2>&1 | tail -10 >&2 || true
  exit 1
}
step() { echo "== $*"; }
source "$here/image_lib.sh"

# What each component needs to start: its peers (addresses nothing listens on: the smoke
# requests below do not reach them) and, for input-processor, a mounted API keys file.
component_env=()
case "$component" in
  prefrontal-cortex)
    component_env=(-e LANGUAGE_CENTER_URL=http://127.0.0.1:9 -e ACTION_EXECUTOR_URL=http://127.0.0.1:9
                   -e OUTPUT_MANAGER_URL=http://127.0.0.1:9 -e PEER_TIMEOUT=2s) ;;
  input-processor)
    keys_dir=$(mktemp -d)
    trap 'cleanup; rm -rf "$keys_dir"' EXIT
    printf 'smoke sha256:%s\n' "$(printf 'va_smoke_key' | openssl dgst -sha256 -r | cut -d' ' -f1)" \
      >"$keys_dir/api-keys"
    chmod 755 "$keys_dir" && chmod 644 "$keys_dir/api-keys"
    component_env=(-v "$keys_dir:/etc/va/api-keys:ro" -e API_KEYS_FILE=/etc/va/api-keys/api-keys
                   -e PREFRONTAL_CORTEX_URL=http://127.0.0.1:9 -e PEER_TIMEOUT=2s) ;;
  short-term-mem | long-term-mem | conversation-log)
    secret_dir=$(mktemp -d)
    trap 'cleanup; rm -rf "$secret_dir"' EXIT
    if [ "$component" = short-term-mem ]; then
      store_var=REDIS_URL_FILE
      echo 'redis://127.0.0.1:9/0' >"$secret_dir/url"
    else
      store_var=POSTGRES_DSN_FILE
      echo 'postgresql://va:x@127.0.0.1:9/va' >"$secret_dir/url"
    fi
    chmod 755 "$secret_dir" && chmod 644 "$secret_dir/url"
    component_env=(-v "$secret_dir:/etc/va/store:ro" -e "$store_var=/etc/va/store/url") ;;
esac

# The request each component must answer, and what its answer must contain.
smoke() {
  local port=$1
  case "$component" in
    language-center)
      curl -fsS -X POST "http://127.0.0.1:$port/v1/understand" -H 'Content-Type: application/json' \
        -d '{"text": "book a table for 2 tomorrow at 7pm", "today": "2026-11-27"}' |
        python3 -c 'import json, sys
r = json.load(sys.stdin)
assert r["intent"] == "book_table", r
assert r["reply"] == "Booked a table for 2 on 2026-11-28 at 19:00.", r
print("   POST /v1/understand -> " + r["intent"] + ": " + r["reply"])' ;;
    output-manager)
      curl -fsS -X POST "http://127.0.0.1:$port/v1/replies" -H 'Content-Type: application/json' \
        -d '{"conversation_id": "c-1", "message_id": "m-1", "reply": {"text": "Booked."}}' |
        python3 -c 'import json, sys
r = json.load(sys.stdin)
assert r["reply"]["text"] == "Booked." and r["message_id"] == "m-1" and r["callback"] is None, r
print("   POST /v1/replies -> " + r["reply"]["text"])' ;;
    input-processor)
      # Authenticated, validated, then the dialogue manager (absent here): 503 naming it.
      curl -sS -X POST "http://127.0.0.1:$port/v1/conversations/c-1/messages" \
        -H 'Authorization: Bearer va_smoke_key' -H 'Content-Type: application/json' \
        -d '{"text": "hello"}' | python3 -c 'import json, sys
r = json.load(sys.stdin)
assert r["error"]["code"] == "upstream_unavailable", r
print("   POST /v1/conversations/c-1/messages (valid key) -> " + r["error"]["message"])'
      curl -sS -X POST "http://127.0.0.1:$port/v1/conversations/c-1/messages" \
        -H 'Authorization: Bearer wrong' -d '{"text": "hello"}' | python3 -c 'import json, sys
r = json.load(sys.stdin)
assert r["error"]["code"] == "unauthorized", r
print("   POST with a wrong key -> 401 " + r["error"]["message"])'
      curl -fsS "http://127.0.0.1:$port/openapi.json" | python3 -c 'import json, sys
doc = json.load(sys.stdin)
assert "/v1/conversations/{conversation_id}/messages" in doc["paths"], doc
print("   GET /openapi.json -> OpenAPI " + doc["openapi"])' ;;
    prefrontal-cortex)
      # A valid turn reaches for the language center (absent here): 502 naming it.
      curl -sS -X POST "http://127.0.0.1:$port/v1/turns" -H 'Content-Type: application/json' \
        -d '{"conversation_id": "c-1", "message_id": "m-1", "text": "hello"}' |
        python3 -c 'import json, sys
r = json.load(sys.stdin)
assert r["error"]["code"] == "language_center_failed", r
print("   POST /v1/turns -> " + r["error"]["code"])' ;;
    action-executor)
      # The default assistant's book_table, a slot missing: 400 naming it, nothing sent.
      curl -sS -X POST "http://127.0.0.1:$port/v1/actions/book_table/run" \
        -H 'Content-Type: application/json' -d '{"slots": {"party_size": "2"}}' |
        python3 -c 'import json, sys
r = json.load(sys.stdin)
assert r["error"]["message"].startswith("slots.date"), r
print("   POST /v1/actions/book_table/run -> " + r["error"]["message"])' ;;
    *) fail "no smoke request for component $component" ;;
  esac
}

step "1. image $image"
check_image "$image" "$component" "/usr/local/bin/va-$component"

step "2. a bad setting stops it at start-up"
set +e
out=$(docker run --rm "${hardening[@]}" "${component_env[@]}" -e VA_PORT=http "$image" 2>&1)
code=$?
set -e
[ "$code" = 78 ] || fail "exit code $code for VA_PORT=http, want 78 (EX_CONFIG): $out"
grep -q '"msg":"configuration: VA_PORT: ' <<<"$out" || fail "the error does not name VA_PORT: $out"
echo "   exit 78: $(head -1 <<<"$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["msg"])')"

if [ -n "${store_var:-}" ]; then
  set +e
  out=$(docker run --rm "${hardening[@]}" "$image" 2>&1)
  code=$?
  set -e
  [ "$code" = 78 ] || fail "exit code $code without $store_var, want 78: $out"
  grep -q "\"msg\":\"configuration: $store_var: " <<<"$out" || fail "the error does not name $store_var: $out"
  echo "   exit 78 without its store: $(head -1 <<<"$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["msg"])')"
  echo "   steps 3 and 4 (probes, SIGTERM) run with Redis and PostgreSQL in conversation_images_test.sh"
  echo "$component image test: 1 passed, 0 failed"
  exit 0
fi

step "3. ${hardening[*]}"
docker run -d --name "$name" "${hardening[@]}" "${component_env[@]}" -p 127.0.0.1::8080 "$image" >/dev/null
port=$(docker port "$name" 8080/tcp | head -1 | sed 's/.*://')
ok=
for _ in $(seq 1 300); do
  [ "$(docker inspect --format '{{.State.Running}}' "$name")" = true ] || fail "the container exited"
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.1
done
[ -n "$ok" ] || fail "/readyz not 200 within 30 s"
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "/healthz not 200"
smoke "$port"
# Read whole first: `curl | grep -q` fails under pipefail when grep stops reading early.
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics") || fail "/metrics not 200"
grep -q '^http_requests_total{' <<<"$metrics" || fail "/metrics has no http_requests_total"
echo "   /healthz, /readyz, /metrics answer on 127.0.0.1:$port"

step "4. SIGTERM (docker stop --time 30)"
stop_container "$name" '"msg":"drained; stopped"'
echo "$component image test: 1 passed, 0 failed"
