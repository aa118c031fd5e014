#!/usr/bin/env bash
# make test-node: brings the local cluster up with a real node (VA_NODE=real; the images must be
# built, make test-node builds them first), runs tests/node/node_e2e_test.sh and takes the
# cluster down again, also when the test fails. Needs root.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The real node's cluster keeps kube-apiserver on 6443 (the port the operator's NetworkPolicy
# allows, config/networkpolicy), whatever base the kwok cluster of `make test` used.
unset VA_PORT_BASE
source "$root/hack/lib.sh"
source "$root/hack/cluster/common.sh"

if cluster_healthy; then
  [ -d "$STATE_DIR/node" ] ||
    die "a cluster with kwok nodes is up in this checkout ($STATE_DIR); make cluster-down first"
  bash "$root/hack/node/images.sh" # the images make test-node just built
  owned=
else
  VA_NODE=real bash "$root/hack/cluster/up.sh"
  owned=1
fi
if [ -n "$owned" ] && [ -z "${VA_KEEP_CLUSTER:-}" ]; then
  trap 'bash "$root/hack/cluster/down.sh"' EXIT
fi
VA_SOURCE_DIR="$root" bash "$root/tests/node/node_e2e_test.sh"
