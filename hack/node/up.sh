#!/usr/bin/env bash
# Adds one real node to the local control plane (hack/cluster/up.sh runs this when
# VA_NODE=real): containerd (Debian's package, a second instance with its own socket, root and
# state, so Docker's is left alone) running pods with runc, the CNI plugins bridge, host-local,
# loopback and portmap, kubelet, kube-proxy (iptables mode), kube-router's NetworkPolicy
# controller (iptables + ipset) and CoreDNS as a Deployment. The pause image and CoreDNS's image
# are made here from binaries built by hack/node/build.sh; the project's images (make images)
# are loaded into containerd's k8s.io namespace. Nothing is pulled.
#
# Needs root (network namespaces, iptables, mounts, cgroups). The machine facts it depends on
# are checked first and reported with the exact error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$VA_ROOT/hack/cluster/common.sh"
source "$VA_ROOT/hack/node/common.sh"

[ "$(id -u)" = 0 ] || die "a real node needs root (network namespaces, iptables, mounts, cgroups)"
bash "$VA_ROOT/hack/install-deps.sh" node
for tool in containerd containerd-shim-runc-v2 runc ctr iptables ipset conntrack docker; do
  command -v "$tool" >/dev/null || die "$tool is required (run hack/install-deps.sh)"
done
paths=$(bash "$VA_ROOT/hack/node/build.sh" all) || exit 1
eval "$paths"
eval "$(bash "$VA_ROOT/hack/cluster/build.sh" paths)"
KUBECTL="$KUBE_BIN_DIR/kubectl"
export KUBECONFIG="$KUBECONFIG_PATH"

mkdir -p "$NODE_DIR" "$NODE_RUN_DIR" "$NODE_DIR/cni/net.d" "$NODE_DIR/kubelet" "$NODE_DIR/pki"

# --- machine checks: what the kubelet and the pod network need ---
sysctl -qw net.ipv4.ip_forward=1 || die "cannot enable net.ipv4.ip_forward"
[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ] ||
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 ||
  die "bridged pod traffic must pass iptables (net.bridge.bridge-nf-call-iptables=1) for NetworkPolicies and Services"
[ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || die "no memory cgroup mounted under /sys/fs/cgroup"

# --- certificates: the kubelet (client and serving), kube-proxy, kube-router ---
sign() { sign_cert "$NODE_DIR/pki" "$@"; }
sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "extendedKeyUsage=clientAuth"
sign kubelet-serving "/CN=$NODE_NAME" "subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME
extendedKeyUsage=serverAuth"
sign kube-proxy "/CN=system:kube-proxy" "extendedKeyUsage=clientAuth"
sign kube-router "/CN=va-node:kube-router" "extendedKeyUsage=clientAuth"
for u in kubelet kube-proxy kube-router; do
  write_kubeconfig "$NODE_DIR/pki/$u.kubeconfig" "$u" "$NODE_DIR/pki"
done

# --- RBAC the node's host processes need beyond the built-in roles ---
"$KUBECTL" apply --server-side --field-manager va-node -f - >/dev/null <<EOF
# kube-router's NetworkPolicy controller: reads pods, namespaces, nodes and policies.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "va-node:kube-router"}
rules:
- apiGroups: [""]
  resources: [pods, namespaces, nodes, services, endpoints]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "va-node:kube-router"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "va-node:kube-router"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "va-node:kube-router"}
---
# The API server's client certificate for the kubelet API (logs, exec, port-forward).
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "va-node:apiserver-kubelet-client"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:kubelet-api-admin"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: kube-apiserver-kubelet-client}
EOF

