#!/bin/sh
# The postgres image's entrypoint. On the first start (no $PGDATA/PG_VERSION) it runs initdb
# (superuser "postgres", without a password, so that no client can log in as it) and creates the
# role $POSTGRES_USER with the password in $POSTGRES_PASSWORD_FILE and the database $POSTGRES_DB
# it owns; every start then execs the server, which clients reach over TCP with SCRAM.
#   POSTGRES_PASSWORD_FILE  a mounted file holding the password (required; never printed)
#   POSTGRES_USER, POSTGRES_DB  default va
#   PGDATA                  default /var/lib/postgresql/data (a volume: the root is read-only)
# Extra arguments go to the server (for example -c max_connections=200).
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=va}"
: "${POSTGRES_DB:=va}"
pg=/usr/lib/postgresql/15/bin
count() { echo $#; }
die() { echo "postgres-entrypoint: $*" >&2; exit 78; }
[ -n "${POSTGRES_PASSWORD_FILE:-}" ] || die "POSTGRES_PASSWORD_FILE: required (a mounted file with the password)"
[ -r "$POSTGRES_PASSWORD_FILE" ] || die "POSTGRES_PASSWORD_FILE: cannot read $POSTGRES_PASSWORD_FILE"
for name in "$POSTGRES_USER" "$POSTGRES_DB"; do
  case "$name" in
    '' | [!a-z_]* | *[!a-z0-9_]*) die "POSTGRES_USER, POSTGRES_DB: a letter or _ first, then a-z, 0-9 and _ ($name)" ;;
    postgres | template0 | template1) die "POSTGRES_USER, POSTGRES_DB: $name is PostgreSQL's own" ;;
  esac
done
# Written last on the first start: a volume with PG_VERSION but without it was left half-made.
marker="$PGDATA/.va-initialised"
if [ -s "$PGDATA/PG_VERSION" ] && [ ! -e "$marker" ]; then
  die "$PGDATA holds an incomplete first start (no $marker): remove the volume's contents and start again"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # dash's builtins only: the image has no other tools.
  password=
  IFS= read -r password <"$POSTGRES_PASSWORD_FILE" || true
  [ -n "$password" ] || die "POSTGRES_PASSWORD_FILE: the file's first line is empty"
  case "$password" in *\'*) die "POSTGRES_PASSWORD_FILE: the password must not contain a quote (')" ;; esac
  "$pg/initdb" -D "$PGDATA" -U postgres --encoding=UTF8 --locale=C --auth-local=reject \
    --auth-host=scram-sha-256 >/dev/null
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  # Single-user mode reads one statement a line. Its output (which could repeat a failed
  # statement, password and all) is not shown; a failure shows as a missing database below.
  "$pg/postgres" --single -D "$PGDATA" postgres >/dev/null 2>&1 <<SQL || true
CREATE ROLE $POSTGRES_USER LOGIN PASSWORD '$password';
CREATE DATABASE $POSTGRES_DB OWNER $POSTGRES_USER;
SQL
  # template0, template1 and postgres, plus the new database (owned by the new role).
  [ "$(count "$PGDATA"/base/*)" -ge 4 ] || die "could not create the role $POSTGRES_USER or the database $POSTGRES_DB"
  : >"$marker"
  echo "postgres-entrypoint: initialised $PGDATA with role $POSTGRES_USER and database $POSTGRES_DB"
fi
# TCP only: no Unix socket (the root is read-only, and the superuser, who has no password, is
# then reachable only through single-user mode).
exec "$pg/postgres" -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories= "$@"
