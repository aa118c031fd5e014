#!/usr/bin/env bash
# Runs the whole VA as containers from the project's images (make images): Redis and
# PostgreSQL, then the eight components, on a Docker network of their own where they find each
# other by name as the operator's Services let them. Every container runs read-only, as
# 65532:65532, without capabilities and without new privileges; the secrets (API keys, the
# stores' passwords and URLs, the webhook key) are generated once and mounted as files. Each
# component's port is published on 127.0.0.1 only. Used by `make demo` and by
# tests/images/conversation_images_test.sh.
#   hack/local/containers.sh start|stop|ports
# Environment:
#   VA_CONTAINERS_PREFIX   container and network names: PREFIX-<name> (default va-demo)
#   VA_CONTAINERS_DIR      the generated secrets; api-key holds the plain API key for va-chat
#                          (default _output/containers)
#   VA_CONTAINERS_PORT     input-processor's port on 127.0.0.1 (default: any free one)
#   REGISTRY, VERSION      the images: REGISTRY/<name>:VERSION (default va.local and the
#                          project's version)
#   ASSISTANT_FILE         an assistant definition mounted into language-center,
#                          action-executor and prefrontal-cortex (default: their built-in one)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PREFIX=${VA_CONTAINERS_PREFIX:-va-demo}
DIR=${VA_CONTAINERS_DIR:-$ROOT/_output/containers}
REGISTRY=${REGISTRY:-va.local}
VERSION=${VERSION:-$(sed -n 's/^project(va_operator VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")}
STORES=(redis postgres)
COMPONENTS=(conversation-log short-term-mem long-term-mem language-center action-executor
  output-manager prefrontal-cortex input-processor)
NETWORK="$PREFIX"
HARDENING=(--read-only --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges)

name() { echo "$PREFIX-$1"; }
url() { echo "http://$(name "$1"):8080"; }
running() { [ "$(docker inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

secrets() {
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  local f
  for f in api-key redis-password postgres-password webhook-secret; do
    [ -s "$DIR/$f" ] || (umask 077 && openssl rand -hex 24 >"$DIR/$f") || die "openssl rand failed"
  done
  local redis_password postgres_password
  redis_password=$(cat "$DIR/redis-password")
  postgres_password=$(cat "$DIR/postgres-password")
  printf 'requirepass %s\n' "$redis_password" >"$DIR/redis-auth.conf"
  printf 'redis://:%s@%s:6379/0\n' "$redis_password" "$(name redis)" >"$DIR/redis-url"
  printf 'postgresql://va:%s@%s:5432/va\n' "$postgres_password" "$(name postgres)" >"$DIR/postgres-dsn"
  printf 'demo sha256:%s\n' "$(tr -d '\n' <"$DIR/api-key" | openssl dgst -sha256 -r | cut -d' ' -f1)" \
    >"$DIR/api-keys"
  # Read through the mounts by uid 65532; the folder keeps them from everyone else here.
  chmod 644 "$DIR"/*
  chmod 600 "$DIR/api-key"
}

# The docker run arguments that mount secret file $1 read-only at /etc/va/secrets/$1.
secret() { echo "$DIR/$1:/etc/va/secrets/$1:ro"; }

run_store() {
  local c=$1 args=()
  case "$c" in
    redis)
      args=(--tmpfs /data:rw,uid=65532,gid=65532,mode=0700
            -v "$DIR/redis-auth.conf:/etc/redis/secret/auth.conf:ro") ;;
    postgres)
      args=(--tmpfs /var/lib/postgresql:rw,uid=65532,gid=65532,mode=0700
            -e POSTGRES_PASSWORD_FILE=/etc/va/secrets/postgres-password -v "$(secret postgres-password)") ;;
  esac
  docker run -d --name "$(name "$c")" --network "$NETWORK" "${HARDENING[@]}" "${args[@]}" \
    "$REGISTRY/$c:$VERSION" >/dev/null
}

wait_log() {  # container pattern
  local _
  for _ in $(seq 1 600); do
    running "$1" || die "$1 exited: $(docker logs "$1" 2>&1 | tail -5)"
    grep -q "$2" <<<"$(docker logs "$1" 2>&1)" && return 0
    sleep 0.1
  done
  die "$1 not ready within 60 s: $(docker logs "$1" 2>&1 | tail -5)"
}

run_component() {
  local c=$1 args=() publish=127.0.0.1::8080
  case "$c" in
    short-term-mem) args=(-e REDIS_URL_FILE=/etc/va/secrets/redis-url -v "$(secret redis-url)") ;;
    long-term-mem | conversation-log)
      args=(-e POSTGRES_DSN_FILE=/etc/va/secrets/postgres-dsn -v "$(secret postgres-dsn)") ;;
    prefrontal-cortex)
      args=(-e "LANGUAGE_CENTER_URL=$(url language-center)" -e "ACTION_EXECUTOR_URL=$(url action-executor)"
            -e "OUTPUT_MANAGER_URL=$(url output-manager)" -e "SHORT_TERM_MEM_URL=$(url short-term-mem)"
            -e "LONG_TERM_MEM_URL=$(url long-term-mem)") ;;
    input-processor)
      args=(-e "PREFRONTAL_CORTEX_URL=$(url prefrontal-cortex)" -e "CONVERSATION_LOG_URL=$(url conversation-log)"
            -e API_KEYS_FILE=/etc/va/secrets/api-keys -v "$(secret api-keys)")
      [ -z "${VA_CONTAINERS_PORT:-}" ] || publish="127.0.0.1:$VA_CONTAINERS_PORT:8080" ;;
    output-manager)
      args=(-e WEBHOOK_SIGNING_SECRET_FILE=/etc/va/secrets/webhook-secret -v "$(secret webhook-secret)"
            -e DEAD_LETTER_FILE=/tmp/dead-letters --tmpfs /tmp) ;;
  esac
  case "$c" in
    language-center | action-executor | prefrontal-cortex)
      if [ -n "${ASSISTANT_FILE:-}" ]; then
        args+=(-e ASSISTANT_FILE=/etc/va/assistant/assistant.yaml
               -v "$DIR/assistant.yaml:/etc/va/assistant/assistant.yaml:ro")
      fi ;;
  esac
  docker run -d --name "$(name "$c")" --network "$NETWORK" "${HARDENING[@]}" "${args[@]}" \
    -p "$publish" "$REGISTRY/$c:$VERSION" >/dev/null
}

port_of() { docker port "$(name "$1")" 8080/tcp 2>/dev/null | head -1 | sed 's/.*://'; }

wait_ready() {
  local c=$1 port _
  port=$(port_of "$c")
  for _ in $(seq 1 600); do
    running "$(name "$c")" || die "$c exited: $(docker logs "$(name "$c")" 2>&1 | tail -5)"
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
    sleep 0.1
  done
  die "$c: /readyz not 200 within 60 s: $(docker logs "$(name "$c")" 2>&1 | tail -5)"
}

stop() {
  local c
  for c in "${COMPONENTS[@]}" "${STORES[@]}"; do
    docker rm -f "$(name "$c")" >/dev/null 2>&1 || true
  done
  docker network rm "$NETWORK" >/dev/null 2>&1 || true
}

start() {
  local c
  command -v docker >/dev/null || die "docker is required"
  for c in "${STORES[@]}" "${COMPONENTS[@]}"; do
    docker image inspect "$REGISTRY/$c:$VERSION" >/dev/null 2>&1 ||
      die "no image $REGISTRY/$c:$VERSION (make images)"
  done
  [ -z "${ASSISTANT_FILE:-}" ] || [ -r "$ASSISTANT_FILE" ] || die "ASSISTANT_FILE: cannot read $ASSISTANT_FILE"
  stop
  secrets
  # A copy readable by 65532 whatever the umask it was written with.
  [ -z "${ASSISTANT_FILE:-}" ] || install -m 644 "$ASSISTANT_FILE" "$DIR/assistant.yaml"
  docker network create "$NETWORK" >/dev/null
  for c in "${STORES[@]}"; do run_store "$c"; done
  wait_log "$(name redis)" "Ready to accept connections"
  wait_log "$(name postgres)" "database system is ready to accept connections"
  for c in "${COMPONENTS[@]}"; do run_component "$c"; done
  for c in "${COMPONENTS[@]}"; do wait_ready "$c"; done
  ports
}

ports() {
  local c
  for c in "${COMPONENTS[@]}"; do printf '%s http://127.0.0.1:%s\n' "$c" "$(port_of "$c")"; done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  ports) ports ;;
  *) die "usage: $0 start|stop|ports" ;;
esac
