#!/usr/bin/env bash
# ctest fixture for integration tests: `up` starts the local control plane unless one is already
# running (then it is reused and left alone); `down` stops it only if `up` started it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$VA_ROOT/hack/cluster/common.sh"
owner_marker="$VA_ROOT/_output/cluster-owned-by-tests"

case "${1:-}" in
  up)
    if cluster_healthy; then
      log "reusing the running cluster at $KUBECONFIG_PATH"
      rm -f "$owner_marker"
    else
      bash "$VA_ROOT/hack/cluster/up.sh"
      touch "$owner_marker"
    fi
    ;;
  down)
    if [ -f "$owner_marker" ]; then
      rm -f "$owner_marker"
      bash "$VA_ROOT/hack/cluster/down.sh"
    else
      log "cluster was not started by the tests; leaving it running"
    fi
    ;;
  *) die "usage: $0 up|down" ;;
esac
