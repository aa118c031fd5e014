#!/usr/bin/env bash
# A real Redis and a real PostgreSQL from Debian's packages, on 127.0.0.1, for `make run-local`
# and the stores' integration tests (the ctest fixture "stores"). State under VA_STORES_DIR.
#   hack/local/stores.sh start|stop|restart-redis|restart-postgres|env
# Environment:
#   VA_STORES_DIR    where data, sockets and logs go (default _output/stores)
#   VA_REDIS_PORT    Redis's port (default 16379)
#   VA_POSTGRES_PORT PostgreSQL's port (default 15432)
# `start` writes the connection strings to files, as Secrets would be mounted in a pod:
#   $VA_STORES_DIR/redis-url      redis://127.0.0.1:16379/0
#   $VA_STORES_DIR/postgres-dsn   postgresql://va:<password>@127.0.0.1:15432/va
# and `env` prints REDIS_URL_FILE=... and POSTGRES_DSN_FILE=... lines. PostgreSQL does not run
# as root: as root the cluster belongs to the postgres user. Both are reused when already up.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${VA_STORES_DIR:-$ROOT/_output/stores}
REDIS_PORT=${VA_REDIS_PORT:-16379}
PG_PORT=${VA_POSTGRES_PORT:-15432}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PG_BIN" ] || die "PostgreSQL is not installed (make deps)"
command -v redis-server >/dev/null || die "redis-server is not installed (make deps)"

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
pg_up() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

start_redis() {
  mkdir -p "$DIR/redis"
  redis_up && return 0
  # appendonly with fsync every second: what a production Redis for context would run with.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DIR/redis" --daemonize yes \
    --pidfile "$DIR/redis/redis.pid" --logfile "$DIR/redis/redis.log" --appendonly yes \
    --save "" --protected-mode yes >/dev/null
  for _ in $(seq 100); do redis_up && break; sleep 0.05; done
  redis_up || die "Redis did not start (log: $DIR/redis/redis.log)"
}

start_postgres() {
  local data=$DIR/postgres/data
  mkdir -p "$DIR/postgres"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$DIR/postgres"
    # The postgres user must reach its data directory: let it traverse (not list) the parents.
    local d=$DIR
    while [ "$d" != / ]; do
      [ -n "$(find "$d" -maxdepth 0 -perm -o+x)" ] || chmod o+x "$d"
      d=$(dirname "$d")
    done
  fi
  if [ ! -s "$DIR/postgres-password" ]; then
    (umask 077 && openssl rand -hex 16 >"$DIR/postgres-password")
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$DIR/postgres/initdb.log" 2>&1 ||
      die "initdb failed (log: $DIR/postgres/initdb.log)"
  fi
  if ! pg_up; then
    as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$DIR/postgres/postgres.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $DIR/postgres -c max_connections=200 -c fsync=on" \
      start >/dev/null || die "PostgreSQL did not start (log: $DIR/postgres/postgres.log)"
  fi
  local password
  password=$(cat "$DIR/postgres-password")
  as_pg "$PG_BIN/psql" -h "$DIR/postgres" -p "$PG_PORT" -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT 'CREATE ROLE va LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'va')\gexec
ALTER ROLE va PASSWORD '$password';
SELECT 'CREATE DATABASE va OWNER va' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'va')\gexec
SQL
}

write_secrets() {
  (umask 077 && printf 'redis://127.0.0.1:%s/0\n' "$REDIS_PORT" >"$DIR/redis-url")
  (umask 077 && printf 'postgresql://va:%s@127.0.0.1:%s/va\n' "$(cat "$DIR/postgres-password")" \
    "$PG_PORT" >"$DIR/postgres-dsn")
}

stop_redis() {
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  for _ in $(seq 100); do redis_up || break; sleep 0.05; done
}

stop_postgres() {
  [ -f "$DIR/postgres/data/PG_VERSION" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/postgres/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start)
    mkdir -p "$DIR"
    start_redis
    start_postgres
    write_secrets
    log "Redis on 127.0.0.1:$REDIS_PORT, PostgreSQL on 127.0.0.1:$PG_PORT (state in $DIR)"
    ;;
  stop)
    stop_redis
    stop_postgres
    ;;
  restart-redis) stop_redis; start_redis ;;
  restart-postgres) stop_postgres; start_postgres ;;
  stop-redis) stop_redis ;;
  start-redis) start_redis ;;
  stop-postgres) stop_postgres ;;
  start-postgres) start_postgres ;;
  env) printf 'REDIS_URL_FILE=%s\nPOSTGRES_DSN_FILE=%s\n' "$DIR/redis-url" "$DIR/postgres-dsn" ;;
  *) die "usage: $0 start|stop|env|stop-redis|start-redis|restart-redis|stop-postgres|start-postgres|restart-postgres" ;;
esac
