# Shared helpers for the hack/ scripts. Source it; do not run it.
# shellcheck shell=bash

VA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Binaries built from upstream modules live outside the repository, keyed by version.
VA_CACHE_DIR="${VA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/va-operator}"
VA_START_SECONDS="${VA_START_SECONDS:-$SECONDS}"

log() { printf '[%s +%4ds] %s\n' "$(date +%H:%M:%S)" "$((SECONDS - VA_START_SECONDS))" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs "$@" quietly, printing a heartbeat every 30 s so a long step is visibly alive.
# On failure prints the tail of the step's log and the log's path.
run_step() {
  local what="$1" logfile="$2"; shift 2
  local start=$SECONDS
  log "$what: started (log: $logfile)"
  mkdir -p "$(dirname "$logfile")"
  ("$@") >"$logfile" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    local waited=0
    while [ $waited -lt 30 ] && kill -0 "$pid" 2>/dev/null; do sleep 1; waited=$((waited + 1)); done
    kill -0 "$pid" 2>/dev/null && log "$what: still running, $((SECONDS - start)) s"
  done
  if ! wait "$pid"; then
    tail -n 30 "$logfile" >&2
    die "$what failed after $((SECONDS - start)) s; full log: $logfile"
  fi
  log "$what: done in $((SECONDS - start)) s"
}
