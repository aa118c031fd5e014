#!/usr/bin/env bash
# The conversation path as containers: input-processor, prefrontal-cortex, language-center,
# action-executor and output-manager from their images, each read-only, non-root, without
# capabilities, on a Docker network of their own, finding each other by name as the operator's
# Services let them; only input-processor's port is published (on 127.0.0.1). A conversation
# then runs through it: a slot asked for and filled, a fact remembered and recalled.
#   tests/images/conversation_images_test.sh REGISTRY VERSION
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
registry=${1:?usage: $0 REGISTRY VERSION}
version=${2:?usage: $0 REGISTRY VERSION}
suffix=$$
network="va-conversation-$suffix"
keys_dir=$(mktemp -d)
components=(language-center action-executor output-manager prefrontal-cortex input-processor)
cleanup() {
  for c in "${components[@]}"; do docker rm -f "va-$c-$suffix" >/dev/null 2>&1 || true; done
  docker network rm "$network" >/dev/null 2>&1 || true
  rm -rf "$keys_dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for c in "${components[@]}"; do
    echo "--- $c" >&2
    docker logs "va-$c-$suffix" 2>&1 | tail -5 >&2 || true
  done
  exit 1
}
source "$here/image_lib.sh"

key="va_$(openssl rand -hex 16)"
printf 'test sha256:%s\n' "$(printf '%s' "$key" | openssl dgst -sha256 -r | cut -d' ' -f1)" \
  >"$keys_dir/api-keys"
openssl rand -hex 32 >"$keys_dir/webhook-secret"
chmod 755 "$keys_dir" && chmod 644 "$keys_dir"/*

docker network create "$network" >/dev/null
url() { echo "http://va-$1-$suffix:8080"; }
for c in "${components[@]}"; do
  docker image inspect "$registry/$c:$version" >/dev/null 2>&1 || fail "no image $registry/$c:$version (make images)"
  env=()
  case "$c" in
    prefrontal-cortex)
      env=(-e "LANGUAGE_CENTER_URL=$(url language-center)" -e "ACTION_EXECUTOR_URL=$(url action-executor)"
           -e "OUTPUT_MANAGER_URL=$(url output-manager)") ;;
    input-processor)
      env=(-e "PREFRONTAL_CORTEX_URL=$(url prefrontal-cortex)" -e API_KEYS_FILE=/etc/va/keys/api-keys
           -v "$keys_dir/api-keys:/etc/va/keys/api-keys:ro" -p 127.0.0.1::8080) ;;
    output-manager)
      env=(-e WEBHOOK_SIGNING_SECRET_FILE=/etc/va/webhook/secret -e DEAD_LETTER_FILE=/tmp/dead-letters
           -v "$keys_dir/webhook-secret:/etc/va/webhook/secret:ro" --tmpfs /tmp) ;;
  esac
  docker run -d --name "va-$c-$suffix" --network "$network" "${hardening[@]}" "${env[@]}" \
    "$registry/$c:$version" >/dev/null
done
port=$(docker port "va-input-processor-$suffix" 8080/tcp | head -1 | sed 's/.*://')
api="http://127.0.0.1:$port"
ok=
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "$api/readyz" 2>/dev/null; then ok=1; break; fi
  sleep 0.1
done
[ -n "$ok" ] || fail "input-processor not ready within 30 s"
echo "== 5 containers on network $network; input-processor on 127.0.0.1:$port"

say() {  # conversation text -> the reply's text
  curl -sS -X POST "$api/v1/conversations/$1/messages" -H "Authorization: Bearer $key" \
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
  echo "   you> $2"
  echo "   assistant> $reply"
}
expect c-1 "book a table for 2" "For which day?"
expect c-1 "tomorrow" "At what time?"
expect c-3 "remember that my locker code is 4512" "remember"
expect c-2 "what's my locker code" "4512"
echo "conversation images test: 1 passed, 0 failed"
