#!/usr/bin/env bash
# `make demo`: the whole system on one machine, from a fresh clone.
#   1. installs what is missing (Debian packages) and builds the operator and va-chat;
#   2. brings up the local control plane (etcd, kube-apiserver, kube-controller-manager,
#      kube-scheduler built from upstream modules; kwok plays two nodes);
#   3. builds the images (base images made from Debian's packages; cached);
#   4. installs the CRD and the operator's RBAC (config/rbac, namespace va-system) and starts the
#      operator as a process beside the cluster with its own ServiceAccount's token;
#   5. applies examples/concierge-secrets.yaml and examples/concierge.yaml, waits for Ready and
#      prints `kubectl get va` and the children;
#   6. runs the VA's workloads as containers from the images beside the cluster (kwok's pods
#      run nothing), Redis and PostgreSQL included, with the assistant definition read from the
#      concierge's ConfigMap in the cluster;
#   7. has a short scripted conversation through input-processor with va-chat and prints it.
# Every long step prints a progress line with the elapsed time.
#   hack/demo.sh [BUILD_DIR]     the demo
#   hack/demo.sh down            `make demo-down`: stops the containers, the operator and the
#                                control plane, then checks that none of them is left
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/hack/lib.sh"
build_dir=${1:-build}
out="$root/_output/demo"
kubeconfig_admin="$root/_output/cluster/kubeconfig"
kubectl="$root/_output/bin/kubectl"
operator="$root/$build_dir/operator/va-operator"
va_chat="$root/$build_dir/workloads/tools/va-chat"
pid_file="$root/_output/va-operator.pid"
op_log="$root/_output/va-operator.log"
port=${VA_DEMO_PORT:-18480}
export VA_CONTAINERS_PREFIX=va-demo VA_CONTAINERS_DIR="$out/containers" VA_CONTAINERS_PORT=$port
stop_operator() {
  [ -f "$pid_file" ] || return 0
  local pid
  pid=$(cat "$pid_file")
  # Only a va-operator: a stale file (after a reboot, say) may name another process now.
  if [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != */va-operator ]]; then
    rm -f "$pid_file"
    return 0
  fi
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "va-operator (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  ! kill -0 "$pid" 2>/dev/null || die "va-operator (pid $pid) is still running"
  rm -f "$pid_file"
}

if [ "$build_dir" = down ]; then
  bash "$root/hack/local/containers.sh" stop
  stop_operator
  bash "$root/hack/cluster/down.sh"
  left=$(docker ps -a --filter "name=^va-demo-" --format '{{.Names}}' | paste -sd' ' -)
  [ -z "$left" ] || die "containers left: $left"
  ! compgen -G "$root/_output/cluster/pids/*.pid" >/dev/null || die "the control plane left pid files"
  log "demo stopped: no va-demo container, no operator, no control plane left running"
  exit 0
fi

mkdir -p "$out"
k() { KUBECONFIG="$kubeconfig_admin" "$kubectl" "$@"; }

log "1/7 dependencies and build (va-operator and va-chat; the components are built in their images)"
run_step "make configure" "$out/configure.log" make -C "$root" configure BUILD_DIR="$build_dir"
run_step "build va-operator and va-chat" "$out/build.log" \
  cmake --build "$root/$build_dir" --target va-operator va-chat

log "2/7 local control plane"
run_step "make cluster-up" "$out/cluster.log" make -C "$root" cluster-up
log "$(k get nodes --no-headers | awk '{print $1 " " $2}' | paste -sd, -)"

log "3/7 images"
run_step "make images" "$out/images.log" make -C "$root" images
grep -E 'built va\.local|is current \(' "$out/images.log" | sed 's/^\[[^]]*\] /  /' >&2 || true

log "4/7 CRD, RBAC and the operator with its ServiceAccount's token"
k apply --server-side -f "$root/crds/" >/dev/null
# Not `kubectl wait`: it fails at once while a just-created CRD has no status.conditions yet.
established=
for _ in $(seq 1 300); do
  if [ "$(k get crd virtualassistants.virtualassistant.dev \
    -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')" = True ]; then
    established=1
    break
  fi
  sleep 0.1
done
[ -n "$established" ] || die "the VirtualAssistant CRD is not Established after 30 s"
# config/rbac as config/default completes it (namespace va-system, prefix va-), without the
# operator's Deployment: the operator runs beside the cluster, where its image can run.
mkdir -p "$out/rbac"
cat >"$out/rbac/kustomization.yaml" <<KUST
namespace: va-system
namePrefix: va-
resources:
- $(realpath --relative-to="$out/rbac" "$root/config/rbac")
KUST
k create namespace va-system --dry-run=client -o yaml | k apply -f - >/dev/null
k kustomize "$out/rbac" | k apply --server-side -f - >/dev/null
token=$(k create token va-operator -n va-system --duration=24h)
server=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
ca=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
(
  umask 077
  cat >"$out/operator.kubeconfig" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "$server", certificate-authority-data: "$ca"}
