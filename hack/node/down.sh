#!/usr/bin/env bash
# Takes the real node down (hack/cluster/down.sh runs this first when the cluster has one):
# every pod's containers and sandboxes are stopped and removed through containerd, then
# kube-router, kube-proxy, kubelet and containerd are stopped, the kubelet's mounts under the
# node's folder are unmounted, the iptables rules and ipsets they made are flushed and the two
# bridges removed. Leaves Docker's own rules and containers alone.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$VA_ROOT/hack/cluster/common.sh"
source "$VA_ROOT/hack/node/common.sh"

stop_pid() { # name
  local f="$PID_DIR/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if pid_running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while pid_running "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    pid_running "$pid" && { log "$1 (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
    log "$1 stopped (pid $pid)"
  fi
  rm -f "$f"
}

# The kubelet first, so that it does not start what is being removed.
for ((i = ${#NODE_COMPONENTS[@]} - 1; i >= 1; i--)); do stop_pid "${NODE_COMPONENTS[$i]}"; done

if [ -S "$CONTAINERD_SOCKET" ] && component_alive containerd; then
  ctr_() { ctr --address "$CONTAINERD_SOCKET" -n k8s.io "$@"; }
  for task in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true; done
  deadline=$((SECONDS + 15))
  while [ -n "$(ctr_ tasks ls -q 2>/dev/null | head -1)" ] && [ $SECONDS -lt $deadline ]; do
    for task in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks rm -f "$task" >/dev/null 2>&1 || true; done
    sleep 0.5
  done
  for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers rm "$c" >/dev/null 2>&1 || true; done
fi
stop_pid containerd
# A shim outlives containerd; the containers above are gone, so its shims can go too.
pkill -TERM -f "containerd-shim-runc-v2 -namespace k8s.io -id [0-9a-f]+ -address $CONTAINERD_SOCKET" 2>/dev/null || true

# Mounts the kubelet and containerd made (volumes, overlay roots, sandbox network namespaces).
if [ -d "$NODE_DIR" ] || [ -d "$NODE_RUN_DIR" ]; then
  awk -v a="$NODE_DIR" -v b="$NODE_RUN_DIR" 'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/mounts |
    sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
fi

# iptables: the chains of kube-proxy (KUBE-*) and kube-router (KUBE-ROUTER-*, KUBE-NWPLCY-*,
# KUBE-POD-FW-*), the CNI plugins' (CNI-*) and this project's FORWARD rules.
for table in filter nat mangle; do
  iptables-save -t "$table" 2>/dev/null | awk '/^-A / && /KUBE-|CNI-|va-node/ {print}' |
    while read -r rule; do
      chain=$(awk '{print $2}' <<<"$rule")
      case "$chain" in KUBE-* | CNI-*) continue ;; esac # whole chains go below
      eval "iptables -t $table -D ${rule#-A }" 2>/dev/null || true
    done
  for chain in $(iptables-save -t "$table" 2>/dev/null | awk '/^:(KUBE-|CNI-)/ {sub(":", "", $1); print $1}'); do
    iptables -t "$table" -F "$chain" 2>/dev/null || true
  done
  for chain in $(iptables-save -t "$table" 2>/dev/null | awk '/^:(KUBE-|CNI-)/ {sub(":", "", $1); print $1}'); do
    iptables -t "$table" -X "$chain" 2>/dev/null || true
  done
done
for set in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router)' || true); do ipset destroy "$set" 2>/dev/null || true; done

for link in "$POD_BRIDGE" "$NODE_LINK"; do ip link del "$link" 2>/dev/null || true; done
rm -rf "$NODE_DIR" "$NODE_RUN_DIR"
log "node $NODE_NAME down"