# --- containerd: a second instance with the CRI plugin on ---
capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
restrict_oom=true
(((16#$capeff >> 24) & 1)) && restrict_oom=false # CAP_SYS_RESOURCE is bit 24
cat >"$NODE_DIR/containerd.toml" <<EOF
version = 2
root = "$NODE_DIR/containerd"
state = "$NODE_RUN_DIR/containerd"
[grpc]
  address = "$CONTAINERD_SOCKET"
[ttrpc]
  address = "$NODE_RUN_DIR/containerd.sock.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  enable_selinux = false
  # No CAP_SYS_RESOURCE here (a Firecracker VM's root lacks it), so a negative oom_score_adj
  # (the kubelet asks -998 for sandboxes, -997 for Guaranteed pods) cannot be written and runc
  # fails with "can't get final child's PID from pipe: EOF". Clamp at containerd's own score.
  restrict_oom_score_adj = $restrict_oom
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$NODE_DIR/cni/net.d"
EOF
start_component containerd "$(command -v containerd)" --config "$NODE_DIR/containerd.toml"
wait_for containerd 60 ctr --address "$CONTAINERD_SOCKET" version

# --- images: pause, CoreDNS and agnhost made here, the project's from Docker's store ---
bash "$VA_ROOT/hack/node/images.sh"

# --- the pod network: a bridge with host-local addresses, masquerade out, portmap ---
cat >"$NODE_DIR/cni/net.d/10-va.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "va-pods",
  "plugins": [
    {"type": "bridge", "bridge": "$POD_BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": "$NODE_DIR/cni/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF
# Docker sets the FORWARD policy to DROP; pod traffic is let through (NetworkPolicies are
# enforced by kube-router's chains, which it puts before these).
for dir in -s -d; do
  iptables -C FORWARD "$dir" "$POD_CIDR" -m comment --comment va-node -j ACCEPT 2>/dev/null ||
    iptables -A FORWARD "$dir" "$POD_CIDR" -m comment --comment va-node -j ACCEPT
done

# --- kubelet ---
cat >"$NODE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI_DIR/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$NODE_DIR/pki/kubelet-serving.crt"
tlsPrivateKeyFile: "$NODE_DIR/pki/kubelet-serving.key"
containerRuntimeEndpoint: "unix://$CONTAINERD_SOCKET"
# This machine mounts cgroup v1 (hybrid); kubelet 1.35 refuses v1 unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /
failSwapOn: false
protectKernelDefaults: false
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: /etc/resolv.conf
podCIDR: $POD_CIDR
maxPods: 110
# The images are loaded, not pulled: never garbage-collect them, never evict for disk.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
serializeImagePulls: false
EOF
start_component kubelet "$KUBE_BIN_DIR/kubelet" --config "$NODE_DIR/kubelet.yaml" \
  --kubeconfig "$NODE_DIR/pki/kubelet.kubeconfig" --hostname-override "$NODE_NAME" \
  --node-ip "$NODE_IP" --root-dir "$NODE_DIR/kubelet" --cert-dir "$NODE_DIR/pki" \
  --node-labels "va.dev/node=real" --v 1

# --- kube-proxy (iptables mode) ---
cat >"$NODE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$NODE_DIR/pki/kube-proxy.kubeconfig"}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
# The conntrack table's size is the machine's; kube-proxy does not change sysctls here.
conntrack: {maxPerCore: 0, min: 0}
EOF
start_component kube-proxy "$KUBE_BIN_DIR/kube-proxy" --config "$NODE_DIR/kube-proxy.yaml"

wait_for "node $NODE_NAME Ready" 120 "$KUBECTL" wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s

# --- kube-router: only the NetworkPolicy controller (it needs the Node object to exist) ---
start_component kube-router "$KUBE_ROUTER_BIN" --kubeconfig "$NODE_DIR/pki/kube-router.kubeconfig" \
  --run-firewall=true --run-router=false --run-service-proxy=false --hostname-override "$NODE_NAME" \
  --health-port "$KUBE_ROUTER_HEALTH_PORT" --metrics-port 0 --v 1
wait_for kube-router 60 curl -fsS "http://127.0.0.1:$KUBE_ROUTER_HEALTH_PORT/healthz"

# --- CoreDNS ---
"$KUBECTL" apply --server-side --field-manager va-node -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "va-node:coredns"}
rules:
- apiGroups: [""]
  resources: [services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "va-node:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "va-node:coredns"}
subjects:
- {kind: ServiceAccount, name: coredns, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
      errors
      health :8080
      ready :8181
      kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
      }
      cache 30
      loop
    }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns, app.kubernetes.io/name: coredns}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      # Port 53 without a capability: NetworkPolicies name port 53, which must be the pod's own.
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
        sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: "53"}]
      containers:
      - name: coredns
        image: $COREDNS_IMAGE
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 2}
        livenessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 10}
        resources:
          requests: {cpu: 50m, memory: 32Mi}
          limits: {memory: 128Mi}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  clusterIP: $DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, targetPort: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, targetPort: 53, protocol: TCP}
EOF
wait_for "CoreDNS available" 120 "$KUBECTL" -n kube-system wait --for=condition=Available deployment/coredns --timeout=5s
log "node $NODE_NAME ready: containerd, kubelet, kube-proxy, kube-router, CoreDNS (logs in $LOG_DIR)"
