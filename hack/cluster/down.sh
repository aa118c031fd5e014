#!/usr/bin/env bash
# Stops every process that up.sh started, by pid, and removes the cluster's state.
# SIGTERM to all (reverse start order), SIGKILL to any still alive after 10 s; fails, naming
# them, if any process is still running at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$VA_ROOT/hack/cluster/common.sh"

# A real node first (its pods, processes, mounts, iptables rules and bridges).
if [ -d "$STATE_DIR/node" ]; then
  bash "$VA_ROOT/hack/node/down.sh"
fi

declare -A pids=()
for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
  name="${COMPONENTS[$i]}"
  [ -f "$PID_DIR/$name.pid" ] || continue
  pid=$(cat "$PID_DIR/$name.pid")
  pid_running "$pid" || continue
  pids[$name]=$pid
  kill -TERM "$pid" 2>/dev/null || true
done

alive() { local n; for n in "${!pids[@]}"; do pid_running "${pids[$n]}" && echo "$n:${pids[$n]}"; done; return 0; }
deadline=$((SECONDS + 10))
while [ -n "$(alive)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
for entry in $(alive); do
  log "${entry%%:*} (pid ${entry#*:}) ignored SIGTERM for 10 s; sending SIGKILL"
  kill -KILL "${entry#*:}" 2>/dev/null || true
done
sleep 0.2
left=$(alive)
[ -z "$left" ] || die "processes still running after SIGKILL: $left"
# The components were reparented to init when up.sh exited; give init a moment to reap them so
# that no process table entry (not even a zombie) is left when this returns.
deadline=$((SECONDS + 15))
for name in "${!pids[@]}"; do
  while [ -e "/proc/${pids[$name]}" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  log "$name stopped (pid ${pids[$name]})"
done
rm -rf "$STATE_DIR"
log "cluster down; state removed"
