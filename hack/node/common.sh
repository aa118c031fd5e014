# Names, addresses and ports of the real node (hack/node/up.sh, down.sh). Source it after
# hack/cluster/common.sh.
# shellcheck shell=bash

NODE_NAME="${VA_NODE_NAME:-va-node-0}"
# The node's address lives on a bridge of its own with no ports (this kernel has no dummy
# links): the API server listens there too, so that pods reach it through the kubernetes
# Service; nothing listens on the machine's external interfaces.
NODE_LINK=va-node0
NODE_IP="${VA_NODE_IP:-10.200.0.1}"
POD_BRIDGE=va-pods0
POD_CIDR="${VA_POD_CIDR:-10.244.0.0/24}"
DNS_IP=10.96.0.10
NODE_DIR="$STATE_DIR/node"
# One real node per machine (its addresses and bridges are the machine's).
NODE_RUN_DIR=/run/va-node
CONTAINERD_SOCKET="$NODE_RUN_DIR/containerd.sock"
KUBELET_PORT=$((PORT_BASE + 50))
KUBELET_HEALTHZ_PORT=$((PORT_BASE + 48))
KUBE_PROXY_HEALTHZ_PORT=$((PORT_BASE + 56))
KUBE_PROXY_METRICS_PORT=$((PORT_BASE + 49))
KUBE_ROUTER_HEALTH_PORT=$((PORT_BASE + 44))
# The node's processes, in start order; down.sh stops them in reverse before the control plane.
NODE_COMPONENTS=(containerd kubelet kube-proxy kube-router)

source "$VA_ROOT/hack/cluster/versions.env"
PAUSE_IMAGE="registry.k8s.io/pause:$PAUSE_VERSION"
COREDNS_IMAGE="va.local/coredns:${COREDNS_VERSION#v}"
# Kubernetes' e2e test client (agnhost connect), for the NetworkPolicy checks.
AGNHOST_IMAGE="va.local/agnhost:${KUBE_VERSION#v}"
