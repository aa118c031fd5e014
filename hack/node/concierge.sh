#!/usr/bin/env bash
# Puts the concierge VirtualAssistant with in-cluster Redis and PostgreSQL on the local cluster's
# real node (examples/local-node): generates the store passwords and an API key into
# $VA_CONCIERGE_DIR (default _output/node-concierge; mode 600), makes the Secrets that carry them
# (the stores' own, the URL and DSN the components read, the hashed API key) and applies the
# overlay. The operator must be running (make deploy, or make run). Prints nothing secret.
#   hack/node/concierge.sh apply     make the Secrets and apply (idempotent: keeps the passwords)
#   hack/node/concierge.sh delete    remove the namespace
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$VA_ROOT/hack/cluster/common.sh"
eval "$(bash "$VA_ROOT/hack/cluster/build.sh" paths)"
KUBECTL="$KUBE_BIN_DIR/kubectl"
export KUBECONFIG="${KUBECONFIG:-$KUBECONFIG_PATH}"
DIR="${VA_CONCIERGE_DIR:-$VA_ROOT/_output/node-concierge}"
NS=concierge
k() { "$KUBECTL" "$@"; }

secret_file() { # name: a random hex secret, made once
  [ -s "$DIR/$1" ] || (umask 077 && openssl rand -hex 24 >"$DIR/$1") || die "openssl rand failed"
  tr -d '\n' <"$DIR/$1"
}

# kubectl create secret generic NAME --from-file=KEY=FILE..., applied (kept up to date).
make_secret() { # name key=file...
  local name=$1; shift
  local args=()
  for kv in "$@"; do args+=(--from-file="$kv"); done
  k create secret generic "$name" -n "$NS" "${args[@]}" --dry-run=client -o yaml |
    k apply --server-side --field-manager va-node-concierge -f - >/dev/null
}

apply() {
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  local redis_pw postgres_pw key
  redis_pw=$(secret_file redis-password)
  postgres_pw=$(secret_file postgres-password)
  key=$(secret_file api-key)
  (
    umask 077
    printf 'requirepass %s\n' "$redis_pw" >"$DIR/redis-auth.conf"
    printf 'redis://:%s@concierge-redis.%s.svc:6379/0' "$redis_pw" "$NS" >"$DIR/redis-url"
    printf 'postgresql://va:%s@concierge-postgres.%s.svc:5432/va' "$postgres_pw" "$NS" >"$DIR/postgres-dsn"
    printf '%s' "$postgres_pw" >"$DIR/postgres-password-only"
    printf 'demo sha256:%s\n' "$(printf '%s' "$key" | openssl dgst -sha256 -r | cut -d' ' -f1)" >"$DIR/api-keys"
  )
  # The namespace (restricted Pod Security) and everything else comes from the overlay; the
  # VA waits (Stalled, SecretNotFound) until the Secrets below exist, then goes on by itself.
  k kustomize --load-restrictor LoadRestrictionsNone "$VA_ROOT/examples/local-node" |
    k apply --server-side --field-manager va-node-concierge -f - >/dev/null
  make_secret concierge-redis-server "auth.conf=$DIR/redis-auth.conf"
  make_secret concierge-postgres-server "password=$DIR/postgres-password-only"
  make_secret concierge-redis "url=$DIR/redis-url"
  make_secret concierge-postgres "dsn=$DIR/postgres-dsn"
  make_secret concierge-api-keys "api-keys=$DIR/api-keys"
  log "concierge applied in namespace $NS; its API key is in $DIR/api-key"
}

case "${1:-apply}" in
  apply) apply ;;
  delete) k delete namespace "$NS" --ignore-not-found --timeout=180s >/dev/null ;;
  *) die "usage: $0 apply|delete" ;;
esac