users:
- name: va-operator
  user: {token: "$token"}
contexts:
- name: va-operator
  context: {cluster: local, user: va-operator}
current-context: va-operator
KCFG
)
stop_operator
setsid "$operator" --kubeconfig="$out/operator.kubeconfig" --leader-elect \
  --leader-election-namespace=va-system --metrics-bind-address=127.0.0.1:18490 \
  --health-probe-bind-address=127.0.0.1:18491 >"$op_log" 2>&1 </dev/null &
echo $! >"$pid_file"
operator_ready=
for _ in $(seq 1 150); do
  if curl -fsS -o /dev/null http://127.0.0.1:18491/readyz 2>/dev/null; then
    operator_ready=1
    break
  fi
  kill -0 "$(cat "$pid_file")" 2>/dev/null || die "va-operator exited: $(tail -5 "$op_log")"
  sleep 0.2
done
[ -n "$operator_ready" ] || die "va-operator not ready after 30 s: $(tail -5 "$op_log")"
log "va-operator running as system:serviceaccount:va-system:va-operator (pid $(cat "$pid_file"), log $op_log)"

log "5/7 the concierge VirtualAssistant"
k apply -f "$root/examples/concierge-secrets.yaml" -f "$root/examples/concierge.yaml" 2>&1 >/dev/null |
  { grep -v 'failed to find any PEM data' || true; } >&2
ready=
for _ in $(seq 1 600); do
  if [ "$(k get va concierge -n concierge -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; then
    ready=1
    break
  fi
  sleep 0.2
done
[ -n "$ready" ] || die "va/concierge not Ready within 120 s: $(k get va concierge -n concierge -o yaml | tail -30)"
log "va/concierge Ready"
echo
echo "\$ kubectl get va -A"
k get va -A
echo
echo "\$ kubectl get -n concierge deploy,svc,hpa,pdb,ingress,networkpolicy,cronjob -l app.kubernetes.io/instance=concierge"
k get -n concierge deploy,svc,hpa,pdb,ingress,networkpolicy,cronjob -l app.kubernetes.io/instance=concierge
echo

log "6/7 the VA's workloads as containers beside the cluster"
k get configmap concierge-assistant -n concierge -o jsonpath='{.data.assistant\.yaml}' >"$out/assistant.yaml"
ASSISTANT_FILE="$out/assistant.yaml" run_step "hack/local/containers.sh start" "$out/containers.log" \
  bash "$root/hack/local/containers.sh" start
docker ps --filter "name=^va-demo-" --format '  {{.Names}}\t{{.Image}}\t{{.Status}}' | sort >&2

log "7/7 a conversation through input-processor (va-chat --url http://127.0.0.1:$port)"
chat() {  # conversation, then the lines to say
  local conversation=$1
  shift
  printf '%s\n' "$@" | "$va_chat" --url "http://127.0.0.1:$port" --key-file "$out/containers/api-key" \
    --conversation "$conversation" --user guest-1204 >"$out/chat.txt" 2>&1 ||
    die "va-chat failed: $(cat "$out/chat.txt")"
  local line i=0
  while IFS= read -r line; do
    i=$((i + 1))
    printf '  [%s] you> %s\n' "$conversation" "${!i}"
    [[ "$line" == "assistant> "* ]] || die "no reply to \"${!i}\": $line"
    printf '  [%s] %s\n' "$conversation" "$line"
  done <"$out/chat.txt"
  [ "$i" = $# ] || die "$# messages sent, $i replies"
}
echo
chat demo-1 "hello" "book a table for 2" "tomorrow" "can i check out late" "remember that my room number is 1204"
chat demo-2 "what's my room number" "thanks, bye"
echo
log "demo ready in $((SECONDS - VA_START_SECONDS)) s"
cat <<MSG

Chat with the assistant:
  $va_chat --url http://127.0.0.1:$port --key-file $out/containers/api-key
Watch the VirtualAssistants:
  export KUBECONFIG=$kubeconfig_admin PATH=$root/_output/bin:\$PATH
  kubectl get va -A -w
The operator's log: $op_log; its metrics: http://127.0.0.1:18490/metrics
Tear everything down (containers, operator, control plane):
  make demo-down
MSG
