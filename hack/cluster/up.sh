#!/usr/bin/env bash
# Brings up a real local Kubernetes control plane on loopback: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (which plays the nodes), built from upstream
# modules by build.sh. Fresh PKI per cluster, RBAC on. Writes an admin kubeconfig to
# _output/cluster/kubeconfig and returns once /readyz is ok and the kwok nodes are Ready.
# Idempotent: if the cluster is already up and healthy it says so and returns.
# VA_NODE=real (make cluster-up NODE=real) adds a real node instead of the kwok ones
# (hack/node/up.sh): the API server then listens on the node's address, the Node authorizer and
# NodeRestriction are on, and the kubernetes Service has that address as its endpoint.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# With a real node the API server is on 6443 unless told otherwise: pods reach it through the
# kubernetes Service, and NetworkPolicies (the operator's, config/networkpolicy) see port 6443.
if [ "${VA_NODE:-kwok}" = real ] && [ -z "${VA_PORT_BASE:-}" ]; then export VA_PORT_BASE=6400; fi
source "$VA_ROOT/hack/cluster/common.sh"
source "$VA_ROOT/hack/cluster/versions.env"

NODE_MODE="${VA_NODE:-kwok}"
case "$NODE_MODE" in
  kwok) NODE_COUNT="${VA_KWOK_NODES:-2}" ;;
  real) NODE_COUNT="${VA_KWOK_NODES:-0}" ;;
  *) die "VA_NODE must be kwok or real, not '$NODE_MODE'" ;;
esac

if cluster_healthy; then
  log "cluster already up: $KUBECONFIG_PATH"
  exit 0
fi
if compgen -G "$PID_DIR/*.pid" >/dev/null; then
  log "found a stale or unhealthy cluster in $STATE_DIR; removing it first"
  bash "$VA_ROOT/hack/cluster/down.sh"
fi

for tool in openssl curl; do command -v "$tool" >/dev/null || die "$tool is required (run hack/install-deps.sh)"; done

# Binaries (cached; a cold build prints progress per binary).
paths=$(bash "$VA_ROOT/hack/cluster/build.sh" all) || exit 1
eval "$paths"
KUBECTL="$KUBE_BIN_DIR/kubectl"

for p in "etcd:$ETCD_PORT" "etcd-peer:$ETCD_PEER_PORT" "kube-apiserver:$APISERVER_PORT" \
  "kube-controller-manager:$KCM_PORT" "kube-scheduler:$SCHEDULER_PORT" "kwok:$KWOK_PORT"; do
  port_free "${p#*:}" || die "port ${p#*:} for ${p%%:*} is already in use on 127.0.0.1 (override with VA_PORT_BASE=<n>)"
done

mkdir -p "$PKI_DIR" "$LOG_DIR" "$PID_DIR" "$STATE_DIR/etcd" "$VA_ROOT/_output/bin"
ln -sf "$KUBECTL" "$VA_ROOT/_output/bin/kubectl"

authorization=RBAC
admission=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,ResourceQuota,PodSecurity
endpoints=(--endpoint-reconciler-type none)
api_sans="IP:127.0.0.1"
if [ "$NODE_MODE" = real ]; then
  source "$VA_ROOT/hack/node/common.sh"
  [ "$(id -u)" = 0 ] || die "a real node needs root"
  # The node's address on a bridge without ports (no dummy links in this kernel).
  ip link show "$NODE_LINK" >/dev/null 2>&1 || ip link add "$NODE_LINK" type bridge ||
    die "cannot create the bridge $NODE_LINK for the node's address"
  ip addr replace "$NODE_IP/32" dev "$NODE_LINK" && ip link set "$NODE_LINK" up ||
    die "cannot give $NODE_LINK the address $NODE_IP"
  API_HOST=$NODE_IP
  authorization=Node,RBAC
  admission+=,NodeRestriction
  endpoints=(--endpoint-reconciler-type lease)
  api_sans+=",IP:$NODE_IP"
fi
echo "$API_HOST" >"$STATE_DIR/api-host"
echo "$PORT_BASE" >"$STATE_DIR/port-base"

# --- PKI: one CA for serving and client certificates, and a service-account key pair ---
log "generating PKI in $PKI_DIR"
(
  cd "$PKI_DIR"
  umask 077
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=va-local-ca" \
    -keyout ca.key -out ca.crt 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  sign() { sign_cert "$PKI_DIR" "$@"; }
  sign apiserver "/CN=kube-apiserver" "subjectAltName=$api_sans,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
  sign admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth"
  sign kube-controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
  sign kube-scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
  # kwok plays every kubelet: it updates node and pod status in all namespaces.
  sign kwok "/O=system:masters/CN=kwok-controller" "extendedKeyUsage=clientAuth"
  # The API server's client certificate for the kubelet API (logs, exec) of a real node.
  sign apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
)

