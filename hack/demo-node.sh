#!/usr/bin/env bash
# `make demo` as root: the whole system inside the local cluster, on a real node.
#   1. installs what is missing (Debian packages) and builds va-chat;
#   2. builds the images (base images made from Debian's packages; cached);
#   3. brings up the local control plane with one real node (kubelet, containerd, CNI,
#      kube-proxy, CoreDNS, kube-router; hack/node/) and loads the images into it;
#   4. deploys the operator from config/default (CRD, RBAC, two replicas with leader election,
#      its NetworkPolicy) and waits for it;
#   5. applies the concierge with Redis and PostgreSQL in its namespace (examples/local-node,
#      hack/node/concierge.sh), waits for Ready and prints `kubectl get va` and the pods;
#   6. has a short scripted conversation through the input-processor Service with va-chat.
# `make demo-down` (hack/demo.sh down) takes it all down. Without root, hack/demo.sh runs the
# workloads as containers beside a cluster of kwok nodes instead.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/hack/lib.sh"
source "$root/hack/cluster/common.sh"
build_dir=${1:-build}
out="$root/_output/demo"
kubectl="$root/_output/bin/kubectl"
va_chat="$root/$build_dir/workloads/tools/va-chat"
secrets="$root/_output/node-concierge"
[ "$(id -u)" = 0 ] || die "the in-cluster demo needs root (a real node); hack/demo.sh runs the other one"
mkdir -p "$out"
k() { KUBECONFIG="$KUBECONFIG_PATH" "$kubectl" "$@"; }

log "1/6 dependencies and build (va-chat; everything else is built in its image)"
run_step "make configure" "$out/configure.log" make -C "$root" configure BUILD_DIR="$build_dir"
run_step "build va-chat" "$out/build.log" cmake --build "$root/$build_dir" --target va-chat

log "2/6 images"
run_step "make images" "$out/images.log" make -C "$root" images
grep -E 'built va\.local|is current \(' "$out/images.log" | sed 's/^\[[^]]*\] /  /' >&2 || true

log "3/6 local control plane with a real node"
if cluster_healthy; then
  [ -d "$STATE_DIR/node" ] || die "a cluster with kwok nodes is up ($STATE_DIR): make demo-down first"
  run_step "load the images into the node" "$out/node-images.log" bash "$root/hack/node/images.sh"
else
  run_step "make cluster-up NODE=real" "$out/cluster.log" make -C "$root" cluster-up NODE=real
fi
k get nodes -o wide >&2

log "4/6 the operator, from config/default"
k kustomize "$root/config/default" | k apply --server-side -f - >/dev/null
k -n va-system wait --for=condition=Available deployment/va-operator --timeout=180s >/dev/null ||
  die "the operator's Deployment is not Available: $(k -n va-system get pods -o wide)"
k -n va-system get pods -o wide >&2

log "5/6 the concierge with Redis and PostgreSQL in its namespace"
start=$(date +%s.%N)
VA_CONCIERGE_DIR="$secrets" bash "$root/hack/node/concierge.sh" apply
ready=
for _ in $(seq 1 300); do
  if [ "$(k get va concierge -n concierge -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; then
    ready=1
    break
  fi
  sleep 1
done
[ -n "$ready" ] || die "va/concierge not Ready within 300 s: $(k get va concierge -n concierge -o yaml | tail -30)"
log "va/concierge Ready $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s after kubectl apply"
echo
echo "\$ kubectl get va -n concierge"
k get va -n concierge
echo
echo "\$ kubectl get pods -n concierge -o wide"
k get pods -n concierge -o wide
echo

ip=$(k -n concierge get svc concierge-input-processor-public -o jsonpath='{.spec.clusterIP}')
log "6/6 a conversation through the input-processor Service (va-chat --url http://$ip:80)"
chat() { # conversation, then the lines to say
  local conversation=$1
  shift
  local i
  for i in $(seq 1 30); do # the Service's endpoints may trail Ready by a moment
    printf '%s\n' "$@" | "$va_chat" --url "http://$ip:80" --key-file "$secrets/api-key" \
      --conversation "$conversation" --user guest-1204 >"$out/chat.txt" 2>&1 && break
    [ "$i" -lt 30 ] || die "va-chat failed: $(cat "$out/chat.txt")"
    sleep 1
  done
  local line n=0
  while IFS= read -r line; do
    n=$((n + 1))
    printf '  [%s] you> %s\n' "$conversation" "${!n}"
    [[ "$line" == "assistant> "* ]] || die "no reply to \"${!n}\": $line"
    printf '  [%s] %s\n' "$conversation" "$line"
  done <"$out/chat.txt"
  [ "$n" = $# ] || die "$# messages sent, $n replies"
}
# The NetworkPolicy enforcer admits a new pod's address a moment after the pod is Ready (the
# first turns can get a 503 or 502 then): wait until a throwaway conversation has used every
# edge, memory written and read back.
warm=
for attempt in $(seq 1 60); do
  if printf '%s\n' "remember that my locker code is 4512" "what's my locker code" |
    "$va_chat" --url "http://$ip:80" --key-file "$secrets/api-key" --conversation "warm-up-$attempt" \
      --user demo-warm-up >"$out/warm-up.txt" 2>&1 && grep -q 4512 "$out/warm-up.txt"; then
    warm=1
    break
  fi
  sleep 1
done
[ -n "$warm" ] || die "the VA's edges not all usable 60 s after Ready: $(cat "$out/warm-up.txt")"
log "every edge of the VA answers (warm-up conversation, attempt $attempt)"
echo
chat demo-1 "hello" "book a table for 2" "tomorrow" "can i check out late" "remember that my room number is 1204"
chat demo-2 "what's my room number" "thanks, bye"
echo
log "demo ready in $((SECONDS - VA_START_SECONDS)) s"
cat <<MSG

Chat with the assistant (through the input-processor Service, from this machine):
  $va_chat --url http://$ip:80 --key-file $secrets/api-key
Watch the VirtualAssistant and its pods:
  export KUBECONFIG=$KUBECONFIG_PATH PATH=$root/_output/bin:\$PATH
  kubectl get va -A -w
  kubectl get pods -n concierge -o wide
The operator's logs: kubectl logs -n va-system deploy/va-operator
Tear everything down (pods, node, control plane):
  make demo-down
MSG