for u in admin kube-controller-manager kube-scheduler kwok; do write_kubeconfig "$PKI_DIR/$u.kubeconfig" "$u"; done

# --- etcd ---
start_component etcd "$ETCD_BIN" --name va-local --data-dir "$STATE_DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "va-local=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
wait_for etcd 60 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

# --- kube-apiserver ---
start_component kube-apiserver "$KUBE_BIN_DIR/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address "$API_HOST" --advertise-address "$API_HOST" --secure-port "$APISERVER_PORT" \
  --tls-cert-file "$PKI_DIR/apiserver.crt" --tls-private-key-file "$PKI_DIR/apiserver.key" \
  --client-ca-file "$PKI_DIR/ca.crt" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI_DIR/sa.pub" --service-account-signing-key-file "$PKI_DIR/sa.key" \
  --service-cluster-ip-range 10.96.0.0/16 \
  --kubelet-preferred-address-types InternalIP \
  --kubelet-client-certificate "$PKI_DIR/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$PKI_DIR/apiserver-kubelet-client.key" \
  --authorization-mode "$authorization" --allow-privileged=true "${endpoints[@]}" \
  --enable-admission-plugins "$admission"
wait_for kube-apiserver 120 curl -fsS --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" \
  --key "$PKI_DIR/admin.key" "https://$API_HOST:$APISERVER_PORT/readyz"
cp "$PKI_DIR/admin.kubeconfig" "$KUBECONFIG_PATH"
export KUBECONFIG="$KUBECONFIG_PATH"
wait_for "namespace default" 60 "$KUBECTL" get namespace default

# --- kube-controller-manager and kube-scheduler ---
# kube-controller-manager's default client rate (20 requests/s, burst 30, per controller) makes
# the Deployment and ReplicaSet controllers the bottleneck at benchmark scale (1,000 VAs are
# 8,000 Deployments: ReplicaSets, Pods and status updates); 100/200 keeps them ahead of kwok.
start_component kube-controller-manager "$KUBE_BIN_DIR/kube-controller-manager" \
  --kubeconfig "$PKI_DIR/kube-controller-manager.kubeconfig" --leader-elect=false \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
  --service-account-private-key-file "$PKI_DIR/sa.key" --root-ca-file "$PKI_DIR/ca.crt" \
  --cluster-signing-cert-file "$PKI_DIR/ca.crt" --cluster-signing-key-file "$PKI_DIR/ca.key" \
  --use-service-account-credentials=true --node-monitor-grace-period=2m \
  --kube-api-qps=100 --kube-api-burst=200
start_component kube-scheduler "$KUBE_BIN_DIR/kube-scheduler" \
  --kubeconfig "$PKI_DIR/kube-scheduler.kubeconfig" --leader-elect=false \
  --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT"
wait_for kube-controller-manager 60 curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz"
wait_for kube-scheduler 60 curl -fsSk "https://127.0.0.1:$SCHEDULER_PORT/healthz"

# --- kwok and its nodes ---
# kwok's default node heartbeat (a status patch about once a minute) is slower than the node
# lifecycle controller's grace period (50 s), so nodes would flap NotReady and take their pods'
# readiness with them: kwok renews node Leases every 10 s instead, and the grace period is 2 min
# so that a busy machine does not flap either. kwok manages only its own nodes (annotated), so
# a real node's kubelet is left alone.
start_component kwok "$KWOK_BIN" --kubeconfig "$PKI_DIR/kwok.kubeconfig" \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --server-address "127.0.0.1:$KWOK_PORT" --node-lease-duration-seconds=40
for i in $(seq 0 $((NODE_COUNT - 1))); do
  cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    type: kwok
    topology.kubernetes.io/zone: zone-$((i % 2))
# Room for the benchmarks (1,000 VAs run ~8,000 pods): kwok pods cost no real resources.
status:
  allocatable: {cpu: "4k", memory: 16Ti, pods: "20k"}
  capacity: {cpu: "4k", memory: 16Ti, pods: "20k"}
---
EOF
done >"$STATE_DIR/kwok-nodes.yaml"
if [ "$NODE_COUNT" -gt 0 ]; then
  "$KUBECTL" apply -f "$STATE_DIR/kwok-nodes.yaml" >/dev/null
  wait_for "kwok nodes" 60 "$KUBECTL" wait --for=condition=Ready node -l type=kwok --timeout=5s
fi
[ "$NODE_MODE" = real ] && bash "$VA_ROOT/hack/node/up.sh"

log "cluster ready in $((SECONDS - VA_START_SECONDS)) s: export KUBECONFIG=$KUBECONFIG_PATH (kubectl ${KUBE_VERSION}: $VA_ROOT/_output/bin/kubectl)"
